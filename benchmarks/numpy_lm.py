"""A hand-written NumPy LSTM language model: the speed reference for rnnviz.

This is the "Deep Learning from Scratch 2" way of writing a recurrent language model: no autograd,
one class per Time layer, each with a forward and a backward derived by hand. It is what a careful
person gets from NumPy alone, so the rest of the kit is compared against it.

    ids (B, T) --TimeEmbedding--> x --TimeLSTM--> h --TimeAffine--> logits --TimeSoftmaxWithLoss--> loss

Inside the model everything is time-major, (T, B, ...), so that the hidden state of step t is one
contiguous block; the public API takes and gives batch-major (B, T) ids like the book.

Parameter shapes follow Chainer (and PyTorch): a linear map from n to m is stored as W (m, n).

    embed.W  (V, D)      lstm.Wx  (4H, D)     lstm.Wh  (4H, H)     lstm.b  (4H,)
    out.W    (V, H)      out.b    (V,)

The 4H axis of the LSTM holds the gates in the order i, f, g, o (as PyTorch), and the forget gate's
bias starts at 1.

Run this file to measure training throughput (words/s) of this model and of PyTorch on the CPU:

    python benchmarks/numpy_lm.py [--seconds S] [--rounds R] [--sizes tutorial,ptb] [--no-torch]

The implementations are timed interleaved, round-robin, so their ratios hold even when the
machine's load changes during the run; the median and the best round are printed.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np

__all__ = [
    "TimeEmbedding",
    "TimeLSTM",
    "TimeAffine",
    "TimeSoftmaxWithLoss",
    "NumpyLSTMLM",
    "global_norm",
    "clip_grads",
    "sgd_update",
    "train_step",
    "synthetic_stream",
    "windows",
    "SIZES",
]


# --------------------------------------------------------------------------------------------
# Time layers. Each holds the model's parameter and gradient arrays themselves (not copies), keeps
# what its backward needs from the forward, and reuses its work buffers while the window shape
# stays the same. Gradients are written, never accumulated: one backward per forward.
# --------------------------------------------------------------------------------------------


class TimeEmbedding:
    """x[t, b] = W[ids[t, b]];  dW[v] = sum of dx[t, b] over the (t, b) with ids[t, b] == v"""

    def __init__(self, W, dW):
        self.W, self.dW = W, dW
        self._out = None
        self._ids = None

    def forward(self, ids):
        """ids (T, B) int -> x (T*B, D)"""
        flat = ids.reshape(-1)
        if self._out is None or self._out.shape[0] != flat.size:
            self._out = np.empty((flat.size, self.W.shape[1]), dtype=self.W.dtype)
        np.take(self.W, flat, axis=0, out=self._out)
        self._ids = flat
        return self._out

    def backward(self, dx):
        """dx (T*B, D) -> fills dW; an embedding has no input gradient

        Rows of the same word are summed by sorting the ids and adding runs with reduceat,
        which is several times faster than np.add.at for the same result.
        """
        ids = self._ids
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
        self.dW.fill(0)
        self.dW[sorted_ids[starts]] = np.add.reduceat(dx[order], starts, axis=0)


class TimeLSTM:
    """A stateful one-layer LSTM over a window of T steps.

    a_t = x_t Wx^T + h_{t-1} Wh^T + b = [a_i, a_f, a_g, a_o]
    i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

    The input part x_t Wx^T is one (T*B, D) @ (D, 4H) matmul for the whole window; only h Wh^T runs
    per step. All three weight gradients are one big matmul each after the backward loop.
    The state (h, c) carries over from window to window; the gradient stops at the window's start
    (truncated BPTT).
    """

    def __init__(self, Wx, Wh, b, dWx, dWh, db):
        self.Wx, self.Wh, self.b = Wx, Wh, b
        self.dWx, self.dWh, self.db = dWx, dWh, db
        H = Wh.shape[1]
        dt = Wx.dtype
        # sigmoid(x) = (1 + tanh(x / 2)) / 2, so all four gates are one tanh:
        #   act = tanh(a * scale) * scale + shift  with scale 1/2 on i, f, o and 1 on g.
        self._scale = np.full(4 * H, 0.5, dtype=dt)
        self._scale[2 * H : 3 * H] = 1.0
        self._shift = np.full(4 * H, 0.5, dtype=dt)
        self._shift[2 * H : 3 * H] = 0.0
        # derivative of the activations, written in terms of the activations themselves:
        #   sigmoid' = s (1 - s),  tanh' = 1 - g^2   ->  der = act * (P - act) + Q
        self._P = np.ones(4 * H, dtype=dt)
        self._P[2 * H : 3 * H] = 0.0
        self._Q = np.zeros(4 * H, dtype=dt)
        self._Q[2 * H : 3 * H] = 1.0
        self._shape = None
        self._x = None

    def _alloc(self, T, B):
        if self._shape == (T, B):
            return
        H = self.Wh.shape[1]
        dt = self.Wx.dtype
        D = self.Wx.shape[1]
        self.A = np.empty((T, B, 4 * H), dtype=dt)  # gate activations i, f, g, o
        self.hs = np.empty((T + 1, B, H), dtype=dt)  # hs[0] is the state coming in
        self.cs = np.empty((T + 1, B, H), dtype=dt)
        self.tc = np.empty((T, B, H), dtype=dt)  # tanh(c_t)
        self.dA = np.empty((T, B, 4 * H), dtype=dt)
        self.dx = np.empty((T * B, D), dtype=dt)
        self._tmp4 = np.empty((B, 4 * H), dtype=dt)
        self._der = np.empty((B, 4 * H), dtype=dt)
        self._tmph = np.empty((B, H), dtype=dt)
        self._dh = np.empty((B, H), dtype=dt)
        self._dhn = np.empty((B, H), dtype=dt)
        self._dc = np.empty((B, H), dtype=dt)
        self._shape = (T, B)

    def forward(self, x, T, B, h0, c0):
        """x (T*B, D), h0, c0 (B, H) -> hs (T, B, H), a view that is valid until the next forward"""
        self._alloc(T, B)
        H = self.Wh.shape[1]
        A, hs, cs, tc = self.A, self.hs, self.cs, self.tc
        np.matmul(x, self.Wx.T, out=A.reshape(T * B, 4 * H))
        A += self.b
        hs[0] = h0
        cs[0] = c0
        WhT = self.Wh.T
        scale, shift, tmp4, tmph = self._scale, self._shift, self._tmp4, self._tmph
        for t in range(T):
            a = A[t]
            np.matmul(hs[t], WhT, out=tmp4)
            a += tmp4
            a *= scale
            np.tanh(a, out=a)
            a *= scale
            a += shift
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            c = cs[t + 1]
            np.multiply(f, cs[t], out=c)
            np.multiply(i, g, out=tmph)
            c += tmph
            np.tanh(c, out=tc[t])
            np.multiply(o, tc[t], out=hs[t + 1])
        self._x = x
        return hs[1:]

    def backward(self, dhs):
        """dhs (T, B, H) -> dx (T*B, D); fills dWx, dWh, db"""
        T, B = self._shape
        H = self.Wh.shape[1]
        A, hs, cs, tc, dA = self.A, self.hs, self.cs, self.tc, self.dA
        P, Q, der, tmph = self._P, self._Q, self._der, self._tmph
        dh, dh_next, dc = self._dh, self._dhn, self._dc
        dh_next.fill(0)
        dc.fill(0)
        Wh = self.Wh
        for t in range(T - 1, -1, -1):
            a, d = A[t], dA[t]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            np.add(dhs[t], dh_next, out=dh)
            # dc_t = dc_{t+1} * f_{t+1} + dh_t * o * (1 - tanh(c_t)^2)
            np.square(tc[t], out=tmph)
            np.subtract(1, tmph, out=tmph)
            tmph *= o
            tmph *= dh
            dc += tmph
            # upstream gradient of each activation, then times the activation's derivative
            np.multiply(dc, g, out=d[:, :H])
            np.multiply(dc, cs[t], out=d[:, H : 2 * H])
            np.multiply(dc, i, out=d[:, 2 * H : 3 * H])
            np.multiply(dh, tc[t], out=d[:, 3 * H :])
            dc *= f
            np.subtract(P, a, out=der)
            der *= a
            der += Q
            d *= der
            np.matmul(d, Wh, out=dh_next)
        dA2 = dA.reshape(T * B, 4 * H)
        np.matmul(dA2.T, self._x, out=self.dWx)
        np.matmul(dA2.T, hs[:T].reshape(T * B, H), out=self.dWh)
        np.sum(dA2, axis=0, out=self.db)
        np.matmul(dA2, self.Wx, out=self.dx)
        return self.dx

    def last_state(self):
        T, _ = self._shape
        return self.hs[T], self.cs[T]


class TimeAffine:
    """y = h W^T + b over all T*B rows at once;  dW = dy^T h,  db = sum dy,  dh = dy W"""

    def __init__(self, W, b, dW, db):
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self._y = None
        self._dh = None
        self._h = None

    def forward(self, h):
        """h (N, H) -> y (N, V); y is a work buffer the next layer may overwrite"""
        N = h.shape[0]
        if self._y is None or self._y.shape[0] != N:
            self._y = np.empty((N, self.W.shape[0]), dtype=self.W.dtype)
            self._dh = np.empty((N, self.W.shape[1]), dtype=self.W.dtype)
        np.matmul(h, self.W.T, out=self._y)
        self._y += self.b
        self._h = h
        return self._y

    def backward(self, dy):
        np.matmul(dy.T, self._h, out=self.dW)
        np.sum(dy, axis=0, out=self.db)
        np.matmul(dy, self.W, out=self._dh)
        return self._dh


class TimeSoftmaxWithLoss:
    """loss = mean_n( log sum_v exp(y[n, v]) - y[n, t_n] );  dy = (softmax(y) - onehot(t)) / N

    Works in place on the logits buffer: forward leaves exp(y - max) there, backward turns it
    into dy. The max is subtracted first so exp never overflows.
    """

    def __init__(self):
        self._e = None

    def forward(self, y, t):
        N = y.shape[0]
        rows = np.arange(N)
        y -= y.max(axis=1, keepdims=True)
        picked = y[rows, t]
        np.exp(y, out=y)
        s = y.sum(axis=1)
        self._e, self._s, self._t, self._rows = y, s, t, rows
        return float(np.mean(np.log(s) - picked, dtype=np.float64))

    def backward(self):
        e, s, t, rows = self._e, self._s, self._t, self._rows
        N = e.shape[0]
        e *= (1.0 / (s * N))[:, None].astype(e.dtype, copy=False)
        e[rows, t] -= e.dtype.type(1.0 / N)
        self._e = None
        return e


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class NumpyLSTMLM:
    """Embedding -> stateful LSTM -> Affine -> softmax cross entropy, with hand-written backward.

    forward(xs, ts) -> mean loss over the window, xs and ts int arrays of shape (B, T)
    backward()      -> fills self.grads (same names and shapes as self.params)
    reset_state()   -> h = c = 0 before the next window
    truncate()      -> keep the values of h, c; drop the stored history of the last window
    """

    def __init__(self, vocab, embed, hidden, seed=0, dtype=np.float32):
        V, D, H = int(vocab), int(embed), int(hidden)
        rng = np.random.default_rng(seed)
        dtype = np.dtype(dtype)

        def randn(*shape, scale):
            return (rng.standard_normal(shape) * scale).astype(dtype)

        b = np.zeros(4 * H, dtype=dtype)
        b[H : 2 * H] = 1.0  # forget gate starts open
        self.params = {
            "embed.W": randn(V, D, scale=0.01),
            "lstm.Wx": randn(4 * H, D, scale=1 / math.sqrt(D)),
            "lstm.Wh": randn(4 * H, H, scale=1 / math.sqrt(H)),
            "lstm.b": b,
            "out.W": randn(V, H, scale=1 / math.sqrt(H)),
            "out.b": np.zeros(V, dtype=dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        p, g = self.params, self.grads
        self.embed = TimeEmbedding(p["embed.W"], g["embed.W"])
        self.lstm = TimeLSTM(
            p["lstm.Wx"], p["lstm.Wh"], p["lstm.b"], g["lstm.Wx"], g["lstm.Wh"], g["lstm.b"]
        )
        self.affine = TimeAffine(p["out.W"], p["out.b"], g["out.W"], g["out.b"])
        self.loss_layer = TimeSoftmaxWithLoss()
        self.vocab, self.embed_size, self.hidden = V, D, H
        self.dtype = dtype
        self.h = None  # (B, H) state carried between windows; None means zeros
        self.c = None
        self._window = None

    def reset_state(self):
        self.h = self.c = None

    def truncate(self):
        """Keep the state values, forget the history (what unchain_backward() does in Chainer)."""
        self._window = None
        self.lstm._x = None
        self.affine._h = None
        self.loss_layer._e = None

    def forward(self, xs, ts):
        xs = np.asarray(xs)
        ts = np.asarray(ts)
        if xs.ndim != 2 or xs.shape != ts.shape:
            raise ValueError(
                f"NumpyLSTMLM.forward: expected xs and ts of the same shape (B, T), "
                f"got {xs.shape} and {ts.shape}"
            )
        B, T = xs.shape
        H = self.hidden
        if self.h is None or self.h.shape != (B, H):
            self.h = np.zeros((B, H), dtype=self.dtype)
            self.c = np.zeros((B, H), dtype=self.dtype)
        x = self.embed.forward(np.ascontiguousarray(xs.T))  # (T*B, D), time-major
        hs = self.lstm.forward(x, T, B, self.h, self.c)  # (T, B, H)
        h_last, c_last = self.lstm.last_state()
        self.h = h_last.copy()
        self.c = c_last.copy()
        y = self.affine.forward(hs.reshape(T * B, H))
        self._window = (T, B)
        return self.loss_layer.forward(y, np.ascontiguousarray(ts.T).reshape(-1))

    def backward(self):
        if self._window is None:
            raise RuntimeError("NumpyLSTMLM.backward: call forward() first (history was dropped)")
        T, B = self._window
        dy = self.loss_layer.backward()
        dh = self.affine.backward(dy)
        dx = self.lstm.backward(dh.reshape(T, B, self.hidden))
        self.embed.backward(dx)
        self._window = None


# --------------------------------------------------------------------------------------------
# Optimiser
# --------------------------------------------------------------------------------------------


def global_norm(grads):
    """sqrt of the sum of squares of every gradient entry"""
    total = 0.0
    for g in grads.values():
        flat = g.reshape(-1)
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


def clip_grads(grads, max_norm):
    """Scale all gradients by max_norm / norm when their global L2 norm is above max_norm.

    Returns the norm before clipping.
    """
    norm = global_norm(grads)
    if norm > max_norm:
        rate = max_norm / norm
        for g in grads.values():
            g *= rate
    return norm


def sgd_update(params, grads, lr):
    """p -= lr * g; the gradients are scaled in place (no temporaries the size of a matrix)."""
    for k, p in params.items():
        g = grads[k]
        g *= lr
        p -= g


def train_step(model, xs, ts, lr, clip):
    """forward, backward, clip the global norm to `clip`, SGD with `lr`; returns the loss.

    Clipping and the learning rate are applied as one scale, so after the call model.grads holds
    the step that was taken (lr times the clipped gradient), not the raw gradient.
    """
    loss = model.forward(xs, ts)
    model.backward()
    norm = global_norm(model.grads)
    scale = lr * (clip / norm if norm > clip else 1.0)
    sgd_update(model.params, model.grads, scale)
    model.truncate()
    return loss


# --------------------------------------------------------------------------------------------
# Data for the benchmark
# --------------------------------------------------------------------------------------------


def synthetic_stream(n_words, vocab, seed=0):
    """A deterministic int32 word stream that looks a little like text.

    Word k of the vocabulary has frequency proportional to 1 / (k + 2.7) (Zipf-Mandelbrot, as word
    counts in English), and about a third of the words follow from the word before through a fixed
    random "bigram" table, so a language model has something to learn.
    """
    rng = np.random.default_rng(seed)
    ranks = np.arange(vocab, dtype=np.float64)
    p = 1.0 / (ranks + 2.7)
    p /= p.sum()
    unigram = rng.choice(vocab, size=n_words, p=p)
    successor = rng.permutation(vocab)
    follows = rng.random(n_words) < 1 / 3
    follows[0] = False
    out = unigram.copy()
    out[1:][follows[1:]] = successor[unigram[:-1][follows[1:]]]
    return out.astype(np.int32)


def windows(stream, batch, bprop_len):
    """Yield (xs, ts) windows of shape (batch, bprop_len) forever, like Chainer's
    ParallelSequentialIterator: row b reads the stream from offset b * len(stream) // batch."""
    n = len(stream)
    jump = n // batch
    offsets = np.arange(batch)[:, None] * jump + np.arange(bprop_len)[None, :]
    pos = 0
    while True:
        idx = (offsets + pos) % n
        yield stream[idx], stream[(idx + 1) % n]
        pos += bprop_len


