"""The LSTM cell, fused: on gate pre-activations (``lstm``) or with its weights (``lstm_step``).

Gate layout, the same as PyTorch's: the 4H axis holds blocks [i, f, g, o]: input gate, forget
gate, cell candidate, output gate.

    i, f, o = sigmoid(.),  g = tanh(.),  c = f * c_prev + i * g,  h = o * tanh(c)
"""
import numpy

from ..core import FunctionNode, lazy
from ..core.config import config
from ..core.deferred import MatmulGrad, OuterProductGrad, SumRowsGrad
from ._util import check_float


LARGE_WEIGHT = 1 << 18   # entries; PTB's LSTM weights (2600 x 650) are above, the tutorial's below


def rows_times_transposed(x, W):
    """x W^T. For a large W and a small batch NumPy's product is about a third faster taken the
    other way round, (W x^T)^T (the same numbers, in a transposed layout); for a small W the plain
    form is as fast."""
    if W.size >= LARGE_WEIGHT:
        return (W @ x.T).T
    return x @ W.T


def cell_forward(xp, c_prev, gates):
    """(c, h, saved) from the pre-activations ``gates`` (B, 4H) and ``c_prev`` (B, H)."""
    H = c_prev.shape[1]
    a = gates * 0.5                              # i, f and o in one pass: sigmoid(x) = (tanh(x/2) + 1) / 2
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    g = a[:, 2 * H:3 * H]
    xp.tanh(gates[:, 2 * H:3 * H], out=g)        # ... and g overwritten with tanh
    i, f, o = a[:, :H], a[:, H:2 * H], a[:, 3 * H:]
    c = f * c_prev
    c += i * g
    tc = xp.tanh(c)
    h = o * tc
    # d(gate)/d(pre-activation), all four blocks at once: s(1 - s) for sigmoid, 1 - g^2 for tanh
    slope = a * (1 - a)
    slope[:, 2 * H:3 * H] = 1 - g * g
    return c, h, (c_prev, a, tc, slope)


def cell_backward(xp, saved, gc, gh):
    """(gc_prev, ga) from gc and gh: the gradients of c_prev and of the gate pre-activations."""
    c_prev, a, tc, slope = saved
    H = c_prev.shape[1]
    i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    gc = gc + gh * o * (1 - tc * tc)             # c feeds h through tanh
    ga = xp.empty_like(a)                        # the gradient of each gate's value, block by block
    xp.multiply(gc, g, out=ga[:, :H])            # input gate:  c = ... + i g
    xp.multiply(gc, c_prev, out=ga[:, H:2 * H])  # forget gate: c = f c_prev + ...
    xp.multiply(gc, i, out=ga[:, 2 * H:3 * H])   # candidate:   c = ... + i g
    xp.multiply(gh, tc, out=ga[:, 3 * H:])       # output gate: h = o tanh(c)
    ga *= slope                                  # through the activations
    return gc * f, ga


def _check_state(name, c_prev, width):
    if c_prev.ndim != 2 or width != 4 * c_prev.shape[1]:
        raise ValueError(f"{name}: expected c_prev of shape (B, H) and gates of width 4H; got "
                         f"c_prev {tuple(c_prev.shape)} and gate width {width}")


class LSTM(FunctionNode):
    """The fused LSTM cell on pre-activations x (B, 4H), blocks [i, f, g, o]:

        c = f * c_prev + i * g,  h = o * tanh(c);  backward: see ``cell_backward``
    """

    def check_inputs(self, c_prev, x):
        check_float("lstm", c_prev, x)
        if x.ndim != 2 or c_prev.ndim != 2 or x.shape != (c_prev.shape[0], 4 * c_prev.shape[1]):
            raise ValueError(f"lstm: expected c_prev of shape (B, H) and x of shape (B, 4H); got "
                             f"c_prev {tuple(c_prev.shape)} and x {tuple(x.shape)}")

    def forward(self, c_prev, x):
        c, h, self.saved = cell_forward(self.xp, c_prev, x)
        return c, h

    def backward(self, gc, gh):
        return cell_backward(self.xp, self.saved, gc, gh)


