"""What a training run leaves to read: the History's summary line, and progress bars whose final
line a saved notebook keeps (rnnviz.training.progress), checked in a real kernel with nbclient."""
import io

import nbformat
import pytest

from rnnviz.training import History
from rnnviz.training.progress import tqdm


def test_history_repr_is_short_and_says_what_it_holds():
    h = History()
    assert repr(h) == "History(0 logged updates)"
    h.log_train(1, 0.01, 5.58123456)
    h.log_train(2, 0.02, 5.4)
    h.log_valid(2, 0.02, 263.7305128735864)
    assert repr(h) == ("History(2 logged updates; loss 5.400 (perplexity 221.4) at update 2; "
                       "val perplexity 263.7 at update 2)")
    assert h.valid["val_perplexity"] == [263.7305128735864]   # the lists keep every digit


def test_outside_a_notebook_it_is_tqdm_auto():
    out = io.StringIO()
    for _ in tqdm(range(3), desc="terminal", file=out):
        pass
    assert "terminal: 100%" in out.getvalue() and "3/3" in out.getvalue()


CELLS = [
    """
from rnnviz.training.progress import tqdm
for _ in tqdm(range(7), desc="loop"):
    pass
""",
    """
try:
    for i in tqdm(range(9), desc="broken"):
        if i == 4:
            raise RuntimeError("stop")
except RuntimeError:
    pass
""",
    """
for _ in tqdm(range(5), desc="gone", leave=False):
    pass
""",
    """
import numpy as np
from rnnviz import links as L, optimizers
from rnnviz.training import LMTrainer
np.random.seed(0)
words = (np.arange(400) % 13).astype(np.int32)
lm = L.Classifier(L.RNNLM(13, 8, 8))
trainer = LMTrainer(lm, words, words[:60], batch_size=4, bprop_len=5, optimizer=optimizers.SGD(lr=1.0))
trainer.run(updates=6, eval_every=3)
""",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from nbclient import NotebookClient

    home = tmp_path_factory.mktemp("kernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source.strip()) for source in CELLS]
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    import os
    env = dict(os.environ, IPYTHONDIR=str(home / "ipython"), MPLCONFIGDIR=str(home / "mpl"))
    client.execute(env=env)
    return nb


def _bar_texts(cell):
    return [out["data"].get("text/plain", "") for out in cell.outputs
            if out.get("output_type") == "display_data"]


def test_a_saved_notebook_keeps_the_final_line(executed):
    (text,) = _bar_texts(executed.cells[0])
    assert text.startswith("loop: 100%") and "7/7" in text, text
    outputs = executed.cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]   # still the live widget


def test_a_bar_stopped_by_an_error_keeps_where_it_stopped(executed):
    (text,) = _bar_texts(executed.cells[1])
    assert "4/9" in text and "100%" not in text, text


def test_a_bar_that_does_not_stay_leaves_nothing_to_read(executed):
    assert _bar_texts(executed.cells[2]) == [""]


def test_the_trainer_bar_ends_with_its_last_values(executed):
    (text,) = _bar_texts(executed.cells[3])
    assert text.startswith("training: 100%") and "6/6" in text and "val_ppl=" in text, text


# -- a checkpoint holds NumPy's random state, so a run with dropout resumes exactly ---------------
def _dropout_lm():
    import numpy as np
    from rnnviz import links as L
    np.random.seed(0)
    lm = L.Classifier(L.RNNLM(13, 8, 8, n_layers=2, dropout=0.5))
    lm.compute_accuracy = False
    return lm


def _words():
    import numpy as np
    return (np.arange(600) % 13).astype(np.int32)


def test_lmtrainer_resumes_a_dropout_run_exactly(tmp_path):
    import numpy as np
    from rnnviz import optimizers
    from rnnviz.training import LMTrainer

    def trainer():
        return LMTrainer(_dropout_lm(), _words(), batch_size=4, bprop_len=5, optimizer=optimizers.SGD(lr=1.0))

    first = trainer()
    first.run(updates=3, progress=False)
    first.save(tmp_path / "lm.npz")
    first.run(updates=3, progress=False)
    resumed = trainer()             # seeds NumPy again: without the stored state, other masks
    resumed.load(tmp_path / "lm.npz")
    resumed.run(updates=3, progress=False)
    for (_, p), (_, q) in zip(first.model.namedparams(), resumed.model.namedparams()):
        assert np.array_equal(p.array, q.array)
    assert resumed.history.train["loss"] == first.history.train["loss"]


def test_a_trainer_snapshot_resumes_a_dropout_run_exactly(tmp_path):
    import numpy as np
    from rnnviz import optimizers, serializers, training
    from rnnviz.iterators import ParallelSequentialIterator
    from rnnviz.training import BPTTUpdater, extensions

    def build(out):
        lm = _dropout_lm()
        opt = optimizers.SGD(lr=1.0).setup(lm)
        updater = BPTTUpdater(ParallelSequentialIterator(_words(), 4), opt, 5)
        t = training.Trainer(updater, (6, "iteration"), out=str(out))
        t.extend(extensions.snapshot(), trigger=(3, "iteration"))
        return t, lm

    whole, lm = build(tmp_path / "a")
    whole.run()
    resumed, lm2 = build(tmp_path / "b")
    serializers.load_npz(tmp_path / "a" / "snapshot_iter_3", resumed)
    resumed.run()
    for (_, p), (_, q) in zip(lm.namedparams(), lm2.namedparams()):
        assert np.array_equal(p.array, q.array)


def test_an_older_checkpoint_without_the_random_state_still_loads(tmp_path):
    import numpy as np
    from rnnviz import optimizers
    from rnnviz.training import LMTrainer

    t = LMTrainer(_dropout_lm(), _words(), batch_size=4, bprop_len=5, optimizer=optimizers.SGD(lr=1.0))
    t.run(updates=2, progress=False)
    t.save(tmp_path / "lm.npz")
    with np.load(tmp_path / "lm.npz") as f:
        old = {k: f[k] for k in f.files if not k.startswith("random/")}
    np.savez(tmp_path / "old.npz", **old)
    fresh = LMTrainer(_dropout_lm(), _words(), batch_size=4, bprop_len=5, optimizer=optimizers.SGD(lr=1.0))
    before = np.random.get_state()[1].copy()
    fresh.load(tmp_path / "old.npz")
    assert fresh.updater.iteration == 2
    assert np.array_equal(np.random.get_state()[1], before)   # left alone
