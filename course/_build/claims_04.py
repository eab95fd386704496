"""Claims of lesson 04: what truncation costs, measured with the protocol of ``BPTTComparison()``
(``rnnviz.experiments.truncation``): a fresh model on delayed recall, every placement of the cuts,
a batch of 32 sequences. The seed moves the model's initialisation and the data together
(seed 0 is the widget's default)."""
import functools

import numpy as np

from claims import claim

ALL = list(range(1, 17))


@functools.lru_cache(maxsize=None)
def _curves(seed, scale, cell="lstm", bprop_lens=tuple(ALL)):
    """(cos, err) of the whole update (mean over offsets) at each bprop_len."""
    from rnnviz import experiments as E
    xs, ts = E.protocol_data(seed)
    sm = E.StepModel(E.protocol_model(seed, cell=cell))
    with E.scaled_lateral(sm.recurrent, scale):
        r = E.compare_truncation_averaged(sm, xs, ts, list(bprop_lens), flow=False)
    return r["cos"][-1], r["err"][-1]


@claim("04", "At × 1 and bprop_len 3, the cosine is about {cos} and the relative error about\n{err}: "
             "a window shorter than the lag misses a good part of the update.", rel=0.18)
def at_one(seed):
    cos, err = _curves(seed, 1.0)
    return {"cos": cos[2], "err": err[2],
            "the cosine rises with bprop_len (slack 0.02)": bool(np.all(np.diff(cos) > -0.02)),
            "the relative error falls with bprop_len (slack 0.02)": bool(np.all(np.diff(err) < 0.02))}


@claim("04", "The biggest single step comes at bprop_len 5")
def lag_step(seed):
    cos, err = _curves(seed, 1.0)
    return {"the largest rise of the cosine is from 4 to 5": int(np.argmax(np.diff(cos))) == 3,
            "the largest fall of the error is from 4 to 5": int(np.argmin(np.diff(err))) == 3}


@claim("04", "Even bprop_len 16 is not exact on average")
def not_exact(seed):
    cos, err = _curves(seed, 1.0)
    return {"cosine below 1 at bprop_len 16": cos[-1] < 0.999, "error above 0 at 16": err[-1] > 0.01}


@claim("04", "at × 0.25 the relative error at\nbprop_len 1 is still about {err}", rel=0.18)
def small_scale(seed):
    cos, err = _curves(seed, 0.25, bprop_lens=(1, 3))
    return {"err": err[0]}


@claim("04", "at × 2 the cosines lie below the × 1 ones\nfor each of the three initialisations printed above")
def larger_scale(seed):
    c1, _ = _curves(seed, 1.0, bprop_lens=(1, 3))
    c2, _ = _curves(seed, 2.0, bprop_lens=(1, 3))
    return {"x2 below x1 at bprop_len 1 and 3": bool(np.all(c2 < c1))}


@claim("04", "At × 0.25 its gradient vanishes within a few steps, so\ntruncation costs almost nothing: the relative error at bprop_len 1 is below 0.1. At × 1 it is\n"
             "about {e1}, and at × 3, where old terms dominate the full gradient, about {e3}",
       tolerances={"e1": (0.15, 0.0), "e3": (0.05, 0.0)})
def rnn_textbook(seed):
    _, small = _curves(seed, 0.25, cell="rnn", bprop_lens=(1,))
    _, one = _curves(seed, 1.0, cell="rnn", bprop_lens=(1,))
    _, three = _curves(seed, 3.0, cell="rnn", bprop_lens=(1,))
    lstm_small = _curves(seed, 0.25, bprop_lens=(1, 3))[1][0]
    return {"e1": one[0], "e3": three[0], "below 0.1 at x0.25": small[0] < 0.1,
            "the LSTM's at x0.25 is well above the RNN's": lstm_small > 3 * small[0]}
