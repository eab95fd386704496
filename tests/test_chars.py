"""Lesson 10's pieces: the character corpus, sampling with a temperature, units against features
of the text, connectivity (checked against float64 finite differences and against PyTorch), and
the two widgets' bad input."""
import matplotlib
matplotlib.use("Agg")
import numpy as np
import pytest

from rnnviz import datasets
from rnnviz.experiments import chars as C


def test_the_character_corpus_has_every_character_in_its_alphabet():
    train, valid, test, vocab = datasets.get_kjv_chars()
    assert "".join(vocab) == datasets.KJV_CHARSET and len(vocab) == 30
    for part in (train, valid, test):
        assert part.dtype == np.int32 and part.min() >= 0 and part.max() < 30
    lines = datasets.get_kjv_lines()
    n_train = int(len(lines) * 0.9)
    assert datasets.ids_to_chars(train) == "".join(line + "\n" for line in lines[:n_train])
    assert datasets.ids_to_chars(valid[:5]) == lines[n_train][:5]
    train[0] = 5                       # fresh copies
    assert datasets.get_kjv_chars()[0][0] != 5 or lines[0][0] == datasets.KJV_CHARSET[5]


def test_text_outside_the_alphabet_is_refused_with_its_character():
    with pytest.raises(ValueError, match="'A'"):
        datasets.chars_to_ids("the Ark")
    with pytest.raises(ValueError, match="0..29"):
        datasets.ids_to_chars([0, 30])


def test_temperature_sharpens_and_flattens():
    z = np.array([2.0, 1.0, 0.0])
    assert np.allclose(C.temperature_probs(z, 1), np.exp(z) / np.exp(z).sum())
    assert np.array_equal(C.temperature_probs(z, 0), [1, 0, 0])
    assert C.temperature_probs(z, 0.5)[0] > C.temperature_probs(z, 1)[0] > C.temperature_probs(z, 2)[0]
    with pytest.raises(ValueError, match="temperature"):
        C.temperature_probs(z, -1)


def test_sampling_is_reproducible_and_leaves_the_model_alone():
    model = C.char_model(0)
    a = C.sample_chars(model, 50, 1.0, seed=3)
    assert a == C.sample_chars(model, 50, 1.0, seed=3) and len(a) == 50
    assert set(a) <= set(datasets.KJV_CHARSET)
    assert model.predictor.mid.h is None           # the model's own state untouched
    greedy = C.sample_chars(model, 20, 0)
    assert greedy == C.sample_chars(model, 20, 0, seed=9)


def test_features_and_correlations():
    f = C.char_features("ab cd's\nx")
    assert f["space"].tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert f["position in the word"].tolist() == [1, 2, 0, 1, 2, 3, 4, 0, 1]
    assert f["position in the verse"].tolist() == [1, 2, 3, 4, 5, 6, 7, 0, 1]
    assert f["inside 's"].tolist() == [0, 0, 0, 0, 0, 1, 1, 0, 0]
    acts = np.stack([f["space"] * 2 - 1, -f["space"], np.ones(9)], axis=1)
    r = C.unit_correlations(acts, f["space"])
    assert np.allclose(r, [1, -1, 0])
    assert C.best_units(acts, f["space"], 2) == [(0, pytest.approx(1.0)), (1, pytest.approx(-1.0))]


def _float64_model(seed=0):
    model = C.char_model(seed, n_embed=4, n_hidden=5)
    for p in model.params():
        p.array = p.array.astype(np.float64)
    return model


