"""The hand-written NumPy LSTM language model in benchmarks/ is the speed reference the kit is
measured against, so its math is checked here: finite differences for every parameter, the
truncated-BPTT state handling, gradient clipping, and (when torch is importable) equality with
PyTorch for the same weights."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_rnnviz_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


nlm = _load("numpy_lm")

V, D, H, B, T = 7, 3, 4, 2, 3


def _windows(seed=1, n=2):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        xs = rng.integers(0, V, size=(B, T))
        xs[0, 0] = xs[1, 2] = 5  # a repeated word: its embedding gradient is a sum
        xs[xs == 6] = 0  # word 6 never appears as input: its embedding gradient is zero
        out.append((xs, rng.integers(0, V, size=(B, T))))
    return out


def _model(dtype=np.float64, seed=3):
    m = nlm.NumpyLSTMLM(V, D, H, seed=seed, dtype=dtype)
    # larger weights than the default init, so every term of the gradient matters
    rng = np.random.default_rng(seed + 100)
    for p in m.params.values():
        p[...] = rng.normal(0.0, 0.5, size=p.shape)
    return m


def _prime(m, xs):
    """Run one window so the state entering the checked window is not zero."""
    m.forward(xs, xs)
    m.truncate()
    return m.h.copy(), m.c.copy()


def test_backward_matches_central_differences_for_every_parameter():
    (x0, _), (xs, ts) = _windows()
    m = _model()
    h0, c0 = _prime(m, x0)
    assert np.abs(h0).max() > 1e-3

    def loss():
        m.h, m.c = h0.copy(), c0.copy()
        return m.forward(xs, ts)

    loss()
    m.backward()
    analytic = {k: g.copy() for k, g in m.grads.items()}
    assert np.all(analytic["embed.W"][6] == 0)

    eps = 1e-6
    for name, p in m.params.items():
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = loss()
            p[idx] = old - eps
            down = loss()
            p[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        scale = max(np.abs(numeric).max(), 1e-8)
        rel = np.abs(numeric - analytic[name]).max() / scale
        assert rel < 1e-6, f"{name}: relative error {rel:.2e}"


def test_state_carries_across_windows_and_truncate_keeps_its_values():
    (x1, t1), (x2, t2) = _windows(seed=2)
    m = _model()
    l1 = m.forward(x1, t1)
    h, c = m.h.copy(), m.c.copy()
    m.backward()
    m.truncate()
    np.testing.assert_array_equal(m.h, h)
    np.testing.assert_array_equal(m.c, c)
    l2 = m.forward(x2, t2)

    # the two windows together are one window of length 2T from the zero state
    whole = _model()
    l12 = whole.forward(np.concatenate([x1, x2], 1), np.concatenate([t1, t2], 1))
    np.testing.assert_allclose(l12, (l1 + l2) / 2, rtol=1e-12)
    np.testing.assert_allclose(whole.h, m.h, rtol=1e-12)

    m.truncate()
    with pytest.raises(RuntimeError, match="forward"):
        m.backward()

    m.reset_state()
    np.testing.assert_allclose(m.forward(x1, t1), l1, rtol=1e-12)


def test_clip_grads_scales_to_the_threshold_only_when_above():
    rng = np.random.default_rng(0)
    grads = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    norm = nlm.global_norm(grads)
    np.testing.assert_allclose(
        norm, np.sqrt(sum((g**2).sum() for g in grads.values())), rtol=1e-12
    )
    before = {k: g.copy() for k, g in grads.items()}
    assert nlm.clip_grads(grads, norm * 2) == norm
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])
    returned = nlm.clip_grads(grads, norm / 3)
    assert returned == pytest.approx(norm)
    assert nlm.global_norm(grads) == pytest.approx(norm / 3, rel=1e-12)
    for k in grads:  # the direction is kept
        np.testing.assert_allclose(grads[k], before[k] / 3, rtol=1e-12)


def test_train_step_is_clipped_sgd():
    (xs, ts), _ = _windows(seed=4)
    ref = _model()
    ref.forward(xs, ts)
    ref.backward()
    g = {k: v.copy() for k, v in ref.grads.items()}
    norm = nlm.global_norm(g)
    clip = norm / 4
    m = _model()
    before = {k: v.copy() for k, v in m.params.items()}
    loss = nlm.train_step(m, xs, ts, lr=0.5, clip=clip)
    assert loss == pytest.approx(_model().forward(xs, ts), rel=1e-12)
    for k in before:
        np.testing.assert_allclose(m.params[k], before[k] - 0.5 * g[k] / 4, rtol=1e-10, atol=1e-14)


def test_synthetic_stream_is_deterministic_and_zipf_like():
    a = nlm.synthetic_stream(20_000, 100, seed=5)
    b = nlm.synthetic_stream(20_000, 100, seed=5)
    assert a.dtype == np.int32 and a.shape == (20_000,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nlm.synthetic_stream(20_000, 100, seed=6))
    assert a.min() >= 0 and a.max() < 100
    counts = np.bincount(a, minlength=100)
    assert counts[:10].sum() > 3 * counts[50:60].sum()
    xs, ts = next(nlm.windows(a, 4, 6))
    assert xs.shape == ts.shape == (4, 6)
    np.testing.assert_array_equal(xs[:, 1:], ts[:, :-1])


def _torch_reference(torch, m, h0, c0):
    """An nn.Embedding -> nn.LSTM -> nn.Linear model in float64 holding m's weights."""
    nn = torch.nn
    emb = nn.Embedding(V, D).double()
    lstm = nn.LSTM(D, H, batch_first=True).double()
    out = nn.Linear(H, V).double()
    p = m.params
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(p["embed.W"]))
        # both use the gate blocks i, f, g, o along the 4H axis, and W of shape (4H, in)
        lstm.weight_ih_l0.copy_(torch.from_numpy(p["lstm.Wx"]))
        lstm.weight_hh_l0.copy_(torch.from_numpy(p["lstm.Wh"]))
        lstm.bias_ih_l0.copy_(torch.from_numpy(p["lstm.b"]))
        lstm.bias_hh_l0.zero_()
        out.weight.copy_(torch.from_numpy(p["out.W"]))
        out.bias.copy_(torch.from_numpy(p["out.b"]))

    def loss(xs, ts):
        e = emb(torch.from_numpy(xs))
        y, _ = lstm(e, (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
        logits = out(y.reshape(-1, H))
        return nn.functional.cross_entropy(logits, torch.from_numpy(ts).reshape(-1))

    grads = {
        "embed.W": lambda: emb.weight.grad,
        "lstm.Wx": lambda: lstm.weight_ih_l0.grad,
        "lstm.Wh": lambda: lstm.weight_hh_l0.grad,
        "lstm.b": lambda: lstm.bias_ih_l0.grad,
        "out.W": lambda: out.weight.grad,
        "out.b": lambda: out.bias.grad,
    }
    return loss, grads


def test_loss_and_gradients_equal_pytorch():
    torch = pytest.importorskip("torch")
    (x0, _), (xs, ts) = _windows(seed=7)
    m = _model()
    h0, c0 = _prime(m, x0)
    loss_np = m.forward(xs, ts)
    m.backward()

    loss_fn, tgrads = _torch_reference(torch, m, h0, c0)
    loss_t = loss_fn(xs, ts)
    loss_t.backward()
    np.testing.assert_allclose(loss_np, loss_t.item(), rtol=1e-12)
    for name, g in m.grads.items():
        np.testing.assert_allclose(g, tgrads[name]().numpy(), rtol=1e-9, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("variant", ["cell", "fused"])
def test_torch_trainer_takes_the_same_steps_as_train_step(variant):
    torch = pytest.importorskip("torch")
    tlm = _load("torch_lm")
    assert tlm.available()
    lr, clip = 0.7, 0.05  # small threshold: clipping is active
    step = tlm.make_trainer(variant, V, D, H, B, T, lr, clip)
    m = _model(dtype=np.float32)
    tm = step.model
    with torch.no_grad():
        tm.embed.weight.copy_(torch.from_numpy(m.params["embed.W"]))
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        if variant == "fused":
            names = tuple(n + "_l0" for n in names)
        getattr(tm.rnn, names[0]).copy_(torch.from_numpy(m.params["lstm.Wx"]))
        getattr(tm.rnn, names[1]).copy_(torch.from_numpy(m.params["lstm.Wh"]))
        getattr(tm.rnn, names[2]).copy_(torch.from_numpy(m.params["lstm.b"]))
        getattr(tm.rnn, names[3]).zero_()
        tm.out.weight.copy_(torch.from_numpy(m.params["out.W"]))
        tm.out.bias.copy_(torch.from_numpy(m.params["out.b"]))
    for xs, ts in _windows(seed=8, n=3):  # three windows: the carried state must match too
        l_np = nlm.train_step(m, xs, ts, lr, clip)
        l_t = step(xs, ts)
        assert l_t == pytest.approx(l_np, rel=1e-5)
    np.testing.assert_allclose(
        tm.out.weight.detach().numpy(), m.params["out.W"], rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(
        tm.embed.weight.detach().numpy(), m.params["embed.W"], rtol=1e-4, atol=1e-6
    )
