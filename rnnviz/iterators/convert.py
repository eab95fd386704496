"""concat_examples: turn a list of examples into batched arrays, as Chainer's converter does."""
import numpy


def _stack(values, where="concat_examples"):
    first = values[0]
    if isinstance(first, numpy.generic) and all(type(v) is type(first) for v in values):
        return numpy.array(values)  # NumPy scalars of one type (a word stream's ids): their dtype kept
    if all(isinstance(v, (numpy.ndarray, numpy.generic)) for v in values):
        shapes = {numpy.shape(v) for v in values}
        if len(shapes) > 1:
            _ragged(where, values)
        return numpy.stack([numpy.asarray(v) for v in values])
    try:
        array = numpy.asarray(values)
    except ValueError:
        _ragged(where, values)
    if array.dtype.kind in "iu":  # Python ints: the kit's word ids are int32
        return array.astype(numpy.int32)
    if array.dtype.kind == "f":  # Python floats: the kit computes in float32
        return array.astype(numpy.float32)
    return array


def _ragged(where, values):
    shapes = [numpy.shape(v) if not isinstance(v, (list, tuple)) else f"{len(v)} values" for v in values]
    first = next(i for i, s in enumerate(shapes) if s != shapes[0])
    raise ValueError(f"{where}: the examples do not have one shape (example 0: {shapes[0]}, example {first}: "
                     f"{shapes[first]}); pad them first: rnnviz.iterators.pad_sequences, or "
                     f"rnnviz.dataset.concat_examples(batch, padding=-1)")


def concat_examples(batch, device=None):
    """Stack a batch of examples into arrays, one per field.

    ``[(x0, t0), (x1, t1), ...]`` -> ``(array([x0, x1, ...]), array([t0, t1, ...]))``.

    A batch of tuples gives a tuple with one array per field; a batch of plain values gives one
    array. NumPy values keep their dtype (the corpora are int32); Python ints become int32 and
    Python floats float32. ``device`` (``'cpu'`` or ``'gpu'``) moves the result there.
    """
    if not hasattr(batch, "__len__") or isinstance(batch, (str, bytes)):
        raise TypeError(f"concat_examples: batch must be a list of examples, got {type(batch).__name__}")
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


def pad_sequences(sequences, padding=-1, time_major=True, length=None):
    """Pad sequences of different lengths at the end into one array; return it with the lengths.

    ``[x0 (L0, ...), x1 (L1, ...), ...]`` -> ``(padded (T, B, ...), lengths (B,))`` with
    T = ``length`` or the longest L_b; ``time_major=False`` gives (B, T, ...). The default
    padding -1 is the ``ignore_label`` of ``F.softmax_cross_entropy``,
    ``F.temporal_softmax_cross_entropy`` and ``F.embed_id``: padded word ids and targets then
    count for nothing. ``F.sequence_mask(lengths, T)`` gives the live positions. Python ints
    become int32, Python floats float32; NumPy arrays keep their dtype.
    """
    if isinstance(sequences, numpy.ndarray) and sequences.ndim < 2 and sequences.dtype != object \
            or not hasattr(sequences, "__len__"):
        raise TypeError(f"pad_sequences: expected a list of sequences, got {type(sequences).__name__}"
                        + (f" of shape {sequences.shape}; for one sequence pass [x]" if hasattr(sequences, "shape")
                           else ""))
    if len(sequences) == 0:
        raise ValueError("pad_sequences: the list of sequences is empty; there is nothing to pad")
    for i, seq in enumerate(sequences):
        if not hasattr(seq, "__len__") or isinstance(seq, (str, bytes)):
            raise TypeError(f"pad_sequences: sequence {i} is not a sequence (it is {type(seq).__name__}); "
                            f"expected a list of sequences (for one sequence pass [x])")
    if length is not None and (isinstance(length, bool) or not isinstance(length, (int, numpy.integer))
                               or length < 0):
        raise ValueError(f"pad_sequences: length must be an int >= 0 or None (the longest sequence), "
                         f"got {length!r}")
    if isinstance(padding, bool) or not isinstance(padding, (int, float, numpy.integer, numpy.floating)):
        raise TypeError(f"pad_sequences: padding must be a number (e.g. -1, the ignore_label), got "
                        f"{padding!r}")
    arrays = [_stack(list(s), "pad_sequences") if not isinstance(s, numpy.ndarray) and len(s) else numpy.asarray(s)
              for s in sequences]
    rest = arrays[0].shape[1:] if arrays[0].ndim else None
    if any(a.ndim == 0 or a.shape[1:] != rest for a in arrays):
        raise ValueError(f"pad_sequences: every sequence must have shape (L_i, ...) with the same trailing "
                         f"shape; got {[a.shape for a in arrays]}")
    lengths = numpy.asarray([len(a) for a in arrays], dtype=numpy.int32)
    T = int(lengths.max()) if length is None else length
    if T < lengths.max():
        raise ValueError(f"pad_sequences: length={length} is shorter than the longest sequence "
                         f"({int(lengths.max())} steps); lengths must be at most the padded length")
    dtype = numpy.result_type(*[a.dtype for a in arrays if a.size] or [arrays[0].dtype])
    if dtype.kind in "iu" and not (float(padding).is_integer() and
                                   numpy.iinfo(dtype).min <= padding <= numpy.iinfo(dtype).max):
        raise ValueError(f"pad_sequences: padding={padding!r} does not fit the sequences' dtype {dtype}")
    out = numpy.full((T, len(arrays)) + rest, padding, dtype=dtype)
    for b, a in enumerate(arrays):
        out[:len(a), b] = a
    return (out if time_major else out.swapaxes(0, 1).copy()), lengths
