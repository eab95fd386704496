"""The deferred forward (core/lazy.py): the output layer of a window computed in one product gives
the eager forward's values, graph and gradients, and runs whenever anything needs a value."""
import gc

import numpy as np
import pytest

import rnnviz
import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import Variable
from rnnviz.core import lazy
from rnnviz.core.deferred import rows_view


@pytest.fixture(autouse=True)
def _small_products_wait_too(monkeypatch):
    """The tests' models are small: let their products wait as a language model's would."""
    monkeypatch.setattr(lazy, "MIN_WEIGHT_SIZE", 0)
    monkeypatch.setattr(lazy, "MIN_STEP_WEIGHT_SIZE", 0)
    monkeypatch.setattr(lazy, "_alone", {})


def _computed(array):
    """A Variable made by a function (only a graph's own values wait: a leaf is the caller's)."""
    return Variable(array) + 0.0


def _model(dtype=np.float64, seed=0):
    np.random.seed(seed)
    model = L.Classifier(L.RNNLM(40, 6, 5))
    model.compute_accuracy = False
    for p in model.params():
        p.array = p.array.astype(dtype)
    return model


def _windows(n, T=6, B=3, V=40, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, V, (T, B)).astype(np.int32), rng.integers(0, V, (T, B)).astype(np.int32))
            for _ in range(n)]


def _train(batched, retain=False):
    """The tutorial's loop, three windows with unchain_backward; losses, gradients and (with
    ``retain``) the per-step logits' gradients of the last window."""
    model = _model()
    out = []
    with rnnviz.using_config("batched_backward", batched):
        for xs, ts in _windows(3):
            loss = 0
            for x, t in zip(xs, ts):
                loss += model(x, t)
            model.cleargrads()
            loss.backward(retain_grad=retain)
            logits_grad = model.y.grad
            loss.unchain_backward()
            out.append((float(loss.array), {n: p.grad.copy() for n, p in model.namedparams()},
                        None if logits_grad is None else logits_grad.copy()))
            for p in model.params():          # a plain SGD step, so the windows differ
                p.array -= 0.5 * p.grad
    return out


