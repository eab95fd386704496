"""Sequences in, sequences out: the encoder-decoder of lesson 11, trained and measured.

The model is the lesson's, written once more here so that the tests and the lesson's claims can
re-measure it (the lesson's code is what a learner reads; tests/test_seq2seq.py checks that both
give the same losses):

* an encoder ``L.LSTM`` reads the padded, time-major source x (S, B) with the mask m (S, B), so
  that each sequence's final state is the one it reaches alone;
* a decoder ``L.LSTM`` starts from that state, reads ``<bos>`` and then the target shifted by one
  (teacher forcing) and predicts the next token;
* with ``attention=True``, at each decoder step t the scores e_ts = h_s . q_t over the encoder
  states h_s, the weights a_t = masked_softmax(e_t, m) (padding gets exactly 0), the context
  c_t = sum_s a_ts h_s, and the prediction is ``Linear([q_t; c_t])`` (DLFS2 ch. 8's layout).

``translate(source)`` is the attention widget's protocol: one source (1-D ids) in, the greedy
output ids and the attention weights (len(output), len(source)) out.
"""
import functools

import numpy

from .. import functions as F
from .. import links as L
from .. import optimizers
from ..core import no_backprop_mode
from ..datasets.synthetic import BOS, DIGIT_VOCAB, EOS, IGNORE_LABEL, digit_addition, digit_reversal
from ..iterators import BucketIterator, pad_sequences
from ..links import Chain

TASKS = {"reversal": digit_reversal, "addition": digit_addition}


class Seq2Seq(Chain):
    """Encoder LSTM, decoder LSTM, and (``attention=True``) dot-product attention over the
    encoder's states. ``loss(sources, targets)`` trains it; ``generate(sources)`` decodes greedily."""

    def __init__(self, n_vocab=len(DIGIT_VOCAB), n_embed=16, n_hidden=64, attention=False):
        super().__init__()
        self.attention = attention
        with self.init_scope():
            self.embed_source = L.EmbedID(n_vocab, n_embed, ignore_label=IGNORE_LABEL)
            self.embed_target = L.EmbedID(n_vocab, n_embed, ignore_label=IGNORE_LABEL)
            self.encoder = L.LSTM(n_embed, n_hidden)
            self.decoder = L.LSTM(n_embed, n_hidden)
            self.out = L.Linear(2 * n_hidden if attention else n_hidden, n_vocab)

    def encode(self, xs, mask):
        """Read the padded sources xs (S, B) alive where mask (S, B); keep the states (B, S, H)."""
        self.encoder.reset_state()
        states = [self.encoder(self.embed_source(x_t), mask=m_t) for x_t, m_t in zip(xs, mask)]
        self.states = F.stack(states, axis=1)
        self.source_mask = mask.T
        self.decoder.set_state(c=self.encoder.c, h=self.encoder.h)

    def attend(self, q):
        """Weights a (B, S) over the source positions for the decoder states q (B, H), and the
        context sum_s a_s h_s (B, H)."""
        B, S, H = self.states.shape
        scores = F.reshape(F.matmul(self.states, F.reshape(q, (B, H, 1))), (B, S))
        weights = F.masked_softmax(scores, self.source_mask)
        context = F.reshape(F.matmul(F.reshape(weights, (B, 1, S)), self.states), (B, H))
        return weights, context

    def step(self, y_prev):
        """One decoder step: scores over the vocabulary (B, V) and the weights (None without attention)."""
        q = self.decoder(self.embed_target(y_prev))
        if not self.attention:
            return self.out(q), None
        weights, context = self.attend(q)
        return self.out(F.concat([q, context], axis=1)), weights

    def loss(self, sources, targets):
        """Teacher forcing: the decoder reads <bos> and the target shifted by one; the loss is
        summed over each target's live positions and averaged over the batch."""
        xs, source_lengths = pad_sequences(sources)
        ts, _ = pad_sequences(targets)
        self.encode(xs, F.sequence_mask(source_lengths, len(xs)))
        inputs = numpy.concatenate([numpy.full((1, len(targets)), BOS, numpy.int32), ts[:-1]])
        scores = [self.step(y)[0] for y in inputs]
        return F.temporal_softmax_cross_entropy(scores, ts)

    def generate(self, sources, max_len=None):
        """Greedy decoding: (outputs, weights), one list entry per source; an output stops at
        <eos> (included) or after ``max_len`` tokens (default: the longest source + 2)."""
        xs, lengths = pad_sequences(sources)
        max_len = len(xs) + 2 if max_len is None else max_len
        with no_backprop_mode():
            self.encode(xs, F.sequence_mask(lengths, len(xs)))
            y = numpy.full(len(sources), BOS, numpy.int32)
            tokens, weights = [], []
            for _ in range(max_len):
                scores, a = self.step(y)
                y = scores.array.argmax(axis=1).astype(numpy.int32)
                tokens.append(y)
                weights.append(None if a is None else a.array)
        tokens = numpy.stack(tokens, axis=1)
        outputs, maps = [], []
        for b, L_b in enumerate(lengths):
            ends = numpy.flatnonzero(tokens[b] == EOS)
            n = ends[0] + 1 if len(ends) else max_len
            outputs.append(tokens[b, :n])
            maps.append(None if weights[0] is None else numpy.stack([w[b, :L_b] for w in weights[:n]]))
        return outputs, maps

    def translate(self, source):
        """The attention widget's protocol: one source (1-D ids) -> (output ids, weights
        (len(output), len(source)); None without attention)."""
        outputs, maps = self.generate([numpy.asarray(source, numpy.int32)])
        return outputs[0], maps[0]


