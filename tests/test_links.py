"""Links: registration, traversal, copies, devices, the recurrent links and the tutorial's code."""
import numpy as np
import pytest

import rnnviz as chainer
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import Chain, ChainList, Variable, optimizers


def test_linear_shapes_init_and_forward():
    np.random.seed(0)
    f = L.Linear(3, 2)
    assert f.W.shape == (2, 3) and f.b.shape == (2,)
    assert np.all(f.b.array == 0)
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    y = f(Variable(x))
    np.testing.assert_allclose(y.array, x @ f.W.array.T + f.b.array, rtol=1e-6)
    np.testing.assert_allclose(F.linear(x, f.W, f.b).array, y.array)
    assert [n for n, _ in f.namedparams()] == ["/W", "/b"]
    assert L.Linear(3, 2, nobias=True).b is None
    assert [n for n, _ in L.Linear(3, 2, nobias=True).namedparams()] == ["/W"]


def test_linear_infers_input_size_at_first_call():
    f = L.Linear(None, 4)
    assert f.W.array is None
    y = f(np.ones((2, 7), dtype=np.float32))
    assert f.W.shape == (4, 7) and y.shape == (2, 4)
    assert L.Linear(5).out_size == 5


def test_chain_and_chainlist_register_children_in_order():
    class MLP(Chain):
        def __init__(self):
            super().__init__()
            with self.init_scope():
                self.l1 = L.Linear(4, 3)
                self.l2 = L.Linear(3, 2)
            self.not_registered = L.Linear(2, 2)

        def forward(self, x):
            return self.l2(F.relu(self.l1(x)))

    m = MLP()
    assert [n for n, _ in m.namedparams()] == ["/l1/W", "/l1/b", "/l2/W", "/l2/b"]
    assert m(np.ones((5, 4), np.float32)).shape == (5, 2)
    cl = ChainList(L.Linear(4, 3), L.Linear(3, 2))
    assert len(cl) == 2 and cl[1].W.shape == (2, 3)
    assert [n for n, _ in cl.namedparams()] == ["/0/W", "/0/b", "/1/W", "/1/b"]


def test_cleargrads_and_copy_share_arrays():
    m = L.Linear(3, 2)
    loss = F.sum(m(np.ones((2, 3), np.float32)))
    loss.backward()
    assert m.W.grad is not None
    c = m.copy()
    assert c.W is not m.W and c.W.array is m.W.array and c.W.grad is None
    deep = m.copy(mode="copy")
    assert deep.W.array is not m.W.array
    np.testing.assert_array_equal(deep.W.array, m.W.array)
    m.cleargrads()
    assert all(p.grad is None for p in m.params())


def test_to_device_cpu_round_trip_and_gpu_error_without_cupy():
    m = L.LSTM(3, 2)
    assert m.to_device("cpu") is m
    if chainer.backend.gpu_available():
        pytest.skip("a GPU is present: the no-CuPy error cannot be provoked here")
    with pytest.raises(RuntimeError, match="CuPy|CUDA"):
        m.to_device("gpu")


def test_lstm_link_state_forget_bias_and_reset():
    np.random.seed(1)
    lstm = L.LSTM(4, 3)
    np.testing.assert_array_equal(lstm.upward.b.array[3:6], 1.0)
    np.testing.assert_array_equal(lstm.upward.b.array[:3], 0.0)
    assert lstm.h is None and lstm.c is None
    x = np.random.randn(2, 4).astype(np.float32)
    h1 = lstm(x)
    # the first step: gates from the input only, c_prev = 0
    g = x @ lstm.upward.W.array.T + lstm.upward.b.array
    sig = lambda z: 1 / (1 + np.exp(-z))
    i, _, gg, o = sig(g[:, :3]), sig(g[:, 3:6]), np.tanh(g[:, 6:9]), sig(g[:, 9:])
    c = i * gg
    np.testing.assert_allclose(lstm.c.array, c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h1.array, o * np.tanh(c), rtol=1e-5, atol=1e-6)
    h2 = lstm(x)
    assert not np.allclose(h2.array, h1.array)  # the state changes the second step
    lstm.reset_state()
    np.testing.assert_allclose(lstm(x).array, h1.array, rtol=1e-6)


def test_rnn_link_is_elman():
    np.random.seed(2)
    rnn = L.RNN(3, 4)
    x1, x2 = np.random.randn(2, 2, 3).astype(np.float32)
    h1 = rnn(x1)
    h2 = rnn(x2)
    Wx, b, Wh = rnn.upward.W.array, rnn.upward.b.array, rnn.lateral.W.array
    e1 = np.tanh(x1 @ Wx.T + b)
    np.testing.assert_allclose(h1.array, e1, rtol=1e-5)
    np.testing.assert_allclose(h2.array, np.tanh(x2 @ Wx.T + e1 @ Wh.T + b), rtol=1e-5)


