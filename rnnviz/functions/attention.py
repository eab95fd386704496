"""Attention's one new function: a softmax that gives padded positions no weight at all.

An attention step scores every source position s for the current decoder state q,
e_s = k_s . q, and turns the scores into weights a_s that sum to one. In a padded batch some
positions are padding: they must get a_s = 0 exactly (not a small number), so that a padded
source position can neither lend its vector to the context nor receive a gradient. Setting its
score to a large negative number first (the usual trick) comes close; ``masked_softmax`` is
exact and says what it means.
"""
from ..core import FunctionNode, apply1
from .activation import softmax_grad
from ._util import check_axis, check_float
from .sequence import as_mask


class MaskedSoftmax(FunctionNode):
    """y_s = m_s exp(x_s) / sum_r m_r exp(x_r)  (0 where m_s is false);  gx = y * (gy - sum(gy * y))

    The gradient formula is the softmax's: y_s = 0 at masked positions makes their gradient 0,
    and a row with no live position gives y = 0 and gx = 0 (not NaN).
    """

    def __init__(self, mask, axis):
        self.mask = mask
        self.axis = axis

    def check_inputs(self, x):
        check_float("masked_softmax", x)
        check_axis("masked_softmax", self.axis, x.ndim, allow_none=False, allow_tuple=False)
        if type(self.mask) is not type(x):                     # a NumPy mask for CuPy scores
            self.mask = self.xp.asarray(self.mask)
        if tuple(self.mask.shape) != tuple(x.shape):
            try:
                self.mask = self.xp.broadcast_to(self.mask, x.shape)
            except ValueError:
                raise ValueError(f"masked_softmax: the mask's shape {tuple(self.mask.shape)} does not "
                                 f"broadcast to the scores' shape {tuple(x.shape)}") from None

    def forward(self, x):
        xp, m, axis = self.xp, self.mask, self.axis
        top = xp.where(m, x, -xp.inf).max(axis=axis, keepdims=True)
        top = xp.where(xp.isfinite(top), top, 0)               # a row with nothing alive
        e = xp.where(m, xp.exp(x - top), 0).astype(x.dtype)
        total = e.sum(axis=axis, keepdims=True)
        y = e / xp.where(total > 0, total, 1)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs     # 0 where masked: those positions get no gradient
        return softmax_grad(y, gy, self.axis)


def masked_softmax(x, mask, axis=-1):
    """Softmax of ``x`` along ``axis`` over the positions where ``mask`` (bool, or 0/1; broadcast
    to x's shape) is true; exactly 0 elsewhere, and 0 for a row with no true position.

    Attention over a padded batch of encoder states hs (B, S, H) for decoder states q (B, H)::

        scores = F.matmul(hs, F.reshape(q, (B, H, 1)))[:, :, 0]       # (B, S)
        weights = F.masked_softmax(scores, source_mask)                 # source_mask (B, S)
    """
    return apply1(MaskedSoftmax(as_mask("masked_softmax", mask, what="mask"), axis), x)
