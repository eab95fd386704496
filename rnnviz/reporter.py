"""Reporting values while training runs: ``report``, ``Reporter`` and summaries (Chainer's names).

A link calls ``report({'loss': loss}, self)``; inside a ``Reporter`` that knows the link as
``'main'`` the value lands in the current observation as ``'main/loss'``. Outside any reporter a
report costs one check and does nothing, so models may report unconditionally.

    observation = {}
    with reporter.scope(observation):     # the Trainer does this once per iteration
        model(x, t)                       # Classifier reports loss and accuracy
    observation  ->  {'main/loss': ..., 'main/accuracy': ...}
"""
import contextlib
import math
import threading

import numpy

_state = threading.local()


def _stack():
    stack = getattr(_state, "reporters", None)
    if stack is None:
        stack = _state.reporters = []
    return stack


def get_current_reporter():
    """The innermost active Reporter, or None."""
    stack = _stack()
    return stack[-1] if stack else None


class Reporter:
    """Names observers (links) and collects what they report into ``observation``."""

    def __init__(self):
        self._observer_names = {}
        self.observation = {}

    def add_observer(self, name, observer):
        """Reports from ``observer`` get keys ``'name/key'``."""
        self._observer_names[id(observer)] = name

    def add_observers(self, prefix, observers):
        """Register ``(name, observer)`` pairs as ``prefix + name``, e.g. a link's ``namedlinks()``."""
        for name, observer in observers:
            self._observer_names[id(observer)] = prefix + name

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        _stack().pop()

    @contextlib.contextmanager
    def scope(self, observation):
        """Within the block, reports go into the dict ``observation``."""
        old = self.observation
        self.observation = observation
        self.__enter__()
        try:
            yield
        finally:
            self.__exit__()
            self.observation = old

    def report(self, values, observer=None):
        """Store ``values`` (a dict) in the observation; keys get the observer's name as prefix."""
        if observer is not None:
            name = self._observer_names.get(id(observer))
            if name is None:
                raise KeyError(f"report: the observer {type(observer).__name__} is not registered "
                               "with the current reporter (add_observer(name, observer))")
            values = {f"{name}/{key}": value for key, value in values.items()}
        self.observation.update(values)


def report(values, observer=None):
    """Report ``values`` to the current reporter; do nothing when none is active.

    An observer the reporter does not know is skipped silently (a link used outside the trainer's
    model, e.g. an evaluation copy, reports nothing rather than failing).
    """
    stack = _stack()
    if not stack:
        return
    current = stack[-1]
    if observer is not None and id(observer) not in current._observer_names:
        return
    current.report(values, observer)


@contextlib.contextmanager
def report_scope(observation):
    """Collect reports into ``observation`` within the block, using the current reporter."""
    current = get_current_reporter()
    if current is None:
        with Reporter().scope(observation):
            yield
    else:
        with current.scope(observation):
            yield


def _to_float(value):
    value = getattr(value, "array", value)
    if hasattr(value, "get"):  # CuPy
        value = value.get()
    return float(value)


class Summary:
    """Running mean and standard deviation of one reported quantity."""

    def __init__(self):
        self._x = 0.0
        self._x2 = 0.0
        self._n = 0

    def add(self, value, weight=1):
        value = _to_float(value)
        self._x += weight * value
        self._x2 += weight * value * value
        self._n += weight

    def compute_mean(self):
        return self._x / self._n

    def make_statistics(self):
        """(mean, standard deviation)."""
        mean = self._x / self._n
        var = max(self._x2 / self._n - mean * mean, 0.0)
        return mean, math.sqrt(var)

    def serialize(self, serializer):
        self._x = float(serializer("_x", self._x))
        self._x2 = float(serializer("_x2", self._x2))
        self._n = int(serializer("_n", self._n))


class DictSummary:
    """A Summary per key of the observations added; non-numbers are skipped."""

    def __init__(self):
        self._summaries = {}

    def add(self, observation):
        for key, value in observation.items():
            if isinstance(value, (bool, str)) or value is None:
                continue
            try:
                self._summaries.setdefault(key, Summary()).add(value)
            except (TypeError, ValueError):  # arrays of several elements are not summarised
                continue

    def compute_mean(self):
        return {key: s.compute_mean() for key, s in self._summaries.items()}

    def make_statistics(self):
        stats = {}
        for key, s in self._summaries.items():
            mean, std = s.make_statistics()
            stats[key] = mean
            stats[key + ".std"] = std
        return stats

    def serialize(self, serializer):
        """Four fixed entries (names and the sums), so that a strict load sees the same keys."""
        loading = getattr(serializer, "loading", False)
        names = sorted(self._summaries)
        stored = [serializer(key, None if loading else numpy.asarray(values, dtype=dtype))
                  for key, values, dtype in (
                      ("names", names, numpy.str_),
                      ("sums", [self._summaries[n]._x for n in names], numpy.float64),
                      ("square_sums", [self._summaries[n]._x2 for n in names], numpy.float64),
                      ("counts", [self._summaries[n]._n for n in names], numpy.int64))]
        if loading and stored[0] is not None:
            self._summaries = {}
            for name, x, x2, n in zip(*(numpy.asarray(a).ravel().tolist() for a in stored)):
                s = self._summaries[str(name)] = Summary()
                s._x, s._x2, s._n = float(x), float(x2), int(n)
