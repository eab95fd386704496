"""Losses and evaluation."""
import numpy

from ..core import FunctionNode, Variable, apply1, backend, lazy
from ..core.deferred import rows_view
from ..core.function_node import pending_variable
from ._util import check_float, check_int
from .basic_math import Add, AddConstant
from .sequence import as_mask

lazy.wait_on_scalars(Add, AddConstant)   # loss += step_loss may wait for the window's losses


_ROWS = {}


def _row_index(xp, n):
    """arange(n), kept: the same batch size comes back every step."""
    key = (xp, n)        # the module itself: a CuPy stand-in is named "cupy" too
    rows = _ROWS.get(key)
    if rows is None:
        rows = _ROWS[key] = xp.arange(n)
    return rows


def _exp_and_picked(xp, x, t):
    """exp(z), its row sums and z[n, t_n], for z = x - (row maximum of x)."""
    z = x - x.max(axis=1, keepdims=True)
    picked = z[_row_index(xp, len(t)), t]
    e = xp.exp(z, out=z)
    return e, e.sum(axis=1), picked


class SoftmaxCrossEntropy(FunctionNode):
    """y = -mean_n log softmax(x_n)[t_n]   over the n with t_n != ignore_label;
    gx_n = gy * (softmax(x_n) - onehot(t_n)) / count

    Stable: log softmax is computed by log-sum-exp with the row maximum subtracted.
    With ``normalize=False`` (Chainer's) count is N, the batch size, instead of the labels that count.
    """

    def __init__(self, ignore_label=-1, reduce="mean", normalize=True):
        if reduce not in ("mean", "no"):
            raise ValueError(f"softmax_cross_entropy: reduce must be 'mean' or 'no' (as in Chainer), "
                             f"got {reduce!r}")
        self.ignore_label = ignore_label
        self.reduce = reduce
        self.normalize = normalize

    def check_inputs(self, x, t):
        check_float("softmax_cross_entropy", x)
        check_int("softmax_cross_entropy", t, "labels")
        if x.ndim != 2 or t.shape != (x.shape[0],):
            raise ValueError(f"softmax_cross_entropy: expected x of shape (N, classes) and t of shape (N,); "
                             f"got x {tuple(x.shape)} and t {tuple(t.shape)}")
        # the labels' range, once: ignored labels become 0 under a mask (kept for forward)
        mask = None
        lo, hi = (int(t.min()), int(t.max())) if len(t) else (0, 0)
        ignore = self.ignore_label
        if ignore is not None and lo <= ignore <= hi and bool((t == ignore).any()):
            mask = t != ignore
            t = self.xp.where(mask, t, 0)
            lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= x.shape[1]:
            bad = t[(t < 0) | (t >= x.shape[1])]
            raise ValueError(f"softmax_cross_entropy: labels must lie in [0, {x.shape[1]}) or equal "
                             f"ignore_label={self.ignore_label}; got {int(bad[0])}")
        self.labels = (t, mask)

    def forward(self, x, t):
        # log-sum-exp with the row maximum subtracted: z = x - max, loss_n = log sum exp z_n - z_n[t_n]
        e, s, picked = _exp_and_picked(self.xp, x, self.labels[0])
        return self._finish(e, s, picked, x.dtype)

    def _finish(self, e, s, picked, dtype):
        """The loss from exp(z), its row sums and z[n, t_n] (this node's rows)."""
        xp = self.xp
        t, mask = self.labels
        n = len(t)
        picked -= xp.log(s)               # log softmax(x_n)[t_n]
        if mask is not None:
            picked *= mask
        self.count = max(int(mask.sum()), 1) if mask is not None and self.normalize else max(n, 1)
        self.saved = (e, s, _row_index(xp, n), t, mask)
        if self.reduce == "mean":
            return xp.asarray(-picked.sum() / self.count, dtype=dtype)
        return -picked

    # -- for core/lazy.py: the losses of all steps in one pass over their rows -------------------
    may_wait = True

    def wait_spec(self, xs, pending):
        """(phase, [(the loss's shape, dtype)]) when x is a pending product (``Linear``), else None."""
        spec = pending.get(id(xs[0]))
        if spec is None or id(xs[1]) in pending or type(xs[1].array) is not numpy.ndarray:
            return None
        _, shape, dtype = spec
        self.check_inputs(lazy.stand_in(shape, dtype), xs[1].array)
        self.wait_rows = (shape[1], dtype)
        return lazy.LOSS, [(() if self.reduce == "mean" else (shape[0],), dtype)]

    def wait_key(self):
        return (self.ignore_label, self.reduce, self.normalize, self.wait_rows)

    @staticmethod
    def forward_many(nodes, inputs):
        """``forward`` of many nodes: max, exp and row sums over all their rows at once."""
        xs = [x for x, _ in inputs]
        x = rows_view(xs) if len(xs) > 1 else xs[0]
        if x is None:
            x = numpy.concatenate(xs)
        t = numpy.concatenate([node.labels[0] for node in nodes]) if len(nodes) > 1 else nodes[0].labels[0]
        e, s, picked = _exp_and_picked(numpy, x, t)
        group = _LossRows(e, s, t)
        out, lo = [], 0
        for node, xk in zip(nodes, xs):
            hi = lo + len(xk)
            out.append(node._finish(e[lo:hi], s[lo:hi], picked[lo:hi], xk.dtype))
            node.backward_group, node.rows = group, (lo, hi)
            lo = hi
        return out

    def _scale(self, gy):
        """c_n = dL/dloss_n, the factor of row n's gradient (0 for an ignored label)."""
        c = gy * (1.0 / self.count) if self.reduce == "mean" else gy
        if self.labels[1] is not None:
            c = c * self.labels[1]
        return c

    def backward(self, gy):
        e, s, rows, t, mask = self.saved
        c = self._scale(gy)
        gx = e * (c / s)[:, None]            # softmax(x_n) * c_n
        gx[rows, t] -= c                     # minus onehot(t_n) * c_n
        return gx, None

    @staticmethod
    def backward_many(nodes, gys):
        """``backward`` of nodes of one ``forward_many`` (the batched engine): one pass over all
        their rows, each node's gradient a block of one array (stacked later without a copy)."""
        nodes, gys = zip(*sorted(zip(nodes, gys), key=lambda pair: pair[0].rows[0]))
        lo, hi = nodes[0].rows[0], nodes[-1].rows[1]
        if any(a.rows[1] != b.rows[0] for a, b in zip(nodes, nodes[1:])):
            return None                      # not one block of rows: node by node
        group = nodes[0].backward_group
        c = numpy.concatenate([numpy.broadcast_to(node._scale(gy), (node.rows[1] - node.rows[0],))
                               for node, gy in zip(nodes, gys)])
        gx = group.e[lo:hi] * (c / group.s[lo:hi])[:, None]
        gx[_row_index(numpy, hi - lo), group.t[lo:hi]] -= c
        return {node: (gx[node.rows[0] - lo:node.rows[1] - lo], None) for node in nodes}


