"""Chainer's Trainer, updaters and extensions: what they compute, checked against plain loops."""
import io
import json
import os

import numpy as np
import pytest

import rnnviz
import rnnviz.links as L
from rnnviz import dataset, optimizers, serializers, training
from rnnviz.datasets import get_kjv_words
from rnnviz.iterators import ParallelSequentialIterator
from rnnviz.training import LMTrainer, evaluate_perplexity, extensions


class ListIterator(dataset.Iterator):
    """Batches of ``batch_size`` examples in order, epoch after epoch (or once)."""

    def __init__(self, examples, batch_size, repeat=True):
        self.examples, self.batch_size, self.repeat = examples, batch_size, repeat
        self.reset()

    def reset(self):
        self.iteration = self.epoch = 0
        self.is_new_epoch = False

    @property
    def epoch_detail(self):
        return self.iteration * self.batch_size / len(self.examples)

    def __next__(self):
        start = self.iteration * self.batch_size % len(self.examples)
        if not self.repeat and self.iteration * self.batch_size >= len(self.examples):
            raise StopIteration
        self.iteration += 1
        epoch = self.iteration * self.batch_size // len(self.examples)
        self.is_new_epoch, self.epoch = epoch > self.epoch, epoch
        return self.examples[start:start + self.batch_size]

    def serialize(self, serializer):
        self.iteration = serializer("iteration", self.iteration)
        self.epoch = serializer("epoch", self.epoch)


def toy_data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    t = rng.integers(0, 2, n).astype(np.int32)
    return x, t, list(zip(x, t))


def toy_trainer(tmp_path, stop=(3, "epoch"), lr=0.1, seed=1):
    x, t, examples = toy_data()
    np.random.seed(seed)
    model = L.Classifier(L.Linear(3, 2))
    opt = optimizers.SGD(lr=lr).setup(model)
    updater = training.updaters.StandardUpdater(ListIterator(examples, 4), opt)
    return training.Trainer(updater, stop, out=str(tmp_path)), model


def softmax_ce_grad(W, b, x, t):
    """NumPy reference: gradients of mean softmax cross-entropy of x W^T + b."""
    z = x.astype(np.float64) @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(t)), t] -= 1
    p /= len(t)
    return p.T @ x, p.sum(0)


def test_standard_updater_is_sgd_on_each_batch_in_order(tmp_path):
    trainer, model = toy_trainer(tmp_path)
    W = model.predictor.W.array.astype(np.float64)
    b = model.predictor.b.array.astype(np.float64)
    x, t, _ = toy_data()
    trainer.run()
    for _ in range(3):
        for k in range(0, 12, 4):
            gW, gb = softmax_ce_grad(W, b, x[k:k + 4], t[k:k + 4])
            W, b = W - 0.1 * gW, b - 0.1 * gb
    np.testing.assert_allclose(model.predictor.W.array, W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predictor.b.array, b, rtol=1e-5, atol=1e-6)
    assert trainer.updater.iteration == 9 and trainer.updater.epoch == 3


def test_stop_trigger_in_iterations_and_bad_units(tmp_path):
    trainer, _ = toy_trainer(tmp_path, stop=(5, "iteration"))
    trainer.run()
    assert trainer.updater.iteration == 5
    with pytest.raises(RuntimeError, match="already finished"):
        trainer.run()
    with pytest.raises(ValueError, match="'iteration' or 'epoch'"):
        toy_trainer(tmp_path, stop=(5, "epochs"))


def test_log_report_means_observations_per_interval_and_writes_json(tmp_path):
    trainer, _ = toy_trainer(tmp_path, stop=(6, "iteration"))
    seen = []

    @training.make_extension(trigger=(1, "iteration"), priority=training.PRIORITY_EDITOR)
    def record(tr):
        seen.append(float(tr.observation["main/loss"].array))

    trainer.extend(record)
    trainer.extend(extensions.LogReport(trigger=(2, "iteration")))
    trainer.run()
    log = trainer.get_extension("LogReport").log
    assert [e["iteration"] for e in log] == [2, 4, 6]
    for k, entry in enumerate(log):
        assert entry["main/loss"] == pytest.approx(np.mean(seen[2 * k:2 * k + 2]), rel=1e-6)
        assert 0.0 <= entry["main/accuracy"] <= 1.0
    with open(tmp_path / "log") as f:
        assert json.load(f) == log


