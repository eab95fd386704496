"""The GRU (issue 19): ``F.gru``, ``F.gru_step``, ``L.GRU`` and ``L.GRUCell``.

Formulation: PyTorch's (the reset gate after the recurrent product, blocks [r, z, n]), so the
gradients are compared with ``nn.GRUCell`` and ``nn.GRU`` exactly (float64), besides finite
differences; and the plain and the batched backward engines give the same gradients.
"""
import gc

import numpy as np
import pytest

import rnnviz
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import Variable
from rnnviz.core import deferred
from rnnviz.gradient_check import check_backward

ENGINES = pytest.mark.parametrize("batched", [False, True], ids=["plain", "batched"])
TOL = dict(rtol=1e-10, atol=1e-12)


def sig(v):
    return 1 / (1 + np.exp(-v))


def randn(rng, *shape):
    return rng.standard_normal(shape)


def weights(rng, I, H, scale=0.5):
    """(W_x, W_h, b_x, b_h) in float64, PyTorch's shapes (weight_ih, weight_hh, bias_ih, bias_hh)."""
    return (randn(rng, 3 * H, I) * scale, randn(rng, 3 * H, H) * scale,
            randn(rng, 3 * H) * scale, randn(rng, 3 * H) * scale)


def float64_link(link):
    for p in link.params():
        p.array = p.array.astype(np.float64)
    return link


# -- forward: the documented formulas and the gate layout ---------------------------------------------

def test_gru_matches_the_documented_formulas(rng):
    B, H = 3, 2
    h_prev, xa, ha = randn(rng, B, H), randn(rng, B, 3 * H) * 2, randn(rng, B, 3 * H) * 2
    r = sig(xa[:, :H] + ha[:, :H])
    z = sig(xa[:, H:2 * H] + ha[:, H:2 * H])
    n = np.tanh(xa[:, 2 * H:] + r * ha[:, 2 * H:])       # the reset gate after the product
    h = F.gru(Variable(h_prev), Variable(xa), Variable(ha))
    np.testing.assert_allclose(h.array, (1 - z) * n + z * h_prev, rtol=1e-12)


def test_gru_gate_layout_is_r_z_n():
    """Saturate each block so the layout is readable from the output."""
    H, big = 2, 40.0
    h_prev = np.array([[3.0, -3.0]])
    block = lambda v: np.full((1, H), v)  # noqa: E731
    zero = block(0.0)
    # update gate open (z = 1): the old state passes unchanged
    xa = np.concatenate([zero, block(big), zero], axis=1)
    np.testing.assert_allclose(F.gru(Variable(h_prev), Variable(xa), Variable(np.zeros((1, 3 * H)))).array,
                               h_prev, rtol=1e-12)
    # update gate shut, reset gate shut: h = tanh(xa_n), the recurrent candidate term is dropped
    xa = np.concatenate([block(-big), block(-big), block(0.3)], axis=1)
    ha = np.concatenate([zero, zero, block(5.0)], axis=1)
    np.testing.assert_allclose(F.gru(Variable(h_prev), Variable(xa), Variable(ha)).array, np.tanh(0.3),
                               rtol=1e-12)
    # reset gate open: h = tanh(xa_n + ha_n)
    xa = np.concatenate([block(big), block(-big), block(0.3)], axis=1)
    np.testing.assert_allclose(F.gru(Variable(h_prev), Variable(xa), Variable(ha)).array, np.tanh(5.3),
                               rtol=1e-12)


def test_gru_step_is_the_two_affine_maps_then_the_cell(rng):
    B, I, H = 3, 4, 2
    h_prev, x = randn(rng, B, H), randn(rng, B, I)
    W_x, W_h, b_x, b_h = weights(rng, I, H, 1.0)
    h = F.gru_step(Variable(h_prev), Variable(x), Variable(W_x), Variable(W_h), Variable(b_x), Variable(b_h))
    ref = F.gru(Variable(h_prev), Variable(x @ W_x.T + b_x), Variable(h_prev @ W_h.T + b_h))
    np.testing.assert_allclose(h.array, ref.array, rtol=1e-12)
    # the first step (no state) is the zero state: ha = b_h
    h0 = F.gru_step(None, Variable(x), Variable(W_x), None, Variable(b_x), Variable(b_h))
    ref0 = F.gru_step(Variable(np.zeros((B, H))), Variable(x), Variable(W_x), Variable(W_h), Variable(b_x),
                      Variable(b_h))
    np.testing.assert_allclose(h0.array, ref0.array, rtol=1e-12)
    assert len(h.creator.inputs) == 6 and len(h0.creator.inputs) == 4 and h.creator.label == "GRUStep"