class _LossRows:
    """What the losses computed together share: exp(z), its row sums and the labels, all rows."""

    def __init__(self, e, s, t):
        self.e, self.s, self.t = e, s, t


class MeanSquaredError(FunctionNode):
    """y = mean((a - b)**2);  ga = gy * 2 (a - b) / n,  gb = -ga"""

    def check_inputs(self, a, b):
        check_float("mean_squared_error", a, b)
        if a.shape != b.shape:
            raise ValueError(f"mean_squared_error: shapes differ: {tuple(a.shape)} and {tuple(b.shape)}")

    def forward(self, a, b):
        self.diff = a - b
        return self.xp.asarray((self.diff * self.diff).mean(), dtype=a.dtype)

    def backward(self, gy):
        ga = self.diff * (2.0 * gy / self.diff.size)
        return ga, -ga


_TSCE = "temporal_softmax_cross_entropy"
_NORMALIZE = {"batch": "batch", "tokens": "tokens", "sum": "sum", True: "tokens", False: "batch"}


class TemporalSoftmaxCrossEntropy(FunctionNode):
    """Cross-entropy over the live positions of a padded batch (CS231n's temporal softmax loss):
    scores x (T, B, V) or T steps of (B, V), labels t (T, B), live positions m (T, B):

        loss = -(1/Z) sum_{t,b} m_tb log softmax(x_tb)[t_tb];   gx_tb = gy m_tb (softmax(x_tb) - onehot(t_tb)) / Z

    Z = B, the batch size (normalize='batch', CS231n's and the default: the mean over sequences
    of each one's summed loss), Z = sum(m) (normalize='tokens', Chainer's normalize=True: the mean
    per live token; exp of it is the perplexity), or Z = 1 ('sum'). Live: the mask is true and
    t != ignore_label. A padded position adds nothing and gets exactly zero gradient.
    """

    def __init__(self, n_x, per_step, has_mask, normalize, ignore_label, reduce, time_major):
        self.n_x, self.per_step, self.has_mask = n_x, per_step, has_mask
        self.normalize, self.ignore_label = normalize, ignore_label
        self.reduce, self.time_major = reduce, time_major

    def check_inputs(self, *inputs):
        name = _TSCE
        xs, t = inputs[:self.n_x], inputs[self.n_x]
        check_float(name, *xs)
        check_int(name, t, "labels")
        if self.per_step:                              # a list of T steps (B, V)
            if any(x.ndim != 2 or x.shape != xs[0].shape for x in xs):
                raise ValueError(f"{name}: the steps must all have shape (B, V); got "
                                 f"{sorted({tuple(x.shape) for x in xs})}")
            shape = (len(xs),) + xs[0].shape
        else:
            shape = xs[0].shape
            if len(shape) != 3:
                wanted = "(T, B, V)" if self.time_major else "(B, T, V)"
                raise ValueError(f"{name}: expected scores of shape {wanted} or a list of T steps (B, V); "
                                 f"got {tuple(shape)}")
        if t.shape != shape[:2]:
            raise ValueError(f"{name}: expected labels of shape {shape[:2]} to match the scores {shape}; "
                             f"got {tuple(t.shape)}")
        live = t != self.ignore_label if self.ignore_label is not None else self.xp.ones(t.shape, bool)
        if self.has_mask:
            live &= as_mask(name, inputs[self.n_x + 1], t.shape)
        t = self.xp.where(live, t, 0)
        if t.size and (int(t.min()) < 0 or int(t.max()) >= shape[2]):
            bad = t[(t < 0) | (t >= shape[2])]
            raise ValueError(f"{name}: labels at live positions must lie in [0, {shape[2]}); got "
                             f"{int(bad[0])} (padded positions: mask them or set them to "
                             f"ignore_label={self.ignore_label})")
        self.labels = (t.ravel(), live.ravel(), t.shape)
        self.batch_size = shape[1] if self.time_major else shape[0]

    def forward(self, *inputs):
        xp = self.xp
        xs = inputs[:self.n_x]
        t, live, shape = self.labels
        x = xp.stack(xs) if self.per_step else xs[0]
        self.x_shape = x.shape
        x = x.reshape(-1, x.shape[-1])                 # every position a row: (T*B, V)
        z = x - x.max(axis=1, keepdims=True)           # log-sum-exp with the row maximum subtracted
        rows = _row_index(xp, len(t))
        picked = z[rows, t]
        e = xp.exp(z, out=z)
        s = e.sum(axis=1)
        loss = (xp.log(s) - picked) * live             # -log softmax(x_n)[t_n] where live, else 0
        self.Z = {"batch": self.batch_size, "tokens": max(int(live.sum()), 1), "sum": 1}[self.normalize]
        self.saved = (e, s, rows, t, live)
        if self.reduce == "no":
            return loss.reshape(shape)
        return xp.asarray(loss.sum() / self.Z, dtype=x.dtype)

    def backward(self, gy):
        e, s, rows, t, live = self.saved
        c = gy * live / self.Z if self.reduce == "mean" else gy.ravel() * live     # dL/dloss_n
        gx = e * (c / s)[:, None]              # softmax(x_n) * c_n
        gx[rows, t] -= c                       # minus onehot(t_n) * c_n
        gx = gx.reshape(self.x_shape)
        grads = tuple(gx) if self.per_step else (gx,)     # a list of steps: one (B, V) view each
        return grads + (None,) * (1 + self.has_mask)


