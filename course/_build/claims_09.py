"""Claims of lesson 09: four cells on delayed recall, 300 updates of full BPTT on fresh batches
(``rnnviz.training.recall.train_cell_on_recall``), the lesson's sweep re-run for each seed (the seed
moves the initialisation, the training batches and the held-out set together; seed 0 is the
lesson's)."""
import functools

import numpy as np

from claims import claim

MODELS = {"rnn": ("rnn", 1.0), "gru": ("gru", 1.0), "lstm0": ("lstm", 0.0), "lstm1": ("lstm", 1.0)}
LAGS = (5, 10, 20, 30)
CHANCE = 0.25


@functools.lru_cache(maxsize=None)
def _sweep(seed):
    """{(model, lag): [(updates, accuracy)] every 50 updates}, as the lesson trains them."""
    from rnnviz.training.recall import train_cell_on_recall
    return {(name, lag): train_cell_on_recall(cell, lag, updates=300, forget_bias=fb, seed=seed, every=50)[1]
            for lag in LAGS for name, (cell, fb) in MODELS.items()}


def _final(seed, name, lag):
    return _sweep(seed)[name, lag][-1][1]


@claim("09", "**At lag 5 every cell learns the task.**")
def lag5(seed):
    return {"every cell above 0.95 at lag 5": all(_final(seed, m, 5) > 0.95 for m in MODELS)}


@claim("09", "**At lag 10 the plain RNN is far ahead**: about {rnn}, against about {gated} for each gated cell.",
       abs=0.05, rel=0.0)
def lag10(seed):
    gated = [_final(seed, m, 10) for m in ("gru", "lstm0", "lstm1")]
    rnn = _final(seed, "rnn", 10)
    curves = [np.array([a for _, a in _sweep(seed)[m, 10]]) for m in ("gru", "lstm0", "lstm1")]
    return {"rnn": rnn, "gated": float(np.mean(gated)),
            "each gated cell within 0.05 of their mean": all(abs(g - np.mean(gated)) < 0.05 for g in gated),
            "the RNN ahead of every gated cell by 0.2 or more": rnn > max(gated) + 0.2,
            "the gated cells still climbing over the last 100 updates": all(c[-1] > c[-3] for c in curves)}


@claim("09", "**At lag 20 the order turns**: the GRU and the LSTM with forget bias 1 reach about {acc}, while\n"
             "the plain RNN and the LSTM with forget bias 0 stay near chance.", abs=0.06, rel=0.0)
def lag20(seed):
    good = [_final(seed, "gru", 20), _final(seed, "lstm1", 20)]
    poor = [_final(seed, "rnn", 20), _final(seed, "lstm0", 20)]
    return {"acc": float(np.mean(good)),
            "GRU and LSTM(1) each ahead of RNN and LSTM(0) by 0.05 or more": min(good) > max(poor) + 0.05,
            "RNN and LSTM(0) below 0.4 (near chance)": max(poor) < 0.4}


@claim("09", "**A forget bias of 1 helps early**: at lag 20 the LSTM with bias 1 is ahead of the one with\n"
             "bias 0 at every point of its learning curve, and after 50 updates it is already at about {early},\n"
             "while the GRU is still near chance", abs=0.06, rel=0.0)
def forget_bias(seed):
    one = np.array([a for _, a in _sweep(seed)["lstm1", 20]])
    zero = np.array([a for _, a in _sweep(seed)["lstm0", 20]])
    gru = np.array([a for _, a in _sweep(seed)["gru", 20]])
    return {"early": one[0],
            "bias 1 ahead of bias 0 at every checkpoint at lag 20": bool(np.all(one > zero)),
            "the GRU below 0.33 after 50 updates at lag 20": gru[0] < 0.33}


@claim("09", "At lag 10 the two LSTMs end close\n  together: there the bias hardly matters.")
def forget_bias_at_10(seed):
    return {"the two LSTMs within 0.05 at lag 10": abs(_final(seed, "lstm1", 10) - _final(seed, "lstm0", 10)) < 0.05}


@claim("09", "**At lag 30, with this budget, the plain RNN, the GRU and the LSTM with forget bias 0 stay at\n  chance**, "
             "and the LSTM with forget bias 1 does no worse than any of them.")
def lag30(seed):
    others = [_final(seed, m, 30) for m in ("rnn", "gru", "lstm0")]
    return {"RNN, GRU and LSTM(0) below 0.3 at lag 30": max(others) < 0.3,
            "LSTM(1) no more than 0.02 below the best of them": _final(seed, "lstm1", 30) >= max(others) - 0.02}


@functools.lru_cache(maxsize=None)
def _longer(seed, updates=900):
    from rnnviz.training.recall import train_cell_on_recall
    return {name: train_cell_on_recall(cell, 10, updates=updates, forget_bias=fb, seed=seed, every=300)[1]
            for name, (cell, fb) in MODELS.items()}


@claim("09", "after 900 updates the three gated cells reach about\n{gated}, while the plain RNN is close to perfect. They are still climbing at the end",
       abs=0.05, rel=0.0)
def longer_at_lag_10(seed):
    runs = _longer(seed)
    gated = [runs[m][-1][1] for m in ("gru", "lstm0", "lstm1")]
    return {"gated": float(np.mean(gated)),
            "the RNN above 0.98": runs["rnn"][-1][1] > 0.98,
            "every gated cell behind the RNN": max(gated) < runs["rnn"][-1][1],
            "every gated cell higher at 900 than at 600 updates": all(runs[m][-1][1] > runs[m][-2][1]
                                                                       for m in ("gru", "lstm0", "lstm1"))}
