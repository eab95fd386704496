"""Losses and evaluation."""
from ..core import FunctionNode, Variable, apply1, backend
from ._util import check_float, check_int


_ROWS = {}


def _row_index(xp, n):
    """arange(n), kept: the same batch size comes back every step."""
    key = (xp.__name__, n)
    rows = _ROWS.get(key)
    if rows is None:
        rows = _ROWS[key] = xp.arange(n)
    return rows


class SoftmaxCrossEntropy(FunctionNode):
    """y = -mean_n log softmax(x_n)[t_n]   over the n with t_n != ignore_label;
    gx_n = gy * (softmax(x_n) - onehot(t_n)) / count

    Stable: log softmax is computed by log-sum-exp with the row maximum subtracted.
    """

    def __init__(self, ignore_label=-1, reduce="mean"):
        if reduce not in ("mean", "no"):
            raise ValueError(f"softmax_cross_entropy: reduce must be 'mean' or 'no' (as in Chainer), "
                             f"got {reduce!r}")
        self.ignore_label = ignore_label
        self.reduce = reduce

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
        xp = self.xp
        n = len(t)
        t, mask = self.labels
        # log-sum-exp with the row maximum subtracted: z = x - max, loss_n = log sum exp z_n - z_n[t_n]
        z = x - x.max(axis=1, keepdims=True)
        rows = _row_index(xp, n)
        picked = z[rows, t]
        e = xp.exp(z, out=z)
        s = e.sum(axis=1)
        picked -= xp.log(s)               # log softmax(x_n)[t_n]
        if mask is not None:
            picked *= mask
        self.count = max(int(mask.sum()), 1) if mask is not None else max(n, 1)
        self.saved = (e, s, rows, t, mask)
        if self.reduce == "mean":
            return xp.asarray(-picked.sum() / self.count, dtype=x.dtype)
        return -picked

    def backward(self, gy):
        e, s, rows, t, mask = self.saved
        c = gy * (1.0 / self.count) if self.reduce == "mean" else gy    # dL/dloss_n
        if mask is not None:
            c = c * mask
        gx = e * (c / s)[:, None]            # softmax(x_n) * c_n
        gx[rows, t] -= c                     # minus onehot(t_n) * c_n
        return gx, None


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


def softmax_cross_entropy(x, t, ignore_label=-1, reduce="mean"):
    """Cross-entropy of softmax(x) against integer labels t, averaged over the labels that count."""
    return apply1(SoftmaxCrossEntropy(ignore_label, reduce), x, t)


def mean_squared_error(a, b):
    return apply1(MeanSquaredError(), a, b)


def accuracy(y, t, ignore_label=None):
    """Fraction of rows whose arg-max equals the label (not differentiable)."""
    y = getattr(y, "array", y)
    t = getattr(t, "array", t)
    check_int("accuracy", t, "labels")
    if y.ndim != 2 or t.shape != (y.shape[0],):
        raise ValueError(f"accuracy: expected y of shape (N, classes) and t of shape (N,); got y "
                         f"{tuple(y.shape)} and t {tuple(t.shape)}")
    pred = y.argmax(axis=1).reshape(t.shape)
    if ignore_label is not None:
        mask = t != ignore_label
        count = int(mask.sum())
        correct = ((pred == t) & mask).sum()
        value = correct / count if count else 0.0
    else:
        value = (pred == t).mean()
    xp = backend.get_array_module(y)
    return Variable(xp.asarray(value, dtype=y.dtype), requires_grad=False)
