from nb import answer, code, md

NAME = "06_training_on_a_corpus.ipynb"

INTRO = [
md("""
# 06 · Training on a corpus

**Goals.** After this lesson you can

* train the tutorial's LSTM language model on a real corpus with truncated BPTT, written by hand:
  the parallel sequential iterator, the update every `bprop_len` words, evaluation on held-out
  text;
* watch it learn: a progress bar, the loss and the validation perplexity plotted live;
* write the same training with a trainer, save a checkpoint, resume from it exactly;
* let the trained model write text.

About **60 minutes** (plus training time if you run it at full size). Builds on lessons 3–5.
"""),
code("""
%matplotlib widget
import os
import socket
import tempfile
import numpy as np
import matplotlib.pyplot as plt
from tqdm.auto import tqdm
import rnnviz as chainer
from rnnviz import optimizers, serializers
from rnnviz import functions as F, links as L
from rnnviz import datasets
from rnnviz.iterators import ParallelSequentialIterator
from rnnviz.training import LMTrainer, evaluate_perplexity
from rnnviz.widgets import HiddenStateAnimator
"""),
md("""
## 1. The corpus

The tutorial trains on the **Penn Treebank** (about 930,000 training words, a 10,000-word
vocabulary, one sentence per line with `<eos>` at each line end). It is downloaded on first use,
so the next cell tries it first. Where there is no network, it uses the corpus shipped with the
kit instead: the King James Version of the Bible, in the same format, with the vocabulary cut to
the most frequent words. The cell says which one ran.

**Sizes.** The lesson trains a small model on a slice of the corpus so that it finishes in about
a minute on two CPU cores. Set `FULL = True` for the tutorial's full run (650 units, the whole
corpus, 39 epochs: hours on a CPU, minutes per epoch on a GPU, see lesson 7).
"""),
code("""
FULL = False

def penn_treebank_reachable(timeout=3.0):
    if os.environ.get("RNNVIZ_OFFLINE") == "1":   # set by the test suite: no download attempt
        return False
    try:
        socket.create_connection(("raw.githubusercontent.com", 443), timeout=timeout).close()
        return True
    except OSError:
        return False

corpus = None
if penn_treebank_reachable():
    try:
        train, valid, test = datasets.get_ptb_words()
        vocab = datasets.get_ptb_words_vocabulary()
        corpus = "Penn Treebank"
    except (OSError, ValueError) as err:
        print("Penn Treebank download failed:", err)
if corpus is None:
    vocab_size = 10000 if FULL else 1000
    train, valid, test = datasets.get_kjv_words(vocab_size=vocab_size)
    vocab = datasets.get_kjv_words_vocabulary(vocab_size=vocab_size)
    corpus = "King James Version (shipped with the kit; the Penn Treebank could not be downloaded)"

id_to_word = {i: w for w, i in vocab.items()}
n_vocab = len(vocab)
if not FULL:
    train, valid = train[:40000], valid[:1000]
print("corpus:", corpus)
print(f"{len(train)} training words, {len(valid)} validation words, vocabulary {n_vocab}")
print(" ".join(id_to_word[int(i)] for i in train[:25]))
"""),
md("""
## 2. The training loop, by hand

This is lesson 4's truncated BPTT with lesson 3's model, on the corpus. The iterator reads
`batch_size` stretches of the text in parallel; each update reads `bprop_len` words from each,
sums the losses, back-propagates, cuts the history and steps the optimizer. Plain SGD with a
learning rate of 1 and gradient clipping at 5 is the tutorial's choice, and works well for
LSTM language models.

The figure below the next cell is redrawn every 10 updates while the model trains: the training
loss (per word) and the validation perplexity, measured on an evaluation copy (lesson 5) every 20
updates. The progress bar shows the same numbers.
"""),
code("""
n_units = 650 if FULL else 64
batch_size, bprop_len = 20, (35 if FULL else 20)
n_updates = (39 * len(train) // (batch_size * bprop_len)) if FULL else 60
eval_every = 500 if FULL else 20

np.random.seed(0)
model = L.Classifier(L.RNNLM(n_vocab, n_units, n_units))
model.compute_accuracy = False
optimizer = optimizers.SGD(lr=1.0).setup(model)
optimizer.add_hook(chainer.optimizer_hooks.GradientClipping(5.0))
train_iter = ParallelSequentialIterator(train, batch_size)

start_ppl = evaluate_perplexity(model, valid)
print(f"validation perplexity before training: {start_ppl:.0f} (vocabulary {n_vocab})")
"""),
code("""
fig, (ax_loss, ax_ppl) = plt.subplots(1, 2, figsize=(8, 3), num="training by hand", clear=True)
loss_line, = ax_loss.plot([], [], lw=1)
ppl_line, = ax_ppl.plot([], [], "o-")
ax_loss.set(title="training loss per word", xlabel="update")
ax_ppl.set(title="validation perplexity", xlabel="update")
fig.tight_layout()
plt.show()

losses, ppl_at, ppls = [], [], []
for update in tqdm(range(1, n_updates + 1), desc="by hand"):
    loss = 0
    for _ in range(bprop_len):
        batch = next(train_iter)
        x = np.array([pair[0] for pair in batch], np.int32)
        t = np.array([pair[1] for pair in batch], np.int32)
        loss += model(x, t)
    model.cleargrads()
    loss.backward()
    loss.unchain_backward()
    optimizer.update()
    losses.append(float(loss.array) / bprop_len)
    if update % eval_every == 0:
        ppl_at.append(update)
        ppls.append(evaluate_perplexity(model, valid))
    if update % 10 == 0 or update == n_updates:
        loss_line.set_data(np.arange(1, len(losses) + 1), losses)
        ppl_line.set_data(ppl_at, ppls)
        for ax in (ax_loss, ax_ppl):
            ax.relim()
            ax.autoscale_view()
        fig.canvas.draw_idle()

print(f"loss per word: {np.mean(losses[:10]):.2f} over the first 10 updates, "
      f"{np.mean(losses[-10:]):.2f} over the last 10")
print(f"validation perplexity: {start_ppl:.0f} -> {ppls[-1]:.0f}")
assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 1.0
assert ppls[-1] < n_vocab / 4
"""),
md("""
In 60 updates (1,200 words from each of the 20 stretches, 24,000 in all) the perplexity falls from
about the vocabulary size, uniform guessing, to a small fraction of it. The model has
learned which words are frequent, and then which words follow which.

## 3. The same loop, packaged

The loop above never changes from one experiment to the next, so libraries package it. The kit's
`LMTrainer` is that loop (its updater, `BPTTUpdater`, is the four lines in the middle), plus the
progress bar, the history of losses and perplexities, and **checkpoints**: `save(path)` writes the
model, the optimizer's state, the iterator's position, the LSTM's current state and the history,
so that a run that is stopped can continue as if it never had been.
"""),
code("""
def new_trainer():
    np.random.seed(0)
    lm = L.Classifier(L.RNNLM(n_vocab, n_units, n_units))
    lm.compute_accuracy = False
    return LMTrainer(lm, train, valid, batch_size=batch_size, bprop_len=bprop_len,
                     optimizer=optimizers.SGD(lr=1.0), clip=5.0)

trainer = new_trainer()
history = trainer.run(updates=10, eval_every=10)
print(history)
print("validation perplexity:", [round(p) for p in history.valid["val_perplexity"]])
assert history.valid["val_perplexity"][-1] < n_vocab / 2
"""),
md("""
Checkpoint and resume. Train a run for 6 updates, save, and continue to 10. Then build a **new**
trainer from scratch, load the checkpoint, and continue it to 10 as well. The two runs must end
with identical weights, bit for bit: nothing about the run was lost in the checkpoint.
"""),
code("""
folder = tempfile.mkdtemp()
checkpoint = os.path.join(folder, "lm.npz")

first = new_trainer()
first.run(updates=6, progress=False)
first.save(checkpoint)
first.run(updates=4, progress=False)

resumed = new_trainer()
resumed.load(checkpoint)
print("resumed at update", resumed.updater.iteration)
resumed.run(updates=4, progress=False)

same = all(np.array_equal(p.array, q.array)
           for (_, p), (_, q) in zip(first.model.namedparams(), resumed.model.namedparams()))
print("identical weights after resuming:", same)
assert resumed.updater.iteration == first.updater.iteration == 10
assert same and resumed.history.train["loss"] == first.history.train["loss"]
"""),
]

