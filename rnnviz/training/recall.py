"""The truncation experiment: can an LSTM trained with truncated BPTT recall a token ``lag`` steps back?

With ``bprop_len`` shorter than ``lag`` no gradient ever connects the output at step t with the
input at step t - lag, so the model cannot learn to keep it: accuracy stays near chance
(1 / vocab_size). With ``bprop_len`` comfortably longer it learns to recall.
"""
import numpy

from .. import functions as F
from .. import links as L
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
