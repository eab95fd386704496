"""Checks for the autograd-functions assignment: four FunctionNodes, ``sum_to`` and a tiny network.

A FunctionNode check (``sigmoid``, ``mul``, ``matmul``, ``sum_axis``) makes a fresh node of the
learner's class, applies it to the case's arrays and calls its ``backward`` once with an output
gradient ``gy``; the grader compares the forward output with NumPy and each gradient with central
finite differences of the NumPy formula (``rnnviz.grading.checks.numerical_gradients``), as
``check_function`` does. ``sum_to`` compares ``sum_to(g, shape)`` with NumPy's sums;
``sigmoid_dtype`` checks that a float32 input gives a float32 output; ``together`` builds
``sum(sigmoid(x @ W) * v)`` from the learner's four classes, runs rnnviz's backward engine on it and
compares ``W.grad`` and ``v.grad`` with finite differences.

The arrays of a case come from ``numpy.random.default_rng(seed)`` (drawn in the order of the
arguments), the output gradient ``gy`` from ``default_rng(gy_seed + 1)``; the hidden tests call the
same checks with other shapes, axes and seeds.
"""
import numpy

from ...core import Variable
from ..checks import USUAL_MISTAKES, check_array, numerical_gradients
from ..protocol import Check, Received, describe_error, format_error, host, register

# errors that CuPy (or rnnviz) raises when NumPy arrays are mixed into a GPU run
_NUMPY_ON_GPU = ("Unsupported type <class 'numpy", "Implicit conversion to a NumPy array",
                 "mix of NumPy (cpu) and CuPy (gpu)")


def _rng(seed):
    return numpy.random.default_rng(seed)


def _gy(gy_seed, shape):
    """The output gradient of a FunctionNode check (``check_function``'s: seed + 1)."""
    return _rng(gy_seed + 1).standard_normal(tuple(shape))


def _caught(call):
    """``call()``'s value, or the learner's exception as plain data ({"error": ...})."""
    try:
        return {"value": call()}
    except Exception as exc:  # noqa: BLE001 - the learner's error is reported in its turn
        return {"error": describe_error(exc)}


# ``protocol.pack`` sends a 0-d array as one of shape (1,) (``numpy.ascontiguousarray`` gives at
# least one axis), so ``run`` names its 0-d arrays and ``judge`` gives them their shape () back.
ZERO_DIM = "0-d"


def _is_0d(value):
    value = getattr(value, "array", value)  # a Variable gives its array
    return getattr(value, "ndim", None) == 0 and not isinstance(value, numpy.generic)


def _mark_0d(got):
    """``got`` with the places of its 0-d arrays (a key, or a key and an index) under ZERO_DIM."""
    marks = []
    for key, value in got.items():
        if _is_0d(value):
            marks.append([key])
        elif isinstance(value, (tuple, list)):
            marks.extend([key, i] for i, v in enumerate(value) if _is_0d(v))
    got[ZERO_DIM] = marks
    return got


def _restore_0d(got):
    """``got`` (as judge receives it) with the arrays ``_mark_0d`` named given their shape ()."""
    def zero_dim(v):
        return Received(v.array.reshape(()), v.origin) if isinstance(v, Received) and v.array.size == 1 else v

    got = dict(got)
    marks = got.pop(ZERO_DIM, [])
    for mark in marks if isinstance(marks, list) else []:
        if not isinstance(mark, list) or not mark or not isinstance(mark[0], str) or mark[0] not in got:
            continue
        if len(mark) == 1:
            got[mark[0]] = zero_dim(got[mark[0]])
        elif len(mark) == 2 and isinstance(got[mark[0]], (tuple, list)) and isinstance(mark[1], int) \
                and 0 <= mark[1] < len(got[mark[0]]):
            items = list(got[mark[0]])
            items[mark[1]] = zero_dim(items[mark[1]])
            got[mark[0]] = type(got[mark[0]])(items)
    return got


class _AutogradCheck(Check):
    def explain(self, error):
        message = str(error.get("message", ""))
        if any(s in message for s in _NUMPY_ON_GPU):
            return f"usual mistake: {USUAL_MISTAKES['numpy_on_gpu']}"
        return ""

    def _raise_error(self, error):
        hint = self.explain(error)
        raise AssertionError(format_error(error) + (f"\n  {hint}" if hint else ""))


