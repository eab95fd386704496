from nb import answer, code, md

NAME = "03_lstm_language_model.ipynb"

CELLS = [
md("""
# 03 · An LSTM language model

**Goals.** After this lesson you can

* turn word ids into vectors with `EmbedID`, and say where its gradient goes;
* compute one LSTM step by hand, gate by gate, in the library's `[i, f, g, o]` layout;
* build the Chainer tutorial's language model (embedding → LSTM → linear) inside a `Classifier`,
  sum its loss over a sequence and back-propagate through all of it (full BPTT);
* read its graph grouped by link, and **measure** why the LSTM exists: how far back a gradient
  reaches in a plain RNN and in an LSTM on the same data.

About **50 minutes**. Practised in the assignment **`lstm`**.
"""),
code("""
%matplotlib widget
import numpy as np
import matplotlib.pyplot as plt
import rnnviz as chainer
from rnnviz import Variable, optimizers
from rnnviz import functions as F, links as L
from rnnviz.widgets import GraphView, BPTTComparison
"""),
md("""
## 1. Words in, vectors out: `EmbedID`

A word id is a category, not a quantity: word 7 is not "bigger" than word 3. `L.EmbedID(V, D)`
holds a table `W` of shape `(V, D)`, one learned row per word, and the embedding of word `k` is
simply row `k`. A batch of ids gives a batch of rows.

Its backward is just as simple: the gradient of each output row is added to the row it came
from, and the rows of words that were not in the batch get nothing.
"""),
code("""
np.random.seed(0)
embed = L.EmbedID(10, 4)
ids = np.array([3, 7, 3], np.int32)
e = embed(ids)
assert np.array_equal(e.array, embed.W.array[ids])

embed.cleargrads()
F.sum(e).backward()
print("rows of W.grad (word 3 was used twice, word 7 once):")
print(embed.W.grad[[0, 3, 7]])
assert np.allclose(embed.W.grad[3], 2) and np.allclose(embed.W.grad[7], 1)
assert np.allclose(np.delete(embed.W.grad, [3, 7], axis=0), 0)
"""),
md("""
## 2. One LSTM step, gate by gate

A plain RNN overwrites its state at every step through a `tanh`. An LSTM keeps a second state,
the **cell** $c_t$, that is changed only by adding and by scaling. From the input and the previous
output it computes four blocks of pre-activations at once,

$$a_t = x_t W_x + h_{t-1} W_h + b, \\qquad a_t = [\\,a^i \\mid a^f \\mid a^g \\mid a^o\\,]$$

(each block $H$ wide, in this order: the library's layout, also PyTorch's) and then

$$i = \\sigma(a^i),\\quad f = \\sigma(a^f),\\quad g = \\tanh(a^g),\\quad o = \\sigma(a^o)$$
$$c_t = f \\odot c_{t-1} + i \\odot g, \\qquad h_t = o \\odot \\tanh(c_t).$$

* the **input gate** $i$ decides how much of the candidate $g$ is written into the cell;
* the **forget gate** $f$ decides how much of the old cell is kept;
* the **output gate** $o$ decides how much of the cell is shown as the output $h_t$.

`L.LSTM` stores $W_x$ and $b$ in `upward` and $W_h$ in `lateral` (Chainer's names), as `(out, in)`
matrices. Compute two steps by hand and compare:
"""),
code("""
def sigmoid(a):
    return 1 / (1 + np.exp(-a))

rng = np.random.default_rng(0)
D, H, batch = 3, 5, 2
lstm = L.LSTM(D, H)
Wx, b, Wh = lstm.upward.W.array.T, lstm.upward.b.array, lstm.lateral.W.array.T

h = np.zeros((batch, H), np.float32)
c = np.zeros((batch, H), np.float32)
lstm.reset_state()
for step in range(2):
    x = rng.standard_normal((batch, D)).astype(np.float32)
    a = x @ Wx + h @ Wh + b
    i, f, g, o = (a[:, k * H:(k + 1) * H] for k in range(4))
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c = f * c + i * g
    h = o * np.tanh(c)
    h_lib = lstm(x)
    assert np.allclose(h_lib.array, h, atol=1e-5) and np.allclose(lstm.c.array, c, atol=1e-5)
print("L.LSTM matches the gate equations; h =", np.round(h[0], 3))
"""),
md("""
One detail of the initialisation matters a lot. The forget gate's bias starts at **1**, so at the
start of training $f = \\sigma(1) \\approx 0.73$: the cell keeps most of what it holds, and a
gradient can travel back along $c$ for many steps before it fades. (Section 5 measures this.)
"""),
code("""
forget_bias = lstm.upward.b.array[H:2 * H]
print("forget-gate bias:", forget_bias)
assert np.allclose(forget_bias, 1.0)
"""),
md("""
The cell alone (the lines from the gates to $c_t, h_t$) is also available as a function:
`F.lstm(c_prev, a)` takes the pre-activations and returns `(c, h)`. `L.LSTM` records one graph
node per step that does the two linear maps and the cell together, the way "Deep Learning from
Scratch 2" writes its LSTM layer.
"""),
code("""
c_new, h_new = F.lstm(np.zeros((batch, H), np.float32), a)
i, f, g, o = (a[:, k * H:(k + 1) * H] for k in range(4))
assert np.allclose(c_new.array, sigmoid(i) * np.tanh(g), atol=1e-5)
print("F.lstm on the last step's pre-activations, from a zero cell: c =", np.round(c_new.array[0], 3))
"""),
md("""
## 3. The tutorial's language model

The language model of Chainer's recurrent-net tutorial reads one word per call and scores every
word of the vocabulary as the next one: an embedding (1000 words → 100 numbers), an LSTM (100 →
50) and a linear layer (50 → 1000). Written as a `Chain`:
"""),
code("""
class RNN(chainer.Chain):
    def __init__(self, n_vocab=1000, n_embed=100, n_hidden=50):
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(n_vocab, n_embed)
            self.mid = L.LSTM(n_embed, n_hidden)
            self.out = L.Linear(n_hidden, n_vocab)

    def reset_state(self):
        self.mid.reset_state()

    def forward(self, cur_word):
        return self.out(self.mid(self.embed(cur_word)))


np.random.seed(0)
rnn = RNN()
model = L.Classifier(rnn)
print(sum(p.size for p in model.params()), "parameters")
"""),
md("""
`L.Classifier` wraps a predictor and a loss: `model(x, t)` runs `predictor(x)`, keeps the scores in
`model.y`, and returns the softmax cross entropy with the right answers `t`, that is
$-\\log \\operatorname{softmax}(y)_t$ averaged over the batch. (`L.RNNLM(1000, 100, 50)` is the same
model, ready-made; later lessons use it.)
"""),
code("""
rnn.reset_state()
x = np.array([4, 8], np.int32)
t = np.array([15, 16], np.int32)
loss = model(x, t)
y = model.y.array
log_softmax = y - y.max(axis=1, keepdims=True)
log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
by_hand = -log_softmax[np.arange(2), t].mean()
print(f"Classifier loss {float(loss.array):.4f}, by hand {by_hand:.4f}, log(1000) = {np.log(1000):.4f}")
assert np.isclose(float(loss.array), by_hand, atol=1e-5)
"""),
md("""
An untrained model spreads its bets evenly, so its loss is close to $\\log 1000 \\approx 6.9$.

## 4. The loss over a sequence, and full BPTT

For a sequence of words, the loss is the sum of the next-word losses at every position. The loop
feeds one word at a time; the LSTM carries its state from call to call; `loss` accumulates, and
with it the whole unrolled graph. One `backward()` then sends gradient through every step:
**full** back-propagation through time.
"""),
code("""
def compute_loss(x_list):
    loss = 0
    for cur_word, next_word in zip(x_list, x_list[1:]):
        loss += model(cur_word, next_word)
    return loss

rng = np.random.default_rng(1)
x_list = [rng.integers(0, 1000, size=2).astype(np.int32) for _ in range(8)]

rnn.reset_state()
model.cleargrads()
loss = compute_loss(x_list)
loss.backward()
no_grad = [name for name, p in model.namedparams() if p.grad is None]
print("loss over 7 predictions:", float(loss.array))
print("parameters without a gradient:", no_grad)
assert not no_grad
"""),
md("""
An optimizer can run the same thing in one call, `optimizer.update(compute_loss, x_list)`, which
clears the gradients, computes the loss, back-propagates and updates (lesson 1). The loss on
these 8 words falls when we repeat it:
"""),
code("""
optimizer = optimizers.SGD(lr=0.5).setup(model)
rnn.reset_state()
before = float(compute_loss(x_list).array)
for _ in range(5):
    rnn.reset_state()
    optimizer.update(compute_loss, x_list)
rnn.reset_state()
after = float(compute_loss(x_list).array)
print(f"loss on the same 8 words: {before:.3f} -> {after:.3f}")
assert after < before
"""),
md("""
`GraphView` draws the graph behind this loss, **grouped by link**: one box per link and time step
(the embedding, the LSTM, the output layer, the loss), time running left to right. The LSTM's
boxes are chained to each other: that chain is the path the state, and the gradient, travel along.
Switch to *every function* to see what each box holds.
"""),
code("""
rnn.reset_state()
loss = compute_loss(x_list[:6])
loss.backward(retain_grad=True)
graph = GraphView(loss, grouped=True)
graph
"""),
md("""
## 5. Why the LSTM exists: how far back does a gradient reach?

Take the loss at the **last** step of a 30-step sequence and ask how large its gradient is with
respect to the hidden state at each earlier step $s$, $\\lVert \\partial L_T / \\partial h_s \\rVert$.
With `retain_grad=True` the library keeps those gradients in `h_s.grad`, so we can read them
directly. Same data, same sizes, two models: a plain RNN and an LSTM, both freshly initialised.

Going back one step multiplies the gradient by a Jacobian. For the plain RNN it is
$W_h^\\top \\operatorname{diag}(1 - h^2)$: a weight matrix and a `tanh` slope at every step, so the
product shrinks (or grows) geometrically. The LSTM has two paths back. Along the cell itself,
$\\partial c_t / \\partial c_{t-1}$ is just $\\operatorname{diag}(f)$: no weight matrix, no `tanh`, and
$f \\approx 0.73$ at the start. Every other path goes through $h_{t-1}$, which reaches step $t$
only through $W_h$ and the gates, like the RNN's. So the LSTM's $h_s$ has a reach of its own to
measure: we read `h.grad`, and `c.grad` for the cell.
"""),
code("""
def gradient_reach(cell, T=30, vocab=20, hidden=32, seed=0):
    np.random.seed(seed)
    lm = L.RNNLM(vocab, hidden, hidden, cell=cell)
    words = np.random.default_rng(1).integers(0, vocab, size=(T + 1, 4)).astype(np.int32)
    lm.reset_state()
    states = []
    for t in range(T):
        y = lm(words[t])
        states.append((lm.mid.h, getattr(lm.mid, "c", None)))   # c: the LSTM's cell
    F.softmax_cross_entropy(y, words[T]).backward(retain_grad=True)
    h_norms = np.array([np.linalg.norm(h.grad) for h, c in states])
    if cell == "rnn":
        return h_norms / h_norms[-1], None
    # the last cell feeds nothing outside the last step (h_T is made from it inside), so it has no
    # .grad of its own; both LSTM curves are measured against the last h-gradient
    c_norms = np.array([np.nan if c.grad is None else np.linalg.norm(c.grad) for h, c in states])
    return h_norms / h_norms[-1], c_norms / h_norms[-1]

reach = {cell: gradient_reach(cell) for cell in ("rnn", "lstm")}
back = np.arange(30) - 29
fig, ax = plt.subplots(figsize=(7, 3.2), num="how far back a gradient reaches", clear=True)
ax.semilogy(back, reach["rnn"][0], "o-", ms=3, label="L.RNN: h")
ax.semilogy(back, reach["lstm"][0], "o-", ms=3, label="L.LSTM: h")
ax.semilogy(back, reach["lstm"][1], "s--", ms=3, label="L.LSTM: cell c")
ax.set_xlabel("step s, relative to the last one")
ax.set_ylabel("||dL_T/d state_s|| / at s = T")
ax.set_title("gradient of the last step's loss, reaching back")
ax.legend()
fig.tight_layout()
plt.show()
for label, norms in (("rnn h", reach["rnn"][0]), ("lstm h", reach["lstm"][0]), ("lstm c", reach["lstm"][1])):
    print(f"{label:6s}: 1 step back {norms[-2]:.3f}, 10 steps back {norms[-11]:.1e}, "
          f"29 steps back {norms[0]:.1e}")
lower = [k for k in range(1, 30) if reach["lstm"][0][-1 - k] < reach["rnn"][0][-1 - k]]
print("steps back where the LSTM's h-gradient is the smaller one:", lower)
c = reach["lstm"][1]
print(f"lstm c: shrinks by {(c[-11] / c[-2]) ** (1 / 9):.2f} per step from 1 to 10 steps back")
assert reach["lstm"][0][-2] < reach["rnn"][0][-2] and reach["lstm"][0][0] > 10 * reach["rnn"][0][0]
"""),
md("""
Read the curves from the right. One step back, the LSTM's $h$-gradient drops to about 0.17 of
its value at the last step, while the RNN's keeps about 0.64: $h_{T-1}$ reaches the LSTM's last
loss only through $W_h$ and the gates, a weak path in a fresh model. The cell is the LSTM's
memory: its gradient lies above the $h$-gradient at every step back, and from one step back to
ten it shrinks by a factor of about 0.79 per step, close to $f$ (the other paths add a little).
Further back the $h$-gradient follows the cell (every $h_s$ feeds $c_{s+1}$ through the gates),
and the order of the two models turns: beyond 10 steps back, the LSTM's gradient is the larger
one, and 29 steps back it is more than 50 times the RNN's (the numbers above; the list shows
where the LSTM's was still the smaller). A model cannot learn a dependency its
gradient never feels. Training can also move the LSTM's forget gates towards 1 where remembering
pays off, lengthening its reach further; the plain RNN has no such knob.

`BPTTComparison` shows the whole picture for both models on the same 12 words: on the left, row $t$,
column $s$ is the gradient of the step loss $L_t$ with respect to the whole state at step $s$
($h_s$ for the RNN; $h_s$ and $c_s$ together for the LSTM), for **every** step loss (log colour
scale). The two widgets share one colour scale (`BPTTComparison.share_scales`), so the same colour
means the same size in both. Look at how quickly each row fades to the left. Eight steps back, at
**W_h scale** × 1, the RNN's rows have faded to about 0.016 of their value on the diagonal and the
LSTM's to about 0.08; at × 0.5 the RNN's are below $10^{-4}$ while the LSTM's keep about 0.048,
carried by the cell. **W_h scale** multiplies the recurrent weights: find where each model's
gradient vanishes and where it explodes. (The
right-hand panels and **bprop_len** are the subject of lesson 4; here `bprop_len=12` keeps the
whole map in view.)
"""),
code("""
words = np.random.default_rng(1).integers(0, 20, size=(13, 4)).astype(np.int32)
np.random.seed(0)
rnn_model = L.Classifier(L.RNNLM(20, 16, 16, cell="rnn"))
np.random.seed(0)
lstm_model = L.Classifier(L.RNNLM(20, 16, 16, cell="lstm"))

flow_rnn = BPTTComparison(rnn_model, words[:-1], words[1:], bprop_len=12)
flow_lstm = BPTTComparison(lstm_model, words[:-1], words[1:], bprop_len=12)
BPTTComparison.share_scales(flow_rnn, flow_lstm)   # one colour scale for both pictures
flow_rnn
"""),
code("""
flow_lstm
"""),
md("""
## Try it
"""),
answer("""
1. Set the LSTM's forget-gate bias to 0: in `gradient_reach`, right after `lm = ...`, add
   `if cell == "lstm": lm.mid.upward.b.array[hidden:2 * hidden] = 0`. How far back does the
   gradient reach now?
""", """
Less far: 29 steps back, the gradient is hundreds of times smaller than with the bias at 1.
$f = \\sigma(0) = 0.5$ halves the cell's gradient at every step, against $0.73$ with the bias at 1.
Along the cell path alone, after 29 steps that is $0.5^{29} \\approx 2\\cdot10^{-9}$ against
$0.73^{29} \\approx 10^{-4}$; the other paths, through $h$ and the gates, change the measured
numbers but not the order. This is why a forget bias of 1 is the usual initialisation.
"""),
answer("""
2. In section 1, what is `embed.W.grad` for a word that never appears in the batch? What does that
   mean for rare words during training?
""", """
Zero: a row is only updated when its word occurs. Rare words get few updates, which is one reason
language models replace the rarest words by `<unk>` (lesson 6).
"""),
answer("""
3. In section 4 the loss is a **sum** over steps. What changes if you divide it by the number of
   steps?
""", """
Every gradient is scaled by $1/T$; its direction does not change. What that does to the update
depends on the optimizer. For plain SGD (used here), the step is `lr` times the gradient, so it is
the same as dividing the learning rate by $T$. Adam divides each gradient by a running estimate
of its own size, so a constant factor cancels (up to its small $\\epsilon$) and the updates stay
the same; momentum SGD scales like plain SGD. Chainer's tutorial sums; the BPTT updater in
lesson 6 sums too and reports the mean per step.
"""),
md("""
## Next

Lesson 04 stops the graph from growing forever: `unchain_backward()` cuts the history every few
steps, and a real experiment shows what such a cut costs.

**Assignment:** `lstm` (the LSTM step's forward and backward, checked against finite differences)
in `assignments/`.
"""),
]
