"""The truncation experiment: can an LSTM trained with truncated BPTT recall a token ``lag`` steps back?

With ``bprop_len`` shorter than ``lag`` no gradient ever connects the output at step t with the
input at step t - lag, so the model cannot learn to keep it: accuracy stays near chance
(1 / vocab_size). With ``bprop_len`` comfortably longer it learns to recall.
"""
import numpy

from .. import functions as F
from .. import links as L
from ..links import Chain
from .. import optimizers
from ..core import no_backprop_mode
from ..datasets import recall_batch
from .bptt import check_bprop_len


def train_recall(lag, bprop_len, updates=400, vocab_size=4, hidden=32, batch_size=32, alpha=0.01,
                 seed=0, stream_length=None):
    """Train on one long recall stream with truncated BPTT; return ``(model, accuracy)``.

    Each update runs ``bprop_len`` steps of a stateful LSTM, back-propagates the summed loss,
    cuts the history (``unchain_backward``) and keeps the state, exactly like the LM trainer.
    Accuracy is measured afterwards on fresh sequences, with the state carried from step 0.
    """
    bprop_len = check_bprop_len(bprop_len, "train_recall")
    numpy.random.seed(seed)
    length = stream_length or updates * bprop_len + lag + 1
    xs, ts = recall_batch(batch_size, length, lag, vocab_size=vocab_size, seed=seed)
    model = L.RNNLM(vocab_size, hidden, hidden)  # embed -> LSTM -> linear over the alphabet
    opt = optimizers.Adam(alpha=alpha)
    opt.setup(model)
    opt.add_hook(optimizers.GradientClipping(5.0))
    model.reset_state()
    t = 0
    for _ in range(updates):
        if t + bprop_len > length:
            model.reset_state()
            t = 0
        loss = 0
        for k in range(t, t + bprop_len):
            loss += F.softmax_cross_entropy(model(xs[:, k]), ts[:, k])
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()
        opt.update()
        t += bprop_len
    return model, recall_accuracy(model, lag, vocab_size=vocab_size, seed=seed + 1)


def recall_accuracy(model, lag, vocab_size=4, length=60, batch_size=64, seed=1):
    """Fraction of steps t >= lag at which the model's arg-max equals the token from step t - lag."""
    xs, ts = recall_batch(batch_size, length, lag, vocab_size=vocab_size, seed=seed)
    model.reset_state()
    correct = total = 0
    with no_backprop_mode():
        for k in range(length):
            y = model(xs[:, k]).array
            if k >= lag:
                correct += int((y.argmax(axis=1) == ts[:, k]).sum())
                total += batch_size
    return correct / total


# -- gated cells on delayed recall (lesson 09) -----------------------------------------------------
# The experiment above asks what truncation costs; the one below asks what the cell can learn. It
# trains on fresh short sequences with full BPTT (no window to confound the comparison), one
# update per batch, and keeps the accuracy on held-out sequences as training goes.
CELLS = ("rnn", "gru", "lstm")


