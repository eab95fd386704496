"""Counting models: what a neural language model's perplexity has to beat, and the ``<unk>`` rate.

A perplexity means little alone. A uniform guess over ``V`` words scores exactly ``V``; counting
how often each word occurs (a unigram model) does better, and counting which word follows which
(a bigram model) better still. Fitted on the same training words and scored on the same
validation words as a neural model, they say what the network learned beyond counting.

Both score a stream the way :func:`rnnviz.training.evaluate_perplexity` does: every word after the
first is predicted, ``PPL = exp(-mean_t log P(w_t | w_{t-1}))``.
"""
import numpy

from ._vocab import UNK


def _check_ids(words, n_vocab, name, where, min_length):
    words = numpy.asarray(getattr(words, "array", words))   # a Variable's ids are its array
    if words.ndim != 1 or words.dtype.kind not in "iu":
        raise ValueError(f"{where}: {name} must be a flat (1-D) array of integer word ids, got "
                         f"shape {words.shape} and dtype {words.dtype}")
    if len(words) < min_length:
        raise ValueError(f"{where}: {name} holds {len(words)} word(s); at least {min_length} are "
                         f"needed")
    if len(words) and (int(words.min()) < 0 or int(words.max()) >= n_vocab):
        raise ValueError(f"{where}: {name} holds word ids from {int(words.min())} to "
                         f"{int(words.max())}, but the vocabulary has {n_vocab} words (ids 0.."
                         f"{n_vocab - 1})")
    return words.astype(numpy.int64)


def _check_vocab(n_vocab, where):
    if isinstance(n_vocab, bool) or not isinstance(n_vocab, (int, numpy.integer)) or n_vocab < 1:
        raise ValueError(f"{where}: n_vocab must be a positive integer (the vocabulary size), got "
                         f"{n_vocab!r}")
    return int(n_vocab)


def _perplexity(log_probs):
    return float(numpy.exp(-numpy.mean(log_probs)))


class UnigramLM:
    """P(w) = (c(w) + 1) / (N + V): how often w occurs in the N training words, add-one smoothed.

    The previous word is ignored. Adding one to every count keeps a word that the training text
    never shows possible (a probability of zero would make the perplexity infinite).
    """

    def __init__(self, train, n_vocab):
        self.n_vocab = _check_vocab(n_vocab, "UnigramLM")
        train = _check_ids(train, self.n_vocab, "train", "UnigramLM", 1)
        counts = numpy.bincount(train, minlength=self.n_vocab).astype(numpy.float64)
        self.p = (counts + 1.0) / (counts.sum() + self.n_vocab)

    def probs(self, prev=None):
        """P(. | prev) over the vocabulary (the same for every ``prev``)."""
        return self.p.copy()

    def perplexity(self, words):
        """exp(-mean log P(w_t)) over ``words[1:]``."""
        words = _check_ids(words, self.n_vocab, "words", "UnigramLM.perplexity", 2)
        return _perplexity(numpy.log(self.p[words[1:]]))

    def __repr__(self):
        return f"UnigramLM(n_vocab={self.n_vocab})"


class BigramLM:
    """P(w | v) = lam_v c(v, w) / c(v) + (1 - lam_v) P_uni(w),  lam_v = c(v) / (c(v) + T(v)).

    c(v, w) counts the pair "v w" in the training words, c(v) the pairs that start with v, T(v)
    the distinct words seen after v, and P_uni is :class:`UnigramLM`. This is Witten-Bell
    interpolation: it has no setting to tune. A context seen often, with few distinct followers,
    trusts its own counts; a rare one, or one followed by many different words, leans on the
    unigram. A context never seen in training (c(v) = 0) is the unigram.
    """

    def __init__(self, train, n_vocab):
        self.n_vocab = _check_vocab(n_vocab, "BigramLM")
        train = _check_ids(train, self.n_vocab, "train", "BigramLM", 2)
        self.unigram = UnigramLM(train, self.n_vocab)
        pairs, counts = numpy.unique(train[:-1] * self.n_vocab + train[1:], return_counts=True)
        self._pairs, self._pair_counts = pairs, counts.astype(numpy.float64)   # sorted pair keys
        first = pairs // self.n_vocab
        self.context_counts = numpy.bincount(first, weights=self._pair_counts,
                                             minlength=self.n_vocab)           # c(v)
        self.followers = numpy.bincount(first, minlength=self.n_vocab).astype(numpy.float64)  # T(v)
        seen = self.context_counts > 0
        self.lam = numpy.zeros(self.n_vocab)
        self.lam[seen] = self.context_counts[seen] / (self.context_counts[seen] + self.followers[seen])

    def _pair_count(self, prev, nxt):
        keys = prev * self.n_vocab + nxt
        at = numpy.minimum(numpy.searchsorted(self._pairs, keys), len(self._pairs) - 1)
        return numpy.where(self._pairs[at] == keys, self._pair_counts[at], 0.0)

    def _prob(self, prev, nxt):
        c_v = self.context_counts[prev]
        ratio = numpy.divide(self._pair_count(prev, nxt), c_v, out=numpy.zeros(len(prev)),
                             where=c_v > 0)
        lam = self.lam[prev]
        return lam * ratio + (1.0 - lam) * self.unigram.p[nxt]

    def probs(self, prev):
        """P(. | prev) over the vocabulary, for one previous word id."""
        (prev,) = _check_ids([prev], self.n_vocab, "prev", "BigramLM.probs", 1)
        everything = numpy.arange(self.n_vocab)
        return self._prob(numpy.full(self.n_vocab, prev), everything)

    def perplexity(self, words):
        """exp(-mean log P(w_t | w_{t-1})) over ``words[1:]``."""
        words = _check_ids(words, self.n_vocab, "words", "BigramLM.perplexity", 2)
        return _perplexity(numpy.log(self._prob(words[:-1], words[1:])))

    def __repr__(self):
        return f"BigramLM(n_vocab={self.n_vocab}, {len(self._pairs)} distinct pairs)"


def unk_rate(words, vocab):
    """The share of ``words`` (ids) that are ``<unk>`` in ``vocab`` (word -> id); 0.0 for a
    vocabulary without ``<unk>``."""
    words = numpy.asarray(getattr(words, "array", words))
    if words.ndim != 1 or len(words) == 0:
        raise ValueError(f"unk_rate: words must be a non-empty flat (1-D) array of word ids, got "
                         f"shape {words.shape}")
    if words.dtype.kind not in "iu":
        raise TypeError(f"unk_rate: words must be integer word ids, got dtype {words.dtype}")
    if not hasattr(vocab, "get"):
        raise TypeError(f"unk_rate: vocab must map words to ids (a dict), got "
                        f"{type(vocab).__name__}")
    unk = vocab.get(UNK)
    return 0.0 if unk is None else float(numpy.mean(words == unk))