# -- backward: finite differences in float64, both engines --------------------------------------------

@ENGINES
def test_gru_gradients_by_finite_differences(batched, rng):
    B, I, H = 3, 4, 2
    args = (randn(rng, B, H), randn(rng, B, I)) + weights(rng, I, H, 1.0)
    h_prev, x, W_x, W_h, b_x, b_h = args
    with rnnviz.using_config("batched_backward", batched):
        check_backward(F.gru, (h_prev, randn(rng, B, 3 * H), randn(rng, B, 3 * H)))
        check_backward(F.gru_step, args)
        check_backward(lambda v, W, b1, b2: F.gru_step(None, v, W, None, b1, b2), (x, W_x, b_x, b_h))
        xs = [randn(rng, B, I) for _ in range(3)]

        def three_steps(h, W_x, W_h, b_x, b_h):  # the same weights at three steps: the uses add up
            for v in xs:
                h = F.gru_step(h, v, W_x, W_h, b_x, b_h)
            return h
        check_backward(three_steps, (h_prev, W_x, W_h, b_x, b_h))

        def link_like(x0, x1, W_x, W_h, b_x, b_h):  # first step without state, then with it
            h = F.gru_step(None, x0, W_x, None, b_x, b_h)
            return F.gru_step(h, x1, W_x, W_h, b_x, b_h)
        check_backward(link_like, (x, randn(rng, B, I), W_x, W_h, b_x, b_h))


def test_the_batched_engine_gets_deferred_weight_products(rng):
    B, I, H = 2, 3, 2
    vs = [Variable(a) for a in (randn(rng, B, H), randn(rng, B, I)) + weights(rng, I, H)]
    h = F.gru_step(*vs)
    gy = np.ones((B, H))
    for batched in (False, True):
        with rnnviz.using_config("batched_backward", batched):
            gx, gW_x, gb_x, gb_h, gh_prev, gW_h = h.creator.backward(gy)
        kinds = [type(g) for g in (gx, gW_x, gb_x, gb_h, gW_h)]
        want = [deferred.MatmulGrad, deferred.OuterProductGrad, deferred.SumRowsGrad, deferred.SumRowsGrad,
                deferred.OuterProductGrad]
        assert (kinds == want) == batched
        assert type(gh_prev) is np.ndarray  # direct term + gha W_h: computed at once


# -- the two engines agree on GRU language models -----------------------------------------------------

class GRULM(rnnviz.Chain):
    def __init__(self, V=7, D=4, H=5, layers=2):
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(V, D)
            self.grus = L.ChainList(*[L.GRU(D if k == 0 else H, H) for k in range(layers)])
            self.out = L.Linear(H, V)

    def reset_state(self):
        for g in self.grus:
            g.reset_state()

    def forward(self, ids):
        h = self.embed(ids)
        for g in self.grus:
            h = g(h)
        return self.out(h)


def lm_grads(batched, cut=None, T=8):
    np.random.seed(5)
    model = float64_link(GRULM())
    rng = np.random.default_rng(6)
    ids = rng.integers(0, 7, (T + 1, 3)).astype(np.int32)
    with rnnviz.using_config("batched_backward", batched):
        loss = 0
        for t in range(T):
            if t == cut:
                loss.backward()
                loss.unchain_backward()
                loss = 0
            loss = loss + F.softmax_cross_entropy(model(ids[t]), ids[t + 1])
        loss.backward()
    return {n: p.grad.copy() for n, p in model.namedparams()}


@pytest.mark.parametrize("cut", [None, 3])
def test_both_engines_give_the_same_gradients(cut):
    plain, batched = lm_grads(False, cut), lm_grads(True, cut)
    assert len(plain) == 11 and all(np.abs(g).sum() > 0 for g in plain.values())
    for n in plain:
        np.testing.assert_allclose(batched[n], plain[n], rtol=1e-12, atol=1e-13, err_msg=n)
    if cut is not None:  # the cut changes the gradients
        assert not np.allclose(plain["/grus/0/lateral/W"], lm_grads(False)["/grus/0/lateral/W"])


