from nb import answer, code, md

NAME = "09_gated_cells.ipynb"

CELLS = [
md("""
# 09 · Gated cells, measured

**Goals.** After this lesson you can

* derive back-propagation through time for the plain RNN step by step, write it in NumPy and check
  it against `backward()`;
* read from those equations why a plain RNN's gradient fades (or blows up) over many steps, and what
  the LSTM's cell and the GRU's update gate change about it, and what they do not;
* compute a GRU step by hand in the library's (and PyTorch's) `[r, z, n]` layout;
* train a plain RNN, a GRU and two LSTMs (forget-gate bias 0 and 1) on delayed recall, measure their
  accuracy against the lag, and say what the measurement shows and what it does not.

About **50 minutes**. It builds on lesson 03 (how far back a gradient reaches, measured) and
lesson 04 (delayed recall, truncated). Practised in the assignment
[**09 · `gru`**](../assignments/gru/gru.ipynb) (the GRU step, forward and backward by hand).
"""),
code("""
%matplotlib widget
import numpy as np
import matplotlib.pyplot as plt
import rnnviz as chainer
from rnnviz import functions as F, links as L
from rnnviz.datasets import recall_batch
from rnnviz.training.recall import RecallNet, train_cell_on_recall
from rnnviz.widgets import HiddenStateAnimator
"""),
md("""
## 1. BPTT for the plain RNN, derived

The task of this lesson is **delayed recall** (lessons 02 and 04): a stream of random tokens from an
alphabet of 4, and at step $t$ the model must output the token it read `lag` steps earlier. Each
token goes in one-hot, $x_t \\in \\{0, 1\\}^4$. The plain RNN (lesson 02), with row vectors, is

$$a_t = x_t W_x + h_{t-1} W_h + b, \\qquad h_t = \\tanh(a_t), \\qquad y_t = h_t W_o + b_o,$$

with $h_0 = 0$, and the loss is a sum of one term per step, $L = \\sum_t L_t(y_t)$ (here the mean
cross-entropy over the steps that have a target). Write $\\delta_t = \\partial L / \\partial h_t$
for the **whole** gradient arriving at $h_t$. $h_t$ reaches the loss in two ways: through its own
output $y_t$, and through $h_{t+1}$. The chain rule adds the two:

$$\\delta_t = \\frac{\\partial L_t}{\\partial h_t} + \\delta_{t+1} \\frac{\\partial h_{t+1}}{\\partial h_t},
\\qquad \\frac{\\partial L_t}{\\partial h_t} = \\frac{\\partial L_t}{\\partial y_t} W_o^\\top,
\\qquad \\frac{\\partial h_{t+1}}{\\partial h_t} = \\operatorname{diag}(1 - h_{t+1}^2)\\, W_h^\\top .$$

(In row form the Jacobian multiplies from the right: $\\delta_{t+1} \\operatorname{diag}(1 - h_{t+1}^2)
W_h^\\top$ is $(\\delta_{t+1} \\odot (1 - h_{t+1}^2)) W_h^\\top$.) The recursion starts at the last
step, $\\delta_T = \\partial L_T / \\partial h_T$, and runs backwards: that is the "through time".
Call $g_t = \\delta_t \\odot (1 - h_t^2) = \\partial L / \\partial a_t$ the gradient of the
pre-activation. The weights are **shared** by every step, so their gradient is a sum over the steps
of what each step contributes:

$$\\frac{\\partial L}{\\partial W_h} = \\sum_{t=1}^{T} h_{t-1}^\\top g_t, \\qquad
\\frac{\\partial L}{\\partial W_x} = \\sum_{t=1}^{T} x_t^\\top g_t, \\qquad
\\frac{\\partial L}{\\partial b} = \\sum_{t=1}^{T} g_t .$$

These are the equations of chapter 5 of "Deep Learning from Scratch 2" (its `RNN.backward` and
`TimeRNN.backward`, where `dh` from the future is added to the output's gradient) and of
the section "Backpropagation Through Time" of "Dive into Deep Learning". Here they are in NumPy, against the library's
`backward()` on the same model and data. `RecallNet` (from `rnnviz.training.recall`) is the model
of this lesson: one-hot token, a recurrent layer `mid`, a linear map `out` to the 4 scores.
`net.sequence_scores(xs)` runs whole sequences and returns every step's scores.
"""),
code("""
np.random.seed(0)
net = RecallNet("rnn", vocab_size=4, hidden=8)
xs, ts = recall_batch(5, 12, 3, vocab_size=4, seed=0)      # 5 sequences of 12 tokens, lag 3
net.cleargrads()
loss = F.softmax_cross_entropy(net.sequence_scores(xs), ts.reshape(-1))
loss.backward()

# the library stores (out, in) matrices; transpose them to the row form of the equations
W_x, W_h, b = net.mid.upward.W.array.T, net.mid.lateral.W.array.T, net.mid.upward.b.array
W_o, b_o = net.out.W.array.T, net.out.b.array
B, T = xs.shape
x = np.eye(4, dtype=np.float32)[xs]                         # (B, T, 4): one-hot tokens

# forward: h[0] is the zero state, h[t + 1] the state after step t
h = np.zeros((T + 1, B, 8), np.float32)
for t in range(T):
    h[t + 1] = np.tanh(x[:, t] @ W_x + h[t] @ W_h + b)
y = h[1:] @ W_o + b_o                                       # (T, B, 4)

# dL/dy_t: softmax minus one-hot, averaged over the steps that have a target
p = np.exp(y - y.max(-1, keepdims=True))
p /= p.sum(-1, keepdims=True)
counted = ts.T >= 0
dy = p.copy()
dy[np.arange(T)[:, None], np.arange(B), np.maximum(ts.T, 0)] -= 1
dy *= counted[..., None] / counted.sum()

# backward through time
dW_h, dW_x, db = np.zeros_like(W_h), np.zeros_like(W_x), np.zeros_like(b)
from_future = np.zeros((B, 8), np.float32)                  # delta_{t+1} dh_{t+1}/dh_t
delta_norms = []
for t in reversed(range(T)):
    delta = dy[t] @ W_o.T + from_future                     # delta_t
    g = delta * (1 - h[t + 1] ** 2)                         # g_t = dL/da_t
    dW_h += h[t].T @ g
    dW_x += x[:, t].T @ g
    db += g.sum(axis=0)
    from_future = g @ W_h.T
    delta_norms.append(np.linalg.norm(delta))

for name, mine, lib in (("W_h", dW_h, net.mid.lateral.W.grad.T), ("W_x", dW_x, net.mid.upward.W.grad.T),
                        ("b", db, net.mid.upward.b.grad)):
    print(f"d{name}: largest difference from backward() {np.abs(mine - lib).max():.1e}")
    assert np.allclose(mine, lib, rtol=1e-4, atol=1e-6)
print("the equations are what backward() computes")
"""),
md("""
Unroll the recursion and the gradient that the loss at step $t$ sends back to the state at step
$s < t$ is a **product** of $t - s$ Jacobians:

$$\\frac{\\partial L_t}{\\partial h_s} = \\frac{\\partial L_t}{\\partial h_t}
\\prod_{k=t}^{s+1} \\operatorname{diag}(1 - h_k^2)\\, W_h^\\top .$$

Each factor is a $\\tanh$ slope (at most 1, smaller when the unit saturates) times the same matrix.
Unless $W_h$ and the slopes keep its size near 1, the product shrinks or grows geometrically with
$t - s$: the **vanishing** and **exploding** gradients. Lesson 03 measured it (section 5): for a
fresh RNN the gradient from the last step falls by orders of magnitude over 29 steps. For recall,
$t - s$ is the lag: the only term that can teach the model to keep a token is the one that crosses
`lag` steps. The sum over steps in $\\partial L / \\partial W_h$ is dominated by the short ones.

## 2. Two gated cells, and what the gate path changes

**The LSTM** (lesson 03, blocks `[i, f, g, o]`) keeps a cell $c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$.
Holding $h_{t-1}$ fixed, the step from cell to cell is

$$\\frac{\\partial c_t}{\\partial c_{t-1}} = \\operatorname{diag}(f_t),$$

no $W_h$ and no $\\tanh$ slope. Along the cell alone the gradient over a lag is a product of forget
gates: it survives as long as $f$ stays near 1. The initial forget bias sets where $f$ starts:
$\\sigma(1) \\approx 0.73$ with a bias of 1, $\\sigma(0) = 0.5$ with a bias of 0, so over 20 steps
the cell path alone keeps about $0.73^{20} \\approx 2 \\cdot 10^{-3}$ or $0.5^{20} \\approx 10^{-6}$.

**The GRU** (`L.GRU`; PyTorch's formulation, blocks `[r, z, n]`) has no separate cell. With
$x_t$ and $h_{t-1}$ it computes a reset gate $r$, an update gate $z$ and a candidate $n$:

$$r = \\sigma(x_t W_{xr} + b_{xr} + h_{t-1} W_{hr} + b_{hr}), \\qquad
z = \\sigma(x_t W_{xz} + b_{xz} + h_{t-1} W_{hz} + b_{hz}),$$
$$n = \\tanh\\big(x_t W_{xn} + b_{xn} + r \\odot (h_{t-1} W_{hn} + b_{hn})\\big), \\qquad
h_t = (1 - z) \\odot n + z \\odot h_{t-1}.$$

The last line is a mix: $z$ near 1 keeps the old state. Its Jacobian is

$$\\frac{\\partial h_t}{\\partial h_{t-1}} = \\operatorname{diag}(z)
+ \\underbrace{\\operatorname{diag}(h_{t-1} - n)\\,\\frac{\\partial z}{\\partial h_{t-1}}
+ \\operatorname{diag}(1 - z)\\,\\frac{\\partial n}{\\partial h_{t-1}}}_{\\text{through } W_h},$$

a direct term $\\operatorname{diag}(z)$ without a weight matrix, like the LSTM's $\\operatorname{diag}(f)$,
plus terms that go through $W_h$.

**The caveats**, which the experiment below shows:

* the direct path helps only while the gate is near 1: $f^k$ or $z^k$ still fades geometrically,
  only more slowly, and a fresh model's gates are not near 1 (about $\\sigma(0) = 0.5$ for the GRU's $z$,
  whose biases start at 0);
* the gates themselves are computed from $h_{t-1}$ through $W_h$: the full Jacobian has the
  $W_h$ terms above, and for the LSTM $h_{t-1}$ reaches $c_t$ through the gates too. The cell path
  makes long gradients **possible**; it does not remove the ordinary ones;
* a gated cell has more to learn (three or four weight blocks for one of the RNN's), so where the
  plain RNN's gradient is strong enough it can learn faster.

A GRU step by hand, in the library's layout: `upward` holds $W_x$ and $b_x$ (PyTorch's `weight_ih`,
`bias_ih`), `lateral` holds $W_h$ and $b_h$ (`weight_hh`, `bias_hh`), as `(3H, in)` matrices.
"""),
code("""
def sigmoid(a):
    return 1 / (1 + np.exp(-a))

rng = np.random.default_rng(0)
D, H, batch = 4, 5, 2
gru = L.GRU(D, H)
Wx, bx = gru.upward.W.array.T, gru.upward.b.array
Wh, bh = gru.lateral.W.array.T, gru.lateral.b.array

h = np.zeros((batch, H), np.float32)
for step in range(3):
    x = rng.standard_normal((batch, D)).astype(np.float32)
    xa, ha = x @ Wx + bx, h @ Wh + bh
    r = sigmoid(xa[:, :H] + ha[:, :H])
    z = sigmoid(xa[:, H:2 * H] + ha[:, H:2 * H])
    n = np.tanh(xa[:, 2 * H:] + r * ha[:, 2 * H:])
    h = (1 - z) * n + z * h
    assert np.allclose(gru(x).array, h, atol=1e-5)
print("L.GRU matches the equations; update gate z of the last step:", np.round(z[0], 2))
"""),
md("""
## 3. The experiment: accuracy against the lag

Four models, each with 32 hidden units: the plain RNN, the GRU, the LSTM with forget bias 0 and
the LSTM with forget bias 1 (the library's default). Each trains on delayed recall with lags 5, 10,
20 and 30. Unlike lesson 04, nothing is truncated: every update draws a fresh batch of 32
sequences of `lag + 10` tokens, starts them from a zero state, back-propagates through all of it
(full BPTT) and takes one Adam step. So a failure here is the cell's, not the window's. Every
model gets the same `300` updates, a small budget chosen to run in the lesson. The accuracy is
measured on 256 held-out sequences, at the steps that have a target; chance is one in four.

`train_cell_on_recall(cell, lag, updates, forget_bias)` does one run and returns the model and its
learning curve (the accuracy every 50 updates). Sixteen runs: this cell takes a while.
"""),
code("""
models = {"RNN": ("rnn", 1.0), "GRU": ("gru", 1.0),
          "LSTM, forget bias 0": ("lstm", 0.0), "LSTM, forget bias 1": ("lstm", 1.0)}
lags = (5, 10, 20, 30)
nets, curves = {}, {}
for lag in lags:
    for name, (cell, forget_bias) in models.items():
        nets[name, lag], curves[name, lag] = train_cell_on_recall(cell, lag, updates=300,
                                                                  forget_bias=forget_bias, every=50)
accuracy = {key: history[-1][1] for key, history in curves.items()}

print("accuracy after 300 updates (chance 0.25)")
print(f"{'':22s}" + "".join(f"lag {lag:<5d}" for lag in lags))
for name in models:
    print(f"{name:22s}" + "".join(f"{accuracy[name, lag]:<9.2f}" for lag in lags))
"""),
code("""
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), num="gated cells on delayed recall", clear=True)
for name in models:
    left.plot(lags, [accuracy[name, lag] for lag in lags], "o-", label=name)
    done, acc = zip(*curves[name, 20])
    right.plot(done, acc, "o-", ms=3, label=name)
for ax in (left, right):
    ax.axhline(0.25, color="grey", ls="--", lw=1)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
left.set_xlabel("lag")
left.set_xticks(lags)
left.set_title("after 300 updates")
right.set_xlabel("updates")
right.set_title("learning curves at lag 20")
left.legend(fontsize=8)
fig.tight_layout()
plt.show()
"""),
md("""
What the measurements say:

* **At lag 5 every cell learns the task.** The gradient across five steps is strong enough for all
  of them.
* **At lag 10 the plain RNN is far ahead**: about 0.96, against about 0.63 for each gated cell.
  The short path is still strong enough for the RNN, and it has fewer weights to fit. The gated
  cells are still climbing (see the second exercise).
* **At lag 20 the order turns**: the GRU and the LSTM with forget bias 1 reach about 0.47, while
  the plain RNN and the LSTM with forget bias 0 stay near chance. Now the gradient that crosses the
  lag is what counts, and the direct gate path carries it for the models whose gates start open
  enough.
* **A forget bias of 1 helps early**: at lag 20 the LSTM with bias 1 is ahead of the one with
  bias 0 at every point of its learning curve, and after 50 updates it is already at about 0.39,
  while the GRU is still near chance (the curves on the right). At lag 10 the two LSTMs end close
  together: there the bias hardly matters.
* **At lag 30, with this budget, the plain RNN, the GRU and the LSTM with forget bias 0 stay at
  chance**, and the LSTM with forget bias 1 does no worse than any of them. Whether it has started
  to rise depends on the run (the table above is one run; change `seed` in
  `train_cell_on_recall` to see others). A gate path makes long gradients possible, but the model
  still needs enough updates to open its gates along the way, and at lag 30 the signal is faint at
  the start.

These are 300 updates of one small model on a toy task. They measure how fast each cell **starts**
to learn each lag, not what it can learn in the end: for that, train longer with
`benchmarks/bench_gated_recall.py`.

## 4. Watch a gated cell hold a token

The GRU trained on lag 5 reads a fresh sequence. The heat map is its hidden state, one column per
step; the caption gives the token read and the model's guess, which should be the token read five
steps earlier (the widget was made for language models, so it calls the guess the "next word"; the
tokens read are along the bottom). Move the slider (or press play) and look for units that keep a value while other
tokens go by.
"""),
code("""
tokens = ["A", "B", "C", "D"]
sequence, _ = recall_batch(1, 16, 5, vocab_size=4, seed=7)
animator = HiddenStateAnimator(nets["GRU", 5], sequence.T, words=tokens, units=(0, 1, 2))
animator
"""),
md("""
> **The same in PyTorch.** The BPTT of section 1 is what `loss.backward()` does on an unrolled
> `torch.nn.RNN(4, 32, nonlinearity="tanh", batch_first=True)`.
> `torch.nn.GRU` uses the formulation of section 2, with the same gate order: its `weight_ih_l0`
> and `weight_hh_l0` are `(3H, in)` blocks `[r, z, n]`, like `upward.W` and `lateral.W` here, and
> its biases start uniform instead of at zero.
> `torch.nn.LSTM` orders its gates `[i, f, g, o]`, like `L.LSTM`, but starts every bias uniform,
> so the forget bias is near 0: to start it at 1, set `bias_ih_l0.data[H:2*H] = 1` and
> `bias_hh_l0.data[H:2*H] = 0` (the two biases are added).
> Clipping the gradient norm at 5 is `torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)`
> before `optimizer.step()`; truncation (lesson 04) is `h = h.detach()`, and evaluation without a
> graph (lesson 05) is `with torch.no_grad():`.

## Try it
"""),
answer("""
1. In section 1, keep only the loss of the **last** step (set `dy[:-1] = 0` before the backward
   loop, and compare with `backward()` on the last step's loss). Which terms of the recursion
   vanish, and what stays?
""", """
The own-output terms $\\partial L_t / \\partial h_t$ for $t < T$ vanish: $\\delta_T$ starts the
recursion and every earlier $\\delta_t$ is only what comes back from the future,
$\\delta_{t+1} \\operatorname{diag}(1 - h_{t+1}^2) W_h^\\top$. The weight gradients are still sums over
every step, because every step used the weights. `delta_norms` then shows the product of
Jacobians directly: read it from the end.
"""),
answer("""
2. Give every cell three times the updates at lag 10 (`updates=900`). Do the gated cells catch up
   with the plain RNN?
""", """
Not yet, but they close much of the gap: after 900 updates the three gated cells reach about
0.85, while the plain RNN is close to perfect. They are still climbing at the end, so the
table of section 3 says where each cell stands after a budget, not where it stops.
`benchmarks/bench_gated_recall.py` runs the whole sweep for longer (`--updates`) and prints the
same table, averaged over seeds.
"""),
answer("""
3. A GRU has no forget bias, but its update gate plays the part of the forget gate. Which bias
   would you change to start it remembering, and in which direction?
""", """
The update gate's $z$ blocks of the biases: `upward.b[H:2*H]` (or `lateral.b[H:2*H]`, they are
added). A positive value starts $z = \\sigma(\\cdot)$ above one half, so
$h_t = (1 - z) \\odot n + z \\odot h_{t-1}$ keeps more of the old state and the direct term
$\\operatorname{diag}(z)$ of the Jacobian starts nearer 1: the same move as a forget bias of 1.
"""),
md("""
## Next

**Assignment:** [09 · `gru`](../assignments/gru/gru.ipynb) has you write the GRU step of section 2, forward and
backward, by hand. [02 · `rnn_by_hand`](../assignments/rnn_by_hand/rnn_by_hand.ipynb) asks for the equations of
section 1 (the recurrence's forward and backward, one step and a whole sequence), and
[03 · `lstm`](../assignments/lstm/lstm.ipynb) for the LSTM step.
"""),
]
