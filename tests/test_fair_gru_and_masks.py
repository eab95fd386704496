"""Fair grading of the gru (09) and masked_loss (11) assignments (issue 19).

Three catalogues, each graded as the kit grades (the code cells run, every test cell is read with
``parse_test_cell`` and each case runs on the CPU and on the CuPy stand-in, ``run_case_here``;
``grade`` of ``test_fair_rnn_and_lstm``):

- MISTAKES: realistic wrong versions (the one-line bugs of ``test_assignments.WRONG`` for these two
  assignments, and others: the reset gate's bias outside it, z's roles swapped in the whole backward,
  an array of the default dtype, a gradient written in place, a per-token mean, a norm without its
  square root, a NumPy float64 scale...). Each costs exactly the parts listed, and each failing
  part's message holds the hint that names the mistake.
- HONEST: other correct ways to write the same thing (the gates in another order of operations,
  the sigmoid through tanh, float64 inside and cast back, log-sum-exp, ``xp.where``, boolean
  indexing, a norm from one concatenated vector...): full marks.
- float32: the solution over many seeds in float32 passes (the tolerance is float32's, not 1e-6).

The references are checked too: ``F.gru_step``'s and ``F.temporal_softmax_cross_entropy``'s
gradients against central differences of a NumPy forward, and the clipping reference against the
definition.
"""
import nbformat
import numpy
import pytest
from test_assignments import WRONG, cell_by_id, release_path, source_path, with_changes
from test_fair_rnn_and_lstm import grade, graded_cells, nbg

NAMES = ("gru", "masked_loss")
GF, GB = "gru.forward", "gru.backward"
ML, LS, CN, CV = "masked_loss.loss", "masked_loss.large_scores", "masked_loss.clip_norm", "masked_loss.clip_value"
W_GRADS = ("dWx", "dWh", "dbx", "dbh")
ALL_GRADS = ("dh_prev", "dx") + W_GRADS


def some(check, parts, phrase):
    return {(check, p): phrase for p in parts}


def every(check, phrase):
    from rnnviz.grading.protocol import get_check

    return some(check, get_check(check).parts, phrase)


RESET = "the reset gate was applied before the product"
Z_BACK = "z's roles are swapped in backward"

