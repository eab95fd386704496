"""Training a recurrent language model with truncated BPTT, a progress bar, history and checkpoints."""
import os

import numpy

from .. import links as L
from .. import optimizers, serializers
from ..core import Variable, backend
from ..iterators import ParallelSequentialIterator
from .bptt import BPTTUpdater, check_bprop_len
from .evaluate import evaluate_perplexity


def vocabulary_size(model):
    """The size of the first embedding in ``model`` (None when it has none)."""
    for link in model.links():
        if isinstance(link, L.EmbedID):
            return link.W.shape[0]
    return None


def check_word_ids(words, vocab, name):
    words = numpy.asarray(words)
    if words.dtype.kind not in "iu":
        raise ValueError(f"LMTrainer: {name} must hold integer word ids, got dtype {words.dtype}")
    if len(words) and vocab is not None and (int(words.min()) < 0 or int(words.max()) >= vocab):
        raise ValueError(f"LMTrainer: {name} holds word ids from {int(words.min())} to {int(words.max())}, "
                         f"but the model's vocabulary has {vocab} words (ids 0..{vocab - 1})")
    return words


class History:
    """What a plot reads: one row per logged update (iteration, epoch, loss, perplexity) and one per
    evaluation (iteration, epoch, val_perplexity)."""

    def __init__(self):
        self.train = {"iteration": [], "epoch": [], "loss": [], "perplexity": []}
        self.valid = {"iteration": [], "epoch": [], "val_perplexity": []}

    def log_train(self, iteration, epoch, loss):
        for key, value in zip(("iteration", "epoch", "loss", "perplexity"),
                              (iteration, epoch, loss, float(numpy.exp(min(loss, 700.0))))):
            self.train[key].append(value)

    def log_valid(self, iteration, epoch, ppl):
        for key, value in zip(("iteration", "epoch", "val_perplexity"), (iteration, epoch, ppl)):
            self.valid[key].append(value)

    def serialize(self, serializer):
        for part_name, part in (("train", self.train), ("valid", self.valid)):
            for key in part:
                if getattr(serializer, "loading", False):  # any length: the history grows
                    stored = serializer[part_name](key, None)
                    if stored is not None:
                        part[key] = [float(v) for v in numpy.asarray(stored).ravel()]
                else:
                    serializer[part_name](key, numpy.asarray(part[key], dtype=numpy.float64))

    def __repr__(self):
        last = self.valid["val_perplexity"][-1] if self.valid["val_perplexity"] else None
        return f"History({len(self.train['loss'])} updates, last val perplexity {last})"


class LMTrainer:
    """Trains ``model`` (a Classifier around a recurrent LM) on a word-id stream with truncated BPTT.

    >>> trainer = LMTrainer(L.Classifier(L.RNNLM(V, 100, 50)), train, valid, bprop_len=30)
    >>> trainer.run(epochs=1)          # tqdm bar: a widget in JupyterLab, text in a terminal
    >>> trainer.history.valid["val_perplexity"]

    Gradients are clipped to a global L2 norm of ``clip``. ``save(path)``/``load(path)`` checkpoint
    the model, optimizer, iterator, recurrent states and history, so a resumed run continues
    exactly as an uninterrupted one.
    """

    def __init__(self, model, train, valid=None, batch_size=20, bprop_len=35, optimizer=None,
                 clip=5.0, eval_batch_size=10, device="cpu"):
        vocab = vocabulary_size(model)
        self.train_words = check_word_ids(train, vocab, "the training data")
        self.valid_words = None if valid is None else check_word_ids(valid, vocab, "the validation data")
        self.bprop_len = check_bprop_len(bprop_len, "LMTrainer")
        self.model = model
        self.device = device
        if device == "gpu":
            model.to_device("gpu")
        self.optimizer = optimizer if optimizer is not None else optimizers.SGD(lr=1.0)
        if self.optimizer.target is None:
            self.optimizer.setup(model)
        if clip:
            self.optimizer.add_hook(optimizers.GradientClipping(clip))
        self.iterator = ParallelSequentialIterator(self.train_words, batch_size)
        self.updater = BPTTUpdater(self.iterator, self.optimizer, self.bprop_len, device)
        self.eval_batch_size = eval_batch_size
        self.history = History()

    @property
    def updates_per_epoch(self):
        return max(1, len(self.train_words) // self.iterator.batch_size // self.bprop_len)

    def evaluate(self, words=None):
        """Perplexity on ``words`` (default: the validation data)."""
        words = self.valid_words if words is None else words
        if words is None:
            raise ValueError("LMTrainer.evaluate: no validation data was given")
        return evaluate_perplexity(self.model, words, self.eval_batch_size, self.device)

    def run(self, epochs=None, updates=None, eval_every=None, progress=True, log_every=1):
        """Train for ``epochs`` (or ``updates`` windows); evaluate every ``eval_every`` updates
        (default: at each epoch end). Returns the history."""
        from tqdm.auto import tqdm

        if updates is None:
            updates = int(round((epochs if epochs is not None else 1) * self.updates_per_epoch))
        bar = tqdm(total=updates, disable=not progress, desc="training", unit="update")
        try:
            for _ in range(updates):
                loss = self.updater.update()
                it = self.updater.iteration
                if it % log_every == 0:
                    self.history.log_train(it, self.iterator.epoch_detail, loss)
                due = (eval_every and it % eval_every == 0) or (not eval_every and self.iterator.is_new_epoch)
                if due and self.valid_words is not None:
                    self.history.log_valid(it, self.iterator.epoch_detail, self.evaluate())
                postfix = {"loss": f"{loss:.3f}"}
                if self.history.valid["val_perplexity"]:
                    postfix["val_ppl"] = f"{self.history.valid['val_perplexity'][-1]:.1f}"
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
        finally:
            bar.close()
        return self.history

    # -- checkpoints ------------------------------------------------------------------------
    def _recurrent_links(self):
        return [(path, link) for path, link in self.model.namedlinks() if hasattr(link, "state_names")]

    def serialize(self, serializer):
        self.model.serialize(serializer["model"])
        self.optimizer.serialize(serializer["optimizer"])
        self.iterator.serialize(serializer["iterator"])
        self.updater.iteration = int(serializer["updater"]("iteration", self.updater.iteration))
        for path, link in self._recurrent_links():
            sub = serializer["state"][path.strip("/").replace("/", "__") or "root"]
            for name in link.state_names:
                v = getattr(link, name)
                stored = sub(name, None if v is None else v.array)
                if getattr(serializer, "loading", False) and stored is not None:
                    link.set_state(**{name: Variable(backend.to_device(stored, self.device))})
        self.history.serialize(serializer["history"])

    def save(self, path):
        """Write a checkpoint atomically (the old file survives a crash mid-write)."""
        serializers.save_npz(path, self)

    def load(self, path):
        """Restore model, optimizer, iterator, recurrent state and history from ``path``."""
        if not os.path.exists(path):
            raise FileNotFoundError(f"LMTrainer.load: no checkpoint at {path}")
        serializers.load_npz(path, self.model, path="model/")  # strict: the shapes must match
        serializers.load_npz(path, self, strict=False)
