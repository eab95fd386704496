"""Misuse of the training loop and the command line (reproductions 1, 2, 3, 6 and 10 of issue 8):
loads that check everything before changing anything, checkpoint paths checked before training,
Ctrl-C that saves and says how to resume, and arguments refused when they make no sense."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rnnviz.links as L
from rnnviz import optimizers, serializers
from rnnviz.train import main
from rnnviz.training import LMTrainer, evaluate_perplexity
from rnnviz.training.trainer import TrainingInterrupted

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 40
TRAIN = (np.arange(600) * 7 % VOCAB).astype(np.int32)


def _lm(vocab=VOCAB, hidden=8, seed=0):
    np.random.seed(seed)
    model = L.Classifier(L.RNNLM(vocab, 6, hidden))
    model.compute_accuracy = False
    return model


def _params(model):
    return {n: p.array.copy() for n, p in model.namedparams()}


def _assert_same(model, before):
    for n, p in model.namedparams():
        np.testing.assert_array_equal(p.array, before[n], err_msg=n)


# -- 1. a failing load changes nothing -------------------------------------------------------------

def test_load_with_another_batch_size_fails_first_and_changes_nothing(tmp_path):
    """Reproduction 1: the model's weights and the optimizer's state were replaced, then the load
    failed on the iterator's epoch."""
    a = LMTrainer(_lm(seed=1), TRAIN, batch_size=4, bprop_len=5, optimizer=optimizers.MomentumSGD(lr=0.1))
    a.run(updates=40, progress=False)
    a.save(tmp_path / "ck.npz")
    b = LMTrainer(_lm(seed=2), TRAIN, batch_size=5, bprop_len=5, optimizer=optimizers.MomentumSGD(lr=0.1))
    b.run(updates=1, progress=False)
    before, states = _params(b.model), {k: v["v"].copy() for k, v in b.optimizer._states.items()}
    h, iteration = b.model.predictor.mid.h, b.iterator.iteration
    with pytest.raises(ValueError) as info:
        b.load(tmp_path / "ck.npz")
    msg = str(info.value)
    for words in ("LMTrainer.load", "ck.npz", "nothing was changed", "batch_size=4", "batch_size=5"):
        assert words in msg
    _assert_same(b.model, before)
    for k, v in b.optimizer._states.items():
        np.testing.assert_array_equal(v["v"], states[k])
    assert b.model.predictor.mid.h is h and b.iterator.iteration == iteration
    assert b.updater.iteration == 1 and len(b.history.train["loss"]) == 1


def test_load_with_another_optimizer_fails_and_changes_nothing(tmp_path):
    a = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5, optimizer=optimizers.SGD(lr=0.1))
    a.run(updates=2, progress=False)
    a.save(tmp_path / "ck.npz")
    b = LMTrainer(_lm(seed=3), TRAIN, batch_size=4, bprop_len=5, optimizer=optimizers.Adam())
    before = _params(b.model)
    with pytest.raises(ValueError, match=r"LMTrainer.load: .*no Adam state \(m, v\) .*another optimizer"):
        b.load(tmp_path / "ck.npz")
    _assert_same(b.model, before)
    assert b.optimizer.t == 0


def test_load_of_a_file_that_is_not_a_checkpoint(tmp_path):
    t = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5)
    before = _params(t.model)
    with pytest.raises(FileNotFoundError, match=r"LMTrainer.load: no file at '.*missing.npz'"):
        t.load(tmp_path / "missing.npz")
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match=r"LMTrainer.load: '.*notes.npz' is not a file written by save_npz"):
        t.load(text)
    serializers.save_npz(tmp_path / "model_only.npz", t.model)  # a model, not a trainer checkpoint
    with pytest.raises(ValueError, match=r"no entry for 'model/predictor/embed/W'"):
        t.load(tmp_path / "model_only.npz")
    _assert_same(t.model, before)


