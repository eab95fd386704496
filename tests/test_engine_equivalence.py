"""The two backward engines, one contract: the plain engine (core/engine.py) and the batched one
(core/batched_engine.py) give the same gradients on random graphs, diamonds, shared weights and
long chains, and config.batched_backward picks which one runs."""
import sys

import numpy as np
import pytest

import rnnviz
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import Variable
from rnnviz.core import batched_engine, engine


def grads_with(engine_name, build, retain=False):
    """Build a fresh graph with ``build() -> (output, {name: variable})``, back-propagate it with
    one engine and return {name: grad copy}."""
    with rnnviz.using_config("batched_backward", engine_name == "batched"):
        out, watched = build()
        out.backward(retain_grad=retain)
    return {k: None if v.grad is None else np.array(v.grad) for k, v in watched.items()}


def assert_same(build, retain=False, rtol=1e-12):
    plain = grads_with("plain", build, retain)
    batched = grads_with("batched", build, retain)
    assert plain.keys() == batched.keys()
    for k in plain:
        assert (plain[k] is None) == (batched[k] is None), k
        if plain[k] is not None:
            np.testing.assert_allclose(batched[k], plain[k], rtol=rtol, atol=1e-13, err_msg=k)
    return plain


def test_the_switch_picks_the_engine(monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "run_backward", lambda root, retain: calls.append("plain"))
    monkeypatch.setattr(batched_engine, "run_backward", lambda root, retain: calls.append("batched"))
    x = Variable(np.ones(3))
    y = F.sum(x * 2.0)
    with rnnviz.using_config("batched_backward", False):
        y.backward()
    with rnnviz.using_config("batched_backward", True):
        y.backward()
    assert calls == ["plain", "batched"]
    assert "batched_backward=" in repr(rnnviz.config)


def test_the_environment_variable_starts_the_plain_engine():
    import subprocess
    code = "import rnnviz; print(rnnviz.config.batched_backward)"
    for value, expected in (("0", "False"), ("1", "True")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                             env={"RNNVIZ_BATCHED_BACKWARD": value, "PATH": ""})
        assert out.stdout.strip() == expected, out.stderr


def test_plain_functions_hand_over_arrays_batched_ones_deferred():
    from rnnviz.core import deferred
    rng = np.random.default_rng(0)
    x, W = Variable(rng.standard_normal((2, 3))), Variable(rng.standard_normal((4, 3)))
    y = F.linear(x, W)
    for batched in (False, True):
        with rnnviz.using_config("batched_backward", batched):
            gx, gW = y.creator.backward(np.ones((2, 4)))
        assert (type(gx) is deferred.MatmulGrad) == batched and (type(gW) is deferred.OuterProductGrad) == batched
        np.testing.assert_allclose(deferred.value(gW), np.ones((2, 4)).T @ x.array)


def random_graph(seed, n_ops=40):
    """A random DAG over float64 leaves: each op takes earlier variables (so many are used more
    than once: diamonds), mixing elementwise, linear, matmul, concat/split (two outputs), LSTM
    steps with shared weights, and sums."""
    def build():
        rng = np.random.default_rng(seed)
        B, D = 3, 4
        leaves = {f"x{i}": Variable(rng.standard_normal((B, D))) for i in range(3)}
        W = Variable(rng.standard_normal((D, D)) * 0.5, name="W")
        Wx = Variable(rng.standard_normal((4 * D, D)) * 0.5, name="Wx")
        Wh = Variable(rng.standard_normal((4 * D, D)) * 0.5, name="Wh")
        b = Variable(rng.standard_normal(4 * D) * 0.1, name="b")
        watched = dict(leaves, W=W, Wx=Wx, Wh=Wh, b=b)
        pool = list(leaves.values())
        c = h = None
        for _ in range(n_ops):
            a, z = pool[rng.integers(len(pool))], pool[rng.integers(len(pool))]
            op = rng.integers(8)
            if op == 0:
                new = [a + z]
            elif op == 1:
                new = [a * z]
            elif op == 2:
                new = [F.tanh(a)]
            elif op == 3:
                new = [F.linear(a, W)]
            elif op == 4:
                new = [F.matmul(a, F.transpose(W * 2.0))]      # a computed weight (W used twice)
            elif op == 5:
                new = list(F.split_axis(F.concat([a, z], axis=1), 2, axis=1))
            elif op == 6:
                c = Variable(np.zeros((B, D))) if c is None else c
                c, h = F.lstm_step(c, h, a, Wx, Wh, b)
                new = [h, c]
            else:
                new = [F.sigmoid(a - z)]
            pool.extend(new)
        out = F.sum(pool[-1])
        for v in pool[-6:-1]:
            out = out + F.sum(v * v)
        return out, watched
    return build


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs(seed):
    grads = assert_same(random_graph(seed))
    assert sum(g is not None and np.abs(g).sum() > 0 for g in grads.values()) >= 3


