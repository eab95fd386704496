"""What the assignments' tests call: run a check on each device, compare arrays, explain failures.

A failed comparison names the output or gradient, gives its shape and its relative error, and says
which mistake usually produces that symptom. It never prints the test's inputs or the expected
values, so a hidden test stays hidden even when its message is shown to the learner.

Devices: NumPy always; CuPy as well when it can be used. The environment variable
``RNNVIZ_GRADING_GPU`` decides: ``auto`` (the default) runs the GPU part when CuPy sees a CUDA
device and otherwise prints one line, "GPU part skipped: <reason>", costing no points; ``1``
forces the GPU part (a check fails when no GPU can be used); ``0`` turns it off.
"""
import importlib.util
import os

import numpy

from ..core import backend
from .protocol import Other, Received

ENV_VAR = "RNNVIZ_GRADING_GPU"
_FORCE = ("1", "on", "yes", "true", "gpu", "force")
_OFF = ("0", "off", "no", "false", "cpu")

# The usual mistake behind each symptom. A test can add its own, more precise, sentence per
# symptom with ``mistakes={"transposed": "..."}``.
USUAL_MISTAKES = {
    "none": "nothing was returned or stored: a missing `return`, or a gradient never written",
    "not_array": "a value of the wrong kind was returned (a tuple where an array was expected, or "
                 "the other way round)",
    "numpy_on_gpu": "the code hard-codes NumPy (np.zeros, np.asarray, np.random, ...), so the "
                    "GPU run gets NumPy arrays back; write xp = rnnviz.backend.get_array_module(x) "
                    "and use xp.zeros(...), xp.tanh(...) instead",
    "cupy_on_cpu": "a CuPy array came back on the CPU run: do not move arrays to the GPU yourself",
    "transposed_shape": "a missing or extra transpose (.T), or the two factors of a matrix "
                        "product swapped",
    "reshaped": "the right number of elements in the wrong shape: a reshape or transpose that "
                "is missing or too many",
    "broadcast_shape": "the gradient still has the broadcast shape: sum it over the axes that "
                       "broadcasting added or stretched (sum_to), so it has its input's shape",
    "axis_lost": "an axis was summed away that should stay (keepdims=True, or sum over the other "
                 "axis)",
    "shape": "a sum, mean or broadcast over the wrong axis, or a missing transpose",
    "nan": "an overflow (exp of a large number) or a division by zero",
    "zero": "no gradient reached it: it was overwritten, never accumulated, or the path through "
            "it was skipped",
    "sign": "a sign error (d(a - b)/db = -1; d tanh(x)/dx = 1 - tanh(x)**2, not tanh(x)**2 - 1)",
    "scaled": "a path counted the wrong number of times: a gradient assigned where it should be "
              "added (a variable used twice), or added twice",
    "transposed": "a missing or extra transpose (.T), or the factors of a matrix product swapped",
    "parts": "only some parts are wrong; compare those parts' formulas with the others",
    "swapped_parts": "parts are in the wrong order: the blocks are computed but stored in "
                     "another place (a different gate order)",
    "other": "compare each line with the formula; check the shapes of every intermediate value",
}


class Device:
    """Where a check runs: ``name`` ('cpu' or 'gpu') and ``xp`` (``numpy`` or ``cupy``).

    ``request`` is what the learner's kernel is asked for: ``"cpu"``, ``"gpu"`` (CuPy) or
    ``"standin"`` (``rnnviz.grading.standin``: CuPy's refusal of NumPy arrays, on the CPU)."""

    def __init__(self, name, xp, request=None):
        self.name = name
        self.xp = xp
        self.request = request or name

    @property
    def label(self):
        """How a message names this run ("" for the CPU)."""
        return {"cpu": "", "gpu": "[GPU run, CuPy arrays] ",
                "standin": "[GPU check, on arrays that refuse NumPy like CuPy's] "}[self.request]

    def array(self, a, dtype=None):
        """A copy of ``a`` (a NumPy array or a number) on this device."""
        return self.xp.array(numpy.asarray(a, dtype=dtype))

    def randn(self, seed, *shape, dtype=numpy.float64):
        """Standard-normal numbers on this device; the same numbers on every device for a seed."""
        return self.array(numpy.random.default_rng(seed).standard_normal(shape), dtype)

    def randint(self, seed, high, shape, dtype=numpy.int32):
        """Integers in [0, high) on this device; the same on every device for a seed."""
        return self.array(numpy.random.default_rng(seed).integers(0, high, shape), dtype)

    def __repr__(self):
        return f"Device({self.name!r}, {getattr(self.xp, '__name__', self.xp)}, {self.request!r})"


