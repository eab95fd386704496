"""Claims of lesson 05: what a longer text costs with and without a recorded graph, measured as
section 2 of the lesson measures it (an LSTM language model, vocabulary 200, 64 units, 20 streams;
the peak of the memory that Python allocates, NumPy arrays included, by ``tracemalloc``). The seed
moves the model's initialisation and the words together (seed 0 is the lesson's)."""
import functools
import gc
import tracemalloc

import numpy as np

from claims import claim


@functools.lru_cache(maxsize=None)
def _peak(seed, steps, record):
    from threadpoolctl import threadpool_limits
    import rnnviz as chainer
    from rnnviz import links as L

    np.random.seed(seed)
    model = L.Classifier(L.RNNLM(200, 64, 64))
    words = np.random.default_rng(seed).integers(0, 200, size=(steps + 1, 20)).astype(np.int32)
    gc.collect()
    tracemalloc.start()
    try:
        loss = 0
        with chainer.using_config("enable_backprop", record), threadpool_limits(limits=1):
            for t in range(steps):
                loss += model(words[t], words[t + 1])
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@claim("05", "The recorded run's peak grows by a factor of about {ratio}", rel=0.1)
def recorded_peak_doubles(seed):
    recorded = _peak(seed, 600, True) / _peak(seed, 300, True)
    plain = _peak(seed, 600, False) / _peak(seed, 300, False)
    return {"ratio": recorded,
            "the no_backprop_mode() peak stays where it was (within 5%)": abs(plain - 1) < 0.05}
