"""Exploding gradients, measured: a small tanh RNN trained with W_h at a chosen spectral radius,
with and without clipping, and the norm of the Jacobian product behind it.

The recurrence h_t = tanh(W_x x_t + W_h h_{t-1} + b) has the step Jacobian
    J_t = dh_t / dh_{t-1} = diag(1 - h_t^2) W_h,
and the gradient that reaches k steps back goes through the product J_T J_{T-1} ... J_{T-k+1}.
Without the tanh (a linear recurrence) the product is W_h^k, whose norm grows like rho^k for the
spectral radius rho of W_h; with it, the factors diag(1 - h^2) shrink as the units saturate.

- ``explode_model(seed, radius)``: the protocol's model, W_h rescaled to spectral radius ``radius``;
- ``train_run(seed, radius, clip, threshold)``: SGD with full BPTT on delayed recall, per update
  the loss, the global gradient norm as ``backward()`` left it, the largest gradient element and the
  cosine between the gradient applied and the one computed;
- ``jacobian_norms(model, xs, linear=False)``: ||dh_T / dh_{T-k}|| (spectral norm) for every k,
  read from the states' ``.grad`` after one ``backward()``;
- ``growth_per_step(norms)``: the geometric growth rate of those norms.

``python -m rnnviz.experiments.explode`` prints the table behind lesson 08.
"""
import math

import numpy

from .. import functions as F
from .. import links as L
from .. import optimizers
from ..core import Variable
from ..datasets import recall_batch
from ..optimizers import global_norm
from ..optimizers.hooks import GradientHardClipping

#: The default experiment: a tanh RNN (hidden 16) on delayed recall (the answer at step t is the
#: token read ``lag`` steps earlier), full BPTT over each sequence, plain SGD.
PROTOCOL = dict(vocab=4, embed=8, hidden=16, lag=4, length=20, batch=32, updates=150, lr=0.5)
CLIP_MODES = ("none", "norm", "value")


def spectral_radius(W):
    """max |eigenvalue| of a square matrix."""
    return float(numpy.max(numpy.abs(numpy.linalg.eigvals(numpy.asarray(W, dtype=numpy.float64)))))


def set_spectral_radius(recurrent, radius):
    """Rescale the recurrent link's W_h (``lateral.W``) so that its spectral radius is ``radius``."""
    W = recurrent.lateral.W
    now = spectral_radius(W.array)
    W.array = (W.array.astype(numpy.float64) * (radius / now)).astype(W.array.dtype)


def explode_model(seed=0, radius=1.0, vocab=None, embed=None, hidden=None, dtype=None):
    """``L.RNNLM(vocab, embed, hidden, cell="rnn")`` initialised from ``seed``, W_h at ``radius``;
    ``dtype`` (say ``numpy.float64``) casts the parameters after the float32 initialisation, so
    the same seed gives the same starting point up to rounding."""
    p = PROTOCOL
    numpy.random.seed(seed)
    model = L.RNNLM(vocab or p["vocab"], embed or p["embed"], hidden or p["hidden"], cell="rnn")
    set_spectral_radius(model.mid, radius)
    if dtype is not None:
        for param in model.params():
            param.array = param.array.astype(dtype)
    return model


def sequence_loss(model, xs, ts, lag):
    """Mean softmax cross entropy over the steps that have a target (t >= lag); full BPTT."""
    model.reset_state()
    loss = 0
    for k in range(xs.shape[1]):
        y = model(xs[:, k])
        if k >= lag:
            loss += F.softmax_cross_entropy(y, ts[:, k])
    return loss / (xs.shape[1] - lag)


def _cosine(a, b):
    na, nb = math.sqrt(float(a @ a)), math.sqrt(float(b @ b))
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else 1.0


class _Recorder:
    """An optimizer hook that keeps the flat gradient it sees (one before the clipping hook, one after)."""

    def __init__(self):
        self.flat = None

    def __call__(self, optimizer):
        grads = [p.grad.ravel() for p in optimizer.target.params(include_uninit=False) if p.grad is not None]
        self.flat = numpy.concatenate(grads).astype(numpy.float64)


def clip_hook(clip, threshold):
    """The optimizer hook for a clipping mode: ``GradientClipping(threshold)`` for ``"norm"``,
    ``GradientHardClipping(-threshold, threshold)`` for ``"value"``, None for ``"none"``."""
    if clip == "none" or clip is None:
        return None
    if clip == "norm":
        return optimizers.GradientClipping(threshold)
    if clip == "value":
        return GradientHardClipping(-threshold, threshold)
    raise ValueError(f"clip_hook: clip must be one of {CLIP_MODES}, got {clip!r}")