def test_epoch_triggers_fire_at_epoch_ends(tmp_path):
    trainer, _ = toy_trainer(tmp_path)  # 3 batches per epoch
    trainer.extend(extensions.LogReport())
    trainer.run()
    log = trainer.get_extension("LogReport").log
    assert [(e["epoch"], e["iteration"]) for e in log] == [(1, 3), (2, 6), (3, 9)]


def test_print_report_prints_a_row_per_log_entry(tmp_path):
    trainer, _ = toy_trainer(tmp_path)
    out = io.StringIO()
    trainer.extend(extensions.LogReport())
    trainer.extend(extensions.observe_lr())
    trainer.extend(extensions.PrintReport(["epoch", "main/loss", "lr", "missing"], out=out))
    trainer.run()
    lines = out.getvalue().splitlines()
    log = trainer.get_extension("LogReport").log
    assert lines[0].split() == ["epoch", "main/loss", "lr", "missing"]
    assert len(lines) == 1 + len(log) == 4
    epoch, loss, lr = lines[-1].split()
    assert int(epoch) == 3 and float(loss) == pytest.approx(log[-1]["main/loss"], rel=1e-5)
    assert float(lr) == 0.1 and log[-1]["lr"] == pytest.approx(0.1)


def test_evaluator_reports_the_mean_over_the_validation_set_without_a_graph(tmp_path):
    trainer, model = toy_trainer(tmp_path, stop=(1, "epoch"))
    xv, tv, examples = toy_data(n=10, seed=5)
    trainer.extend(extensions.Evaluator(ListIterator(examples, 4, repeat=False), model))
    trainer.extend(extensions.LogReport())
    trainer.run()
    entry = trainer.get_extension("LogReport").log[-1]
    W, b = model.predictor.W.array, model.predictor.b.array
    losses = []
    for k, n in ((0, 4), (4, 4), (8, 2)):  # the Evaluator averages per batch, as Chainer's does
        z = xv[k:k + n] @ W.T + b
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        losses.append(-logp[np.arange(n), tv[k:k + n]].mean())
    assert entry["validation/main/loss"] == pytest.approx(np.mean(losses), rel=1e-5)
    before = rnnviz.live_function_node_count()
    ev = trainer.get_extension("validation")
    result = ev()
    assert rnnviz.live_function_node_count() == before
    assert result["validation/main/loss"] == pytest.approx(entry["validation/main/loss"])


# -- seed 003's pattern: BPTT as a StandardUpdater subclass under the Trainer ----------------------
class SeedStyleBPTTUpdater(training.updaters.StandardUpdater):
    """Written the way seed 003 writes it: bprop_len batches per update, unchain, update."""

    def __init__(self, train_iter, optimizer, bprop_len):
        super().__init__(train_iter, optimizer)
        self.bprop_len = bprop_len

    def update_core(self):
        loss = 0
        train_iter, optimizer = self.get_iterator("main"), self.get_optimizer("main")
        for _ in range(self.bprop_len):
            x, t = self.converter(next(train_iter))
            loss += optimizer.target(rnnviz.Variable(x), rnnviz.Variable(t))
        optimizer.target.cleargrads()
        loss.backward()
        loss.unchain_backward()
        optimizer.update()


def small_lm(seed=7, vocab=300):
    np.random.seed(seed)
    return L.Classifier(L.RNNLM(vocab, 16, 16))


def copy_weights(src, dst):
    for (_, p), (_, q) in zip(src.namedparams(), dst.namedparams()):
        q.array[...] = p.array


@pytest.fixture(scope="module")
def corpus():
    train, val, _ = get_kjv_words(vocab_size=300)
    return train[:3000], val[:200]


