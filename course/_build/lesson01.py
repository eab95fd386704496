from nb import answer, code, md

NAME = "01_define_by_run.ipynb"

CELLS = [
md("""
# 01 · Define-by-run: variables, gradients, links and optimizers

**Goals.** After this lesson you can

* compute a gradient with `Variable` and `backward()`, and say when gradients add up and when they
  are cleared;
* keep the gradient of an intermediate result (`retain_grad=True`) and back-propagate from an output
  that is not a single number;
* see the graph that the forward pass recorded, and read the short function of the library that walks it;
* build a model from links (`Linear`, a `Chain` with `init_scope()`, a `ChainList`), train it with
  an optimizer and its hooks, and save and load it.

Everything later in the course (recurrent nets, truncation, language models) is built from these
pieces. About **45 minutes**. Practised in the assignments
[**01a · `autograd_functions`**](../assignments/autograd_functions/autograd_functions.ipynb) and
[**01b · `backward_engine`**](../assignments/backward_engine/backward_engine.ipynb).

Run the cells in order (*Run ▸ Run All Cells* works too). Every claim about the library below is
followed by a cell that checks it with `assert`: if the library behaved differently, that cell
would stop with an error.
"""),
code("""
%matplotlib widget
import numpy as np
import matplotlib.pyplot as plt
import rnnviz as chainer
from rnnviz import Variable, optimizers, serializers
from rnnviz import functions as F, links as L
from rnnviz.widgets import GraphView
"""),
md("""
## 1. A variable remembers how it was made

"Define-by-run" means that there is no separate step in which you declare a network. You just
compute, with ordinary Python, on `Variable` objects. While the arithmetic runs, the library writes
down what happened: every result knows the **function node** that produced it (its `creator`), and
that node knows its inputs.

Take $y = x^2 - 2x + 1$ at $x = 5$. Its derivative is $dy/dx = 2x - 2 = 8$.
"""),
code("""
x = Variable(np.array([5.0], dtype=np.float32))
y = x ** 2 - 2 * x + 1
print("y =", y.array)
print("y was made by:", y.creator)
print("whose inputs are:", y.creator.inputs)
"""),
md("""
`y.creator` is the last operation (an addition of 1). Its inputs are themselves results with
creators of their own, so from `y` you can walk back through the whole computation to `x`.
`backward()` is exactly that walk, done in reverse order, applying the chain rule at each node.
The gradient lands in `.grad` of the variables you started from:
"""),
code("""
y.backward()
print("dy/dx =", x.grad)
assert np.allclose(x.grad, 2 * 5.0 - 2)
"""),
md("""
### Gradients add up until you clear them

`backward()` **adds** into `.grad`; it never replaces what is there. That is on purpose: when a
variable is used in several places (a weight used at every time step of a recurrent net), each use
contributes a term and the terms must be summed. But it also means that a second, unrelated
`backward()` adds to the first one's result. Before each new gradient you clear the old one, with
`x.cleargrad()` for a variable or `model.cleargrads()` for all parameters of a model.
"""),
code("""
y = x ** 2 - 2 * x + 1
y.backward()
print("after a second backward without clearing:", x.grad)
assert np.allclose(x.grad, 8 + 8)

x.cleargrad()
y = x ** 2 - 2 * x + 1
y.backward()
print("after cleargrad() and backward:", x.grad)
assert np.allclose(x.grad, 8)
"""),
md("""
### Intermediate gradients are dropped unless you ask

Only the variables you create yourself (the *leaves* of the graph, like `x` and later the
parameters of a model) keep their gradient. The gradients of intermediate results are thrown away
as soon as they have been passed on, which saves memory. To look at one, call
`backward(retain_grad=True)`. Here $z = 2x$ and $y = z^2$, so $dy/dz = 2z = 20$ and
$dy/dx = 40$.
"""),
code("""
x = Variable(np.array([5.0], dtype=np.float32))
z = 2 * x
y = z ** 2
y.backward()
print("without retain_grad: z.grad =", z.grad, " x.grad =", x.grad)
assert z.grad is None and np.allclose(x.grad, 40)

x.cleargrad()
z = 2 * x
y = z ** 2
y.backward(retain_grad=True)
print("with retain_grad:    z.grad =", z.grad, " x.grad =", x.grad)
assert np.allclose(z.grad, 20) and np.allclose(x.grad, 40)
"""),
md("""
### The gradient of something that is not a single number

A loss is a single number, and `backward()` starts from $\\partial L/\\partial L = 1$. If the output
`y` is a vector or a matrix, there is no single starting value: you have to say how much each
element of `y` matters, by putting an array of the same shape into `y.grad` before calling
`backward()`. What comes out in `x.grad` is then the gradient of $\\sum_i g_i\\,y_i$ where $g$ is
the array you gave. With all ones, that is the gradient of `sum(y)`.

The library refuses to guess, and says so:
"""),
code("""
x = Variable(np.array([[1.0, 2.0, 3.0]], dtype=np.float32))
y = x ** 2
try:
    y.backward()
except ValueError as err:
    print("ValueError:", err)
else:
    raise AssertionError("backward() on a (1, 3) output should have asked for y.grad")

y.grad = np.ones_like(y.array)
y.backward()
print("x.grad =", x.grad)
assert np.allclose(x.grad, 2 * x.array)
"""),
md("""
## 2. Seeing the recorded graph

`GraphView` draws the graph behind any variable. Here is a small two-layer computation: a linear
map, a `tanh`, another linear map, and a squared error. Function nodes are squares, variables
circles, parameters diamonds. Switch **colour** to *gradients* after reading the cell: the loss
has been back-propagated, so every variable along the way carries a gradient.
"""),
code("""
np.random.seed(0)                   # the links draw their initial weights from NumPy's generator
rng = np.random.default_rng(0)
x = Variable(rng.standard_normal((4, 3)).astype(np.float32), name="x")
target = rng.standard_normal((4, 1)).astype(np.float32)
layer1, layer2 = L.Linear(3, 5), L.Linear(5, 1)
h = F.tanh(layer1(x))
loss = F.mean_squared_error(layer2(h), target)
loss.backward(retain_grad=True)

graph = GraphView(loss, grouped=False)
graph
"""),
md("""
Count the function nodes: walk back from `loss` through `creator` and `inputs`, the way
`backward()` does, and collect every node you meet. `rnnviz.graph.trace` does the same walk and
returns a plain data model of the graph, the one the picture above is drawn from:
"""),
code("""
def function_nodes(v):
    seen, todo = [], [v.creator]
    while todo:
        f = todo.pop()
        if f is None or any(f is s for s in seen):
            continue
        seen.append(f)
        todo.extend(x.creator for x in f.inputs)
    return seen

nodes = function_nodes(loss)
print(len(nodes), "function nodes:", sorted(f.label for f in nodes))
traced = chainer.graph.trace(loss)
print("trace() finds", traced.n_functions, "function nodes too")
assert traced.n_functions == len(nodes)
"""),
md("""
## 3. Reading `backward()` in the library

The walk above is the whole idea of back-propagation; the library adds only three things to it:

1. **order**: a node may hand on its gradient only after *every* node that used its output has
   handed it a contribution. Each variable carries a *generation* (one more than its creator's
   inputs), and the engine always processes the newest generation first, taken from a heap;
2. **accumulation**: where two paths meet (a variable used twice), their gradients are added;
3. **no recursion**: a loop with a heap, so a graph of 10,000 unrolled time steps does not
   overflow Python's call stack.

The library's plain engine, `rnnviz/core/engine.py`, is exactly that: its `run_backward`, about
forty lines, is what `Variable.backward()` runs. The next cell prints it; read it with the three points above in mind.
"""),
code("""
import inspect
import rnnviz.core.engine as engine

source = inspect.getsource(engine.run_backward)
print(inspect.getsourcefile(engine))
print(source)
assert len(source.splitlines()) < 60
"""),
md("""
By default the library runs a second engine, `rnnviz/core/batched_engine.py`, with the same
contract: where one weight is used at many time steps (a recurrent net's $W_h$, the output layer of
a language model), it computes their gradient contributions as one large matrix product instead
of many small ones (a faster backward for a Penn-Treebank-size language model, no difference at
small sizes; `benchmarks/bench_lm_throughput.py` measures by how much on your machine). It is an optimisation, not a different algorithm. The switch `rnnviz.config.batched_backward` selects the
engine (here for one call, with `using_config`); both must give the same gradients:
"""),
code("""
np.random.seed(0)
rnn = L.RNN(3, 4)
steps = [np.random.standard_normal((2, 3)).astype(np.float32) for _ in range(6)]

grads = {}
for batched in (True, False):
    rnn.reset_state()
    rnn.cleargrads()
    for x in steps:
        h = rnn(x)
    with chainer.using_config("batched_backward", batched):
        F.sum(h * h).backward()
    grads[batched] = {name: p.grad.copy() for name, p in rnn.namedparams()}

for name in grads[True]:
    assert np.allclose(grads[True][name], grads[False][name], atol=1e-6), name
print("both engines:", sorted(grads[True]), "agree; the default is batched =", chainer.config.batched_backward)
"""),
md("""
## 4. Links: parameters with a name

A **link** holds parameters (variables that an optimizer will update) and computes something with
them. `L.Linear(3, 2)` holds `W` of shape `(2, 3)` and `b` of shape `(2,)` and computes
$y = x W^\\top + b$ for a batch of row vectors `x`:
"""),
code("""
lin = L.Linear(3, 2)
print("W", lin.W.shape, " b", lin.b.shape)
x = np.arange(6, dtype=np.float32).reshape(2, 3)
y = lin(x)
assert np.allclose(y.array, x @ lin.W.array.T + lin.b.array, atol=1e-6)
print(y.array)
"""),
md("""
A **`Chain`** is a link made of links. Children assigned inside `with self.init_scope():` are
registered, so that `params()`, `namedparams()`, `cleargrads()`, saving and loading all reach
them. `forward` says what the model computes; calling the model calls it. A **`ChainList`** does
the same for a list of links without names (they are numbered).
"""),
code("""
class MLP(chainer.Chain):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(n_in, n_hidden)
            self.l2 = L.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.l2(F.tanh(self.l1(x)))


mlp = MLP(2, 16, 1)
names = [name for name, _ in mlp.namedparams()]
print(names)
assert sorted(names) == ["/l1/W", "/l1/b", "/l2/W", "/l2/b"]

stack = chainer.ChainList(L.Linear(2, 4), L.Linear(4, 1))
print([name for name, _ in stack.namedparams()])
assert len(list(stack.params())) == 4
"""),
md("""
## 5. Optimizers and their hooks

An optimizer is given the model once (`setup`) and then, at each `update()`, moves every parameter
using its gradient. Plain SGD does $w \\leftarrow w - \\eta\\, \\partial L/\\partial w$. The loop is
always the same four lines: clear the gradients, compute the loss, `backward()`, `update()`.

Let the MLP learn $y = \\sin(x_1) + x_2^2 / 2$ on 200 random points:
"""),
code("""
rng = np.random.default_rng(1)
X = rng.uniform(-2, 2, size=(200, 2)).astype(np.float32)
Y = (np.sin(X[:, :1]) + X[:, 1:] ** 2 / 2).astype(np.float32)

np.random.seed(0)
mlp = MLP(2, 16, 1)
opt = optimizers.Adam(alpha=0.02)
opt.setup(mlp)

losses = []
for step in range(300):
    mlp.cleargrads()
    loss = F.mean_squared_error(mlp(X), Y)
    loss.backward()
    opt.update()
    losses.append(float(loss.array))

print(f"loss: {losses[0]:.3f} at the start, {losses[-1]:.4f} after 300 updates")
assert losses[-1] < losses[0] / 10
"""),
md("""
The same update can be written in one call: `opt.update(lossfun, *args)` clears the gradients,
calls `lossfun(*args)`, back-propagates the loss it returns and updates. The two forms do the same
thing, so two copies of a model trained both ways end with the same weights:
"""),
code("""
def lossfun(X, Y):
    return F.mean_squared_error(model(X), Y)

weights = []
for form in ("four lines", "update(lossfun)"):
    np.random.seed(0)
    model = MLP(2, 16, 1)
    opt = optimizers.SGD(lr=0.1).setup(model)
    for step in range(20):
        if form == "four lines":
            model.cleargrads()
            loss = lossfun(X, Y)
            loss.backward()
            opt.update()
        else:
            opt.update(lossfun, X, Y)
    weights.append(model.l1.W.array.copy())
assert np.allclose(weights[0], weights[1])
print("same weights both ways")
"""),
md("""
**Hooks** change the gradients just before each update. Two are classics:

* `WeightDecay(rate)` adds `rate * w` to each gradient (an L2 penalty): with no other gradient,
  SGD then shrinks every weight by the factor $1 - \\eta \\cdot \\text{rate}$ per update;
* `GradientClipping(threshold)` rescales *all* gradients together when their global L2 norm exceeds
  the threshold. Recurrent nets need it: a gradient that travels back through many steps can grow
  without bound (it *explodes*), so lesson 06 trains its language model with a clipping hook, and lesson 08 shows the explosion
  and what clipping does about it.
"""),
code("""
lin = L.Linear(3, 3)
w0 = lin.W.array.copy()
opt = optimizers.SGD(lr=0.1).setup(lin)
opt.add_hook(chainer.optimizer_hooks.WeightDecay(0.5))
lin.cleargrads()
loss = F.sum(lin(np.zeros((1, 3), np.float32)))
loss.backward()
opt.update()
print("W shrank by the factor", (lin.W.array / w0).mean())
assert np.allclose(lin.W.array, w0 * (1 - 0.1 * 0.5), atol=1e-6)

lin = L.Linear(3, 3)
w0 = lin.W.array.copy()
opt = optimizers.SGD(lr=1.0).setup(lin)
opt.add_hook(chainer.optimizer_hooks.GradientClipping(1.0))
lin.cleargrads()
loss = 1000 * F.sum(lin(np.ones((1, 3), np.float32)))
loss.backward()
opt.update()
step = np.sqrt(((lin.W.array - w0) ** 2).sum() + (lin.b.array ** 2).sum())
print(f"update length with a huge gradient: {step:.3f}")
assert step <= 1.0 + 1e-4
"""),
md("""
## 6. Saving and loading

`serializers.save_npz(path, obj)` writes every parameter (and persistent value) of a link, or the
state of an optimizer, to one `.npz` file; `load_npz(path, obj)` reads it back into an object of
the same shape. Save the optimizer too when you want to resume training exactly: Adam and
momentum keep running averages that are part of the state.
"""),
code("""
import os
import tempfile

folder = tempfile.mkdtemp()
serializers.save_npz(os.path.join(folder, "mlp.npz"), mlp)

copy = MLP(2, 16, 1)
serializers.load_npz(os.path.join(folder, "mlp.npz"), copy)
assert np.allclose(copy(X).array, mlp(X).array)
print("the loaded copy computes the same outputs")

wrong = MLP(2, 8, 1)
try:
    serializers.load_npz(os.path.join(folder, "mlp.npz"), wrong)
except ValueError as err:
    print("a model of another shape is refused:", err)
else:
    raise AssertionError("loading into a model of another shape should fail")
"""),
md("""
## Try it

Each answer is folded away: think first, then open it.
"""),
answer("""
1. In section 1, what does `x.grad` hold after you call `y.backward()` three times on three freshly
   computed `y` without clearing? Predict, then check.
""", """
`24`: each `backward()` adds `dy/dx = 8` to what is there. Gradient accumulation is what makes a
weight shared across time steps receive the sum of its contributions, and it is also why every
training loop starts with `cleargrads()`.
"""),
answer("""
2. Make `y = x * x` with `x = Variable(np.array([[1., 2., 3.]], np.float32))`, set
   `y.grad = np.array([[1., 0., 0.]], np.float32)` and back-propagate. What is `x.grad`, and why?
""", """
`[[2., 0., 0.]]`: you asked for the gradient of $1\\cdot y_1 + 0\\cdot y_2 + 0\\cdot y_3 = x_1^2$,
which depends on $x_1$ only.
"""),
answer("""
3. In `GraphView` above, which node has the largest gradient? (Choose *gradients* and pick
   nodes in the **node** list.) On its way back from the loss to `x`, does the gradient only shrink?
""", """
A parameter's, usually the second layer's `W` or `b`: a parameter's gradient adds up the
contributions of all four examples in the batch, while a variable's gradient holds one row per
example.

On the way back the gradient meets two kinds of factor. The `tanh` multiplies it by
$1 - \\tanh^2 \\le 1$, elementwise: that step can only shrink it. A `Linear` multiplies it by the
transposed weight matrix, which can shrink *or* enlarge it: compare the gradient at `x` with the
one at the first layer's output, then draw other initial weights (change the seeds) and compare
again. Recurrent nets repeat both
factors once per time step, so a gradient travelling back through many steps tends to vanish or to
explode (lesson 03).
"""),
answer("""
4. Why does `GradientClipping` rescale all gradients by one common factor instead of clipping each
   element separately?
""", """
A common factor keeps the **direction** of the gradient and only shortens the step. Clipping each
element on its own would change the direction, so the step would no longer point downhill along
the true gradient.
"""),
md("""
## Next

Lesson 02 puts a loop around a link: the same weights applied at every time step, a hidden state
carried from one step to the next, and a graph that grows with the length of the sequence.

**Assignments:** [01a · `autograd_functions`](../assignments/autograd_functions/autograd_functions.ipynb)
(write the forward and backward of a few functions and check them against finite differences) and
[01b · `backward_engine`](../assignments/backward_engine/backward_engine.ipynb) (write the loop that walks the
graph).
"""),
]
