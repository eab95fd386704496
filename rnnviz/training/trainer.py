"""Training a recurrent language model with truncated BPTT, a progress bar, history and checkpoints."""
import contextlib
import inspect
import math
import numbers
import os
import signal
import threading

import numpy

from .. import links as L
from .. import optimizers, serializers
from ..core import Variable, backend
from ..iterators import ParallelSequentialIterator
from .bptt import BPTTUpdater, check_bprop_len
from .checks import check_count, check_device, check_word_ids, vocabulary_size
from .evaluate import evaluate_perplexity


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
        """``History(10 logged updates; loss 5.581 (perplexity 265.1) at update 10; val perplexity
        263.7 at update 10)``: the last of each, rounded for reading (the lists keep every digit)."""
        n = len(self.train["loss"])
        parts = [f"{n} logged update{'' if n == 1 else 's'}"]
        if n:
            parts.append(f"loss {self.train['loss'][-1]:.3f} (perplexity "
                         f"{self.train['perplexity'][-1]:.1f}) at update {int(self.train['iteration'][-1])}")
        if self.valid["val_perplexity"]:
            parts.append(f"val perplexity {self.valid['val_perplexity'][-1]:.1f} at update "
                         f"{int(self.valid['iteration'][-1])}")
        return f"History({'; '.join(parts)})"