class LSTMStep(FunctionNode):
    """One LSTM step with its weights, as "Deep Learning from Scratch 2" writes the layer:

        gates = x W_x^T + h_prev W_h^T + b,  then the cell (blocks [i, f, g, o])
        gx = ga W_x,  gh_prev = ga W_h,  gW_x = ga^T x,  gW_h = ga^T h_prev,  gb = sum_rows(ga),
        gc_prev = gc f   (ga: the gradient of the gate pre-activations, from ``cell_backward``)

    Inputs: (c_prev, x, W_x, b) on the first step, (c_prev, x, W_x, b, h_prev, W_h) after it.
    For the batched engine the weight products are handed over deferred, so that it computes
    those of all time steps together.
    """

    def check_inputs(self, c_prev, x, W_x, b, h_prev=None, W_h=None):
        check_float("lstm_step", c_prev, x, W_x)
        if x.ndim != 2 or W_x.ndim != 2 or x.shape[1] != W_x.shape[1] or x.shape[0] != c_prev.shape[0]:
            raise ValueError(f"lstm_step: expected x (B, in), W_x (4H, in) and c_prev (B, H); got "
                             f"x {tuple(x.shape)}, W_x {tuple(W_x.shape)}, c_prev {tuple(c_prev.shape)}")
        _check_state("lstm_step", c_prev, W_x.shape[0])
        if h_prev is not None and (h_prev.shape != c_prev.shape or W_h.shape != (W_x.shape[0], c_prev.shape[1])):
            raise ValueError(f"lstm_step: expected h_prev {tuple(c_prev.shape)} and W_h "
                             f"{(W_x.shape[0], c_prev.shape[1])}; got {tuple(h_prev.shape)} and {tuple(W_h.shape)}")

    def forward(self, c_prev, x, W_x, b, h_prev=None, W_h=None):
        gates = rows_times_transposed(x, W_x)
        gates += b
        return self._recur(gates, c_prev, x, W_x, h_prev, W_h)

    def _recur(self, gates, c_prev, x, W_x, h_prev, W_h):
        """The rest of forward, from gates = x W_x^T + b."""
        if h_prev is not None:
            gates += rows_times_transposed(h_prev, W_h)
        c, h, self.saved = cell_forward(self.xp, c_prev, gates)
        self.x, self.W_x, self.h_prev, self.W_h = x, W_x, h_prev, W_h
        return c, h

    # -- for core/lazy.py: x W_x^T + b of a window's steps as one product, then the steps in order --
    may_wait = True

    def wait_spec(self, xs, pending):
        """(phase, the specs of c and h) when this step may wait for the others, else None."""
        c_prev, x, W_x, b = xs[:4]
        if W_x.array.size < lazy.MIN_STEP_WEIGHT_SIZE or c_prev.creator is None or x.creator is None \
                or len(xs) > 4 and xs[4].creator is None:
            return None                       # too small to gain; a leaf is the caller's to write
        if any(id(v) in pending for v in xs[2:4] + xs[5:]):
            return None
        arrays = [lazy.known(v, pending) for v in xs]
        if any(type(a) is not numpy.ndarray for a in arrays) or lazy.read_alone(id(W_x)):
            return None
        self.check_inputs(*arrays)
        self.prepared = None                  # x W_x^T + b: not computed yet
        return lazy.REST, [(arrays[0].shape, arrays[0].dtype)] * 2   # one dtype: check_inputs

    def prepare_key(self):
        return id(self.inputs[2]), id(self.inputs[3])

    def prepare_inputs(self):
        return self.inputs[1:4]

    @staticmethod
    def prepare_many(nodes):
        """x W_x^T + b for the steps of one W_x and b, in one product."""
        _, _, W_x, b = (v.array for v in nodes[0].inputs[:4])
        xs = [node.inputs[1].array for node in nodes]
        x = numpy.concatenate(xs) if len(xs) > 1 else xs[0]
        gates = x @ W_x.T
        gates += b
        lo = 0
        for node, xk in zip(nodes, xs):
            hi = lo + len(xk)
            node.prepared = (gates[lo:hi], x[lo:hi])   # rows of the stacked x: backward stacks them free
            lo = hi

    def forward_prepared(self, prepared, c_prev, x, W_x, b, h_prev=None, W_h=None):
        gates, x_rows = prepared
        return self._recur(gates, c_prev, x_rows, W_x, h_prev, W_h)

    def backward(self, gc, gh):
        gc_prev, ga = cell_backward(self.xp, self.saved, gc, gh)
        if config.batched_backward:
            grads = (gc_prev, MatmulGrad(ga, self.W_x), OuterProductGrad(ga, self.x), SumRowsGrad(ga))
            if self.h_prev is None:
                return grads
            # gh_prev at once: step t-1 needs it next, nothing could be batched with it
            return grads + (ga @ self.W_h, OuterProductGrad(ga, self.h_prev))
        grads = (gc_prev, ga @ self.W_x, ga.T @ self.x, ga.sum(axis=0))
        if self.h_prev is None:
            return grads
        return grads + (ga @ self.W_h, ga.T @ self.h_prev)


def lstm(c_prev, x):
    """One LSTM step on gate pre-activations x (B, 4H): returns ``(c, h)``. Blocks [i, f, g, o]."""
    c, h = LSTM().apply((c_prev, x))
    return c, h