def sequence_accuracy(model, sources, targets, batch_size=250):
    """The share of sources whose whole greedy output (up to and including <eos>) is the target."""
    right = 0
    for i in range(0, len(sources), batch_size):
        outputs, _ = model.generate(sources[i:i + batch_size])
        right += sum(len(o) == len(t) and bool((o == t).all())
                     for o, t in zip(outputs, targets[i:i + batch_size]))
    return right / len(sources)


def train_seq2seq(attention, task="reversal", min_len=3, max_len=8, n_train=2000, iterations=300,
                  batch_size=64, n_hidden=64, alpha=0.01, seed=0, log_every=0):
    """Train a :class:`Seq2Seq` with Adam on ``n_train`` examples of the digit task; returns
    (model, losses per iteration). The seed fixes the data, the initial weights and the batches."""
    sources, targets, vocab = TASKS[task](n_train, min_len, max_len, seed=seed)
    numpy.random.seed(seed)
    model = Seq2Seq(len(vocab), n_hidden=n_hidden, attention=attention)
    opt = optimizers.Adam(alpha=alpha).setup(model)
    it = BucketIterator(list(zip(sources, targets)), batch_size, pool_batches=4, seed=seed)
    losses = []
    for i in range(iterations):
        batch = next(it)
        loss = model.loss([s for s, _ in batch], [t for _, t in batch])
        model.cleargrads()
        loss.backward()
        opt.update()
        losses.append(float(loss.array))
        if log_every and (i + 1) % log_every == 0:
            print(f"iteration {i + 1}: loss {numpy.mean(losses[-log_every:]):.3f}")
    return model, numpy.array(losses)


def test_set(task="reversal", min_len=3, max_len=8, n=500, seed=0):
    """Fresh examples, drawn apart from every training set (seed offset 10,000)."""
    return TASKS[task](n, min_len, max_len, seed=10_000 + seed)[:2]


def measure(attention, seed=0, **options):
    """Train, then the sequence accuracy on a fresh test set of the same task and lengths."""
    model, losses = train_seq2seq(attention, seed=seed, **options)
    keys = ("task", "min_len", "max_len")
    sources, targets = test_set(**{k: options[k] for k in keys if k in options}, seed=seed)
    return sequence_accuracy(model, sources, targets), losses


@functools.lru_cache(maxsize=2)
def demo_translator(seed=0):
    """A small attention model trained on reversal (the AttentionView's default; cached)."""
    model, _ = train_seq2seq(True, iterations=150, n_hidden=32, seed=seed)
    return model
