from nb import answer, code, md

NAME = "10_a_character_model.ipynb"

CELLS = [
md("""
# 10 · A character model that writes

**Goals.** After this lesson you can

* read the shipped corpus one character at a time, and say exactly which characters it holds (and
  which it does not);
* train a character-level LSTM language model with the truncated-BPTT loop of lesson 6, and watch
  its samples at checkpoints during training;
* sample with a temperature, and measure what the temperature changes;
* look for **interpretable units**: colour the text by one hidden unit's activation, and find the
  units that track a feature of the text;
* draw the **connectivity** of a prediction (how much each past character's input moves it), with
  full BPTT and with truncated BPTT side by side.

About **40 minutes**. Builds on lessons 4 and 6 (word-level sampling is in
[lesson 6](06_training_on_a_corpus.ipynb); this lesson does not repeat it).
"""),
code("""
%matplotlib widget
import numpy as np
import rnnviz as chainer
from rnnviz import datasets
from rnnviz.experiments import chars as C
from rnnviz.widgets import ConnectivityView, UnitTextView
"""),
md("""
## 1. The corpus, one character at a time

`datasets.get_kjv_chars()` returns the shipped King James text as character ids: the same lines
and the same train / validation / test split as the word corpus of lesson 6, each verse ended by a
newline. A word model needs `<unk>` for the words it has never seen; a character model does not,
because every character of every split is in its small alphabet. Look at what that alphabet is,
before looking for anything in the text:
"""),
code("""
train, valid, test, vocab = datasets.get_kjv_chars()
print(f"{len(vocab)} characters: {''.join(vocab)!r}")
print(f"{len(train)} training, {len(valid)} validation, {len(test)} test characters")
counts = np.bincount(train, minlength=len(vocab))
for ch in ("\\n", " ", "'", "-"):
    print(f"  {ch!r:>5}: {counts[vocab[ch]]:7d} times in the training text")
print(repr(datasets.ids_to_chars(valid[:170])))
assert set(datasets.ids_to_chars(np.concatenate([train, valid, test]))) == set(vocab)
assert not any(c.isdigit() or c.isupper() or c in '.,;:"!?' for c in vocab)
"""),
md("""
What the text is: lower-case letters, spaces, one newline at the end of each verse, an
apostrophe only in the possessive `'s`, and a handful of hyphens. What it is **not**: the corpus
was normalised like the Penn Treebank files (lesson 6), so there are no capitals, no punctuation,
no quotation marks and no verse numbers. A unit "that tracks quotes" cannot exist in a model of
this text. What a model *can* learn to track here is what the text has: where words end, how far
into a word it is, where verses end, the possessive `'s`.

## 2. Training, with samples at checkpoints

The model is lesson 6's `RNNLM` with an alphabet of 30 instead of a vocabulary of words: an
embedding of 16 numbers per character, one LSTM layer of 64 units, a linear layer back to the 30
characters. `C.char_trainer` is lesson 6's `LMTrainer` with the settings in `C.PROTOCOL`:
32 parallel streams, `bprop_len = 32`, Adam with `alpha=0.01`, gradients clipped at `5.0`.

The loop trains to each checkpoint and lets the model write (`C.sample_chars`, section 3) from
the start of a verse. `C.one_blas_thread()` keeps NumPy's matrix products on one thread: with
matrices this small, more threads only wait for each other.
"""),
code("""
model = C.char_model(seed=0)
trainer = C.char_trainer(model)
print("checkpoints (updates):", C.PROTOCOL["checkpoints"], "- each update reads 32 x 32 characters")
with C.one_blas_thread():
    for at in C.PROTOCOL["checkpoints"]:
        if at > trainer.updater.iteration:
            trainer.run(updates=at - trainer.updater.iteration, progress=False)
        text = C.sample_chars(model, 160, temperature=0.5, seed=0)
        print(f"\\n--- after {at} updates: validation perplexity per character {trainer.evaluate():.2f}, "
              f"{C.real_word_share(text):.0%} of the written words are words of the corpus")
        print(text.strip())
assert trainer.updater.iteration == C.PROTOCOL["updates"]
"""),
md("""
Read the samples from the top. Before training the model writes noise: a uniform guess over 30
characters has perplexity $30$, and the untrained model is close to it. After a few dozen updates it
has learned which letters are frequent and that words are separated by spaces; then short common
words appear; at the last checkpoint most of what it writes at this temperature are words of the
corpus, strung together without sense. That is what a model of 64 units trained for 300 updates can do;
the numbers the cell printed say how far it got. For a longer run
with the same protocol:

```
.venv/bin/python benchmarks/bench_char_model.py --updates 20000 --hidden 256 --every 2000
```

It prints the validation perplexity and a sample at each checkpoint; on a CPU it takes a while
(its lines say how long), and the course makes no claim about how well it ends.

## 3. Temperature

The model gives scores $z$ for the 30 characters; sampling draws the next character from
$p_i \\propto \\exp(z_i / T)$ and feeds it back in. $T = 1$ is the model's own distribution;
$T < 1$ sharpens it towards the likeliest character (at $T = 0$, always that one); $T > 1$
flattens it towards uniform. `C.sample_chars` is that loop, on a copy of the model without a
graph (lesson 5), and `C.temperature_probs` the formula:
"""),
code("""
scores = np.array([2.0, 1.0, 0.0])
for T in (0, 0.5, 1, 2):
    print(f"T = {T}: p = {np.round(C.temperature_probs(scores, T), 3)}")
for T in (0.5, 1.0, 1.5):
    shares = [C.real_word_share(C.sample_chars(model, 400, T, seed=s)) for s in range(3)]
    print(f"\\ntemperature {T}: {np.mean(shares):.0%} real words (three samples of 400 characters)")
    print(C.sample_chars(model, 160, T, seed=0).strip())
"""),
md("""
Trained from each of three seeds, about 0.91 of the words it writes at temperature 0.5 are words of the corpus, about 0.62
at 1 and about 0.37 at 1.5 (the cell above prints the shares for this model). Low temperature
buys correct spelling with repetition (the same frequent words again and again); high temperature
buys variety with invented words. Nothing in between is "the right one": it depends on what the
text is for.

## 4. Units that mean something

Each of the 64 hidden units has an activation after every character. Most are hard to name, but
some line up with a feature of the text. To find them, measure: for each feature below (one number
per character read) and each unit, the correlation $r$ between the unit's activation and the
feature over 6,000 validation characters.

* `space`: 1 where the character read is a space (a word just ended);
* `verse end`: 1 where it is the newline that ends a verse;
* `position in the word`: how many letters of the current word have been read;
* `position in the verse`: how many characters since the verse began;
* `inside 's`: 1 on the apostrophe and the `s` of a possessive.
"""),
code("""
ids = valid[:6000]
activations = C.unit_activations(model, ids)          # (characters, units): h after each character
features = C.char_features(datasets.ids_to_chars(ids))
for name, feature in features.items():
    best = C.best_units(activations, feature, k=3)
    print(f"{name:>22}: " + ",  ".join(f"unit {u} r = {r:+.2f}" for u, r in best))
"""),
md("""
Trained from each of three seeds, some unit's activation correlates with "the character read is a space" at about 0.64,
and another's with the position in the word at about 0.72 (in absolute value; the sign of a unit
is arbitrary). On the other hand, no unit reaches 0.2 with the verse end or with the position in the verse: at
this size the model has learned the short structure of the text (letters and words) but not the
long one (a whole verse). The `inside 's` line depends on how many
possessives the 6,000 characters happen to hold: read it from the cell.

See it. `UnitTextView` colours each character by one unit's activation right after the model read
it (red positive, blue negative). Pick a feature in **find units for**: the slider jumps to the
unit that correlates most with it, and the line under the title gives its $r$ and the next best.
Then move the slider through the other units and look for patterns the list of features does not
name.
"""),
code("""
units = UnitTextView(model, valid[:3000], state="h")
units.feature.value = "position in the word"
units
"""),
md("""
## 5. Connectivity: how far back a prediction looks

Which earlier characters does a prediction depend on? One answer, drawn in Distill's article on
memorisation in recurrent networks: take the prediction made after reading $x_0 \\dots x_t$, the
log-probability it gives the character that really comes next, and measure how strongly it
responds to each earlier character's input. Here the input of character $s$ is its embedding
$e_s$, and the response is the size of the gradient

$$n_s = \\left\\lVert \\frac{\\partial \\log p(x_{t+1} \\mid x_0 \\dots x_t)}{\\partial e_s} \\right\\rVert,
\\quad s = 0 \\dots t.$$

`C.Connectivity(model, ids, bprop_len)` runs the model once with every $e_s$ as a leaf `Variable`
and reads $n_s$ from `.grad` after a real `backward()`. With `bprop_len = b` it cuts the state
before steps $0, b, 2b, \\dots$ as truncated BPTT does (lesson 4): the values carry on, the
history does not.

`ConnectivityView` draws both for the prediction at position **t** (solid box: the character just
read; dashed: the one to predict): on top with full BPTT, below truncated at **bprop_len** (the red
bar is the cut before the window that holds $t$). Both rows share one log colour scale; an
uncoloured character receives no gradient at all.
"""),
code("""
connectivity = ConnectivityView(model, valid[:193], t=150, bprop_len=32)
connectivity
"""),
md("""
The same numbers, for positions every 20 characters along a longer passage:
"""),
code("""
passage = valid[:400]
full = C.Connectivity(model, passage)
cut = C.Connectivity(model, passage, bprop_len=32)
before = []
for t in range(100, 399, 20):
    n, m = full.norms(t), cut.norms(t)
    start = cut.window_start(t)
    before.append(n[:start].sum() / n.sum())
    assert np.allclose(n[start:], m[start:], rtol=1e-4) and not m[:start].any()
print(f"share of the full connectivity before the cut: mean {np.mean(before):.2f}, "
      f"from {min(before):.2f} to {max(before):.2f}")
print("n_s / n_t for the 8 characters before t = 150:", np.round(full.norms(150)[-9:-1] / full.norms(150)[-1], 3))
"""),
md("""
Two things to see. First, inside the window the two rows are the same, and before it the truncated row is empty: truncation does not
change the gradient it keeps, it only drops the paths that cross the cut (the `assert` in the
cell checks it at every position). Second, the full row fades fast but not to nothing:
averaged over positions, about 0.1 of the full connectivity lies before the cut. Those are
the gradients that truncated training never sees, and with them any chance to learn a dependency
longer than the window from this signal alone.

> **The same in PyTorch.** The character model is
> `nn.Embedding(30, 16)` → `nn.LSTM(16, 64, batch_first=True)` → `nn.Linear(64, 30)`; PyTorch's
> LSTM orders its gate blocks `[i, f, g, o]` like `L.LSTM`. Truncated BPTT keeps the state and
> cuts its history with `h, c = h.detach(), c.detach()` (our `unchain_backward()` / `truncate()`);
> clip with `torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)`. Sampling runs under
> `torch.no_grad()`: `torch.multinomial(torch.softmax(logits / T, -1), 1)`. For connectivity,
> make the embeddings a leaf that keeps its gradient (`e = emb(x).detach().requires_grad_()`),
> back-propagate `log_softmax(logits)[t, x[t + 1]]`, and read `e.grad.norm(dim=-1)`.

## Try it
"""),
answer("""
1. In `UnitTextView`, choose **find units for ▸ space**. Where in a word is the unit most
   active, and what does it do just before a space?
""", """
Read it from the colours; there is no single answer, since it depends on the unit the seed
produced. A unit that moves at the space itself reports what was just read; one that already
moves in the last letters of a word, before the space, helps predict that the word is about to
end. The correlation the line reports measures the first kind only: look at the colours for the
second.
"""),
answer("""
2. Sample with `temperature=0` (greedy). What goes wrong, and why does sampling at a temperature
   avoid it?
""", """
The greedy text falls into a loop: the same frequent words repeat, because the likeliest next
character after a given context is always the same, and once the model's state comes back to a
context it has seen it writes the same continuation again. Drawing at random breaks the loop; the
temperature sets how often an unlikely character is drawn.
"""),
answer("""
3. In `ConnectivityView`, set **bprop_len** to 8 and move **t**. When does the truncated row keep
   almost all of the full one, and when does it lose most of it?
""", """
Right after a cut ($t$ at the start of a window) the window holds only the last few characters,
and the truncated row loses everything before them; at the end of a window it holds
`bprop_len` characters. The readout line says which share of the full connectivity lies before
the cut at each $t$: compare it just after a cut and just before the next one.
"""),
answer("""
4. Why correlate with "the character read" and not with "the character to predict"?
""", """
Both make sense, and they find different units. The state after reading $x_t$ is all the model
has to predict $x_{t+1}$: a unit correlated with the next character being a space is a unit that
*predicts* word ends. Build that feature by shifting one by one position
(`np.roll(features["space"], -1)`), and compare the units it finds with those for the space read.
"""),
md("""
## Next

**Assignment:** no assignment grades this lesson directly; the one that practises its loop is
[`truncated_bptt`](../assignments/truncated_bptt/truncated_bptt.ipynb): train this character
model with the `train_language_model` you write there, on `datasets.get_kjv_chars()`, and compare
its samples with those above.
"""),
]
