"""save_hdf5 / load_hdf5: the npz pair's behaviour in an HDF5 file (h5py, the ``hdf5`` extra).

Entries are datasets at the same paths the npz files use (``predictor/out/W``). Saving writes a
temporary file and renames it, so a crash leaves the old file whole; loading checks every entry
first (present, same shape; with ``strict`` nothing extra) and changes nothing on a mismatch.
"""
import numpy

from . import filetype
from .npz import (DictionarySerializer, _check_serializable, check_writable, existing_file, load_store,
                  write_atomically)


def _h5py(where):
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{where}: HDF5 files need h5py, which is not installed; install it with "
                          "`pip install h5py` (or the kit's extra: pip install 'rnnviz[hdf5]'), "
                          "or use save_npz / load_npz, which need nothing more") from None
    return h5py


def save_hdf5(filename, obj, compression=4):
    """Save ``obj`` (a link, optimizer, trainer: anything with ``serialize``) to an HDF5 file,
    atomically. ``compression``: gzip level 0-9 for arrays (0: none)."""
    h5py = _h5py("save_hdf5")
    _check_serializable(obj, "save_hdf5")
    if isinstance(compression, bool) or not isinstance(compression, (int, numpy.integer)) \
            or not 0 <= compression <= 9:
        raise ValueError(f"save_hdf5: compression must be a gzip level, an int from 0 (none) to 9, "
                         f"got {compression!r}")
    path = check_writable(filename, "save_hdf5")
    store = {}
    obj.serialize(DictionarySerializer(store))

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            for key, value in store.items():
                value = numpy.asarray(value)
                if value.dtype.kind == "U":  # text (a log as JSON): HDF5's UTF-8 strings
                    f.create_dataset(key, data=value.astype(object), dtype=h5py.string_dtype())
                elif value.ndim and value.size and compression:
                    f.create_dataset(key, data=value, compression="gzip", compression_opts=compression)
                else:
                    f.create_dataset(key, data=value)
    write_atomically(path, write, suffix=".h5")


def read_hdf5(filename, where="load_hdf5"):
    """Every dataset of an HDF5 file as ``{path: numpy array}``, or an error naming the file."""
    h5py = _h5py(where)
    path = existing_file(filename, where, "save_hdf5")
    data = filetype.head(path)
    if not filetype.is_hdf5(data):
        raise ValueError(f"{where}: '{path}' is not a file written by save_hdf5 (expected an HDF5 "
                         f"file); found {filetype.describe(data)}. Nothing was loaded")
    store = {}
    try:
        with h5py.File(path, "r") as f:
            def visit(name, item):
                if isinstance(item, h5py.Dataset):
                    if h5py.check_string_dtype(item.dtype) is not None:
                        store[name] = numpy.asarray(item.asstr()[()], dtype=numpy.str_)
                    else:
                        store[name] = numpy.asarray(item[()])
            f.visititems(visit)
    except OSError:
        raise ValueError(f"{where}: '{path}' is not a file written by save_hdf5 (expected an HDF5 "
                         f"file); found a damaged HDF5 file (cut short or overwritten?). Nothing was "
                         f"loaded") from None
    for name, value in store.items():
        if value.dtype.hasobject:  # references or variable-length data: never written by save_hdf5
            raise ValueError(f"{where}: '{path}' is not a file written by save_hdf5; found a dataset "
                             f"'{name}' of {_item_kind(value)}, which save_hdf5 never writes. Nothing "
                             f"was loaded")
    return store


def _item_kind(value):
    """What an object array read from HDF5 holds, in words."""
    first = value.flat[0] if value.size else None
    return f"Python objects ({type(first).__name__})" if first is not None else "Python objects"


def load_hdf5(filename, obj, path="", strict=True):
    """Load ``obj`` from a file written by ``save_hdf5``; on any mismatch a ValueError lists every
    problem and ``obj`` is left unchanged. ``path`` selects a part of the file (``'model/'``)."""
    _h5py("load_hdf5")
    _check_serializable(obj, "load_hdf5")
    load_store(read_hdf5(filename), obj, path, strict, filename, "load_hdf5")
