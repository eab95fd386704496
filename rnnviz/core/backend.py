"""The array backend: NumPy on the CPU, CuPy on a GPU.

CuPy is imported lazily and is optional; its absence is an error only when a GPU is asked for.
"""
import numpy

_cupy = None
_cupy_checked = False


def _get_cupy():
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy

            _cupy = cupy
        except Exception:  # ImportError, or a CUDA driver problem at import
            _cupy = None
    return _cupy


def gpu_available():
    """True when CuPy imports and sees at least one CUDA device."""
    cp = _get_cupy()
    if cp is None:
        return False
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def is_cupy_array(a):
    """True for a CuPy ndarray (checked by module name, so CuPy need not be imported)."""
    return type(a).__module__.startswith("cupy")


def get_array_module(*arrays):
    """``numpy`` or ``cupy``, whichever the arrays (or Variables) live in."""
    for a in arrays:
        a = getattr(a, "array", a)
        if is_cupy_array(a):
            return _get_cupy()
    return numpy


def device_of(a):
    """``'gpu'`` for a CuPy array, ``'cpu'`` otherwise."""
    return "gpu" if is_cupy_array(a) else "cpu"


def check_same_device(func_name, arrays):
    """Raise TypeError naming ``func_name`` when NumPy and CuPy arrays are mixed."""
    kinds = {device_of(a) for a in arrays if a is not None and not numpy.isscalar(a)}
    if len(kinds) > 1:
        desc = ", ".join(f"{type(a).__module__}.{type(a).__name__}" for a in arrays if a is not None)
        raise TypeError(
            f"{func_name}: all inputs must be on one device, but got a mix of NumPy (cpu) and "
            f"CuPy (gpu) arrays: {desc}. Move them with rnnviz.backend.to_device(x, 'cpu' or 'gpu')."
        )


def to_device(obj, device):
    """Copy an array to ``'cpu'`` or ``'gpu'``; move a Link or Variable in place and return it."""
    if device not in ("cpu", "gpu"):
        raise ValueError(f"to_device: device must be 'cpu' or 'gpu', got {device!r}")
    is_array = isinstance(obj, numpy.ndarray) or is_cupy_array(obj)
    if not is_array and hasattr(obj, "to_device"):  # NumPy 2 arrays have a to_device of their own
        return obj.to_device(device)
    if device == "cpu":
        if is_cupy_array(obj):
            return obj.get()
        return numpy.asarray(obj)
    cp = _get_cupy()
    if cp is None:
        raise RuntimeError(
            "to_device: a GPU was asked for but CuPy is not installed; "
            "install the kit with the gpu extra: pip install 'rnnviz[gpu]'"
        )
    if not gpu_available():
        raise RuntimeError("to_device: CuPy is installed but sees no CUDA device")
    return cp.asarray(obj)
