from nb import answer, code, md

NAME = "06_training_on_a_corpus.ipynb"

INTRO = [
md("""
# 06 · Training on a corpus

**Goals.** After this lesson you can

* train the tutorial's LSTM language model on a real corpus with truncated BPTT, written by hand:
  the parallel sequential iterator, the update every `bprop_len` words, evaluation on held-out
  text;
* say what its perplexity is worth: compare it with counting models (unigram and bigram) fitted
  on the same words, and read it against the share of `<unk>` in the text;
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
from matplotlib.ticker import LogLocator, NullFormatter
from IPython.display import display
from threadpoolctl import threadpool_limits
import rnnviz as chainer
from rnnviz import optimizers, serializers
from rnnviz import functions as F, links as L
from rnnviz import datasets
from rnnviz.iterators import ParallelSequentialIterator
from rnnviz.training import LMTrainer, evaluate_perplexity
from rnnviz.training.progress import tqdm   # tqdm.auto's bar; a saved notebook keeps its last line
from rnnviz.widgets import HiddenStateAnimator
"""),
md("""
## 1. The corpus

The tutorial trains on the **Penn Treebank** (newspaper text with a 10,000-word vocabulary, one
sentence per line with `<eos>` at each line end). It is downloaded on first use, so the next cell
tries it first. Where there is no network, it uses the corpus shipped with the kit instead: the
King James Version of the Bible, in the same format, with the vocabulary cut to the most frequent
words. The cell says which one ran, and how large it is.

**Sizes.** `FULL = True` runs Chainer's PTB example (`examples/ptb/train_ptb.py`) as its script
sets it up: two LSTM layers of 650 units, dropout (`F.dropout`, ratio `0.5`) before each layer and
before the output, every weight drawn from `uniform(-0.1, 0.1)`, 39 passes over the training text
(on the shipped corpus, with its whole vocabulary). It is meant for a GPU (lesson 7); the progress
bar shows how long it will take. `FULL = False`, the default, keeps the example's training
(section 3 lists it) but shrinks the model to one layer of 64 units without dropout, trained for a
single pass over the text; on the shipped corpus it keeps the 1,000 most frequent words.
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
print("corpus:", corpus)
print(f"{len(train)} training words, {len(valid)} validation words, vocabulary {n_vocab}")
print(f"<unk> is {datasets.unk_rate(train, vocab):.1%} of the training words, "
      f"{datasets.unk_rate(valid, vocab):.1%} of the validation words")
print(" ".join(id_to_word[int(i)] for i in train[:25]))
"""),
md("""
Every word outside the vocabulary has become `<unk>`. To the model `<unk>` is one more word, and an
easy one: it is frequent, and it stands for a whole class of rare words. So the size of the
vocabulary changes the perplexity, without any change in the model: a smaller vocabulary turns
more of the hard, rare words into one easy guess. Perplexities compare only on the same text with
the same vocabulary. For the shipped corpus, the share of `<unk>` at a few vocabulary sizes (the
largest keeps every word of the training split):
"""),
code("""
if corpus.startswith("King James"):
    print("vocabulary   <unk> in training   <unk> in validation")
    for size in (1000, 2000, 5000, 10000):
        tr, va, _ = datasets.get_kjv_words(vocab_size=size)
        voc = datasets.get_kjv_words_vocabulary(vocab_size=size)
        print(f"{len(voc):10d} {datasets.unk_rate(tr, voc):19.1%} {datasets.unk_rate(va, voc):21.1%}")
else:
    print(f"the {corpus} comes with its vocabulary of {n_vocab} words")
"""),
md("""
## 2. What a perplexity is worth

Lesson 5 showed that a uniform guess over $V$ words has perplexity $V$. Two counting models set a
higher bar. Both are fitted on the same training words as the LSTM below and scored on the same
validation words, with the same vocabulary:

* a **unigram** model counts how often each word occurs, and ignores the context:
  $P(w) = \\dfrac{c(w) + 1}{N + V}$ over $N$ training words (the $+1$ keeps unseen words possible);
* a **bigram** model counts which word follows which, and falls back on the unigram where its
  counts are thin:
  $P(w \\mid v) = \\lambda_v \\dfrac{c(v\\,w)}{c(v)} + (1 - \\lambda_v)\\, P(w)$ with
  $\\lambda_v = \\dfrac{c(v)}{c(v) + T(v)}$, where $T(v)$ is the number of distinct words seen after
  $v$ (Witten–Bell interpolation: nothing to tune).

A network that ends above the unigram has not even learned which words are frequent; one that
ends above the bigram has learned less than a table of word pairs. Only below the bigram does it
use more of the past than the previous word.
"""),
code("""
unigram = datasets.UnigramLM(train, n_vocab)
bigram = datasets.BigramLM(train, n_vocab)
baselines = {"uniform guess": float(n_vocab),
             "unigram": unigram.perplexity(valid),
             "bigram": bigram.perplexity(valid)}
for name, ppl in baselines.items():
    print(f"{name:>13}: validation perplexity {ppl:7.1f}")
likeliest = np.argsort(bigram.probs(vocab["the"]))[::-1][:8]
print("the bigram's likeliest words after 'the':", " ".join(id_to_word[int(i)] for i in likeliest))
assert baselines["bigram"] < baselines["unigram"] < n_vocab
"""),
md("""
## 3. The training loop, by hand

This is lesson 4's truncated BPTT with lesson 3's model, on the corpus. The iterator reads
`batch_size` stretches of the text in parallel; each update reads `bprop_len` words from each,
sums the losses, back-propagates, cuts the history and steps the optimizer. The training is that
of Chainer's PTB example: `batch_size = 20`, `bprop_len = 35`, plain SGD with `lr=1.0`, and
gradients clipped to a norm of `5.0`.

One line in the next cell is about speed, not about the model: `threadpool_limits(limits=1)` keeps
NumPy's BLAS on one thread for the rest of the lesson (`FULL = True` leaves it free). The small
model multiplies small matrices, which leave several threads little to share, and on a machine
busy with other work such threads spend their time waiting for one another.
"""),
code("""
if FULL:   # Chainer's PTB example, as examples/ptb/train_ptb.py sets it up
    n_units, n_layers, dropout, n_epochs = 650, 2, 0.5, 39
else:      # the same training, a smaller model, one pass over the text
    n_units, n_layers, dropout, n_epochs = 64, 1, 0.0, 1
    threadpool_limits(limits=1)   # one BLAS thread from here on (see above)
batch_size, bprop_len = 20, 35
n_updates = n_epochs * len(train) // (batch_size * bprop_len)
eval_every, redraw_every = (500, 50) if FULL else (60, 20)

def make_model():
    np.random.seed(0)
    lm = L.Classifier(L.RNNLM(n_vocab, n_units, n_units, n_layers=n_layers, dropout=dropout))
    lm.compute_accuracy = False
    if FULL:   # the example draws every weight from uniform(-0.1, 0.1)
        for param in lm.params():
            param.array[...] = np.random.uniform(-0.1, 0.1, param.shape)
    return lm

model = make_model()
optimizer = optimizers.SGD(lr=1.0).setup(model)
optimizer.add_hook(chainer.optimizer_hooks.GradientClipping(5.0))
train_iter = ParallelSequentialIterator(train, batch_size)

start_ppl = evaluate_perplexity(model, valid, batch_size=100)   # 100 stretches: fewer, larger steps
print(f"{n_updates} updates of {batch_size} x {bprop_len} words: {n_epochs} pass(es) over the text")
print(f"validation perplexity before training: {start_ppl:.0f} (vocabulary {n_vocab})")
"""),
md("""
The figure below the next cell is redrawn every `redraw_every` updates while the model trains: the
training loss (per word) and the validation perplexity, measured on an evaluation copy (lesson 5)
every `eval_every` updates, with the two counting models as grey lines. In JupyterLab the figure
and the progress bar move as the model trains. A saved notebook keeps what each output showed
when it was last updated, so the cell updates the figure's display once more at the end, and the
kit's `tqdm` does the same for its bar: a saved copy shows the finished run, not an empty frame.
"""),
code("""
with plt.ioff():   # not shown automatically: displayed below with an id, to update it at the end
    fig, (ax_loss, ax_ppl) = plt.subplots(1, 2, figsize=(8, 3), num="training by hand", clear=True)
loss_line, = ax_loss.plot([], [], lw=1)
ppl_line, = ax_ppl.plot([], [], "o-", label="LSTM")
ax_ppl.axhline(baselines["unigram"], color="gray", ls="--", label="unigram")
ax_ppl.axhline(baselines["bigram"], color="gray", ls=":", label="bigram")
ax_loss.set(title="training loss per word", xlabel="update")
ax_ppl.set(title="validation perplexity (log scale)", xlabel="update", yscale="log")
ax_ppl.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
ax_ppl.yaxis.set_major_formatter("{x:g}")
ax_ppl.yaxis.set_minor_formatter(NullFormatter())
ax_ppl.legend(fontsize="small")
fig.tight_layout()
view = display(fig.canvas, display_id=True)

losses, ppl_at, ppls = [], [0], [start_ppl]
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
    if update % eval_every == 0 or update == n_updates:
        ppl_at.append(update)
        ppls.append(evaluate_perplexity(model, valid, batch_size=100))
    if update % redraw_every == 0 or update == n_updates:
        loss_line.set_data(np.arange(1, len(losses) + 1), losses)
        ppl_line.set_data(ppl_at, ppls)
        for ax in (ax_loss, ax_ppl):
            ax.relim()
            ax.autoscale_view()
        fig.canvas.draw_idle()
view.update(fig.canvas)   # the saved notebook keeps the finished figure

print(f"loss per word: {np.mean(losses[:10]):.2f} over the first 10 updates, "
      f"{np.mean(losses[-10:]):.2f} over the last 10")
print(f"validation perplexity: {start_ppl:.0f} before training, {ppls[-1]:.1f} after {n_updates} updates")
for name in ("unigram", "bigram"):
    below = [at for at, p in zip(ppl_at, ppls) if p < baselines[name]]
    where = f"below it from update {below[0]} on" if below else "never below it"
    print(f"  the {name}'s {baselines[name]:.1f}: the LSTM is {where}")
assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 1.0
assert ppls[-1] < baselines["unigram"]
if corpus.startswith("King James") and not FULL:   # what the text below says of the shipped corpus
    assert ppls[-1] < baselines["bigram"]
"""),
md("""
Before training the perplexity is about the vocabulary size: the untrained model guesses nearly
uniformly. It falls below the unigram's once the model has learned which words are frequent and,
on the shipped corpus, below the bigram's too by the end of its single pass over the text; the
last two lines say at which evaluation. That last comparison is the one that counts. The bigram
counted its pairs over the whole training text; the LSTM read that same text once, and it now
predicts the validation text better than that table of pairs does: it uses more of the past than
the previous word. (If the Penn Treebank ran, read its lines the same way; what this paragraph
says was measured on the shipped corpus.)

## 4. The same loop, packaged

The loop above never changes from one experiment to the next, so libraries package it. The kit's
`LMTrainer` is that loop (its updater, `BPTTUpdater`, is the four lines in the middle), plus the
progress bar, the history of losses and perplexities, and **checkpoints**: `save(path)` writes the
model, the optimizer's state, the iterator's position, the LSTM's current state, the history and
NumPy's random state (dropout draws its masks from it, with `FULL = True`), so that a run that is
stopped can continue as if it never had been.
"""),
code("""
def new_trainer():
    return LMTrainer(make_model(), train, valid, batch_size=batch_size, bprop_len=bprop_len,
                     optimizer=optimizers.SGD(lr=1.0), clip=5.0, eval_batch_size=100)

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
## 5. The tutorial's other way: `Trainer` and extensions

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
    lm = make_model()
    opt = optimizers.SGD(lr=1.0).setup(lm)
    opt.add_hook(chainer.optimizer_hooks.GradientClipping(5.0))
    updater = TruncatedBPTTUpdater(ParallelSequentialIterator(train, batch_size), opt, bprop_len)
    trainer = training.Trainer(updater, (n_iterations, "iteration"), out=out)

    eval_lm = lm.copy()
    trainer.extend(extensions.Evaluator(ParallelSequentialIterator(valid, 100, repeat=False), eval_lm,
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
state, the extensions' logs and NumPy's random state) and run it to 20. Its table and plot continue from update 10, and
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
graph, so the trained model's state is untouched. The bigram of section 2 can write the same way,
from its table of pairs: set the two side by side.
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


def sample_bigram(start="<eos>", n_words=30, temperature=0.8, seed=0):
    rng = np.random.default_rng(seed)
    word = vocab[start]
    out = []
    for _ in range(n_words):
        p = bigram.probs(word) ** (1 / temperature)
        word = int(rng.choice(len(p), p=p / p.sum()))
        out.append(id_to_word[word])
    return " ".join(out).replace("<eos>", "\\n")

text = sample(model)
print("LSTM:\\n" + text)
print("\\nbigram:\\n" + sample_bigram())
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
1. Train the by-hand loop with `bprop_len = 2` instead of 35, over the same words (one pass, so
   $35/2$ times as many updates). Is the validation perplexity better or worse, and where does it
   land against the bigram?
""", """
Two effects pull in opposite directions, and your two numbers say which one wins here. With
`bprop_len = 2` no gradient spans more than two words: nothing teaches the model to carry
information further than that (lesson 4). But it makes many more updates from the same words, and
early in training the number of steps can matter as much as how far each gradient reaches. A
single pass is early. The short windows also pay the fixed cost of an update (clearing gradients,
starting the backward pass, the optimizer step) $35/2$ times as often; the progress bar shows what
that costs in time.
"""),
answer("""
2. Sample with `temperature=0.3` and with `temperature=1.5`. What changes?
""", """
At `temperature=0.3` the likeliest words take over: the text repeats frequent words and phrases,
and a sample holds fewer distinct words than one of the same length at `temperature=1.5`. At
`temperature=1.5` rare words come up more often, and so do word pairs that the corpus seldom has:
the bigram of section 2 gives the sample's pairs a lower probability, the local grammar falls
apart. Temperature trades safety against variety.
"""),
answer("""
3. What would go wrong if the checkpoint did not store the iterator's position, or the LSTM's
   state?
""", """
Without the position, the resumed run would read the text from the start again (seeing some words
twice, others not at all in that epoch); without the state, its first window would start from
zeros instead of from the context it was in. In both cases it would no longer match an
uninterrupted run, and the test in section 4 would fail.
"""),
md("""
## Next

Lesson 07 runs this same code on a GPU.

**Assignment:** `truncated_bptt` in `assignments/` grades the window of this lesson's loop (read
`bprop_len` batches, back-propagate, unchain, update: compared with `BPTTUpdater`) and a language
model that you train on the shipped corpus within a CPU-time budget, scored by its validation
perplexity.
"""),
]

SAMPLING[0].source = SAMPLING[0].source.replace("{N}", str(6 if TRAINER else 5))
CELLS = INTRO + TRAINER + SAMPLING