@ENGINES
def test_cupy_arrays_give_the_numpy_gradients(batched):
    """The GPU path on the CuPy stand-in (tests/cupy_standin.py): the same gradients as NumPy."""
    from cupy_standin import installed

    def grads(device):
        np.random.seed(0)
        model = float64_link(GRULM()).to_device(device)
        cell = float64_link(L.GRUCell(5, 5)).to_device(device)
        ids = rnnviz.backend.to_device(np.arange(10, dtype=np.int32).reshape(5, 2) % 7, device)
        h = cell.initial_state(2, np.float64)
        with rnnviz.using_config("batched_backward", batched):
            loss = 0
            for x in ids:
                y = model(x)
                h, _ = cell(h, F.tanh(y[:, :5]))
                loss = loss + F.softmax_cross_entropy(y, x) + F.sum(h * h)
            loss.backward()
        return {n: p.grad for n, p in list(model.namedparams()) + list(cell.namedparams())}

    cpu = grads("cpu")
    with installed():
        gpu = grads("gpu")
        assert all(type(g).__module__.startswith("cupy") for g in gpu.values())
        gpu = {n: g.get() for n, g in gpu.items()}
    for n in cpu:
        np.testing.assert_allclose(gpu[n], cpu[n], rtol=1e-10, atol=1e-12, err_msg=n)


# -- PyTorch: nn.GRUCell and nn.GRU with copied weights (float64) ------------------------------------

def torch_or_skip():
    return pytest.importorskip("torch", reason="PyTorch is the independent autograd compared against")


def copy_into_torch(torch, module, W_x, W_h, b_x, b_h, suffix=""):
    with torch.no_grad():
        for name, a in (("weight_ih", W_x), ("weight_hh", W_h), ("bias_ih", b_x), ("bias_hh", b_h)):
            getattr(module, name + suffix).copy_(torch.from_numpy(np.asarray(a)))


@ENGINES
def test_one_step_equals_torch_gru_cell(batched, rng):
    torch = torch_or_skip()
    B, I, H = 3, 4, 5
    h0, x, G = randn(rng, B, H), randn(rng, B, I), randn(rng, B, H)
    W = weights(rng, I, H, 1.0)
    vs = [Variable(a.copy()) for a in (h0, x) + W]
    with rnnviz.using_config("batched_backward", batched):
        h = F.gru_step(*vs)
        F.sum(h * G).backward()

    cell = torch.nn.GRUCell(I, H, dtype=torch.float64)
    copy_into_torch(torch, cell, *W)
    th, tx = torch.tensor(h0, requires_grad=True), torch.tensor(x, requires_grad=True)
    ty = cell(tx, th)
    (ty * torch.from_numpy(G)).sum().backward()
    np.testing.assert_allclose(h.array, ty.detach().numpy(), **TOL)
    theirs = (th.grad, tx.grad, cell.weight_ih.grad, cell.weight_hh.grad, cell.bias_ih.grad, cell.bias_hh.grad)
    for k, (v, t) in enumerate(zip(vs, theirs)):
        np.testing.assert_allclose(v.grad, t.numpy(), err_msg=f"input {k}", **TOL)


