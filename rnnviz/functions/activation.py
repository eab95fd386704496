"""Activations and softmax."""
from ..core import FunctionNode, apply1
from ._util import check_axis, check_float


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)) computed as (tanh(x/2) + 1) / 2: stable for large |x|, no overflow."""
    y = xp.asarray(x * 0.5)  # asarray: a 0-d input gives a NumPy scalar
    xp.tanh(y, out=y)
    y *= 0.5
    y += 0.5
    return y


class Tanh(FunctionNode):
    """y = tanh(x);  gx = gy * (1 - y**2)"""

    def check_inputs(self, x):
        check_float("tanh", x)

    def forward(self, x):
        y = self.xp.tanh(x)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy * (1 - y * y)


class Sigmoid(FunctionNode):
    """y = 1 / (1 + exp(-x));  gx = gy * y * (1 - y)"""

    def check_inputs(self, x):
        check_float("sigmoid", x)

    def forward(self, x):
        y = _sigmoid(self.xp, x)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy * y * (1 - y)


class ReLU(FunctionNode):
    """y = max(0, x);  gx = gy * (y > 0)"""

    def check_inputs(self, x):
        check_float("relu", x)

    def forward(self, x):
        y = self.xp.maximum(x, 0)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy * (y > 0)


class LogSoftmax(FunctionNode):
    """y = x - logsumexp(x);  gx = gy - exp(y) * sum(gy)"""

    def __init__(self, axis=1):
        self.axis = axis

    def check_inputs(self, x):
        check_float("log_softmax", x)
        check_axis("log_softmax", self.axis, x.ndim, allow_none=False, allow_tuple=False)

    def forward(self, x):
        y = log_softmax_array(self.xp, x, self.axis)
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return gy - self.xp.exp(y) * gy.sum(axis=self.axis, keepdims=True)


class Softmax(FunctionNode):
    """y = exp(x) / sum(exp(x));  gx = y * (gy - sum(gy * y))"""

    def __init__(self, axis=1):
        self.axis = axis

    def check_inputs(self, x):
        check_float("softmax", x)
        check_axis("softmax", self.axis, x.ndim, allow_none=False, allow_tuple=False)

    def forward(self, x):
        y = self.xp.exp(log_softmax_array(self.xp, x, self.axis))
        self.save_outputs(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_outputs
        return softmax_grad(y, gy, self.axis)


def softmax_grad(y, gy, axis):
    """gx = y * (gy - sum(y * gy)) along ``axis``: the softmax's Jacobian (diag(y) - y y^T) times gy."""
    gx = y * gy
    return gx - y * gx.sum(axis=axis, keepdims=True)


def log_softmax_array(xp, x, axis=1):
    """log softmax on a raw array, stable: subtract the max before exp (log-sum-exp)."""
    m = x.max(axis=axis, keepdims=True)
    z = x - m
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


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