def test_load_of_a_checkpoint_cut_short(tmp_path):
    a = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5)
    a.run(updates=1, progress=False)
    a.save(tmp_path / "ck.npz")
    data = (tmp_path / "ck.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    b = LMTrainer(_lm(seed=5), TRAIN, batch_size=4, bprop_len=5)
    before = _params(b.model)
    with pytest.raises(ValueError, match=r"cut.npz"):
        b.load(tmp_path / "cut.npz")
    _assert_same(b.model, before)


# -- 6. an optimizer set up on another model ---------------------------------------------------------

def test_an_optimizer_set_up_on_another_model_is_refused():
    """Reproduction 6: it trained the other model."""
    other = _lm(seed=1)
    opt = optimizers.SGD(lr=0.1).setup(other)
    with pytest.raises(ValueError) as info:
        LMTrainer(_lm(), TRAIN, bprop_len=5, optimizer=opt)
    assert "LMTrainer" in str(info.value) and "another model" in str(info.value)
    assert "optimizer.setup(model)" in str(info.value)


def test_an_optimizer_set_up_on_this_model_is_used():
    model = _lm()
    opt = optimizers.SGD(lr=0.1).setup(model)
    before = _params(model)
    LMTrainer(model, TRAIN, batch_size=4, bprop_len=5, optimizer=opt).run(updates=1, progress=False)
    assert any(not np.array_equal(p.array, before[n]) for n, p in model.namedparams())


# -- arguments of LMTrainer and evaluate_perplexity --------------------------------------------------

@pytest.mark.parametrize("kwargs, error, words", [
    ({"model": L.RNNLM(VOCAB, 6, 8)}, TypeError, ["LMTrainer", "L.Classifier(model)"]),
    ({"model": "lstm"}, TypeError, ["LMTrainer", "model", "str"]),
    ({"optimizer": optimizers.SGD}, TypeError, ["LMTrainer", "optimizer", "type"]),
    ({"optimizer": "sgd"}, TypeError, ["LMTrainer", "optimizer", "str"]),
    ({"clip": -1}, ValueError, ["LMTrainer", "clip", "-1"]),
    ({"clip": float("nan")}, ValueError, ["LMTrainer", "clip", "nan"]),
    ({"device": "cuda"}, ValueError, ["LMTrainer", "device", "'cuda'"]),
    ({"eval_batch_size": 0}, ValueError, ["LMTrainer", "eval_batch_size", "0"]),
    ({"batch_size": 2.5}, TypeError, ["batch_size", "2.5"]),
    ({"batch_size": 0}, ValueError, ["batch_size", "0"]),
    ({"bprop_len": -3}, ValueError, ["bprop_len", "-3"]),
    ({"train": TRAIN.reshape(30, 20)}, ValueError, ["training data", "1-D", "(30, 20)"]),
    ({"train": TRAIN[:1]}, ValueError, ["training data", "1 word"]),
    ({"valid": TRAIN[:1]}, ValueError, ["validation data", "1 word", "at least 2"]),
    ({"valid": TRAIN.astype(np.float32)}, ValueError, ["validation data", "integer word ids", "float32"]),
])
def test_trainer_arguments_are_checked(kwargs, error, words):
    args = {"model": _lm(), "train": TRAIN, "bprop_len": 5, **kwargs}
    with pytest.raises(error) as info:
        LMTrainer(**args)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("kwargs, words", [
    ({"epochs": -1}, ["LMTrainer.run", "epochs", "-1"]),
    ({"epochs": 0}, ["epochs", "> 0"]),
    ({"epochs": float("nan")}, ["epochs", "nan"]),
    ({"updates": 0}, ["updates", "positive integer", "0"]),
    ({"updates": 2.5}, ["updates", "2.5"]),
    ({"epochs": 1, "updates": 3}, ["epochs or updates, not both"]),
    ({"updates": 1, "eval_every": 0}, ["eval_every", "0"]),
    ({"updates": 1, "log_every": -2}, ["log_every", "-2"]),
    ({"updates": 1, "checkpoint_every": 5}, ["checkpoint_every needs checkpoint"]),
])
def test_run_arguments_are_checked_before_training(kwargs, words):
    t = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5)
    before = _params(t.model)
    with pytest.raises(ValueError) as info:
        t.run(progress=False, **kwargs)
    for word in words:
        assert word in str(info.value)
    _assert_same(t.model, before)
    assert t.updater.iteration == 0


