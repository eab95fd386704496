"""Variable-length batches: padding, the masked (temporal) loss, a state carried only where a
sequence is alive, and length bucketing, each checked against running one sequence at a time
(float64), finite differences, PyTorch where it is installed, and both backward engines."""
import numpy as np
import pytest

import rnnviz
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import Variable
from rnnviz.gradient_check import check_backward, numerical_grad
from rnnviz.iterators import BucketIterator, bucket_by_length, pad_sequences
from rnnviz.links.masked import masked_step

LENGTHS = [5, 2, 7, 1, 4]
V, D, H = 6, 3, 4
T, B = max(LENGTHS), len(LENGTHS)
ENGINES = ["batched", "plain"]


def engine(name):
    return rnnviz.using_config("batched_backward", name == "batched")


def to64(link):
    for _, p in link.namedparams():
        p.array = p.array.astype(np.float64)
    return link


def padded_labels(rng, fill=-1):
    seqs = [rng.integers(0, V, n).astype(np.int32) for n in LENGTHS]
    t, lengths = pad_sequences(seqs, padding=fill)
    return seqs, t, lengths


# -- padding and masks ---------------------------------------------------------------------------

def test_pad_sequences_time_major_with_lengths():
    t, lengths = pad_sequences([[1, 2, 3], [4], []])
    assert t.dtype == np.int32 and t.shape == (3, 3) and lengths.tolist() == [3, 1, 0]
    assert t[:, 0].tolist() == [1, 2, 3] and t[:, 1].tolist() == [4, -1, -1] and (t[:, 2] == -1).all()
    bm, _ = pad_sequences([[1, 2, 3], [4], []], padding=0, time_major=False, length=4)
    assert bm.shape == (3, 4) and bm[1].tolist() == [4, 0, 0, 0]
    assert (F.sequence_mask(lengths) == (t != -1)).all()
    assert F.sequence_mask(lengths, 4, time_major=False).tolist()[1] == [True, False, False, False]
    x, n = rnnviz.dataset.pad_sequences([np.ones((2, 3), np.float32), np.ones((1, 3), np.float32)], padding=0)
    assert x.shape == (2, 2, 3) and x.dtype == np.float32 and n.tolist() == [2, 1] and (x[1, 1] == 0).all()


@pytest.mark.parametrize("time_major", [False, True])
def test_pad_sequence_is_chainers_and_slices_the_gradient_back(rng, time_major):
    xs = [rng.standard_normal((n, D)) for n in LENGTHS]
    y = F.pad_sequence([Variable(x) for x in xs], padding=7.0, time_major=time_major)
    yb = y.array if not time_major else y.array.swapaxes(0, 1)
    assert yb.shape == (B, T, D)
    for b, x in enumerate(xs):
        np.testing.assert_array_equal(yb[b, :len(x)], x)
        assert (yb[b, len(x):] == 7.0).all()
    check_backward(lambda *v: F.pad_sequence(v, length=T + 1, time_major=time_major), xs)


# -- the masked loss -----------------------------------------------------------------------------

def per_sequence_losses(x, seqs):
    """Each sequence's summed cross-entropy and its gradient, computed one sequence at a time."""
    losses, grads = [], []
    for b, t in enumerate(seqs):
        xb = Variable(x[:len(t), b].copy())
        loss = F.sum(F.softmax_cross_entropy(xb, t, reduce="no"))
        loss.backward()
        losses.append(float(loss.array))
        grads.append(xb.grad)
    return np.array(losses), grads


@pytest.mark.parametrize("normalize, Z", [("batch", B), ("tokens", sum(LENGTHS)), ("sum", 1),
                                          (False, B), (True, sum(LENGTHS))])