def test_the_window_loop_gives_the_plain_engines_losses_and_gradients_in_float64():
    for (la, ga, ya), (lb, gb, yb) in zip(_train(True, retain=True), _train(False, retain=True)):
        assert la == pytest.approx(lb, rel=1e-13)
        for name in ga:
            np.testing.assert_allclose(ga[name], gb[name], rtol=1e-10, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(ya, yb, rtol=1e-12, atol=1e-15)


def test_the_output_layer_waits_and_runs_as_one_product(monkeypatch):
    model = _model()
    (xs, ts), = _windows(1, T=5)
    calls = []
    real = F.connection.Linear.forward_many

    def spy(nodes, inputs):
        calls.append(len(nodes))
        return real(nodes, inputs)

    monkeypatch.setattr(F.connection.Linear, "forward_many", staticmethod(spy))
    loss = 0
    for x, t in zip(xs, ts):
        loss += model(x, t)
    assert lazy.is_pending(loss) and calls == []          # nothing computed yet
    value = float(loss.array)                              # reading it runs the queue
    assert calls == [5] and not lazy.is_pending(loss)
    with rnnviz.using_config("batched_backward", False):   # the eager forward, same value
        model2 = _model()
        eager = sum(float(model2(x, t).array) for x, t in zip(xs, ts))
    assert value == pytest.approx(eager, rel=1e-13)


def test_a_pending_value_is_computed_when_read_by_any_other_function():
    x = _computed(np.random.default_rng(0).standard_normal((4, 3)))
    W = Variable(np.random.default_rng(1).standard_normal((5, 3)))
    y = F.linear(x, W)
    assert lazy.is_pending(y)
    z = F.tanh(y)                                          # not a function that waits
    assert not lazy.is_pending(y)
    np.testing.assert_allclose(z.array, np.tanh(x.array @ W.array.T))
    assert y.shape == (4, 5) and y.creator is not None


def test_no_deferral_without_the_graph_or_with_the_plain_engine():
    x = _computed(np.ones((2, 3)))
    W = Variable(np.ones((4, 3)))
    with rnnviz.no_backprop_mode():
        assert not lazy.is_pending(F.linear(x, W))
    with rnnviz.using_config("batched_backward", False):
        assert not lazy.is_pending(F.linear(x, W))


def test_misuse_is_reported_at_the_call_not_later():
    x = _computed(np.ones((2, 3)))
    W = Variable(np.ones((4, 3)))
    y = F.linear(x, W)
    with pytest.raises(ValueError, match="labels must lie in"):
        F.softmax_cross_entropy(y, np.array([0, 9], dtype=np.int32))
    with pytest.raises(ValueError, match="linear"):
        F.linear(x, Variable(np.ones((4, 2))))


def test_unchain_backward_frees_a_window_that_was_never_read():
    model = _model()
    (xs, ts), = _windows(1)
    gc.collect()
    before = rnnviz.live_function_node_count()
    loss = 0
    for x, t in zip(xs, ts):
        loss += model(x, t)
    assert rnnviz.live_function_node_count() > before
    loss.unchain_backward()                                # runs the queue, then cuts
    model.predictor.reset_state()
    model.y = model.loss = None
    gc.collect()
    assert rnnviz.live_function_node_count() <= before
    assert np.isfinite(float(loss.array))


def test_a_node_still_waiting_runs_when_its_backward_is_called_directly():
    x = _computed(np.ones((2, 3)))
    W = Variable(np.ones((4, 3)))
    y = F.linear(x, W)
    with rnnviz.using_config("batched_backward", False):
        gx, gW = y.creator.backward(np.ones((2, 4)))
    np.testing.assert_allclose(gW, np.ones((4, 3)) * 2)


def test_consecutive_row_blocks_are_seen_as_one_array_without_a_copy():
    a = np.arange(24.0).reshape(6, 4).copy()       # an array of its own, as a product gives
    view = rows_view([a[0:2], a[2:3], a[3:6]])
    assert view is not None and view.base is a and view.shape == (6, 4)
    assert rows_view([a[2:4], a[0:2]]) is None        # out of order
    assert rows_view([a[0:2], a[3:5]]) is None        # a gap
    assert rows_view([a[0:2], np.ones((2, 4))]) is None


def test_losses_over_different_vocabularies_wait_in_different_groups():
    rng = np.random.default_rng(0)
    h = _computed(rng.standard_normal((3, 4)))
    W1, W2 = Variable(rng.standard_normal((7, 4))), Variable(rng.standard_normal((5, 4)))
    t = np.array([1, 2, 3], dtype=np.int32)
    loss = F.softmax_cross_entropy(F.linear(h, W1), t) + F.softmax_cross_entropy(F.linear(h, W2), t)
    assert lazy.is_pending(loss)
    with rnnviz.using_config("batched_backward", False):
        eager = F.softmax_cross_entropy(F.linear(h, W1), t) + F.softmax_cross_entropy(F.linear(h, W2), t)
    assert float(loss.array) == pytest.approx(float(eager.array), rel=1e-13)


def test_the_classifiers_accuracy_waits_with_the_logits_and_equals_the_eager_one():
    def run():
        np.random.seed(0)
        model = L.Classifier(L.RNNLM(30, 5, 4))            # compute_accuracy: on, as in seed 003
        rng = np.random.default_rng(2)
        loss, accs = 0, []
        for _ in range(6):
            x = rng.integers(0, 30, 5).astype(np.int32)
            loss += model(x, x)
            accs.append(model.accuracy)
        return loss, accs

    loss, accs = run()
    assert all(lazy.is_pending(a) for a in accs)           # the loop did not force the logits
    values = [float(a.array) for a in accs]
    with rnnviz.using_config("batched_backward", False):
        eager_loss, eager_accs = run()
    assert values == [float(a.array) for a in eager_accs] and any(values)
    assert float(loss.array) == pytest.approx(float(eager_loss.array), rel=1e-6)
    assert accs[0].creator is None and not accs[0].requires_grad


def test_a_weight_whose_product_is_read_at_once_stops_waiting(monkeypatch):
    x = _computed(np.ones((2, 3)))
    W = Variable(np.ones((4, 3)))
    F.tanh(F.linear(x, W))                                 # waited, then read alone
    assert not lazy.is_pending(F.linear(x, W))             # so the next ones run at once
    monkeypatch.setattr(lazy, "MIN_WEIGHT_SIZE", 10 ** 9)
    assert not lazy.is_pending(F.linear(x, Variable(np.ones((4, 3)))))


def test_a_leaf_input_does_not_wait_the_caller_may_write_into_it():
    buffer = np.ones((2, 3))
    y = F.linear(Variable(buffer), Variable(np.ones((4, 3))))
    assert not lazy.is_pending(y)
    buffer[:] = 5.0                                        # the caller reuses its array
    np.testing.assert_allclose(y.array, np.full((2, 4), 3.0))


def test_an_update_runs_the_queue_before_it_changes_the_weights():
    model = _model()
    (xs, ts), = _windows(1)
    expected = float(_model()(xs[0], ts[0]).array)        # the same weights, read at once
    loss = model(xs[0], ts[0])
    assert lazy.is_pending(loss)
    rng = np.random.default_rng(3)
    for p in model.params():                           # not a constant: softmax ignores a shift
        p.grad = rng.standard_normal(p.shape)
    rnnviz.optimizers.SGD(lr=10.0).setup(model).update()   # changes every weight in place
    assert float(loss.array) == pytest.approx(expected, rel=1e-13)


# -- the recurrent steps wait too: their input products of a window as one product -------------------

def _spy_prepares(monkeypatch):
    calls = []
    real = F.recurrent.LSTMStep.prepare_many

    def spy(nodes):
        calls.append(len(nodes))
        return real(nodes)

    monkeypatch.setattr(F.recurrent.LSTMStep, "prepare_many", staticmethod(spy))
    return calls


def test_the_lstm_steps_wait_and_their_input_products_run_as_one(monkeypatch):
    calls = _spy_prepares(monkeypatch)
    model = _model()
    (xs, ts), = _windows(1, T=5)
    loss = 0
    for x, t in zip(xs, ts):
        loss += model(x, t)
    assert calls == []
    assert lazy.is_pending(loss)
    loss.array                                             # the first step ran at once (its state
    assert calls == [4]                                    # is a leaf); the other four as one product


def test_a_state_read_at_every_step_stops_the_steps_waiting(monkeypatch):
    calls = _spy_prepares(monkeypatch)
    lstm = L.LSTM(3, 4)
    rng = np.random.default_rng(0)
    hs = []
    for _ in range(6):                                     # an animation reads h after every step
        h = lstm(_computed(rng.standard_normal((2, 3)).astype(np.float32)))
        hs.append(h.array.copy())
    assert calls == [1]              # step 1 ran at once (a leaf state), step 2 waited alone: no more
    lstm2 = L.LSTM(3, 4)
    for (_, a), (_, b) in zip(sorted(lstm2.namedparams()), sorted(lstm.namedparams())):
        a.array = b.array.copy()
    rng = np.random.default_rng(0)
    with rnnviz.using_config("batched_backward", False):
        eager = [lstm2(_computed(rng.standard_normal((2, 3)).astype(np.float32))).array for _ in range(6)]
    for a, b in zip(hs, eager):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_two_stacked_lstms_and_dropout_give_the_plain_engines_gradients():
    def run(batched):
        np.random.seed(4)
        model = L.Classifier(L.RNNLM(30, 6, 5, n_layers=2))
        model.compute_accuracy = False
        for p in model.params():
            p.array = p.array.astype(np.float64)
        grads = []
        with rnnviz.using_config("batched_backward", batched):
            for xs, ts in _windows(2, T=5, V=30):
                loss = 0
                for x, t in zip(xs, ts):
                    loss += model(x, t)
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                grads.append((float(loss.array), {n: p.grad.copy() for n, p in model.namedparams()}))
        return grads

    for (la, ga), (lb, gb) in zip(run(True), run(False)):
        assert la == pytest.approx(lb, rel=1e-13)
        for name in ga:
            np.testing.assert_allclose(ga[name], gb[name], rtol=1e-10, atol=1e-13, err_msg=name)


def test_a_state_that_is_a_leaf_does_not_wait():
    lstm = L.LSTM(3, 4)
    c0, h0 = np.zeros((2, 4)), np.zeros((2, 4))
    lstm.set_state(c=c0.astype(np.float32), h=h0.astype(np.float32))   # the caller's arrays
    h = lstm(_computed(np.ones((2, 3), dtype=np.float32)))
    assert not lazy.is_pending(h)


def test_the_shape_of_a_waiting_value_is_known_without_computing_it():
    x = _computed(np.ones((2, 3)))
    y = F.linear(x, Variable(np.ones((4, 3))))
    assert lazy.is_pending(y)
    assert (y.shape, y.dtype, y.ndim, y.size, len(y)) == ((2, 4), np.float64, 2, 8, 2)
    assert lazy.is_pending(y)                              # still waiting
    np.testing.assert_allclose(y.array, np.full((2, 4), 3.0))


# -- the losses' gradients of a window share one array, without a copy ----------------------------------

def test_a_second_backward_does_not_overwrite_the_gradients_the_first_gave():
    model = _model()
    (xs, ts), = _windows(1, T=4)
    loss = 0
    logits = []
    for x, t in zip(xs, ts):
        loss += model(x, t)
        logits.append(model.y)
    loss.backward(retain_grad=True)
    first = [y.grad for y in logits]
    kept = [g.copy() for g in first]
    model.cleargrads()
    (loss * 3.0).backward(retain_grad=True)                # the same graph, another pass
    for g, k, y in zip(first, kept, logits):
        np.testing.assert_array_equal(g, k)                # the first pass's arrays are untouched
        np.testing.assert_allclose(y.grad, 3.0 * k, rtol=1e-12)


def test_stack_rows_takes_consecutive_row_blocks_without_a_copy():
    from rnnviz.core.deferred import stack_rows
    a = np.arange(24.0).reshape(6, 4).copy()
    blocks = [a[0:2], a[2:4], a[4:6]]
    stacked = stack_rows(blocks)
    assert np.shares_memory(stacked, a)
    np.testing.assert_array_equal(stacked, a)
    scattered = stack_rows([a[4:6], a[0:2]])               # not consecutive: a copy
    assert not np.shares_memory(scattered, a)
    np.testing.assert_array_equal(scattered, np.concatenate([a[4:6], a[0:2]]))


# -- rnnviz.core.memory: freed blocks come back to the program, not fresh from the system --------------

_FAULTS_SCRIPT = """
import resource, numpy as np, rnnviz
def window():                 # what a training window does: new large arrays, all freed at its end
    arrays = [np.ones(3 << 18, dtype=np.float32) for _ in range(3)]   # 3 MB each, written
    del arrays
for _ in range(3):
    window()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    window()
print(rnnviz.core.memory.enabled, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_window(malloc):
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    if malloc:
        env["RNNVIZ_MALLOC"] = malloc
    out = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", float(out[1])


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_arrays_are_reused_instead_of_faulting_in_fresh_pages():
    on, kept = _faults_per_window(None)
    off, fresh = _faults_per_window("system")
    assert on and not off
    assert fresh > 1000 and kept < 10, (kept, fresh)    # measured: 0 against 1,504 (2,304 pages written)


def test_the_losses_backward_runs_once_for_the_window_and_node_by_node_for_scattered_rows(monkeypatch):
    from rnnviz.functions.loss import SoftmaxCrossEntropy
    calls = []
    real = SoftmaxCrossEntropy.backward_many

    def spy(nodes, gys):
        out = real(nodes, gys)
        calls.append((len(nodes), out is not None))
        return out

    monkeypatch.setattr(SoftmaxCrossEntropy, "backward_many", staticmethod(spy))
    rng = np.random.default_rng(5)
    h = _computed(rng.standard_normal((12, 4)))
    W = Variable(rng.standard_normal((7, 4)))
    t = rng.integers(0, 7, 12).astype(np.int32)
    t[3] = -1                                              # an ignored label too

    def losses():
        return [F.softmax_cross_entropy(F.linear(h[3 * k:3 * k + 3], W), t[3 * k:3 * k + 3]) for k in range(4)]

    for pick, expected in (([0, 1, 2, 3], [(4, True)]), ([0, 2, 3], [(3, False)])):
        calls.clear()
        W.cleargrad()
        ls = losses()
        root = ls[pick[0]]
        for k in pick[1:]:
            root = root + ls[k] * float(k + 1)             # each loss its own weight
        root.backward()
        assert calls == expected
        got = W.grad.copy()
        W.cleargrad()
        with rnnviz.using_config("batched_backward", False):
            ls = losses()
            root = ls[pick[0]]
            for k in pick[1:]:
                root = root + ls[k] * float(k + 1)
            root.backward()
        np.testing.assert_allclose(got, W.grad, rtol=1e-12, atol=1e-15)


def test_a_long_chain_of_waiting_products_runs_in_a_bounded_number_of_rounds(monkeypatch):
    rounds = []
    real = lazy._run_in_order
    monkeypatch.setattr(lazy, "_run_in_order", lambda todo: rounds.append(len(todo)) or real(todo))
    rng = np.random.default_rng(6)
    W = Variable(rng.standard_normal((4, 4)) * 0.5)
    h0 = rng.standard_normal((2, 4))
    h = _computed(h0)
    for _ in range(300):                                   # each product needs the one before
        h = F.linear(h, W)
    assert lazy.is_pending(h)
    expected = h0
    for _ in range(300):
        expected = expected @ W.array.T
    np.testing.assert_allclose(h.array, expected, rtol=1e-10)
    assert len(rounds) <= 10                               # not one round per product (300)
