"""A character-level language model on the shipped KJV text: training at the lesson's size,
sampling with a temperature, hidden units read against features of the text, and connectivity
(how much each past character's input moves the current prediction).

Numbers only, no widgets and no drawing (``rnnviz.widgets.UnitTextView`` and ``ConnectivityView``
draw them). Everything runs one character stream at a time (batch 1) from a fresh state unless
said otherwise.
"""
import contextlib
import functools

import numpy

from .. import links as L
from .. import optimizers
from ..core import Variable, no_backprop_mode, using_config
from ..datasets.chars import KJV_CHARSET, chars_to_ids, get_kjv_chars, ids_to_chars
from .model import InputError

#: The lesson's training: a one-layer LSTM of 64 units on 16-dimensional character embeddings,
#: Adam, truncated BPTT over 32 characters in 32 parallel streams, gradients clipped at 5.
PROTOCOL = dict(n_embed=16, n_hidden=64, batch_size=32, bprop_len=32, alpha=0.01, clip=5.0,
                updates=300, checkpoints=(0, 20, 80, 300))


@contextlib.contextmanager
def one_blas_thread():
    """Small matrices (a batch of 32 by 64 units): one BLAS thread is fastest, and on a busy
    machine several threads spinning on them can make each product ten times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:           # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=1):
        yield


def char_model(seed=0, n_embed=PROTOCOL["n_embed"], n_hidden=PROTOCOL["n_hidden"], cell="lstm",
               n_chars=len(KJV_CHARSET)):
    """``L.Classifier(L.RNNLM(n_chars, n_embed, n_hidden))``, initialised from ``seed``."""
    numpy.random.seed(seed)
    model = L.Classifier(L.RNNLM(n_chars, n_embed, n_hidden, cell=cell))
    model.compute_accuracy = False
    return model


def char_trainer(model, train=None, valid=None, protocol=PROTOCOL):
    """An ``LMTrainer`` with the protocol's settings on the character stream (default: the
    shipped corpus's training split; ``valid``: the first 20,000 validation characters)."""
    from ..training import LMTrainer
    if train is None:
        train, full_valid, _, _ = get_kjv_chars()
        valid = full_valid[:20000] if valid is None else valid
    return LMTrainer(model, train, valid, batch_size=protocol["batch_size"],
                     bprop_len=protocol["bprop_len"], optimizer=optimizers.Adam(alpha=protocol["alpha"]),
                     clip=protocol["clip"], eval_batch_size=50)


def train_char_model(seed=0, checkpoints=PROTOCOL["checkpoints"], on_checkpoint=None):
    """Train the lesson's model from ``seed`` up to the last of ``checkpoints`` (numbers of
    updates); at each checkpoint call ``on_checkpoint(updates, model, trainer)``. Returns the
    model. Splitting the run at checkpoints changes nothing: one run gives the same weights."""
    model = char_model(seed)
    trainer = char_trainer(model)
    with one_blas_thread():
        for at in sorted(checkpoints):
            if at > trainer.updater.iteration:
                trainer.run(updates=at - trainer.updater.iteration, progress=False)
            if on_checkpoint is not None:
                on_checkpoint(at, model, trainer)
    return model


@functools.lru_cache(maxsize=8)
def trained_char_model(seed=0, updates=PROTOCOL["updates"]):
    """The lesson's model trained for ``updates`` windows (cached per process: copy it,
    ``model.copy(mode="copy")``, before training it further)."""
    return train_char_model(seed, (updates,))


