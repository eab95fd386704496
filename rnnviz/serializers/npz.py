"""save_npz / load_npz: links, optimizers and iterators to and from NumPy ``.npz`` files.

Objects describe themselves with Chainer's ``serialize(serializer)`` protocol. Saving writes to a
temporary file and renames it, so a crash leaves the old file whole. Loading first checks every
entry (present, same shape) and only then changes the target: a mismatch changes nothing.
"""
import os
import tempfile
import zipfile

import numpy

from ..core import backend, lazy
from . import filetype


class _Serializer:
    """Base: a path prefix; ``s[name]`` gives the serializer one level down."""

    loading = False

    def __init__(self, store, prefix=""):
        self.store = store
        self.prefix = prefix

    def __getitem__(self, name):
        return type(self)(self.store, f"{self.prefix}{name}/", **self._extra())

    def has(self, key):
        """Whether the file being read holds ``key`` here (always False when saving)."""
        return self.loading and self.prefix + key in self.store

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
    """First pass of loading: find every problem, change nothing.

    It returns each current value unchanged. An object whose entries must agree with each other
    (an iterator's iteration and epoch) reads the stored values with ``peek`` while ``checking``
    and reports with ``problem``.
    """

    loading = True
    checking = True

    def __init__(self, store, prefix="", problems=None, where=""):
        super().__init__(store, prefix)
        self.problems = problems if problems is not None else []
        self.where = where

    def _extra(self):
        return {"problems": self.problems, "where": self.where}

    def peek(self, key):
        """The stored array for ``key`` (None when the file has none); nothing is changed."""
        return self.store.get(self.prefix + key)

    def problem(self, message):
        self.problems.append(message)

    def __call__(self, key, value):
        full = self.prefix + key
        if full not in self.store:
            if value is not None:
                self.problems.append(f"the file {self.where} has no entry for '{full}'")
            return value
        stored = self.store[full]
        if hasattr(value, "shape"):
            if tuple(stored.shape) != tuple(value.shape):
                self.problems.append(f"parameter '{full}' has shape {tuple(stored.shape)} in the file "
                                     f"but {tuple(value.shape)} in the model")
            elif stored.dtype.kind not in _SAME_KIND.get(value.dtype.kind, value.dtype.kind):
                self.problems.append(f"'{full}' holds {stored.dtype} in the file but the target "
                                     f"holds {value.dtype}")
        elif value is not None and getattr(stored, "ndim", 0) != 0:
            self.problems.append(f"'{full}' should be one number, but the file holds an array of "
                                 f"shape {tuple(stored.shape)}")
        return value


# a float array may be loaded from a float or an integer file entry, an integer one only from integers
_SAME_KIND = {"f": "fiu", "i": "iu", "u": "iu", "b": "b"}


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


def _path(file, where):
    """``file`` (str, bytes or os.PathLike) as a str, or a TypeError naming ``where``."""
    try:
        return os.fsdecode(file)
    except TypeError:
        raise TypeError(f"{where}: the file must be a path (str or pathlib.Path), got "
                        f"{type(file).__name__}") from None


def check_writable(file, where="save_npz"):
    """The path as a string, or an error naming ``where`` and the path when a file cannot be written
    there (missing folder, a folder in the way, no permission). Creates and removes a temporary file."""
    path = _path(file, where)
    if not path:
        raise ValueError(f"{where}: the file path is empty")
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"{where}: '{path}' is a folder; give a file name such as "
                                f"'{os.path.join(path, 'checkpoint.npz')}'")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{where}: cannot write '{path}': the folder '{directory}' does not "
                                f"exist (create it first, e.g. mkdir -p '{directory}')")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    except OSError as err:
        raise PermissionError(f"{where}: cannot write '{path}': {err.strerror} in the folder "
                              f"'{directory}'") from None
    os.close(fd)
    os.remove(tmp)
    return path


