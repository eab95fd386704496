"""Lesson 11's pieces: ``F.masked_softmax`` (finite differences, PyTorch), the digit tasks, the
encoder-decoder of ``rnnviz.experiments.seq2seq`` (padding changes nothing; it is the lesson's
own model) and ``AttentionView`` (its protocol, and bad input shown as a message)."""
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import numpy as np
import pytest

from rnnviz import Variable, functions as F, gradient_check
from rnnviz.datasets import BOS, DIGIT_VOCAB, EOS, PLUS, digit_addition, digit_reversal
from rnnviz.experiments import seq2seq as S

REPO = Path(__file__).resolve().parents[1]


# -- F.masked_softmax ----------------------------------------------------------------------------
def test_masked_softmax_gives_padding_exactly_zero_and_sums_to_one(rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    y = F.masked_softmax(x, mask).array
    assert (y[~mask] == 0).all()
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-6)
    # on the live positions it is the softmax of those positions alone
    np.testing.assert_allclose(y[0, :3], F.softmax(x[:1, :3]).array[0], rtol=1e-6)
    np.testing.assert_allclose(y[1], F.softmax(x[1:2]).array[0], rtol=1e-6)


def test_masked_softmax_backward_matches_finite_differences(rng):
    mask = rng.random((4, 6)) > 0.4
    mask[:, 0] = True
    gradient_check.check_backward(lambda x: F.masked_softmax(x, mask), rng.standard_normal((4, 6)),
                                  atol=1e-7, rtol=1e-6)
    # along another axis, with a mask that broadcasts (B, 1, S) against (B, T, S)
    m3 = rng.random((2, 1, 5)) > 0.3
    m3[..., 0] = True
    gradient_check.check_backward(lambda x: F.masked_softmax(x, m3, axis=2),
                                  rng.standard_normal((2, 3, 5)), atol=1e-7, rtol=1e-6)


def test_masked_positions_get_no_gradient_and_an_empty_row_is_zero_not_nan(rng):
    x = Variable(rng.standard_normal((2, 4)))
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], bool)
    y = F.masked_softmax(x, mask)
    assert np.isfinite(y.array).all() and (y.array[1] == 0).all()
    F.sum(y * rng.standard_normal((2, 4))).backward()
    assert (x.grad[~mask] == 0).all() and np.isfinite(x.grad).all()


def test_masked_softmax_says_what_is_wrong():
    with pytest.raises(ValueError, match="masked_softmax.*does not broadcast"):
        F.masked_softmax(np.zeros((2, 3), np.float32), np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="masked_softmax.*True/False"):
        F.masked_softmax(np.zeros((2, 3), np.float32), np.full((2, 3), 2))
    with pytest.raises(TypeError, match="masked_softmax.*floating"):
        F.masked_softmax(np.zeros((2, 3), np.int32), np.ones((2, 3), bool))


