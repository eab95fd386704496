"""Truncated vs full BPTT, measured so that the numbers mean something.

One truncated run compares badly with the full gradient for reasons that have nothing to do with
truncation: where the cuts happen to fall on a short sequence (a window of 9 on 12 steps leaves a
last window of 3) and which sequence it was. So the comparison here is an average:

* over **window offsets**: bprop_len ``b`` cuts before the steps ``o, o + b, o + 2b, ...`` for every
  offset ``o`` in ``0 .. b-1`` (``o = 0`` is the usual loop); each offset gives one truncated
  gradient, compared with the full one, and the cosines and relative errors are averaged;
* over **batch examples**: the gradient is the batch's gradient (the loss is a mean over a batch
  of sequences), so no single sequence decides.

The truncated gradients come from real backward passes, cheaply: a window's gradient only depends
on where the window starts and ends. For each start ``s0`` the model runs steps ``0 .. s0-1``
without a graph (``no_backprop_mode``, so the state at ``s0`` has values and no history: exactly
what ``unchain_backward()`` leaves), then records the graph from ``s0`` on and back-propagates the
losses of ``s0 .. e`` for every window end ``e`` it needs (the parameters' ``.grad`` accumulates,
so one backward per end). The gradient of a truncated run is then the sum of its windows'
gradients; ``tests/test_truncation_protocol.py`` checks it against the real loop with
``unchain_backward()``.
"""
import numpy

from ..core import no_backprop_mode


def window_offsets(b, max_offsets=None):
    """The offsets averaged over for bprop_len ``b``: all of ``0 .. b-1``, or ``max_offsets`` of
    them evenly spaced (always including 0)."""
    if max_offsets is None or b <= max_offsets:
        return list(range(b))
    return sorted(set(numpy.floor(numpy.arange(max_offsets) * b / max_offsets).astype(int).tolist()))


def windows(T, b, offset=0):
    """[(start, end)] (inclusive) of truncated BPTT over T steps with bprop_len ``b``, cutting
    before the steps ``offset, offset + b, ...`` (offset 0: the usual loop)."""
    starts = [0] + [s for s in range(offset % b if b else 0, T, b) if s > 0]
    ends = [s - 1 for s in starts[1:]] + [T - 1]
    return list(zip(starts, ends))


def _stateful_links(model):
    return [l for l in model.links() if hasattr(l, "truncate") and hasattr(l, "reset_state")]


def _flat_grads(params):
    out = []
    for p in params:
        g = p.grad
        out.append(numpy.zeros(p.array.size) if g is None else numpy.asarray(g, dtype=float).ravel())
    return numpy.concatenate(out) if out else numpy.zeros(0)


def window_gradients(sm, xs, ts, needed, flow=False):
    """{(start, end): flat gradient of the losses start..end with the history before ``start``
    cut} for every pair in ``needed``; and, with ``flow``, the gradient-flow norms
    ``||dL_t/d(state_s)||`` (T, T; the whole state of the recurrent link: h, and c for an LSTM)
    read on the way (each step loss back-propagated on its own, from the
    pass that starts at 0). Returns (names, sizes, grads, norms)."""
    T = len(xs)
    names, params = zip(*[(n, p) for n, p in sm.model.namedparams()])
    ends_of = {}
    for s, e in needed:
        ends_of.setdefault(s, set()).add(e)
    if flow:
        ends_of.setdefault(0, set())
    grads = {}
    norms = numpy.full((T, T), numpy.nan) if flow else None
    links = _stateful_links(sm.model)
    settable = all(hasattr(l, "get_state") and hasattr(l, "set_state") for l in links)
    saved = {}
    if settable and len(ends_of) > 1:
        # one forward without a graph: the state entering every step, to start each pass from
        sm.reset()
        with no_backprop_mode():
            for t in range(max(ends_of)):
                sm.loss(xs[t], ts[t], step=t)
                if t + 1 in ends_of:
                    saved[t + 1] = [{n: (None if v is None else v.array) for n, v in l.get_state().items()}
                                    for l in links]
    for s0 in sorted(ends_of):
        ends = ends_of[s0]
        per_step = flow and s0 == 0
        last = T - 1 if per_step else max(ends)
        sm.reset()
        sm.model.cleargrads()
        if s0 in saved:
            for link, state in zip(links, saved[s0]):
                link.set_state(**state)      # values only: a fresh leaf, no history
        else:
            with no_backprop_mode():
                for t in range(s0):
                    sm.loss(xs[t], ts[t], step=t)
        for link in links:
            link.truncate()
        states, pending = [], 0
        for t in range(s0, last + 1):
            loss = sm.loss(xs[t], ts[t], step=t)
            if per_step:
                states.append([v for v in sm.recurrent.get_state().values() if v is not None])
                for vs in states:
                    for v in vs:
                        v.grad = None
                loss.backward(retain_grad=True)
                for s in range(t + 1):
                    norms[t, s] = _state_grad_norm(states[s])
            else:
                pending = pending + loss
            if t in ends:
                if not per_step and not isinstance(pending, int):
                    pending.backward()
                    pending = 0
                grads[(s0, t)] = _flat_grads(params)
        for vs in states:
            for v in vs:
                v.grad = None
        if not isinstance(pending, int):
            pending.unchain_backward()
        loss.unchain_backward()
    sm.model.cleargrads()
    sm.reset()
    sizes = [int(p.array.size) for p in params]
    return list(names), sizes, grads, norms


