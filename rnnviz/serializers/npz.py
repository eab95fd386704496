"""save_npz / load_npz: links, optimizers and iterators to and from NumPy ``.npz`` files.

Objects describe themselves with Chainer's ``serialize(serializer)`` protocol. Saving writes to a
temporary file and renames it, so a crash leaves the old file whole. Loading first checks every
entry (present, same shape) and only then changes the target: a mismatch changes nothing.
"""
import os
import tempfile

import numpy

from ..core import backend


class _Serializer:
    """Base: a path prefix; ``s[name]`` gives the serializer one level down."""

    loading = False

    def __init__(self, store, prefix=""):
        self.store = store
        self.prefix = prefix

    def __getitem__(self, name):
        return type(self)(self.store, f"{self.prefix}{name}/", **self._extra())

    def _extra(self):
        return {}


class DictionarySerializer(_Serializer):
    """Collects ``key -> numpy array`` into ``store``."""

    def __call__(self, key, value):
        if value is None:
            return None
        if hasattr(value, "shape"):
            self.store[self.prefix + key] = backend.to_device(value, "cpu")
        else:
            self.store[self.prefix + key] = numpy.asarray(value)
        return value


class _Checker(_Serializer):
    """First pass of loading: find every problem, change nothing."""

    loading = True

    def __init__(self, store, prefix="", problems=None, where=""):
        super().__init__(store, prefix)
        self.problems = problems if problems is not None else []
        self.where = where

    def _extra(self):
        return {"problems": self.problems, "where": self.where}

    def __call__(self, key, value):
        full = self.prefix + key
        if full not in self.store:
            if value is not None:
                self.problems.append(f"the file {self.where} has no entry for '{full}'")
            return value
        stored = self.store[full]
        if hasattr(value, "shape") and tuple(stored.shape) != tuple(value.shape):
            self.problems.append(f"parameter '{full}' has shape {tuple(stored.shape)} in the file "
                                 f"but {tuple(value.shape)} in the model")
        return value


class NpzDeserializer(_Serializer):
    """Second pass of loading: copy arrays into the target in place, return loaded numbers."""

    loading = True

    def __call__(self, key, value):
        full = self.prefix + key
        if full not in self.store:
            return value
        stored = self.store[full]
        if value is None:
            return stored.copy()
        if hasattr(value, "shape"):
            xp = backend.get_array_module(value)
            value[...] = xp.asarray(stored) if xp is not numpy else stored
            return value
        return type(value)(stored.item()) if stored.ndim == 0 else stored.copy()


def save_npz(file, obj, compression=True):
    """Save ``obj`` (a link, optimizer, iterator, or anything with ``serialize``) atomically."""
    store = {}
    obj.serialize(DictionarySerializer(store))
    path = os.fspath(file)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            (numpy.savez_compressed if compression else numpy.savez)(f, **store)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_npz(file, obj, path="", strict=True):
    """Load ``obj`` from a file written by ``save_npz``.

    ``path`` selects a part of the file (e.g. ``'model/'``). With ``strict``, entries the object
    does not have are an error too. On any mismatch a ValueError lists every problem and ``obj``
    is left unchanged.
    """
    with numpy.load(os.fspath(file), allow_pickle=False) as npz:
        store = {k: npz[k] for k in npz.files}
    where = f"'{os.fspath(file)}'"
    checker = _Checker(store, path, where=where)
    obj.serialize(checker)
    if strict:
        expected = set()
        obj.serialize(DictionarySerializer(_KeyRecorder(expected), path))
        extra = sorted(k for k in store if k.startswith(path) and k not in expected)
        if extra:
            checker.problems.append(f"the file holds entries the {type(obj).__name__} lacks: "
                                    + ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else ""))
    if checker.problems:
        raise ValueError(f"load_npz: cannot load {where} into this {type(obj).__name__}: "
                         + "; ".join(checker.problems))
    obj.serialize(NpzDeserializer(store, path))


class _KeyRecorder(dict):
    """A dict that only remembers which keys were written."""

    def __init__(self, keys):
        super().__init__()
        self.keys_seen = keys

    def __setitem__(self, key, value):
        self.keys_seen.add(key)
