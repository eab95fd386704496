"""concat_examples: turn a list of examples into batched arrays, as Chainer's converter does."""
import numpy


def _stack(values):
    if all(isinstance(v, (numpy.ndarray, numpy.generic)) for v in values):
        return numpy.stack([numpy.asarray(v) for v in values])
    array = numpy.asarray(values)
    if array.dtype.kind in "iu":  # Python ints: the kit's word ids are int32
        return array.astype(numpy.int32)
    if array.dtype.kind == "f":  # Python floats: the kit computes in float32
        return array.astype(numpy.float32)
    return array


def concat_examples(batch, device=None):
    """Stack a batch of examples into arrays, one per field.

    ``[(x0, t0), (x1, t1), ...]`` -> ``(array([x0, x1, ...]), array([t0, t1, ...]))``.

    A batch of tuples gives a tuple with one array per field; a batch of plain values gives one
    array. NumPy values keep their dtype (the corpora are int32); Python ints become int32 and
    Python floats float32. ``device`` (``'cpu'`` or ``'gpu'``) moves the result there.
    """
    if len(batch) == 0:
        raise ValueError("concat_examples: the batch is empty; there is nothing to stack")
    first = batch[0]
    if isinstance(first, tuple):
        width = len(first)
        for i, example in enumerate(batch):
            if not isinstance(example, tuple) or len(example) != width:
                raise ValueError(
                    f"concat_examples: example 0 is a tuple of {width} values but example {i} is "
                    f"{example!r}; all examples must have the same fields"
                )
        result = tuple(_stack([example[j] for example in batch]) for j in range(width))
    else:
        result = _stack(list(batch))
    if device is None:
        return result
    from rnnviz.core.backend import to_device

    if isinstance(result, tuple):
        return tuple(to_device(a, device) for a in result)
    return to_device(result, device)