def _state_grad_norm(variables):
    """||dL/d state|| over every part of one step's state (h, and c for an LSTM): what a cut there
    takes away."""
    total = 0.0
    for v in variables:
        if v.grad is not None:
            total += float((numpy.asarray(v.grad, dtype=float) ** 2).sum())
    return float(numpy.sqrt(total))


def _cos_err(g, f):
    ng, nf = numpy.linalg.norm(g), numpy.linalg.norm(f)
    cos = float(g @ f / (ng * nf)) if ng > 0 and nf > 0 else (1.0 if ng == nf else 0.0)
    err = float(numpy.linalg.norm(g - f) / nf) if nf > 0 else float(ng > 0)
    return cos, err


def compare_truncation_averaged(sm, xs, ts, bprop_lens, max_offsets=None, flow=True):
    """Truncated vs full BPTT averaged over window offsets (and, through the batch, examples).

    Returns a dict: ``names`` (the parameters with a gradient, then ``"all"``: every parameter
    as one vector, the direction of the whole update), ``cos`` and ``err`` (len(names), K): the
    mean over offsets of the cosine similarity and of the relative error ``||g - f|| / ||f||``
    between the truncated gradient ``g`` and the full one ``f``; ``cos_sd``, ``err_sd`` their
    spread over offsets; ``full_norm`` (||f|| per name); ``norms`` the gradient flow (T, T) when
    ``flow``; ``offsets`` {b: [offsets]}.
    """
    T = len(xs)
    bprop_lens = [int(b) for b in bprop_lens]
    offsets = {b: window_offsets(b, max_offsets) for b in bprop_lens}
    needed = {(0, T - 1)}
    for b in bprop_lens:
        for o in offsets[b]:
            needed.update(windows(T, b, o))
    names, sizes, grads, norms = window_gradients(sm, xs, ts, needed, flow=flow)
    bounds = numpy.cumsum([0] + sizes)
    full = grads[(0, T - 1)]
    keep = [i for i in range(len(names)) if numpy.any(full[bounds[i]:bounds[i + 1]] != 0)]
    slices = [slice(bounds[i], bounds[i + 1]) for i in keep] + [slice(0, bounds[-1])]
    out_names = [names[i] for i in keep] + ["all"]
    n, K = len(slices), len(bprop_lens)
    cos = numpy.zeros((n, K))
    err = numpy.zeros((n, K))
    cos_sd = numpy.zeros((n, K))
    err_sd = numpy.zeros((n, K))
    for k, b in enumerate(bprop_lens):
        per = numpy.zeros((len(offsets[b]), n, 2))
        for j, o in enumerate(offsets[b]):
            g = sum(grads[w] for w in windows(T, b, o))
            for i, sl in enumerate(slices):
                per[j, i] = _cos_err(g[sl], full[sl])
        cos[:, k], err[:, k] = per[:, :, 0].mean(0), per[:, :, 1].mean(0)
        cos_sd[:, k], err_sd[:, k] = per[:, :, 0].std(0), per[:, :, 1].std(0)
    full_norm = numpy.array([numpy.linalg.norm(full[sl]) for sl in slices])
    return {"names": out_names, "cos": cos, "err": err, "cos_sd": cos_sd, "err_sd": err_sd,
            "full_norm": full_norm, "norms": norms, "offsets": offsets}


