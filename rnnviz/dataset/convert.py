"""Converters: a batch (a list of examples) -> arrays on a device, as updaters feed a model.

``concat_examples`` is :func:`rnnviz.iterators.concat_examples` (one implementation), taking
Chainer's device numbers too: ``None`` or a negative number means the CPU, ``0`` and up a GPU.
"""
import numpy

from ..core import backend
from ..iterators.convert import concat_examples as _concat
from ..iterators.convert import pad_sequences  # noqa: F401  (re-exported: one implementation)


def device_name(device, where="to_device"):
    """``'cpu'`` or ``'gpu'`` from Chainer's spellings: None/-1/'cpu'/'@numpy' or 0../'gpu'/'@cupy:0'."""
    if device is None or device in ("cpu", "@numpy"):
        return "cpu"
    if device == "gpu" or (isinstance(device, str) and device.startswith("@cupy")):
        return "gpu"
    if isinstance(device, (int, numpy.integer)) and not isinstance(device, bool):
        return "cpu" if device < 0 else "gpu"
    raise ValueError(f"{where}: device must be None, 'cpu', 'gpu' or a device number "
                     f"(-1 for the CPU), got {device!r}")


def to_device(device, x):
    """Send an array (or None) to ``device``; Chainer's argument order."""
    if x is None:
        return None
    return backend.to_device(x, device_name(device))


def concat_examples(batch, device=None, padding=None):
    """Stack a batch of examples into one array per field and send them to ``device``.

    ``[(x0, t0), (x1, t1)]`` -> ``(array([x0, x1]), array([t0, t1]))``. With ``padding``,
    examples of different lengths are padded at the end with that value.
    """
    if padding is not None:
        batch = _pad_batch(batch, padding)
    name = device_name(device, "concat_examples")
    return _concat(batch, None if name == "cpu" else name)


def _pad_batch(batch, padding):
    if len(batch) == 0:
        raise ValueError("concat_examples: the batch is empty; there is nothing to stack")

    def pad(values):
        arrays = [numpy.asarray(v) for v in values]
        if all(a.ndim == 0 for a in arrays):  # labels and other scalars: nothing to pad
            return list(values)
        if len({a.ndim for a in arrays}) > 1:
            raise ValueError(f"concat_examples: with padding, the examples of one field must have the same "
                             f"number of axes, got shapes {[a.shape for a in arrays][:5]}")
        shape = numpy.max([a.shape for a in arrays], axis=0)
        out = numpy.full((len(arrays),) + tuple(shape), padding, dtype=arrays[0].dtype)
        for i, a in enumerate(arrays):
            out[(i,) + tuple(slice(0, n) for n in a.shape)] = a
        return list(out)

    if isinstance(batch[0], tuple):
        fields = list(zip(*[pad([ex[j] for ex in batch]) for j in range(len(batch[0]))]))
        return [tuple(f) for f in fields]
    return pad(batch)