class LMTrainer:
    """Trains ``model`` (a Classifier around a recurrent LM) on a word-id stream with truncated BPTT.

    >>> trainer = LMTrainer(L.Classifier(L.RNNLM(V, 100, 50)), train, valid, bprop_len=30)
    >>> trainer.run(epochs=1)          # tqdm bar: a widget in JupyterLab (its last line saved), text in a terminal
    >>> trainer.history.valid["val_perplexity"]

    Gradients are clipped to a global L2 norm of ``clip``. ``save(path)``/``load(path)`` checkpoint
    the model, optimizer, iterator, recurrent states, history and NumPy's global random state (the
    one dropout draws its masks from), so a resumed run continues exactly as an uninterrupted one.
    """

    def __init__(self, model, train, valid=None, batch_size=20, bprop_len=35, optimizer=None,
                 clip=5.0, eval_batch_size=10, device="cpu"):
        _check_model(model, "LMTrainer")
        device = check_device(device, "LMTrainer")
        if optimizer is not None and not isinstance(optimizer, optimizers.Optimizer):
            raise TypeError(f"LMTrainer: optimizer must be an rnnviz optimizer such as "
                            f"optimizers.SGD(lr=1.0), got {type(optimizer).__name__}")
        if optimizer is not None and optimizer.target is not None and optimizer.target is not model:
            raise ValueError("LMTrainer: the optimizer was set up on another model "
                             f"({type(optimizer.target).__name__} at {id(optimizer.target):#x}); it "
                             "would train that model, not this one. Pass a fresh optimizer, or call "
                             "optimizer.setup(model) on this model first")
        if clip is not None and not (isinstance(clip, numbers.Real) and not isinstance(clip, bool)
                                     and math.isfinite(clip) and clip >= 0):
            raise ValueError(f"LMTrainer: clip must be a finite number >= 0 (the largest global "
                             f"gradient norm; 0 or None: no clipping), got {clip!r}")
        self.eval_batch_size = check_count(eval_batch_size, "eval_batch_size", "LMTrainer")
        vocab = vocabulary_size(model)
        self.train_words = check_word_ids(train, vocab, "the training data", min_length=2)
        self.valid_words = None if valid is None else check_word_ids(
            valid, vocab, "the validation data", min_length=2)
        self.bprop_len = check_bprop_len(bprop_len, "LMTrainer")
        self.iterator = ParallelSequentialIterator(self.train_words, batch_size)
        self.model = model
        self.device = device
        if device == "gpu":
            model.to_device("gpu")
        self.optimizer = optimizer if optimizer is not None else optimizers.SGD(lr=1.0)
        if self.optimizer.target is None:
            self.optimizer.setup(model)
        if clip:
            self.optimizer.add_hook(optimizers.GradientClipping(clip))
        self.updater = BPTTUpdater(self.iterator, self.optimizer, self.bprop_len, device)
        self.history = History()

    @property
    def updates_per_epoch(self):
        return max(1, len(self.train_words) // self.iterator.batch_size // self.bprop_len)

    def evaluate(self, words=None):
        """Perplexity on ``words`` (default: the validation data)."""
        if words is None:
            words = self.valid_words
        else:
            words = check_word_ids(words, vocabulary_size(self.model), "words",
                                   "LMTrainer.evaluate", min_length=2)
        if words is None:
            raise ValueError("LMTrainer.evaluate: no validation data was given")
        return evaluate_perplexity(self.model, words, self.eval_batch_size, self.device)

    def run(self, epochs=None, updates=None, eval_every=None, progress=True, log_every=1,
            checkpoint=None, checkpoint_every=None):
        """Train for ``epochs`` (or ``updates`` windows); evaluate every ``eval_every`` updates
        (default: at each epoch end). Returns the history.

        With ``checkpoint`` (a path), a checkpoint is saved every ``checkpoint_every`` updates (and
        when interrupted). Ctrl-C (SIGINT, also a notebook's interrupt button) lets the current
        update finish, so model, optimizer and iterator stay consistent, then raises
        KeyboardInterrupt; a second Ctrl-C stops at once.
        """
        from .progress import tqdm

        updates = self._planned_updates(epochs, updates)
        eval_every = None if eval_every is None else check_count(eval_every, "eval_every", "LMTrainer.run")
        log_every = check_count(log_every, "log_every", "LMTrainer.run")
        if checkpoint is not None:
            checkpoint = serializers.npz.check_writable(checkpoint, "LMTrainer.run")
            if checkpoint_every is not None:
                checkpoint_every = check_count(checkpoint_every, "checkpoint_every", "LMTrainer.run")
        elif checkpoint_every is not None:
            raise ValueError("LMTrainer.run: checkpoint_every needs checkpoint=PATH (where to save)")
        bar = tqdm(total=updates, disable=not progress, desc="training", unit="update")
        try:
            with _deferred_interrupt() as interrupt:
                for _ in range(updates):
                    loss = self.updater.update()
                    it = self.updater.iteration
                    if it % log_every == 0:
                        self.history.log_train(it, self.iterator.epoch_detail, loss)
                    due = (eval_every and it % eval_every == 0) or (not eval_every and self.iterator.is_new_epoch)
                    if due and self.valid_words is not None:
                        self.history.log_valid(it, self.iterator.epoch_detail, self.evaluate())
                    if checkpoint_every and it % checkpoint_every == 0:
                        self.save(checkpoint)
                    postfix = {"loss": f"{loss:.3f}"}
                    if self.history.valid["val_perplexity"]:
                        postfix["val_ppl"] = f"{self.history.valid['val_perplexity'][-1]:.1f}"
                    bar.set_postfix(postfix, refresh=False)
                    bar.update(1)
                    if interrupt.requested:
                        if checkpoint is not None:
                            self.save(checkpoint)
                        where = f"; checkpoint saved to {checkpoint}" if checkpoint is not None else ""
                        raise TrainingInterrupted(
                            f"LMTrainer.run: interrupted after update {it}; the model, optimizer "
                            f"and iterator are consistent{where}. Call run() again to continue")
        finally:
            bar.close()
        return self.history

    def _planned_updates(self, epochs, updates):
        if epochs is not None and updates is not None:
            raise ValueError(f"LMTrainer.run: give epochs or updates, not both (got epochs={epochs!r}, "
                             f"updates={updates!r})")
        if updates is not None:
            return check_count(updates, "updates", "LMTrainer.run")
        epochs = 1 if epochs is None else epochs
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Real) or not (
                math.isfinite(epochs) and epochs > 0):
            raise ValueError(f"LMTrainer.run: epochs must be a finite number > 0, got {epochs!r}")
        return max(1, int(round(epochs * self.updates_per_epoch)))

    # -- checkpoints ------------------------------------------------------------------------
    def _recurrent_links(self):
        return [(path, link) for path, link in self.model.namedlinks() if hasattr(link, "state_names")]

    def serialize(self, serializer):
        checking = getattr(serializer, "checking", False)
        self.model.serialize(serializer["model"])
        self.optimizer.serialize(serializer["optimizer"])
        self.iterator.serialize(serializer["iterator"])
        if checking:
            self._check_stored(serializer)
        else:
            self.updater.iteration = int(serializer["updater"]("iteration", self.updater.iteration))
            if not getattr(serializer, "loading", False):  # what the checks on load compare with
                serializer["data"]("batch_size", self.iterator.batch_size)
                serializer["data"]("train_length", len(self.train_words))
        for path, link in self._recurrent_links():
            sub = serializer["state"][path.strip("/").replace("/", "__") or "root"]
            for name in link.state_names:
                v = getattr(link, name)
                if checking:
                    continue
                stored = sub(name, None if v is None else v.array)
                if getattr(serializer, "loading", False) and stored is not None:
                    link.set_state(**{name: Variable(backend.to_device(stored, self.device))})
        if not checking:
            self.history.serialize(serializer["history"])
            serialize_random_state(serializer["random"])

    def _check_stored(self, checker):
        """First pass of ``load``: the entries beyond the model, optimizer and iterator."""
        iteration = checker["updater"].peek("iteration")
        if iteration is None or iteration.ndim != 0 or iteration.dtype.kind not in "iu" or iteration < 0:
            checker.problem(f"the file {checker.where} has no valid 'updater/iteration' "
                            f"(a count >= 0), got {iteration!r}")
        batch = self.iterator.batch_size
        for key, mine in (("batch_size", batch), ("train_length", len(self.train_words))):
            stored = checker["data"].peek(key)
            if stored is not None and int(stored) != mine:
                checker.problem(f"the checkpoint was saved with {key}={int(stored)} but this trainer "
                                f"has {key}={mine}; resume with the same data and batch size")
        for path, link in self._recurrent_links():
            sub = checker["state"][path.strip("/").replace("/", "__") or "root"]
            size = link.lateral.W.shape[1] if hasattr(link, "lateral") else None
            for name in link.state_names:
                stored = sub.peek(name)
                if stored is None:
                    continue
                if stored.ndim != 2 or stored.shape[0] != batch or (size and stored.shape[1] != size):
                    checker.problem(f"state '{path}' {name} has shape {tuple(stored.shape)} in the file "
                                    f"but this trainer needs ({batch}, {size}) (batch_size, hidden "
                                    f"size); was it saved with another batch_size?")
        for part in ("train", "valid"):
            for key, stored in ((k, checker["history"][part].peek(k)) for k in getattr(self.history, part)):
                if stored is not None and stored.ndim != 1:
                    checker.problem(f"'history/{part}/{key}' should be a list of numbers, got shape "
                                    f"{tuple(stored.shape)}")

    def save(self, path):
        """Write a checkpoint atomically (the old file survives a crash mid-write)."""
        serializers.save_npz(serializers.npz.check_writable(path, "LMTrainer.save"), self)

    def load(self, path):
        """Restore model, optimizer, iterator, recurrent state and history from ``path``.

        Everything is checked first (shapes, the iterator's position against this batch size and
        data, the recurrent states); on any problem a ValueError lists them all and nothing changes.
        """
        from ..serializers import npz

        store = npz.read_npz(path, "LMTrainer.load")
        where = f"'{os.fspath(path)}'"
        problems = npz.find_problems(store, self.model, "model/", strict=True, where=where)
        problems += npz.find_problems(store, self, "", strict=False, where=where)
        problems = list(dict.fromkeys(problems))
        if problems:
            raise ValueError(f"LMTrainer.load: cannot resume from {where} (nothing was changed): "
                             + "; ".join(problems))
        states = [(link, link.get_state(), link.step) for _, link in self._recurrent_links()]
        random_state = numpy.random.get_state()
        iteration = self.updater.iteration
        history = {part: {k: list(v) for k, v in getattr(self.history, part).items()}
                   for part in ("train", "valid")}
        try:
            npz.apply_npz(store, self)
        except BaseException:
            for link, state, step in states:  # put back what apply_npz's snapshot cannot hold
                link.set_state(**state)
                link.step = step
            self.updater.iteration = iteration
            self.history.train, self.history.valid = history["train"], history["valid"]
            numpy.random.set_state(random_state)
            raise