@pytest.mark.parametrize("updater_kind", ["seed-style subclass", "the kit's BPTTUpdater"])
def test_trainer_lm_reaches_the_lmtrainer_perplexity(tmp_path, corpus, updater_kind):
    train, val = corpus
    model, reference = small_lm(), small_lm(seed=99)
    copy_weights(model, reference)
    opt = optimizers.SGD(lr=1.0).setup(model)
    opt.add_hook(optimizers.GradientClipping(5.0))
    it = ParallelSequentialIterator(train, 10)
    if updater_kind == "seed-style subclass":
        updater = SeedStyleBPTTUpdater(it, opt, 8)
    else:
        updater = training.BPTTUpdater(it, opt, 8)
    trainer = training.Trainer(updater, (12, "iteration"), out=str(tmp_path))
    trainer.extend(extensions.LogReport(trigger=(4, "iteration")))
    trainer.run()
    lm = LMTrainer(reference, train, batch_size=10, bprop_len=8)  # SGD(lr=1) and clipping at 5
    lm.run(updates=12, progress=False)
    for (name, p), (_, q) in zip(model.namedparams(), reference.namedparams()):
        np.testing.assert_allclose(p.array, q.array, rtol=1e-6, atol=1e-7, err_msg=name)
    ppl, ref_ppl = evaluate_perplexity(model, val), evaluate_perplexity(reference, val)
    assert ppl == pytest.approx(ref_ppl, rel=1e-6)
    assert ppl < 300  # it learned something: below the uniform guess over the vocabulary


def test_snapshot_resumes_exactly_including_the_recurrent_state(tmp_path, corpus):
    train, _ = corpus

    def build(out):
        model = small_lm()
        opt = optimizers.MomentumSGD(lr=0.5).setup(model)
        updater = training.BPTTUpdater(ParallelSequentialIterator(train, 10), opt, 5)
        trainer = training.Trainer(updater, (8, "iteration"), out=str(out))
        trainer.extend(extensions.LogReport(trigger=(2, "iteration")))
        trainer.extend(extensions.snapshot(), trigger=(4, "iteration"))
        return trainer, model

    whole, whole_model = build(tmp_path / "whole")
    whole.run()
    assert sorted(os.listdir(tmp_path / "whole")) == ["log", "snapshot_iter_4", "snapshot_iter_8"]

    resumed, resumed_model = build(tmp_path / "resumed")
    serializers.load_npz(tmp_path / "whole" / "snapshot_iter_4", resumed)
    assert resumed.updater.iteration == 4
    assert len(resumed.get_extension("LogReport").log) == 2
    resumed.run()
    for (name, p), (_, q) in zip(whole_model.namedparams(), resumed_model.namedparams()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=name)
    log_a = whole.get_extension("LogReport").log
    log_b = resumed.get_extension("LogReport").log
    assert [e["main/loss"] for e in log_a] == [e["main/loss"] for e in log_b]


def test_snapshot_autoload_and_retention(tmp_path):
    trainer, _ = toy_trainer(tmp_path, stop=(6, "iteration"))
    trainer.extend(extensions.snapshot(n_retains=2), trigger=(2, "iteration"))
    trainer.run()
    assert sorted(os.listdir(tmp_path)) == ["snapshot_iter_4", "snapshot_iter_6"]
    again, model = toy_trainer(tmp_path, stop=(8, "iteration"))
    again.extend(extensions.snapshot(autoload=True, n_retains=2), trigger=(2, "iteration"))
    again.run()  # continues from iteration 6: two more updates
    assert again.updater.iteration == 8
    assert sorted(os.listdir(tmp_path)) == ["snapshot_iter_6", "snapshot_iter_8"]