CPU = Device("cpu", numpy)


def to_numpy(a):
    """A NumPy copy of an array from any device (a Variable gives its ``.array``)."""
    a = getattr(a, "array", a)
    if backend.is_cupy_array(a):
        return a.get()
    return numpy.asarray(a)


def gpu_status():
    """``(True, "")`` when the GPU part should run, else ``(False, reason)``.

    Raises RuntimeError when ``RNNVIZ_GRADING_GPU`` forces the GPU part and no GPU can be used.
    """
    raw = os.environ.get(ENV_VAR, "auto")
    mode = raw.strip().lower()
    if mode in _OFF:
        return False, f"{ENV_VAR}={raw} turns it off"
    if importlib.util.find_spec("cupy") is None:
        reason = "CuPy is not installed"
    elif not backend.gpu_available():
        reason = "CuPy sees no CUDA device"
    else:
        return True, ""
    if mode in _FORCE:
        raise RuntimeError(f"{ENV_VAR}={raw} asks for the GPU part, but {reason}")
    return False, reason


def devices():
    """The devices a graded check runs on: the CPU, then the GPU when it can be used."""
    usable, _ = gpu_status()
    if usable:
        import cupy
        return [CPU, Device("gpu", cupy)]
    return [CPU]


STANDIN = Device("gpu", None, request="standin")


def graded_devices():
    """Where each case of a graded check runs: the CPU, then the GPU with CuPy where one can be
    used, else the CuPy stand-in (so that NumPy hard-coded in the learner's math fails on every
    machine). ``RNNVIZ_GRADING_GPU=0`` leaves the CPU alone; ``1`` demands a real GPU."""
    usable, reason = gpu_status()
    if usable:
        import cupy
        return [CPU, Device("gpu", cupy)]
    if reason.endswith("turns it off"):
        return [CPU]
    return [CPU, STANDIN]


_skip_noted_at = [None]


def _note_gpu_skipped(reason):
    """Print "GPU part skipped: <reason>" once per notebook cell (every time outside IPython)."""
    count = None
    try:
        ip = get_ipython()  # noqa: F821  (defined inside IPython only)
        count = ip.execution_count
    except NameError:
        pass
    if count is not None and _skip_noted_at[0] == count:
        return
    _skip_noted_at[0] = count
    print(f"GPU part skipped: {reason}")


def for_each_device(check):
    """Run ``check(device)`` on the CPU with NumPy, then on the GPU with CuPy when one can be used.

    Without a GPU it prints "GPU part skipped: <reason>" and the cell passes on the CPU result
    alone. A failure on the GPU only is reported as such, with the usual reason: NumPy hard-coded.
    """
    usable, reason = gpu_status()
    check(CPU)
    if not usable:
        _note_gpu_skipped(reason)
        return
    for dev in devices()[1:]:
        try:
            check(dev)
        except AssertionError as e:
            raise AssertionError(f"[GPU run, CuPy arrays] {e}") from None
        except Exception as e:
            raise AssertionError(
                f"[GPU run, CuPy arrays] the code passed on the CPU but raised "
                f"{type(e).__name__} on CuPy arrays: {_first_line(e)}\n  usual mistake: "
                f"{USUAL_MISTAKES['numpy_on_gpu']}") from e


def _first_line(e):
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""


# -- comparing arrays --------------------------------------------------------------------------

def relative_error(got, want):
    """``|got - want| / |want|`` (Frobenius norms; the denominator is at least 1e-12)."""
    g = to_numpy(got).astype(numpy.float64)
    w = to_numpy(want).astype(numpy.float64)
    return float(numpy.linalg.norm(g - w) / max(numpy.linalg.norm(w), 1e-12))


