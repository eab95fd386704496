from nb import answer, code, md

NAME = "11_sequences_in_and_out.ipynb"

CELLS = [
md("""
# 11 · Sequences in, sequences out

**Goals.** After this lesson you can

* pad a batch of sequences of different lengths, build its mask, and check that padding changes
  nothing an encoder computes;
* write an **encoder-decoder** (sequence to sequence) with two LSTMs: the encoder reads the source,
  the decoder writes the answer, trained with **teacher forcing** and run with **greedy decoding**;
* add **dot-product attention** over the encoder's states, with the padded positions masked out
  before the softmax, and say why the mask is needed;
* measure what attention changes on a small task, and look at where the model looks with a heat
  map of its attention weights.

About **45 minutes**. Practised in the assignment **`masked_loss`**: the masked sequence loss used
here, and its gradient, written by hand.
"""),
code("""
%matplotlib widget
import numpy as np
import rnnviz as chainer
from rnnviz import optimizers
from rnnviz import functions as F, links as L
from rnnviz.datasets import BOS, EOS, digit_reversal
from rnnviz.iterators import BucketIterator, pad_sequences
from rnnviz.widgets import AttentionView
"""),
md("""
## 1. The task: write the digits backwards

A language model reads one sequence and predicts its next token. Many tasks instead read a whole
sequence and then write **another** one, of another length: translation, summarising, answering.
The smallest such task is **reversal**: read `3 1 4 1 5`, write `5 1 4 1 3`. "Deep Learning from
Scratch 2" (chapter 7) uses addition, `57+5` to `62`; `rnnviz.datasets.digit_addition` generates
that one too, and everything below works for it unchanged.

`digit_reversal(n, min_len, max_len, seed)` returns two lists of id arrays and the vocabulary. Ids
0 to 9 are the digits, `BOS` (begin of sentence) is the decoder's first input and `EOS` (end of
sentence) its last target, so that the model itself says when the answer is complete. Padding is
not a token: we pad with `-1`, which `F.embed_id` and the losses skip.
"""),
code("""
sources, targets, vocab = digit_reversal(2000, min_len=3, max_len=8, seed=0)
test_sources, test_targets, _ = digit_reversal(500, min_len=3, max_len=8, seed=10_000)

def spell(ids):
    return " ".join(vocab[i] for i in ids)

for s, t in zip(sources[:3], targets[:3]):
    print(f"{spell(s):<18} ->  {spell(t)}")
print("vocabulary:", vocab, "  BOS =", BOS, "  EOS =", EOS)
assert all(np.array_equal(t[:-1], s[::-1]) and t[-1] == EOS for s, t in zip(sources, targets))
"""),
md("""
## 2. Padding and masks

A mini-batch holds sources of different lengths. `pad_sequences` stacks them time-major, shape
(S, B) for S steps and B sequences, filling the end of the shorter ones with `-1`, and returns the
lengths; `F.sequence_mask(lengths, S)` says which positions are real: $m_{sb} = [s < L_b]$.
"""),
code("""
xs, lengths = pad_sequences(sources[:4])
mask = F.sequence_mask(lengths, len(xs))
print("lengths:", lengths)
print(xs)
print(mask.astype(int))
assert (xs[~mask] == -1).all() and mask.sum() == lengths.sum()
"""),
md("""
A recurrent layer given the mask, `lstm(x_t, mask=m_t)`, advances only the sequences still alive
at step $t$; the others keep their state:

$$s_t = \\operatorname{where}(m_t,\\ \\operatorname{step}(s_{t-1}, x_t),\\ s_{t-1}).$$

So after the last step, each sequence's state is the one it reached at its own end, exactly what
it would be if the sequence had been read alone. Check it on the batch above:
"""),
code("""
np.random.seed(0)
embed, lstm = L.EmbedID(len(vocab), 16, ignore_label=-1), L.LSTM(16, 32)

lstm.reset_state()
for x_t, m_t in zip(xs, mask):
    lstm(embed(x_t), mask=m_t)
batched = lstm.h.array

for b, source in enumerate(sources[:4]):
    lstm.reset_state()
    for x_t in source:
        lstm(embed(x_t[None]))
    assert np.allclose(lstm.h.array[0], batched[b], atol=1e-6)
print("each sequence's final state in the padded batch = its final state read alone")
"""),
md("""
Without the mask the short sequences would go on stepping over padding (zero embeddings, but the
LSTM's bias and recurrent weights still move the state), and their final states would depend on
how long the longest sequence of the batch happened to be.

## 3. Encoder and decoder

The model has two LSTMs.

* The **encoder** reads the padded source with its mask and keeps its state at every step,
  $h_1, \\dots, h_S$ (a padded position repeats the last real state).
* The **decoder** starts from the encoder's final state $(h, c)$: that state is all it knows about
  the source. It reads `BOS`, predicts the first token, reads it, predicts the next, and so on.

**Teacher forcing.** While training, the decoder does not read its own guesses: it reads the true
target shifted by one step (`BOS`, then the target without its last token), so every step learns
from a correct history and all steps are trained at once. The loss is
`F.temporal_softmax_cross_entropy` over the target's real positions (padded targets are `-1` and
count for nothing). The decoder needs no mask: a padded step comes after the real ones and cannot
change them.

**Greedy decoding.** At test time there is no target: the decoder reads its own previous output
(the most likely token) until it writes `EOS`.

The class below has a switch, `attention`; leave it off for now, section 5 explains `attend`.
"""),
code("""
class Seq2Seq(chainer.Chain):
    def __init__(self, n_vocab, n_embed=16, n_hidden=32, attention=False):
        super().__init__()
        self.attention = attention
        with self.init_scope():
            self.embed_source = L.EmbedID(n_vocab, n_embed, ignore_label=-1)
            self.embed_target = L.EmbedID(n_vocab, n_embed, ignore_label=-1)
            self.encoder = L.LSTM(n_embed, n_hidden)
            self.decoder = L.LSTM(n_embed, n_hidden)
            self.out = L.Linear(2 * n_hidden if attention else n_hidden, n_vocab)

    def encode(self, xs, mask):
        # xs (S, B) padded source ids, mask (S, B): read them, keep every state
        self.encoder.reset_state()
        states = [self.encoder(self.embed_source(x_t), mask=m_t) for x_t, m_t in zip(xs, mask)]
        self.states = F.stack(states, axis=1)          # (B, S, H)
        self.source_mask = mask.T                      # (B, S)
        self.decoder.set_state(c=self.encoder.c, h=self.encoder.h)

    def attend(self, q):
        # dot-product attention of the decoder states q (B, H) over the encoder states
        B, S, H = self.states.shape
        scores = F.reshape(F.matmul(self.states, F.reshape(q, (B, H, 1))), (B, S))
        weights = F.masked_softmax(scores, self.source_mask)   # padding gets exactly 0
        context = F.reshape(F.matmul(F.reshape(weights, (B, 1, S)), self.states), (B, H))
        return weights, context

    def step(self, y_prev):
        # one decoder step: scores over the vocabulary, and the attention weights (or None)
        q = self.decoder(self.embed_target(y_prev))
        if not self.attention:
            return self.out(q), None
        weights, context = self.attend(q)
        return self.out(F.concat([q, context], axis=1)), weights

    def loss(self, sources, targets):
        xs, source_lengths = pad_sequences(sources)
        ts, _ = pad_sequences(targets)
        self.encode(xs, F.sequence_mask(source_lengths, len(xs)))
        # teacher forcing: read BOS and the target shifted by one step
        inputs = np.concatenate([np.full((1, len(targets)), BOS, np.int32), ts[:-1]])
        scores = [self.step(y)[0] for y in inputs]
        return F.temporal_softmax_cross_entropy(scores, ts)

    def generate(self, sources, max_len=None):
        # greedy decoding: read the previous output, stop at EOS
        xs, lengths = pad_sequences(sources)
        max_len = len(xs) + 2 if max_len is None else max_len
        with chainer.no_backprop_mode():
            self.encode(xs, F.sequence_mask(lengths, len(xs)))
            y = np.full(len(sources), BOS, np.int32)
            tokens, weights = [], []
            for _ in range(max_len):
                scores, a = self.step(y)
                y = scores.array.argmax(axis=1).astype(np.int32)
                tokens.append(y)
                weights.append(None if a is None else a.array)
        tokens = np.stack(tokens, axis=1)
        outputs, maps = [], []
        for b, L_b in enumerate(lengths):
            ends = np.flatnonzero(tokens[b] == EOS)
            n = ends[0] + 1 if len(ends) else max_len
            outputs.append(tokens[b, :n])
            maps.append(None if weights[0] is None else np.stack([w[b, :L_b] for w in weights[:n]]))
        return outputs, maps

    def translate(self, source):
        # one source in, (output ids, weights (len(output), len(source))) out
        outputs, maps = self.generate([np.asarray(source, np.int32)])
        return outputs[0], maps[0]
"""),
md("""
## 4. Training, and the accuracy of whole sequences

The loop is the familiar one. `BucketIterator` hands out batches of sources of similar length
(less padding), shuffled within pools of a few batches. We score a model by **sequence accuracy**:
the share of the 500 fresh test sources whose whole output, `EOS` included, is exactly right (one
wrong digit and the answer is wrong).
"""),
code("""
def train(attention, iterations=300, seed=0):
    np.random.seed(seed)
    model = Seq2Seq(len(vocab), n_hidden=32, attention=attention)
    opt = optimizers.Adam(alpha=0.01).setup(model)
    it = BucketIterator(list(zip(sources, targets)), 64, pool_batches=4, seed=seed)
    for i in range(iterations):
        batch = next(it)
        loss = model.loss([s for s, _ in batch], [t for _, t in batch])
        model.cleargrads()
        loss.backward()
        opt.update()
        if (i + 1) % 100 == 0:
            print(f"iteration {i + 1}: loss {float(loss.array):.3f}")
    return model


def evaluate(model):
    outputs, _ = model.generate(test_sources)
    right = np.array([len(o) == len(t) and (o == t).all() for o, t in zip(outputs, test_targets)])
    lengths = np.array([len(s) for s in test_sources])
    by_length = {n: right[lengths == n].mean() for n in range(3, 9)}
    return right.mean(), by_length


plain = train(attention=False)
plain_acc, plain_by_length = evaluate(plain)
print(f"without attention: sequence accuracy {plain_acc:.2f}")
for s in test_sources[:3]:
    print(f"  {spell(s):<16} -> {spell(plain.translate(s)[0])}")
"""),
md("""
Without attention the model gets about 0.66 of the fresh sources exactly right. Where does it
fail? The accuracy by source length (printed below, with the attention model's beside it) shows
it: the decoder must rebuild every digit from one state vector of 32 numbers, and a longer source
asks more of it.

## 5. Attention: look back at the source

Attention gives the decoder a way back to every encoder state instead of only the last. At
decoder step $t$, with decoder state $q_t$:

$$e_{ts} = h_s \\cdot q_t, \\qquad a_t = \\operatorname{softmax}(e_t), \\qquad
c_t = \\sum_s a_{ts} h_s,$$

and the prediction reads $[q_t; c_t]$ (the decoder's state and the **context** $c_t$ side by side,
the layout of "Deep Learning from Scratch 2", chapter 8). The weights $a_{ts}$ are positive and
sum to one over the source: step $t$ decides how much of each source position to take.

**The mask.** In a padded batch, a short source has padded positions, and the encoder's state there
repeats its last real state. A plain softmax would give those copies weight too, so the last digit
would count once more per padded position, and the answer for a source would depend on what else
is in its batch. `F.masked_softmax(scores, mask)` gives the padded positions exactly zero weight
(and zero gradient); it is `attend` in the class above. See the difference on three scores, the
last one padded:
"""),
code("""
scores = np.array([[2.0, 1.0, 1.0]], np.float32)
source_mask = np.array([[True, True, False]])
print("softmax:        ", F.softmax(scores).array.round(3))
print("masked_softmax: ", F.masked_softmax(scores, source_mask).array.round(3))
w = F.masked_softmax(scores, source_mask).array
assert w[0, 2] == 0 and np.isclose(w.sum(), 1)
"""),
md("""
Now the same training with `attention=True`, and both models' accuracy by source length:
"""),
code("""
attentive = train(attention=True)
attentive_acc, attentive_by_length = evaluate(attentive)
print(f"with attention: sequence accuracy {attentive_acc:.2f}   (without: {plain_acc:.2f})")
print("source length        ", "  ".join(f"{n:>4d}" for n in plain_by_length))
print("without attention    ", "  ".join(f"{a:4.2f}" for a in plain_by_length.values()))
print("with attention       ", "  ".join(f"{a:4.2f}" for a in attentive_by_length.values()))
"""),
md("""
Same data, same size, same number of updates: with attention, about 0.93. The table shows where
the difference lies. The plain model gets about 0.98 of the sources of 3 or 4 digits right, but
only about 0.23 of those of 7 or 8 digits; with attention, about 0.81 of the long ones. The
attentive model no longer has to carry the whole source in one vector: each step looks its digit
up.

## 6. Where the model looks

`AttentionView` draws the weights $a_{ts}$ of one source as a heat map: the source's tokens along
the top, the tokens the model wrote down the side, dark where step $t$ put its weight. Move
**example** through test sources, or type your own digits in **source** (press Enter). For reversal
the trained model looks along the anti-diagonal: to write the first digit it reads the last one.
"""),
code("""
view = AttentionView(attentive, examples=test_sources[:20])
view
"""),
md("""
The widget works on any model that follows its protocol: a callable, or an object with a method
`translate(source)`, that takes one source (1-D ids) and returns the output ids and the weights as
an array (len(output), len(source)). `Seq2Seq.translate` above is exactly that; your own model
only has to provide it.

> **The same in PyTorch.**
> * Padding: `torch.nn.utils.rnn.pad_sequence(seqs, padding_value=-1)`; a mask from the lengths:
>   `torch.arange(S)[:, None] < lengths[None, :]`.
> * The masked encoder: `nn.LSTM` over
>   `nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)`; its final `(h_n, c_n)`
>   is each sequence's state at its own end, as `lstm(x_t, mask=m_t)` gives here. Its gate order
>   is `[i, f, g, o]`, the same as `L.LSTM`'s. The decoder is another `nn.LSTM` called with
>   `(h_n, c_n)` as its initial state.
> * The masked softmax: `scores.masked_fill(~mask, float("-inf")).softmax(-1)` (a row with no
>   real position gives NaN there, 0 here). `nn.MultiheadAttention` takes
>   `key_padding_mask`, where **True marks padding**, the opposite of the mask here, and
>   `torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)` takes a boolean
>   mask where True means "may attend", as here.
> * The loss: `nn.functional.cross_entropy(scores, targets, ignore_index=-1, reduction="sum") / B`
>   is `F.temporal_softmax_cross_entropy`'s default.
> * Greedy decoding runs under `torch.no_grad()` (here: `chainer.no_backprop_mode()`); long
>   sources may call for `torch.nn.utils.clip_grad_norm_` in training (here the optimizer hook
>   `GradientClipping`).

## Try it
"""),
answer("""
1. Build `AttentionView(plain, examples=test_sources[:20])` with the model trained without
   attention. What does the widget say, and why?
""", """
It shows a message instead of a map: `plain.translate` returns `None` for the weights, because that
model has no attention: its decoder never looks at the encoder's states after the first step.
"""),
answer("""
2. In `attend`, replace `F.masked_softmax(scores, self.source_mask)` by `F.softmax(scores)` and
   decode `test_sources[:64]` in one batch, then each source alone. Which outputs can change, and
   why does the widget (one source at a time) not show the problem?
""", """
Only the sources shorter than the longest of the batch can change: they have padded positions.
There the encoder's state repeats the last real state, so an unmasked softmax gives the last digit
one more share of weight per padded position, and the context leans towards it. A single source has
no padding, so `translate` and the widget compute the same thing with or without the mask; the
error only shows in batches, which is where training happens.
"""),
answer("""
3. Without attention, why does a longer source come out right less often?
""", """
The decoder learns everything about the source from the encoder's final state: 32 numbers for $h$
and 32 for $c$. Every digit and its position must be packed into them and unpacked in reverse
order, and the more digits, the more must survive. Attention removes that bottleneck: each step
reads the encoder's state at the position it needs.
"""),
answer("""
4. Train both models on addition instead: `digit_addition(2000, 1, 3, seed=0)` for the training
   set and another seed for the test set (change the two lines of section 1; `evaluate` needs its
   length table changed too). Then look at the attention map of a sum. Which source digits does a
   step look at?
""", """
Look for yourself: the lesson does not measure it. What to expect is what a person does, the digits
of the same place value in both numbers, and the carry from the step before; whether this small
model learns that in 300 updates is what the map shows.
"""),
md("""
## The end of the course

You can now read a sequence in and write another one out, and see where the decoder looks. That
closes the course: from a single `Variable` to an encoder-decoder with attention, every number on
the way computed by the library you read.

**Assignment:** [`masked_loss`](../assignments/masked_loss/masked_loss.ipynb) has you write the
loss of section 3 over a padded batch, `F.temporal_softmax_cross_entropy` with its mask, forward and
backward, so that padded positions change neither the loss nor any gradient (and gradient clipping,
from lesson 08). The assignment **`lstm`**
([`../assignments/lstm/lstm.ipynb`](../assignments/lstm/lstm.ipynb)) practises the step that both
the encoder and the decoder take.
"""),
]