def test_a_failing_snapshot_leaves_the_previous_file_whole(tmp_path):
    trainer, model = toy_trainer(tmp_path, stop=(2, "iteration"))
    trainer.extend(extensions.snapshot(filename="snap"), trigger=(1, "iteration"))

    @training.make_extension(trigger=(2, "iteration"), priority=training.PRIORITY_WRITER)
    def break_model(tr):
        def broken(serializer):
            serializer("W", model.predictor.W.array)
            raise OSError("disk full")
        object.__setattr__(model.predictor, "serialize", broken)

    trainer.extend(break_model)
    with pytest.raises(OSError, match="disk full"):
        trainer.run()
    assert sorted(os.listdir(tmp_path)) == ["snap"]  # no temporary file left behind
    fresh, _ = toy_trainer(tmp_path / "other", stop=(2, "iteration"))
    serializers.load_npz(tmp_path / "snap", fresh)
    assert fresh.updater.iteration == 1


def test_progress_bar_counts_iterations(tmp_path):
    trainer, _ = toy_trainer(tmp_path, stop=(6, "iteration"))
    out = io.StringIO()
    trainer.extend(extensions.ProgressBar(out=out))
    trainer.run()
    text = out.getvalue()
    assert "6/6" in text and "main/loss" in text


def test_plot_report_draws_the_means_to_a_png(tmp_path):
    trainer, _ = toy_trainer(tmp_path, stop=(6, "iteration"))
    trainer.extend(extensions.LogReport(trigger=(2, "iteration")))
    plot = extensions.PlotReport([["main/loss"], ["main/accuracy"]], trigger=(2, "iteration"),
                                 filename="loss.png")
    trainer.extend(plot)
    trainer.run()
    log = trainer.get_extension("LogReport").log
    assert [p for p, _ in plot.data["main/loss"]] == [2, 4, 6]
    np.testing.assert_allclose([v for _, v in plot.data["main/loss"]], [e["main/loss"] for e in log])
    with open(tmp_path / "loss.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(plot.figure.axes) == 2
    line = plot.figure.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), [e["main/loss"] for e in log])


def test_plot_report_reads_postprocessed_log_entries(tmp_path):
    trainer, _ = toy_trainer(tmp_path, stop=(4, "iteration"))

    def perplexity(entry):
        entry["perplexity"] = float(np.exp(entry["main/loss"]))

    trainer.extend(extensions.LogReport(trigger=(2, "iteration"), postprocess=perplexity))
    plot = extensions.PlotReport(["perplexity"], trigger=(2, "iteration"), log_report="LogReport")
    trainer.extend(plot)
    trainer.run()
    log = trainer.get_extension("LogReport").log
    assert [v for _, v in plot.data["perplexity"]] == [e["perplexity"] for e in log]


def test_reporter_scopes_and_observer_names():
    link = L.Linear(2, 2)
    reporter = rnnviz.Reporter()
    reporter.add_observer("main", link)
    observation = {}
    with reporter.scope(observation):
        rnnviz.report({"x": 1.0}, link)
        rnnviz.report({"y": 2.0})
        rnnviz.report({"z": 3.0}, L.Linear(2, 2))  # not registered: skipped
    assert observation == {"main/x": 1.0, "y": 2.0}
    rnnviz.report({"ignored": 1.0})  # no reporter: nothing happens
    with pytest.raises(KeyError, match="not registered"):
        with reporter.scope({}):
            reporter.report({"z": 1.0}, L.Linear(2, 2))


def test_classifier_reports_loss_and_accuracy_only_inside_a_reporter():
    model = L.Classifier(L.Linear(3, 2))
    x, t, _ = toy_data()
    reporter = rnnviz.Reporter()
    reporter.add_observer("main", model)
    observation = {}
    with reporter.scope(observation):
        loss = model(x, t)
    assert observation["main/loss"] is loss and observation["main/accuracy"] is model.accuracy


def test_updater_refuses_an_optimizer_without_a_target():
    with pytest.raises(ValueError, match="setup"):
        training.StandardUpdater(ListIterator([1, 2], 1), optimizers.SGD())
    with pytest.raises(ValueError, match="device"):
        training.StandardUpdater(ListIterator([1, 2], 1), optimizers.SGD().setup(L.Linear(1, 1)),
                                 device="tpu")