def temporal_softmax_cross_entropy(x, t, mask=None, normalize="batch", ignore_label=-1, reduce="mean",
                                   time_major=True):
    """Masked softmax cross-entropy summed over time, divided by the batch size (CS231n's
    temporal softmax loss): x (T, B, V) or a list of T steps (B, V), t (T, B) int labels, mask
    (T, B) bool or None. ``normalize``: 'batch' (default; Chainer's normalize=False), 'tokens'
    (per live token; Chainer's normalize=True) or 'sum'. ``reduce='no'``: the (T, B) losses, not
    normalised, 0 at padded positions. ``time_major=False``: x (B, T, V), t and mask (B, T)."""
    name = _TSCE
    if not (isinstance(normalize, bool) or isinstance(normalize, str) and normalize in _NORMALIZE):
        raise ValueError(f"{name}: normalize must be 'batch', 'tokens' or 'sum' (or Chainer's True/False); "
                         f"got {normalize!r}")
    if reduce not in ("mean", "no"):
        raise ValueError(f"{name}: reduce must be 'mean' or 'no' (as in Chainer), got {reduce!r}")
    per_step = isinstance(x, (list, tuple))
    if per_step and (len(x) == 0 or not time_major):
        raise ValueError(f"{name}: a list of steps must be non-empty and is time-major (T steps of (B, V))")
    xs = tuple(x) if per_step else (x,)
    if mask is not None:
        mask = as_mask(name, mask)                 # bool, or 0/1 numbers; the shape is checked later
    node = TemporalSoftmaxCrossEntropy(len(xs), per_step, mask is not None, _NORMALIZE[normalize],
                                       ignore_label, reduce, time_major)
    inputs = xs + (t,) if mask is None else xs + (t, mask)
    return apply1(node, *inputs)


