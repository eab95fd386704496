from nb import answer, code, md

NAME = "08_exploding_gradients.ipynb"

CELLS = [
md("""
# 08 · Exploding gradients and clipping

**Goals.** After this lesson you can

* say where an exploding gradient comes from: the product of step Jacobians
  $\\partial h_t / \\partial h_{t-1}$, and why the spectral radius $\\rho$ of $W_h$ matters;
* measure that product with `backward()`, and see where the textbook's $\\rho^k$ holds (a linear
  recurrence) and where it does not (the tanh saturates);
* watch spikes of the gradient norm during training, what they do to the loss, and what
  `GradientClipping` (norm) and `GradientHardClipping` (value) change;
* say where each clipping falls short: clipping by value turns the gradient, clipping never
  makes a bad landscape good.

About **40 minutes**. Lesson 01 promised an explosion: here it is. Practised in the assignment
[**11 · `masked_loss`**](../assignments/masked_loss/masked_loss.ipynb) (its gradient-clipping part); the
backward pass through the recurrence is [**02 · `rnn_by_hand`**](../assignments/rnn_by_hand/rnn_by_hand.ipynb).
"""),
code("""
%matplotlib widget
import numpy as np
import rnnviz as chainer
from rnnviz import Variable, optimizers
from rnnviz import functions as F, links as L
from rnnviz.datasets import recall_batch
from rnnviz.experiments import explode as X
from rnnviz.widgets import GradientNormExplorer
"""),
md("""
## 1. Where an explosion comes from

The plain RNN of lesson 2 computes $h_t = \\tanh(W_x x_t + W_h h_{t-1} + b)$. The gradient of a
loss at step $T$ reaches the state $k$ steps back through a product of step Jacobians:

$$\\frac{\\partial h_T}{\\partial h_{T-k}} = J_T J_{T-1} \\cdots J_{T-k+1},
\\qquad J_t = \\frac{\\partial h_t}{\\partial h_{t-1}} = \\operatorname{diag}(1 - h_t^2)\\, W_h .$$

Without the tanh (a *linear* recurrence) every factor is $W_h$ and the product is $W_h^k$, whose
norm grows like $\\rho^k$, with $\\rho$ the spectral radius of $W_h$ (its largest
$|\\text{eigenvalue}|$): for $\\rho > 1$ it explodes, for $\\rho < 1$ it vanishes. That is the
textbook story. The tanh adds the factor $\\operatorname{diag}(1 - h_t^2)$, which is at most 1
and shrinks as the units saturate, so the textbook story is only an upper bound.

Measure it. `X.explode_model(seed, radius)` is a small tanh RNN (`L.RNNLM(4, 8, 16, cell="rnn")`)
whose $W_h$ is rescaled to spectral radius `radius`. `X.jacobian_norms` runs each sequence in
16 copies and back-propagates unit $i$ of the last state in copy $i$: the `.grad` of each earlier
state then holds the whole Jacobian $\\partial h_T / \\partial h_s$, one row per copy. We check one
entry of it by hand first.
"""),
code("""
model = X.explode_model(seed=0, radius=2.0)
xs, _ = recall_batch(1, 6, 0, vocab_size=4, seed=5)
measured = X.jacobian_norms(model, xs)[0]          # ||dh_T / dh_(T-k)||, k = 0..5

# the same product by hand, in float64: J_t = diag(1 - h_t^2) W_h
W_h = model.mid.lateral.W.array.astype(np.float64)
W_x = model.mid.upward.W.array.astype(np.float64)
b = model.mid.upward.b.array.astype(np.float64)
E = model.embed.W.array.astype(np.float64)
h, states = np.zeros(16), []
for token in xs[0]:
    h = np.tanh(E[token] @ W_x.T + b + h @ W_h.T)
    states.append(h)
product, by_hand = np.eye(16), [1.0]
for k in range(1, 6):
    product = product @ (np.diag(1 - states[-k] ** 2) @ W_h)
    by_hand.append(np.linalg.norm(product, 2))
print("from backward():", np.round(measured, 3))
print("by hand:        ", np.round(by_hand, 3))
assert np.allclose(measured, by_hand, rtol=1e-4)
"""),
md("""
Now the same measurement for spectral radii from `0.5` to `6`, averaged (geometrically) over 8
sequences of 30 steps, with and without the tanh. `X.growth_per_step` fits a line to
$\\log \\lVert \\partial h_T / \\partial h_{T-k} \\rVert$ against $k$ (from $k = 5$ on) and returns
the factor per step:
"""),
code("""
print("rho   per step: tanh RNN   linear (no tanh)   norm 29 steps back: tanh   linear")
growth = {}
for radius in (0.5, 1, 2, 3, 4, 6):
    tanh = X.jacobian_profile(0, radius)
    linear = X.jacobian_profile(0, radius, linear=True)
    growth[radius] = (X.growth_per_step(tanh), X.growth_per_step(linear))
    print(f"{radius:<4g}  {growth[radius][0]:14.2f}  {growth[radius][1]:17.2f}  {tanh[-1]:24.3g}  {linear[-1]:8.3g}")
assert all(abs(lin - r) < 0.05 * r for r, (_, lin) in growth.items())   # linear: rho per step
assert all(t < lin for t, lin in growth.values())                       # the tanh always holds it back
"""),
md("""
What the measurement says:

* **Linear: the textbook holds exactly.** The product grows by $\\rho$ per step; at $\\rho = 6$,
  29 steps back, its norm is astronomically large.
* **Tanh: much less.** For this model at ρ = 1 the product shrinks by a factor of about 0.55 per
  step back: the gradient *vanishes*, although $\\rho = 1$ is the textbook's borderline. At
  $\\rho = 2$ it still shrinks; only from $\\rho = 3$ on does it grow. And at ρ = 6 it grows by
  about 1.25 per step, where the same weights without the tanh grow by 6.0. Saturation holds it
  back: a saturated unit passes almost no gradient.
* **But it still explodes.** Grown by that factor over 29 steps, the norm is still large (the
  last columns of the table). That is enough to break training, as section 2 shows.

The three seeds the test suite measures (`course/_build/claims_08.py`) agree on each of these.

## 2. Spikes, a dead network, and clipping

`GradientNormExplorer` trains the same model on delayed recall (answer the token read 4 steps
earlier, 20 steps per sequence, a batch of 32, a fresh batch every update) with plain SGD
(`lr=0.5`) and full BPTT, for 150 updates, at each spectral radius on the slider, without
clipping and with each clipping. All runs are trained when the widget is built (a few seconds),
so the controls only redraw.

* **top left**: the loss per update; the dashed line is chance, $\\log 4$ (a uniform guess);
* **bottom left**: the global gradient norm per update, log scale: black, as `backward()`
  computed it; blue, as applied after clipping; orange, its largest element. The dashed line is
  the threshold: of the norm, or of each element;
* **right**: the Jacobian product of section 1 for this $\\rho$, before training.

Start at ρ(W_h) = 4 with no clipping, then move **ρ(W_h)** and try **norm** and **value**.
"""),
code("""
explorer = GradientNormExplorer()
explorer
"""),
md("""
The numbers behind the picture (`explorer.run(radius, clip, threshold)` returns a run's arrays):
the loss over the last 10 updates, the largest gradient norm, and the median cosine between the
applied and the computed gradient over the larger half of the updates.
"""),
code("""
print("rho  clipping        final loss   largest norm   median cosine (larger half)")
for radius in explorer.radii:
    for clip, threshold in [("none", None)] + [(m, c) for m in ("norm", "value") for c in explorer.thresholds[m]]:
        r = explorer.run(radius, clip, threshold)
        big = r["norm"] > np.median(r["norm"])
        label = clip if threshold is None else f"{clip} {threshold:g}"
        print(f"{radius:<4g} {label:<14s}  {r['loss'][-10:].mean():10.2f}   {r['norm'].max():12.3g}   "
              f"{np.median(r['cos'][big]):10.2f}")
dead = explorer.run(6.0, "none")
assert abs(dead["loss"][-10:].mean() - np.log(4)) < 0.01 and dead["norm"][10:].max() < 0.6
"""),
md("""
What the runs show (seed 0 above; the test suite measures three seeds):

* **No large spikes while the product shrinks.** At ρ = 1 and 2 no run, clipped or not, ever has a
  gradient norm above 4. The loss of seed 0 at $\\rho = 1$ still has a few bumps (training changes
  $W_h$ as it goes), but nothing that clipping would need to catch.
* **Spikes where it grows.** From $\\rho = 3$ on, single updates stand out above the rest, and
  at ρ = 6 the very first updates have norms above 50.
* **A spike kills the network.** With `lr=0.5`, one update of norm in the hundreds moves the
  weights so far that every unit saturates. Without clipping, the run at ρ = 6 ends at chance, its
  loss within 0.01 of log 4, and its gradient norm falls below 0.6 within a few updates
  and stays there: the spike did
  not turn the loss into NaN, it left a network whose saturated units pass no gradient. That is
  the quiet form of divergence; the loud one (NaN, inf) stops the optimizer with an error.
* **Clipping keeps it alive, it does not make it easy.** With clipping the spikes are still
  computed (black) but each step is bounded (blue). With value clipping at 0.2 the loss at ρ = 6
  ends below chance for most of the eight seeds we tried, at about 1.27 on average, and so does
  norm clipping at 4. But where a single norm-clipped run ends is not fixed by its seed: train the
  same seed in float64, so that only the rounding changes, and it ends somewhere else. At ρ = 6
  the training is chaotic: clipping limits the step, it does not smooth the landscape that
  produced the spike.
"""),
md("""
## 3. The two hooks

`GradientClipping(threshold)` rescales all gradients together when their global norm exceeds the
threshold: $g \\leftarrow g \\cdot \\text{threshold} / \\lVert g \\rVert$. The direction is kept.
`GradientHardClipping(lower_bound, upper_bound)` clips each element on its own:
$g_i \\leftarrow \\min(\\max(g_i, \\text{lower}), \\text{upper})$. Large elements are cut, small
ones are not, so the direction changes. Both are optimizer hooks, run before each update:
"""),
code("""
def clipped(hook):
    layer = L.Linear(2, 1, nobias=True)
    opt = optimizers.SGD(lr=1.0).setup(layer)
    opt.add_hook(hook)
    layer.W.grad = np.array([[3.0, 0.4]], np.float32)     # one large element, one small
    before = layer.W.array.copy()
    opt.update()
    return (before - layer.W.array).ravel()               # the step taken, lr = 1

g = np.array([3.0, 0.4])
for hook in (chainer.optimizer_hooks.GradientClipping(1.0),
             chainer.optimizer_hooks.GradientHardClipping(-0.5, 0.5)):
    step = clipped(hook)
    cos = step @ g / np.linalg.norm(step) / np.linalg.norm(g)
    print(f"{hook.name:22s} step {np.round(step, 3)}  norm {np.linalg.norm(step):.3f}  cosine with g {cos:.3f}")
assert np.allclose(clipped(chainer.optimizer_hooks.GradientClipping(1.0)), g / np.linalg.norm(g), atol=1e-6)
assert np.allclose(clipped(chainer.optimizer_hooks.GradientHardClipping(-0.5, 0.5)), [0.5, 0.4], atol=1e-6)
"""),
md("""
On a gradient with one large and one small element, clipping by value turns it toward the
diagonal. In the training runs it does the same: at ρ = 6 with value clipping at `0.05`, the cosine
between the applied and the computed gradient, over the larger half of the updates, has a median
of about 0.6, while norm clipping leaves it at exactly 1. Value clipping still worked here, in this
small model; it is cruder, and its bound has to match the scale of each parameter's gradient.

Both hooks refuse settings that cannot be meant (a threshold of 0 would stop learning, a bound
of 0 would stop every weight moving one way) and a NaN or infinite gradient, which clipping would
otherwise hide:
"""),
code("""
for make in (lambda: optimizers.GradientClipping(0),
             lambda: chainer.optimizer_hooks.GradientHardClipping(0, 1),
             lambda: chainer.optimizer_hooks.GradientHardClipping(-1, float("nan"))):
    try:
        make()
    except ValueError as err:
        print("ValueError:", err)

layer = L.Linear(2, 1)
opt = optimizers.SGD(lr=0.1).setup(layer)
opt.add_hook(chainer.optimizer_hooks.GradientHardClipping(-1, 1))
layer.W.grad = np.array([[np.inf, 0.0]], np.float32)
layer.b.grad = np.zeros(1, np.float32)
try:
    opt.update()
except FloatingPointError as err:
    print("FloatingPointError:", str(err)[:90], "...")
"""),
md("""
> **The same in PyTorch.** Clipping is a call between `loss.backward()` and `optimizer.step()`,
> not a hook:
>
> ```python
> loss.backward()
> torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=4.0)      # GradientClipping(4.0)
> # or: torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.2)
> #                                               # GradientHardClipping(-0.2, 0.2)
> optimizer.step()
> ```
>
> `clip_grad_norm_` returns the norm before clipping (what the black line shows); pass
> `error_if_nonfinite=True` to get the error that rnnviz's hooks raise by default. A spectral
> radius is set by hand with `torch.linalg.eigvals` and `with torch.no_grad(): W.mul_(...)`
> (`nn.RNN`'s `weight_hh_l0` is our $W_h$), and the Jacobian product is read the same way, from
> `h.retain_grad()` and `h.grad` after `backward()`. An LSTM (lesson 3) mostly avoids the problem:
> its cell passes gradient through the forget gate, $\\partial c_t / \\partial c_{t-1} =
> \\operatorname{diag}(f_t)$, whose entries lie below 1.

## Try it
"""),
answer("""
1. In section 1 the tanh RNN at $\\rho = 1$ *vanishes* although the textbook puts the border
   between vanishing and exploding at $\\rho = 1$. Why?
""", """
The textbook bound is for the linear recurrence. Each tanh step multiplies by
$\\operatorname{diag}(1 - h_t^2)$, whose entries are below 1 as soon as a unit is away from 0
(inputs and the bias push it there). At $\\rho = 1$ the product is then $\\rho^k$ times a product
of numbers below 1: it vanishes. The border moves up, here past $\\rho = 2$.
"""),
answer("""
2. In the explorer, choose ρ(W_h) = 6, **norm**, threshold 1. The black line stays high for the
   whole run. What does that say?
""", """
The computed gradient is still exploding: at ρ = 6 with the norm clipped at 1, the norm of
the last 50 updates has a median above 1, the threshold. Clipping changes what is applied, not what
`backward()` computes. Every step is a step of length `lr` × 1 in the direction of a gradient
dominated by a few steep directions. Clipping keeps the network alive; it does not remove the
cliff.
"""),
answer("""
3. Why does the run without clipping at $\\rho = 6$ end with a *small* gradient norm, if the
   gradients explode?
""", """
After the first spike the weights are so large that every unit is saturated, $h_t \\approx \\pm 1$,
and $1 - h_t^2 \\approx 0$ in every step Jacobian: no gradient gets through any more, neither from
far back nor from one step back. Exploding and vanishing are the two ends of the same product.
"""),
answer("""
4. Rebuild the widget with a tighter value bound, `GradientNormExplorer(radii=(6,),
   thresholds={"norm": (1, 4), "value": (0.01, 0.2)})` (a few seconds), and compare the cosine
   printed for `value 0.01` with the one for `value 0.2`.
""", """
The tighter the bound, the more elements are cut and the further the applied gradient turns from
the computed one: the cosine at a bound of `0.01` is lower than at `0.2`, for each of the three
seeds the test suite measures. Look at the loss too: a
bound that cuts almost every element turns SGD into something close to a sign-of-the-gradient
method with a fixed small step.
"""),
md("""
## Next

Lesson 06 trains on a corpus with `GradientClipping(5.0)` on an LSTM: now you know what that
hook is there for. The gated cells (lessons 03 and 09) are the other answer to the same
product.

**Assignments:** [11 · `masked_loss`](../assignments/masked_loss/masked_loss.ipynb) has you clip a list of
gradients by their global norm, as `GradientClipping` does; [02 · `rnn_by_hand`](../assignments/rnn_by_hand/rnn_by_hand.ipynb)
practises the backward pass through the recurrence, the step Jacobian
$\\operatorname{diag}(1 - h_t^2) W_h$ included.
"""),
]