# (assignment, mistake, changes (None: WRONG's), {(check, part): a phrase of that part's message}):
# the parts listed are exactly the parts that fail.
MISTAKES = [
    # -- gru: the WRONG list --------------------------------------------------------------------------
    ("gru", "reset gate before the product (Chainer's form)", None,
     {(GF, "h_next"): RESET, (GF, "cache"): "n = tanh(xa_n + r * hn)"}),
    ("gru", "z's roles swapped in forward", None, {(GF, "h_next"): "z's roles are swapped"}),
    ("gru", "gate order [z, r, n] in forward", None,
     {(GF, "h_next"): "the gates are laid out [r, z, n]", (GF, "cache"): "self.cache[2] should hold r, it holds z"}),
    ("gru", "direct path z * h_prev missing from dh_prev", None, {(GB, "dh_prev"): "the direct path is missing"}),
    ("gru", "dha without r on the candidate block", None,
     some(GB, ("dh_prev", "dWh", "dbh"), "ha's candidate block enters scaled by r")),
    ("gru", "dz with the wrong sign", None,
     some(GB, ("dh_prev", "dx") + W_GRADS, "") | some(GB, W_GRADS, "part(s) z are wrong, r, n are right")),
    ("gru", "dbh summed over the wrong axis", None, every(GB, "a sum over the wrong axis")),
    # -- gru: the other mistakes learners make ----------------------------------------------------------
    ("gru", "the reset gate's bias outside it",
     [("gru", "n = xp.tanh(xa[:, 2 * H:] + r * hn)", "n = xp.tanh(xa[:, 2 * H:] + r * (h_prev @ Wh[:, 2 * H:]) + bh[2 * H:])")],
     {(GF, "h_next"): "bh's candidate block was added outside the reset gate", (GF, "cache"): "n = tanh(xa_n + r * hn)"}),
    ("gru", "tanh for the update gate", [("gru", "z = sigmoid(", "z = xp.tanh(")],
     {(GF, "h_next"): "sigmoid for r and z, tanh for n", (GF, "cache"): "sigmoid for r and z"}),
    ("gru", "z's roles swapped in the whole backward",
     [("gru", "dan = dh_next * (1 - z)", "dan = dh_next * z"), ("gru", "dh_next * (h_prev - n)", "dh_next * (n - h_prev)"),
      ("gru", "+ dh_next * z", "+ dh_next * (1 - z)")],
     some(GB, ALL_GRADS, Z_BACK)),
    ("gru", "r's derivative without r", [("gru", "dar = dan * hn * r * (1 - r)", "dar = dan * hn * (1 - r)")],
     some(GB, ("dh_prev", "dx"), "") | some(GB, W_GRADS, "part(s) r are wrong, z, n are right.\n  usual mistake: r:")),
    ("gru", "hn cached after r scales it",
     [("gru", "self.cache = (x, h_prev, r, z, n, hn)", "self.cache = (x, h_prev, r, z, n, r * hn)")],
     {(GF, "cache"): "before r scales it"}),
    ("gru", "dxa of the default dtype (float64 from float32)",
     [("gru", "dxa = xp.concatenate([dar, daz, dan], axis=1)",
       "dxa = xp.zeros((len(x), 3 * len(Wh)))\n        dxa[...] = xp.concatenate([dar, daz, dan], axis=1)")],
     {(GB, "dtype"): "returned[0] has dtype float64, but the inputs are float32"}),
    ("gru", "dh_prev = dh_next; dh_prev *= z",
     [("gru", "dh_prev = dha @ Wh.T + dh_next * z", "dh_prev = dh_next\n        dh_prev *= z\n        dh_prev += dha @ Wh.T")],
     {(GB, "inputs unchanged"): "dh_next (given to GRU.backward) changed during the call"}),
    ("gru", "dWx stored as a new array", [("gru", "self.grads[0][...] = x.T @ dxa", "self.grads[0] = x.T @ dxa")],
     {(GB, "dWx"): "is a new array: write into the one __init__ made"}),
    ("gru", "F.gru_step instead of the learner's own forward",
     [("gru", "h_next = (1 - z) * n + z * h_prev",
       "import rnnviz.functions as F\n        h_next = F.gru_step(h_prev, x, Wx.T, Wh.T, bx, bh).array")],
     every(GF, "builds F.gru_step: write it with xp")),
    # -- masked_loss: the WRONG list ------------------------------------------------------------------
    ("masked_loss", "mean per live token", None,
     some(ML, ("loss", "dx"), "the per-token mean") | {(LS, "large scores"): "divided by the batch size B",
                                                       (ML, "dtype"): "dx has dtype float64"}),   # / int64: float64
    ("masked_loss", "padded positions in the loss", None,
     {(ML, "loss"): "the padded positions were counted", (ML, "padded positions"): "a padded position must change nothing",
      (LS, "large scores"): "divided by the batch size B"}),
    ("masked_loss", "padded positions in dx", None,
     some(ML, ("dx", "padded positions"), "the padded positions were counted")
     | {(LS, "large scores"): "dx[t, b] = mask[t, b] * (softmax(x[t, b]) - onehot(t[t, b]))"}),
    ("masked_loss", "no maximum subtracted", None, {(LS, "large scores"): "subtract each row's maximum before exp"}),
    ("masked_loss", "each array clipped by its own norm", None, {(CN, "clipped"): "each array was clipped by its own norm"}),
    ("masked_loss", "clipped below the threshold too", None,
     {(CN, "unclipped"): "below the threshold the gradients come back unchanged"}),
    ("masked_loss", "clipped in place", None,
     {(CN, "inputs unchanged"): "g * rate makes a new array; g *= rate changes the caller's gradient"}),
    # -- masked_loss: the other mistakes learners make --------------------------------------------------
    ("masked_loss", "dx without the one-hot", [("loss", "dx = (xp.exp(logp) - onehot)", "dx = (xp.exp(logp))")],
     {(ML, "dx"): "the one-hot label is missing", (LS, "large scores"): "the softmax minus the one-hot label"}),
    ("masked_loss", "not divided by B", [("loss", "* m).sum() / B", "* m).sum()"), ("loss", "* m[..., None] / B", "* m[..., None]")],
     some(ML, ("loss", "dx"), "not divided by the batch size B") | {(LS, "large scores"): "divided by the batch size B"}),
    ("masked_loss", "a mask of the default dtype (float64 from float32)", [("loss", "m = mask.astype(x.dtype)", "m = mask.astype(float)")],
     {(ML, "dtype"): "dx has dtype float64, but x is float32"}),
    ("masked_loss", "x -= x.max(...)", [("loss", "z = x - x.max(axis=2, keepdims=True)", "x -= x.max(axis=2, keepdims=True)\n    z = x")],
     {(ML, "inputs unchanged"): "x (given to masked_cross_entropy) changed during the call"}),
    ("masked_loss", "F.temporal_softmax_cross_entropy",
     [("loss", "    xp = get_array_module(x)\n", "    import rnnviz.functions as F\n    F.temporal_softmax_cross_entropy(x, t, mask)\n"
                                                  "    xp = get_array_module(x)\n")],
     every(ML, "builds F.temporal_softmax_cross_entropy") | every(LS, "not with rnnviz.functions")),
    ("masked_loss", "norm without the square root",
     [("clip", "norm = math.sqrt(sum(float((g * g).sum()) for g in grads))", "norm = sum(float((g * g).sum()) for g in grads)")],
     {(CN, "norm"): "the square root is missing", (CN, "clipped"): "multiplied by threshold / norm",
      (CN, "unclipped"): "below the threshold the gradients come back unchanged"}),
    ("masked_loss", "the clipped norm returned", [("clip", "return [g * rate for g in grads], norm", "return [g * rate for g in grads], threshold")],
     {(CN, "norm"): "return the global norm before clipping"}),
    ("masked_loss", "a NumPy float64 scale", [("clip", "rate = threshold / norm", "rate = np.float64(threshold) / norm")],
     {(CN, "dtype"): "a NumPy float64 scalar turns a float32 array into float64"}),
    ("masked_loss", "value clipping for norm clipping",
     [("clip", "    rate = threshold / norm\n    return [g * rate for g in grads], norm",
       "    return clip_grads_by_value(grads, threshold), norm")],
     {(CN, "clipped"): "that is value clipping"}),
    ("masked_loss", "a division by zero on zero gradients",
     [("clip", "    if norm <= threshold:\n        return [g.copy() for g in grads], norm\n",
       "    if threshold / norm >= 1:\n        return [g.copy() for g in grads], norm\n")],
     {(CN, "unclipped"): "your code raised ZeroDivisionError"}),
    ("masked_loss", "value clipping one-sided", [("clip", "clip(g, -threshold, threshold)", "clip(g, None, threshold)")],
     {(CV, "value clipping"): "each element is cut to [-threshold, threshold]"}),
    ("masked_loss", "the GradientClipping hook", [("clip", "    norm = math.sqrt(", "    from rnnviz.optimizers.hooks import global_norm\n"
                                                                               "    global_norm(grads)\n    norm = math.sqrt(")],
     every(CN, "GradientClipping: write them with xp")),
]