@ENGINES
@pytest.mark.parametrize("with_h0", [False, True], ids=["zero_state", "given_state"])
def test_the_stateful_link_over_steps_equals_torch_gru(batched, with_h0, rng):
    """L.GRU over T steps (loss on every output) against nn.GRU with the same weights: outputs,
    the gradients of every weight, of every step's input and of the initial state."""
    torch = torch_or_skip()
    T, B, I, H = 6, 2, 3, 4
    xs, Gs, h0 = randn(rng, T, B, I), randn(rng, T, B, H), randn(rng, B, H)
    link = float64_link(L.GRU(I, H, bias_init=0.1))
    for p in link.params():
        p.array[...] = randn(rng, *p.shape) * 0.5
    vx, vh0 = [Variable(x) for x in xs], Variable(h0.copy())
    with rnnviz.using_config("batched_backward", batched):
        if with_h0:
            link.set_state(h=vh0)
        ys = [link(v) for v in vx]
        loss = sum(F.sum(y * G) for y, G in zip(ys, Gs))
        loss.backward()
    assert link.step == T

    gru = torch.nn.GRU(I, H, dtype=torch.float64)
    copy_into_torch(torch, gru, link.upward.W.array, link.lateral.W.array, link.upward.b.array,
                    link.lateral.b.array, suffix="_l0")
    tx = torch.tensor(xs, requires_grad=True)
    th0 = torch.tensor(h0[None], requires_grad=True)
    out, _ = gru(tx, th0 if with_h0 else None)
    (out * torch.from_numpy(Gs)).sum().backward()
    np.testing.assert_allclose(np.stack([y.array for y in ys]), out.detach().numpy(), **TOL)
    np.testing.assert_allclose(float(loss.array), float((out * torch.from_numpy(Gs)).sum().detach()), **TOL)
    for ours, theirs in ((link.upward.W, gru.weight_ih_l0), (link.lateral.W, gru.weight_hh_l0),
                         (link.upward.b, gru.bias_ih_l0), (link.lateral.b, gru.bias_hh_l0)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), **TOL)
    np.testing.assert_allclose(np.stack([v.grad for v in vx]), tx.grad.numpy(), **TOL)
    if with_h0:
        np.testing.assert_allclose(vh0.grad, th0.grad.numpy()[0], **TOL)


@pytest.mark.parametrize("cut", [2, 4])
def test_truncated_bptt_with_unchain_backward_equals_torch_detach(cut, rng):
    """Chainer's idiom on L.GRU (backward, then unchain_backward at step k) against torch's detach."""
    torch = torch_or_skip()
    T, B, I, H = 6, 2, 3, 4
    xs, Gs = randn(rng, T, B, I), randn(rng, T, B, H)
    link = float64_link(L.GRU(I, H))
    gc.collect()
    start = rnnviz.live_function_node_count()
    loss = 0
    for t in range(T):
        if t == cut:
            loss.backward()
            loss.unchain_backward()
            assert link.h.creator is None
            gc.collect()
            assert rnnviz.live_function_node_count() == start  # the first segment is really gone
            loss = 0
        loss = F.sum(link(xs[t]) * Gs[t]) + loss
    loss.backward()

    cell = torch.nn.GRUCell(I, H, dtype=torch.float64)
    copy_into_torch(torch, cell, link.upward.W.array, link.lateral.W.array, link.upward.b.array,
                    link.lateral.b.array)
    h = torch.zeros(B, H, dtype=torch.float64)
    tloss = 0
    for t in range(T):
        if t == cut:
            h = h.detach()
        h = cell(torch.from_numpy(xs[t]), h)
        tloss = tloss + (h * torch.from_numpy(Gs[t])).sum()
    tloss.backward()
    for ours, theirs in ((link.upward.W, cell.weight_ih), (link.lateral.W, cell.weight_hh),
                         (link.upward.b, cell.bias_ih), (link.lateral.b, cell.bias_hh)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), **TOL)


# -- the links: stateful vs cell, reset, truncate, devices, saving -----------------------------------

def test_link_weights_and_defaults():
    gru = L.GRU(3, 4)
    assert gru.upward.W.shape == (12, 3) and gru.lateral.W.shape == (12, 4)
    assert gru.upward.b.shape == (12,) and gru.lateral.b.shape == (12,)
    assert not gru.upward.b.array.any() and not gru.lateral.b.array.any()
    assert gru.h is None and gru.step == 0
    y = gru(np.ones((2, 3), np.float32))
    assert y.dtype == np.float32 and y.shape == (2, 4) and gru.h is y and gru.step == 1
    assert sorted(n for n, _ in gru.namedparams()) == ["/lateral/W", "/lateral/b", "/upward/W", "/upward/b"]
    lazy = L.GRU(None, 4)  # in_size inferred at the first call, as L.Linear does
    assert lazy(np.ones((2, 5), np.float32)).shape == (2, 4) and lazy.upward.W.shape == (12, 5)
    lazy_cell = L.GRUCell(None, 4)
    assert lazy_cell(None, np.ones((2, 5), np.float32))[1].shape == (2, 4)


