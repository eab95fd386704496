"""Misuse of links: sizes checked when a layer is built, a stateful layer that refuses a new batch
size without reset_state() (reproduction 4 of issue 8), Classifier and RNNLM arguments."""
import numpy as np
import pytest

import rnnviz.links as L
from rnnviz import Variable


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


@pytest.mark.parametrize("cls", [L.RNN, L.LSTM])
def test_a_stateful_layer_refuses_a_new_batch_size_without_reset(cls):
    """Reproduction 4: L.RNN broadcast a batch-1 state to a batch of 4 (and back); L.LSTM refused."""
    layer = cls(3, 4)
    layer(f32(1, 3))
    h = layer.h
    for x in (f32(4, 3), Variable(f32(4, 3))):
        with pytest.raises(ValueError) as info:
            layer(x)
        msg = str(info.value)
        assert cls.__name__ in msg and "from 1 to 4" in msg and "reset_state()" in msg
    assert layer.h is h and layer.step == 1  # nothing advanced
    layer(f32(1, 3))  # the old batch size still works
    layer.reset_state()
    assert layer(f32(4, 3)).shape == (4, 4)  # and after reset_state() the new one does
    with pytest.raises(ValueError, match="from 4 to 1"):
        layer(f32(1, 3))


def test_rnnlm_passes_the_refusal_on():
    model = L.RNNLM(10, 4, 5, cell="rnn")
    model(np.array([1], np.int32))
    with pytest.raises(ValueError, match=r"RNN: the batch size changed from 1 to 3.*reset_state\(\)"):
        model(np.array([1, 2, 3], np.int32))
    model.reset_state()
    assert model(np.array([1, 2, 3], np.int32)).shape == (3, 10)


@pytest.mark.parametrize("make, error, words", [
    (lambda: L.Linear(3, 0), ValueError, ["Linear", "out_size", ">= 1", "0"]),
    (lambda: L.Linear(-2, 3), ValueError, ["Linear", "in_size", "-2"]),
    (lambda: L.Linear(3.0, 2), TypeError, ["Linear", "in_size", "3.0", "float"]),
    (lambda: L.Linear("3", 2), TypeError, ["Linear", "in_size", "'3'"]),
    (lambda: L.Linear(0), ValueError, ["Linear", "out_size", "0"]),
    (lambda: L.EmbedID(0, 5), ValueError, ["EmbedID", "in_size", "vocabulary", "0"]),
    (lambda: L.EmbedID(10, -1), ValueError, ["EmbedID", "out_size", "-1"]),
    (lambda: L.EmbedID(10, 5, ignore_label=0.5), TypeError, ["EmbedID", "ignore_label", "0.5"]),
    (lambda: L.RNN(3, 0), ValueError, ["RNN", "out_size", "0"]),
    (lambda: L.LSTM(0, 4), ValueError, ["LSTM", "in_size", "0"]),
    (lambda: L.LSTM(3, 2.5), TypeError, ["LSTM", "out_size", "2.5"]),
    (lambda: L.RNNCell(3, -4), ValueError, ["RNNCell", "out_size", "-4"]),
    (lambda: L.LSTMCell(True, 4), TypeError, ["LSTMCell", "in_size", "True"]),
    (lambda: L.RNNLM(0, 4, 5), ValueError, ["RNNLM", "n_vocab", "0"]),
    (lambda: L.RNNLM(10, 4, 0), ValueError, ["RNNLM", "n_hidden", "0"]),
    (lambda: L.RNNLM(10, 4, 5, n_layers=0), ValueError, ["RNNLM", "n_layers", "0"]),
    (lambda: L.RNNLM(10, 4, 5, cell="lstmm"), ValueError, ["RNNLM", "cell", "'lstmm'"]),
    (lambda: L.RNNLM(10, 4, 5, dropout=1.0), ValueError, ["RNNLM", "dropout", "[0, 1)", "1.0"]),
    (lambda: L.RNNLM(10, 4, 5, dropout=-0.1), ValueError, ["RNNLM", "dropout", "-0.1"]),
    (lambda: L.Classifier("model"), TypeError, ["Classifier", "predictor", "callable", "str"]),
    (lambda: L.Classifier(L.Linear(2, 2), lossfun="softmax_cross_entropy"), TypeError,
     ["Classifier", "lossfun", "str"]),
])
def test_link_arguments_are_checked_when_built(make, error, words):
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_in_size_none_is_still_inferred():
    layer = L.Linear(None, 3)
    assert layer(f32(2, 5)).shape == (2, 3) and layer.W.shape == (3, 5)
    assert L.Linear(3)(f32(2, 4)).shape == (2, 3)


def test_classifier_needs_a_label():
    model = L.Classifier(L.Linear(3, 2))
    with pytest.raises(TypeError, match=r"Classifier: expected inputs and a label, got 1 argument"):
        model(f32(4, 3))


def test_set_state_of_an_unknown_name():
    with pytest.raises(ValueError, match=r"LSTM.set_state: unknown state 'hidden'.*\('c', 'h'\)"):
        L.LSTM(3, 4).set_state(hidden=f32(1, 4))