@pytest.mark.parametrize("backward_engine", ENGINES)
def test_masked_loss_is_the_sum_of_per_sequence_losses(rng, normalize, Z, backward_engine):
    x = rng.standard_normal((T, B, V))
    seqs, t, lengths = padded_labels(rng)
    losses, grads = per_sequence_losses(x, seqs)
    vx = Variable(x)
    with engine(backward_engine):
        loss = F.temporal_softmax_cross_entropy(vx, t, normalize=normalize)
        loss.backward()
    np.testing.assert_allclose(loss.array, losses.sum() / Z, rtol=1e-13)
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(vx.grad[:n, b], grads[b] / Z, rtol=1e-12, atol=1e-15)
        assert (vx.grad[n:, b] == 0).all()              # padded positions: exactly zero


def test_a_mask_a_list_of_steps_and_batch_major_give_the_same_loss(rng):
    x = rng.standard_normal((T, B, V))
    _, t, lengths = padded_labels(rng)
    mask = F.sequence_mask(lengths)
    garbage = np.where(mask, t, rng.integers(0, V, t.shape)).astype(np.int32)   # valid labels, masked out
    reference = F.temporal_softmax_cross_entropy(x, t).array
    steps = [Variable(x[k]) for k in range(T)]
    loss = F.temporal_softmax_cross_entropy(steps, garbage, mask=mask)
    loss.backward()
    assert loss.array == pytest.approx(float(reference), rel=1e-14)
    assert all((steps[k].grad[~mask[k]] == 0).all() for k in range(T))
    bm = F.temporal_softmax_cross_entropy(x.swapaxes(0, 1), t.T, time_major=False)
    assert bm.array == pytest.approx(float(reference), rel=1e-14)
    per = F.temporal_softmax_cross_entropy(x, garbage, mask=mask.astype(np.int8), reduce="no")
    assert per.shape == (T, B) and (per.array[~mask] == 0).all()
    assert per.array.sum() / B == pytest.approx(float(reference), rel=1e-13)


@pytest.mark.parametrize("kw", [dict(normalize="batch"), dict(normalize="tokens"), dict(normalize="sum"),
                                dict(reduce="no"), dict(time_major=False)])
def test_masked_loss_finite_differences(rng, kw):
    x = rng.standard_normal((T, B, V))
    _, t, lengths = padded_labels(rng)
    if kw.get("time_major") is False:
        x, t = x.swapaxes(0, 1).copy(), t.T.copy()
    check_backward(lambda v: F.temporal_softmax_cross_entropy(v, t, **kw), (x,), atol=1e-7, rtol=1e-6)


def test_float32_stays_float32(rng):
    x = Variable(rng.standard_normal((T, B, V)).astype(np.float32))
    _, t, _ = padded_labels(rng)
    loss = F.temporal_softmax_cross_entropy(x, t)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


def test_softmax_cross_entropy_normalize_false_divides_by_the_batch(rng):
    x, t = rng.standard_normal((4, V)), np.array([1, -1, 2, -1], np.int32)
    assert float(F.softmax_cross_entropy(x, t, normalize=False).array) == pytest.approx(
        float(F.softmax_cross_entropy(x, t).array) / 2, rel=1e-14)
    check_backward(lambda v: F.softmax_cross_entropy(v, t, normalize=False), (x,))


# -- the state carried only where a sequence is alive --------------------------------------------

LINKS = {"RNN": lambda: L.RNN(D, H), "LSTM": lambda: L.LSTM(D, H)}
if hasattr(L, "GRU"):
    LINKS["GRU"] = lambda: L.GRU(D, H)


def run_padded(link, head, xs, mask, t):
    """A padded batch, step by step with masked_step; the loss and each sequence's final state."""
    link.reset_state()
    ys = [head(masked_step(link, x, m)) for x, m in zip(xs, mask)]
    return F.temporal_softmax_cross_entropy(ys, t), link.get_state()


def run_alone(link, head, x, t):
    link.reset_state()
    ys = [head(link(x[k:k + 1])) for k in range(len(x))]
    return F.temporal_softmax_cross_entropy(ys, t[:, None]), link.get_state()


