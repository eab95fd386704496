"""StandardUpdater: one batch, one loss, one optimizer step per iteration (Chainer's names).

Subclasses change what one iteration does by overriding ``update_core`` (the BPTT updater reads
``bprop_len`` batches there). ``update()`` wraps it: it keeps the counters the trainer's triggers
read (``iteration``, ``epoch_detail`` and the value before the last update).
"""
import numpy

from ...core import backend
from ...dataset.convert import concat_examples, device_name


class Updater:
    """The interface the Trainer drives: ``update()``, the counters, ``serialize``, ``finalize``."""

    iteration = 0

    def connect_trainer(self, trainer):
        """Called by the Trainer it is given to."""

    def update(self):
        raise NotImplementedError

    def finalize(self):
        """Release resources when training ends."""

    def serialize(self, serializer):
        raise NotImplementedError


class StandardUpdater(Updater):
    """``StandardUpdater(iterator, optimizer, converter=concat_examples, device=None, loss_func=None)``

    ``iterator`` and ``optimizer`` are one object each (named ``'main'``) or dicts of them.
    One iteration: ``batch = next(iterator)``, ``arrays = converter(batch, device)``, then
    ``optimizer.update(loss_func or optimizer.target, *arrays)``. ``device`` ``'gpu'`` (or a
    GPU number) moves the optimizers' targets to the GPU here and every batch there.
    """

    def __init__(self, iterator, optimizer, converter=concat_examples, device=None, loss_func=None):
        self._iterators = dict(iterator) if isinstance(iterator, dict) else {"main": iterator}
        self._optimizers = dict(optimizer) if isinstance(optimizer, dict) else {"main": optimizer}
        if "main" not in self._iterators or "main" not in self._optimizers:
            raise ValueError("StandardUpdater: the dicts of iterators and optimizers need a 'main' entry")
        for name, opt in self._optimizers.items():
            if getattr(opt, "target", None) is None:
                raise ValueError(f"StandardUpdater: optimizer {name!r} has no target; "
                                 "call optimizer.setup(model) first")
        self.converter = converter
        self.device = device
        self.loss_func = loss_func
        self.iteration = 0
        self._previous_epoch_detail = None
        if device_name(device, "StandardUpdater") == "gpu":
            for opt in self._optimizers.values():
                opt.target.to_device("gpu")

    # -- what a subclass reads --------------------------------------------------------------
    def get_iterator(self, name):
        return self._iterators[name]

    def get_optimizer(self, name):
        return self._optimizers[name]

    def get_all_optimizers(self):
        return dict(self._optimizers)

    # -- the counters the triggers read ----------------------------------------------------------
    @property
    def epoch(self):
        return self._iterators["main"].epoch

    @property
    def epoch_detail(self):
        return self._iterators["main"].epoch_detail

    @property
    def previous_epoch_detail(self):
        """``epoch_detail`` before the latest update (None before the first one)."""
        return self._previous_epoch_detail

    @property
    def is_new_epoch(self):
        return self._iterators["main"].is_new_epoch

    # -- one iteration -------------------------------------------------------------------------
    def update(self):
        """One iteration: ``update_core()``, then count it. Returns what update_core returns."""
        self._previous_epoch_detail = self.epoch_detail
        result = self.update_core()
        self.iteration += 1
        return result

    def update_core(self):
        iterator = self._iterators["main"]
        optimizer = self._optimizers["main"]
        arrays = self.converter(next(iterator), self.device)
        loss_func = self.loss_func or optimizer.target
        if isinstance(arrays, tuple):
            optimizer.update(loss_func, *arrays)
        elif isinstance(arrays, dict):
            optimizer.update(loss_func, **arrays)
        else:
            optimizer.update(loss_func, arrays)
        if iterator.is_new_epoch:
            optimizer.new_epoch()

    def finalize(self):
        for iterator in self._iterators.values():
            if hasattr(iterator, "finalize"):
                iterator.finalize()

    # -- saving -----------------------------------------------------------------------------------
    def serialize(self, serializer):
        """Iterators, models, optimizers, the iteration count, and the recurrent links' state, so that a
        resumed truncated-BPTT run carries the same hidden state (Chainer drops it)."""
        for name, iterator in self._iterators.items():
            iterator.serialize(serializer["iterator:" + name])
        for name, optimizer in self._optimizers.items():
            optimizer.target.serialize(serializer["model:" + name])
            optimizer.serialize(serializer["optimizer:" + name])
            _serialize_recurrent_state(optimizer.target, serializer["state:" + name])
        self.iteration = int(serializer("iteration", self.iteration))
        if getattr(serializer, "loading", False):
            self._previous_epoch_detail = None


def _serialize_recurrent_state(model, serializer):
    """Save the state of every stateful link below ``model`` (``h``, ``c``); on loading, set it.

    A state not yet made is saved as an empty array, so that every file has the same entries
    (a strict load of a snapshot taken mid-run into a fresh trainer finds them all).
    """
    from ...core import Variable

    loading = getattr(serializer, "loading", False)
    for path, link in model.namedlinks():
        names = getattr(link, "state_names", None)
        if not names or not hasattr(link, "set_state"):
            continue
        sub = serializer[path.strip("/").replace("/", "__") or "root"]
        for name in names:
            v = getattr(link, name)
            if loading:
                stored = sub(name, None)
                if stored is None:  # a check pass: nothing changes
                    continue
                if stored.size == 0:
                    link.set_state(**{name: None})
                else:
                    device = "cpu" if link.xp is numpy else "gpu"
                    link.set_state(**{name: Variable(backend.to_device(stored, device))})
            else:
                sub(name, numpy.zeros(0, numpy.float32) if v is None else v.array)
