"""save_npz / load_npz: round trips, atomic writes, mismatches that change nothing."""
import os

import numpy as np
import pytest

import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import Chain, ChainList, optimizers, serializers
from rnnviz.iterators import ParallelSequentialIterator


class IntroChain(Chain):
    def __init__(self):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(4, 3)
            self.l2 = L.Linear(3, 2)

    def forward(self, x):
        return self.l2(F.relu(self.l1(x)))


def test_introduction_models_train_save_and_load(tmp_path):
    """Chain and ChainList models, SGD with a weight-decay hook, saving and loading (the intro's code)."""
    np.random.seed(0)
    x = np.random.randn(8, 4).astype(np.float32)
    t = np.random.randint(0, 2, 8).astype(np.int32)
    for make in (IntroChain, lambda: ChainList(L.Linear(4, 3), L.Linear(3, 2))):
        model = make()
        forward = model if isinstance(model, Chain) else (lambda v, m=model: m[1](F.relu(m[0](v))))
        optimizer = optimizers.SGD(lr=0.1)
        optimizer.setup(model)
        optimizer.add_hook(optimizers.WeightDecay(0.0005))
        losses = []
        for _ in range(20):
            model.cleargrads()
            loss = F.softmax_cross_entropy(forward(x), t)
            loss.backward()
            optimizer.update()
            losses.append(float(loss.array))
        assert losses[-1] < losses[0]
        serializers.save_npz(tmp_path / "model.npz", model)
        serializers.save_npz(tmp_path / "state.npz", optimizer)
        fresh = make()
        serializers.load_npz(tmp_path / "model.npz", fresh)
        for (n1, p1), (n2, p2) in zip(model.namedparams(), fresh.namedparams()):
            assert n1 == n2
            np.testing.assert_array_equal(p1.array, p2.array)
        opt2 = optimizers.SGD(lr=0.1).setup(fresh)
        serializers.load_npz(tmp_path / "state.npz", opt2)
        assert opt2.t == optimizer.t == 20


def test_adam_state_round_trip_continues_identically(tmp_path):
    np.random.seed(0)
    x = np.random.randn(8, 4).astype(np.float32)
    t = np.random.randint(0, 2, 8).astype(np.int32)
    a = L.Classifier(IntroChain())
    opt_a = optimizers.Adam(alpha=0.01).setup(a)
    for _ in range(5):
        opt_a.update(a, x, t)
    serializers.save_npz(tmp_path / "m.npz", a)
    serializers.save_npz(tmp_path / "o.npz", opt_a)
    b = L.Classifier(IntroChain())
    opt_b = optimizers.Adam(alpha=0.01).setup(b)
    serializers.load_npz(tmp_path / "m.npz", b)
    serializers.load_npz(tmp_path / "o.npz", opt_b)
    assert opt_b.t == 5
    for _ in range(3):
        opt_a.update(a, x, t)
        opt_b.update(b, x, t)
    for p, q in zip(a.params(), b.params()):
        np.testing.assert_array_equal(p.array, q.array)


def test_iterator_round_trip(tmp_path):
    it = ParallelSequentialIterator(np.arange(100, dtype=np.int32), 4)
    for _ in range(7):
        next(it)
    serializers.save_npz(tmp_path / "it.npz", it)
    it2 = ParallelSequentialIterator(np.arange(100, dtype=np.int32), 4)
    serializers.load_npz(tmp_path / "it.npz", it2)
    assert it2.iteration == 7
    assert next(it2) == next(it)


def test_mismatched_shape_names_parameter_and_changes_nothing(tmp_path):
    serializers.save_npz(tmp_path / "small.npz", L.Classifier(L.RNNLM(10, 4, 5)))
    target = L.Classifier(L.RNNLM(10, 4, 6))
    before = {n: p.array.copy() for n, p in target.namedparams()}
    with pytest.raises(ValueError) as err:
        serializers.load_npz(tmp_path / "small.npz", target)
    msg = str(err.value)
    assert "predictor/mid/upward/W" in msg and "(20, 4)" in msg and "(24, 4)" in msg
    for n, p in target.namedparams():
        np.testing.assert_array_equal(p.array, before[n])


def test_other_architecture_is_refused(tmp_path):
    serializers.save_npz(tmp_path / "lin.npz", L.Linear(3, 2))
    target = IntroChain()
    before = [p.array.copy() for p in target.params()]
    with pytest.raises(ValueError, match="no entry for 'l1/W'"):
        serializers.load_npz(tmp_path / "lin.npz", target)
    for p, b in zip(target.params(), before):
        np.testing.assert_array_equal(p.array, b)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model = L.Linear(3, 2)
    serializers.save_npz(path, model)
    original = path.read_bytes()

    def crash(f, **arrays):
        f.write(b"half a file")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(np, "savez_compressed", crash)
    model.W.array[...] = 7
    with pytest.raises(KeyboardInterrupt):
        serializers.save_npz(path, model)
    assert path.read_bytes() == original          # the old file is whole
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    monkeypatch.undo()
    fresh = L.Linear(3, 2)
    serializers.load_npz(path, fresh)
    assert not np.any(fresh.W.array == 7)


def test_optimizer_with_a_parameter_that_never_had_a_gradient_round_trips(tmp_path):
    """After one step from a zero state an LSTM's lateral weight has no gradient, so Adam keeps no
    state for it; a fresh optimizer must still load the file, and then train exactly as the saved
    one does."""
    import rnnviz.links as L
    from rnnviz import optimizers, serializers

    def build():
        np.random.seed(3)
        model = L.Classifier(L.RNNLM(20, 4, 5))
        return model, optimizers.Adam().setup(model)

    xs, ts = np.array([1, 2], np.int32), np.array([3, 4], np.int32)

    def step(model, opt):
        model.cleargrads()
        loss = model(xs, ts)
        loss.backward()
        opt.update()

    model, opt = build()
    step(model, opt)
    assert not any("lateral" in name for name in opt._states)   # the case this test is about
    serializers.save_npz(tmp_path / "model.npz", model)
    serializers.save_npz(tmp_path / "opt.npz", opt)
    model2, opt2 = build()
    serializers.load_npz(tmp_path / "model.npz", model2)
    serializers.load_npz(tmp_path / "opt.npz", opt2)
    assert sorted(opt2._states) == sorted(opt._states)
    for m in (model, model2):
        m.predictor.reset_state()
    step(model, opt)
    step(model2, opt2)
    for (n1, p1), (n2, p2) in zip(sorted(model.namedparams()), sorted(model2.namedparams())):
        assert n1 == n2
        np.testing.assert_array_equal(p1.array, p2.array, err_msg=n1)