@pytest.mark.parametrize("kind", sorted(LINKS))
@pytest.mark.parametrize("backward_engine", ENGINES)
def test_final_states_and_gradients_equal_running_each_sequence_alone(rng, kind, backward_engine):
    np.random.seed(0)
    link, head = to64(LINKS[kind]()), to64(L.Linear(H, V))
    _, t, lengths = padded_labels(rng)
    mask = F.sequence_mask(lengths)
    x = rng.standard_normal((T, B, D))
    x[~mask] = 1e3 * rng.standard_normal((int((~mask).sum()), D))    # padded inputs: loud garbage
    params = dict(link.namedparams()) | {"head" + k: p for k, p in head.namedparams()}

    expected, finals = {k: 0 for k in params}, []
    for b, n in enumerate(LENGTHS):
        link.cleargrads(), head.cleargrads()
        with engine(backward_engine):
            loss, state = run_alone(link, head, x[:n, b], t[:n, b])
            loss.backward()
        for k, p in params.items():
            if p.grad is not None:                            # normalize='batch': the mean over sequences
                expected[k] = expected[k] + p.grad / B
        finals.append({name: s.array[0].copy() for name, s in state.items()})

    link.cleargrads(), head.cleargrads()
    xs = [Variable(x[k]) for k in range(T)]
    with engine(backward_engine):
        loss, state = run_padded(link, head, xs, mask, t)
        loss.backward()
    for b in range(B):
        for name, s in state.items():
            np.testing.assert_allclose(s.array[b], finals[b][name], rtol=1e-12, atol=1e-14, err_msg=name)
    for k, p in params.items():
        np.testing.assert_allclose(p.grad, expected[k], rtol=1e-10, atol=1e-13, err_msg=k)
    for k in range(T):                                         # padded inputs: exactly zero gradient
        assert (xs[k].grad[~mask[k]] == 0).all() and (xs[k].grad[mask[k]] != 0).all()


def test_padded_word_ids_give_their_embedding_rows_no_gradient(rng):
    """A language model over padded ids (padding = a real id, 0, so only the mask keeps it out)."""
    embed, lstm, head = to64(L.EmbedID(V, D)), to64(L.LSTM(D, H)), to64(L.Linear(H, V))
    lengths = np.array([3, 1, 2])
    ids = np.array([[1, 2, 3], [4, 0, 0], [5, 5, 0]], np.int32).T      # (T, B); 0 only as padding
    mask = F.sequence_mask(lengths)
    lstm.reset_state()
    ys = [head(masked_step(lstm, embed(ids[k]), mask[k])) for k in range(3)]
    F.temporal_softmax_cross_entropy(ys, (ids + 1) % V, mask=mask).backward()
    assert (embed.W.grad[0] == 0).all()                      # id 0 occurs only at padded positions
    assert all((embed.W.grad[i] != 0).all() for i in (1, 2, 3, 4, 5))


def test_masked_explicit_state_steps_match_finite_differences(rng):
    """The functional form, F.where around F.lstm_step: gradients of x and every weight."""
    lengths = np.array([3, 1, 2])
    mask = F.sequence_mask(lengths)
    x = rng.standard_normal((3, 3, D))
    W_x, W_h, b = rng.standard_normal((4 * H, D)), rng.standard_normal((4 * H, H)), rng.standard_normal(4 * H)

    def final_h(x, W_x, W_h, b):
        h = c = Variable(np.zeros((3, H)))
        for k in range(3):
            c_new, h_new = F.lstm_step(c, h, x[k], W_x, W_h, b)
            keep = mask[k][:, None]
            c, h = F.where(keep, c_new, c), F.where(keep, h_new, h)
        return h

    gx, *_ = check_backward(final_h, (x, W_x, W_h, b), atol=1e-7, rtol=1e-6)
    assert (gx[~mask] == 0).all()


def test_where_gradients(rng):
    a, b_ = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    cond = np.array([True, False, True])[:, None]
    y = F.where(cond, Variable(a), Variable(b_))
    np.testing.assert_array_equal(y.array, np.where(cond, a, b_))
    ga, gb = check_backward(lambda u, v: F.where(cond, u, v), (a, b_))
    assert (ga[1] == 0).all() and (gb[[0, 2]] == 0).all()
    num = numerical_grad(lambda u: np.where(cond, u, b_), [a.copy()], np.ones((3, 4)))[0]
    np.testing.assert_allclose(num, np.broadcast_to(cond, (3, 4)).astype(float), rtol=1e-9)


