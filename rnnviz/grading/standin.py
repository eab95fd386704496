"""A stand-in for CuPy: the GPU check of an assignment on a machine without a GPU.

``FakeCupyArray`` is a NumPy array whose type the backend takes for CuPy's (by its module name).
Like CuPy it refuses to mix with NumPy arrays in arithmetic ("Unsupported type
<class 'numpy.ndarray'>"), and its module functions refuse NumPy arrays except for the transfer
functions (``array``, ``asarray``). Reductions give 0-d arrays, as CuPy's do. ``installed()`` puts
it where rnnviz and ``rnnviz.grading`` look for CuPy, as if a GPU were present: code that
hard-codes NumPy (``np.zeros``, ``np.exp``) fails on it as it would on a GPU, so the grade does not
depend on whether the grading machine has one. The tests of the GPU paths use it too.
"""
import contextlib
import importlib.machinery
import sys
import types

import numpy


class FakeCupyArray(numpy.ndarray):
    def get(self):
        return self.view(numpy.ndarray).copy()

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        _refuse_numpy(f"{ufunc.__name__}.{method}", inputs)
        args = [_unwrap(a) for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)


FakeCupyArray.__module__ = "cupy._core.core"
FakeCupyArray.__name__ = FakeCupyArray.__qualname__ = "ndarray"

_TRANSFER = {"array", "asarray", "ascontiguousarray", "asanyarray"}


def _refuse_numpy(where, values):
    for v in values:
        if type(v) is numpy.ndarray:
            raise TypeError(f"Unsupported type <class 'numpy.ndarray'> (in cupy {where})")
        if isinstance(v, (list, tuple)):
            _refuse_numpy(where, v)


def _unwrap(a):
    if isinstance(a, FakeCupyArray):
        return a.view(numpy.ndarray)
    if isinstance(a, (list, tuple)):
        return type(a)(_unwrap(x) for x in a)
    return a


def _wrap(r):
    if isinstance(r, FakeCupyArray) or r is None:
        return r
    if isinstance(r, numpy.ndarray):
        return r.view(FakeCupyArray)
    if isinstance(r, numpy.generic):
        return numpy.asarray(r).view(FakeCupyArray)
    if isinstance(r, tuple):
        return tuple(_wrap(x) for x in r)
    if isinstance(r, list):
        return [_wrap(x) for x in r]
    return r


class _Ufunc:
    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        _refuse_numpy(self.__name__, args)
        return self._ufunc(*[a if isinstance(a, FakeCupyArray) else a for a in args], **kwargs)

    def __getattr__(self, method):  # at, reduce, ...
        fn = getattr(self._ufunc, method)

        def call(*args, **kwargs):
            _refuse_numpy(f"{self.__name__}.{method}", args)
            return fn(*args, **kwargs)
        return call


def _function(name, fn):
    def call(*args, **kwargs):
        if name not in _TRANSFER:
            _refuse_numpy(name, args)
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
    call.__name__ = name
    return call


def make_module():
    mod = types.ModuleType("cupy")
    mod.__spec__ = importlib.machinery.ModuleSpec("cupy", None)
    mod.ndarray = FakeCupyArray
    mod.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))

    def __getattr__(name):
        attr = getattr(numpy, name)
        if isinstance(attr, numpy.ufunc):
            return _Ufunc(attr)
        if isinstance(attr, type) or not callable(attr):
            return attr
        return _function(name, attr)

    mod.__getattr__ = __getattr__
    return mod


@contextlib.contextmanager
def installed():
    """Within the block, rnnviz and rnnviz.grading see this stand-in as CuPy with one GPU."""
    from rnnviz.core import backend

    fake = make_module()
    fakex = types.ModuleType("cupyx")  # cupyx.scatter_add, for a learner's code that uses it
    fakex.scatter_add = lambda a, ids, rows: numpy.add.at(_unwrap(a), _unwrap(ids), _unwrap(rows))
    saved = (backend._cupy, backend._cupy_checked, sys.modules.get("cupy"), sys.modules.get("cupyx"))
    backend._cupy, backend._cupy_checked = fake, True
    sys.modules["cupy"], sys.modules["cupyx"] = fake, fakex
    try:
        yield fake
    finally:
        backend._cupy, backend._cupy_checked = saved[0], saved[1]
        for name, module in (("cupy", saved[2]), ("cupyx", saved[3])):
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
