"""Truncated back-propagation through time: the tutorial's BPTT updater.

One update reads ``bprop_len`` batches from the iterator, sums their losses, back-propagates,
cuts the history with ``loss.unchain_backward()`` (the state keeps its value) and updates.
"""
import numpy

from ..core import backend
from ..iterators import concat_examples


def check_bprop_len(bprop_len, where):
    if isinstance(bprop_len, bool) or not isinstance(bprop_len, (int, numpy.integer)) or bprop_len < 1:
        raise ValueError(f"{where}: bprop_len must be a positive integer (how many steps to "
                         f"back-propagate through), got {bprop_len!r}")
    return int(bprop_len)


class BPTTUpdater:
    """``update()`` does one truncated-BPTT window and returns its mean loss per step."""

    def __init__(self, train_iter, optimizer, bprop_len, device="cpu"):
        self.train_iter = train_iter
        self.optimizer = optimizer
        self.bprop_len = check_bprop_len(bprop_len, "BPTTUpdater")
        self.device = device
        self.iteration = 0

    def update(self):
        model = self.optimizer.target
        loss = 0
        for _ in range(self.bprop_len):
            x, t = concat_examples(next(self.train_iter))
            if self.device == "gpu":
                x, t = backend.to_device(x, "gpu"), backend.to_device(t, "gpu")
            loss += model(x, t)
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()  # forget the history, keep the state
        self.optimizer.update()
        self.iteration += 1
        return float(loss.array) / self.bprop_len
