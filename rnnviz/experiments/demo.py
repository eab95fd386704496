"""The built-in demo: a tiny corpus and a seeded tiny LSTM language model trained on it, so that
every widget (and a lesson) has something meaningful to show with no arguments."""
import numpy

from .. import links as L

DEMO_TEXT = "the cat sat on the mat . the dog ran to the log . a cat ran to a dog ."


def demo_corpus():
    """(vocabulary list, word ids int32 array) of the tiny built-in corpus (11 words)."""
    words = DEMO_TEXT.split()
    vocab = list(dict.fromkeys(words))
    ids = numpy.array([vocab.index(w) for w in words], dtype=numpy.int32)
    return vocab, ids


def demo_data(n_steps=12):
    """xs, ts (shape (n_steps, 1), int32) and the vocabulary: the corpus repeated as needed."""
    vocab, ids = demo_corpus()
    reps = (n_steps + 1) // len(ids) + 1
    seq = numpy.tile(ids, reps)
    xs = seq[:n_steps].reshape(n_steps, 1).astype(numpy.int32)
    ts = seq[1:n_steps + 1].reshape(n_steps, 1).astype(numpy.int32)
    return xs, ts, vocab


_DEMO_CACHE = {}


def demo_model(seed=0, train_iterations=120, trained=True):
    """A seeded tiny LSTM language model (embed 8, hidden 8) in an ``L.Classifier``; trained for a
    few Adam iterations on the demo corpus so that its predictions mean something. A fresh copy
    (parameters copied) each call."""
    key = (seed, train_iterations if trained else 0)
    if key not in _DEMO_CACHE:
        from .. import optimizers
        state = numpy.random.get_state()
        numpy.random.seed(seed)
        try:
            vocab, ids = demo_corpus()
            model = L.Classifier(L.RNNLM(len(vocab), 8, 8))  # embed -> LSTM -> linear, small enough to see every number
        finally:
            numpy.random.set_state(state)
        if trained and train_iterations:
            opt = optimizers.Adam(alpha=0.03)
            opt.setup(model)
            xs, ts, _ = demo_data(len(ids) - 1)
            for _ in range(train_iterations):
                model.reset_state()
                loss = 0
                for x, t in zip(xs, ts):
                    loss = loss + model(x, t)
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                opt.update()
        model.reset_state()
        _DEMO_CACHE[key] = model
    m = _DEMO_CACHE[key].copy("copy")
    m.reset_state()
    return m


def demo_loss(n_steps=8):
    """(loss, model): the demo model's summed loss over ``n_steps`` words, after a real backward
    (intermediate gradients kept, so a graph can be coloured by them)."""
    model = demo_model()
    xs, ts, _ = demo_data(n_steps)
    model.reset_state()
    loss = 0
    for i in range(n_steps):
        loss = loss + model(xs[i], ts[i])
    model.cleargrads()
    loss.backward(retain_grad=True)
    return loss, model
