"""Truncated-BPTT training: perplexity falls, memory stays flat, truncation has a bias,
checkpoints resume exactly, bad input fails clearly."""
import gc
import tracemalloc

import numpy as np
import pytest

import rnnviz as chainer
import rnnviz.links as L
from rnnviz import optimizers
from rnnviz.datasets import get_kjv_words
from rnnviz.iterators import ParallelSequentialIterator
from rnnviz.training import BPTTUpdater, LMTrainer, evaluate_perplexity
from rnnviz.training.recall import train_recall


def _lm(vocab=200, embed=16, hidden=16, seed=0):
    np.random.seed(seed)
    model = L.Classifier(L.RNNLM(vocab, embed, hidden))
    model.compute_accuracy = False
    return model


def test_lm_on_shipped_corpus_beats_the_uniform_baseline():
    vocab = 1000
    train, valid, _ = get_kjv_words(vocab_size=vocab)
    model = _lm(vocab, 64, 64)
    trainer = LMTrainer(model, train[:40000], valid[:4000], batch_size=20, bprop_len=20)
    start = trainer.evaluate()
    assert start > 0.8 * vocab  # an untrained model is about as good as a uniform guess
    history = trainer.run(epochs=1, progress=False)
    final = history.valid["val_perplexity"][-1]
    assert final < vocab / 4, (start, final)
    assert len(history.train["loss"]) == trainer.updates_per_epoch
    assert history.train["loss"][-1] < history.train["loss"][0]


def _run_windows(n_steps, bprop_len, truncate):
    """Train on n_steps words; return (peak live function nodes, peak traced bytes)."""
    np.random.seed(0)
    data = np.random.randint(0, 50, size=4000).astype(np.int32)
    model = _lm(50, 16, 16)
    opt = optimizers.SGD(lr=0.1).setup(model)
    it = ParallelSequentialIterator(data, 4)
    gc.collect()
    base_nodes = chainer.live_function_node_count()
    peak_nodes = 0
    tracemalloc.start()
    loss = 0
    for step in range(1, n_steps + 1):
        x, t = (np.array(a, np.int32) for a in zip(*next(it)))
        loss += model(x, t)
        peak_nodes = max(peak_nodes, chainer.live_function_node_count() - base_nodes)
        if truncate and step % bprop_len == 0:
            model.cleargrads()
            loss.backward()
            loss.unchain_backward()
            opt.update()
            loss = 0
    if not truncate:
        model.cleargrads()
        loss.backward()
        opt.update()
    peak_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak_nodes, peak_bytes


def test_truncated_bptt_memory_is_flat_while_full_bptt_grows():
    short_nodes, short_bytes = _run_windows(40, 10, truncate=True)
    long_nodes, long_bytes = _run_windows(160, 10, truncate=True)
    assert long_nodes <= short_nodes * 1.1 + 2
    assert long_bytes <= short_bytes * 1.3
    full_short_nodes, full_short_bytes = _run_windows(40, 10, truncate=False)
    full_long_nodes, full_long_bytes = _run_windows(160, 10, truncate=False)
    assert full_long_nodes > 3.5 * full_short_nodes
    assert full_long_bytes > 2.5 * full_short_bytes