def write_atomically(path, write, suffix=""):
    """Write the file ``path`` all at once: ``write(tmp)`` fills a temporary file beside it, which
    is synced to disk and renamed over ``path``. On any failure the temporary file is removed and
    ``path`` is as it was, so a crash never leaves half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def existing_file(file, where, writer):
    """The path of ``file`` as a string, or an error naming ``where`` when it is not a path, is
    missing or is a folder (``writer``: the function whose files are expected there)."""
    path = _path(file, where)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no file at '{path}'")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{where}: '{path}' is a folder, not a file written by {writer}")
    return path


def save_npz(file, obj, compression=True):
    """Save ``obj`` (a link, optimizer, iterator, or anything with ``serialize``) atomically."""
    path = check_writable(file, "save_npz")
    _check_serializable(obj, "save_npz")
    store = {}
    obj.serialize(DictionarySerializer(store))
    savez = numpy.savez_compressed if compression else numpy.savez

    def write(tmp):
        with open(tmp, "wb") as f:
            savez(f, **store)
    write_atomically(path, write, suffix=".npz")


def _check_serializable(obj, where):
    if not callable(getattr(obj, "serialize", None)):
        raise TypeError(f"{where}: expected a link, optimizer, iterator or trainer (an object with "
                        f"serialize()), got {type(obj).__name__}")


def read_npz(file, where="load_npz"):
    """Every entry of an ``.npz`` file as ``{key: numpy array}``, or a ValueError naming the file,
    what was expected and what was found.

    Only arrays of numbers, booleans and text are read: an entry of Python objects (pickled data)
    is refused, never unpickled, since unpickling a file can run code written into it. The error
    says what the file is instead (``filetype.describe``); it does not suggest loading it anyway.
    """
    path = existing_file(file, where, "save_npz")

    def refuse(found):
        return ValueError(f"{where}: '{path}' is not a file written by save_npz (expected an .npz "
                          f"archive of arrays); found {found}. Nothing was loaded")

    data = filetype.head(path)
    if not filetype.is_zip(data):
        raise refuse(filetype.describe(data))
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            for name in names:
                if not name.endswith(".npy"):
                    raise refuse(f"a zip archive whose entry '{name}' is not a NumPy array")
                with archive.open(name) as member:
                    dtype = filetype.npy_dtype(member)
                if dtype is None:
                    raise refuse(f"a zip archive whose entry '{name}' is not a readable NumPy array")
                if dtype.hasobject:
                    raise refuse(f"an entry '{name[:-4]}' of Python objects (pickled data, which "
                                 f"save_npz never writes and the kit never loads: unpickling a file "
                                 f"can run code written into it)")
        with numpy.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
        if str(err).startswith(where):
            raise
        raise refuse("a damaged zip archive (cut short or overwritten?)") from None


def find_problems(store, obj, path="", strict=True, where=""):
    """Every reason ``store`` cannot be loaded into ``obj`` (an empty list when it can); changes nothing."""
    checker = _Checker(store, path, where=where)
    obj.serialize(checker)
    if strict:
        expected = set()
        obj.serialize(_KeyRecorder(expected, path))
        extra = sorted(k for k in store if k.startswith(path) and k not in expected)
        if extra:
            checker.problems.append(f"the file holds entries the {type(obj).__name__} lacks: "
                                    + ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else ""))
    return list(dict.fromkeys(checker.problems))  # each once, in order


def apply_npz(store, obj, path=""):
    """Copy ``store`` into ``obj`` (after ``find_problems`` found none). Should a ``serialize``
    method still fail half-way, what was already copied is put back before the error propagates."""
    snapshot = {}
    obj.serialize(DictionarySerializer(snapshot, path))
    snapshot = {k: numpy.array(v, copy=True) for k, v in snapshot.items()}
    try:
        obj.serialize(NpzDeserializer(store, path))
    except BaseException:
        obj.serialize(NpzDeserializer(snapshot, path))
        raise


def load_npz(file, obj, path="", strict=True):
    """Load ``obj`` from a file written by ``save_npz``.

    ``path`` selects a part of the file (e.g. ``'model/'``). With ``strict``, entries the object
    does not have are an error too. On any mismatch a ValueError lists every problem and ``obj``
    is left unchanged.
    """
    _check_serializable(obj, "load_npz")
    load_store(read_npz(file), obj, path, strict, file, "load_npz")


def load_store(store, obj, path, strict, file, who):
    """Load ``store`` (entry name -> array, read from ``file``) into ``obj``: every problem is found
    first (``who`` names the caller in the error), and only then is anything copied."""
    lazy.flush()   # a forward still queued (core/lazy.py) reads the old weights, as it was called with
    where = f"'{os.fsdecode(file)}'"
    if not isinstance(path, str):
        raise TypeError(f"{who}: path must be a str such as 'model/' (a part of the file), got "
                        f"{type(path).__name__}")
    if path and not path.endswith("/"):
        raise ValueError(f"{who}: path={path!r} must end with '/', e.g. path='{path}/' (entries are "
                         f"named like '{path}/W')")
    if path and not any(k.startswith(path) for k in store):
        raise ValueError(f"{who}: the file {where} has no entries under '{path}'")
    problems = find_problems(store, obj, path, strict, where)
    if problems:
        raise ValueError(f"{who}: cannot load {where} into this {type(obj).__name__} "
                         f"(nothing was changed): " + "; ".join(problems))
    apply_npz(store, obj, path)


class _KeyRecorder(_Serializer):
    """A saving pass that only remembers which keys the object has, a parameter not yet
    initialised (``Linear(None, n)``'s W, None until the first call) included: a file may fill it."""

    def __init__(self, keys, prefix=""):
        super().__init__(keys, prefix)

    def __call__(self, key, value):
        self.store.add(self.prefix + key)
        return value
