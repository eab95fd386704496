"""Chainer v1's ``chainer.cuda`` (``from chainer import cuda``): the same as :mod:`rnnviz.backends.cuda`."""
from .backends.cuda import (__all__, check_cuda_available, get_array_module,  # noqa: F401
                            get_device_from_array, to_cpu, to_gpu)
from .backends.cuda import __getattr__  # noqa: F401  (available, cupy)
