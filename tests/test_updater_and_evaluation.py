"""What the truncated-BPTT updater and the perplexity evaluation must do, each pinned directly:
the logged loss is the mean per step, the history is cut, gradients are cleared before backward,
and evaluation starts from a reset state even for a model that keeps its state itself."""
import math

import numpy as np

import rnnviz
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import optimizers
from rnnviz.iterators import ParallelSequentialIterator
from rnnviz.training import BPTTUpdater, evaluate_perplexity

V = 12


class Recording(rnnviz.Chain):
    """A Classifier that writes down every step's loss, so the test knows the window's losses."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.inner = L.Classifier(L.RNNLM(V, 6, 5))
        self.seen = []

    def forward(self, x, t):
        loss = self.inner(x, t)
        self.seen.append(float(loss.array))
        return loss


def _updater(model, bprop_len=4, lr=0.1):
    words = (np.arange(300) * 7 % V).astype(np.int32)
    opt = optimizers.SGD(lr=lr)
    opt.setup(model)
    return BPTTUpdater(ParallelSequentialIterator(words, 3), opt, bprop_len)


def test_updater_returns_the_mean_loss_per_step_not_the_sum():
    np.random.seed(0)
    model = Recording()
    updater = _updater(model, bprop_len=4)
    for _ in range(2):
        model.seen.clear()
        reported = updater.update()
        assert len(model.seen) == 4
        assert abs(reported - np.mean(model.seen)) < 1e-5
        assert abs(reported - sum(model.seen)) > 1.0     # the sum is four times as large


def test_updater_cuts_the_history_of_each_window():
    np.random.seed(1)
    model = Recording()
    updater = _updater(model)
    updater.update()       # the first window makes the state
    before = rnnviz.live_function_node_count()
    updater.update()
    state = model.inner.predictor.mid
    assert state.h.creator is None and state.c.creator is None and state.h.unchained
    assert rnnviz.live_function_node_count() == before     # nothing of the window is still held


def test_updater_clears_the_gradients_before_backward():
    """Whatever .grad held before (a previous window's gradient, or garbage), the update uses
    only this window's gradient."""
    np.random.seed(2)
    model = Recording()
    updater = _updater(model)
    for p in model.params():
        p.grad = np.full_like(p.array, np.nan)
    updater.update()
    for name, p in model.namedparams():
        assert np.isfinite(p.array).all(), name


class SelfStateful(rnnviz.Chain):
    """A language model that keeps its hidden state itself (an explicit-state cell and its own
    ``h``), with ``reset_state()``: ``Link.copy`` carries ``h`` over, so only the evaluation's
    own reset makes it start from zeros."""

    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(V, 6)
            self.cell = L.RNNCell(6, 5)
            self.out = L.Linear(5, V)
        self.h = None

    def reset_state(self):
        self.h = None

    def forward(self, x, t):
        self.h, y = self.cell(self.h, self.embed(x))
        return F.softmax_cross_entropy(self.out(y), t)


def test_evaluation_resets_a_model_that_keeps_its_own_state():
    np.random.seed(3)
    model = SelfStateful()
    words = (np.arange(120) * 5 % V).astype(np.int32)
    fresh = evaluate_perplexity(model, words, batch_size=4)
    with rnnviz.no_backprop_mode():
        for k in range(6):    # leave a state behind, of the batch size evaluation will use
            model(np.full(4, k % V, np.int32), np.full(4, (k + 1) % V, np.int32))
    assert model.h is not None and np.abs(model.h.array).sum() > 0
    assert model.copy().h is model.h   # the copy keeps it: the reset is the evaluation's own
    assert math.isclose(evaluate_perplexity(model, words, batch_size=4), fresh, rel_tol=1e-6)
