"""Functions with weights: the affine map and the embedding lookup."""
import math

import numpy

from ..core import FunctionNode, apply1, lazy
from ..core.config import config
from ..core.deferred import MatmulGrad, OuterProductGrad, ScatterRowsGrad, SumRowsGrad
from ._util import check_float, check_int
from .array import reshape


class Linear(FunctionNode):
    """y = x W^T + b;  gx = gy W,  gW = gy^T x,  gb = sum_rows(gy)

    For the batched engine (``config.batched_backward``) the same products are handed over
    deferred (``core/deferred.py``): when W is used at many time steps, it computes one large
    product for all of them instead of one small product per step.
    """

    def check_inputs(self, x, W, b=None):
        check_float("linear", x, W)
        if W.ndim != 2 or x.ndim != 2 or x.shape[1] != W.shape[1]:
            raise ValueError(f"linear: x must have shape (batch, in_size) matching W (out_size, in_size); "
                             f"got x {tuple(x.shape)} and W {tuple(W.shape)}")
        if b is not None and b.shape != (W.shape[0],):
            raise ValueError(f"linear: b must have shape ({W.shape[0]},), got {tuple(b.shape)}")

    def forward(self, x, W, b=None):
        self.save_inputs(x, W)
        self.has_bias = b is not None
        y = x @ W.T
        if b is not None:
            y += b
        return y

    # -- for core/lazy.py: the steps' products of one W computed together, in one product --------
    may_wait = True

    def wait_spec(self, xs, pending):
        """(phase, [(y's shape, dtype)]) when this product may wait for the other steps', else None."""
        if xs[1].array.size < lazy.MIN_WEIGHT_SIZE or xs[0].creator is None:
            return None                       # too small to gain; a leaf x is the caller's to write
        if any(id(v) in pending for v in xs[1:]):
            return None
        arrays = [lazy.known(xs[0], pending)] + [v.array for v in xs[1:]]
        if any(type(a) is not numpy.ndarray for a in arrays) or arrays[0].ndim != 2:
            return None
        x, W = arrays[0], arrays[1]
        if lazy.read_alone(id(xs[1])):
            return None                       # its output is read at once
        self.check_inputs(*arrays)
        return lazy.LINEAR, [((x.shape[0], W.shape[0]), x.dtype)]

    def wait_key(self):
        return tuple(id(v) for v in self.inputs[1:])

    @staticmethod
    def forward_many(nodes, inputs):
        """``forward`` of nodes that share W and b: one product for the rows of all of them."""
        x, W, *b = inputs[0]
        if len(inputs) > 1:
            x = numpy.concatenate([i[0] for i in inputs])
        y = x @ W.T
        if b:
            y += b[0]
        ys, lo = [], 0
        for node, (xk, W, *b) in zip(nodes, inputs):
            node.save_inputs(x[lo:lo + len(xk)], W)   # rows of the stacked x: backward stacks them free
            node.has_bias = bool(b)
            ys.append(y[lo:lo + len(xk)])
            lo += len(xk)
        return ys

    def backward(self, gy):
        x, W = self.saved_inputs
        if config.batched_backward:
            gx, gW, gb = MatmulGrad(gy, W), OuterProductGrad(gy, x), SumRowsGrad(gy)
        else:
            gx, gW, gb = gy @ W, gy.T @ x, gy.sum(axis=0)
        return (gx, gW, gb) if self.has_bias else (gx, gW)


class EmbedID(FunctionNode):
    """y[n] = W[ids[n]];  gW[k] = sum of gy[n] over the n with ids[n] == k

    Rows whose id equals ``ignore_label`` are zero and receive no gradient. For the batched engine
    gW is handed over deferred, and the rows of all time steps are added in one go.
    """

    def __init__(self, ignore_label=None):
        self.ignore_label = ignore_label

    def check_inputs(self, ids, W):
        check_int("embed_id", ids, "word ids")
        check_float("embed_id", W)
        if ids.size:
            valid = ids if self.ignore_label is None else ids[ids != self.ignore_label]
            if valid.size and (int(valid.min()) < 0 or int(valid.max()) >= W.shape[0]):
                raise ValueError(f"embed_id: word ids must lie in [0, {W.shape[0]}) (the vocabulary size); "
                                 f"got ids from {int(valid.min())} to {int(valid.max())}")

    def forward(self, ids, W):
        self.W_shape = W.shape
        if self.ignore_label is None:
            self.ids = ids
            return W[ids]
        ignored = ids == self.ignore_label
        self.ids = self.xp.where(ignored, -1, ids)
        y = W[self.xp.where(ignored, 0, ids)]
        y[ignored] = 0
        return y

    def backward(self, gy):
        gW = ScatterRowsGrad(self.ids, gy, self.W_shape)
        return None, (gW if config.batched_backward else gW.compute())


def linear(x, W, b=None, n_batch_axes=1):
    """Affine map ``x W^T + b``. The first ``n_batch_axes`` axes of x are batch axes, the others
    are flattened into the input size: x (B1, ..., Bk, d1, ..., dm) gives y (B1, ..., Bk, out)."""
    if n_batch_axes == 1 and x.ndim == 2:      # the common case: nothing to flatten
        return apply1(Linear(), x, W) if b is None else apply1(Linear(), x, W, b)
    if x.ndim < 2:
        raise ValueError(f"linear: x must have shape (batch, in_size) matching W (out_size, in_size); "
                         f"got x {tuple(x.shape)} and W {tuple(W.shape)} (one example? use x[None])")
    if isinstance(n_batch_axes, bool) or not isinstance(n_batch_axes, int) or not 1 <= n_batch_axes < x.ndim:
        raise ValueError(f"linear: n_batch_axes must be an integer from 1 to {x.ndim - 1} (x has {x.ndim} "
                         f"axes), got {n_batch_axes!r}")
    batch = tuple(x.shape[:n_batch_axes])
    if x.ndim > n_batch_axes + 1 or n_batch_axes > 1:
        x = reshape(x, (math.prod(batch), -1))
    y = apply1(Linear(), x, W) if b is None else apply1(Linear(), x, W, b)
    return reshape(y, batch + (y.shape[1],)) if n_batch_axes > 1 else y


def embed_id(x, W, ignore_label=None):
    """Look up rows of W by integer ids ``x``; the output has shape x.shape + (dim,)."""
    return apply1(EmbedID(ignore_label), x, W)