TRAINER = [
md("""
## 4. The tutorial's other way: `Trainer` and extensions

Chainer's tutorial writes the same training a second time with its `Trainer`, and so can you:
`import rnnviz as chainer` gives the same classes. The pieces:

* an **updater** does one update. `StandardUpdater` reads one batch and steps the optimizer; for
  truncated BPTT you subclass it and override `update_core()` to read `bprop_len` batches first;
* the **trainer** calls the updater until a stop trigger fires (`(40, "iteration")`,
  `(39, "epoch")`) and, after each update, every **extension** whose own trigger fires;
* the **extensions** do everything around the loop: `Evaluator` (the validation loss, on a copy of
  the model, without a graph), `LogReport` (the mean of every reported value per interval),
  `PrintReport` (a table of them), `ProgressBar`, `PlotReport` (in JupyterLab, the curves redrawn
  live in the notebook) and `snapshot` (a checkpoint of the whole trainer).

The model reports its loss as `main/loss` (the `Classifier` does it for you); the evaluator's
values get the prefix `validation/`.
"""),
code("""
from rnnviz import training
from rnnviz.training import extensions


class TruncatedBPTTUpdater(training.updaters.StandardUpdater):
    def __init__(self, iterator, optimizer, bprop_len):
        super().__init__(iterator, optimizer)
        self.bprop_len = bprop_len

    def update_core(self):
        stream = self.get_iterator("main")
        optimizer = self.get_optimizer("main")
        lm = optimizer.target
        window_loss = 0
        for _ in range(self.bprop_len):
            x, t = self.converter(next(stream))
            window_loss += lm(x, t)
        lm.cleargrads()
        window_loss.backward()
        window_loss.unchain_backward()
        optimizer.update()


def add_perplexity(entry):
    entry["perplexity"] = float(np.exp(entry["main/loss"]))
    if "validation/main/loss" in entry:
        entry["val_perplexity"] = float(np.exp(entry["validation/main/loss"]))


def build_trainer(out, n_iterations=20, every=10):
    np.random.seed(0)
    lm = L.Classifier(L.RNNLM(n_vocab, n_units, n_units))
    lm.compute_accuracy = False
    opt = optimizers.SGD(lr=1.0).setup(lm)
    opt.add_hook(chainer.optimizer_hooks.GradientClipping(5.0))
    updater = TruncatedBPTTUpdater(ParallelSequentialIterator(train, batch_size), opt, bprop_len)
    trainer = training.Trainer(updater, (n_iterations, "iteration"), out=out)

    eval_lm = lm.copy()
    trainer.extend(extensions.Evaluator(ParallelSequentialIterator(valid, 10, repeat=False), eval_lm,
                                        eval_hook=lambda _: eval_lm.reset_state()),
                   trigger=(every, "iteration"))
    trainer.extend(extensions.LogReport(trigger=(every, "iteration"), postprocess=add_perplexity))
    trainer.extend(extensions.snapshot(), trigger=(every, "iteration"))
    trainer.extend(extensions.PrintReport(["iteration", "main/loss", "perplexity", "val_perplexity"]))
    trainer.extend(extensions.ProgressBar(update_interval=5))
    trainer.extend(extensions.PlotReport([["main/loss", "validation/main/loss"], ["perplexity", "val_perplexity"]],
                                         trigger=(every, "iteration"), log_report="LogReport", filename=None))
    return trainer, lm
"""),
md("""
Run it for 20 updates, with a table, a progress bar and the live plot. The snapshot extension
writes a checkpoint every 10 updates into the trainer's output folder.
"""),
code("""
out = tempfile.mkdtemp()
trainer, trained_lm = build_trainer(out)
trainer.run()

log = trainer.get_extension("LogReport").log
print("checkpoints written:", sorted(os.listdir(out)))
assert [entry["iteration"] for entry in log] == [10, 20]
assert log[-1]["val_perplexity"] < n_vocab / 2
assert "snapshot_iter_10" in os.listdir(out)
"""),
md("""
Resume from the checkpoint taken at update 10: build a fresh trainer the same way (with the same
extensions: the snapshot holds their state too), load the snapshot into it
(`serializers.load_npz(path, trainer)` restores the model, the optimizer, the iterator, the LSTM's
state and the extensions' logs) and run it to 20. Its table and plot continue from update 10, and
it ends exactly where the uninterrupted run did.
"""),
code("""
resumed_trainer, resumed_lm = build_trainer(tempfile.mkdtemp())
serializers.load_npz(os.path.join(out, "snapshot_iter_10"), resumed_trainer)
print("resumed at update", resumed_trainer.updater.iteration)
resumed_trainer.run()

same = all(np.array_equal(p.array, q.array)
           for (_, p), (_, q) in zip(trained_lm.namedparams(), resumed_lm.namedparams()))
print("identical weights after resuming:", same)
assert same
assert resumed_trainer.get_extension("LogReport").log[-1]["main/loss"] == log[-1]["main/loss"]
"""),
]