def lstm_step(c_prev, h_prev, x, W_x, W_h, b):
    """One LSTM step with weights: gates = x W_x^T + h_prev W_h^T + b, then the cell; ``(c, h)``.
    ``h_prev`` may be None on the first step (no recurrent term)."""
    inputs = (c_prev, x, W_x, b) if h_prev is None else (c_prev, x, W_x, b, h_prev, W_h)
    c, h = LSTMStep().apply(inputs)
    return c, h


# -- the GRU ------------------------------------------------------------------------------------------
#
# Formulation: PyTorch's and cuDNN's (Keras's ``reset_after=True``): the reset gate acts AFTER the
# recurrent product, on W_hn h + b_hn. The 3H axis holds blocks [r, z, n]: reset gate, update gate,
# candidate, the same order as PyTorch's ``nn.GRU``/``nn.GRUCell`` (weight_ih, weight_hh):
#
#     xa = x W_x^T + b_x,  ha = h_prev W_h^T + b_h          (both (B, 3H): the two weight products)
#     r = sigmoid(xa_r + ha_r),  z = sigmoid(xa_z + ha_z),  n = tanh(xa_n + r * ha_n)
#     h = (1 - z) * n + z * h_prev                            (z near 1 keeps the old state)
#
# How it differs from Chainer's ``L.GRU`` (and the form of Cho et al. 2014 most often quoted):
# there the reset gate acts BEFORE the product, n = tanh(W x + U (r * h_prev)), and Chainer also
# swaps the update gate's roles, h = z * n + (1 - z) * h_prev. With the reset gate after the
# product, one product h_prev W_h^T per step serves all three blocks (no second, r-dependent
# product), which is what cuDNN fuses, and the two biases b_x, b_h are not redundant (b_hn is
# scaled by r). Gradients therefore match PyTorch's GRU exactly, and not Chainer's.

def gru_cell_forward(xp, h_prev, xa, ha):
    """(h, saved) from the pre-activations ``xa``, ``ha`` (B, 3H), blocks [r, z, n], and
    ``h_prev`` (B, H); ``h_prev`` None stands for zeros (the first step)."""
    H = xa.shape[1] // 3
    s = xa[:, :2 * H] + ha[:, :2 * H]            # r and z in one pass: sigmoid(x) = (tanh(x/2) + 1) / 2
    s *= 0.5
    xp.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    r, z = s[:, :H], s[:, H:]
    hn = ha[:, 2 * H:]                           # W_hn h_prev + b_hn: what the reset gate scales
    n = r * hn
    n += xa[:, 2 * H:]
    xp.tanh(n, out=n)
    h = n - z * n if h_prev is None else n + z * (h_prev - n)    # (1 - z) n + z h_prev
    return h, (h_prev, r, z, n, hn)


def gru_cell_backward(xp, saved, gh):
    """(gh_prev, gxa, gha) from gh: the gradients of h_prev (its direct path through z only) and
    of the two pre-activations. gxa and gha differ in the candidate block only, by the factor r."""
    h_prev, r, z, n, hn = saved
    H = n.shape[1]
    gxa = xp.empty((n.shape[0], 3 * H), dtype=n.dtype)   # block by block: [r, z, n]
    gn = gxa[:, 2 * H:]
    xp.multiply(gh, 1 - z, out=gn)                     # h = (1 - z) n + ...
    gn *= 1 - n * n                                    # through tanh: d(n's pre-activation)
    xp.multiply(gn, hn, out=gxa[:, :H])                # n = tanh(xa_n + r ha_n): d r = gn ha_n
    gxa[:, :H] *= r * (1 - r)                          # through the reset gate's sigmoid
    d = -n if h_prev is None else h_prev - n           # h = n + z (h_prev - n)
    xp.multiply(gh, d, out=gxa[:, H:2 * H])
    gxa[:, H:2 * H] *= z * (1 - z)                     # through the update gate's sigmoid
    gha = gxa.copy()
    gha[:, 2 * H:] *= r                                # ha_n enters scaled by r, xa_n is not
    gh_prev = None if h_prev is None else gh * z       # h = ... + z h_prev
    return gh_prev, gxa, gha


class GRU(FunctionNode):
    """The fused GRU cell on pre-activations xa = x W_x^T + b_x and ha = h_prev W_h^T + b_h,
    both (B, 3H) in blocks [r, z, n] (PyTorch's formulation: the reset gate after the product):

        h = (1 - z) * n + z * h_prev,  n = tanh(xa_n + r * ha_n);  backward: ``gru_cell_backward``
    """

    def check_inputs(self, h_prev, xa, ha):
        check_float("gru", h_prev, xa, ha)
        if (h_prev.ndim != 2 or xa.ndim != 2 or xa.shape != (h_prev.shape[0], 3 * h_prev.shape[1])
                or ha.shape != xa.shape):
            raise ValueError(f"gru: expected h_prev of shape (B, H) and xa, ha of shape (B, 3H); got "
                             f"h_prev {tuple(h_prev.shape)}, xa {tuple(xa.shape)} and ha {tuple(ha.shape)}")

    def forward(self, h_prev, xa, ha):
        h, self.saved = gru_cell_forward(self.xp, h_prev, xa, ha)
        return h

    def backward(self, gh):
        return gru_cell_backward(self.xp, self.saved, gh)


