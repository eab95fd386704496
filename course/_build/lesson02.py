from nb import answer, code, md

NAME = "02_recurrence.ipynb"

CELLS = [
md("""
# 02 · Recurrence: one cell, applied again and again

**Goals.** After this lesson you can

* say what a language model computes, and why a model that only sees a fixed window of the last
  few words cannot be enough;
* write the recurrence $h_t = \\tanh(h_{t-1} W_h + x_t W_x + b)$ with NumPy, and recognise it in
  the library's `L.RNN`;
* use a recurrent layer both ways: as an **explicit-state cell** that takes the state and returns
  the new one, and as a **stateful layer** that keeps it for you;
* explain unrolling and back-propagation through time (BPTT), and watch a hidden state move with
  `HiddenStateAnimator`.

About **45 minutes**. Practised in the assignment
[**02 · `rnn_by_hand`**](../assignments/rnn_by_hand/rnn_by_hand.ipynb).
"""),
code("""
%matplotlib widget
import numpy as np
import matplotlib.pyplot as plt
import rnnviz as chainer
from rnnviz import Variable, optimizers
from rnnviz import functions as F, links as L
from rnnviz.datasets import recall_batch
from rnnviz.widgets import GraphView, HiddenStateAnimator
"""),
md("""
## 1. A language model, and why a window is not enough

A language model gives a probability to a sequence of words $w_1, \\dots, w_T$. The chain rule of
probability turns that one big probability into a product of next-word predictions, each one
conditioned on **everything before it**:

$$P(w_1, \\dots, w_T) = \\prod_{t=1}^{T} P(w_t \\mid w_1, \\dots, w_{t-1}).$$

This is exact; nothing has been assumed yet. A classical shortcut keeps only the last $n-1$ words
of the condition (an $n$-gram model, or a feed-forward net that reads a fixed window). Whatever
happened earlier is then invisible to the model, however much it matters.

To see how much that can cost, take a stream of random tokens from an alphabet of 4 in which the
right answer at step $t$ is the token seen **6 steps earlier** (the *delayed-recall* task, used
again in lesson 4). The best a window model can do is to predict, for each window it sees, the
target that most often follows that window. Let it look at the last 3 tokens, count on 20,000
steps, and measure on fresh data:
"""),
code("""
lag, window, vocab = 6, 3, 4
xs, ts = recall_batch(1, 20000, lag, vocab_size=vocab, seed=0)
xs, ts = xs[0], ts[0]

counts = np.zeros((vocab,) * window + (vocab,))
for t in range(lag, len(xs)):
    counts[tuple(xs[t - window + 1:t + 1]) + (ts[t],)] += 1
best_guess = counts.argmax(axis=-1)

xs2, ts2 = recall_batch(1, 5000, lag, vocab_size=vocab, seed=1)
xs2, ts2 = xs2[0], ts2[0]
hits = [best_guess[tuple(xs2[t - window + 1:t + 1])] == ts2[t] for t in range(lag, len(xs2))]
accuracy = float(np.mean(hits))
print(f"window of {window} tokens: accuracy {accuracy:.3f}; chance is {1 / vocab:.2f}")
assert accuracy < 0.3
"""),
md("""
The window model is stuck at chance: what it needs lies outside its window. A recurrent net does
not choose a window. It carries a **hidden state** $h_t$ from step to step, a fixed-size vector
that can, in principle, hold on to anything it has read.

## 2. The recurrence, by hand

The simplest recurrent layer (Elman's) computes one new state per input:

$$h_t = \\tanh\\left(h_{t-1} W_h + x_t W_x + b\\right)$$

with row vectors, as "Deep Learning from Scratch 2" writes it: `x_t` has shape `(batch, D)`,
$W_x$ is `(D, H)`, $W_h$ is `(H, H)`, and the state `h` is `(batch, H)`. The same three weights
are used at every step. In NumPy the whole layer is a loop of two lines:
"""),
code("""
rng = np.random.default_rng(0)
D, H, T, batch = 3, 4, 5, 2
Wx = rng.standard_normal((D, H)).astype(np.float32) * 0.5
Wh = rng.standard_normal((H, H)).astype(np.float32) * 0.5
b = np.zeros(H, np.float32)
inputs = rng.standard_normal((T, batch, D)).astype(np.float32)

h = np.zeros((batch, H), np.float32)
states_numpy = []
for x_t in inputs:
    h = np.tanh(h @ Wh + x_t @ Wx + b)
    states_numpy.append(h)
print("h_T =", np.round(h, 3))
"""),
md("""
`L.RNN` is that loop body as a link. It stores $W_x$ and $b$ in its child `upward` and $W_h$ in
`lateral`; being `Linear` links, they keep their weights as `(out, in)`, the transpose of the row
form above. Copy our weights in and it computes exactly the same states:
"""),
code("""
rnn = L.RNN(D, H)
rnn.upward.W.array[...] = Wx.T
rnn.upward.b.array[...] = b
rnn.lateral.W.array[...] = Wh.T

states_rnnviz = [rnn(x_t) for x_t in inputs]
assert all(np.allclose(a.array, b_, atol=1e-6) for a, b_ in zip(states_rnnviz, states_numpy))
print("L.RNN computes the same h_t at every step")
"""),
md("""
## 3. Two ways to hold the state

Where does `h` live between two calls? There are two common answers, and this library has both.

**An explicit-state cell** is a plain function of the state and the input that returns the new
state and an output: `h, y = cell(h, x)`. Nothing is hidden; you carry `h` yourself. Flux.jl
calls such a function a *recurrent cell*, and "Deep Learning from Scratch 2" writes its `RNN`
layer the same way (its `forward(x, h_prev)` returns `h_next`). Here it is `L.RNNCell`.

**A stateful layer** keeps the state inside and advances one step per call: `h = layer(x)`. This is
Chainer's `L.RNN` / `L.LSTM` (and Flux's old `Recur` wrapper, and DLFS2's `TimeRNN` with
`stateful=True`). `reset_state()` forgets the state: the next call starts from zeros.

Same weights, same inputs: the two compute the same thing.
"""),
code("""
cell = L.RNNCell(D, H)
for name in ("upward", "lateral"):
    getattr(cell, name).W.array[...] = getattr(rnn, name).W.array
cell.upward.b.array[...] = rnn.upward.b.array

h = None
states_cell = []
for x_t in inputs:
    h, y = cell(h, x_t)
    states_cell.append(y)

rnn.reset_state()
states_layer = [rnn(x_t) for x_t in inputs]
assert all(np.allclose(a.array, c.array) for a, c in zip(states_cell, states_layer))
print("explicit-state cell and stateful layer agree at all", T, "steps")
"""),
md("""
The stateful form is convenient for long texts that arrive in pieces: the state simply carries
over from one piece to the next. Feeding the sequence in two halves gives the same final state as
feeding it in one go, as long as you do **not** call `reset_state()` in between:
"""),
code("""
rnn.reset_state()
for x_t in inputs[:2]:
    rnn(x_t)
for x_t in inputs[2:]:
    h_in_two_pieces = rnn(x_t)
assert np.allclose(h_in_two_pieces.array, states_layer[-1].array)

rnn.reset_state()
for x_t in inputs[2:]:
    h_after_reset = rnn(x_t)
assert not np.allclose(h_after_reset.array, states_layer[-1].array)
print("carried over: same state; after reset_state(): a different one")
"""),
md("""
## 4. Unrolling, and back-propagation through time

Run the layer for $T$ steps and look at what the library recorded: the same few function nodes,
once per step, each step's output feeding the next step. This is the **unrolled** graph; the loop
in your code became a chain in the graph. Each step adds the same number of nodes:
"""),
code("""
rnn.reset_state()
counts = [chainer.live_function_node_count()]
for x_t in inputs:
    h = rnn(x_t)
    counts.append(chainer.live_function_node_count())
per_step = np.diff(counts)
print("function nodes added by each step:", per_step)
assert len(set(per_step[1:])) == 1
"""),
md("""
(The first step adds fewer: there is no previous state to multiply by $W_h$ yet.)

**Back-propagation through time** is nothing but `backward()` on this unrolled graph. Since
$h_T$ depends on $h_{T-1}$, which depends on $h_{T-2}$, and so on, a loss at the last step sends
gradient back through every step, down to the first input. And since $W_h$ is used at every step,
its gradient is a **sum of $T$ contributions**, one per use (gradient accumulation from lesson 1,
at work inside one `backward()`). Check both facts:
"""),
code("""
xs = [Variable(x_t) for x_t in inputs]
rnn.reset_state()
for x_t in xs:
    h = rnn(x_t)
loss = F.sum(h * h)
rnn.cleargrads()
loss.backward()
print("gradient reaching the FIRST input:", np.round(xs[0].grad[0], 4))
assert np.abs(xs[0].grad).sum() > 0

grad_Wh = rnn.lateral.W.grad.copy()
eps = 1e-2
W = rnn.lateral.W.array
numeric = np.zeros_like(W)
for idx in np.ndindex(W.shape):
    old = W[idx]
    for sign in (+1, -1):
        W[idx] = old + sign * eps
        rnn.reset_state()
        for x_t in inputs:
            hh = rnn(x_t)
        numeric[idx] += sign * float(F.sum(hh * hh).array) / (2 * eps)
    W[idx] = old
print("largest difference from finite differences:", np.abs(numeric - grad_Wh).max())
assert np.allclose(numeric, grad_Wh, atol=2e-2)
"""),
md("""
`GraphView` shows the unrolled graph of this loss. Time runs left to right; each column is one
call of the layer. Choose **every function** to see the individual operations of each step, or
*grouped by link* for one box per step.
"""),
code("""
graph = GraphView(loss)
graph
"""),
md("""
## 5. Watching a hidden state

A state means little on random inputs. Let a small recurrent language model learn a few short
sentences: an embedding turns each word into a vector, `L.RNN` carries the state, a linear layer
scores every word of the vocabulary as the next word. Training is the four-line loop of lesson 1,
with the loss summed over the sentence (full BPTT; lesson 4 cuts it into windows).
"""),
code("""
text = ("the cat sat on the mat . the dog sat on the log . "
        "the cat saw the dog . the dog saw the cat .").split()
vocab = sorted(set(text))
ids = np.array([vocab.index(w) for w in text], np.int32)

np.random.seed(0)
model = L.RNNLM(len(vocab), 16, 16, cell="rnn")
opt = optimizers.Adam(alpha=0.02).setup(model)
history = []
for epoch in range(150):
    model.reset_state()
    loss = 0
    for x_t, t_t in zip(ids[:-1], ids[1:]):
        loss += F.softmax_cross_entropy(model(x_t[None]), t_t[None])
    model.cleargrads()
    loss.backward()
    opt.update()
    history.append(float(loss.array) / (len(ids) - 1))
print(f"mean loss per word: {history[0]:.2f} -> {history[-1]:.2f} (uniform guessing: {np.log(len(vocab)):.2f})")
assert history[-1] < 0.5 * history[0]
"""),
md("""
The model has learned this little text by heart. That is less trivial than it sounds: after
*"sat on the"* it must say *mat* the first time and *log* the second. The last three words are the
same both times, so no window of three words could tell the two apart; only the state, which still
remembers *cat* or *dog*, can:
"""),
code("""
model.reset_state()
states, guesses = [], []
for x_t in ids:
    y = model(x_t[None])
    states.append(model.mid.h.array[0].copy())
    guesses.append(vocab[int(y.array.argmax())])
first, second = 4, 11
print(" ".join(text[first - 3:first + 1]), "->", guesses[first])
print(" ".join(text[second - 3:second + 1]), "->", guesses[second])
print("distance between the two states:", np.round(np.linalg.norm(states[first] - states[second]), 3))
assert text[first - 2:first + 1] == text[second - 2:second + 1]
assert (guesses[first], guesses[second]) == ("mat", "log")
"""),
md("""
`HiddenStateAnimator` runs the trained model over the text one word at a time. Move **time step t**
or press ▶: the graph grows by a column, the heat map gains the new state $h_t$ (one row per
hidden unit), and the panel shows the word the model predicts next. Compare the columns of the two
*the*s at steps 4 and 11.
"""),
code("""
animator = HiddenStateAnimator(model, ids[:18], words=vocab)
animator
"""),
md("""
## Try it
"""),
answer("""
1. In section 1, give the window model `window = 6` (keep the lag at 6). What accuracy do you expect,
   and why? And with `window = 7`?
""", """
With a window of 6 the model sees $x_{t-5} \\dots x_t$, still not $x_{t-6}$: it stays at chance,
about 0.25. With 7 it sees the token it must repeat, yet it reaches only about 0.78: its count
table has $4^7 = 16384$ rows, and 20,000 training steps fill only about 70% of them. On a window it
never saw, it guesses, and a guess is right one time in four. Count on ten times as many steps and
it is perfect, 1.00. A window's table grows exponentially with what the model must remember, and so
does the data needed to fill it; a hidden state does not.
"""),
answer("""
2. In section 4, how many function nodes does one step of `L.RNN` add, and which are they? (Try
   *every function* in `GraphView`.)
""", """
Four after the first step: the input's linear map (`Linear`), the state's linear map (`Linear`),
their sum (`Add`) and the `Tanh`. The first step adds two: there is no state to multiply or add.
"""),
answer("""
3. Multiply `Wh` by 10 and run section 2 again. What happens to the hidden states, and what would
   you expect for the gradients that travel back through many steps?
""", """
The states saturate at ±1 (the `tanh` is flat there), so $1 - h^2$ is close to 0 and the gradient
shrinks at each step it travels back. With small weights the product of Jacobians also shrinks.
Only in a narrow range does a signal survive many steps: lesson 3 shows the gradient vanishing in
a plain RNN and surviving in an LSTM.
"""),
md("""
## Next

Lesson 03 replaces `L.RNN` by an LSTM, whose gates let a gradient travel much further back, and
builds the Chainer tutorial's language model with it.

**Assignment:** [02 · `rnn_by_hand`](../assignments/rnn_by_hand/rnn_by_hand.ipynb) (the forward and
backward of the recurrence, for one step and for a whole sequence).
"""),
]
