"""Truncated back-propagation through time: the tutorial's BPTT updater.

One update reads ``bprop_len`` batches from the iterator, sums their losses, back-propagates,
cuts the history with ``loss.unchain_backward()`` (the state keeps its value) and updates.
"""
import numpy

from ..dataset.convert import concat_examples
from .updaters import StandardUpdater


def check_bprop_len(bprop_len, where):
    if isinstance(bprop_len, bool) or not isinstance(bprop_len, (int, numpy.integer)) or bprop_len < 1:
        raise ValueError(f"{where}: bprop_len must be a positive integer (how many steps to "
                         f"back-propagate through), got {bprop_len!r}")
    return int(bprop_len)


class BPTTUpdater(StandardUpdater):
    """A StandardUpdater whose iteration is one truncated-BPTT window (seed 003's pattern).

    ``update()`` reads ``bprop_len`` batches, back-propagates the summed loss, unchains it and
    updates; it returns the window's mean loss per step. Usable alone (``LMTrainer`` drives it)
    or under ``training.Trainer``.
    """

    def __init__(self, train_iter, optimizer, bprop_len, device="cpu", converter=concat_examples):
        bprop_len = check_bprop_len(bprop_len, "BPTTUpdater")
        super().__init__(train_iter, optimizer, converter=converter, device=device)
        self.bprop_len = bprop_len

    @property
    def train_iter(self):
        return self.get_iterator("main")

    @property
    def optimizer(self):
        return self.get_optimizer("main")

    def update_core(self):
        train_iter = self.get_iterator("main")
        optimizer = self.get_optimizer("main")
        model = optimizer.target
        loss = 0
        for _ in range(self.bprop_len):
            x, t = self.converter(next(train_iter), self.device)
            loss += model(x, t)
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()  # forget the history, keep the state
        optimizer.update()
        return float(loss.array) / self.bprop_len