class GRUStep(FunctionNode):
    """One GRU step with its weights (blocks [r, z, n], the reset gate after the product):

        xa = x W_x^T + b_x,  ha = h_prev W_h^T + b_h,  then the cell (``gru_cell_forward``)
        gx = gxa W_x,  gW_x = gxa^T x,  gb_x = sum_rows(gxa),  gb_h = sum_rows(gha),
        gW_h = gha^T h_prev,  gh_prev = gh z + gha W_h   (gxa, gha from ``gru_cell_backward``)

    Inputs: (x, W_x, b_x, b_h) on the first step (h_prev = 0: ha = b_h), (x, W_x, b_x, b_h,
    h_prev, W_h) after it. For the batched engine the weight products are handed over deferred,
    as the LSTM step's are; gh_prev is computed at once (it has a direct term besides gha W_h,
    and step t-1 needs it before anything could be batched with it).
    """

    def check_inputs(self, x, W_x, b_x, b_h, h_prev=None, W_h=None):
        arrays = (x, W_x, b_x, b_h) if h_prev is None else (x, W_x, b_x, b_h, h_prev, W_h)
        check_float("gru_step", *arrays)
        G = W_x.shape[0] if W_x.ndim == 2 else -1
        if (x.ndim != 2 or W_x.ndim != 2 or x.shape[1] != W_x.shape[1] or G % 3
                or b_x.shape != (G,) or b_h.shape != (G,)):
            raise ValueError(f"gru_step: expected x (B, in), W_x (3H, in), b_x (3H,) and b_h (3H,); got "
                             f"x {tuple(x.shape)}, W_x {tuple(W_x.shape)}, b_x {tuple(b_x.shape)}, "
                             f"b_h {tuple(b_h.shape)}")
        if h_prev is not None and (h_prev.shape != (x.shape[0], G // 3) or W_h.shape != (G, G // 3)):
            raise ValueError(f"gru_step: expected h_prev {(x.shape[0], G // 3)} and W_h {(G, G // 3)}; "
                             f"got {tuple(h_prev.shape)} and {tuple(W_h.shape)}")

    def forward(self, x, W_x, b_x, b_h, h_prev=None, W_h=None):
        xa = rows_times_transposed(x, W_x)
        xa += b_x
        if h_prev is None:
            ha = self.xp.broadcast_to(b_h, xa.shape)      # h_prev = 0: only the bias (read only)
        else:
            ha = rows_times_transposed(h_prev, W_h)
            ha += b_h
        h, self.saved = gru_cell_forward(self.xp, h_prev, xa, ha)
        self.x, self.W_x, self.h_prev, self.W_h = x, W_x, h_prev, W_h
        return h

    def backward(self, gh):
        gh_direct, gxa, gha = gru_cell_backward(self.xp, self.saved, gh)
        if config.batched_backward:
            grads = (MatmulGrad(gxa, self.W_x), OuterProductGrad(gxa, self.x), SumRowsGrad(gxa),
                     SumRowsGrad(gha))
            if self.h_prev is None:
                return grads
            return grads + (gh_direct + gha @ self.W_h, OuterProductGrad(gha, self.h_prev))
        grads = (gxa @ self.W_x, gxa.T @ self.x, gxa.sum(axis=0), gha.sum(axis=0))
        if self.h_prev is None:
            return grads
        return grads + (gh_direct + gha @ self.W_h, gha.T @ self.h_prev)


def gru(h_prev, xa, ha):
    """One GRU step on pre-activations xa = x W_x^T + b_x and ha = h_prev W_h^T + b_h (B, 3H),
    blocks [r, z, n], reset gate after the product (PyTorch's formulation): returns ``h``."""
    (h,) = GRU().apply((h_prev, xa, ha))
    return h


def gru_step(h_prev, x, W_x, W_h, b_x, b_h):
    """One GRU step with weights (PyTorch's ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``):
    xa = x W_x^T + b_x, ha = h_prev W_h^T + b_h, then the cell; returns ``h``. ``h_prev`` may be
    None on the first step (zeros: ha = b_h, no recurrent product)."""
    inputs = (x, W_x, b_x, b_h) if h_prev is None else (x, W_x, b_x, b_h, h_prev, W_h)
    (h,) = GRUStep().apply(inputs)
    return h