def test_cells_match_stateful_links():
    """The same weights run as an explicit-state cell and as a stateful link give the same outputs."""
    np.random.seed(3)
    link, cell = L.LSTM(3, 4), L.LSTMCell(3, 4)
    for (_, p), (_, q) in zip(link.namedparams(), cell.namedparams()):
        q.array[...] = p.array
    xs = np.random.randn(5, 2, 3).astype(np.float32)
    state = None
    for x in xs:
        state, y = cell(state, x)
        np.testing.assert_allclose(y.array, link(x).array, rtol=1e-6)
    rlink, rcell = L.RNN(3, 4), L.RNNCell(3, 4)
    for (_, p), (_, q) in zip(rlink.namedparams(), rcell.namedparams()):
        q.array[...] = p.array
    h = rcell.initial_state(2)
    for x in xs:
        h, y = rcell(h, x)
        np.testing.assert_allclose(y.array, rlink(x).array, rtol=1e-5, atol=1e-6)


def test_truncate_keeps_values_and_cuts_history():
    lstm = L.LSTM(2, 2)
    lstm(np.ones((1, 2), np.float32))
    h_before = lstm.h.array.copy()
    lstm.truncate()
    assert lstm.h.creator is None and lstm.c.creator is None
    np.testing.assert_array_equal(lstm.h.array, h_before)


class TutorialRNN(Chain):
    """The Chainer tutorial's RNN, with only the import changed."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(1000, 100)
            self.mid = L.LSTM(100, 50)
            self.out = L.Linear(50, 1000)

    def reset_state(self):
        self.mid.reset_state()

    def forward(self, cur_word):
        x = self.embed(cur_word)
        h = self.mid(x)
        y = self.out(h)
        return y


def test_tutorial_full_and_truncated_backprop_and_evaluation():
    np.random.seed(0)
    rnn = TutorialRNN()
    model = L.Classifier(rnn)
    optimizer = optimizers.SGD()
    optimizer.setup(model)
    x_list = [np.random.randint(0, 1000, size=4).astype(np.int32) for _ in range(65)]

    def compute_loss(x_list):
        loss = 0
        for cur_word, next_word in zip(x_list, x_list[1:]):
            loss += model(cur_word, next_word)
        return loss

    # full backprop
    rnn.reset_state()
    model.cleargrads()
    loss = compute_loss(x_list)
    loss.backward()
    W_before = rnn.out.W.array.copy()
    optimizer.update()
    assert not np.allclose(W_before, rnn.out.W.array)
    # the same through update(lossfun, *args)
    rnn.reset_state()
    optimizer.update(compute_loss, x_list)
    assert optimizer.t == 2
    del loss
    # truncated backprop every 30 steps
    import gc
    gc.collect()
    base = chainer.live_function_node_count()
    loss = 0
    count = 0
    seqlen = len(x_list[1:])
    rnn.reset_state()
    peak = 0
    for cur_word, next_word in zip(x_list, x_list[1:]):
        loss += model(cur_word, next_word)
        count += 1
        peak = max(peak, chainer.live_function_node_count())
        if count % 30 == 0 or count == seqlen:
            model.cleargrads()
            loss.backward()
            loss.unchain_backward()
            optimizer.update()
    gc.collect()
    # a window of 30 steps holds the history, never the whole 64-step sequence
    assert peak - base < 30 * 12
    assert chainer.live_function_node_count() - base <= 2
    # evaluation records no graph
    rnn.reset_state()
    with chainer.no_backprop_mode():
        before = chainer.live_function_node_count()
        ev = compute_loss(x_list)
        assert ev.creator is None
        assert chainer.live_function_node_count() == before
    assert np.isfinite(ev.array)


def test_classifier_stores_loss_and_accuracy():
    m = L.Classifier(L.Linear(3, 4))
    x = np.random.randn(6, 3).astype(np.float32)
    t = np.array([0, 1, 2, 3, 0, 1], np.int32)
    loss = m(x, t)
    assert m.loss is loss and m.y.shape == (6, 4)
    expected_acc = (m.y.array.argmax(1) == t).mean()
    assert float(m.accuracy.array) == pytest.approx(expected_acc)
    with pytest.raises(TypeError, match="Classifier"):
        m(x)


def test_rnnlm_shapes_and_bad_ids():
    lm = L.RNNLM(10, 4, 5)
    y = lm(np.array([1, 2, 3], np.int32))
    assert y.shape == (3, 10)
    with pytest.raises(ValueError, match=r"embed_id.*\[0, 10\)"):
        lm(np.array([1, 12], np.int32))
    with pytest.raises(ValueError, match="cell"):
        L.RNNLM(10, 4, 5, cell="lstmm")


def test_lstm_infers_its_input_size_at_the_first_call():
    """``in_size=None``: W_x is created from the first input, for the stateful layer and the cell,
    and the step then equals one with the size given up front and the same weights."""
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    lazy, cell = L.LSTM(None, 4), L.LSTMCell(None, 4)
    h = lazy(x)
    (h_cell, _), _ = cell(None, x)
    assert lazy.upward.W.shape == (16, 3) and cell.upward.W.shape == (16, 3)
    eager = L.LSTM(3, 4)
    for (_, mine), (_, theirs) in zip(sorted(eager.namedparams()), sorted(lazy.namedparams())):
        mine.array[...] = theirs.array
    np.testing.assert_allclose(eager(x).array, h.array, rtol=1e-6)
    assert h_cell.shape == (2, 4)