# -- the default comparison: a model and a task where truncation has something to lose --------
#: The protocol ``BPTTComparison()`` shows: a freshly initialised LSTM language model (embed 16,
#: hidden 16) on the delayed-recall task (alphabet of 4, the answer at step t is the token read
#: ``lag`` = 4 steps earlier), 16 steps, a batch of 32 sequences.
PROTOCOL = {"cell": "lstm", "vocab": 4, "hidden": 16, "lag": 4, "steps": 16, "batch": 32}


def protocol_model(seed=0, cell=None, hidden=None, vocab=None):
    """A freshly initialised ``L.Classifier(L.RNNLM(vocab, hidden, hidden, cell))``, seeded (the
    global NumPy state is restored afterwards)."""
    from .. import links as L
    p = PROTOCOL
    state = numpy.random.get_state()
    numpy.random.seed(seed)
    try:
        return L.Classifier(L.RNNLM(vocab or p["vocab"], hidden or p["hidden"], hidden or p["hidden"],
                                    cell=cell or p["cell"]))
    finally:
        numpy.random.set_state(state)


def protocol_data(seed=0, steps=None, batch=None, lag=None, vocab=None):
    """xs, ts of shape (steps, batch), int32: delayed recall (``ts[t] = xs[t - lag]``; the first
    ``lag`` targets are -1, ignored by the loss)."""
    from ..datasets import recall_batch
    p = PROTOCOL
    inputs, targets = recall_batch(batch or p["batch"], steps or p["steps"], p["lag"] if lag is None else lag,
                                   vocab_size=vocab or p["vocab"], seed=seed)
    return numpy.ascontiguousarray(inputs.T), numpy.ascontiguousarray(targets.T)


def measure_table(scales, seeds=(0, 1, 2), bprop_lens=None, cell=None, **data):
    """{scale: (cos (K,), err (K,), cos_sd over seeds, err_sd)} for the whole update ("all"),
    each seed a fresh model and fresh data."""
    from .model import StepModel, scaled_lateral
    rows = {s: [] for s in scales}
    for seed in seeds:
        xs, ts = protocol_data(seed, **data)
        sm = StepModel(protocol_model(seed, cell=cell, vocab=data.get("vocab")), who="measure_table")
        bl = bprop_lens or list(range(1, len(xs) + 1))
        for s in scales:
            with scaled_lateral(sm.recurrent, s):
                r = compare_truncation_averaged(sm, xs, ts, bl, flow=False)
            rows[s].append((r["cos"][-1], r["err"][-1]))
    out = {}
    for s, vals in rows.items():
        c = numpy.array([v[0] for v in vals])
        e = numpy.array([v[1] for v in vals])
        out[s] = (c.mean(0), e.mean(0), c.std(0), e.std(0))
    return out


def main(argv=None):
    """Print the table behind lesson 04: scale x bprop_len -> mean cosine and mean relative error
    of the whole update, over seeds.

        python -m rnnviz.experiments.truncation [--seeds 0 1 2 3 4] [--cell rnn] [--scales 0.25 1 4]
    """
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--cell", default="lstm", choices=["lstm", "rnn"])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4])
    ap.add_argument("--bprop-lens", type=int, nargs="+", default=None)
    args = ap.parse_args(argv)
    table = measure_table(args.scales, args.seeds, args.bprop_lens, cell=args.cell)
    bl = args.bprop_lens or list(range(1, PROTOCOL["steps"] + 1))
    print(f"{args.cell}, {dict(PROTOCOL, cell=args.cell)}, seeds {args.seeds}: mean over offsets, then over seeds")
    print("bprop_len      " + " ".join(f"{b:5d}" for b in bl))
    for s, (c, e, csd, esd) in table.items():
        print(f"x{s:<5g} cosine  " + " ".join(f"{v:5.2f}" for v in c) + f"   (seed sd <= {csd.max():.2f})")
        print(f"       rel err " + " ".join(f"{v:5.2f}" for v in e) + f"   (seed sd <= {esd.max():.2f})")


if __name__ == "__main__":
    main()