def serialize_random_state(serializer):
    """Save or restore NumPy's global random state (``numpy.random.get_state()``): dropout draws
    its masks from it, so without it a resumed run with dropout would draw other masks than the
    uninterrupted run. A file without the entries (an older checkpoint) leaves the state alone.
    CuPy's generator, which dropout uses on a GPU, is not saved."""
    if getattr(serializer, "checking", False):
        return
    if getattr(serializer, "loading", False):
        keys, pos = serializer("keys", None), serializer("pos", None)
        has_gauss, cached = serializer("has_gauss", None), serializer("cached_gaussian", None)
        if keys is None or pos is None:
            return
        numpy.random.set_state(("MT19937", numpy.asarray(keys, dtype=numpy.uint32), int(pos),
                                int(has_gauss if has_gauss is not None else 0),
                                float(cached if cached is not None else 0.0)))
        return
    _, keys, pos, has_gauss, cached = numpy.random.get_state()
    serializer("keys", numpy.asarray(keys, dtype=numpy.uint32))
    serializer("pos", numpy.int64(pos))
    serializer("has_gauss", numpy.int64(has_gauss))
    serializer("cached_gaussian", numpy.float64(cached))


def _check_model(model, where):
    """The model must be a Link called as ``model(x, t)`` returning the loss (a Classifier)."""
    if not isinstance(model, L.Link):
        raise TypeError(f"{where}: model must be a link such as L.Classifier(L.RNNLM(...)), got "
                        f"{type(model).__name__}")
    if isinstance(model, L.Classifier):
        return
    try:
        inspect.signature(model.forward).bind(None, None)
    except TypeError:
        raise TypeError(f"{where}: model must take (word ids, next word ids) and return the loss; "
                        f"{type(model).__name__}.forward takes one input. Wrap it: "
                        f"L.Classifier(model)") from None
    except ValueError:  # no signature to read: trust the model
        pass


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped ``LMTrainer.run`` between two updates: the trainer is whole and can be saved."""


class _Interrupt:
    requested = False


@contextlib.contextmanager
def _deferred_interrupt():
    """Within: the first SIGINT only sets ``.requested``; a second one raises at once."""
    state = _Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if state.requested:
            raise KeyboardInterrupt("LMTrainer.run: interrupted twice; stopped mid-update")
        state.requested = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
