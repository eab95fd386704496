"""Claims of lesson 03: how far back a gradient reaches in a plain RNN and in an LSTM.

Each measurement is the lesson's own (``gradient_reach`` of section 5, the gradient flow the
``BPTTComparison`` pair shows), with the seed moving both the model's initialisation and the words.
"""
import functools

import numpy as np

from claims import claim


@functools.lru_cache(maxsize=None)
def _reach(cell, seed, forget_bias=None, T=30, vocab=20, hidden=32):
    """The lesson's gradient_reach: (h-gradient / last h-gradient, c-gradient / last h-gradient)."""
    from rnnviz import functions as F, links as L
    np.random.seed(seed)
    lm = L.RNNLM(vocab, hidden, hidden, cell=cell)
    if forget_bias is not None:
        lm.mid.upward.b.array[hidden:2 * hidden] = forget_bias
    words = np.random.default_rng(seed + 1).integers(0, vocab, size=(T + 1, 4)).astype(np.int32)
    lm.reset_state()
    states = []
    for t in range(T):
        y = lm(words[t])
        states.append((lm.mid.h, getattr(lm.mid, "c", None)))
    F.softmax_cross_entropy(y, words[T]).backward(retain_grad=True)
    h = np.array([np.linalg.norm(a.grad) for a, _ in states])
    c = None if cell == "rnn" else np.array([np.nan if b.grad is None else np.linalg.norm(b.grad)
                                             for _, b in states])
    return h / h[-1], (None if c is None else c / h[-1])


def _back(a, k):
    return float(a[-1 - k])


@claim("03", "One step back, the LSTM's $h$-gradient drops to about {lstm1} of\nits value at the last "
             "step, while the RNN's keeps about {rnn1}", rel=0.18)
def first_step(seed):
    r, _ = _reach("rnn", seed)
    h, _ = _reach("lstm", seed)
    return {"lstm1": _back(h, 1), "rnn1": _back(r, 1),
            "the LSTM's is the smaller one step back": _back(h, 1) < _back(r, 1)}


@claim("03", "its gradient lies above the $h$-gradient at every step back, and from one step back to\n"
             "ten it shrinks by a factor of about {f} per step", rel=0.08)
def cell_path(seed):
    h, c = _reach("lstm", seed)
    return {"f": (c[-11] / c[-2]) ** (1 / 9),
            "the cell's gradient is above h's at every step back": bool(np.all(c[:-1] > h[:-1]))}


@claim("03", "beyond 10 steps back, the LSTM's gradient is the larger\none, and 29 steps back it is "
             "more than 50 times the RNN's")
def order_turns(seed):
    r, _ = _reach("rnn", seed)
    h, _ = _reach("lstm", seed)
    return {"the LSTM's is larger at every step from 10 back": all(_back(h, k) > _back(r, k) for k in range(10, 30)),
            "29 steps back the LSTM's is more than 50 times the RNN's": _back(h, 29) > 50 * _back(r, 29)}


@claim("03", "Less far: 29 steps back, the gradient is hundreds of times smaller than with the bias at 1.")
def forget_bias_zero(seed):
    h1, _ = _reach("lstm", seed)
    h0, _ = _reach("lstm", seed, forget_bias=0.0)
    ratio = _back(h1, 29) / _back(h0, 29)
    return {"hundreds of times smaller (100 to 10,000)": 100 <= ratio < 10_000}


@functools.lru_cache(maxsize=None)
def _flow(cell, seed, scale):
    """The widget's gradient flow on the lesson's 12 words: mean over rows of
    ||dL_t/d state_{t-8}|| / ||dL_t/d state_t||."""
    from rnnviz import experiments as E, links as L
    words = np.random.default_rng(seed + 1).integers(0, 20, size=(13, 4)).astype(np.int32)
    np.random.seed(seed)
    sm = E.StepModel(L.Classifier(L.RNNLM(20, 16, 16, cell=cell)))
    with E.scaled_lateral(sm.recurrent, scale):
        *_, norms = E.window_gradients(sm, words[:-1], words[1:], {(0, 11)}, flow=True)
    return float(np.mean([norms[t, t - 8] / norms[t, t] for t in range(8, 12)]))


@claim("03", "Eight steps back, at\n**W_h scale** × 1, the RNN's rows have faded to about {rnn} of their "
             "value on the diagonal and the\nLSTM's to about {lstm}; at × 0.5 the RNN's are below "
             "$10^{-4}$ while the LSTM's keep about {lstm_half}", rel=0.18)
def rows_fade(seed):
    rnn_half = _flow("rnn", seed, 0.5)
    return {"rnn": _flow("rnn", seed, 1.0), "lstm": _flow("lstm", seed, 1.0),
            "lstm_half": _flow("lstm", seed, 0.5), "the RNN's at x0.5 is below 1e-4": rnn_half < 1e-4}
