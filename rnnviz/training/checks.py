"""The argument checks the trainer and the evaluation share (one place, below both)."""
import numpy

from .. import links as L


def vocabulary_size(model):
    """The size of the first embedding in ``model`` (None when it has none)."""
    for link in model.links():
        if isinstance(link, L.EmbedID):
            return link.W.shape[0]
    return None


def check_word_ids(words, vocab, name, where="LMTrainer", min_length=1):
    words = numpy.asarray(words)
    if words.dtype.kind not in "iu":
        raise ValueError(f"{where}: {name} must hold integer word ids, got dtype {words.dtype}")
    if words.ndim != 1:
        raise ValueError(f"{where}: {name} must be a flat (1-D) stream of word ids, got shape "
                         f"{words.shape}")
    if len(words) < min_length:
        raise ValueError(f"{where}: {name} holds {len(words)} word(s); at least {min_length} are "
                         f"needed")
    if len(words) and vocab is not None and (int(words.min()) < 0 or int(words.max()) >= vocab):
        raise ValueError(f"{where}: {name} holds word ids from {int(words.min())} to {int(words.max())}, "
                         f"but the model's vocabulary has {vocab} words (ids 0..{vocab - 1})")
    return words


def check_device(device, where):
    if device not in ("cpu", "gpu"):
        raise ValueError(f"{where}: device must be 'cpu' or 'gpu', got {device!r}")
    return device


def check_count(value, name, where):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)