def _shape_symptom(gs, ws):
    if len(gs) == len(ws) == 2 and gs == ws[::-1]:
        return "transposed_shape", "its shape is the transpose of the expected one"
    if int(numpy.prod(gs)) == int(numpy.prod(ws)):
        return "reshaped", "it has the right number of elements in another shape"
    if len(gs) > len(ws) or (len(gs) == len(ws) and all(g >= w for g, w in zip(gs, ws))
                             and any(w == 1 for w in ws)):
        return "broadcast_shape", "it is larger than the input it belongs to"
    if len(gs) < len(ws):
        return "axis_lost", "it has fewer axes than expected"
    return "shape", "its shape differs from the expected one"


def _value_symptom(g, w, rtol, atol, parts):
    close = lambda a, b: numpy.allclose(a, b, rtol=rtol, atol=atol)  # noqa: E731
    if not numpy.any(g) and numpy.any(w):
        return "zero", "it is all zeros"
    if close(g, -w):
        return "sign", "it has the opposite sign of the expected value"
    ww = float((w * w).sum())
    if ww > 0:
        k = float((g * w).sum()) / ww
        if abs(k - 1) > 1e-3 and close(g, k * w):
            return "scaled", f"it is the expected value times {k:.3g}"
    if g.ndim == 2 and g.shape[0] == g.shape[1] and g.shape[0] > 1 and close(g, w.T):
        return "transposed", "it is the transpose of the expected value"
    if parts is not None:
        axis, labels = parts
        n = g.shape[axis]
        labels = list(labels) if labels is not None else [str(i) for i in range(n)]
        if n % len(labels) == 0 and len(labels) > 1:
            gp = numpy.split(g, len(labels), axis=axis)
            wp = numpy.split(w, len(labels), axis=axis)
            wrong = [i for i in range(len(labels)) if not close(gp[i], wp[i])]
            right = [i for i in range(len(labels)) if i not in wrong]
            if wrong:
                moved = [(labels[i], labels[j]) for i in wrong for j in range(len(labels))
                         if j != i and close(gp[i], wp[j]) and numpy.any(wp[j])]
                text = (f"part(s) {', '.join(labels[i] for i in wrong)} are wrong"
                        + (f", {', '.join(labels[i] for i in right)} are right" if right else ""))
                if moved:
                    text += "; " + ", ".join(f"{a} holds what {b} should hold" for a, b in moved)
                    return "swapped_parts", text
                if right:
                    return "parts", text
    return "other", None


def check_array(name, got, want, *, device=None, rtol=1e-6, atol=1e-9, mistakes=None, parts=None):
    """Assert that ``got`` equals ``want`` to ``rtol``/``atol``; explain the difference if not.

    ``name`` says what is compared ("dWh", "gradient of x"); ``device`` is the Device of the run
    (a NumPy result on the GPU run is an error: NumPy is hard-coded); ``mistakes`` maps a symptom
    (``"shape"``, ``"transposed_shape"``, ``"broadcast_shape"``, ``"zero"``, ``"sign"``,
    ``"scaled"``, ``"transposed"``, ``"parts"``, ``"swapped_parts"``, ``"other"``, ...) to the
    mistake that usually causes it in this exercise; ``parts=(axis, labels)`` splits that axis into
    equal blocks (the LSTM's gates, the time steps) and says which are wrong.
    The message gives the name, the shape and the relative error, never the values.
    """
    mistakes = dict(mistakes or {})

    def fail(symptom, text, detail=""):
        usual = mistakes.get(symptom) or (mistakes.get("other") if symptom in ("other", "parts") else None) \
            or USUAL_MISTAKES.get(symptom, USUAL_MISTAKES["other"])
        msg = f"{name} is wrong{detail}"
        if text:
            msg += f": {text}"
        raise AssertionError(f"{msg}.\n  usual mistake: {usual}")

    origin = None
    if isinstance(got, Received):  # what the learner's process sent back: its values and device
        got, origin = got.array, got.origin
    got = getattr(got, "array", got)  # a Variable gives its array
    if got is None:
        fail("none", "it is None")
    if isinstance(got, Other):
        fail("not_array", f"expected an array, got a {got.type_name}")
    if not (isinstance(got, numpy.ndarray) or backend.is_cupy_array(got) or numpy.isscalar(got)):
        fail("not_array", f"expected an array, got a {type(got).__name__}")
    on_gpu = origin == "cupy" if origin is not None else backend.is_cupy_array(got)
    if device is not None and device.name == "gpu" and not on_gpu:
        fail("numpy_on_gpu", "it is a NumPy array on the GPU run, where the inputs were CuPy arrays")
    if device is not None and device.name == "cpu" and on_gpu:
        fail("cupy_on_cpu", "it is a CuPy array on the CPU run")
    g = to_numpy(got)
    w = to_numpy(want)
    if g.shape != w.shape:
        symptom, text = _shape_symptom(g.shape, w.shape)
        fail(symptom, text, f" (shape {g.shape}, expected shape {w.shape})")
    g = g.astype(numpy.float64)
    w = w.astype(numpy.float64)
    if not numpy.all(numpy.isfinite(g)):
        fail("nan", "it contains NaN or infinity", f" (shape {g.shape})")
    if numpy.allclose(g, w, rtol=rtol, atol=atol):
        return
    symptom, text = _value_symptom(g, w, rtol, atol, parts)
    fail(symptom, text, f" (shape {g.shape}, relative error {relative_error(g, w):.2g})")


