"""Checks for the LSTM assignment: one step forward and backward against rnnviz's fused ``F.lstm``.

``lstm.forward`` checks ``(h_next, c_next)``; ``lstm.step`` checks them and then every gradient of
one backward call. The learner's ``LSTM(Wx, Wh, b)`` has ``forward(x, h_prev, c_prev)``,
``backward(dh_next, dc_next)`` and ``grads``.
"""
import numpy

from ... import functions as F
from ...core import Variable
from ..checks import check_array
from ..protocol import Check, host, register

GATES = {"parts": (1, ["i", "f", "g", "o"])}    # the 4H axis of Wx and Wh: which gates are wrong
GATES_B = {"parts": (0, ["i", "f", "g", "o"])}  # ... and of b
ORDER = ("the gates must be laid out [i, f, g, o] along the 4H axis (rnnviz and PyTorch); "
         "[f, g, i, o] is the book's order")
GATE_SLICES = ("check each gate's slice and activation: blocks [i, f, g, o] along the 4H axis "
               "(A[:, :H] is i, A[:, H:2*H] is f, ...), sigmoid for i, f, o and tanh for g")
NAMES = ("x", "h_prev", "c_prev", "Wx", "Wh", "b", "dh_next", "dc_next")


def lstm_reference(x, h_prev, c_prev, Wx, Wh, b, dh_next, dc_next):
    """(h_next, c_next) and the gradients (dx, dh_prev, dc_prev, dWx, dWh, db) from F.lstm."""
    vs = [Variable(a) for a in (x, h_prev, c_prev, Wx, Wh, b)]
    x_, h_, c_, Wx_, Wh_, b_ = vs
    A = F.matmul(x_, Wx_) + F.matmul(h_, Wh_)
    c_next, h_next = F.lstm(c_, A + F.broadcast_to(b_, A.shape))
    loss = F.sum(h_next * Variable(dh_next)) + F.sum(c_next * Variable(dc_next))
    loss.backward()
    return (h_next.array, c_next.array), [v.grad for v in vs]


@register
class Forward(Check):
    """``LSTM.forward``: h_next and c_next."""

    name = "lstm.forward"
    learner = ("LSTM",)
    backward = False

    def inputs(self, seed, N, D, H):
        shapes = [(N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,), (N, H), (N, H)]
        return {n: numpy.random.default_rng(seed + k).standard_normal(s)
                for k, (n, s) in enumerate(zip(NAMES, shapes))}

    def run(self, LSTM, inputs, xp):
        a = inputs
        layer = LSTM(a["Wx"], a["Wh"], a["b"])
        got = {"forward": layer.forward(a["x"], a["h_prev"], a["c_prev"])}
        if self.backward:
            got["backward"] = layer.backward(a["dh_next"], a["dc_next"])
            got["grads"] = layer.grads
        return got

    def judge(self, inputs, got, run):
        dev = run.device
        (want_h, want_c), grads = lstm_reference(*(host(inputs[n]) for n in NAMES))
        out = got["forward"]
        assert isinstance(out, tuple) and len(out) == 2, "LSTM.forward should return (h_next, c_next)"
        check_array("LSTM.forward: c_next", out[1], want_c, device=dev, mistakes={"other": GATE_SLICES})
        check_array("LSTM.forward: h_next", out[0], want_h, device=dev, mistakes={"other": GATE_SLICES})
        if not self.backward:
            return
        out = got["backward"]
        assert isinstance(out, tuple) and len(out) == 3, "LSTM.backward should return (dx, dh_prev, dc_prev)"
        layer_grads = got["grads"]
        assert isinstance(layer_grads, (list, tuple)) and len(layer_grads) == 3, \
            "LSTM.grads should hold three arrays: [dWx, dWh, db]"
        want_dx, want_dh, want_dc, want_dWx, want_dWh, want_db = grads
        check_array("LSTM.backward: dc_prev", out[2], want_dc, device=dev, mistakes={
            "other": "dc_prev = dc * f, where dc also collects the path through h: "
                     "dc = dc_next + dh_next * o * (1 - tanh(c_next)**2)"})
        check_array("LSTM.grads[2] (db)", layer_grads[2], want_db, device=dev, mistakes={
            "swapped_parts": ORDER, "shape": "db sums dA over the batch axis (axis=0)"}, **GATES_B)
        check_array("LSTM.grads[0] (dWx)", layer_grads[0], want_dWx, device=dev,
                    mistakes={"swapped_parts": ORDER}, **GATES)
        check_array("LSTM.grads[1] (dWh)", layer_grads[1], want_dWh, device=dev,
                    mistakes={"swapped_parts": ORDER}, **GATES)
        check_array("LSTM.backward: dx", out[0], want_dx, device=dev)
        check_array("LSTM.backward: dh_prev", out[1], want_dh, device=dev)


@register
class Step(Forward):
    """``LSTM.forward`` then ``LSTM.backward``: the outputs and every gradient."""

    name = "lstm.step"
    backward = True
