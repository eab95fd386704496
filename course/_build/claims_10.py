"""Claims of lesson 10: a character model trained as the lesson trains it
(``rnnviz.experiments.chars.PROTOCOL``: 300 updates of 32 x 32 characters), from three seeds
(seed 0 is the lesson's). Units are read over the first 6,000 validation characters, samples are
three of 400 characters per temperature, connectivity over one 400-character passage."""
import functools

import numpy as np

from claims import claim

N_UNITS_TEXT = 6000
TEMPERATURES = (0.5, 1.0, 1.5)


@functools.lru_cache(maxsize=None)
def _model(seed):
    from rnnviz.experiments import chars as C
    return C.trained_char_model(seed)


def _valid():
    from rnnviz.datasets import get_kjv_chars
    return get_kjv_chars()[1]


@functools.lru_cache(maxsize=None)
def _strongest(seed):
    """feature -> the largest |r| of any unit with it."""
    from rnnviz.datasets import ids_to_chars
    from rnnviz.experiments import chars as C
    ids = _valid()[:N_UNITS_TEXT]
    acts = C.unit_activations(_model(seed), ids)
    return {name: abs(C.best_units(acts, f, 1)[0][1]) for name, f in C.char_features(ids_to_chars(ids)).items()}


@claim("10", "some unit's activation correlates with \"the character read is a space\" at about {space}, "
             "and another's with the position in the word at about {word}", rel=0.12)
def units_found(seed):
    best = _strongest(seed)
    return {"space": best["space"], "word": best["position in the word"]}


@claim("10", "no unit reaches 0.2 with the verse end or with the position in the verse")
def units_not_found(seed):
    best = _strongest(seed)
    return {"verse end below 0.2": best["verse end"] < 0.2,
            "position in the verse below 0.2": best["position in the verse"] < 0.2}


@functools.lru_cache(maxsize=None)
def _shares(seed):
    from rnnviz.experiments import chars as C
    return {T: float(np.mean([C.real_word_share(C.sample_chars(_model(seed), 400, T, seed=s))
                              for s in range(3)])) for T in TEMPERATURES}


@claim("10", "about {low} of the words it writes at temperature 0.5 are words of the corpus, about {one} "
             "at 1 and about {high} at 1.5", rel=0.12)
def temperature(seed):
    s = _shares(seed)
    return {"low": s[0.5], "one": s[1.0], "high": s[1.5]}


@functools.lru_cache(maxsize=None)
def _connectivity(seed):
    from rnnviz.experiments import chars as C
    ids = _valid()[:400]
    full, cut = C.Connectivity(_model(seed), ids), C.Connectivity(_model(seed), ids, 32)
    before, same = [], []
    for t in range(100, 399, 20):
        n, m = full.norms(t), cut.norms(t)
        start = cut.window_start(t)
        before.append(n[:start].sum() / n.sum())
        same.append(np.allclose(n[start:], m[start:], rtol=1e-4, atol=0) and not m[:start].any())
    return float(np.mean(before)), all(same)


@claim("10", "averaged over positions, about {before} of the full connectivity lies before the cut", rel=0.25)
def connectivity_before_cut(seed):
    before, _ = _connectivity(seed)
    return {"before": before}


@claim("10", "inside the window the two rows are the same, and before it the truncated row is empty")
def connectivity_inside(seed):
    return {"inside the window equal, before it zero": _connectivity(seed)[1]}


def _loops(text, longest=40):
    """True when the last 120 characters repeat with some period of at most ``longest``."""
    tail = text[-120:]
    return any(tail[p:] == tail[:-p] for p in range(1, longest + 1))


@claim("10", "The greedy text falls into a loop")
def greedy_loops(seed):
    from rnnviz.experiments import chars as C
    return {"the last 120 greedy characters repeat with a period of at most 40":
            _loops(C.sample_chars(_model(seed), 400, 0, seed=0))}