def test_run_with_a_checkpoint_in_a_missing_folder_fails_before_training(tmp_path):
    t = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5)
    with pytest.raises(FileNotFoundError, match=r"LMTrainer.run: cannot write '.*nowhere/ck.npz'.*does not exist"):
        t.run(updates=2, progress=False, checkpoint=tmp_path / "nowhere" / "ck.npz")
    assert t.updater.iteration == 0


def test_a_tiny_epoch_fraction_still_trains_once():
    t = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5)
    t.run(epochs=0.001, progress=False)
    assert t.updater.iteration == 1


def test_evaluate_checks_the_words():
    t = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5)
    with pytest.raises(ValueError, match=r"LMTrainer.evaluate: words holds word ids from 0 to 99.*40 words"):
        t.evaluate(np.arange(100, dtype=np.int32))
    with pytest.raises(ValueError, match="LMTrainer.evaluate: no validation data"):
        t.evaluate()


@pytest.mark.parametrize("kwargs, error, words", [
    ({"words": [1]}, ValueError, ["evaluate_perplexity", "at least 2", "(1,)"]),
    ({"words": np.zeros((4, 5), np.int32)}, ValueError, ["evaluate_perplexity", "(4, 5)"]),
    ({"words": np.linspace(0, 1, 9)}, ValueError, ["evaluate_perplexity", "integer word ids", "float64"]),
    ({"batch_size": 0}, ValueError, ["evaluate_perplexity", "batch_size", "0"]),
    ({"device": "tpu"}, ValueError, ["evaluate_perplexity", "device", "'tpu'"]),
    ({"model": np.zeros(3)}, TypeError, ["evaluate_perplexity", "model", "ndarray"]),
])
def test_evaluate_perplexity_arguments(kwargs, error, words):
    args = {"model": _lm(), "words": TRAIN[:50], **kwargs}
    with pytest.raises(error) as info:
        evaluate_perplexity(**args)
    for word in words:
        assert word in str(info.value)


# -- 3. Ctrl-C inside run ---------------------------------------------------------------------------------

def test_ctrl_c_finishes_the_update_saves_and_says_how_to_continue(tmp_path, monkeypatch):
    # a Python process's own Ctrl-C handler, whatever an earlier test left installed
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_finishes_the_update(tmp_path, monkeypatch)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_finishes_the_update(tmp_path, monkeypatch):
    t = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5)
    real_update = t.updater.update
    calls = []

    def update():
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # arrives mid-update, as a real Ctrl-C would
        return real_update()

    monkeypatch.setattr(t.updater, "update", update)
    ck = tmp_path / "ck.npz"
    with pytest.raises(TrainingInterrupted, match=r"interrupted after update 3.*saved to .*ck.npz.*run\(\) again"):
        t.run(updates=50, progress=False, checkpoint=ck)
    assert t.updater.iteration == 3 and t.iterator.iteration == 15  # the third update completed
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler put back
    resumed = LMTrainer(_lm(seed=9), TRAIN, batch_size=4, bprop_len=5)
    resumed.load(ck)
    assert resumed.updater.iteration == 3
    for (n, p), (_, q) in zip(t.model.namedparams(), resumed.model.namedparams()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=n)


def test_checkpoints_are_saved_at_the_interval(tmp_path, monkeypatch):
    t = LMTrainer(_lm(), TRAIN, batch_size=4, bprop_len=5)
    saved = []
    monkeypatch.setattr(t, "save", lambda path: saved.append(t.updater.iteration))
    t.run(updates=7, progress=False, checkpoint=tmp_path / "ck.npz", checkpoint_every=3)
    assert saved == [3, 6]


# -- the command line ------------------------------------------------------------------------------------

@pytest.fixture
def corpus(tmp_path):
    lines = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 40
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


SMALL = ["--embed", "6", "--hidden", "6", "--batch-size", "4", "--bprop-len", "5", "--no-progress"]


