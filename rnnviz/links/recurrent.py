"""Recurrent links, two ways.

Stateful links (``RNN``, ``LSTM``, ``GRU``, Chainer style) keep the state and advance one step per
call: ``h = lstm(x)``. Explicit-state cells (``RNNCell``, ``LSTMCell``, ``GRUCell``, Flux and "Deep
Learning from Scratch 2" style) take the state and return the new one: ``state, y = cell(state, x)``.
"""
import numpy

from .. import functions as F
from ..core import Variable
from ._checks import check_size
from .connection import Linear
from .link import Chain


def _add_weights(link, in_size, out_size, gates=1, forget_bias_init=None, upward_init=None,
                 lateral_init=None, bias_init=None, lateral_bias=False):
    """Give a recurrent link its weights, the same for the stateful links and the cells:
    ``upward`` (W_x and b: ``Linear(in_size, gates * out_size)``) and ``lateral`` (W_h, no bias
    unless ``lateral_bias``: a GRU's b_h, which the reset gate scales).
    An LSTM (gates=4, blocks [i, f, g, o]) starts its forget-gate bias at ``forget_bias_init``."""
    name = type(link).__name__
    check_size(name, "in_size", in_size, allow_none=True)
    check_size(name, "out_size", out_size)
    with link.init_scope():  # *_init: an initializer, a number or an array (Chainer's names)
        link.upward = Linear(in_size, gates * out_size, initialW=upward_init, initial_bias=bias_init)
        link.lateral = Linear(out_size, gates * out_size, nobias=not lateral_bias, initialW=lateral_init,
                              initial_bias=bias_init if lateral_bias else None)
    if forget_bias_init is not None:
        link.upward.b.array[out_size:2 * out_size] = forget_bias_init


def _zero_cell(link, x, out_size):
    """An LSTM's first cell state: zeros of shape (batch, out_size) in the weights' dtype."""
    return Variable(link.upward.xp.zeros((len(x), out_size), dtype=link.upward.W.dtype))


class _Stateful(Chain):
    """What the stateful links share: a step counter, reset, truncate and moving the state."""

    state_names = ("h",)
    counts_steps = True

    def __call__(self, x, mask=None):
        """One step. With ``mask`` (B,), a padded batch: only the sequences still alive advance, the
        others keep their state and get no gradient from this step (``links.masked.masked_step``)."""
        if mask is None:
            return super().__call__(x)
        from .masked import masked_step
        return masked_step(self, x, mask)

    def _time_step(self):
        return self.step

    def reset_state(self):
        """Forget the state: the next call starts from zeros (Flux's ``reset!``)."""
        for name in self.state_names:
            object.__setattr__(self, name, None)
        self.step = 0

    def truncate(self):
        """Keep the state's values but cut its history (Flux's ``truncate!``)."""
        for name in self.state_names:
            v = getattr(self, name)
            if v is not None:
                v.unchain_backward()

    def get_state(self):
        return {n: getattr(self, n) for n in self.state_names}

    def set_state(self, **state):
        for name, value in state.items():
            if name not in self.state_names:
                raise ValueError(f"{type(self).__name__}.set_state: unknown state {name!r}; "
                                 f"expected {self.state_names}")
            if value is not None and not isinstance(value, Variable):
                value = Variable(value)
            object.__setattr__(self, name, value)

    def _to_device_extra(self, device):
        from ..core import backend
        for name in self.state_names:
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, Variable(backend.to_device(v.array, device)))

    def _copy_extra(self, mode):
        self.reset_state()

    def _advance(self):
        self.step += 1

    def _check_batch(self, x, state):
        """A new batch size needs a fresh state: refuse it rather than broadcast the old one."""
        if state is not None and x.shape[0] != state.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: the batch size changed from {state.shape[0]} to {x.shape[0]} "
                f"without reset_state(); the state holds one row per sequence of the old batch. "
                f"Call reset_state() before feeding a batch of another size")


class RNN(_Stateful):
    """Stateful Elman layer:  h_t = tanh(W_x x_t + W_h h_{t-1} + b)."""

    def __init__(self, in_size, out_size):
        super().__init__()
        _add_weights(self, in_size, out_size)
        self.reset_state()

    def forward(self, x):
        self._check_batch(x, self.h)
        a = self.upward(x)
        if self.h is not None:
            a = a + self.lateral(self.h)
        self.h = F.tanh(a)
        self._advance()
        return self.h


