"""The optimizer base: setup, hooks, update, state saving.

Gradients are never modified in place (arrays may be shared inside the graph); parameters are.
Hyperparameters are checked when an optimizer is built (PyTorch's rule: a negative learning rate
is a ValueError). A NaN or infinite gradient is a FloatingPointError before any weight changes.
"""
import numpy

from ..core import backend, lazy
from ._checks import Hyperparameter


def raise_nonfinite_gradient(optimizer, where):
    """Raise a FloatingPointError naming the first parameter whose gradient holds NaN or inf.

    Returns quietly when every gradient is finite (a sum of squares can overflow in float32).
    """
    for name, param in optimizer.target.namedparams(include_uninit=False):
        g = param.grad
        if g is None:
            continue
        xp = backend.get_array_module(g)
        if not bool(xp.isfinite(g).all()):
            bad = int((~xp.isfinite(g)).sum())
            kind = "NaN" if bool(xp.isnan(g).any()) else "inf"
            raise FloatingPointError(
                f"{where}: the gradient of parameter '{name}' holds {kind} ({bad} of {g.size} "
                f"values are not finite); no weight was changed. The loss probably overflowed: "
                f"lower the learning rate, clip gradients (GradientClipping), or look for log(0) "
                f"or a division by zero in the loss")


def _is_array(g):
    return isinstance(g, (numpy.ndarray, numpy.generic)) or backend.is_cupy_array(g)


def _finite_sum(g):
    """NaN when ``g`` holds NaN or inf, else a finite number (one pass over the array)."""
    return float(g.sum(dtype=numpy.float64)) if g.dtype.kind == "f" else 0.0


class Optimizer:
    """Updates the parameters of one link from their gradients.

    ``setup(link)``; ``update()`` uses the gradients already there; ``update(lossfun, *args)``
    clears them, computes the loss, back-propagates, then updates. ``t`` counts updates.
    """

    def __init__(self):
        self.target = None
        self.t = 0
        self.epoch = 0
        self._hooks = []
        self._states = {}

    def setup(self, link):
        """Optimize the parameters of ``link``; returns the optimizer."""
        from ..links import Link

        if not isinstance(link, Link):
            raise TypeError(f"{type(self).__name__}.setup: expected a Link (a model), got "
                            f"{type(link).__name__}")
        self.target = link
        self.t = 0
        self._states = {}
        return self

    def add_hook(self, hook, name=None):
        """Call ``hook(optimizer)`` before every update (WeightDecay, GradientClipping, ...)."""
        if isinstance(hook, type):
            raise TypeError(f"add_hook: got the class {hook.__name__}; pass an instance of it, e.g. "
                            f"add_hook({hook.__name__}(...)) with its setting")
        if not callable(hook):
            raise TypeError(f"add_hook: a hook must be callable, got {type(hook).__name__}")
        self._hooks.append((name or getattr(hook, "name", type(hook).__name__), hook))

    def remove_hook(self, name):
        """Remove the hook called ``name`` (its ``name`` attribute or the name given to add_hook)."""
        if not any(n == name for n, _ in self._hooks):
            raise KeyError(f"remove_hook: no hook named {name!r}; the hooks are "
                           f"{[n for n, _ in self._hooks]}")
        self._hooks = [(n, h) for n, h in self._hooks if n != name]

    def _require_target(self):
        if self.target is None:
            raise RuntimeError(f"{type(self).__name__}: call setup(link) before update()")

    def update(self, lossfun=None, *args, **kwargs):
        self._require_target()
        lazy.flush()   # a forward still queued (core/lazy.py) reads the weights before they change
        if lossfun is not None:
            if not callable(lossfun):
                raise TypeError(f"{type(self).__name__}.update: lossfun must be callable (a function "
                                f"returning the loss), got {type(lossfun).__name__}")
            self.target.cleargrads()
            loss = lossfun(*args, **kwargs)
            if not callable(getattr(loss, "backward", None)):
                raise TypeError(f"{type(self).__name__}.update: lossfun must return the loss as a Variable "
                                f"(the result of F.softmax_cross_entropy, F.sum, ...), got "
                                f"{type(loss).__name__}; a number or an array has no graph to back-propagate")
            loss.backward()
            del loss
        self._check_gradients()
        self._finite_checked = False  # GradientClipping sets it: it has the norm anyway
        for _, hook in self._hooks:
            hook(self)
        if not self._finite_checked:
            self._check_finite()
        self.t += 1
        for name, param in self.target.namedparams(include_uninit=False):
            if param.grad is None:
                continue
            state = self._states.get(name)
            if state is None:
                state = self._states[name] = self.init_state(param)
            self.update_one(param, state)

    def _check_gradients(self):
        """Every gradient must be an array of its parameter's shape: NumPy would broadcast a
        (H,) gradient over a (B, H) weight (or a state built from it) without an error."""
        for param in self.target.params(include_uninit=False):
            g = param.grad
            if g is not None and (not _is_array(g) or g.shape != param.array.shape):
                self._bad_gradient(param)

    def _bad_gradient(self, bad):
        name = next(n for n, p in self.target.namedparams(include_uninit=False) if p is bad)
        g = bad.grad
        if not _is_array(g):
            hint = " (use its .array)" if hasattr(g, "array") else ""
            raise TypeError(f"{type(self).__name__}.update: the gradient of parameter '{name}' must be an "
                            f"array, got {type(g).__name__}{hint}")
        raise ValueError(f"{type(self).__name__}.update: the gradient of parameter '{name}' has shape "
                         f"{tuple(g.shape)} but the parameter has shape {tuple(bad.array.shape)}; no weight "
                         f"was changed")

    def _check_finite(self):
        """A NaN/inf gradient is an error before any weight changes (one sum per gradient)."""
        total = 0.0
        for param in self.target.params(include_uninit=False):
            if param.grad is not None:
                total += _finite_sum(param.grad)
        if total != total or total in (float("inf"), float("-inf")):
            raise_nonfinite_gradient(self, f"{type(self).__name__}.update")

    def new_epoch(self):
        self.epoch += 1

    # -- what subclasses write ------------------------------------------------------------------
    def init_state(self, param):
        """The per-parameter state (a dict of arrays) before the first update."""
        return {}

    def update_one(self, param, state):
        raise NotImplementedError

    # -- saving ------------------------------------------------------------------------------------
    def _check_stored_kind(self, checker):
        """First pass of a load: a file written after updates by an optimizer with per-parameter
        state holds that state for some parameter. None at all means another kind of optimizer
        (SGD's file into Adam would otherwise load silently and restart Adam's moments)."""
        stored_t = checker.peek("t")
        params = list(self.target.namedparams(include_uninit=False)) if self.target is not None else []
        if stored_t is None or not params or getattr(stored_t, "ndim", 0) != 0 or stored_t.dtype.kind not in "iuf" \
                or not stored_t.item() >= 1:
            return
        keys = sorted(self.init_state(params[0][1]))
        if keys and not any(checker[n.strip("/").replace("/", "__")].has(k) for n, _ in params for k in keys):
            checker.problem(f"the file holds no {type(self).__name__} state ({', '.join(keys)}) for any "
                            f"parameter after {int(stored_t)} updates: was it saved from another optimizer "
                            f"(e.g. SGD)?")

    def _check_stored_counts(self, checker):
        """First pass of a load: ``t`` and ``epoch`` must be whole numbers >= 0 (Adam's step size
        depends on ``t``; a float would be cut silently, a negative one would upset it)."""
        for key in ("t", "epoch"):
            stored = checker.peek(key)
            if stored is None or getattr(stored, "ndim", 0) != 0:
                continue  # missing or not one number: the checker reports it
            value = stored.item()
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                    or not float(value).is_integer():
                checker.problem(f"'{checker.prefix}{key}' must be a whole number >= 0 (updates "
                                f"done), but the file holds {value!r}")

    def serialize(self, serializer):
        if getattr(serializer, "checking", False):
            self._check_stored_counts(serializer)
            self._check_stored_kind(serializer)
        self.t = int(serializer("t", self.t))
        self.epoch = int(serializer("epoch", self.epoch))
        if getattr(serializer, "loading", False) and self.target is not None:
            # a parameter that never had a gradient has no state, in the file as in the optimizer
            for name, param in self.target.namedparams(include_uninit=False):
                if name not in self._states:
                    state = self.init_state(param)
                    sub = serializer[name.strip("/").replace("/", "__")]
                    if any(sub.has(key) for key in state):
                        self._states[name] = state
        for name, state in sorted(self._states.items()):
            sub = serializer[name.strip("/").replace("/", "__")]
            for key in sorted(state):
                state[key] = sub(key, state[key])


