from nb import answer, code, md

NAME = "07_the_same_code_on_a_gpu.ipynb"

CELLS = [
md("""
# 07 · The same code on a GPU

**Goals.** After this lesson you can

* move a model and its data to a GPU with `to_device`, and back;
* write code that runs on either device with `get_array_module` (the "`xp`" idiom);
* say what changes on a GPU (where arrays live, what is fast, what must be copied) and what does
  not (every line of the model and of the training loop);
* measure the speed-up on your machine.

About **20 minutes**. The graded assignments can be run on a GPU the same way.

**No GPU?** The lesson still runs to the end. The cells that need one say that they were skipped
and why; everything else (the device-independent code) runs on the CPU.
"""),
code("""
%matplotlib widget
import time
import numpy as np
import rnnviz as chainer
from rnnviz import backend, optimizers
from rnnviz import functions as F, links as L
from rnnviz.widgets import GraphView
"""),
md("""
## 1. Is there a GPU?

A GPU is used through **CuPy**, a library with NumPy's interface whose arrays live in GPU memory
(`pip install -e '.[gpu]'` installs it). `backend.gpu_available()` is true when CuPy imports and
sees at least one CUDA device. The next cell also finds out *why* not, when not.
"""),
code("""
def gpu_status():
    try:
        import cupy
    except ImportError:
        return False, "CuPy is not installed (pip install -e '.[gpu]' on a machine with CUDA)"
    except Exception as err:
        return False, f"CuPy could not be imported: {err}"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:
        return False, f"CuPy sees no usable CUDA device: {err}"
    if n == 0:
        return False, "CuPy sees no CUDA device"
    return True, f"{n} CUDA device(s); CuPy {cupy.__version__}"

GPU, why = gpu_status()
assert GPU == backend.gpu_available()
print("GPU:", "yes" if GPU else "no", "-", why)
if not GPU:
    print("The cells marked 'GPU only' below will be skipped, and will say so.")
"""),
md("""
## 2. One code for both devices: `xp`

Every function of the library works on NumPy arrays and on CuPy arrays alike, because it never
names `numpy` directly: it asks `backend.get_array_module(x)` which module the array belongs to,
and calls that (`xp.tanh`, `xp.zeros`, ...). Write your own helpers the same way, and they run
wherever their input lives:
"""),
code("""
def softmax(x):
    xp = backend.get_array_module(x)
    e = xp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

a = np.array([[1.0, 2.0, 3.0]], np.float32)
assert backend.get_array_module(a) is np
print(softmax(a))
assert np.allclose(softmax(a).sum(), 1)
"""),
md("""
## 3. Moving a model and its data

`backend.to_device(obj, "gpu")` moves a link (all its parameters, in place) or copies an array to
the GPU; `"cpu"` goes back. `model.to_device("gpu")` does the same for a model. The rules:

* the **model and its inputs must be on the same device**: mixing a NumPy array with CuPy
  parameters is an error that says which is where (a silent copy would hide a slow program);
* the word ids from the iterator are NumPy arrays: move each batch to the GPU before using it;
* to print or plot a result, bring it back with `to_device(..., "cpu")` (or `float(loss.array)`
  for a single number).

Nothing else changes: the model's class, the loss, `backward()`, `unchain_backward()`, the
optimizer and its hooks are the same lines on both devices.
"""),
code("""
np.random.seed(0)
model = L.Classifier(L.RNNLM(100, 32, 32))
x = np.array([1, 2, 3, 4], np.int32)
t = np.array([2, 3, 4, 5], np.int32)
loss_cpu = float(model(x, t).array)
model.reset_state()

if GPU:
    model.to_device("gpu")
    xp = backend.get_array_module(model.predictor.embed.W)
    assert xp is not np
    loss_gpu = float(model(backend.to_device(x, "gpu"), backend.to_device(t, "gpu")).array)
    print(f"GPU only: loss on the CPU {loss_cpu:.5f}, on the GPU {loss_gpu:.5f}")
    assert abs(loss_cpu - loss_gpu) < 1e-4
    try:
        model(x, t)
    except TypeError as err:
        print("mixing devices is refused:", err)
    else:
        raise AssertionError("NumPy word ids with a model on the GPU should be refused")
    model.to_device("cpu")
else:
    print("GPU only: skipped (no GPU here:", why + ").")
    print(f"On the CPU the loss is {loss_cpu:.5f}; on a GPU this cell checks that it is the same there.")
assert backend.get_array_module(model.predictor.embed.W) is np
"""),
md("""
The graph is the same on either device: only where its arrays live differs. Here is the graph of
that one step, drawn from the model (now back on the CPU):
"""),
code("""
model.reset_state()
loss = model(x, t)
loss.backward()
graph = GraphView(loss)
graph
"""),
md("""
## 4. What is faster, and by how much

A GPU runs thousands of multiply-adds at once, so it wins when each operation is big (large
batches, wide layers, a big vocabulary in the output layer) and loses when operations are tiny
(each call has a fixed cost of several microseconds to launch). A recurrent net is a long
sequence of operations that must run in order, one time step after another, so its speed-up is
smaller than a convolutional net's at the same size.

The next cell times a few truncated-BPTT updates of the same language model at two sizes on each
device available and prints a table. On a machine without a GPU it times the CPU only and says
that the GPU column was skipped.
"""),
code("""
def time_updates(device, n_units, n_vocab=1000, batch=32, bprop_len=20, updates=3):
    np.random.seed(0)
    model = L.Classifier(L.RNNLM(n_vocab, n_units, n_units))
    model.compute_accuracy = False
    model.to_device(device)
    opt = optimizers.SGD(lr=1.0).setup(model)
    words = np.random.default_rng(0).integers(0, n_vocab, size=(bprop_len + 1, batch)).astype(np.int32)
    words = backend.to_device(words, device)

    def one_update():
        model.reset_state()
        loss = 0
        for k in range(bprop_len):
            loss += model(words[k], words[k + 1])
        model.cleargrads()
        loss.backward()
        loss.unchain_backward()
        opt.update()
        return float(loss.array)

    one_update()
    start = time.perf_counter()
    for _ in range(updates):
        one_update()
    return (time.perf_counter() - start) / updates

rows = []
for n_units in (64, 256):
    cpu = time_updates("cpu", n_units)
    gpu = time_updates("gpu", n_units) if GPU else None
    rows.append((n_units, cpu, gpu))

print(f"{'units':>6} {'CPU ms/update':>14} {'GPU ms/update':>14} {'speed-up':>9}")
for n_units, cpu, gpu in rows:
    gpu_text = f"{gpu * 1e3:14.1f}" if gpu else f"{'skipped':>14}"
    ratio = f"{cpu / gpu:8.1f}x" if gpu else f"{'-':>9}"
    print(f"{n_units:6d} {cpu * 1e3:14.1f} {gpu_text} {ratio}")
if not GPU:
    print("\\nGPU column skipped:", why + ".")
assert all(cpu > 0 for _, cpu, _ in rows)
"""),
md("""
To time the tutorial's real size, run `time_updates(device, 650, n_vocab=10000, batch=20,
bprop_len=35)`. Then train lesson 6 at full size on the GPU:
`LMTrainer(..., device="gpu")` moves the model and every batch for you.

## Try it
"""),
answer("""
1. Why does the GPU gain more at 256 units than at 64?
""", """
At 64 units each matrix product is too small to keep the GPU busy: the time goes into launching
many small kernels one after another, the same fixed cost at any size. At 256 units each $H \\times H$
product has $(256/64)^2 = 16$ times as many multiply-adds, and the GPU's parallelism starts to pay. The output layer (units × vocabulary)
is usually the largest product of a language model.

On one machine we measured (an NVIDIA H200 GPU against its 16 CPU cores), the GPU took the same
time per update at both sizes, launching the same kernels, and the CPU was faster at both, by less
at 256 units. At the tutorial's size the GPU was the faster one, several times over.
"""),
answer("""
2. Your training loop prints `loss.array` at every update on a GPU, and it is slow. Why?
""", """
Printing needs the number on the CPU, so every update waits for the GPU to finish and copies the
result back. GPU work is asynchronous; forcing a copy every step removes the overlap. Log every few
dozen updates, or accumulate the loss on the GPU and copy it once.
"""),
md("""
## Next: beyond the LSTM

You have built a language model from a `Variable` up, watched its graph grow and be cut, measured
what truncation costs and what evaluation saves, trained it on a corpus and moved it to a GPU. The
last four lessons go further: exploding gradients and clipping (08), gated cells measured against
each other (09), a character model that writes (10), and sequences in, sequences out, with
attention (11). The graded assignments ask you to write the central pieces yourself, one or two
per lesson (the list is in [`assignments/`](../assignments/README.md)):
[01a · `autograd_functions`](../assignments/autograd_functions/autograd_functions.ipynb),
[01b · `backward_engine`](../assignments/backward_engine/backward_engine.ipynb),
[02 · `rnn_by_hand`](../assignments/rnn_by_hand/rnn_by_hand.ipynb),
[03 · `lstm`](../assignments/lstm/lstm.ipynb),
[04 · `truncated_bptt`](../assignments/truncated_bptt/truncated_bptt.ipynb),
[09 · `gru`](../assignments/gru/gru.ipynb) and
[11 · `masked_loss`](../assignments/masked_loss/masked_loss.ipynb).
"""),
]