# (assignment, variant, changes): correct in another way, full marks.
HONEST = [
    ("gru", "the library's forms: sigmoid through tanh, r and z in one pass, h = n + z (h_prev - n)",
     [("gru", "r = sigmoid(xa[:, :H] + ha[:, :H])\n        z = sigmoid(xa[:, H:2 * H] + ha[:, H:2 * H])",
       "rz = (xp.tanh((xa[:, :2 * H] + ha[:, :2 * H]) / 2) + 1) / 2\n        r, z = rz[:, :H], rz[:, H:]"),
      ("gru", "h_next = (1 - z) * n + z * h_prev", "h_next = n + z * (h_prev - n)")]),
    ("gru", "three products per weight, block by block",
     [("gru", "xa = x @ Wx + bx\n        ha = h_prev @ Wh + bh",
       "xa = xp.concatenate([x @ Wx[:, k * H:(k + 1) * H] + bx[k * H:(k + 1) * H] for k in range(3)], axis=1)\n"
       "        ha = xp.concatenate([h_prev @ Wh[:, k * H:(k + 1) * H] + bh[k * H:(k + 1) * H] for k in range(3)], axis=1)")]),
    ("gru", "float64 inside, cast back to the inputs' dtype",
     [("gru", "        Wx, Wh, bx, bh = self.params\n        xp = get_array_module(x)",
       "        dt = x.dtype\n        Wx, Wh, bx, bh = (p.astype('float64') for p in self.params)\n        xp = get_array_module(x)\n"
       "        x64, h64 = x.astype('float64'), h_prev.astype('float64')"),
      ("gru", "xa = x @ Wx + bx\n        ha = h_prev @ Wh + bh", "xa = x64 @ Wx + bx\n        ha = h64 @ Wh + bh"),
      ("gru", "h_next = (1 - z) * n + z * h_prev", "h_next = ((1 - z) * n + z * h64).astype(dt)"),
      ("gru", "self.cache = (x, h_prev, r, z, n, hn)", "self.cache = (x, h_prev, r.astype(dt), z.astype(dt), n.astype(dt), hn.astype(dt))")]),
    ("gru", "backward by blocks: dha from a copy, the direct path first, weight gradients per block",
     [("gru", "dha = xp.concatenate([dar, daz, dan * r], axis=1)", "dha = dxa.copy()\n        dha[:, 2 * len(Wh):] *= r"),
      ("gru", "self.grads[0][...] = x.T @ dxa", "self.grads[0][...] = xp.concatenate([x.T @ d for d in (dar, daz, dan)], axis=1)"),
      ("gru", "dh_prev = dha @ Wh.T + dh_next * z", "dh_prev = dh_next * z\n        dh_prev = dh_prev + dha @ Wh.T")]),
    ("masked_loss", "log-sum-exp, take_along_axis, xp.where",
     [("loss", "    logp = z - xp.log(xp.exp(z).sum(axis=2, keepdims=True))\n",
       "    lse = xp.log(xp.exp(z).sum(axis=2, keepdims=True))\n    logp = z - lse\n"),
      ("loss", "loss = -((logp * onehot).sum(axis=2) * m).sum() / B",
       "picked = xp.take_along_axis(logp, t[..., None].astype('int64'), axis=2)[..., 0]\n"
       "    loss = -xp.where(mask, picked, 0).sum() / x.shape[1]"),
      ("loss", "dx = (xp.exp(logp) - onehot) * m[..., None] / B", "dx = xp.where(mask[..., None], xp.exp(logp) - onehot, 0) / B"),
      ("loss", "return float(loss), dx", "return loss, dx")]),
    ("masked_loss", "only the live positions, by boolean indexing",
     [("loss", "loss = -((logp * onehot).sum(axis=2) * m).sum() / B", "loss = -(logp[mask] * onehot[mask]).sum() / B"),
      ("loss", "dx = (xp.exp(logp) - onehot) * m[..., None] / B",
       "dx = xp.zeros_like(x)\n    dx[mask] = (xp.exp(logp[mask]) - onehot[mask]) / B")]),
    ("masked_loss", "a norm from one vector, the arrays returned as they are below the threshold",
     [("clip", "    norm = math.sqrt(sum(float((g * g).sum()) for g in grads))\n    if norm <= threshold:\n"
               "        return [g.copy() for g in grads], norm\n    rate = threshold / norm\n",
       "    xp = get_array_module(grads[0])\n    flat = xp.concatenate([g.ravel() for g in grads])\n"
       "    norm = float(xp.sqrt((flat * flat).sum()))\n    if not norm > threshold:\n        return grads, norm\n"
       "    rate = float(threshold / norm)\n"),
      ("clip", "return [get_array_module(g).clip(g, -threshold, threshold) for g in grads]",
       "return [get_array_module(g).minimum(get_array_module(g).maximum(g, -threshold), threshold) for g in grads]")]),
]