def test_truncation_bias_on_the_recall_task():
    """Lag 6: a window of 12 steps learns to recall, a window of 3 stays at chance (1/4)."""
    steps = 6000  # the same number of training steps for both
    _, acc_long = train_recall(lag=6, bprop_len=12, updates=steps // 12)
    _, acc_short = train_recall(lag=6, bprop_len=3, updates=steps // 3)
    assert acc_long > 0.9, acc_long
    assert acc_short < 0.35, acc_short


def test_resume_continues_exactly(tmp_path):
    vocab = 60
    rng = np.random.default_rng(0)
    train = rng.integers(0, vocab, 3000).astype(np.int32)

    def make():
        return LMTrainer(_lm(vocab), train, batch_size=5, bprop_len=7,
                         optimizer=optimizers.MomentumSGD(lr=0.05))

    a = make()
    a.run(updates=6, progress=False)
    a.save(tmp_path / "ck.npz")
    a.run(updates=5, progress=False)

    b = make()
    b.load(tmp_path / "ck.npz")
    assert b.updater.iteration == 6 and b.iterator.iteration == a.iterator.iteration - 35
    assert len(b.history.train["loss"]) == 6
    b.run(updates=5, progress=False)
    for (n, p), (_, q) in zip(a.model.namedparams(), b.model.namedparams()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=n)
    assert b.history.train["loss"] == a.history.train["loss"]


def test_mismatched_checkpoint_fails_and_leaves_model_unchanged(tmp_path):
    train = np.arange(500, dtype=np.int32) % 60
    a = LMTrainer(_lm(60, hidden=16), train, batch_size=5, bprop_len=5)
    a.run(updates=2, progress=False)
    a.save(tmp_path / "ck.npz")
    b = LMTrainer(_lm(60, hidden=12), train, batch_size=5, bprop_len=5)
    before = {n: p.array.copy() for n, p in b.model.namedparams()}
    with pytest.raises(ValueError, match=r"predictor/mid/upward/W.*\(64, 16\).*\(48, 16\)"):
        b.load(tmp_path / "ck.npz")
    for n, p in b.model.namedparams():
        np.testing.assert_array_equal(p.array, before[n])
    assert b.updater.iteration == 0


def test_bad_input_is_explained():
    model = _lm(50)
    with pytest.raises(ValueError, match=r"word ids from 0 to 79.*50 words"):
        LMTrainer(model, np.arange(80, dtype=np.int32), bprop_len=5)
    with pytest.raises(ValueError, match=r"batch_size \(20\) is larger than the dataset \(10 words\)"):
        LMTrainer(model, np.arange(10, dtype=np.int32), batch_size=20, bprop_len=5)
    with pytest.raises(ValueError, match="bprop_len must be a positive integer"):
        LMTrainer(model, np.arange(40, dtype=np.int32), bprop_len=0)
    with pytest.raises(ValueError, match="bprop_len"):
        BPTTUpdater(ParallelSequentialIterator(np.arange(40), 2), optimizers.SGD().setup(model), 0)
    with pytest.raises(ValueError, match="integer word ids"):
        LMTrainer(model, np.linspace(0, 1, 40), bprop_len=5)


def test_evaluation_leaves_the_training_state_alone():
    model = _lm(30)
    words = (np.arange(200) % 30).astype(np.int32)
    model(np.array([1, 2], np.int32), np.array([2, 3], np.int32))
    h = model.predictor.mid.h
    nodes = chainer.live_function_node_count()
    ppl = evaluate_perplexity(model, words, batch_size=4)
    assert 1.0 < ppl < 100
    assert model.predictor.mid.h is h
    assert chainer.live_function_node_count() == nodes


def test_cli_trains_on_a_text_file_and_rejects_bad_corpora(tmp_path, capsys):
    from rnnviz.train import main

    lines = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 60
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(lines) + "\n")
    ck = tmp_path / "ck.npz"
    assert main(["--corpus", str(corpus), "--embed", "8", "--hidden", "8", "--batch-size", "4",
                 "--bprop-len", "5", "--epochs", "1", "--no-progress", "--checkpoint", str(ck)]) == 0
    out = capsys.readouterr().out
    assert "validation perplexity" in out and ck.exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(SystemExit, match="empty"):
        main(["--corpus", str(empty), "--no-progress"])
    binary = tmp_path / "data.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SystemExit, match="not a text file"):
        main(["--corpus", str(binary), "--no-progress"])
    with pytest.raises(SystemExit, match="bprop-len"):
        main(["--corpus", str(corpus), "--bprop-len", "0"])
