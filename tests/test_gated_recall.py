"""Gated cells on delayed recall (rnnviz.training.recall: RecallNet, train_cell_on_recall,
sequence_accuracy) and the plain RNN's BPTT equations of lesson 09, checked against backward(),
against float64 finite differences and against PyTorch."""
import numpy as np
import pytest

import rnnviz
from rnnviz import functions as F, links as L
from rnnviz.datasets import recall_batch
from rnnviz.gradient_check import numerical_grad
from rnnviz.training.recall import RecallNet, sequence_accuracy, train_cell_on_recall


@pytest.mark.parametrize("cell,kind", [("rnn", L.RNN), ("gru", L.GRU), ("lstm", L.LSTM)])
def test_recall_net_steps_and_sequences_agree(cell, kind):
    np.random.seed(0)
    net = RecallNet(cell, vocab_size=4, hidden=6)
    assert isinstance(net.mid, kind)
    xs, _ = recall_batch(3, 7, 2, vocab_size=4, seed=1)
    whole = net.sequence_scores(xs).array.reshape(3, 7, 4)
    net.reset_state()
    steps = np.stack([net(xs[:, t]).array for t in range(7)], axis=1)
    np.testing.assert_allclose(whole, steps, rtol=1e-5, atol=1e-6)


def test_recall_net_forget_bias_and_bad_arguments():
    np.random.seed(0)
    for bias in (0.0, 1.0):
        net = RecallNet("lstm", hidden=5, forget_bias=bias)
        assert np.allclose(net.mid.upward.b.array[5:10], bias)
    with pytest.raises(ValueError, match="RecallNet: cell must be one of"):
        RecallNet("transformer")
    with pytest.raises(ValueError, match="no forget gate"):
        RecallNet("gru", forget_bias=0.0)
    with pytest.raises(ValueError, match="train_cell_on_recall: lag"):
        train_cell_on_recall("rnn", 0)
    with pytest.raises(ValueError, match="train_cell_on_recall: cell"):
        train_cell_on_recall("elman", 3)


def test_training_is_seeded_and_reports_a_learning_curve():
    a = train_cell_on_recall("gru", 3, updates=20, every=10, seed=4)[1]
    b = train_cell_on_recall("gru", 3, updates=20, every=10, seed=4)[1]
    c = train_cell_on_recall("gru", 3, updates=20, every=10, seed=5)[1]
    assert [u for u, _ in a] == [10, 20] and a == b and a != c
    assert all(0.0 <= acc <= 1.0 for _, acc in a)
    assert train_cell_on_recall("rnn", 3, updates=7, every=5)[1][-1][0] == 7   # the end is always kept


def test_a_short_lag_is_learnt_and_an_untrained_net_is_at_chance():
    np.random.seed(0)
    assert abs(sequence_accuracy(RecallNet("gru"), lag=4) - 0.25) < 0.1
    net, history = train_cell_on_recall("rnn", 3, updates=150)
    assert history[-1][1] > 0.9, history


def test_train_recall_keeps_its_behaviour():
    """The truncation experiment (lesson 04's) is unchanged by the additions."""
    from rnnviz.training.recall import train_recall
    model, acc = train_recall(lag=2, bprop_len=4, updates=5, hidden=8)
    assert isinstance(model, L.RNNLM) and isinstance(model.mid, L.LSTM) and 0.0 <= acc <= 1.0


# -- the plain RNN's BPTT, as lesson 09 writes it ------------------------------------------------
def bptt_by_hand(W_x, W_h, b, W_o, b_o, x, ts):
    """The lesson's equations (row form): returns (loss, dW_x, dW_h, db, dW_o, db_o).
    x: (B, T, D) inputs; ts: (B, T) targets, -1 for none; loss: mean cross-entropy over targets."""
    B, T, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((T + 1, B, H))
    for t in range(T):
        h[t + 1] = np.tanh(x[:, t] @ W_x + h[t] @ W_h + b)
    y = h[1:] @ W_o + b_o
    p = np.exp(y - y.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    counted = ts.T >= 0
    idx = (np.arange(T)[:, None], np.arange(B), np.maximum(ts.T, 0))
    loss = -np.log(p[idx])[counted].mean()
    dy = p.copy()
    dy[idx] -= 1
    dy *= counted[..., None] / counted.sum()
    dW_x, dW_h, db = np.zeros_like(W_x), np.zeros_like(W_h), np.zeros_like(b)
    dW_o, db_o = np.einsum("tbh,tbv->hv", h[1:], dy), dy.sum((0, 1))
    from_future = np.zeros((B, H))
    for t in reversed(range(T)):
        g = (dy[t] @ W_o.T + from_future) * (1 - h[t + 1] ** 2)
        dW_h += h[t].T @ g
        dW_x += x[:, t].T @ g
        db += g.sum(0)
        from_future = g @ W_h.T
    return loss, dW_x, dW_h, db, dW_o, db_o


def _case(seed=0, B=3, T=9, D=4, H=5, lag=3):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) * 0.6 for s in ((D, H), (H, H), (H,), (H, D), (D,))]
    xs, ts = recall_batch(B, T, lag, vocab_size=D, seed=seed)
    return params, np.eye(D)[xs], xs, ts