def train_run(seed=0, radius=1.0, clip="none", threshold=None, updates=None, lr=None, length=None,
              batch=None, lag=None, dtype=None):
    """Train the protocol's model at W_h spectral radius ``radius``; every update sees a fresh
    batch of delayed-recall sequences (the data depend on ``seed`` only, not on the clipping).

    Returns a dict of arrays, one entry per update: ``loss``; ``norm`` the global gradient norm
    ``backward()`` produced (before clipping); ``applied`` the norm after clipping; ``max_abs`` its
    largest element before clipping; ``cos`` the cosine between the applied and the computed
    gradient; plus ``radius``, ``clip``, ``threshold`` and ``stopped`` (the update at which a
    non-finite gradient stopped the run, else None). ``dtype=numpy.float64`` trains the same
    model in double precision: the run differs from the default one only in rounding."""
    p = dict(PROTOCOL)
    for k, v in (("updates", updates), ("lr", lr), ("length", length), ("batch", batch), ("lag", lag)):
        if v is not None:
            p[k] = v
    model = explode_model(seed, radius, dtype=dtype)
    opt = optimizers.SGD(lr=p["lr"]).setup(model)
    before, after = _Recorder(), _Recorder()
    opt.add_hook(before, "before clipping")
    hook = clip_hook(clip, threshold)
    if hook is not None:
        opt.add_hook(hook)
    opt.add_hook(after, "after clipping")
    B, n = p["batch"], p["updates"]
    xs, ts = recall_batch(B * n, p["length"], p["lag"], vocab_size=p["vocab"], seed=1000 + seed)
    rows = {k: [] for k in ("loss", "norm", "applied", "max_abs", "cos")}
    stopped = None
    for u in range(n):
        loss = sequence_loss(model, xs[u * B:(u + 1) * B], ts[u * B:(u + 1) * B], p["lag"])
        model.cleargrads()
        loss.backward()
        try:
            opt.update()
        except FloatingPointError:
            stopped = u
            break
        g, a = before.flat, after.flat
        rows["loss"].append(float(loss.array))
        rows["norm"].append(math.sqrt(float(g @ g)))
        rows["applied"].append(math.sqrt(float(a @ a)))
        rows["max_abs"].append(float(numpy.abs(g).max()))
        rows["cos"].append(_cosine(g, a))
    out = {k: numpy.array(v) for k, v in rows.items()}
    out.update(radius=float(radius), clip=clip, threshold=threshold, stopped=stopped)
    return out


# -- the Jacobian product ----------------------------------------------------------------------
def jacobian_norms(model, xs, linear=False):
    """||dh_T / dh_{T-k}||_2 for k = 0 .. T-1, one row per sequence of ``xs`` (batch, T).

    Measured with ``backward()``: each sequence runs in ``hidden`` copies, and copy i back-propagates
    the i-th unit of its last state, so the ``.grad`` of a state h_s holds, in copy i, row i of
    dh_T / dh_s. The spectral norm of that matrix is read with an SVD. ``linear=True`` runs the
    same weights without the tanh (h_t = W_x x_t + W_h h_{t-1} + b): its product is W_h^k."""
    rnn = model.mid
    H = rnn.lateral.W.shape[0]
    n, T = xs.shape
    ids = numpy.repeat(xs, H, axis=0)                      # (n * H, T): H copies of each sequence
    states = []
    h = None
    for k in range(T):
        a = rnn.upward(model.embed(ids[:, k]))
        if h is not None:
            a = a + rnn.lateral(h)
        h = a if linear else F.tanh(a)
        states.append(h)
    pick = numpy.tile(numpy.eye(H, dtype=h.array.dtype), (n, 1))     # copy i picks unit i
    F.sum(h * pick).backward(retain_grad=True)
    out = numpy.zeros((n, T))
    for k in range(T):
        g = states[T - 1 - k].grad.reshape(n, H, H).astype(numpy.float64)
        out[:, k] = numpy.linalg.norm(g, ord=2, axis=(1, 2))
    return out


def jacobian_profile(seed=0, radius=1.0, steps=30, sequences=8, linear=False):
    """The geometric mean over ``sequences`` recall sequences of ``jacobian_norms`` for the
    protocol's model at ``radius``: ||dh_T / dh_{T-k}|| for k = 0 .. steps-1."""
    model = explode_model(seed, radius)
    xs, _ = recall_batch(sequences, steps, 0, vocab_size=PROTOCOL["vocab"], seed=2000 + seed)
    norms = jacobian_norms(model, xs, linear=linear)
    with numpy.errstate(divide="ignore"):
        return numpy.exp(numpy.mean(numpy.log(norms), axis=0))


def growth_per_step(norms, start=5):
    """exp(slope) of log ||J product|| against k, fitted over k >= start: the factor by which the
    norm grows (> 1) or shrinks (< 1) per step back."""
    k = numpy.arange(len(norms))[start:]
    y = numpy.log(numpy.maximum(numpy.asarray(norms, dtype=float)[start:], 1e-300))
    return float(numpy.exp(numpy.polyfit(k, y, 1)[0]))


def summary(run, spike=10.0):
    """A few numbers of one ``train_run``: final loss (mean of the last 10 updates), largest norm,
    number of spikes (updates whose norm exceeds ``spike`` times the run's median)."""
    norm = run["norm"]
    med = float(numpy.median(norm)) if len(norm) else float("nan")
    return dict(final_loss=float(numpy.mean(run["loss"][-10:])), max_norm=float(norm.max()),
                median_norm=med, spikes=int((norm > spike * med).sum()))


if __name__ == "__main__":   # the table behind lesson 08
    for radius in (0.5, 1, 2, 3, 4, 6):
        lin = growth_per_step(jacobian_profile(0, radius, linear=True))
        tanh = growth_per_step(jacobian_profile(0, radius))
        print(f"rho {radius:<4g} growth per step: linear {lin:.3f}  tanh {tanh:.3f}")
        for clip, thr in (("none", None), ("norm", 1.0), ("value", 0.1)):
            s = [summary(train_run(seed, radius, clip, thr)) for seed in (0, 1, 2)]
            print(f"   {clip:5s} " + " | ".join(f"loss {x['final_loss']:.2f} max|g| {x['max_norm']:8.1f}"
                                               for x in s))


_REMEMBERED = {}


def remembered(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, computed once per process: the runs are deterministic (seeded), and a
    widget built twice (a notebook run again, its Japanese twin) need not train its 25 runs again.
    The result is shared: read it, do not change it."""
    key = (fn.__name__, args, tuple(sorted(kwargs.items())))
    if key not in _REMEMBERED:
        _REMEMBERED[key] = fn(*args, **kwargs)
    return _REMEMBERED[key]

