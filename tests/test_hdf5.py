"""save_hdf5 / load_hdf5: the npz pair's guarantees in HDF5, and a clear error without h5py."""
import builtins
import os

import numpy as np
import pytest

import rnnviz.links as L
from rnnviz import optimizers, serializers, training
from rnnviz.iterators import ParallelSequentialIterator
from rnnviz.training import extensions

h5py = pytest.importorskip("h5py", reason="h5py is installed by the test extra; CI has it")


def model_and_optimizer(seed):
    np.random.seed(seed)
    model = L.Classifier(L.RNNLM(20, 4, 5))
    opt = optimizers.Adam().setup(model)
    loss = model(np.array([1, 2], np.int32), np.array([3, 4], np.int32))
    loss += model(np.array([3, 4], np.int32), np.array([5, 6], np.int32))  # every weight gets a gradient
    model.cleargrads()
    loss.backward()
    opt.update()
    return model, opt


def test_round_trip_of_a_model_and_an_optimizer(tmp_path):
    model, opt = model_and_optimizer(0)
    serializers.save_hdf5(tmp_path / "m.h5", model)
    serializers.save_hdf5(tmp_path / "o.h5", opt)
    with h5py.File(tmp_path / "m.h5", "r") as f:  # an ordinary HDF5 file, the npz paths as groups
        np.testing.assert_array_equal(f["predictor/out/W"][()], model.predictor.out.W.array)
    other, other_opt = model_and_optimizer(1)
    serializers.load_hdf5(tmp_path / "m.h5", other)
    serializers.load_hdf5(tmp_path / "o.h5", other_opt)
    for (name, p), (_, q) in zip(model.namedparams(), other.namedparams()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=name)
    assert other_opt.t == opt.t == 1
    for name, state in opt._states.items():
        np.testing.assert_array_equal(state["m"], other_opt._states[name]["m"])


def test_a_mismatch_changes_nothing(tmp_path):
    model, _ = model_and_optimizer(0)
    serializers.save_hdf5(tmp_path / "m.h5", model)
    np.random.seed(2)
    bigger = L.Classifier(L.RNNLM(20, 4, 6))
    before = {k: p.array.copy() for k, p in bigger.namedparams()}
    with pytest.raises(ValueError, match=r"load_hdf5: cannot load .* \(nothing was changed\).*shape"):
        serializers.load_hdf5(tmp_path / "m.h5", bigger)
    for k, p in bigger.namedparams():
        np.testing.assert_array_equal(p.array, before[k], err_msg=k)


def test_saving_is_atomic(tmp_path, monkeypatch):
    model, _ = model_and_optimizer(0)
    path = tmp_path / "m.h5"
    serializers.save_hdf5(path, model)
    original = path.read_bytes()
    real_create = h5py.Group.create_dataset
    calls = []

    def failing(self, name, *args, **kwargs):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_create(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="disk full"):
        serializers.save_hdf5(path, model)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["m.h5"]


def test_a_trainer_snapshot_in_hdf5_resumes(tmp_path):
    words = np.arange(200, dtype=np.int32) % 20

    def build(out):
        np.random.seed(3)
        model = L.Classifier(L.RNNLM(20, 4, 5))
        opt = optimizers.SGD(lr=0.5).setup(model)
        trainer = training.Trainer(training.BPTTUpdater(ParallelSequentialIterator(words, 4), opt, 3),
                                   (4, "iteration"), out=str(out))
        trainer.extend(extensions.LogReport(trigger=(1, "iteration")))
        trainer.extend(extensions.snapshot(savefun=serializers.save_hdf5), trigger=(2, "iteration"))
        return trainer, model

    whole, a = build(tmp_path / "a")
    whole.run()
    resumed, b = build(tmp_path / "b")
    serializers.load_hdf5(tmp_path / "a" / "snapshot_iter_2", resumed)
    resumed.run()
    for (name, p), (_, q) in zip(a.namedparams(), b.namedparams()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=name)
    assert resumed.get_extension("LogReport").log[:2] == whole.get_extension("LogReport").log[:2]


def test_without_h5py_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    for call in (lambda: serializers.save_hdf5(tmp_path / "m.h5", L.Linear(2, 2)),
                 lambda: serializers.load_hdf5(tmp_path / "m.h5", L.Linear(2, 2))):
        with pytest.raises(ImportError, match=r"pip install h5py.*rnnviz\[hdf5\]"):
            call()
    assert not os.listdir(tmp_path)