def test_bptt_equations_are_what_backward_computes():
    params, x, xs, ts = _case()
    np.random.seed(0)
    net = RecallNet("rnn", vocab_size=4, hidden=5)
    W_x, W_h, b, W_o, b_o = (p.astype(np.float32) for p in params)
    net.mid.upward.W.array[...] = W_x.T
    net.mid.lateral.W.array[...] = W_h.T
    net.mid.upward.b.array[...] = b
    net.out.W.array[...] = W_o.T
    net.out.b.array[...] = b_o
    net.cleargrads()
    loss = F.softmax_cross_entropy(net.sequence_scores(xs), ts.reshape(-1))
    loss.backward()
    mine = bptt_by_hand(*params, x, ts)
    assert np.isclose(mine[0], float(loss.array), rtol=1e-5)
    lib = [net.mid.upward.W.grad.T, net.mid.lateral.W.grad.T, net.mid.upward.b.grad,
           net.out.W.grad.T, net.out.b.grad]
    for name, m, g in zip(("W_x", "W_h", "b", "W_o", "b_o"), mine[1:], lib):
        np.testing.assert_allclose(g, m, rtol=1e-4, atol=1e-6, err_msg=name)


def test_bptt_equations_agree_with_float64_finite_differences():
    params, x, _, ts = _case(seed=1)
    grads = bptt_by_hand(*params, x, ts)[1:]

    def loss_of(*p):
        return np.array(bptt_by_hand(*p, x, ts)[0])

    numeric = numerical_grad(loss_of, [p.copy() for p in params], np.array(1.0), eps=1e-6)
    for name, g, n in zip(("W_x", "W_h", "b", "W_o", "b_o"), grads, numeric):
        np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-8, err_msg=name)


def test_bptt_equations_agree_with_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the independent autograd compared against")
    params, x, _, ts = _case(seed=2)
    W_x, W_h, b, W_o, b_o = params
    rnn = torch.nn.RNN(4, 5, nonlinearity="tanh", batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(W_x.T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(W_h.T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(b))
        rnn.bias_hh_l0.zero_()
    W_o_t = torch.tensor(W_o, requires_grad=True)
    b_o_t = torch.tensor(b_o, requires_grad=True)
    hs, _ = rnn(torch.from_numpy(x))
    scores = (hs @ W_o_t + b_o_t).reshape(-1, 4)
    loss = torch.nn.functional.cross_entropy(scores, torch.from_numpy(ts.reshape(-1)).long(), ignore_index=-1)
    loss.backward()
    mine = bptt_by_hand(*params, x, ts)
    assert np.isclose(mine[0], loss.item())
    theirs = [rnn.weight_ih_l0.grad.T, rnn.weight_hh_l0.grad.T, rnn.bias_ih_l0.grad, W_o_t.grad, b_o_t.grad]
    for name, m, t in zip(("W_x", "W_h", "b", "W_o", "b_o"), mine[1:], theirs):
        np.testing.assert_allclose(m, t.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_widgets_step_a_recall_net():
    """HiddenStateAnimator finds the GRU inside a RecallNet and steps it token by token."""
    from rnnviz.widgets import HiddenStateAnimator
    np.random.seed(0)
    net = RecallNet("gru", hidden=8)
    seq, _ = recall_batch(1, 10, 3, vocab_size=4, seed=7)
    w = HiddenStateAnimator(net, seq.T, words=list("ABCD"))
    try:
        assert w.ready, w.message.value
        assert w.time_slider.max == 9
    finally:
        w.close()
