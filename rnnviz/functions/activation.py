"""Activations, softmax, and the fused LSTM cell."""
from ..core import FunctionNode, apply1
from ._util import check_float


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)) computed as (tanh(x/2) + 1) / 2: stable for large |x|, no overflow."""
    y = xp.asarray(x * 0.5)  # asarray: a 0-d input gives a NumPy scalar
    xp.tanh(y, out=y)
    y *= 0.5
    y += 0.5
    return y


class Tanh(FunctionNode):
    """y = tanh(x);  dy/dx = 1 - y**2"""

    def forward(self, x):
        check_float("tanh", x)
        y = self.xp.tanh(x)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy * (1 - y * y)


class Sigmoid(FunctionNode):
    """y = 1 / (1 + exp(-x));  dy/dx = y (1 - y)"""

    def forward(self, x):
        check_float("sigmoid", x)
        y = _sigmoid(self.xp, x)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy * y * (1 - y)


class ReLU(FunctionNode):
    """y = max(0, x);  dy/dx = 1 where x > 0, else 0"""

    def forward(self, x):
        check_float("relu", x)
        y = self.xp.maximum(x, 0)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy * (y > 0)


class LogSoftmax(FunctionNode):
    """y = x - logsumexp(x);  dx = gy - softmax(x) * sum(gy)"""

    def __init__(self, axis=1):
        self.axis = axis

    def forward(self, x):
        check_float("log_softmax", x)
        y = log_softmax_array(self.xp, x, self.axis)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy - self.xp.exp(y) * gy.sum(axis=self.axis, keepdims=True)


class Softmax(FunctionNode):
    """y = exp(x) / sum(exp(x));  dx = y * (gy - sum(gy * y))"""

    def __init__(self, axis=1):
        self.axis = axis

    def forward(self, x):
        check_float("softmax", x)
        y = self.xp.exp(log_softmax_array(self.xp, x, self.axis))
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        gx = y * gy
        return gx - y * gx.sum(axis=self.axis, keepdims=True)


def log_softmax_array(xp, x, axis=1):
    """log softmax on a raw array, stable: subtract the max before exp (log-sum-exp)."""
    m = x.max(axis=axis, keepdims=True)
    z = x - m
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


class LSTM(FunctionNode):
    """The fused LSTM cell.  x holds the pre-activations of the 4 gates in blocks [i, f, g, o]:

        i, f, o = sigmoid(.),  g = tanh(.),  c = f * c_prev + i * g,  h = o * tanh(c)

    Block layout (the same as PyTorch's): x[:, 0:H] input gate, x[:, H:2H] forget gate,
    x[:, 2H:3H] cell candidate, x[:, 3H:4H] output gate.
    """

    def check_inputs(self, c_prev, x):
        check_float("lstm", c_prev, x)
        if x.ndim != 2 or c_prev.ndim != 2 or x.shape[1] != 4 * c_prev.shape[1] or x.shape[0] != c_prev.shape[0]:
            raise ValueError(f"lstm: expected c_prev of shape (B, H) and x of shape (B, 4H); got "
                             f"c_prev {tuple(c_prev.shape)} and x {tuple(x.shape)}")

    def forward(self, c_prev, x):
        xp = self.xp
        H = c_prev.shape[1]
        a = _sigmoid(xp, x)                          # i, f and o in one pass ...
        g = a[:, 2 * H:3 * H]
        xp.tanh(x[:, 2 * H:3 * H], out=g)            # ... and g overwritten with tanh
        i, f, o = a[:, :H], a[:, H:2 * H], a[:, 3 * H:]
        c = f * c_prev
        c += i * g
        tc = xp.tanh(c)
        h = o * tc
        # d(gate)/d(pre-activation), all four blocks at once: s(1 - s) for sigmoid, 1 - g^2 for tanh
        slope = a * (1 - a)
        slope[:, 2 * H:3 * H] = 1 - g * g
        self.saved = (c_prev, a, tc, slope)
        return c, h

    def backward(self, gc, gh):
        c_prev, a, tc, slope = self.saved
        H = c_prev.shape[1]
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        gc = gc + gh * o * (1 - tc * tc)             # c feeds h through tanh
        ga = self.xp.empty_like(a)                   # dL/d(gate value), block by block
        self.xp.multiply(gc, g, out=ga[:, :H])       # input gate:  c = ... + i g
        self.xp.multiply(gc, c_prev, out=ga[:, H:2 * H])  # forget gate: c = f c_prev + ...
        self.xp.multiply(gc, i, out=ga[:, 2 * H:3 * H])   # candidate:   c = ... + i g
        self.xp.multiply(gh, tc, out=ga[:, 3 * H:])  # output gate: h = o tanh(c)
        ga *= slope                                  # through the activations
        return gc * f, ga


def tanh(x):
    return apply1(Tanh(), x)


def sigmoid(x):
    return apply1(Sigmoid(), x)


def relu(x):
    return apply1(ReLU(), x)


def softmax(x, axis=1):
    return apply1(Softmax(axis), x)


def log_softmax(x, axis=1):
    return apply1(LogSoftmax(axis), x)


def lstm(c_prev, x):
    """One LSTM step: returns ``(c, h)``. See ``LSTM`` for the gate layout [i, f, g, o]."""
    c, h = LSTM().apply((c_prev, x))
    return c, h