SAMPLING = [
md("""
## {N}. The model writes

A language model gives, after each word, a probability for every next word. Draw one from it,
feed it back in, and repeat: the model writes. A *temperature* below 1 sharpens the distribution
(safer, more repetitive text), above 1 flattens it. Sampling runs on an evaluation copy without a
graph, so the trained model's state is untouched.

Do not expect much from a small model trained for a minute: it has learned the frequent words,
some local grammar and where lines end. At full size the text becomes locally fluent.
"""),
code("""
def sample(model, start="<eos>", n_words=30, temperature=0.8, seed=0):
    rng = np.random.default_rng(seed)
    lm = model.predictor.copy()
    lm.reset_state()
    word = vocab[start]
    out = []
    with chainer.no_backprop_mode(), chainer.using_config("train", False):
        for _ in range(n_words):
            scores = lm(np.array([word], np.int32)).array[0].astype(np.float64) / temperature
            p = np.exp(scores - scores.max())
            word = int(rng.choice(len(p), p=p / p.sum()))
            out.append(id_to_word[word])
    return " ".join(out).replace("<eos>", "\\n")

text = sample(model)
print(text)
assert len(text.split()) > 0
"""),
md("""
`HiddenStateAnimator` shows the trained model reading a validation sentence: the state moving
word by word, and the word it expects next. Where is it confident, and where does it hesitate?
"""),
code("""
animator = HiddenStateAnimator(model, valid[:14], words=[id_to_word[i] for i in range(n_vocab)])
animator
"""),
md("""
## Try it
"""),
answer("""
1. Train the by-hand loop with `bprop_len = 2` instead of 20 (same number of words, so 10 times
   as many updates). Is the validation perplexity better or worse after one pass, and why?
""", """
Usually worse at equal words read: the model never receives a gradient that spans more than two
words, so it learns only very local statistics (lesson 4), and each of its many updates is noisier.
It is also slower per word, since each update has a fixed cost.
"""),
answer("""
2. Sample with `temperature=0.3` and with `temperature=1.5`. What changes?
""", """
At 0.3 the most frequent continuations dominate: the text repeats common words and phrases. At 1.5
rare words appear often and the text loses its local grammar. Temperature trades safety against
variety.
"""),
answer("""
3. What would go wrong if the checkpoint did not store the iterator's position, or the LSTM's
   state?
""", """
Without the position, the resumed run would read the text from the start again (seeing some words
twice, others not at all in that epoch); without the state, its first window would start from
zeros instead of from the context it was in. In both cases it would no longer match an
uninterrupted run, and the test in section 3 would fail.
"""),
md("""
## Next

Lesson 07 runs this same code on a GPU.

**Assignment:** `truncated_bptt` in `assignments/` (the updater and evaluation loop of this
lesson, graded).
"""),
]

SAMPLING[0].source = SAMPLING[0].source.replace("{N}", str(5 if TRAINER else 4))
CELLS = INTRO + TRAINER + SAMPLING