class _NodeCheck(_AutogradCheck):
    """A one-output FunctionNode: forward against ``reference``, backward against finite
    differences of ``reference`` (the tolerances and messages of ``check_function``)."""

    names = ()                 # the inputs' names, in the order of forward's arguments
    rtol, atol = 1e-5, 1e-7

    def make_node(self, cls, inputs):
        return cls()

    def reference(self, inputs, *xs):
        raise NotImplementedError

    def label(self, inputs):
        return self.learner[0]

    def run(self, cls, inputs, xp):
        node = self.make_node(cls, inputs)
        outputs = node.apply([inputs[n] for n in self.names])
        got = {"forward": tuple(y.array for y in outputs)}
        if len(outputs) == 1:
            y = outputs[0].array
            step = _caught(lambda: node.backward(xp.array(inputs["gy"], dtype=y.dtype)))
            got["backward"] = step.get("value")
            if "error" in step:
                got["backward_error"] = step["error"]
        return _mark_0d(got)

    def judge(self, inputs, got, run):
        got = _restore_0d(got)
        dev, label = run.device, self.label(inputs)
        xs = [numpy.array(host(inputs[n]), dtype=numpy.float64) for n in self.names]
        reference = lambda *a: self.reference(inputs, *a)  # noqa: E731
        outputs = got["forward"]
        if len(outputs) != 1:
            raise AssertionError(f"{label}: forward should return one array, it returned {len(outputs)}")
        check_array(f"{label} forward output", outputs[0], reference(*xs), device=dev,
                    rtol=self.rtol, atol=self.atol)
        if "backward_error" in got:
            self._raise_error(got["backward_error"])
        gxs = got["backward"]
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        if len(gxs) != len(xs):
            raise AssertionError(
                f"{label}.backward returned {len(gxs)} gradient(s) for {len(xs)} input(s): return "
                f"one gradient per input of forward, in the same order, as a tuple")
        numeric = numerical_gradients(reference, xs, host(inputs["gy"]))
        for name, gx, num in zip(self.names, gxs, numeric):
            check_array(f"{label}: gradient of {name}", gx, num, device=dev, rtol=self.rtol,
                        atol=max(self.atol, 1e-6))


@register
class Sigmoid(_NodeCheck):
    """``Sigmoid()``: y = 1 / (1 + exp(-x)) on ``scale * randn(shape)``."""

    name = "autograd_functions.sigmoid"
    learner = ("Sigmoid",)
    names = ("x",)

    def inputs(self, seed, shape, scale=1, gy_seed=0):
        return {"x": scale * _rng(seed).standard_normal(tuple(shape)), "gy": _gy(gy_seed, shape)}

    def reference(self, inputs, x):
        return 1 / (1 + numpy.exp(-x))


@register
class SigmoidDtype(_AutogradCheck):
    """``Sigmoid()`` on float32 zeros: the output keeps the input's dtype."""

    name = "autograd_functions.sigmoid_dtype"
    learner = ("Sigmoid",)

    def inputs(self, shape):
        return {"x": numpy.zeros(tuple(shape), numpy.float32)}

    def run(self, cls, inputs, xp):
        return {"y": cls().apply((inputs["x"],))[0].array}

    def judge(self, inputs, got, run):
        y = got["y"]
        kind = y.dtype if isinstance(y, Received) else "non-array"
        assert isinstance(y, Received) and y.dtype == numpy.float32, \
            f"Sigmoid: a float32 input gave a {kind} output; keep the input's dtype"


@register
class Mul(_NodeCheck):
    """``Mul()``: y = x0 * x1 with broadcasting (``x0`` and ``x1`` are the inputs' shapes)."""

    name = "autograd_functions.mul"
    learner = ("Mul",)
    names = ("x0", "x1")

    def inputs(self, seed, x0, x1, gy_seed=0):
        rng = _rng(seed)
        a, b = rng.standard_normal(tuple(x0)), rng.standard_normal(tuple(x1))
        return {"x0": a, "x1": b, "gy": _gy(gy_seed, numpy.broadcast_shapes(a.shape, b.shape))}

    def label(self, inputs):
        return f"Mul {host(inputs['x0']).shape} * {host(inputs['x1']).shape}"

    def reference(self, inputs, x0, x1):
        return x0 * x1


@register
class MatMul(_NodeCheck):
    """``MatMul()``: y = x @ W for x of shape (N, D) and W of shape (D, H)."""

    name = "autograd_functions.matmul"
    learner = ("MatMul",)
    names = ("x", "W")

    def inputs(self, seed, N, D, H, gy_seed=0):
        rng = _rng(seed)
        x, W = rng.standard_normal((N, D)), rng.standard_normal((D, H))
        return {"x": x, "W": W, "gy": _gy(gy_seed, (N, H))}

    def reference(self, inputs, x, W):
        return x @ W


