"""What a file is, from its first bytes: the words a load error uses for "found ...".

A file handed to ``load_npz`` or ``load_hdf5`` that is not what they read (a pickle, a single
``.npy`` array, a text file, the other format) is named for what it is, so the learner sees the
path, what was expected and what was found. Nothing here unpickles or executes anything: a
pickle is recognised by its opening bytes only, and the kit never loads one (unpickling a file
can run any code written into it).
"""
import numpy

ZIP = (b"PK\x03\x04", b"PK\x05\x06")          # a zip archive (an empty one starts with the second)
NPY = b"\x93NUMPY"
HDF5 = b"\x89HDF\r\n\x1a\n"
GZIP = b"\x1f\x8b"
_HEAD = 512


def head(path, n=_HEAD):
    """The first ``n`` bytes of the file at ``path``."""
    with open(path, "rb") as f:
        return f.read(n)


def is_zip(data):
    return data.startswith(ZIP)


def is_hdf5(data):
    return data.startswith(HDF5)


def npy_dtype(fileobj):
    """The dtype in the header of a ``.npy`` stream (positioned at its start), or None when the
    header cannot be read. Reads only the header: no array, no pickle."""
    try:
        version = numpy.lib.format.read_magic(fileobj)
        if version == (1, 0):
            return numpy.lib.format.read_array_header_1_0(fileobj)[2]
        if version == (2, 0):
            return numpy.lib.format.read_array_header_2_0(fileobj)[2]
    except (ValueError, OSError, EOFError, SyntaxError, TypeError):
        return None
    return None


def describe(data):
    """A phrase for what the bytes ``data`` (a file's beginning) hold, e.g. 'a Python pickle'."""
    if not data:
        return "an empty file (0 bytes)"
    if is_zip(data):
        return "a zip archive (the .npz format save_npz writes; read it with load_npz)"
    if data.startswith(NPY):
        import io
        dtype = npy_dtype(io.BytesIO(data))
        if dtype is not None and dtype.hasobject:
            return ("a single NumPy array (.npy) of Python objects (pickled data, which the kit never "
                    "loads: unpickling a file can run code written into it)")
        return "a single NumPy array (.npy), not an archive of named arrays"
    if is_hdf5(data):
        return "an HDF5 file (the format save_hdf5 writes; read it with load_hdf5)"
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ("a Python pickle (the kit never loads pickles: unpickling a file can run code "
                "written into it)")
    if data.startswith(GZIP):
        return "a gzip-compressed file"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(data) - 4:  # not just a character cut at the end of the sample
            return f"binary data starting with the bytes {data[:8]!r}"
        text = data[:err.start].decode("utf-8")
    text = text.removeprefix("\ufeff")  # a byte-order mark opens many Windows text files
    if not all(c.isprintable() or c in "\r\n\t" for c in text):
        return f"binary data starting with the bytes {data[:8]!r}"
    if not text.strip():
        return "a text file of blank space"
    return f"a text file starting {text.strip().splitlines()[0][:40]!r}"
