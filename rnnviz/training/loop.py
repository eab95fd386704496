"""Trainer: the training loop with extensions, as in Chainer's ``training.Trainer``.

    trainer = training.Trainer(updater, (10, 'epoch'), out='result')
    trainer.extend(extensions.LogReport())
    trainer.run()

Each iteration: a fresh ``observation`` dict becomes the reporter's target, the updater updates
(the model reports its loss into the observation), then every extension whose trigger fires is
called, writers before readers. ``serialize`` saves the updater (iterator, optimizer, iteration),
every extension's state and NumPy's global random state (dropout's masks), so ``snapshot`` files
resume a run where it stopped.
"""
import os
import time

from .. import reporter as reporter_module
from .extension import PRIORITY_READER
from .triggers import StopTrigger, get_trigger


class _Entry:
    def __init__(self, extension, priority, trigger):
        self.extension = extension
        self.priority = priority
        self.trigger = trigger


class Trainer:
    """``Trainer(updater, stop_trigger=None, out='result', extensions=None)``

    ``stop_trigger`` is ``(n, 'epoch' | 'iteration')`` (stop once n are done) or a callable;
    None trains until stopped. ``out`` is the folder extensions write into.
    """

    def __init__(self, updater, stop_trigger=None, out="result", extensions=None):
        self.updater = updater
        if stop_trigger is None or callable(stop_trigger):
            self.stop_trigger = stop_trigger or (lambda trainer: False)
        else:
            try:
                length, unit = stop_trigger
            except (TypeError, ValueError):
                raise TypeError(f"Trainer: stop_trigger must be (n, 'epoch' | 'iteration') or a "
                                f"callable, got {stop_trigger!r}") from None
            self.stop_trigger = StopTrigger(length, unit)
        self.out = os.fspath(out)
        self.observation = {}
        self.reporter = reporter_module.Reporter()
        for name, optimizer in updater.get_all_optimizers().items():
            self.reporter.add_observer(name, optimizer.target)
            self.reporter.add_observers(name, optimizer.target.namedlinks(skipself=True))
        self._extensions = {}
        self._start_at = None
        self._snapshot_elapsed_time = 0.0
        self._done = False
        if hasattr(updater, "connect_trainer"):
            updater.connect_trainer(self)
        for ext in extensions or ():
            self.extend(ext)

    @property
    def elapsed_time(self):
        """Seconds spent in ``run`` (over all runs, resumed ones included)."""
        if self._start_at is None:
            return self._snapshot_elapsed_time
        return time.perf_counter() - self._start_at + self._snapshot_elapsed_time

    def extend(self, extension, name=None, trigger=None, priority=None):
        """Add an extension; ``trigger`` and ``priority`` default to the extension's own."""
        if name is None:
            name = getattr(extension, "name", None) or getattr(extension, "default_name", None) \
                or getattr(extension, "__name__", None) or type(extension).__name__
        if name == "training":
            raise ValueError("Trainer.extend: the name 'training' is reserved")
        base, k = name, 1
        while name in self._extensions:
            k += 1
            name = f"{base}_{k}"
        if trigger is None:
            trigger = getattr(extension, "trigger", (1, "iteration"))
        if priority is None:
            priority = getattr(extension, "priority", PRIORITY_READER)
        try:
            extension.name = name
        except AttributeError:
            pass
        self._extensions[name] = _Entry(extension, priority, get_trigger(trigger))

    def get_extension(self, name):
        """The extension registered as ``name``."""
        if name not in self._extensions:
            raise ValueError(f"Trainer.get_extension: no extension named {name!r}; "
                             f"there are {sorted(self._extensions)}")
        return self._extensions[name].extension

    def _ordered(self):
        return sorted(self._extensions.items(), key=lambda item: -item[1].priority)  # stable

    def run(self):
        """Train until the stop trigger fires. Extensions are finalized however the loop ends."""
        if self._done:
            raise RuntimeError("Trainer.run: this trainer has already finished; make a new one "
                               "(or load a snapshot into a new one to continue)")
        os.makedirs(self.out, exist_ok=True)
        entries = self._ordered()
        for _, entry in entries:
            initialize = getattr(entry.extension, "initialize", None)
            if initialize is not None:
                initialize(self)
        self._start_at = time.perf_counter()
        update = self.updater.update
        try:
            while not self.stop_trigger(self):
                self.observation = {}
                with self.reporter.scope(self.observation):
                    update()
                    for _, entry in entries:
                        if entry.trigger(self):
                            entry.extension(self)
        finally:
            for _, entry in entries:
                finalize = getattr(entry.extension, "finalize", None)
                if finalize is not None:
                    finalize()
            self.updater.finalize()
            self._snapshot_elapsed_time = self.elapsed_time
            self._start_at = None
        self._done = True

    def serialize(self, serializer):
        self.updater.serialize(serializer["updater"])
        if hasattr(self.stop_trigger, "serialize"):
            self.stop_trigger.serialize(serializer["stop_trigger"])
        ext_serializer = serializer["extensions"]
        for name, entry in self._extensions.items():
            if hasattr(entry.extension, "serialize"):
                entry.extension.serialize(ext_serializer[name])
            if hasattr(entry.trigger, "serialize"):
                entry.trigger.serialize(ext_serializer[name + "/trigger"])
        elapsed = serializer("_snapshot_elapsed_time", self.elapsed_time)
        if getattr(serializer, "loading", False):
            self._snapshot_elapsed_time = float(elapsed)
        # NumPy's global random state, which dropout draws from: a resumed run draws the same masks
        # (Chainer's snapshots leave it out; a snapshot without it loads as before)
        from .trainer import serialize_random_state
        serialize_random_state(serializer["random"])
