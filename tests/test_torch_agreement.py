"""Gradients agree with an independent autograd: PyTorch, in float64.

Skipped, with the reason shown, where PyTorch is not installed.
"""
import gc

import numpy
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the independent autograd compared against")

import rnnviz  # noqa: E402
from rnnviz import Variable, functions as F  # noqa: E402

TF = torch.nn.functional
TOL = dict(rtol=1e-10, atol=1e-12)


def t64(a, grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def close(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours is not None and ours.shape == theirs.shape
    numpy.testing.assert_allclose(ours, theirs, **TOL)


def test_affine_tanh_layer(rng):
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    G = rng.standard_normal((5, 3))  # a random upstream gradient
    vx, vW, vb = Variable(x), Variable(W), Variable(b)
    y = F.tanh(F.linear(vx, vW, vb))
    loss = F.sum(y * G)
    loss.backward()

    tx, tW, tb = t64(x), t64(W), t64(b)
    ty = torch.tanh(TF.linear(tx, tW, tb))
    tloss = (ty * torch.from_numpy(G)).sum()
    tloss.backward()

    close(y.array, ty)
    close(loss.array, tloss)
    for ours, theirs in [(vx, tx), (vW, tW), (vb, tb)]:
        close(ours.grad, theirs.grad)


def test_softmax_cross_entropy_over_an_embedding(rng):
    V, D, C = 7, 4, 5
    ids = numpy.array([[0, 3, 3, 6], [2, 3, 1, 0]])
    labels = numpy.array([[1, -1, 4, 0], [2, 2, -1, 3]])
    E, W, b = rng.standard_normal((V, D)), rng.standard_normal((C, D)), rng.standard_normal(C)
    vE, vW, vb = Variable(E), Variable(W), Variable(b)
    e = F.embed_id(ids.reshape(-1), vE)
    loss = F.softmax_cross_entropy(F.linear(e, vW, vb), labels.reshape(-1), ignore_label=-1)
    loss.backward()

    tE, tW, tb = t64(E), t64(W), t64(b)
    te = TF.embedding(torch.from_numpy(ids.reshape(-1)), tE)
    tloss = TF.cross_entropy(TF.linear(te, tW, tb), torch.from_numpy(labels.reshape(-1)), ignore_index=-1)
    tloss.backward()

    close(loss.array, tloss)
    for ours, theirs in [(vE, tE), (vW, tW), (vb, tb)]:
        close(ours.grad, theirs.grad)


# -- an LSTM language model unrolled over time ------------------------------------------------------

V, D, H, B, T = 6, 3, 4, 2, 6


def lstm_data(rng):
    params = {
        "E": rng.standard_normal((V, D)),
        "Wx": rng.standard_normal((4 * H, D)) * 0.5, "bx": rng.standard_normal(4 * H) * 0.5,
        "Wh": rng.standard_normal((4 * H, H)) * 0.5, "bh": rng.standard_normal(4 * H) * 0.5,
        "Wo": rng.standard_normal((V, H)), "bo": rng.standard_normal(V),
    }
    ids = rng.integers(0, V, (T, B))
    targets = rng.integers(0, V, (T, B))
    targets[2, 1] = -1  # one ignored position
    return params, ids, targets


def torch_lstm(params, ids, targets, cut=None, last_only=False):
    """Reference: nn.LSTMCell with the same weights (torch's gate layout is i, f, g, o too)."""
    P = {k: t64(v) for k, v in params.items()}
    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(P["Wx"])
        cell.bias_ih.copy_(P["bx"])
        cell.weight_hh.copy_(P["Wh"])
        cell.bias_hh.copy_(P["bh"])
    h = torch.zeros(B, H, dtype=torch.float64)
    c = torch.zeros(B, H, dtype=torch.float64)
    loss = 0
    for t in range(T):
        if t == cut:
            h, c = h.detach(), c.detach()
        h, c = cell(TF.embedding(torch.from_numpy(ids[t]), P["E"]), (h, c))
        if not last_only or t == T - 1:
            loss = loss + TF.cross_entropy(TF.linear(h, P["Wo"], P["bo"]), torch.from_numpy(targets[t]),
                                           ignore_index=-1)
    loss.backward()
    grads = {"E": P["E"].grad, "Wx": cell.weight_ih.grad, "bx": cell.bias_ih.grad,
             "Wh": cell.weight_hh.grad, "bh": cell.bias_hh.grad, "Wo": P["Wo"].grad, "bo": P["bo"].grad}
    return float(loss.detach()), {k: g.numpy() for k, g in grads.items()}


def rnnviz_step(P, c, h, ids_t):
    a = F.linear(F.embed_id(ids_t, P["E"]), P["Wx"], P["bx"]) + F.linear(h, P["Wh"], P["bh"])
    return F.lstm(c, a)


def rnnviz_loss(P, h, targets_t):
    return F.softmax_cross_entropy(F.linear(h, P["Wo"], P["bo"]), targets_t, ignore_label=-1)


def check_against_torch(params, grads, total, ref_total, ref_grads):
    numpy.testing.assert_allclose(total, ref_total, **TOL)
    for k in params:
        numpy.testing.assert_allclose(grads[k], ref_grads[k], err_msg=k, **TOL)


def test_lstm_unrolled_full(rng):
    params, ids, targets = lstm_data(rng)
    P = {k: Variable(v.copy()) for k, v in params.items()}
    h = Variable(numpy.zeros((B, H)))
    c = Variable(numpy.zeros((B, H)))
    loss = 0
    for t in range(T):
        c, h = rnnviz_step(P, c, h, ids[t])
        loss = rnnviz_loss(P, h, targets[t]) + loss
    loss.backward()
    ref_total, ref_grads = torch_lstm(params, ids, targets)
    check_against_torch(params, {k: v.grad for k, v in P.items()}, float(loss.array), ref_total, ref_grads)


@pytest.mark.parametrize("cut", [1, 3, 5])
def test_lstm_truncated_bptt_with_unchain_backward(cut, rng):
    """Chainer's idiom: backward the loss so far, then cut the history (loss and state) at step k."""
    params, ids, targets = lstm_data(rng)
    P = {k: Variable(v.copy()) for k, v in params.items()}
    h = Variable(numpy.zeros((B, H)))
    c = Variable(numpy.zeros((B, H)))
    gc.collect()  # garbage of earlier tests (tracebacks hold graphs) must not be counted
    start = rnnviz.live_function_node_count()
    loss, total = 0, 0.0
    for t in range(T):
        if t == cut:
            loss.backward()
            total += float(loss.array)
            loss.unchain_backward()
            c.unchain_backward()  # c is an output of the last LSTM node, not in loss's history
            assert h.creator is None and c.creator is None
            gc.collect()
            assert rnnviz.live_function_node_count() == start  # the first segment is really gone
            loss = 0
        c, h = rnnviz_step(P, c, h, ids[t])
        loss = rnnviz_loss(P, h, targets[t]) + loss
    loss.backward()  # gradients accumulate onto those of the first segment
    total += float(loss.array)
    ref_total, ref_grads = torch_lstm(params, ids, targets, cut=cut)
    check_against_torch(params, {k: v.grad for k, v in P.items()}, total, ref_total, ref_grads)


@pytest.mark.parametrize("cut", [2, 4])
def test_lstm_state_cut_with_unchain(cut, rng):
    """A loss on the last output only; the state is cut with h.unchain() / c.unchain() at step k."""
    params, ids, targets = lstm_data(rng)
    P = {k: Variable(v.copy()) for k, v in params.items()}
    h = Variable(numpy.zeros((B, H)))
    c = Variable(numpy.zeros((B, H)))
    for t in range(T):
        if t == cut:
            h.unchain()
            c.unchain()
        c, h = rnnviz_step(P, c, h, ids[t])
    loss = rnnviz_loss(P, h, targets[T - 1])
    loss.backward()
    ref_total, ref_grads = torch_lstm(params, ids, targets, cut=cut, last_only=True)
    check_against_torch(params, {k: v.grad for k, v in P.items()}, float(loss.array), ref_total, ref_grads)
    # and the cut really changes the answer: without it the gradients differ
    full_total, full_grads = torch_lstm(params, ids, targets, last_only=True)
    assert not numpy.allclose(P["Wh"].grad, full_grads["Wh"])


def test_lstm_cell_matches_torch_with_random_state(rng):
    c0, h0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    x = rng.standard_normal((B, 4 * H))
    G_c, G_h = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    vc, vx = Variable(c0), Variable(x)
    c, h = F.lstm(vc, vx)
    F.sum(c * G_c + h * G_h).backward()

    # torch: a cell with identity input weights and zero recurrent weights, so gates == x
    cell = torch.nn.LSTMCell(4 * H, H, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.eye(4 * H, dtype=torch.float64))
        cell.weight_hh.zero_()
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
    tx, tc = t64(x), t64(c0)
    th, tcn = cell(tx, (torch.from_numpy(h0), tc))
    (tcn * torch.from_numpy(G_c) + th * torch.from_numpy(G_h)).sum().backward()
    close(c.array, tcn)
    close(h.array, th)
    close(vx.grad, tx.grad)
    close(vc.grad, tc.grad)