@register
class SumAxis(_NodeCheck):
    """``SumAxis(axis, keepdims)``: y = x.sum(axis=axis, keepdims=keepdims)."""

    name = "autograd_functions.sum_axis"
    learner = ("SumAxis",)
    names = ("x",)

    def inputs(self, seed, shape, axis, keepdims=None, gy_seed=0):
        x = _rng(seed).standard_normal(tuple(shape))
        out_shape = numpy.zeros(x.shape).sum(axis=axis, keepdims=bool(keepdims)).shape
        return {"x": x, "axis": int(axis), "keepdims": None if keepdims is None else bool(keepdims),
                "gy": _gy(gy_seed, out_shape)}

    def make_node(self, cls, inputs):
        # SumAxis(axis) when the test cell gives no keepdims, else SumAxis(axis, keepdims)
        if inputs["keepdims"] is None:
            return cls(inputs["axis"])
        return cls(inputs["axis"], inputs["keepdims"])

    def label(self, inputs):
        if inputs["keepdims"] is None:
            return f"SumAxis({inputs['axis']})"
        return f"SumAxis({inputs['axis']}, keepdims={inputs['keepdims']})"

    def reference(self, inputs, x):
        return x.sum(axis=inputs["axis"], keepdims=bool(inputs["keepdims"]))


def sum_to_reference(g, shape):
    """``g`` summed down to ``shape``: over its leading axes, and with keepdims over the axes where
    ``shape`` has 1."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


@register
class SumTo(_AutogradCheck):
    """``sum_to(g, shape)`` for ``g = randn(g_shape)``."""

    name = "autograd_functions.sum_to"
    learner = ("sum_to",)

    def inputs(self, seed, g_shape, shape):
        return {"g": _rng(seed).standard_normal(tuple(g_shape)), "shape": tuple(int(n) for n in shape)}

    def run(self, sum_to, inputs, xp):
        return _mark_0d({"out": sum_to(inputs["g"], inputs["shape"])})

    def judge(self, inputs, got, run):
        got = _restore_0d(got)
        shape = tuple(inputs["shape"])
        check_array(f"sum_to(g, {shape})", got["out"], sum_to_reference(host(inputs["g"]), shape),
                    device=run.device)


def tiny_net_reference(x, W, v):
    return ((1 / (1 + numpy.exp(-(x @ W)))) * v).sum()


@register
class Together(_AutogradCheck):
    """The four classes in one graph: loss = SumAxis(0)(SumAxis(1)(Mul()(Sigmoid()(MatMul()(x, W)), v)))
    for x (n, d), W (d, h), v (h,); ``loss.backward()`` by rnnviz's engine fills W.grad and v.grad."""

    name = "autograd_functions.together"
    learner = ("Sigmoid", "MatMul", "Mul", "SumAxis")

    def inputs(self, seed, n, d, h):
        rng = _rng(seed)
        x, W, v = rng.standard_normal((n, d)), rng.standard_normal((d, h)), rng.standard_normal(h)
        return {"x": x, "W": W, "v": v}

    def run(self, Sigmoid, MatMul, Mul, SumAxis, inputs, xp):
        def call(node, *xs):
            return node.apply(xs)[0]

        Wv, vv = Variable(inputs["W"]), Variable(inputs["v"])
        h = call(Sigmoid(), call(MatMul(), inputs["x"], Wv))
        loss = call(SumAxis(0), call(SumAxis(1), call(Mul(), h, vv)))
        got = {"loss": loss.array}
        step = _caught(loss.backward)
        if "error" in step:
            got["backward_error"] = step["error"]
        got["W.grad"], got["v.grad"] = Wv.grad, vv.grad
        return _mark_0d(got)

    def judge(self, inputs, got, run):
        got = _restore_0d(got)
        dev = run.device
        x, W, v = (host(inputs[k]) for k in ("x", "W", "v"))
        check_array("loss", got["loss"], numpy.asarray(tiny_net_reference(x, W, v)), device=dev)
        if "backward_error" in got:
            self._raise_error(got["backward_error"])
        _, num_W, num_v = numerical_gradients(tiny_net_reference, [x, W, v], 1.0)
        check_array("W.grad", got["W.grad"], num_W, device=dev, rtol=1e-5, atol=1e-6)
        check_array("v.grad", got["v.grad"], num_v, device=dev, rtol=1e-5, atol=1e-6)