def unchanged(a, kept):
    """Whether the array ``a`` still holds what ``kept`` (its copy) holds: shape, dtype, values
    (NaN equal to NaN), on any device."""
    try:
        if a.shape != kept.shape or a.dtype != kept.dtype:
            return False
        return bool(((a == kept) | ((a != a) & (kept != kept))).all())
    except Exception:  # noqa: BLE001 - something that is no longer an array
        return False


# -- gradient checks of a FunctionNode ------------------------------------------------------------

def numerical_gradients(forward, inputs, gy, eps=1e-6):
    """Central differences of ``sum(forward(*inputs) * gy)`` w.r.t. each input (float64, NumPy)."""
    inputs = [numpy.array(x, dtype=numpy.float64) for x in inputs]
    gy = numpy.asarray(gy, dtype=numpy.float64)
    grads = []
    for x in inputs:
        g = numpy.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = float((numpy.asarray(forward(*inputs), dtype=numpy.float64) * gy).sum())
            flat[i] = old - eps
            minus = float((numpy.asarray(forward(*inputs), dtype=numpy.float64) * gy).sum())
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def check_function(make_node, inputs, reference, *, device, label, names=None, seed=0,
                   mistakes=None, rtol=1e-5, atol=1e-7):
    """Check a one-output FunctionNode: its forward against ``reference`` and its backward against
    central finite differences of ``reference``, on ``device``.

    ``make_node()`` returns a fresh node; ``inputs`` are NumPy float64 arrays (copied to the
    device); ``reference(*numpy_arrays)`` computes the expected output with NumPy. ``mistakes``
    maps an input's name to a ``check_array`` mistakes dict for its gradient, and ``"forward"``
    to the one for the output.
    """
    mistakes = mistakes or {}
    names = list(names or [f"input {k}" for k in range(len(inputs))])
    xs = [device.array(x) for x in inputs]
    node = make_node()
    outputs = node.apply(xs)
    if len(outputs) != 1:
        raise AssertionError(f"{label}: forward should return one array, it returned {len(outputs)}")
    y = outputs[0].array
    want = reference(*[numpy.array(x) for x in inputs])
    check_array(f"{label} forward output", y, want, device=device, rtol=rtol, atol=atol,
                mistakes=mistakes.get("forward"))
    gy_host = numpy.random.default_rng(seed + 1).standard_normal(numpy.shape(want))
    gxs = node.backward(device.array(gy_host, dtype=y.dtype))
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    if len(gxs) != len(inputs):
        raise AssertionError(
            f"{label}.backward returned {len(gxs)} gradient(s) for {len(inputs)} input(s): return "
            f"one gradient per input of forward, in the same order, as a tuple")
    numeric = numerical_gradients(reference, inputs, gy_host)
    for name, gx, num in zip(names, gxs, numeric):
        check_array(f"{label}: gradient of {name}", gx, num, device=device, rtol=rtol,
                    atol=max(atol, 1e-6), mistakes=mistakes.get(name))