WRONG_HERE = {(name, what): changes for name, what, changes in WRONG if name in NAMES}


def version(name, what, changes):
    return with_changes(name, WRONG_HERE[name, what] if changes is None else changes)


def test_the_catalogue_holds_every_wrong_version_of_these_assignments():
    listed = {(name, what) for name, what, changes, _ in MISTAKES if changes is None}
    assert listed == set(WRONG_HERE), set(WRONG_HERE) ^ listed


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_fails_no_part(name):
    assert grade(nbformat.read(source_path(name), as_version=4)) == {}


@pytest.mark.parametrize("name", NAMES)
def test_the_untouched_release_fails_every_part(name):
    from rnnviz.grading.protocol import get_check

    release = nbformat.read(release_path(name), as_version=4)
    source = nbformat.read(source_path(name), as_version=4)
    for cell in release.cells:
        if nbg(cell).get("grade"):
            cell.source = cell_by_id(source, nbg(cell)["grade_id"]).source
    every_part = {(call.check, p) for _, _, test in graded_cells(release) for call in test.calls
                  for p in get_check(call.check).parts}
    assert set(grade(release)) == every_part


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("name,what,changes,expected", MISTAKES, ids=[f"{n}:{w}" for n, w, _, _ in MISTAKES])
def test_a_mistake_costs_its_parts_and_gets_its_hint(name, what, changes, expected):
    failed = grade(version(name, what, changes))
    assert set(failed) == set(expected), (
        f"{what}: failed parts differ\n  unexpected: {sorted(set(failed) - set(expected))}\n"
        f"  missing: {sorted(set(expected) - set(failed))}\n" + "\n".join(f"{k}: {v}" for k, v in failed.items()))
    for key, phrase in expected.items():
        assert phrase in failed[key], f"{what}: {key} says\n{failed[key]}\nwithout {phrase!r}"