class LSTM(_Stateful):
    """Stateful LSTM layer (one step per call, one graph node per step: ``F.lstm_step``).

    gates = W_x x_t + W_h h_{t-1} + b, in blocks [i, f, g, o]; the forget-gate bias starts at 1.
    W_x and b live in the child link ``upward``, W_h in ``lateral`` (Chainer's names).
    ``h`` and ``c`` are readable; ``reset_state()`` zeroes them.
    """

    state_names = ("c", "h")

    def __init__(self, in_size, out_size, forget_bias_init=1.0, lateral_init=None, upward_init=None,
                 bias_init=None):
        super().__init__()
        self.state_size = out_size
        _add_weights(self, in_size, out_size, 4, forget_bias_init, upward_init, lateral_init, bias_init)
        self.reset_state()

    def forward(self, x):
        self._check_batch(x, self.c)
        W_x = _upward_weights(self, x)
        if self.c is None:
            self.c = _zero_cell(self, x, self.state_size)
        # one graph node per step: the gates' two linear maps and the cell, fused (F.lstm_step)
        self.c, self.h = F.lstm_step(self.c, self.h, x, W_x, self.lateral.W, self.upward.b)
        self._advance()
        return self.h


class RNNCell(Chain):
    """Explicit-state Elman cell:  h' = tanh(W_x x + W_h h + b);  ``h', y = cell(h, x)`` with y = h'."""

    def __init__(self, in_size, out_size):
        super().__init__()
        self.out_size = out_size
        _add_weights(self, in_size, out_size)

    def initial_state(self, batch_size, dtype=numpy.float32):
        return Variable(self.xp.zeros((batch_size, self.out_size), dtype=dtype))

    def forward(self, h, x):
        a = self.upward(x)
        if h is not None:
            a = a + self.lateral(h)
        h = F.tanh(a)
        return h, h


class LSTMCell(Chain):
    """Explicit-state LSTM cell:  ``(h', c'), y = cell((h, c), x)`` with y = h'. Gates as in ``LSTM``."""

    def __init__(self, in_size, out_size, forget_bias_init=1.0):
        super().__init__()
        self.out_size = out_size
        _add_weights(self, in_size, out_size, 4, forget_bias_init)

    def initial_state(self, batch_size, dtype=numpy.float32):
        z = self.xp.zeros((batch_size, self.out_size), dtype=dtype)
        return Variable(z), Variable(z.copy())

    def forward(self, state, x):
        W_x = _upward_weights(self, x)
        if state is None:
            h, c = None, _zero_cell(self, x, self.out_size)
        else:
            h, c = state
        c, h = F.lstm_step(c, h, x, W_x, self.lateral.W, self.upward.b)
        return (h, c), h


def _upward_weights(link, x):
    """``upward``'s W, created at the first call when ``in_size`` was None (inferred from x)."""
    if link.upward.W.array is None:
        link.upward._initialize(int(numpy.prod(x.shape[1:])))
    return link.upward.W


class GRU(_Stateful):
    """Stateful GRU layer (one step per call, one graph node per step: ``F.gru_step``).

    PyTorch's formulation (the reset gate after the recurrent product; see
    ``rnnviz.functions.recurrent`` for how it differs from Chainer's ``L.GRU``), blocks [r, z, n]:

        r = sigmoid(W_xr x + b_xr + W_hr h + b_hr),  z = sigmoid(W_xz x + b_xz + W_hz h + b_hz)
        n = tanh(W_xn x + b_xn + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h

    W_x and b_x live in the child link ``upward`` (PyTorch's weight_ih, bias_ih), W_h and b_h in
    ``lateral`` (weight_hh, bias_hh); both biases start at ``bias_init`` (zeros by default).
    ``h`` is readable; ``reset_state()`` forgets it (the next step starts from zeros).
    """

    state_names = ("h",)

    def __init__(self, in_size, out_size, lateral_init=None, upward_init=None, bias_init=None):
        super().__init__()
        self.state_size = out_size
        _add_weights(self, in_size, out_size, 3, None, upward_init, lateral_init, bias_init,
                     lateral_bias=True)
        self.reset_state()

    def forward(self, x):
        self._check_batch(x, self.h)
        W_x = _upward_weights(self, x)
        # one graph node per step: the two linear maps and the gates, fused (F.gru_step)
        self.h = F.gru_step(self.h, x, W_x, self.lateral.W, self.upward.b, self.lateral.b)
        self._advance()
        return self.h


class GRUCell(Chain):
    """Explicit-state GRU cell:  ``h', y = cell(h, x)`` with y = h'. Gates and weights as in ``GRU``;
    ``h`` None is the zero state."""

    def __init__(self, in_size, out_size, lateral_init=None, upward_init=None, bias_init=None):
        super().__init__()
        self.out_size = out_size
        _add_weights(self, in_size, out_size, 3, None, upward_init, lateral_init, bias_init,
                     lateral_bias=True)

    def initial_state(self, batch_size, dtype=numpy.float32):
        return Variable(self.xp.zeros((batch_size, self.out_size), dtype=dtype))

    def forward(self, h, x):
        W_x = _upward_weights(self, x)
        h = F.gru_step(h, x, W_x, self.lateral.W, self.upward.b, self.lateral.b)
        return h, h
