"""The same model on the GPU (CuPy) as on the CPU. Runs only where CuPy sees a CUDA device;
elsewhere it is skipped with that reason (CPU-only CI cannot run it)."""
import numpy as np
import pytest

from rnnviz import backend

pytestmark = pytest.mark.skipif(not backend.gpu_available(), reason="no CUDA device visible to CuPy")


def test_lm_gradients_on_gpu_equal_cpu():
    import rnnviz.functions as F
    import rnnviz.links as L

    np.random.seed(0)
    cpu = L.RNNLM(40, 8, 8)
    gpu = cpu.copy(mode="copy").to_device("gpu")
    xs = np.random.randint(0, 40, (4, 6)).astype(np.int32)
    for model, move in ((cpu, lambda a: a), (gpu, lambda a: backend.to_device(a, "gpu"))):
        model.reset_state()
        loss = 0
        for k in range(5):
            loss += F.softmax_cross_entropy(model(move(xs[:, k])), move(xs[:, k + 1]))
        model.cleargrads()
        loss.backward()
    for (name, p), (_, q) in zip(cpu.namedparams(), gpu.namedparams()):
        assert backend.get_array_module(q.grad).__name__ == "cupy"
        np.testing.assert_allclose(backend.to_device(q.grad, "cpu"), p.grad, rtol=1e-4, atol=1e-6, err_msg=name)


def test_mixing_devices_is_a_type_error():
    import rnnviz.functions as F

    x = np.ones((2, 3), np.float32)
    W = backend.to_device(np.ones((4, 3), np.float32), "gpu")
    with pytest.raises(TypeError, match="linear"):
        F.linear(x, W)