def softmax_cross_entropy(x, t, ignore_label=-1, reduce="mean", normalize=True):
    """Cross-entropy of softmax(x) against integer labels t, averaged over the labels that count
    (``normalize=False``: divided by the batch size N instead, as in Chainer)."""
    return apply1(SoftmaxCrossEntropy(ignore_label, reduce, normalize), x, t)


def mean_squared_error(a, b):
    return apply1(MeanSquaredError(), a, b)


def accuracy(y, t, ignore_label=None):
    """Fraction of rows whose arg-max equals the label (not differentiable)."""
    t = getattr(t, "array", t)
    spec = lazy.pending_spec(y) if isinstance(y, Variable) else None
    if spec is not None and type(t) is numpy.ndarray:   # y still waits (core/lazy.py): so does this
        _check_accuracy(lazy.stand_in(*spec), t)
        return lazy.later(pending_variable(), lambda y: _accuracy(y, t, ignore_label), (y,), spec[1])
    y = getattr(y, "array", y)
    _check_accuracy(y, t)
    return Variable(_accuracy(y, t, ignore_label), requires_grad=False)


def _check_accuracy(y, t):
    check_int("accuracy", t, "labels")
    if y.ndim != 2 or t.shape != (y.shape[0],):
        raise ValueError(f"accuracy: expected y of shape (N, classes) and t of shape (N,); got y "
                         f"{tuple(y.shape)} and t {tuple(t.shape)}")


def _accuracy(y, t, ignore_label):
    pred = y.argmax(axis=1).reshape(t.shape)
    if ignore_label is not None:
        mask = t != ignore_label
        count = int(mask.sum())
        correct = ((pred == t) & mask).sum()
        value = correct / count if count else 0.0
    else:
        value = (pred == t).mean()
    xp = backend.get_array_module(y)
    return xp.asarray(value, dtype=y.dtype)