@pytest.mark.parametrize("option, value, words", [
    ("--max-words", "0", ["--max-words", "at least 2", "got 0"]),
    ("--epochs", "-1", ["--epochs", "> 0", "-1"]),
    ("--epochs", "nan", ["--epochs", "nan"]),
    ("--lr", "-1", ["--lr", "> 0", "-1"]),
    ("--lr", "0", ["--lr", "> 0", "got 0"]),
    ("--clip", "-1", ["--clip", ">= 0", "-1"]),
    ("--hidden", "0", ["--hidden", "at least 1", "got 0"]),
    ("--embed", "-5", ["--embed", "-5"]),
    ("--layers", "0", ["--layers", "at least 1"]),
    ("--batch-size", "0", ["--batch-size", "at least 1"]),
    ("--bprop-len", "0", ["--bprop-len", "at least 1"]),
    ("--vocab-size", "1", ["--vocab-size", "at least 2"]),
    ("--checkpoint-every", "0", ["--checkpoint-every", "at least 1"]),
    ("--seed", "-1", ["--seed", "at least 0"]),
])
def test_cli_refuses_nonsense_before_reading_data(corpus, option, value, words, monkeypatch):
    """Reproduction 10: these trained (or printed the untrained perplexity) and exited 0."""
    import rnnviz.train as cli

    monkeypatch.setattr(cli, "load_corpus", lambda args: pytest.fail("read the corpus first"))
    with pytest.raises(SystemExit) as info:
        main(["--corpus", str(corpus), *SMALL, option, value])
    for word in words:
        assert word in str(info.value.code)


def test_cli_batch_larger_than_the_data(corpus):
    with pytest.raises(SystemExit, match=r"batch_size \(50\) is larger than the dataset \(10 words\)"):
        main(["--corpus", str(corpus), *SMALL[:4], "--batch-size", "50", "--max-words", "10", "--no-progress"])


def test_cli_checks_the_checkpoint_path_before_training(corpus, tmp_path, monkeypatch):
    """Reproduction 2: it trained to the end, then failed naming a temporary file; the model was lost."""
    import rnnviz.train as cli

    monkeypatch.setattr(cli, "load_corpus", lambda args: pytest.fail("trained before checking"))
    with pytest.raises(SystemExit) as info:
        main(["--corpus", str(corpus), *SMALL, "--checkpoint", str(tmp_path / "no_such_dir" / "ck.npz")])
    msg = str(info.value.code)
    assert "no_such_dir" in msg and "does not exist" in msg and ".tmp" not in msg
    with pytest.raises(SystemExit, match="is a folder"):
        main(["--corpus", str(corpus), *SMALL, "--checkpoint", str(tmp_path)])


def test_cli_resume_without_a_checkpoint_yet_says_so(corpus, tmp_path, capsys):
    ck = tmp_path / "ck.npz"
    assert main(["--corpus", str(corpus), *SMALL, "--epochs", "0.2", "--checkpoint", str(ck), "--resume"]) == 0
    assert "no checkpoint at" in capsys.readouterr().out and ck.exists()


def test_cli_resume_with_other_options_is_explained(corpus, tmp_path):
    ck = tmp_path / "ck.npz"
    assert main(["--corpus", str(corpus), *SMALL, "--epochs", "0.2", "--checkpoint", str(ck)]) == 0
    with pytest.raises(SystemExit) as info:
        main(["--corpus", str(corpus), *SMALL, "--hidden", "7", "--checkpoint", str(ck), "--resume"])
    msg = str(info.value.code)
    assert "LMTrainer.load" in msg and "nothing was changed" in msg and "options of the run" in msg


def test_cli_ctrl_c_saves_and_prints_the_resume_command(corpus, tmp_path):
    """Reproduction 3: Ctrl-C lost every update and printed a bare KeyboardInterrupt traceback."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "rnnviz.train", "--corpus", str(corpus), *SMALL, "--epochs", "100000"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert "updates per epoch" in proc.stdout.readline()
        time.sleep(0.5)  # some updates
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted after update" in err and "rnnviz-interrupted.npz" in err
    resume = [line for line in err.splitlines() if line.startswith("to continue:")]
    assert resume and "--checkpoint rnnviz-interrupted.npz" in resume[0] and "--resume" in resume[0]
    t = LMTrainer(_lm(vocab=10), np.arange(10, dtype=np.int32), batch_size=4, bprop_len=5)
    store = serializers.npz.read_npz(tmp_path / "rnnviz-interrupted.npz")
    assert int(store["updater/iteration"]) > 0 and "model/predictor/embed/W" in store
    del t