def test_stateful_link_and_cell_give_the_same_sequence():
    np.random.seed(3)
    link, cell = L.GRU(3, 4), L.GRUCell(3, 4)
    for (n, p), (m, q) in zip(link.namedparams(), cell.namedparams()):
        assert n == m
        p.array[...] = np.random.randn(*p.shape) * 0.5  # biases too: both of them matter
        q.array[...] = p.array
    xs = np.random.randn(5, 2, 3).astype(np.float32)
    h = None
    for x in xs:
        h, y = cell(h, x)
        assert h is y
        np.testing.assert_allclose(y.array, link(x).array, rtol=1e-6, atol=1e-7)
    # starting from the explicit zero state is the same as starting from None
    h = cell.initial_state(2)
    for k, x in enumerate(xs):
        h, y = cell(h, x)
    np.testing.assert_allclose(y.array, link.h.array, rtol=1e-6, atol=1e-7)


def test_reset_state_and_truncate():
    np.random.seed(1)
    gru = L.GRU(4, 3)
    x = np.random.randn(2, 4).astype(np.float32)
    h1 = gru(x).array.copy()
    h2 = gru(x)
    assert not np.allclose(h2.array, h1)  # the state changes the second step
    h_before = gru.h.array.copy()
    gru.truncate()
    assert gru.h.creator is None
    np.testing.assert_array_equal(gru.h.array, h_before)
    gru.reset_state()
    assert gru.h is None and gru.step == 0
    np.testing.assert_allclose(gru(x).array, h1, rtol=1e-6)


def test_copy_to_device_and_save_load(tmp_path):
    np.random.seed(2)
    gru = L.GRU(3, 4)
    x = np.random.randn(2, 3).astype(np.float32)
    gru(x)
    assert gru.to_device("cpu") is gru and gru.h is not None
    deep = gru.copy(mode="copy")
    assert deep.h is None and deep.step == 0  # a copy starts from a fresh state
    path = tmp_path / "gru.npz"
    rnnviz.serializers.save_npz(str(path), gru)
    other = L.GRU(3, 4)
    rnnviz.serializers.load_npz(str(path), other)
    gru.reset_state()
    np.testing.assert_array_equal(other(x).array, gru(x).array)
    with pytest.raises(ValueError):
        rnnviz.serializers.load_npz(str(path), L.GRU(3, 5))  # another shape: refused
    assert "gru.upward.W" not in "".join(np.load(path).files) and "upward/W" in np.load(path).files


def test_graph_has_one_node_per_step_with_the_link_and_step():
    gru = L.GRU(2, 3)
    with rnnviz.using_config("batched_backward", True):
        ys = [gru(np.ones((1, 2), np.float32)) for _ in range(3)]
    nodes = [y.creator for y in ys]
    assert [n.label for n in nodes] == ["GRUStep"] * 3
    assert nodes[1].inputs[4] is ys[0] and nodes[2].inputs[4] is ys[1]  # h_prev: the previous output


# -- misuse: the messages the LSTM's give, for the GRU ----------------------------------------------

def f32(*shape):
    return np.ones(shape, dtype=np.float32)


def test_a_new_batch_size_needs_reset_state():
    gru = L.GRU(3, 4)
    gru(f32(1, 3))
    h = gru.h
    with pytest.raises(ValueError) as info:
        gru(f32(4, 3))
    msg = str(info.value)
    assert "GRU" in msg and "from 1 to 4" in msg and "reset_state()" in msg
    assert gru.h is h and gru.step == 1
    gru.reset_state()
    assert gru(f32(4, 3)).shape == (4, 4)