@pytest.mark.parametrize("kind", sorted(LINKS))
def test_both_engines_agree_on_a_masked_batch(rng, kind):
    _, t, lengths = padded_labels(rng)
    mask = F.sequence_mask(lengths)
    x = rng.standard_normal((T, B, D))
    np.random.seed(1)
    link, head = to64(LINKS[kind]()), to64(L.Linear(H, V))
    grads = {}
    for name in ENGINES:
        link.cleargrads(), head.cleargrads()
        xs = [Variable(x[k]) for k in range(T)]
        with engine(name):
            loss, _ = run_padded(link, head, xs, mask, t)
            loss.backward()
        grads[name] = [p.grad.copy() for _, p in link.namedparams()] + [v.grad for v in xs]
    for a, b in zip(grads["batched"], grads["plain"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# -- PyTorch, where it is installed --------------------------------------------------------------

def test_torch_cross_entropy_with_ignore_index(rng):
    torch = pytest.importorskip("torch", reason="PyTorch is the independent autograd compared against")
    x = rng.standard_normal((T, B, V))
    _, t, _ = padded_labels(rng)
    for normalize, reduction, Z in (("batch", "sum", B), ("tokens", "mean", 1)):
        vx = Variable(x)
        loss = F.temporal_softmax_cross_entropy(vx, t, normalize=normalize)
        loss.backward()
        tx = torch.tensor(x, requires_grad=True)
        tl = torch.nn.functional.cross_entropy(tx.reshape(-1, V), torch.tensor(t.ravel(), dtype=torch.long),
                                               ignore_index=-1, reduction=reduction) / Z
        tl.backward()
        np.testing.assert_allclose(loss.array, tl.item(), rtol=1e-13)
        np.testing.assert_allclose(vx.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_torch_packed_lstm_final_states(rng):
    torch = pytest.importorskip("torch", reason="PyTorch is the independent autograd compared against")
    lstm = to64(L.LSTM(D, H))
    x = rng.standard_normal((T, B, D))
    mask = F.sequence_mask(np.array(LENGTHS))
    lstm.reset_state()
    for k in range(T):
        masked_step(lstm, Variable(x[k]), mask[k])
    ref = torch.nn.LSTM(D, H, dtype=torch.float64)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(lstm.upward.W.array))
        ref.weight_hh_l0.copy_(torch.from_numpy(lstm.lateral.W.array))
        ref.bias_ih_l0.copy_(torch.from_numpy(lstm.upward.b.array))
        ref.bias_hh_l0.zero_()
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), torch.tensor(LENGTHS),
                                                     enforce_sorted=False)
    _, (h, c) = ref(packed)
    np.testing.assert_allclose(lstm.h.array, h[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lstm.c.array, c[0].detach().numpy(), rtol=1e-12, atol=1e-14)


# -- batching by length --------------------------------------------------------------------------

def test_bucketing_covers_every_example_once_and_cuts_the_padding(rng):
    lengths = rng.integers(1, 101, 200)
    dataset = [np.arange(n, dtype=np.int32) for n in lengths]
    it = BucketIterator(dataset, 16, repeat=False, shuffle=True, seed=3)
    seen = []
    for batch in it:
        assert 1 <= len(batch) <= 16
        seen += [len(ex) for ex in batch]
        padded, n = pad_sequences(batch)
        assert padded.shape == (max(n), len(batch))
    assert sorted(seen) == sorted(lengths.tolist()) and it.epoch == 1 and it.epoch_detail == 1.0
    pooled = BucketIterator(dataset, 16, pool_batches=2, seed=3)
    random_order = BucketIterator(dataset, 16, pool_batches=1, seed=3)     # sorting one batch pads the same
    shares = [round(i.padding_share(), 2) for i in (random_order, pooled, it)]
    assert shares == [0.44, 0.29, 0.06]                        # the numbers bucket.py's docstring quotes
    sorted_batches = bucket_by_length(lengths, 16)
    assert [len(b) for b in sorted_batches] == [16] * 12 + [8]
    assert (np.diff(lengths[np.concatenate(sorted_batches)]) >= 0).all()


def test_bucket_iterator_is_deterministic_and_resumes():
    dataset = [(np.arange(n, dtype=np.int32), np.arange(n, dtype=np.int32)) for n in range(1, 31)]
    a = BucketIterator(dataset, 4, seed=7)
    first = [[len(ex[0]) for ex in next(a)] for _ in range(20)]
    assert a.epoch == 2 and 2 < a.epoch_detail < 3                 # 8 batches per epoch
    store = {}
    b = BucketIterator(dataset, 4, seed=7)
    for _ in range(11):
        next(b)
    b.serialize(lambda key, value: store.setdefault(key, value))
    c = BucketIterator(dataset, 4, seed=7)
    c.serialize(lambda key, value: store.get(key, value))
    assert [[len(ex[0]) for ex in next(c)] for _ in range(9)] == first[11:]
    assert first[:8] != first[8:16]                                 # a new order each epoch


# -- misuse ----------------------------------------------------------------------------------------

x3, t2 = np.zeros((T, B, V)), np.zeros((T, B), np.int32)
MISUSE = [
    (ValueError, r"temporal_softmax_cross_entropy: expected a mask of shape \(7, 5\), got \(5, 7\)",
     lambda: F.temporal_softmax_cross_entropy(x3, t2, mask=np.ones((B, T), bool))),
    (ValueError, r"temporal_softmax_cross_entropy: mask must hold only True/False .* 0.5",
     lambda: F.temporal_softmax_cross_entropy(x3, t2, mask=np.full((T, B), 0.5))),
    (TypeError, r"temporal_softmax_cross_entropy: mask must be a boolean array",
     lambda: F.temporal_softmax_cross_entropy(x3, t2, mask=np.full((T, B), 1 + 1j))),
    (ValueError, r"temporal_softmax_cross_entropy: expected labels of shape \(7, 5\)",
     lambda: F.temporal_softmax_cross_entropy(x3, t2.T)),
    (ValueError, r"temporal_softmax_cross_entropy: expected scores of shape \(T, B, V\)",
     lambda: F.temporal_softmax_cross_entropy(x3[0], t2[0])),
    (ValueError, r"temporal_softmax_cross_entropy: labels at live positions must lie in \[0, 6\); got 6",
     lambda: F.temporal_softmax_cross_entropy(x3, t2 + 6)),
    (ValueError, r"temporal_softmax_cross_entropy: normalize must be 'batch', 'tokens' or 'sum'",
     lambda: F.temporal_softmax_cross_entropy(x3, t2, normalize="mean")),
    (ValueError, r"temporal_softmax_cross_entropy: the steps must all have shape \(B, V\)",
     lambda: F.temporal_softmax_cross_entropy([x3[0], x3[0, :2]], t2[:2])),
    (TypeError, r"temporal_softmax_cross_entropy: expected integer labels",
     lambda: F.temporal_softmax_cross_entropy(x3, t2.astype(float))),
    (ValueError, r"sequence_mask: a sequence of length 8 does not fit in length=7",
     lambda: F.sequence_mask([3, 8], 7)),
    (ValueError, r"sequence_mask: lengths must be >= 0",
     lambda: F.sequence_mask([3, -1])),
    (TypeError, r"sequence_mask: lengths must be a 1-D sequence of ints",
     lambda: F.sequence_mask([1.5, 2.0])),
    (ValueError, r"pad_sequences: length=2 is shorter than the longest sequence \(3 steps\)",
     lambda: pad_sequences([[1, 2, 3], [1]], length=2)),
    (ValueError, r"pad_sequences: padding=-1 does not fit the sequences' dtype uint8",
     lambda: pad_sequences([np.array([1, 2], np.uint8)])),
    (ValueError, r"pad_sequences: the list of sequences is empty", lambda: pad_sequences([])),
    (ValueError, r"pad_sequence: length=2 is shorter than the longest sequence \(3 steps\)",
     lambda: F.pad_sequence([np.zeros((3, 2)), np.zeros((1, 2))], length=2)),
    (ValueError, r"pad_sequence: every sequence must have shape \(L_i, ...\) with the same trailing shape",
     lambda: F.pad_sequence([np.zeros((3, 2)), np.zeros((1, 3))])),
    (ValueError, r"where: the condition's shape must broadcast to \(3, 4\), got \(3,\); .* mask\[:, None\]",
     lambda: F.where(np.ones(3, bool), np.zeros((3, 4)), np.zeros((3, 4)))),
    (ValueError, r"where: a and b must have one shape", lambda: F.where(True, np.zeros(3), np.zeros(4))),
    (ValueError, r"masked_step\(LSTM\): expected a mask of shape \(2,\), got \(2, 1\)",
     lambda: masked_step(L.LSTM(3, 4), np.zeros((2, 3), np.float32), np.ones((2, 1), bool))),
    (TypeError, r"masked_step\(Linear\): expected a stateful recurrent link",
     lambda: masked_step(L.Linear(3, 4), np.zeros((2, 3), np.float32), np.ones(2, bool))),
    (ValueError, r"BucketIterator: batch_size must be an int >= 1, got 0",
     lambda: BucketIterator([[1]], 0)),
]


@pytest.mark.parametrize("error, message, call", MISUSE, ids=[m.split(":")[0].replace("\\", "") + f"-{i}"
                                                              for i, (_, m, _) in enumerate(MISUSE)])
def test_misuse_is_refused_with_a_clear_message(error, message, call):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("backward_engine", ENGINES)
def test_the_gpu_path_on_the_cupy_standin_matches_numpy(rng, backward_engine):
    """On CuPy arrays (tests/cupy_standin.py, which refuses NumPy/CuPy mixes as CuPy does): the same
    loss and gradients; a NumPy mask handed to masked_step is moved to the link's device."""
    from cupy_standin import installed

    _, t, lengths = padded_labels(rng)
    x = rng.standard_normal((T, B, D))

    def run(device):
        np.random.seed(2)
        lstm, head = to64(L.LSTM(D, H)), to64(L.Linear(H, V))
        lstm.to_device(device), head.to_device(device)
        move = lambda a: rnnviz.backend.to_device(a, device)          # noqa: E731
        mask = F.sequence_mask(move(lengths))
        lstm.reset_state()
        with engine(backward_engine):
            ys = []
            for k in range(T):
                m = mask[k] if k % 2 or device == "cpu" else mask[k].get()    # a NumPy mask every other step
                ys.append(head(masked_step(lstm, move(x[k]), m)))
            loss = F.temporal_softmax_cross_entropy(ys, move(t), mask=mask, normalize="tokens")
            loss.backward()
        assert rnnviz.backend.device_of(lstm.h.array) == device == rnnviz.backend.device_of(lstm.upward.W.grad)
        out = [loss.array] + [p.grad for _, p in lstm.namedparams()]
        return [a.get() if hasattr(a, "get") else a for a in out]

    cpu = run("cpu")
    with installed():
        gpu = run("gpu")
    for a, b in zip(gpu, cpu):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_stateful_layer_takes_the_mask_itself():
    """``lstm(x, mask=m)`` is ``L.masked_step(lstm, x, m)``: the same states, step for step."""
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((4, 3, 2)).astype(np.float32)
    mask = F.sequence_mask(np.array([4, 2, 1]), 4)
    a, b = L.LSTM(2, 5), L.LSTM(2, 5)
    for (_, p), (_, q) in zip(sorted(a.namedparams()), sorted(b.namedparams())):
        q.array[...] = p.array
    for t in range(4):
        ha = a(xs[t], mask=mask[t])
        hb = L.masked_step(b, xs[t], mask[t])
        np.testing.assert_array_equal(ha.array, hb.array)
    np.testing.assert_array_equal(a.c.array, b.c.array)
