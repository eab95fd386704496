"""Claims of lesson 02: how well a window model does on delayed recall (lag 6, 4 tokens)."""
import numpy as np

from claims import claim

LAG, VOCAB = 6, 4


def window_model(window, seed, train_steps=20000, test_steps=5000):
    """(accuracy on fresh data, share of the count table's rows seen in training) of the window
    model of the lesson's section 1; seed 0 is the lesson's own data (train seed 0, test seed 1)."""
    from rnnviz.datasets import recall_batch

    xs, ts = recall_batch(1, train_steps, LAG, vocab_size=VOCAB, seed=2 * seed)
    xs, ts = xs[0], ts[0]
    codes = _window_codes(xs, window)
    counts = np.zeros((VOCAB ** window, VOCAB))
    np.add.at(counts, (codes[LAG:], ts[LAG:]), 1)
    best_guess = counts.argmax(axis=1)
    seen = float((counts.sum(axis=1) > 0).mean())
    xs2, ts2 = recall_batch(1, test_steps, LAG, vocab_size=VOCAB, seed=2 * seed + 1)
    xs2, ts2 = xs2[0], ts2[0]
    accuracy = float((best_guess[_window_codes(xs2, window)[LAG:]] == ts2[LAG:]).mean())
    return accuracy, seen


def _window_codes(xs, window):
    """For each step t >= window - 1, the window x[t-window+1..t] as one base-VOCAB number."""
    codes = np.zeros(len(xs), np.int64)
    for k in range(window):
        codes[window - 1:] = codes[window - 1:] * VOCAB + xs[k:len(xs) - window + 1 + k]
    return codes


@claim("02", "it stays at chance,\nabout {six}. With 7 it sees the token it must repeat, yet it reaches "
             "only about {seven}: its count table has $4^7 = 16384$ rows, and 20,000 training steps "
             "fill only about {filled}% of them", tolerances={"six": (0, 0.02)})
def window_six_and_seven(seed):
    six, _ = window_model(6, seed)
    seven, seen = window_model(7, seed)
    three, _ = window_model(3, seed)
    return {"six": six, "seven": seven, "filled": 100 * seen,
            "a window of 3 is at chance too": abs(three - 0.25) < 0.02}


@claim("02", "Count on ten times as many steps and\nit is perfect, {perfect}.", rel=0.005)
def window_seven_with_more_data(seed):
    accuracy, seen = window_model(7, seed, train_steps=200000)
    return {"perfect": accuracy, "every row is seen": seen == 1.0}
