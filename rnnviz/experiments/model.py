"""A learner's model and data, checked and seen through one interface (``StepModel``)."""
import contextlib

import numpy

from .. import functions as F
from .. import links as L
from ..core import Variable
from ..training import bptt
from .demo import demo_data, demo_model


class InputError(ValueError):
    """Bad input to an experiment; a widget shows its message instead of a traceback."""


def find_recurrent(model):
    """The first stateful recurrent link (``L.LSTM`` / ``L.GRU`` / ``L.RNN``) in the model, or None."""
    if not hasattr(model, "links"):
        return None
    for link in model.links():
        if isinstance(link, (L.LSTM, L.GRU, L.RNN)):
            return link
    return None


def recurrent_depth(model, recurrent):
    """How deep the recurrent link sits in the scope paths ('Classifier/predictor/mid' -> 3)."""
    for path, link in model.namedlinks():
        if link is recurrent:
            return 1 + len([p for p in path.split("/") if p])
    return None


class StepModel:
    """One interface over a Classifier or a predictor: ``reset()``, ``loss(x, t)``, ``predict(x)``."""

    def __init__(self, model, lossfun=None, who="widget"):
        if model is None or not callable(model):
            raise InputError(f"{who}: expected a model (an rnnviz link), got {type(model).__name__}")
        self.model = model
        self.who = who
        self.classifier = isinstance(model, L.Classifier)
        self.predictor = model.predictor if self.classifier else model
        self.lossfun = lossfun or (model.lossfun if self.classifier else F.softmax_cross_entropy)
        self.recurrent = find_recurrent(model)
        self.depth = None if self.recurrent is None else recurrent_depth(model, self.recurrent)
        if self.recurrent is None:
            raise InputError(
                f"{who}: this model has no stateful recurrent link (L.LSTM, L.GRU or L.RNN), so there is no "
                f"hidden state moving through time to show. Build the model with L.LSTM, L.GRU or L.RNN "
                f"(explicit-state cells: use rnnviz.widgets.GraphView with rnnviz.graph.time_step).")

    def reset(self):
        if hasattr(self.model, "reset_state"):
            self.model.reset_state()
        self.recurrent.reset_state()

    def loss(self, x, t, step=None):
        if self.classifier and self.lossfun is self.model.lossfun:
            loss = self.model(x, t)
        else:
            loss = self.lossfun(self.predictor(x), t)
        if not isinstance(loss, Variable):
            raise InputError(f"{self.who}: the loss must be a Variable, got {type(loss).__name__}")
        if loss.array.ndim != 0:
            raise InputError(
                f"{self.who}: the loss at step {step} has shape {tuple(loss.shape)}, not a single "
                f"value (a 0-d array); the measurements need a scalar loss (reduce it, e.g. F.mean or reduce='mean')")
        return loss

    def predict(self, x):
        return self.predictor(x)


def model_and_data(model, xs, ts, lossfun, who, n_steps=12):
    """(StepModel, xs, ts) for a widget: the learner's model and data, checked, or the built-in
    demo (its model on ``n_steps`` words) when no model is given."""
    if model is None:
        given = [name for name, v in (("xs", xs), ("ts", ts), ("lossfun", lossfun)) if v is not None]
        if given:
            raise InputError(data_without_model(who, given))
        model = demo_model()
        xs, ts, _ = demo_data(n_steps)
    if lossfun is not None and not callable(lossfun):
        raise InputError(f"{who}: lossfun must be a function such as F.softmax_cross_entropy, got "
                         f"{type(lossfun).__name__}")
    sm = StepModel(model, lossfun, who=who)
    xs, ts = check_data(xs, ts, who=who)
    return sm, xs, ts


def data_without_model(who, given):
    """The message for data given with no model (the widget would otherwise show the demo)."""
    return (f"{who}: {' and '.join(given)} given without a model; the built-in demo cannot use them. "
            f"Pass your model too: {who}(model, xs, ...), or nothing at all for the demo")


def check_bprop_len(bprop_len, who):
    """The trainers' check of ``bprop_len`` (one rule, one message: ``training.bptt``), raised as
    an InputError so that a widget shows it."""
    try:
        return bptt.check_bprop_len(bprop_len, who)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def check_count(who, name, value, low=1):
    """An int >= ``low`` for a widget argument, else an InputError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < low:
        raise InputError(f"{who}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def check_data(xs, ts=None, who="widget", need_targets=True):
    """xs (T,) or (T, B) int word ids; ts likewise, or the next words of xs when None."""
    if xs is None:
        raise InputError(f"{who}: give the input word ids xs (and targets ts) with the model")
    xs = numpy.asarray(xs)
    if xs.dtype.kind not in "iu":
        raise InputError(f"{who}: xs must hold integer word ids, got dtype {xs.dtype}")
    if xs.ndim == 1:
        xs = xs.reshape(-1, 1)
    if xs.ndim != 2 or xs.shape[0] < 2:
        raise InputError(f"{who}: xs must have shape (T,) or (T, batch) with T >= 2, got {xs.shape}")
    xs = xs.astype(numpy.int32)
    if ts is None:
        if not need_targets:
            return xs, None
        ts = xs[1:]
        xs = xs[:-1]
    else:
        ts = numpy.asarray(ts)
        if ts.ndim == 1:
            ts = ts.reshape(-1, 1)
        if ts.shape != xs.shape:
            raise InputError(f"{who}: ts must have the shape of xs {xs.shape}, got {ts.shape}")
        if ts.dtype.kind not in "iu":
            raise InputError(f"{who}: ts must hold integer word ids, got dtype {ts.dtype}")
        ts = ts.astype(numpy.int32)
    return xs, ts


@contextlib.contextmanager
def scaled_lateral(recurrent, scale):
    """Multiply the recurrent (lateral) weight W_h by ``scale`` inside the block, restore after."""
    W = recurrent.lateral.W
    saved = W.array.copy()
    W.array = saved * W.array.dtype.type(scale)
    try:
        yield
    finally:
        W.array = saved