# -- sampling -------------------------------------------------------------------------------------
def temperature_probs(logits, temperature):
    """softmax(logits / T): T < 1 sharpens the distribution, T > 1 flattens it; T = 0 puts all the
    probability on the likeliest character (greedy)."""
    logits = numpy.asarray(logits, dtype=numpy.float64)
    if not (isinstance(temperature, (int, float, numpy.floating)) and not isinstance(temperature, bool)
            and numpy.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if temperature == 0:
        p = numpy.zeros_like(logits)
        p[..., :] = logits == logits.max(axis=-1, keepdims=True)
        return p / p.sum(axis=-1, keepdims=True)
    z = logits / temperature
    z = numpy.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def sample_chars(model, n_chars=200, temperature=1.0, prime="\n", seed=0, charset=KJV_CHARSET):
    """Let ``model`` write ``n_chars`` characters after reading ``prime``: each next character is
    drawn from ``temperature_probs`` of its scores and fed back in. Runs on a copy of the
    predictor without a graph (the model's own state is untouched). Returns the written text
    (without ``prime``)."""
    if not isinstance(prime, str) or not prime:
        raise ValueError(f"sample_chars: prime must be a non-empty str (the text read before "
                         f"writing, e.g. a newline), got {prime!r}")
    vocab = {c: i for i, c in enumerate(charset)}
    ids = chars_to_ids(prime, vocab)
    rng = numpy.random.default_rng(seed)
    lm = (model.predictor if isinstance(model, L.Classifier) else model).copy()
    lm.reset_state()
    out = []
    with no_backprop_mode(), using_config("train", False):
        for i in ids[:-1]:
            lm(numpy.array([i], numpy.int32))
        current = int(ids[-1])
        for _ in range(n_chars):
            p = temperature_probs(lm(numpy.array([current], numpy.int32)).array[0], temperature)
            current = int(rng.choice(len(p), p=p))
            out.append(charset[current])
    return "".join(out)


@functools.lru_cache(maxsize=1)
def corpus_words():
    """Every word of the shipped corpus's training split."""
    train = get_kjv_chars()[0]
    return frozenset(ids_to_chars(train).split())


def real_word_share(text, words=None):
    """The share of the (space- or newline-separated) words of ``text`` that are words of the
    training text; 0 for a text without words."""
    words = corpus_words() if words is None else words
    written = text.split()
    return sum(w in words for w in written) / len(written) if written else 0.0


# -- hidden units against the text ---------------------------------------------------------------
def unit_activations(model, ids, state="h"):
    """(T, H): the recurrent layer's ``state`` (``'h'``, or ``'c'`` for an LSTM's cell) after
    reading each character of ``ids``, from a fresh state, without a graph."""
    lm = model.predictor if isinstance(model, L.Classifier) else model
    ids = numpy.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or len(ids) < 2:
        raise InputError(f"unit_activations: ids must be a 1-D array of at least 2 character ids, "
                         f"got shape {ids.shape} and dtype {ids.dtype}")
    layer = _recurrent(lm)
    if state not in layer.state_names:
        raise InputError(f"unit_activations: state must be one of {layer.state_names} for "
                         f"{type(layer).__name__}, got {state!r}")
    copy = lm.copy()
    layer = _recurrent(copy)
    copy.reset_state()
    out = []
    with no_backprop_mode(), using_config("train", False):
        for i in ids:
            copy(numpy.array([i], numpy.int32))
            out.append(numpy.asarray(getattr(layer, state).array[0], dtype=numpy.float64))
    return numpy.stack(out)


def _recurrent(lm):
    names = getattr(lm, "recurrent_names", None)
    if not names:
        raise InputError(f"expected a character model built like L.RNNLM (embed, a recurrent "
                         f"layer, out), got {type(lm).__name__}")
    return getattr(lm, names[-1])


#: What the shipped text really contains, as features of the character just read.
FEATURES = ("space", "verse end", "position in the word", "position in the verse", "inside 's")


def char_features(text):
    """name -> float array (len(text),), one value per character read:

    * ``space``: 1 where the character is a space (a word just ended);
    * ``verse end``: 1 where it is the newline that ends a verse;
    * ``position in the word``: how many letters of the current word have been read (0 at a space
      or newline);
    * ``position in the verse``: how many characters since the verse began;
    * ``inside 's``: 1 on the apostrophe and the ``s`` of a possessive ``'s``.
    """
    n = len(text)
    space = numpy.array([c == " " for c in text], float)
    newline = numpy.array([c == "\n" for c in text], float)
    in_word = numpy.zeros(n)
    in_verse = numpy.zeros(n)
    poss = numpy.zeros(n)
    w = v = 0
    for k, c in enumerate(text):
        w = 0 if c in " \n" else w + 1
        v = 0 if c == "\n" else v + 1
        in_word[k], in_verse[k] = w, v
        if c == "'" or (c == "s" and k > 0 and text[k - 1] == "'"):
            poss[k] = 1.0
    return {"space": space, "verse end": newline, "position in the word": in_word,
            "position in the verse": in_verse, "inside 's": poss}


def unit_correlations(activations, feature):
    """(H,): the Pearson correlation of each unit's activation with ``feature`` over the text
    (0 for a unit or a feature that does not vary)."""
    a = numpy.asarray(activations, dtype=numpy.float64)
    f = numpy.asarray(feature, dtype=numpy.float64)
    if a.ndim != 2 or f.shape != (a.shape[0],):
        raise InputError(f"unit_correlations: expected activations (T, H) and a feature (T,), got "
                         f"{a.shape} and {f.shape}")
    a = a - a.mean(axis=0)
    f = f - f.mean()
    den = numpy.sqrt((a * a).sum(axis=0) * (f * f).sum())
    with numpy.errstate(invalid="ignore", divide="ignore"):
        r = (a * f[:, None]).sum(axis=0) / den
    return numpy.where(den > 0, r, 0.0)


def best_units(activations, feature, k=3):
    """[(unit, r)] for the ``k`` units whose activation correlates most (in absolute value) with
    ``feature``, strongest first."""
    r = unit_correlations(activations, feature)
    order = numpy.argsort(-numpy.abs(r), kind="stable")[:k]
    return [(int(u), float(r[u])) for u in order]


# -- connectivity ------------------------------------------------------------------------------------
class Connectivity:
    """How much each past character's input moves one prediction, the way the library trains it.

    ``Connectivity(model, ids, bprop_len=None)`` runs the model over ``ids`` (batch 1, fresh
    state) once and keeps the graph. Each character's embedding ``e_s`` enters as a leaf Variable,
    so ``norms(t)`` can back-propagate ``log p(x_{t+1} | x_0..x_t)`` and read

        n_s = || d log p(x_{t+1}) / d e_s ||   for s = 0..t.

    With ``bprop_len = b`` the forward pass cuts the recurrent state before steps 0, b, 2b, ...
    as truncated BPTT does when a window starts there: the state's values carry on in a fresh
    leaf Variable, its history does not (what ``truncate()`` does, here without unchaining the
    earlier windows, whose predictions are still to be read). Then n_s is exactly 0 for s before
    the window that holds t. ``None``: full BPTT.
    """

    def __init__(self, model, ids, bprop_len=None):
        lm = model.predictor if isinstance(model, L.Classifier) else model
        ids = numpy.asarray(ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu" or len(ids) < 2:
            raise InputError(f"Connectivity: ids must be a 1-D array of at least 2 character ids, "
                             f"got shape {ids.shape} and dtype {ids.dtype}")
        if not all(hasattr(lm, a) for a in ("embed", "out")):
            raise InputError(f"Connectivity: expected a model built like L.RNNLM (embed, recurrent "
                             f"layers, out), got {type(lm).__name__}")
        if bprop_len is not None and (isinstance(bprop_len, bool) or not isinstance(bprop_len, (int, numpy.integer))
                                      or bprop_len < 1):
            raise InputError(f"Connectivity: bprop_len must be a positive int or None (full BPTT), "
                             f"got {bprop_len!r}")
        self.ids = ids.astype(numpy.int32)
        self.bprop_len = None if bprop_len is None else int(bprop_len)
        copy = lm.copy()
        copy.reset_state()
        layers = [getattr(copy, name) for name in copy.recurrent_names]
        self.embeddings, self.log_probs = [], []
        from .. import functions as F
        with using_config("train", False):
            for s in range(len(ids) - 1):
                if self.bprop_len is not None and s % self.bprop_len == 0:
                    for layer in layers:     # truncate(), without unchaining the earlier windows
                        layer.set_state(**{n: Variable(getattr(layer, n).array)
                                           for n in layer.state_names if getattr(layer, n) is not None})
                e = Variable(copy.embed.W.array[self.ids[s:s + 1]].copy())
                self.embeddings.append(e)
                h = e
                for layer in layers:
                    h = layer(h)
                # log p(x_{s+1}) is minus the step's loss (batch 1)
                self.log_probs.append(-F.softmax_cross_entropy(copy.out(h), self.ids[s + 1:s + 2]))
        self._cache = {}

    def window_start(self, t):
        """The first step whose input still reaches the prediction at ``t``."""
        return 0 if self.bprop_len is None else (t // self.bprop_len) * self.bprop_len

    def norms(self, t):
        """(t + 1,) array: n_s for s = 0..t (0 where no gradient arrives)."""
        t = int(t)
        if not 0 <= t < len(self.log_probs):
            raise InputError(f"Connectivity.norms: t must lie in 0..{len(self.log_probs) - 1} (a "
                             f"prediction needs the next character), got {t}")
        if t not in self._cache:
            for e in self.embeddings[:t + 1]:
                e.cleargrad()
            target = self.log_probs[t]
            target.grad = numpy.ones_like(target.array)
            target.backward()
            self._cache[t] = numpy.array([0.0 if e.grad is None else float(numpy.linalg.norm(e.grad))
                                          for e in self.embeddings[:t + 1]])
        return self._cache[t]


def connectivity(model, ids, t, bprop_len=None):
    """``Connectivity(model, ids[:t + 2], bprop_len).norms(t)``: one prediction's connectivity."""
    return Connectivity(model, numpy.asarray(ids)[:int(t) + 2], bprop_len).norms(t)


def reach_profile(model, ids, ts, max_distance, bprop_len=None):
    """(len(ts), max_distance + 1): n_{t-d} / n_t for d = 0..max_distance at each position t
    (how the gradient of one prediction falls off with distance, relative to the character just
    read); NaN where t - d < 0."""
    run = Connectivity(model, ids, bprop_len)
    out = numpy.full((len(ts), max_distance + 1), numpy.nan)
    for i, t in enumerate(ts):
        n = run.norms(t)
        for d in range(min(max_distance, t) + 1):
            out[i, d] = n[t - d] / n[t] if n[t] > 0 else numpy.nan
    return out