@pytest.mark.parametrize("name,what,changes", HONEST, ids=[f"{n}:{w}" for n, w, _ in HONEST])
def test_an_honest_variant_gets_full_marks(name, what, changes):
    assert grade(with_changes(name, changes)) == {}, what


def test_float32_is_judged_at_float32_precision():
    """The solution computes in float32 on float32 cases: over many seeds and sizes it passes, and a
    float32 result of the right dtype is never failed for float32 rounding."""
    from rnnviz.grading import CPU
    from rnnviz.grading.protocol import get_check, run_case_here

    ns = {}
    for name in NAMES:
        for cell in nbformat.read(source_path(name), as_version=4).cells:
            if cell.cell_type == "code" and not nbg(cell).get("grade"):
                exec(cell.source, ns)
    for seed in range(0, 400, 20):
        size = {"N": 1 + seed % 5, "D": 1 + seed % 4, "H": 1 + seed % 3}
        for check in ("gru.forward", "gru.backward"):
            assert run_case_here(get_check(check), [ns["GRU"]], {"seed": seed, **size, "dtype": "float32"}, CPU).passed
        assert run_case_here(get_check(ML), [ns["masked_cross_entropy"]],
                             {"seed": seed, "T": 1 + seed % 6, "B": 1 + seed % 5, "V": 2 + seed % 7, "dtype": "float32"},
                             CPU).passed
        assert run_case_here(get_check(CN), [ns["clip_grads_by_norm"]],
                             {"seed": seed, "shapes": [[1 + seed % 7, 3], [5]], "dtype": "float32"}, CPU).passed


@pytest.mark.parametrize("name", NAMES)
def test_parts_and_points(name):
    """Each test cell's parts add up to its points (the notebook's table gives the same)."""
    from rnnviz.grading.protocol import get_check

    nb = nbformat.read(source_path(name), as_version=4)
    for grade_id, points, test in graded_cells(nb):
        checks = {call.check for call in test.calls}
        assert sum(sum(get_check(c).parts.values()) for c in checks) == pytest.approx(points), grade_id
        hidden = [c for c in test.calls if c.hidden]
        assert hidden and {c.check for c in hidden} == checks, grade_id     # hidden tests grade every check
        assert any(c.case.get("dtype") == "float32" for c in hidden), grade_id
    table = nb.cells[0].source
    for check in ("gru.forward", "gru.backward") if name == "gru" else (ML, LS, CN, CV):
        for p, w in get_check(check).parts.items():
            assert f"{w:g}" in table, (check, p)


def test_no_forward_case_shares_an_array_with_a_backward_case():
    """A GRU backward case sends the reference forward's cache to the kernel: harmless only because
    no forward case is judged on the same inputs."""
    from rnnviz.grading.protocol import get_check

    forward, backward = [], []
    for _, _, test in graded_cells(nbformat.read(source_path("gru"), as_version=4)):
        for call in test.calls:
            arrays = [v for v in get_check(call.check).inputs(**call.case).values() if isinstance(v, numpy.ndarray)]
            (backward if "backward" in call.check else forward).extend(arrays)
    assert forward and backward
    for a in forward:
        for b in backward:
            assert not (a.size > 1 and a.shape == b.shape and numpy.allclose(a, b))


def test_the_references_agree_with_finite_differences():
    from rnnviz.grading.assignments import gru, masked_loss
    from rnnviz.grading.checks import numerical_gradients

    a = gru.random_case(3, N=3, D=2, H=2)
    args = [a[n] for n in gru.NAMES[:6]]
    h, grads = gru.gru_reference(*args, a["dh_next"])
    assert numpy.allclose(h, gru.gru_numpy(*args)[0])
    numeric = numerical_gradients(lambda *v: gru.gru_numpy(*v)[0], args, a["dh_next"])
    for got, want in zip(grads, numeric):
        assert numpy.allclose(got, want, rtol=1e-6, atol=1e-8)
    c = masked_loss.loss_case(5, T=3, B=4, V=3)
    loss, dx = masked_loss.loss_reference(c["x"], c["t"], c["mask"])
    assert loss == pytest.approx(masked_loss.loss_by_hand(c["x"], c["t"], c["mask"], 4)[0])
    (num,) = numerical_gradients(lambda x: masked_loss.loss_by_hand(x, c["t"], c["mask"], 4)[0], [c["x"]], 1.0)
    assert numpy.allclose(dx, num, rtol=1e-6, atol=1e-8) and not dx[~c["mask"]].any()
    g = masked_loss.grads_case(1, [[3, 4], [4]])
    norm = masked_loss.global_norm(g)
    clipped = masked_loss.library_clip(g, norm / 2)
    assert masked_loss.global_norm(clipped) == pytest.approx(norm / 2)
    assert all(numpy.allclose(c_, g_ / 2) for c_, g_ in zip(clipped, g))
    assert all(numpy.array_equal(c_, g_) for c_, g_ in zip(masked_loss.library_clip(g, 2 * norm), g))
    assert all(numpy.array_equal(v, numpy.clip(g_, -0.5, 0.5)) for v, g_ in zip(masked_loss.value_clip(g, 0.5), g))


