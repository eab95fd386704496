from nb import answer, code, md

NAME = "05_evaluation_without_history.ipynb"

CELLS = [
md("""
# 05 · Evaluation without history

**Goals.** After this lesson you can

* run a model without recording a graph (`no_backprop_mode()`), and say what that changes and
  what it does not;
* measure the memory it saves on a long sequence;
* train one part of a model on top of a fixed part, recording only the part you train;
* evaluate a recurrent model on a **copy that shares its weights**, so that its training state is
  left alone, and report the result as **perplexity**.

About **30 minutes**. No assignment grades this lesson's code by itself; the last part of
**`truncated_bptt`** scores the model you train by its validation perplexity, measured as in
section 5.
"""),
code("""
%matplotlib widget
import gc
import tracemalloc
import numpy as np
import rnnviz as chainer
from rnnviz import Variable
from rnnviz import functions as F, links as L
from rnnviz.training import evaluate_perplexity
from rnnviz.widgets import GraphView
"""),
md("""
## 1. `no_backprop_mode()`: the same numbers, no record

Everything the library records (function nodes, their inputs, the arrays saved for backward)
exists only so that `backward()` can run later. When you only want the outputs (validation,
testing, generating text) that record is pure cost. Inside `with chainer.no_backprop_mode():`
functions compute exactly the same values and record nothing: results have no `creator`.
"""),
code("""
x = Variable(np.array([[1.0, 2.0, 3.0]], np.float32))
y_recorded = F.sum(F.tanh(x) * x)
with chainer.no_backprop_mode():
    y_plain = F.sum(F.tanh(x) * x)

print("same value:", float(y_recorded.array), float(y_plain.array))
print("creators:", y_recorded.creator, "|", y_plain.creator)
assert np.array_equal(y_recorded.array, y_plain.array)
assert y_recorded.creator is not None and y_plain.creator is None
"""),
md("""
Without a record there is nothing to walk back: `backward()` on such a result reaches no one,
and `x.grad` stays empty. (So never compute a *training* loss inside the block.)
"""),
code("""
y_plain.backward()
print("x.grad after backward() from the unrecorded result:", x.grad)
assert x.grad is None
"""),
md("""
## 2. What it saves

Run a small LSTM language model over 300 steps of text, once normally and once inside
`no_backprop_mode()`, and measure two things: how many function nodes are alive at the end, and
the peak memory that Python allocated on the way (`tracemalloc` counts NumPy arrays too).
"""),
code("""
def run(steps, record):
    np.random.seed(0)
    model = L.Classifier(L.RNNLM(200, 64, 64))
    words = np.random.default_rng(0).integers(0, 200, size=(steps + 1, 20)).astype(np.int32)
    gc.collect()
    nodes_before = chainer.live_function_node_count()
    tracemalloc.start()
    loss = 0
    with chainer.using_config("enable_backprop", record):
        for t in range(steps):
            loss += model(words[t], words[t + 1])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return chainer.live_function_node_count() - nodes_before, peak

for record in (True, False):
    nodes, peak = run(300, record)
    print(f"{'recorded' if record else 'no_backprop_mode'}: {nodes:5d} live function nodes, "
          f"peak {peak / 2**20:6.1f} MiB")
    if record:
        recorded_nodes, recorded_peak = nodes, peak
    else:
        plain_nodes, plain_peak = nodes, peak

assert recorded_nodes >= 300 and plain_nodes == 0
assert recorded_peak > 5 * plain_peak
"""),
md("""
The recorded run holds every step's activations until the end; the other keeps only the current
step, so its memory does not grow with the length of the text at all. (`no_backprop_mode()` is
`using_config("enable_backprop", False)`; the cell above uses the long form to switch between
the two.)

## 3. Training on top of a fixed part

The same switch lets you record only what you are going to train. Suppose `feature` is a fixed,
already trained part and `head` is new. Compute the features inside `no_backprop_mode()` and the
head outside it: the graph starts at the features, and back-propagation stops there.
"""),
code("""
np.random.seed(0)
feature = L.Linear(4, 8)
head = L.Linear(8, 1)
x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)

with chainer.no_backprop_mode():
    feat = F.tanh(feature(x))
loss = F.sum(head(feat) ** 2)
feature.cleargrads()
head.cleargrads()
loss.backward()
print("head.W.grad set:", head.W.grad is not None, "| feature.W.grad set:", feature.W.grad is not None)
assert head.W.grad is not None and feature.W.grad is None
assert feat.creator is None
"""),
md("""
`GraphView` shows that the recorded graph begins at `feat`: the fixed layer is not in it at all.
"""),
code("""
graph = GraphView(loss, grouped=False)
graph
"""),
md("""
## 4. An evaluation copy that shares the weights

A stateful recurrent model carries its training state (`h`, `c`) from one batch to the next.
Evaluating it on validation text in the middle of training must not disturb that state: after
evaluation, training has to continue exactly where it was. The clean way is to evaluate a
**copy**: `model.copy()` builds a new tree of links whose parameters **share their arrays** with
the original (so it always sees the current weights, and costs no extra memory for them) while
its recurrent state is its own.
"""),
code("""
np.random.seed(0)
model = L.Classifier(L.RNNLM(30, 16, 16))
words = (np.arange(200) % 30).astype(np.int32)
model(words[:4], words[1:5])
h_train = model.predictor.mid.h

eval_model = model.copy()
print("shares embed.W:", np.shares_memory(eval_model.predictor.embed.W.array, model.predictor.embed.W.array))
assert np.shares_memory(eval_model.predictor.embed.W.array, model.predictor.embed.W.array)

eval_model.reset_state()
with chainer.no_backprop_mode():
    for t in range(10):
        eval_model(words[t:t + 4], words[t + 1:t + 5])
assert model.predictor.mid.h is h_train
print("the training model's state is untouched")

model.predictor.out.b.array[0] += 1.0
assert eval_model.predictor.out.b.array[0] == model.predictor.out.b.array[0]
print("a change to the weights is seen by the copy at once")
"""),
md("""
## 5. Perplexity

The average next-word loss (cross entropy, in nats) is what training minimises; language models
usually report its exponential, the **perplexity**:

$$\\mathrm{PPL} = \\exp\\Big(-\\frac{1}{N}\\sum_{t=1}^{N} \\log P(w_t \\mid w_{<t})\\Big).$$

It reads as "the model is as unsure as if it chose uniformly among PPL words". A model that gives
every word of a $V$-word vocabulary the same probability has perplexity exactly $V$; a perfect
model has 1. Between the two, a perplexity means little on its own: lesson 06 sets it against
what counting words gives (unigram and bigram models fitted on the same text) and against the
share of `<unk>` in the text. Check the first claim with a model whose output layer is all zeros:
"""),
code("""
V = 30
np.random.seed(0)
flat = L.Classifier(L.RNNLM(V, 8, 8))
flat.predictor.out.W.array[...] = 0
flat.predictor.out.b.array[...] = 0
ppl = evaluate_perplexity(flat, words, batch_size=4)
print(f"perplexity of a uniform model over {V} words: {ppl:.3f}")
assert np.isclose(ppl, V, rtol=1e-4)
"""),
md("""
`evaluate_perplexity(model, words)` does what sections 1 and 4 describe: it makes a weight-sharing
copy, resets the copy's state, and runs it under `no_backprop_mode()` and `train=False` (which
turns dropout off), reading `batch_size` parallel stretches of the text. Recompute it by hand on
the model of section 4 and compare:
"""),
code("""
batch = 4
steps = (len(words) - 1) // batch
xs = words[:steps * batch].reshape(batch, steps)
ts = words[1:steps * batch + 1].reshape(batch, steps)
copy = model.copy()
copy.reset_state()
total = 0.0
with chainer.no_backprop_mode(), chainer.using_config("train", False):
    for k in range(steps):
        total += float(copy(xs[:, k], ts[:, k]).array)
by_hand = np.exp(total / steps)
library = evaluate_perplexity(model, words, batch_size=batch)
print(f"by hand {by_hand:.4f}, evaluate_perplexity {library:.4f}")
assert np.isclose(by_hand, library, rtol=1e-5)
assert model.predictor.mid.h is h_train
"""),
md("""
`train=False` matters for models with dropout: during training, dropout zeroes a random part of
its input (and scales up the rest); at evaluation time it must pass everything through unchanged.
"""),
code("""
v = Variable(np.ones((1, 1000), np.float32))
print("zeros with train=True:", float(np.mean(F.dropout(v, 0.5).array == 0)))
with chainer.using_config("train", False):
    assert np.array_equal(F.dropout(v, 0.5).array, v.array)
print("with train=False the input passes unchanged")
"""),
md("""
## Try it
"""),
answer("""
1. In section 2, run 600 steps instead of 300. Which of the two peaks doubles, and which stays?
""", """
The recorded run's peak grows by a factor of about 2.0 (twice the steps, twice the saved
activations); the `no_backprop_mode()` peak stays where it was: it only ever holds one step.
"""),
answer("""
2. Why would evaluating the training model itself (instead of a copy) be wrong, even inside
   `no_backprop_mode()`?
""", """
Evaluation would overwrite the model's `h` and `c`: the next training batch would start from the
state left by the validation text, not from where training stopped. `no_backprop_mode()` stops the
recording, not the state updates.
"""),
answer("""
3. A language model has a validation perplexity $\mathrm{PPL} = 120$ on a 10,000-word
   vocabulary. What is its average loss per word?
""", """
$\\log 120 \\approx 4.79$ nats, against $\\log 10000 \\approx 9.21$ for uniform guessing.
"""),
md("""
## Next

Lesson 06 puts everything together: the tutorial's training loop on a real corpus, written by hand
and with a trainer, with a progress bar, live plots, checkpoints and generated text.

**Assignment:** `truncated_bptt` in `assignments/` grades the truncated-BPTT window of lessons 4
and 6 and a model that you train; it measures that model's validation perplexity itself, with
`evaluate_perplexity`.
"""),
]
