"""The LSTM cell, fused: on gate pre-activations (``lstm``) or with its weights (``lstm_step``).

Gate layout, the same as PyTorch's: the 4H axis holds blocks [i, f, g, o]: input gate, forget
gate, cell candidate, output gate.

    i, f, o = sigmoid(.),  g = tanh(.),  c = f * c_prev + i * g,  h = o * tanh(c)
"""
from ..core import FunctionNode
from ..core.config import config
from ..core.deferred import MatmulGrad, OuterProductGrad, SumRowsGrad
from ._util import check_float


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
        gates = x @ W_x.T
        gates += b
        if h_prev is not None:
            gates += h_prev @ W_h.T
        c, h, self.saved = cell_forward(self.xp, c_prev, gates)
        self.x, self.W_x, self.h_prev, self.W_h = x, W_x, h_prev, W_h
        return c, h

    def backward(self, gc, gh):
        gc_prev, ga = cell_backward(self.xp, self.saved, gc, gh)
        if config.batched_backward:
            grads = (gc_prev, MatmulGrad(ga, self.W_x), OuterProductGrad(ga, self.x), SumRowsGrad(ga))
            if self.h_prev is None:
                return grads
            return grads + (MatmulGrad(ga, self.W_h), OuterProductGrad(ga, self.h_prev))
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