class RecallNet(Chain):
    """A token, one-hot -> a recurrent layer ``mid`` (``L.RNN``, ``L.GRU`` or ``L.LSTM``) -> ``out``,
    a linear map to the alphabet's scores. ``net(ids)`` runs one step for a batch of ids (B,), as
    ``L.RNNLM`` does (so the widgets can step it); ``net.sequence_scores(xs)`` runs whole
    sequences (B, T) and returns the scores of every step, (B * T, vocab), row b * T + t.

    No embedding: a one-hot input is a constant, so each step records only the recurrent layer's
    nodes, and the T outputs go through ``out`` in one product."""

    def __init__(self, cell="lstm", vocab_size=4, hidden=32, forget_bias=1.0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"RecallNet: cell must be one of {CELLS}, got {cell!r}")
        if cell != "lstm" and forget_bias != 1.0:
            raise ValueError(f"RecallNet: forget_bias is the LSTM's forget-gate bias; a {cell!r} "
                             f"has no forget gate (got forget_bias={forget_bias!r})")
        self.cell, self.vocab_size, self.hidden = cell, vocab_size, hidden
        with self.init_scope():
            if cell == "rnn":
                self.mid = L.RNN(vocab_size, hidden)
            elif cell == "gru":
                self.mid = L.GRU(vocab_size, hidden)
            else:
                self.mid = L.LSTM(vocab_size, hidden, forget_bias_init=forget_bias)
            self.out = L.Linear(hidden, vocab_size)

    def one_hot(self, ids):
        ids = numpy.asarray(getattr(ids, "array", ids))
        return self.out.xp.eye(self.vocab_size, dtype=numpy.float32)[ids]

    def reset_state(self):
        self.mid.reset_state()

    def forward(self, ids):
        return self.out(self.mid(self.one_hot(ids)))

    def sequence_scores(self, xs):
        B, T = xs.shape
        inputs = self.one_hot(xs)
        self.mid.reset_state()
        hs = [self.mid(inputs[:, t]) for t in range(T)]
        return self.out(F.reshape(F.concat(hs, axis=1), (B * T, self.hidden)))


def sequence_accuracy(net, lag, length=None, batch_size=256, vocab_size=None, seed=10 ** 6):
    """Fraction of steps t >= lag, over fresh sequences of ``length`` (default ``lag + 10``)
    started from a zero state, at which the arg-max of the scores is the token read at t - lag."""
    vocab_size = vocab_size or net.vocab_size
    xs, ts = recall_batch(batch_size, length or lag + 10, lag, vocab_size=vocab_size, seed=seed)
    with no_backprop_mode():
        guess = numpy.asarray(net.sequence_scores(xs).array).argmax(axis=1).reshape(xs.shape)
    counted = ts >= 0
    return float((guess[counted] == ts[counted]).mean())


def train_cell_on_recall(cell, lag, updates=300, forget_bias=1.0, vocab_size=4, hidden=32,
                         batch_size=32, extra=10, alpha=0.01, seed=0, every=None):
    """Train a fresh ``RecallNet(cell, ...)`` on delayed recall; return ``(net, history)``.

    Each update draws a new batch of sequences of ``lag + extra`` tokens, runs them from a zero
    state, averages the loss over the ``extra`` steps that have a target (t >= lag), back-propagates
    through every step (full BPTT) and takes one Adam step (``alpha``, gradients clipped at norm 5).
    ``history``: ``[(updates done, accuracy on 256 held-out sequences)]`` every ``every`` updates
    and at the end. ``seed`` fixes the initialisation, the training batches and the held-out set.

    The matrices are small, so NumPy's BLAS runs on one thread here (several threads only wait for
    each other, many times slower on a busy machine)."""
    from threadpoolctl import threadpool_limits

    if cell not in CELLS:
        raise ValueError(f"train_cell_on_recall: cell must be one of {CELLS}, got {cell!r}")
    for name, value, low in (("lag", lag, 1), ("updates", updates, 1), ("extra", extra, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < low:
            raise ValueError(f"train_cell_on_recall: {name} must be an integer >= {low}, got {value!r}")
    numpy.random.seed(seed)
    net = RecallNet(cell, vocab_size, hidden, forget_bias)
    opt = optimizers.Adam(alpha=alpha)
    opt.setup(net)
    opt.add_hook(optimizers.GradientClipping(5.0))
    draw = numpy.random.default_rng(seed)
    held_out = 10 ** 6 + seed
    history = []
    with threadpool_limits(limits=1):
        for done in range(1, updates + 1):
            xs, ts = recall_batch(batch_size, lag + extra, lag, vocab_size=vocab_size,
                                  seed=int(draw.integers(2 ** 31)))
            loss = F.softmax_cross_entropy(net.sequence_scores(xs), ts.reshape(-1))
            net.cleargrads()
            loss.backward()
            opt.update()
            if (every and done % every == 0) or done == updates:
                history.append((done, sequence_accuracy(net, lag, lag + extra, seed=held_out)))
    return net, history