def test_random_graph_intermediate_gradients_kept_alike():
    def build():
        out, watched = random_graph(3)()
        node, inner = out.creator, {}
        while node is not None and len(inner) < 8:       # walk down the first inputs
            x = node.inputs[0]
            inner[f"v{len(inner)}"] = x
            node = x.creator
        return out, dict(watched, **inner)
    grads = assert_same(build, retain=True)
    assert all(grads[f"v{i}"] is not None for i in range(3))


def diamonds(depth):
    """x -> (tanh(x), 2x) -> their product, repeated: 2**depth paths from the output to x."""
    def build():
        x = Variable(np.linspace(-1.0, 1.0, 5))
        y = x
        for _ in range(depth):
            y = F.tanh(y) * (y * 2.0)
        return F.sum(y), {"x": x}
    return build


def test_diamonds_match_each_other_and_the_chain_rule():
    grads = assert_same(diamonds(6))
    # by hand: d/dy [tanh(y) * 2y] = 2 tanh(y) + 2y (1 - tanh(y)^2), chained six times
    y, g = np.linspace(-1.0, 1.0, 5), np.ones(5)
    for _ in range(6):
        g = g * (2 * np.tanh(y) + 2 * y * (1 - np.tanh(y) ** 2))
        y = np.tanh(y) * 2 * y
    np.testing.assert_allclose(grads["x"], g, rtol=1e-12)


def test_shared_weights_over_many_steps():
    """An RNN language model: the same embedding, LSTM and output weights at 15 steps, a loss at
    each step, and a leaf that already holds a gradient (accumulation)."""
    def build():
        np.random.seed(0)
        model = L.RNNLM(11, 5, 6).copy(mode="copy")
        for p in model.params():
            p.array = p.array.astype(np.float64)
            p.grad = np.full_like(p.array, 0.5)        # backward adds to what is there
        rng = np.random.default_rng(1)
        xs, ts = rng.integers(0, 11, (15, 3)).astype(np.int32), rng.integers(0, 11, (15, 3)).astype(np.int32)
        model.reset_state()
        loss = 0
        for x, t in zip(xs, ts):
            loss = loss + F.softmax_cross_entropy(model(x), t)
        return loss, dict(model.namedparams())
    grads = assert_same(build, rtol=1e-10)
    assert all(np.abs(g - 0.5).sum() > 0 for g in grads.values())


def test_long_chain_without_recursion():
    def build():
        x = Variable(np.array([0.3, -0.2]))
        y = x
        for i in range(5000):
            y = F.tanh(y) + y * 0.5 if i % 2 else y * 1.0001
        return F.sum(y), {"x": x}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)   # neither engine recurses
    try:
        assert_same(build)
    finally:
        sys.setrecursionlimit(limit)


def test_both_engines_refuse_a_non_scalar_output_without_a_gradient():
    for batched in (False, True):
        y = Variable(np.ones(3)) * 2.0
        with rnnviz.using_config("batched_backward", batched), pytest.raises(ValueError, match="not a single value"):
            y.backward()


@pytest.mark.parametrize("batched", [False, True], ids=["plain", "batched"])
def test_each_engine_on_cupy_arrays_matches_numpy(batched):
    """The GPU path, on the CuPy stand-in (tests/cupy_standin.py: CuPy's refusal to mix with NumPy
    arrays included): an LSTM language model's gradients on 'gpu' equal those on the CPU."""
    from cupy_standin import installed

    def grads(device):
        np.random.seed(0)
        model = L.RNNLM(9, 4, 5).copy(mode="copy")
        for p in model.params():
            p.array = p.array.astype(np.float64)
        model.to_device(device)
        xs = np.arange(12, dtype=np.int32).reshape(6, 2) % 9
        model.reset_state()
        loss = 0
        with rnnviz.using_config("batched_backward", batched):
            for x in xs:
                x = rnnviz.backend.to_device(x, device)
                loss = loss + F.softmax_cross_entropy(model(x), rnnviz.backend.to_device((x + 1) % 9, device))
            loss.backward()
        return {n: p.grad for n, p in model.namedparams()}

    cpu = grads("cpu")
    with installed():
        gpu = grads("gpu")
        assert all(type(g).__module__.startswith("cupy") for g in gpu.values())
        gpu = {n: g.get() for n, g in gpu.items()}
    for n in cpu:
        np.testing.assert_allclose(gpu[n], cpu[n], rtol=1e-10, atol=1e-12, err_msg=n)
