"""Claims of lesson 06. The lesson's own numbers (the corpus, the <unk> rates, the baselines, the
LSTM's perplexity and when it passes each baseline) are printed by its cells; what is measured
here is what its folded answers say about sampling temperature.

The model is the lesson's small one (an LSTM of 64 units on the shipped corpus at vocabulary
1000, SGD with lr=1.0, clipping at 5.0, 20 streams, windows of 35 words), trained for 60 updates
instead of a whole pass to keep the test short: temperature reshapes whatever distribution the
model has, and the same statements held, by wider margins, for the fully trained model when the
answer was written.
"""
import functools

import numpy as np

from claims import claim

N_VOCAB = 1000
N_UPDATES = 60
N_WORDS = 200


@functools.lru_cache(maxsize=1)
def _corpus():
    from rnnviz import datasets
    train, _, _ = datasets.get_kjv_words(vocab_size=N_VOCAB)
    vocab = datasets.get_kjv_words_vocabulary(vocab_size=N_VOCAB)
    counts = np.bincount(train, minlength=N_VOCAB)
    rank = np.empty(N_VOCAB, int)
    rank[np.argsort(-counts, kind="stable")] = np.arange(N_VOCAB)   # 0: the most frequent word
    return train, vocab, rank, datasets.BigramLM(train, N_VOCAB)


@functools.lru_cache(maxsize=None)
def _trained(seed):
    from threadpoolctl import threadpool_limits
    import rnnviz as chainer
    from rnnviz import links as L, optimizers
    from rnnviz.iterators import ParallelSequentialIterator
    from rnnviz.training import BPTTUpdater

    train = _corpus()[0]
    np.random.seed(seed)
    lm = L.Classifier(L.RNNLM(N_VOCAB, 64, 64))
    lm.compute_accuracy = False
    opt = optimizers.SGD(lr=1.0).setup(lm)
    opt.add_hook(chainer.optimizer_hooks.GradientClipping(5.0))
    updater = BPTTUpdater(ParallelSequentialIterator(train, 20), opt, 35)
    with threadpool_limits(limits=1):   # small matrices: one thread is fastest, and steady
        for _ in range(N_UPDATES):
            updater.update()
    return lm


@functools.lru_cache(maxsize=None)
def _sample(seed, temperature):
    """The lesson's sample(): from <eos>, on an evaluation copy; returns the ids, <eos> first."""
    import rnnviz as chainer
    vocab = _corpus()[1]
    rng = np.random.default_rng(seed)
    lm = _trained(seed).predictor.copy()
    lm.reset_state()
    word = vocab["<eos>"]
    out = [word]
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        for _ in range(N_WORDS):
            scores = lm(np.array([word], np.int32)).array[0].astype(np.float64) / temperature
            p = np.exp(scores - scores.max())
            word = int(rng.choice(len(p), p=p / p.sum()))
            out.append(word)
    return np.array(out)


def _distinct(ids):
    return len(set(ids[1:].tolist())) / (len(ids) - 1)


def _rare(ids):
    """The share of sampled words outside the 100 most frequent training words (<unk> is one
    of the frequent ones)."""
    return float(np.mean(_corpus()[2][ids[1:]] >= 100))


def _pair_log_prob(ids):
    """The bigram's (lesson section 2) mean log-probability of the sample's word pairs."""
    return float(np.mean(np.log(_corpus()[3]._prob(ids[:-1], ids[1:]))))


@claim("06", "and a sample holds fewer distinct words than one of the same length at `temperature=1.5`")
def fewer_distinct_when_cold(seed):
    cold, hot = _sample(seed, 0.3), _sample(seed, 1.5)
    return {"fewer distinct words at 0.3 than at 1.5": _distinct(cold) < _distinct(hot)}


@claim("06", "At\n`temperature=1.5` rare words come up more often, and so do word pairs that the corpus "
             "seldom has:\nthe bigram of section 2 gives the sample's pairs a lower probability")
def rare_words_and_pairs_when_hot(seed):
    cold, hot = _sample(seed, 0.3), _sample(seed, 1.5)
    return {"more words outside the 100 most frequent at 1.5 than at 0.3": _rare(hot) > _rare(cold),
            "a lower mean bigram log-probability of the pairs at 1.5 than at 0.3":
                _pair_log_prob(hot) < _pair_log_prob(cold)}