def test_connectivity_is_the_gradient_of_the_log_probability():
    """n_s against central differences of log p(x_{t+1}) in the embedding of x_s, in float64."""
    from rnnviz import functions as F
    model = _float64_model()
    lm = model.predictor
    ids = np.array([5, 9, 0, 12, 3, 7], np.int32)
    t = 4

    def logp(embeddings):
        lm.reset_state()
        from rnnviz.core import no_backprop_mode
        with no_backprop_mode():
            for s in range(t + 1):
                y = lm.out(lm.mid(embeddings[s:s + 1]))
            return float(F.log_softmax(y).array[0, ids[t + 1]])

    E = lm.embed.W.array[ids[:t + 1]].copy()
    eps = 1e-6
    expected = []
    for s in range(t + 1):
        g = np.zeros(E.shape[1])
        for j in range(E.shape[1]):
            up, down = E.copy(), E.copy()
            up[s, j] += eps
            down[s, j] -= eps
            g[j] = (logp(up) - logp(down)) / (2 * eps)
        expected.append(np.linalg.norm(g))
    got = C.Connectivity(model, ids).norms(t)
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-10)


def test_truncated_connectivity_is_the_full_one_inside_the_window_and_zero_before():
    model = C.char_model(1)
    ids = datasets.get_kjv_chars()[1][:60]
    full, cut = C.Connectivity(model, ids), C.Connectivity(model, ids, 8)
    for t in (7, 8, 20, 58):
        start = cut.window_start(t)
        assert start == (t // 8) * 8
        n, m = full.norms(t), cut.norms(t)
        assert not m[:start].any() and (n[:start] > 0).all() if start else True
        assert np.allclose(n[start:], m[start:], rtol=1e-4)


def test_connectivity_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    model = _float64_model(2)
    lm = model.predictor
    ids = np.array([1, 4, 0, 22, 5, 5, 9, 13], np.int32)
    t = 6
    H = lm.mid.state_size
    lstm = torch.nn.LSTM(4, H).double()
    with torch.no_grad():
        # both order the gate blocks [i, f, g, o]; rnnviz's W are (4H, in) like PyTorch's
        lstm.weight_ih_l0.copy_(torch.from_numpy(lm.mid.upward.W.array))
        lstm.weight_hh_l0.copy_(torch.from_numpy(lm.mid.lateral.W.array))
        lstm.bias_ih_l0.copy_(torch.from_numpy(lm.mid.upward.b.array))
        lstm.bias_hh_l0.zero_()
    e = torch.from_numpy(lm.embed.W.array[ids[:t + 1]].copy()).requires_grad_()
    out, _ = lstm(e[:, None, :])
    logits = out[-1, 0] @ torch.from_numpy(lm.out.W.array).T + torch.from_numpy(lm.out.b.array)
    torch.log_softmax(logits, -1)[int(ids[t + 1])].backward()
    expected = e.grad.norm(dim=-1).numpy()
    assert np.allclose(C.Connectivity(model, ids).norms(t), expected, rtol=1e-8)


def test_bad_input_is_a_message_not_a_traceback():
    from rnnviz.widgets import ConnectivityView, UnitTextView
    w = UnitTextView(C.char_model(0), "The Ark")
    assert not w.ready and "&#x27;T&#x27;" in w.message.value
    w.close()
    w = ConnectivityView(C.char_model(0), np.array([[1, 2]]))
    assert not w.ready and "1-D" in w.message.value
    w.close()
    w = ConnectivityView(C.char_model(0), datasets.get_kjv_chars()[1][:40], t=99, bprop_len=4)
    assert w.ready and "t=99" in w.message.value and w.position.value == 38
    w.bprop_slider.value = 5
    full, cut = w.norms()
    assert not cut[:35].any() and cut[35:].all()
    w.close()


def test_unit_view_finds_the_unit_for_a_feature():
    from rnnviz.widgets import UnitTextView
    w = UnitTextView(C.char_model(0), datasets.get_kjv_chars()[1][:500])
    w.feature.value = "space"
    r = w.correlations("space")
    assert w.unit_slider.value == int(np.argmax(np.abs(r)))
    w.close()


def test_the_lesson_protocol_learns_something_quickly():
    model = C.train_char_model(0, checkpoints=(40,))
    text = C.sample_chars(model, 300, 0.5)
    assert C.real_word_share(text) > 0.3