def test_the_library_is_refused_during_the_learners_calls_only():
    import rnnviz.functions as F
    from rnnviz import optimizers
    from rnnviz.grading.assignments.masked_loss import refusing
    from rnnviz.grading.assignments.rnn_by_hand import Refused
    from rnnviz.optimizers import hooks

    x = numpy.ones((1, 3))
    before = (F.gru_step, F.temporal_softmax_cross_entropy, hooks.global_norm, hooks.GradientClipping.__call__)
    hard = getattr(hooks, "GradientHardClipping", None)       # value clipping, where the library has it
    hard_call = hard and hard.__call__
    with refusing("no"):
        if hard is not None:
            with pytest.raises(Refused, match="^no "):
                hard(-1.0, 1.0)(None)
        for call in (lambda: F.gru_step(None, x, numpy.ones((3, 3)), numpy.ones((3, 1)), numpy.ones(3), numpy.ones(3)),
                     lambda: F.temporal_softmax_cross_entropy(numpy.ones((1, 1, 2)), numpy.zeros((1, 1), int)),
                     lambda: hooks.global_norm([x]), lambda: optimizers.GradientClipping(1.0)(None)):
            with pytest.raises(Refused, match="^no "):
                call()
    assert (F.gru_step, F.temporal_softmax_cross_entropy, hooks.global_norm, hooks.GradientClipping.__call__) == before
    assert hard is None or hard.__call__ is hard_call
    assert hooks.global_norm([x]) == pytest.approx(3 ** 0.5)


def test_the_notebooks_state_what_is_tested():
    text = {n: " ".join(" ".join(c.source for c in nbformat.read(release_path(n), as_version=4).cells
                                 if c.cell_type == "markdown").split()) for n in NAMES}     # lines joined
    for words in ("Assignment 09 · the GRU step, forward and backward by hand (lesson 09)",
                  "self.cache = (x, h_prev, r, z, n, hn)", "never changes the arrays it is given", "off limits",
                  "partial credit", "the reset gate acts after the product", "`z` near 1 keeps the old state",
                  "float32 in, float32 out", "Backward: derive it", "The formulas (open this last)", "no mean"):
        assert words in text["gru"], words
    md = text["gru"].split("## 2. Backward: derive it", 1)[1]
    assert md.index("dh_prev = dha @ Wh.T + dh_next * z") > md.index("The formulas (open this last)") > md.index("Hint 4")
    for words in ("Assignment 11 · a masked sequence loss and gradient clipping (lesson 11, clipping from lesson 08)",
                  "Divided by the batch size `B`", "normalize='batch'", "off limits", "partial credit",
                  "arbitrary", "Subtract each row's maximum first", "global norm", "before** clipping",
                  "float32 in, float32 out", "xp.clip"):
        assert words in text["masked_loss"], words


def test_messages_reveal_no_hidden_value():
    from rnnviz.grading.protocol import get_check

    for name, what, changes, _ in MISTAKES[::3]:
        nb = version(name, what, changes)
        values = []
        for _, _, test in graded_cells(nb):
            for call in test.calls:
                for v in get_check(call.check).inputs(**call.case).values():
                    for arr in (v if isinstance(v, list) else [v]):
                        if isinstance(arr, numpy.ndarray) and arr.dtype.kind == "f":
                            values += [f"{x:.4f}" for x in arr.ravel()[:20]]
                        elif isinstance(arr, float):
                            values.append(f"{arr:.4f}")
        for message in grade(nb).values():
            text = message.replace("relative error", "")
            assert not any(v in text for v in values if abs(float(v)) > 0.01), (what, message)