@pytest.mark.parametrize("make, error, words", [
    (lambda: L.GRU(0, 4), ValueError, ["GRU", "in_size", "0"]),
    (lambda: L.GRU(3, 2.5), TypeError, ["GRU", "out_size", "2.5"]),
    (lambda: L.GRUCell(True, 4), TypeError, ["GRUCell", "in_size", "True"]),
    (lambda: L.GRUCell(3, -1), ValueError, ["GRUCell", "out_size", "-1"]),
    (lambda: L.GRU(3, 4).set_state(hidden=f32(1, 4)), ValueError, ["GRU.set_state", "'hidden'", "('h',)"]),
])
def test_link_arguments_are_checked(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_function_inputs_are_checked(rng):
    B, I, H = 2, 3, 4
    x, h = f32(B, I), f32(B, H)
    W_x, W_h, b_x, b_h = (a.astype(np.float32) for a in weights(rng, I, H))
    with pytest.raises(ValueError, match=r"gru_step: expected h_prev \(2, 4\) and W_h \(12, 4\); got \(2, 5\)"):
        F.gru_step(f32(B, H + 1), x, W_x, W_h, b_x, b_h)
    with pytest.raises(ValueError, match=r"gru_step: expected x \(B, in\), W_x \(3H, in\).*W_x \(12, 5\)"):
        F.gru_step(h, x, f32(3 * H, 5), W_h, b_x, b_h)
    with pytest.raises(ValueError, match=r"gru_step: expected x.*W_x \(4, 3\)"):
        F.gru_step(None, x, f32(4, I), None, f32(4), f32(4))     # 4 rows: not three blocks
    with pytest.raises(ValueError, match=r"gru_step:.*b_h \(8,\)"):
        F.gru_step(h, x, W_x, W_h, b_x, f32(8))
    with pytest.raises(TypeError, match=r"gru_step: the inputs mix dtypes"):
        F.gru_step(h.astype(np.float64), x, W_x, W_h, b_x, b_h)
    with pytest.raises(TypeError, match=r"gru_step: expected a floating-point array"):
        F.gru_step(h, np.ones((B, I), np.int32), W_x, W_h, b_x, b_h)
    with pytest.raises(ValueError, match=r"gru: expected h_prev of shape \(B, H\) and xa, ha of shape \(B, 3H\)"):
        F.gru(h, f32(B, 3 * H), f32(B, 4 * H))
    cell = L.GRUCell(I, H)
    with pytest.raises(ValueError, match=r"gru_step: expected h_prev \(2, 4\)"):
        cell(f32(3, H), x)  # a state of another batch size
    with pytest.raises(TypeError, match=r"gru_step: the inputs mix dtypes"):
        L.GRU(I, H)(np.ones((B, I)))  # float64 data into float32 weights
    with pytest.raises(ValueError) as info:
        L.GRU(I, H)(f32(B, 5))  # the wrong input width
    assert all(w in str(info.value) for w in ("gru_step", "(2, 5)", "(12, 3)"))


def test_the_widgets_find_and_show_a_gru():
    """A GRU language model is a recurrent model like the LSTM's: the widgets find its state and
    draw it, and the graph names its row recurrent."""
    from rnnviz.experiments.model import find_recurrent
    from rnnviz.widgets import BPTTComparison, HiddenStateAnimator

    class GRULM(rnnviz.Chain):
        def __init__(self):
            super().__init__()
            with self.init_scope():
                self.embed, self.mid, self.out = L.EmbedID(6, 4), L.GRU(4, 5), L.Linear(5, 6)

        def reset_state(self):
            self.mid.reset_state()

        def forward(self, x):
            return self.out(self.mid(self.embed(x)))

    np.random.seed(0)
    model = L.Classifier(GRULM())
    assert isinstance(find_recurrent(model), L.GRU)
    xs = np.random.default_rng(0).integers(0, 6, size=(7, 2)).astype(np.int32)
    animator = HiddenStateAnimator(model, xs[:-1])
    comparison = BPTTComparison(model, xs[:-1], xs[1:])
    for widget in (animator, comparison):
        assert widget.ready and widget.message.value == "", widget.message.value


def test_rnnlm_takes_a_gru():
    """``L.RNNLM(..., cell="gru")`` stacks GRU layers; it trains like the LSTM one (loss falls)."""
    np.random.seed(0)
    model = L.Classifier(L.RNNLM(6, 4, 5, n_layers=2, cell="gru"))
    assert sum(isinstance(link, L.GRU) for link in model.links()) == 2
    from rnnviz import optimizers
    opt = optimizers.Adam(alpha=0.05).setup(model)
    xs = np.tile(np.arange(6, dtype=np.int32), 3).reshape(-1, 1)
    losses = []
    for _ in range(15):
        model.reset_state()
        loss = sum(model(x, t) for x, t in zip(xs[:-1], xs[1:]))
        model.cleargrads()
        loss.backward()
        opt.update()
        losses.append(float(loss.array))
    assert losses[-1] < 0.5 * losses[0]


@ENGINES
def test_gru_gradients_with_the_large_weight_product(batched, rng, monkeypatch):
    """The step's products taken as (W x^T)^T, as for PTB-sized weights: the same gradients."""
    from rnnviz.functions import recurrent

    monkeypatch.setattr(recurrent, "LARGE_WEIGHT", 0)
    test_gru_gradients_by_finite_differences(batched, rng)
