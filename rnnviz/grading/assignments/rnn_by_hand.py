"""Checks for the RNN-by-hand assignment: each layer against the same computation in rnnviz's autograd."""
from ... import functions as F
from ...core import Variable, backend
from ..checks import check_array


def rnn_step_reference(x, h_prev, Wx, Wh, b, dh_next):
    """h_next = tanh(h_prev Wh + x Wx + b) and the gradients (dx, dh_prev, dWx, dWh, db) for dh_next."""
    vs = [Variable(a) for a in (x, h_prev, Wx, Wh, b)]
    x_, h_, Wx_, Wh_, b_ = vs
    t = F.matmul(h_, Wh_) + F.matmul(x_, Wx_)
    h_next = F.tanh(t + F.broadcast_to(b_, t.shape))
    h_next.grad = dh_next
    h_next.backward()
    return h_next.array, [v.grad for v in vs]


def check_rnn_step(RNN, dev, seed, N, D, H):
    """The learner's ``RNN`` (one step) on random arrays of the given sizes."""
    x, h, Wx, Wh, b, dh = (dev.randn(seed + k, *shape) for k, shape in
                           enumerate([(N, D), (N, H), (D, H), (H, H), (H,), (N, H)]))
    want_h, (want_dx, want_dh, want_dWx, want_dWh, want_db) = rnn_step_reference(x, h, Wx, Wh, b, dh)
    layer = RNN(Wx, Wh, b)
    check_array("RNN.forward: h_next", layer.forward(x, h), want_h, device=dev)
    out = layer.backward(dh)
    assert isinstance(out, tuple) and len(out) == 2, "RNN.backward should return (dx, dh_prev)"
    dx, dh_prev = out
    check_array("RNN.backward: dx", dx, want_dx, device=dev)
    check_array("RNN.backward: dh_prev", dh_prev, want_dh, device=dev)
    check_array("RNN.grads[0] (dWx)", layer.grads[0], want_dWx, device=dev)
    check_array("RNN.grads[1] (dWh)", layer.grads[1], want_dWh, device=dev)
    check_array("RNN.grads[2] (db)", layer.grads[2], want_db, device=dev,
                mistakes={"shape": "db sums dt over the batch axis (axis=0), leaving one value per hidden unit"})


def time_rnn_reference(xs, h0, Wx, Wh, b, dhs):
    """hs and the gradients (dxs, dh0, dWx, dWh, db) for dhs, from the start state h0 taken as a
    constant (as after unchain)."""
    N, T, D = xs.shape
    vs = [Variable(a) for a in (xs, h0, Wx, Wh, b)]
    xs_, h, Wx_, Wh_, b_ = vs
    loss = 0
    hs = []
    for t in range(T):
        u = F.matmul(h, Wh_) + F.matmul(xs_[:, t, :], Wx_)
        h = F.tanh(u + F.broadcast_to(b_, u.shape))
        hs.append(h.array)
        loss = loss + F.sum(h * Variable(dhs[:, t, :]))
    loss.backward()
    return backend.get_array_module(xs).stack(hs, axis=1), [v.grad for v in vs]


def check_time_rnn(TimeRNN, dev, seed, N, T, D, H):
    """The learner's ``TimeRNN``: two calls of T steps each, stateful and not, then backward."""
    xs, Wx, Wh, b, dhs = (dev.randn(seed + k, *shape) for k, shape in
                          enumerate([(N, 2 * T, D), (D, H), (H, H), (H,), (N, 2 * T, H)]))
    xs1, xs2 = xs[:, :T], xs[:, T:]
    steps = {"parts": (1, [f"t={t}" for t in range(T)])}
    carry = ("the state must carry over from the previous call when stateful=True, and start at "
             "zeros when stateful=False")
    later = ("the gradient coming back from later steps is missing: add the dh_prev of step t+1 to "
             "dhs[:, t] before step t's backward")
    shared = ("the weights are shared by all steps: their gradient is the sum over the steps, not "
              "the last (or first) step's alone")
    for stateful in (False, True):
        layer = TimeRNN(Wx, Wh, b, stateful=stateful)
        hs1 = layer.forward(xs1)
        h0 = dev.xp.zeros((N, H))
        want_hs1, _ = time_rnn_reference(xs1, h0, Wx, Wh, b, dhs[:, :T])
        check_array(f"TimeRNN(stateful={stateful}).forward: hs of the first call", hs1, want_hs1,
                    device=dev, **steps)
        start = want_hs1[:, -1] if stateful else h0
        hs2 = layer.forward(xs2)
        want_hs2, grads = time_rnn_reference(xs2, start, Wx, Wh, b, dhs[:, T:])
        check_array(f"TimeRNN(stateful={stateful}).forward: hs of the second call", hs2, want_hs2,
                    device=dev, mistakes={"parts": carry, "other": carry}, **steps)
        want_dxs, want_dh0, want_dWx, want_dWh, want_db = grads
        dxs = layer.backward(dhs[:, T:])
        check_array("TimeRNN.backward: dxs", dxs, want_dxs, device=dev, mistakes={"parts": later}, **steps)
        check_array("TimeRNN.dh (gradient leaving the first step)", layer.dh, want_dh0, device=dev)
        for k, (name, want) in enumerate([("dWx", want_dWx), ("dWh", want_dWh), ("db", want_db)]):
            check_array(f"TimeRNN.grads[{k}] ({name})", layer.grads[k], want, device=dev,
                        mistakes={"other": shared, "zero": shared})


def check_embedding(Embedding, dev, seed, V, D, idx_shape):
    """The learner's ``Embedding`` with ids that repeat, against ``F.embed_id``."""
    W = dev.randn(seed, V, D)
    idx = dev.randint(seed + 1, V, idx_shape)
    dout = dev.randn(seed + 2, *idx_shape, D)
    Wv = Variable(W)
    y = F.embed_id(idx, Wv)
    y.grad = dout
    y.backward()
    layer = Embedding(W)
    check_array("Embedding.forward", layer.forward(idx), y.array, device=dev)
    layer.grads[0][...] = 1.0  # a gradient left from an earlier call must not leak in
    assert layer.backward(dout) is None, "Embedding.backward should return None (ids have no gradient)"
    check_array("Embedding.grads[0] (dW)", layer.grads[0], Wv.grad, device=dev, mistakes={
        "other": "rows of a repeated id must be added, not overwritten: use xp.add.at(dW, idx, dout) "
                 "(dW[idx] = dout and dW[idx] += dout keep one row per id); set dW to 0 first"})
