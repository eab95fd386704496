"""Chainer's ``cuda`` module, on :mod:`rnnviz.backend` (NumPy on the CPU, CuPy on a GPU).

``cuda.available`` says whether a GPU can be used, ``cuda.cupy`` is the CuPy module (None when
it is absent), ``to_gpu`` / ``to_cpu`` copy arrays, ``get_array_module`` picks NumPy or CuPy.
"""
from ..core import backend
from ..core.backend import get_array_module

__all__ = ["available", "check_cuda_available", "cupy", "get_array_module", "get_device_from_array",
           "to_cpu", "to_gpu"]


def __getattr__(name):
    # looked up on use, so that importing rnnviz never imports CuPy
    if name == "available":
        return backend.gpu_available()
    if name == "cupy":
        return backend._get_cupy()
    raise AttributeError(f"module 'rnnviz.backends.cuda' has no attribute {name!r}")


def check_cuda_available():
    """Raise RuntimeError saying why when no GPU can be used."""
    if backend._get_cupy() is None:
        raise RuntimeError("cuda: CuPy is not installed; install the kit with the gpu extra: "
                           "pip install 'rnnviz[gpu]'")
    if not backend.gpu_available():
        raise RuntimeError("cuda: CuPy is installed but sees no CUDA device")


def to_gpu(array, device=None):
    """A copy of ``array`` on the GPU (a CuPy array stays as it is). ``device`` is ignored:
    the kit uses one GPU."""
    if array is None:
        return None
    return backend.to_device(array, "gpu")


def to_cpu(array):
    """A NumPy copy of a CuPy array; NumPy arrays and Python numbers are returned as they are."""
    if array is None or not backend.is_cupy_array(array):
        return array
    return backend.to_device(array, "cpu")


def get_device_from_array(*arrays):
    """``'gpu'`` when any array is a CuPy array, else ``'cpu'``."""
    return "gpu" if any(backend.is_cupy_array(getattr(a, "array", a)) for a in arrays) else "cpu"
