"""Evaluation of a language model: mean cross-entropy and perplexity, with no graph recorded."""
import math

import numpy

from ..core import backend, no_backprop_mode, using_config
from ..links import Link
from .checks import check_count, check_device, check_word_ids, vocabulary_size


def evaluate_perplexity(model, words, batch_size=10, device="cpu"):
    """exp(mean cross-entropy) of predicting ``words[i+1]`` from ``words[:i+1]``.

    Runs on a copy of ``model`` (sharing its parameters) with the state reset, under
    ``no_backprop_mode()`` and ``train=False``, so training state and memory are untouched.
    ``model`` is a ``Classifier``-like link: ``model(x, t)`` returns the loss of one step.
    """
    if not isinstance(model, Link):
        raise TypeError(f"evaluate_perplexity: model must be a link such as "
                        f"L.Classifier(L.RNNLM(...)), got {type(model).__name__}")
    words = numpy.asarray(words)
    if words.ndim != 1 or len(words) < 2:
        raise ValueError(f"evaluate_perplexity: need a 1-D word-id array of at least 2 words, "
                         f"got shape {words.shape}")
    words = check_word_ids(words, vocabulary_size(model), "words", "evaluate_perplexity", 2)
    batch_size = check_count(batch_size, "batch_size", "evaluate_perplexity")
    device = check_device(device, "evaluate_perplexity")
    batch_size = max(1, min(batch_size, len(words) - 1))
    steps = (len(words) - 1) // batch_size
    # batch_size parallel streams, each a contiguous slice of the text
    xs = words[: steps * batch_size].reshape(batch_size, steps)
    ts = words[1: steps * batch_size + 1].reshape(batch_size, steps)
    eval_model = model.copy()
    if hasattr(eval_model, "reset_state"):
        eval_model.reset_state()
    total = 0.0
    with no_backprop_mode(), using_config("train", False):
        for k in range(steps):
            x, t = xs[:, k], ts[:, k]
            if device == "gpu":
                x, t = backend.to_device(x, "gpu"), backend.to_device(t, "gpu")
            total += float(eval_model(x, t).array)
    mean_loss = total / steps
    return math.exp(min(mean_loss, 700.0))
