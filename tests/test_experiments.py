"""rnnviz.experiments: the widgets' measurements, used without any widget."""
import subprocess
import sys

import numpy as np
import pytest

import rnnviz
from rnnviz import experiments as E


def test_importable_and_usable_without_ipywidgets_or_matplotlib():
    code = (
        "import sys\n"
        "sys.modules['ipywidgets'] = None\n"     # any import of it now raises ImportError
        "sys.modules['matplotlib'] = None\n"
        "from rnnviz import experiments as E\n"
        "sm, xs, ts = E.model_and_data(None, None, None, None, who='lesson', n_steps=6)\n"
        "snaps = E.run_truncated(sm, xs, ts, bprop_len=3)\n"
        "print(len(snaps), snaps[-1]['cuts'])\n"
        "assert 'ipywidgets' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["6", "[2]"]


def test_full_bptt_compared_with_itself_and_truncated():
    sm, xs, ts = E.model_and_data(None, None, None, None, who="lesson", n_steps=6)
    names, cos, err = E.compare_truncation(sm, xs, ts, [1, 6])
    assert "/predictor/mid/lateral/W" in names
    assert np.allclose(cos[:, 1], 1.0) and np.allclose(err[:, 1], 0.0, atol=1e-6)
    k = names.index("/predictor/mid/lateral/W")
    assert err[k, 0] > 0.05     # bprop_len=1 never sees the recurrent weight's long paths


def test_run_truncated_frees_the_cut_steps():
    sm, xs, ts = E.model_and_data(None, None, None, None, who="lesson", n_steps=8)
    snaps = E.run_truncated(sm, xs, ts, bprop_len=4)
    after = snaps[5]       # forward of step 5: steps 0..3 were cut and freed, 4 and 5 alive
    assert after["cuts"] == [3]
    assert list(after["live_per_step"][:4]) == [0, 0, 0, 0] and all(after["live_per_step"][4:6] > 0)


def test_bprop_len_is_checked_with_the_trainers_message():
    sm, xs, ts = E.model_and_data(None, None, None, None, who="lesson", n_steps=4)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="run_truncated: bprop_len must be a positive integer"):
            E.run_truncated(sm, xs, ts, bad)


def test_bad_model_is_an_input_error():
    with pytest.raises(E.InputError, match="no stateful recurrent link"):
        E.StepModel(rnnviz.links.Linear(3, 4), who="lesson")


def test_protocol_data_and_model_are_the_default_comparison():
    xs, ts = E.protocol_data(0)
    assert xs.shape == ts.shape == (16, 32) and xs.dtype == np.int32
    assert (ts[:4] == -1).all() and np.array_equal(ts[4:], xs[:-4])     # delayed recall, lag 4
    m1, m2 = E.protocol_model(0), E.protocol_model(0)
    assert all(np.array_equal(a.array, b.array) for a, b in zip(m1.params(), m2.params()))
    state = np.random.get_state()[1].copy()
    E.protocol_model(5)
    assert np.array_equal(np.random.get_state()[1], state)             # the global seed is left alone


def test_measure_table_is_the_protocol_over_seeds():
    table = E.measure_table((1.0,), seeds=(0,), bprop_lens=[1, 16])
    cos, err, _, _ = table[1.0]
    assert cos[0] < cos[1] <= 1.0 and err[0] > err[1] >= 0.0
