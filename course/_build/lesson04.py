from nb import answer, code, md

NAME = "04_truncated_bptt.ipynb"

CELLS = [
md("""
# 04 · Truncated BPTT: cutting the history

**Goals.** After this lesson you can

* explain what `unchain_backward()` cuts, what it keeps, and measure what it frees;
* read a long text in mini-batches with the parallel sequential iterator (B cursors at B offsets);
* recognise the same idea in three libraries: Chainer's `unchain_backward()`, Flux's `truncate!` and
  `reset!`, and the stateful layers of "Deep Learning from Scratch 2";
* say what truncation costs, and show it with an experiment you train yourself: a window shorter
  than the dependency cannot learn it; a longer one can.

About **60 minutes**. Practised in the assignment **`truncated_bptt`**.
"""),
code("""
%matplotlib widget
import gc
import numpy as np
import matplotlib.pyplot as plt
import rnnviz as chainer
from rnnviz import Variable, optimizers
from rnnviz import functions as F, links as L
from rnnviz.datasets import recall_batch
from rnnviz.iterators import ParallelSequentialIterator
from rnnviz.widgets import UnchainExplorer, BPTTComparison
"""),
md("""
## 1. The graph grows with the text

With full BPTT (lesson 3), the graph of a sequence holds every step until `backward()`. On a
corpus of a million words that is a million steps of saved activations: it does not fit, and a
single update for the whole corpus would be useless anyway. **Truncated BPTT** runs the forward
pass over the text in order, without ever resetting the state, but back-propagates only through
the last `bprop_len` steps at a time:

```python
loss = 0
for step, (x, t) in enumerate(stream):
    loss += model(x, t)                 # the state carries on
    if (step + 1) % bprop_len == 0:
        model.cleargrads()
        loss.backward()                 # gradient through the last bprop_len steps only
        loss.unchain_backward()         # cut: the history behind loss is dropped
        optimizer.update()
        loss = 0
```

## 2. What `unchain_backward()` cuts, and what it keeps

`v.unchain_backward()` walks back from `v` and removes every `creator` link on the way. Three
consequences, each checked below:

* **values are kept**: the LSTM's state still holds the same numbers, so the next step continues
  exactly where it would have;
* **the history is freed**: nothing refers to the old function nodes any more, so Python frees
  them and every array they saved for backward;
* **gradient stops at the cut**: a later `backward()` cannot reach inputs from before it.
"""),
code("""
np.random.seed(0)
lm = L.Classifier(L.RNNLM(50, 16, 16))
words = np.random.default_rng(0).integers(0, 50, size=(21, 4)).astype(np.int32)

gc.collect()
baseline = chainer.live_function_node_count()
lm.reset_state()
loss = 0
for t in range(10):
    loss += lm(words[t], words[t + 1])
alive = chainer.live_function_node_count() - baseline
state_before = lm.predictor.mid.h.array.copy()
print("function nodes alive after 10 steps:", alive)

loss.backward()
loss.unchain_backward()
gc.collect()
after_cut = chainer.live_function_node_count() - baseline
print("after backward() and unchain_backward():", after_cut)
assert alive >= 10 * 4 and after_cut == 0
assert np.array_equal(lm.predictor.mid.h.array, state_before)
assert lm.predictor.mid.h.creator is None
print("the state kept its values, and has no creator any more")
"""),
md("""
Gradient stops at the cut. Run five more steps from the kept state and back-propagate: the
parameters get gradients, but the old state, which is now a leaf, is as far as the gradient goes.
Its `grad` is filled (it is where the gradient arrives) and nothing before it is touched:
"""),
code("""
old_state = lm.predictor.mid.h
loss = 0
for t in range(10, 15):
    loss += lm(words[t], words[t + 1])
lm.cleargrads()
loss.backward()
print("gradient arriving at the cut state:", old_state.grad is not None)
assert old_state.grad is not None and old_state.creator is None
assert lm.predictor.embed.W.grad is not None
loss.unchain_backward()
"""),
md("""
The picture of the same thing. `UnchainExplorer` runs the loop above on a tiny LSTM language model
and, after the forward of the last step, reads which steps still have live function nodes. The
red dashed lines (✂) are the cuts; grey steps were freed, green ones are still held. The lower
plot counts the live nodes step by step: it climbs for `bprop_len` steps and drops at each cut.
Move **bprop_len** and **length**: memory follows `bprop_len`, not the length of the text.
"""),
code("""
explorer = UnchainExplorer(bprop_len=3)
explorer
"""),
md("""
## 3. Mini-batches from one long text

A mini-batch wants B different examples at once, but truncated BPTT needs each example to
continue, step after step, where the previous batch left it (the state carries on). The answer of
Chainer's PTB example: split the stream into B equal parts and put one **cursor** at the start of
each. Every call reads the word under each cursor and the one after it (the target), then moves
all cursors one word on. Row $i$ of consecutive batches is a continuous stretch of the text.
"""),
code("""
stream = np.arange(20, dtype=np.int32)
it = ParallelSequentialIterator(stream, batch_size=4)
print("offsets:", it.offsets)
for _ in range(3):
    batch = next(it)
    x = np.array([pair[0] for pair in batch])
    t = np.array([pair[1] for pair in batch])
    print("x =", x, " t =", t)
assert it.offsets == [0, 5, 10, 15]
assert np.array_equal(x, [2, 7, 12, 17]) and np.array_equal(t, x + 1)
"""),
md("""
## 4. The same idea in other libraries

**Flux.jl**, in the versions documented by the Flux "Recurrent Models" page this course drew on,
wrapped a cell in a stateful `Recur` and offered two verbs:

* `truncate!(model)`: keep the state's *values*, forget the gradient history behind them: what
  `unchain_backward()` does;
* `reset!(model)`: go back to the initial state: what `reset_state()` does.

Flux has since replaced both: its recurrent layers now take and return the state explicitly (the
cell style of lesson 2), and a state is truncated by simply not differentiating through the step
that produced it. The stateful links here keep the old verbs as methods, so you can compare:
"""),
code("""
np.random.seed(0)
layer = L.LSTM(3, 4)
x = np.ones((2, 3), np.float32)
for _ in range(3):
    layer(x)
value = layer.h.array.copy()

layer.truncate()
assert layer.h.creator is None and np.array_equal(layer.h.array, value)
print("truncate(): same values, no history")

layer.reset_state()
assert layer.h is None and layer.c is None
print("reset_state(): back to the initial (zero) state")
"""),
md("""
**"Deep Learning from Scratch 2"** writes each layer with its own `forward` and `backward` and
no graph at all. Its `TimeRNN` layer processes a block of `T` steps at once and, with
`stateful=True`, keeps the last hidden state for the next block. Its backward runs only over the
`T` steps of the block; the state handed over from the previous block is a plain array, so
nothing flows further back. Truncation there is not a call, it is the layer's shape: one block,
one backward.

With an explicit-state cell you get the same effect by cutting the state yourself between blocks:
keep its value in a fresh `Variable`, which has no creator.
"""),
code("""
np.random.seed(0)
cell = L.RNNCell(3, 4)
blocks = np.random.default_rng(2).standard_normal((2, 5, 1, 3)).astype(np.float32)
h = None
for block in blocks:
    if h is not None:
        h = Variable(h.array)
    h_start = h
    loss = 0
    for x_t in block:
        h, y = cell(h, x_t)
        loss += F.sum(y * y)
    cell.cleargrads()
    loss.backward()
assert h_start is not None and h_start.creator is None and h_start.grad is not None
print("second block: the gradient stopped at the state handed over from the first")
"""),
md("""
## 5. What truncation costs

The loss at step $t$ depends on the weights through every earlier step. The full gradient sums
one term per earlier step; truncated BPTT keeps only those from inside the current window. The
missing terms are exactly what `unchain_backward()` removed. Two things follow:

* the truncated gradient is **biased**: it is not the full gradient, and no amount of training
  data averages the difference away;
* a dependency **longer than the window** produces no gradient at all. The model can still carry
  information that far in its state, but nothing ever *teaches* it to.

How biased? `BPTTComparison` measures it, and a fair measurement needs three things. Its default
has all of them:

* **a gradient worth comparing**: a freshly initialised LSTM language model (hidden 16) on a task
  with a real long-range dependency, delayed recall with `lag = 4` (the answer at step $t$ is the
  token read 4 steps earlier), 16 steps. A model that already predicts its text perfectly has a
  gradient near zero, and comparing two near-zero vectors measures noise;
* **every placement of the cuts**: bprop_len $b$ may cut before steps $0, b, 2b, \\dots$, or before
  $o, o + b, \\dots$ for any offset $o < b$. Each offset gives another truncated gradient, and each
  point of the curves is the mean over all $b$ of them. One placement on one short sequence
  zig-zags: a window of 9 on 16 steps leaves a last window of 7, a window of 8 does not;
* **many sequences**: the gradient is the mean over a batch of 32 sequences.

On the left, row $t$, column $s$ is $\\lVert \\partial L_t / \\partial (h_s, c_s) \\rVert$: how much
gradient the loss at step $t$ sends to the state at step $s$ (the output $h$ and the cell $c$
together). The first four rows are blank: those steps have no answer yet. The grey pairs are the
ones the chosen **bprop_len** never sees (cuts before $0, b, 2b, \\dots$). On the right, for each
parameter and for the whole update (all parameters as one vector, the thick black line), the
cosine similarity and the relative error $\\lVert g - f \\rVert / \\lVert f \\rVert$ between the
truncated gradient $g$ and the full one $f$. **W_h scale** multiplies the recurrent weights.
"""),
code("""
comparison = BPTTComparison()
comparison
"""),
md("""
The numbers behind the picture, for the whole update (`comparison.measurement(scale)` returns
them all), and the same measurement for three initialisations of the model, each on its own data:
"""),
code("""
shown = [1, 3, 4, 5, 16]
print("default model   cosine at bprop_len", shown, "  | relative error")
for scale in comparison.scales:
    m = comparison.measurement(scale)
    k = [comparison.bprop_lens.index(b) for b in shown]
    print(f"W_h x {scale:<4g}  ", np.round(m["cos"][-1, k], 2), " |", np.round(m["err"][-1, k], 2))

from rnnviz.experiments import measure_table
for seed in (0, 1, 2):
    table = measure_table((0.25, 1, 2, 3, 4), seeds=(seed,), bprop_lens=shown)
    print(f"initialisation {seed}, cosine at bprop_len 1 and 3: " +
          ",  ".join(f"x{s:g} {c[0]:.2f} {c[1]:.2f}" for s, (c, e, _, _) in table.items()))
"""),
md("""
What the measurements say:

* **Longer windows help, at every scale**: the cosine rises and the relative error falls as
  bprop_len grows. At × 1 and bprop_len 3, the cosine is about 0.82 and the relative error about
  0.57: a window shorter than the lag misses a good part of the update.
* **The biggest single step comes at bprop_len 5**, the first window that can hold a token and
  the step, 4 later, that asks for it.
* **Even bprop_len 16 is not exact on average**: unless its window starts at step 0, it cuts once
  somewhere inside the 16 steps.
* **Shrinking W_h does not make truncation harmless for the LSTM**: at × 0.25 the relative error at
  bprop_len 1 is still about 0.58. The cell carries gradient back through the forget gate
  ($\\partial c_t / \\partial c_{t-1} = \\operatorname{diag}(f)$ has no $W_h$ in it), so old steps
  still count. The textbook story (small recurrent weights, vanishing gradients, truncation costs
  nothing) is the plain RNN's: see the second exercise.
* **Growing W_h makes truncation cost more, at first**: at × 2 the cosines lie below the × 1 ones
  for each of the three initialisations printed above. Beyond that the gates saturate (their
  outputs stick near 0 or 1 and pass little gradient) and the order is no longer the same for every
  model: for the default one the curves at × 4 lie above those at × 3, for initialisation 1 they
  lie below. A larger scale is not simply "more exploding".

"""),
md("""
## 6. The experiment: recall a token `lag` steps back

Now the second point, trained for real. The **delayed-recall** task from lesson 2: a stream of
random tokens from an alphabet of 4, and at each step the model must output the token it read
`lag = 6` steps earlier. Guessing is right one time in four. An LSTM can solve it perfectly, if
something teaches it to keep each token for 6 steps.

We train the same model with truncated BPTT, reading the same stream in the same way, with the
same number of training steps, and change only `bprop_len`: **3** (shorter than the lag), **6**
(exactly the lag), **7** and **12** (longer). The loop is the one from section 1.
"""),
code("""
def train_recall(bprop_len, lag=6, vocab=4, hidden=32, batch=32, total_steps=6000, seed=0):
    np.random.seed(seed)
    model = L.RNNLM(vocab, hidden, hidden)
    opt = optimizers.Adam(alpha=0.01).setup(model)
    opt.add_hook(chainer.optimizer_hooks.GradientClipping(5.0))
    xs, ts = recall_batch(batch, total_steps + lag + 1, lag, vocab_size=vocab, seed=seed)
    model.reset_state()
    losses = []
    for start in range(0, total_steps - bprop_len + 1, bprop_len):
        loss = 0
        for k in range(start, start + bprop_len):
            loss += F.softmax_cross_entropy(model(xs[:, k]), ts[:, k])
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()
        opt.update()
        if start >= lag:
            losses.append((start + bprop_len, float(loss.array) / bprop_len))
    return model, np.array(losses)


def recall_accuracy(model, lag=6, vocab=4, length=60, batch=64, seed=1):
    xs, ts = recall_batch(batch, length, lag, vocab_size=vocab, seed=seed)
    model.reset_state()
    hits = []
    with chainer.no_backprop_mode():
        for k in range(length):
            guess = model(xs[:, k]).array.argmax(axis=1)
            if k >= lag:
                hits.append(guess == ts[:, k])
    return float(np.mean(hits))


runs = {}
for bprop_len in (3, 6, 7, 12):
    model, losses = train_recall(bprop_len)
    runs[bprop_len] = (losses, recall_accuracy(model))
    print(f"bprop_len {bprop_len:2d}: accuracy on fresh data {runs[bprop_len][1]:.2f}")
"""),
code("""
fig, ax = plt.subplots(figsize=(7, 3.2), num="the recall experiment", clear=True)
for bprop_len, (losses, acc) in runs.items():
    ax.plot(losses[:, 0], losses[:, 1], label=f"bprop_len {bprop_len} (accuracy {acc:.2f})", lw=1)
ax.axhline(np.log(4), color="grey", ls="--", lw=1, label="chance: log 4")
ax.set_xlabel("training steps (words read per sequence)")
ax.set_ylabel("loss per step")
ax.set_title("delayed recall, lag 6")
ax.legend()
fig.tight_layout()
plt.show()

assert runs[3][1] < 0.35 and runs[6][1] < 0.4, "bprop_len <= lag 6 should stay near chance (0.25)"
assert runs[7][1] > 0.6 and runs[12][1] > 0.9, "bprop_len > lag 6 should learn to recall"
"""),
md("""
With `bprop_len = 3` the loss never leaves the chance line: the model read every token, and its
state could have kept it, but no gradient ever connected the output at step $t$ with the input at
step $t - 6$, so it never learned to. `bprop_len = 6`, equal to the lag, stays near chance too;
7 learns a good part of the task; and with `bprop_len = 12` the same model, on the same data and
for the same number of steps, learns to recall almost perfectly (the accuracies printed above).

(The lesson trains 6,000 steps of a 32-unit LSTM: a few seconds. For the full picture, run
`train_recall` for every `bprop_len` from 1 to 12 and `lag` 4, 6 and 8, with `total_steps=12000`,
and plot the accuracies: each lag draws a step, flat at chance up to `bprop_len = lag` and rising
above it.)

## Try it
"""),
answer("""
1. Above, `bprop_len = 7` learns and `bprop_len = 6` does not, though 6 is the lag. Why is
   `bprop_len = lag` not enough, and why does 12 do better than 7?
""", """
A gradient can teach the pair (input at $t - 6$, output at $t$) only when both lie in the same
window: the input and the six steps after it, at least 7 steps. With windows of 6 no pair ever
does. With windows of 7, only the last position of each window has its input inside the window:
one pair in seven gets a gradient. With 12, six positions in each window do, six times as many
teaching signals per window.
"""),
answer("""
2. Build the same comparison for a plain RNN:
   `BPTTComparison(protocol_model(cell="rnn"), *protocol_data())` (both from
   `rnnviz.experiments`). Move **W_h scale** from `× 0.25` to `× 3`. How does the cost of truncation
   change, and how is that different from the LSTM?
""", """
For the RNN the textbook story holds. At × 0.25 its gradient vanishes within a few steps, so
truncation costs almost nothing: the relative error at bprop_len 1 is below 0.1. At × 1 it is
about 0.5, and at × 3, where old terms dominate the full gradient, about 0.98: a truncated
gradient then points almost anywhere. The LSTM differs at the small end: its cell keeps old steps
in the gradient whatever $W_h$ is, so truncation costs something even at `× 0.25`.
"""),
answer("""
3. In `UnchainExplorer`, set **bprop_len** to 1. How many function nodes are alive at most, and
   what does the gradient of one update see?
""", """
One step's worth: each update back-propagates through a single step. The state still carries
information forward, but every gradient ends one step back, as if the previous state were an
input from outside.
"""),
answer("""
4. Section 2 calls `gc.collect()` before counting. Is the history freed without it?
""", """
Yes: once nothing refers to a node, CPython frees it at once (reference counting). The call only
makes sure that cycles created elsewhere (by the notebook itself, for instance) do not blur the
count.
"""),
md("""
## Next

Lesson 05 evaluates a model without recording any history at all (`no_backprop_mode()`), and
measures how much memory that saves.

**Assignment:** `truncated_bptt` (the updater: accumulate `bprop_len` losses, back-propagate, cut,
update) in `assignments/`.
"""),
]
