"""The truncation protocol behind BPTTComparison() and lesson 04 (rnnviz.experiments.truncation).

* the window gradients it sums are the real truncated-BPTT loop's (unchain_backward), at any offset;
* the default comparison, at every W_h scale it offers, gets closer to the full gradient as
  bprop_len grows: mean cosine non-decreasing, mean relative error non-increasing, within a small
  slack, for the whole update and for each parameter;
* the claims of lessons 03 and 04 fail when a quoted number moves by 20%.
"""
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import numpy as np
import pytest

from rnnviz import experiments as E
from rnnviz.experiments import truncation as TR

REPO = Path(__file__).resolve().parents[1]


def _real_loop(sm, xs, ts, cuts):
    """Truncated BPTT as a learner writes it: back-propagate and unchain before each step in cuts."""
    sm.reset()
    sm.model.cleargrads()
    loss = 0
    for t in range(len(xs)):
        if t in cuts and not isinstance(loss, int):
            loss.backward()
            loss.unchain_backward()
            loss = 0
        loss = loss + sm.loss(xs[t], ts[t])
    loss.backward()
    loss.unchain_backward()
    return np.concatenate([np.zeros(p.array.size) if p.grad is None else np.asarray(p.grad, float).ravel()
                           for _, p in sm.model.namedparams()])


def test_windows_and_offsets():
    assert TR.windows(10, 3, 0) == [(0, 2), (3, 5), (6, 8), (9, 9)]
    assert TR.windows(10, 3, 2) == [(0, 1), (2, 4), (5, 7), (8, 9)]
    assert TR.windows(10, 10, 0) == [(0, 9)]
    assert TR.window_offsets(5) == [0, 1, 2, 3, 4]
    assert TR.window_offsets(16, 4) == [0, 4, 8, 12]


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_window_gradients_are_the_real_loops(cell):
    xs, ts = E.protocol_data(3, steps=9, batch=4)
    sm = E.StepModel(E.protocol_model(3, cell=cell))
    needed = {(0, 8)}
    for b, o in ((3, 0), (3, 2), (4, 1)):
        needed.update(TR.windows(9, b, o))
    names, sizes, grads, norms = TR.window_gradients(sm, xs, ts, needed, flow=True)
    for b, o in ((3, 0), (3, 2), (4, 1)):
        cuts = {s for s, _ in TR.windows(9, b, o)} - {0}
        ours = sum(grads[w] for w in TR.windows(9, b, o))
        real = _real_loop(sm, xs, ts, cuts)
        assert np.allclose(ours, real, rtol=1e-4, atol=1e-6), (b, o)
    assert np.allclose(grads[(0, 8)], _real_loop(sm, xs, ts, set()), rtol=1e-4, atol=1e-6)
    # offset 0 is also what the widget's run_truncated does
    ref = E.truncated_grads(sm, xs, ts, 3)
    flat = np.concatenate([np.zeros(s) if ref[n] is None else ref[n].ravel() for n, s in zip(names, sizes)])
    assert np.allclose(sum(grads[w] for w in TR.windows(9, 3, 0)), flat, rtol=1e-4, atol=1e-6)


def test_the_full_gradient_is_not_negligible():
    xs, ts = E.protocol_data()
    sm = E.StepModel(E.protocol_model())
    r = TR.compare_truncation_averaged(sm, xs, ts, [1, 16], flow=False)
    assert r["full_norm"][-1] > 0.5      # the demo model's was ~1e-2: truncation compared noise


@pytest.fixture(scope="module")
def default():
    from rnnviz.widgets import BPTTComparison
    w = BPTTComparison()
    assert w.ready, w.message.value
    return w


def test_default_comparison_improves_with_bprop_len_at_every_scale(default):
    assert default.scales == (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
    assert default.bprop_lens == list(range(1, 17))
    for s in default.scales:
        m = default.measurement(s)
        cos, err = m["cos"], m["err"]
        # the whole update: small slack
        assert np.all(np.diff(cos[-1]) >= -0.01), (s, np.round(cos[-1], 3))
        assert np.all(np.diff(err[-1]) <= 0.01), (s, np.round(err[-1], 3))
        # every parameter: a little more
        assert np.all(np.diff(cos, axis=1) >= -0.03), (s, m["names"])
        assert np.all(np.diff(err, axis=1) <= 0.03), (s, m["names"])
        # every offset of every bprop_len was averaged
        assert all(m["offsets"][b] == list(range(b)) for b in default.bprop_lens)


def test_default_shows_what_lesson_04_asks_for(default):
    assert default.bprop_slider.value == 3 and default.scale_slider.value == 1.0
    overlay = default.flow_view.overlay.get_paths()
    assert len(overlay) > 0                         # the pairs bprop_len 3 drops are greyed
    assert "placements of the cuts" in default.title.get_text()


def _mine():
    sys.path.insert(0, str(REPO / "course" / "_build"))
    import claims as C
    return C, [c for c in C.load_all() if c.lesson in ("03", "04")]


def test_claims_fail_when_a_number_moves_by_a_fifth():
    C, claims = _mine()
    assert claims
    for claim in claims:
        if not claim.names:
            continue
        (cid, m), = C.find(claim, C.markdown_cells(C.lesson_path(claim.lesson)))
        measured = [claim.measure(seed) for seed in claim.seeds]
        for name in claim.names:
            quoted = C.parse_number(m[name])
            assert all(claim.within(name, quoted, float(v[name])) for v in measured), (claim.name, name)
            for factor in (0.8, 1.2):
                assert not all(claim.within(name, quoted * factor, float(v[name])) for v in measured), \
                    (claim.name, name, factor)
