"""Claims of lesson 11: the encoder-decoder on digit reversal, with and without attention, at the
lesson's size (``rnnviz.experiments.seq2seq``: the lesson's model, 32 hidden units, 300 Adam
steps of 64 sources of 3-8 digits, 500 fresh test sources). The seed moves the data, the initial
weights and the batches together (seed 0 is the lesson's run)."""
import functools

import numpy as np

from claims import claim

SIZE = dict(iterations=300, n_hidden=32, min_len=3, max_len=8)


@functools.lru_cache(maxsize=None)
def _run(seed, attention):
    """(sequence accuracy, accuracy on 3-4 digit sources, on 7-8 digit sources, mean weight on
    the mirrored position) of one trained model."""
    from rnnviz.experiments import seq2seq as S
    model, _ = S.train_seq2seq(attention, seed=seed, **SIZE)
    sources, targets = S.test_set(min_len=3, max_len=8, seed=seed)
    outputs, maps = model.generate(sources)
    right = np.array([len(o) == len(t) and bool((o == t).all()) for o, t in zip(outputs, targets)])
    lengths = np.array([len(s) for s in sources])
    mirror = np.nan
    if attention:
        # step t writes source digit L-1-t: the weight it puts there, over the steps before <eos>
        mirror = np.mean([m[t, len(s) - 1 - t] for s, m in zip(sources, maps)
                          for t in range(min(len(s), len(m)))])
    return float(right.mean()), float(right[lengths <= 4].mean()), float(right[lengths >= 7].mean()), mirror


@claim("11", "Without attention the model gets about {plain} of the fresh sources exactly right",
       rel=0.12)
def without_attention(seed):
    acc, short, long, _ = _run(seed, False)
    return {"plain": acc, "short sources come out right more often than long ones": short > long + 0.2}


@claim("11", "same number of updates: with attention, about {attention}", rel=0.05)
def with_attention(seed):
    plain, _, _, _ = _run(seed, False)
    acc, _, _, _ = _run(seed, True)
    return {"attention": acc, "attention is right more often than the plain model": acc > plain + 0.15}


@claim("11", "The plain model gets about {short} of the sources of 3 or 4 digits right, but\n"
             "only about {long} of those of 7 or 8 digits; with attention, about {attention_long} of "
             "the long ones.",
       tolerances={"short": (0.05, 0.0), "long": (0.16, 0.0), "attention_long": (0.08, 0.0)})
def by_length(seed):
    _, short, long, _ = _run(seed, False)
    _, _, attention_long, _ = _run(seed, True)
    return {"short": short, "long": long, "attention_long": attention_long,
            "attention beats the plain model on long sources": attention_long > long + 0.3}


@claim("11", "the trained model looks along the anti-diagonal")
def anti_diagonal(seed):
    _, _, _, mirror = _run(seed, True)
    # the mean weight on the mirrored source digit, against 1/8 to 1/3 for a uniform look
    return {"most of each step's weight lies on the mirrored digit": bool(mirror > 0.5)}