def test_masked_softmax_agrees_with_pytorch(rng):
    torch = pytest.importorskip("torch", reason="PyTorch is the independent autograd compared against")
    x = rng.standard_normal((3, 7))
    mask = rng.random((3, 7)) > 0.5
    mask[:, 2] = True
    g = rng.standard_normal((3, 7))
    v = Variable(x)
    F.sum(F.masked_softmax(v, mask) * g).backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = tx.masked_fill(~torch.from_numpy(mask), float("-inf")).softmax(-1)
    (ty * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(F.masked_softmax(x, mask).array, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(v.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


# -- the digit tasks -----------------------------------------------------------------------------
def test_digit_reversal():
    sources, targets, vocab = digit_reversal(200, 3, 8, seed=1)
    assert vocab == DIGIT_VOCAB and vocab[BOS] == "<bos>" and vocab[EOS] == "<eos>"
    assert {len(s) for s in sources} == set(range(3, 9))
    for s, t in zip(sources, targets):
        assert s.dtype == np.int32 and t.dtype == np.int32
        assert np.array_equal(t, np.append(s[::-1], EOS)) and s.max() <= 9 and s.min() >= 0
    again, _, _ = digit_reversal(200, 3, 8, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(sources, again))
    with pytest.raises(ValueError, match="digit_reversal: max_len must be >= min_len"):
        digit_reversal(3, 5, 4)


def test_digit_addition():
    sources, targets, _ = digit_addition(100, 1, 3, seed=2)
    for s, t in zip(sources, targets):
        text = "".join(DIGIT_VOCAB[i] for i in s)
        a, b = text.split("+")
        assert t[-1] == EOS and "".join(DIGIT_VOCAB[i] for i in t[:-1]) == str(int(a) + int(b))
        assert list(s).count(PLUS) == 1 and 1 <= len(a) <= 3 and 1 <= len(b) <= 3


# -- the encoder-decoder -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    model, losses = S.train_seq2seq(True, iterations=60, n_hidden=16, seed=0)
    return model, losses


def test_a_batch_decodes_as_each_source_alone(trained):
    """Padding changes nothing: masked encoder, masked attention."""
    model, losses = trained
    assert losses[-10:].mean() < losses[:10].mean()
    sources, _ = S.test_set(n=12, seed=3)
    outputs, maps = model.generate(sources)
    for s, o, m in zip(sources, outputs, maps):
        alone, weights = model.translate(s)
        assert np.array_equal(o, alone)
        np.testing.assert_allclose(m, weights, atol=1e-5)
        assert weights.shape == (len(alone), len(s))
        np.testing.assert_allclose(weights.sum(axis=1), 1, rtol=1e-5)


def test_the_loss_gradient_of_the_attention_model_matches_finite_differences():
    np.random.seed(0)
    model = S.Seq2Seq(len(DIGIT_VOCAB), n_embed=3, n_hidden=4, attention=True)
    for p in model.params():
        p.array = p.array.astype(np.float64)
    sources, targets, _ = digit_reversal(3, 2, 4, seed=0)
    model.cleargrads()
    model.loss(sources, targets).backward()
    W = model.encoder.lateral.W          # reached through the attention and the decoder's first state
    analytic = W.grad.copy()
    numeric = np.zeros_like(W.array)
    eps = 1e-6
    for idx in np.ndindex(*W.shape):
        old = W.array[idx]
        W.array[idx] = old + eps
        up = float(model.loss(sources, targets).array)
        W.array[idx] = old - eps
        down = float(model.loss(sources, targets).array)
        W.array[idx] = old
        numeric[idx] = (up - down) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def _lesson_namespace():
    """The lesson's own cells (data, model class, training loop) run in a fresh namespace."""
    sys.path.insert(0, str(REPO / "course" / "_build"))
    import lesson11
    cells = [c.source for c in lesson11.CELLS if c.cell_type == "code"]
    wanted = [c for c in cells if "digit_reversal(2000" in c or "class Seq2Seq" in c or "def train(" in c]
    assert len(wanted) == 3
    ns = {}
    imports = next(c for c in cells if "import numpy" in c).replace("%matplotlib widget", "")
    for src in [imports] + wanted:
        # the training cell also trains the plain model: stop before it
        exec(src.split("\nplain = train(")[0], ns)
    return ns


def test_the_lesson_trains_the_model_that_the_claims_measure(capsys):
    ns = _lesson_namespace()
    ours = ns["train"](attention=True, iterations=4, seed=0)         # the lesson's data is seed 0's
    theirs, _ = S.train_seq2seq(True, iterations=4, n_hidden=32, seed=0)
    for (name, a), (_, b) in zip(sorted(ours.namedparams()), sorted(theirs.namedparams())):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)


# -- AttentionView -------------------------------------------------------------------------------
def test_attention_view_shows_the_models_weights(trained):
    from rnnviz.viz.legibility import figure_problems
    from rnnviz.widgets import AttentionView
    model, _ = trained
    examples = S.test_set(n=5, seed=4)[0]
    w = AttentionView(model, examples=examples)
    try:
        assert w.ready and w.message.value == ""
        w.example_slider.value = 3
        assert w.source_box.value == "".join(DIGIT_VOCAB[i] for i in examples[3])
        out, weights = model.translate(examples[3])
        assert np.array_equal(w.output, out) and np.allclose(w.weights, weights)
        w.source_box.value = "9 8 7"
        assert w.weights.shape[1] == 3 and figure_problems(w.figure) == []
        w.source_box.value = "12x"                            # not in the vocabulary: a message
        assert "x&#x27; is not a token" in w.message.value and w.weights.shape[1] == 3
        w.source_box.value = "12"
        assert w.message.value == ""
    finally:
        w.close()


def test_attention_view_explains_models_it_cannot_show(trained):
    from rnnviz.widgets import AttentionView
    model, _ = trained
    cases = {
        "no attention weights": lambda src: (np.array([1, EOS]), None),
        "must return (output ids, weights)": lambda src: 3,
        "expected (2, 2)": lambda src: (np.array([1, EOS]), np.ones((2, 5))),
    }
    for words, translate in cases.items():
        w = AttentionView(translate, examples=[np.array([1, 2])])
        try:
            assert words in w.message.value, (words, w.message.value)
        finally:
            w.close()
    w = AttentionView(42)
    try:
        assert not w.ready and "translate(source)" in w.message.value
    finally:
        w.close()
    w = AttentionView(model, examples=[np.array([1, 99])])
    try:
        assert not w.ready and "examples must be" in w.message.value
    finally:
        w.close()
