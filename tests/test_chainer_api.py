"""The rest of Chainer's top level the seeds import: names, v1 forms with warnings, cuda, converters."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import rnnviz as chainer
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import dataset, optimizers, serializers, training
from rnnviz.backends import cuda

from cupy_standin import installed


def test_import_rnnviz_alone_gives_the_subpackages():
    code = ("import rnnviz as chainer; import rnnviz.optimizer_hooks; "
            "from rnnviz.optimizer import WeightDecay; from rnnviz.optimizer_hooks import GradientClipping; "
            "print(all(hasattr(chainer, n) for n in ('datasets', 'dataset', 'iterators', 'training', "
            "'cuda', 'backends', 'initializers', 'utils', 'report', 'Function', 'reporter', 'optimizer')), "
            "chainer.training.extensions.LogReport.__name__, chainer.dataset.Iterator.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "LogReport", "Iterator"]


def _one_warning(caught, *words):
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(messages) == 1, messages
    assert "\n" not in messages[0] and all(w in messages[0] for w in words), messages[0]


def test_v1_keyword_chain_registers_its_links_with_one_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chain = chainer.Chain(l1=L.Linear(4, 3), l2=L.Linear(3, 2))
    _one_warning(caught, "init_scope")
    assert [name for name, _ in chain.namedparams()] == ["/l1/W", "/l1/b", "/l2/W", "/l2/b"]
    with pytest.raises(TypeError, match="l3= must be a Link"), pytest.warns(DeprecationWarning):
        chainer.Chain(l3=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        link = chainer.Link(W=(3, 2))
    _one_warning(caught, "init_scope")
    assert link.W.shape == (3, 2) and [n for n, _ in link.namedparams()] == ["/W"]


def test_zerograds_and_F_Linear_warn_and_work():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = F.Linear(3, 2)
    _one_warning(caught, "L.Linear")
    assert isinstance(f, L.Linear) and f.W.shape == (2, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f.zerograds()
    _one_warning(caught, "cleargrads")
    assert (f.W.grad == 0).all() and (f.b.grad == 0).all()


def test_add_persistent_travels_with_the_parameters(tmp_path):
    link = L.Linear(2, 2)
    link.add_persistent("count", 0)
    link.add_persistent("mean", np.zeros(3, np.float32))
    link.count, link.mean[...] = 7, [1, 2, 3]
    serializers.save_npz(tmp_path / "l.npz", link)
    other = L.Linear(2, 2)
    other.add_persistent("count", 0)
    other.add_persistent("mean", np.zeros(3, np.float32))
    serializers.load_npz(tmp_path / "l.npz", other)
    assert other.count == 7 and other.mean.tolist() == [1, 2, 3]
    with pytest.raises(AttributeError, match="already has an attribute 'W'"):
        link.add_persistent("W", 1)


def test_cuda_without_a_gpu():
    x = np.ones(3)
    assert cuda.to_cpu(x) is x and cuda.get_array_module(x) is np
    assert chainer.cuda.to_cpu is cuda.to_cpu
    if not chainer.backend.gpu_available():
        assert cuda.available is False
        with pytest.raises(RuntimeError, match="gpu"):
            cuda.to_gpu(x)
        with pytest.raises(RuntimeError):
            cuda.check_cuda_available()


def test_cuda_with_the_cupy_standin_and_a_trainer_on_the_gpu(tmp_path):
    data = [(np.array([i % 3, 1.0], np.float32), np.int32(i % 2)) for i in range(8)]

    def train(device):
        np.random.seed(0)
        model = L.Classifier(L.Linear(2, 2))
        opt = optimizers.SGD(lr=0.5).setup(model)
        it = _Batches(data, 4)
        trainer = training.Trainer(training.StandardUpdater(it, opt, device=device), (4, "iteration"),
                                   out=str(tmp_path))
        trainer.run()
        return model

    cpu = train(None)
    with installed() as fake:
        assert cuda.available and cuda.cupy is fake and chainer.cuda.cupy is fake
        g = cuda.to_gpu(np.ones(2))
        assert type(g).__module__.startswith("cupy") and cuda.get_device_from_array(g) == "gpu"
        assert type(cuda.to_cpu(g)) is np.ndarray
        gpu = train(0)  # Chainer's device number for the first GPU
        assert type(gpu.predictor.W.array).__module__.startswith("cupy")
        gpu.to_device("cpu")
    np.testing.assert_allclose(gpu.predictor.W.array, cpu.predictor.W.array, rtol=1e-6)


class _Batches(dataset.Iterator):
    def __init__(self, data, n):
        self.data, self.n, self.iteration, self.epoch, self.is_new_epoch = data, n, 0, 0, False

    @property
    def epoch_detail(self):
        return self.iteration * self.n / len(self.data)

    def __next__(self):
        k = self.iteration * self.n % len(self.data)
        self.iteration += 1
        return self.data[k:k + self.n]


def test_concat_examples_devices_and_padding():
    batch = [(np.array([1, 2]), 0), (np.array([3]), 1)]
    x, t = dataset.concat_examples(batch, device=-1, padding=-1)
    np.testing.assert_array_equal(x, [[1, 2], [3, -1]])
    assert t.tolist() == [0, 1] and t.dtype == np.int32
    assert dataset.convert.concat_examples is dataset.concat_examples
    with pytest.raises(ValueError, match="concat_examples: device must be"):
        dataset.concat_examples(batch[:1], device="tpu")
    with pytest.raises(NotImplementedError, match="__next__"):
        next(dataset.Iterator())
    from rnnviz.iterators import ParallelSequentialIterator
    assert isinstance(ParallelSequentialIterator(np.arange(4), 2), dataset.Iterator)  # one interface


def test_utils_force_array():
    a = np.float32(2) * np.float32(3)
    assert isinstance(chainer.utils.force_array(a), np.ndarray)
    assert chainer.utils.force_array(np.ones(2), np.float16).dtype == np.float16