class SGD(Optimizer):
    """w <- w - lr * g"""

    lr = Hyperparameter(low=0, hint="the step size, e.g. 0.01 or 1.0")

    def __init__(self, lr=0.01):
        super().__init__()
        self.lr = lr

    def update_one(self, param, state):
        param.array -= self.lr * param.grad


class MomentumSGD(Optimizer):
    """v <- momentum * v - lr * g;  w <- w + v"""

    lr = Hyperparameter(low=0, hint="the step size, e.g. 0.01")
    momentum = Hyperparameter(low=0, high=1, high_open=True,
                              hint="the fraction of the last step kept, e.g. 0.9")

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__()
        self.lr = lr
        self.momentum = momentum

    def init_state(self, param):
        return {"v": backend.get_array_module(param.array).zeros_like(param.array)}

    def update_one(self, param, state):
        v = state["v"]
        v *= self.momentum
        v -= self.lr * param.grad
        param.array += v


class Adam(Optimizer):
    """m <- m + (1-b1)(g - m);  v <- v + (1-b2)(g^2 - v);
    w <- w - alpha * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)"""

    alpha = Hyperparameter(low=0, hint="the step size, e.g. 0.001")
    beta1 = Hyperparameter(low=0, high=1, high_open=True, hint="e.g. 0.9")
    beta2 = Hyperparameter(low=0, high=1, high_open=True, hint="e.g. 0.999")
    eps = Hyperparameter(low=0, low_open=True, hint="keeps the division finite, e.g. 1e-8")

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__()
        self.alpha, self.beta1, self.beta2, self.eps = alpha, beta1, beta2, eps

    def init_state(self, param):
        xp = backend.get_array_module(param.array)
        return {"m": xp.zeros_like(param.array), "v": xp.zeros_like(param.array)}

    @property
    def lr(self):
        t = max(self.t, 1)
        return self.alpha * numpy.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)

    def update_one(self, param, state):
        g = param.grad
        m, v = state["m"], state["v"]
        m += (1 - self.beta1) * (g - m)
        v += (1 - self.beta2) * (g * g - v)
        xp = backend.get_array_module(param.array)
        param.array -= (self.lr * m / (xp.sqrt(v) + self.eps)).astype(param.array.dtype, copy=False)