SIZES = {
    "tutorial": dict(vocab=1000, embed=100, hidden=50, batch=20, bprop_len=30),
    "ptb": dict(vocab=10000, embed=650, hidden=650, batch=20, bprop_len=35),
}


def _measure(trainers, words_per_step, seconds, rounds=5, warmup=2):
    """Time several trainers interleaved, round-robin, so that a change in machine load touches
    all of them alike; returns name -> (median words/s, best words/s, windows, last loss)."""
    for step, it in trainers.values():
        for _ in range(warmup):
            step(*next(it))
    rates = {name: [] for name in trainers}
    count = dict.fromkeys(trainers, 0)
    last = {}
    for _ in range(rounds):
        for name, (step, it) in trainers.items():
            n = 0
            t0 = time.perf_counter()
            while True:
                last[name] = step(*next(it))
                n += 1
                el = time.perf_counter() - t0
                if el >= seconds / rounds:
                    break
            rates[name].append(n * words_per_step / el)
            count[name] += n
    return {
        k: (float(np.median(r)), max(r), count[k], last[k]) for k, r in rates.items()
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="time per implementation and size")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds per measurement")
    ap.add_argument("--sizes", default="tutorial,ptb")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--clip", type=float, default=5.0)
    args = ap.parse_args(argv)

    print(f"python {platform.python_version()}, numpy {np.__version__}, cpus {os.cpu_count()}")
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    print(f"env: {env or '{}'}")
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f}")
    except OSError:
        pass

    torch_lm = None
    if not args.no_torch:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import torch_lm as _tl

        if _tl.available():
            torch_lm = _tl
            print(f"torch {_tl.version()}, threads {_tl.num_threads()}")
        else:
            print("torch: not importable, skipped")

    print(f"lr {args.lr}, clip {args.clip}; {args.rounds} interleaved rounds, "
          f"{args.seconds:g} s per implementation")
    print(f"{'size':<9} {'impl':<12} {'median w/s':>11} {'best w/s':>10} {'vs numpy':>9} "
          f"{'windows':>8} {'last loss':>10}")
    for name in args.sizes.split(","):
        s = SIZES[name]
        V, B, T = s["vocab"], s["batch"], s["bprop_len"]
        stream = synthetic_stream(max(200_000, 50 * B * T), V, seed=0)

        model = NumpyLSTMLM(V, s["embed"], s["hidden"], seed=0)

        def numpy_step(xs, ts, model=model):
            return train_step(model, xs, ts, args.lr, args.clip)

        trainers = {"numpy": (numpy_step, windows(stream, B, T))}
        if torch_lm is not None:
            for variant in torch_lm.VARIANTS:
                step = torch_lm.make_trainer(
                    variant, V, s["embed"], s["hidden"], B, T, args.lr, args.clip
                )
                trainers[f"torch-{variant}"] = (step, windows(stream, B, T))
        res = _measure(trainers, B * T, args.seconds, args.rounds)
        ref = res["numpy"][0]
        for impl, (med, best, n, loss) in res.items():
            print(f"{name:<9} {impl:<12} {med:>11,.0f} {best:>10,.0f} {med / ref:>9.2f} "
                  f"{n:>8} {loss:>10.3f}", flush=True)
    try:
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    except OSError:
        pass


if __name__ == "__main__":
    main()
