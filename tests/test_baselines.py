"""Counting baselines (rnnviz.datasets.baselines): the unigram and Witten-Bell bigram models that
lesson 06 sets a language model's perplexity against, and the <unk> rate."""
import math

import numpy as np
import pytest

from rnnviz import datasets
from rnnviz.datasets import BigramLM, UnigramLM, unk_rate

# a b a b c  (ids 0 1 0 1 2), vocabulary of 4 (id 3 never occurs)
TINY = np.array([0, 1, 0, 1, 2], np.int32)


def test_unigram_is_add_one_frequency():
    uni = UnigramLM(TINY, 4)
    # counts 2, 2, 1, 0 over N = 5 words: (c + 1) / (5 + 4)
    assert np.allclose(uni.probs(), np.array([3, 3, 2, 1]) / 9)
    words = np.array([1, 0, 3], np.int32)      # predicts 0 and 3 (every word after the first)
    assert uni.perplexity(words) == pytest.approx(math.exp(-(math.log(3 / 9) + math.log(1 / 9)) / 2))


def test_bigram_is_witten_bell_interpolation_by_hand():
    big = BigramLM(TINY, 4)
    uni = np.array([3, 3, 2, 1]) / 9
    # after 0: "0 1" twice -> c(0) = 2, one distinct follower -> lambda = 2 / 3
    assert np.allclose(big.probs(0), 2 / 3 * np.array([0, 1, 0, 0]) + 1 / 3 * uni)
    # after 1: "1 0" once, "1 2" once -> c(1) = 2, two followers -> lambda = 1 / 2
    assert np.allclose(big.probs(1), 1 / 2 * np.array([0.5, 0, 0.5, 0]) + 1 / 2 * uni)
    # 2 ends the text and 3 never occurs: no pairs start there, the unigram is all that is left
    assert np.allclose(big.probs(2), uni) and np.allclose(big.probs(3), uni)
    words = np.array([0, 1, 2], np.int32)
    expected = -(math.log(big.probs(0)[1]) + math.log(big.probs(1)[2])) / 2
    assert big.perplexity(words) == pytest.approx(math.exp(expected))


def test_every_distribution_sums_to_one(rng):
    words = rng.integers(0, 30, size=2000).astype(np.int32)
    big = BigramLM(words[:1500], 40)        # ids 30..39 are never seen
    for prev in range(40):
        p = big.probs(prev)
        assert p.shape == (40,) and np.all(p > 0) and p.sum() == pytest.approx(1.0)
    assert UnigramLM(words, 40).probs().sum() == pytest.approx(1.0)


def test_a_uniform_text_scores_about_the_vocabulary_size(rng):
    words = rng.integers(0, 50, size=50000).astype(np.int32)
    # no structure to find: both come close to a uniform guess over the 50 words, not below it
    assert 49 < UnigramLM(words[:40000], 50).perplexity(words[40000:]) < 51
    assert 49 < BigramLM(words[:40000], 50).perplexity(words[40000:]) < 55


def test_the_bigram_finds_what_follows_what():
    cycle = np.tile(np.arange(10, dtype=np.int32), 500)   # 0 1 2 ... 9 0 1 ...
    uni, big = UnigramLM(cycle, 10), BigramLM(cycle, 10)
    assert uni.perplexity(cycle) == pytest.approx(10, rel=1e-3)
    assert big.perplexity(cycle) < 1.01


def test_on_the_shipped_corpus_the_order_is_uniform_unigram_bigram():
    train, valid, _ = datasets.get_kjv_words(vocab_size=1000)
    uni, big = UnigramLM(train, 1000).perplexity(valid), BigramLM(train, 1000).perplexity(valid)
    assert big < uni < 1000


def test_unk_rate():
    vocab = {"a": 0, "b": 1, "<unk>": 2}
    assert unk_rate(np.array([0, 2, 2, 1]), vocab) == 0.5
    assert unk_rate(np.array([0, 1]), {"a": 0, "b": 1}) == 0.0
    train, _, _ = datasets.get_kjv_words(vocab_size=1000)
    small = unk_rate(train, datasets.get_kjv_words_vocabulary(vocab_size=1000))
    large = unk_rate(datasets.get_kjv_words(vocab_size=2000)[0],
                     datasets.get_kjv_words_vocabulary(vocab_size=2000))
    assert 0 < large < small < 1   # a larger vocabulary leaves fewer words to <unk>


@pytest.mark.parametrize("make", [UnigramLM, BigramLM])
def test_bad_input_names_the_model_and_the_problem(make):
    name = make.__name__
    with pytest.raises(ValueError, match=f"{name}: train holds word ids from 0 to 7, but the vocabulary has 4"):
        make(np.array([0, 7, 1], np.int32), 4)
    with pytest.raises(ValueError, match=f"{name}: train must be a flat"):
        make(np.array([[0, 1], [1, 0]], np.int32), 4)
    with pytest.raises(ValueError, match=f"{name}: train must be a flat .* integer"):
        make(np.array([0.0, 1.0]), 4)
    with pytest.raises(ValueError, match=f"{name}: n_vocab must be a positive integer"):
        make(TINY, 0)
    model = make(TINY, 4)
    with pytest.raises(ValueError, match=f"{name}.perplexity: words holds 1 word"):
        model.perplexity(np.array([1], np.int32))
    with pytest.raises(ValueError, match=f"{name}.perplexity: words holds word ids from 0 to 9"):
        model.perplexity(np.array([0, 9], np.int32))


def test_unk_rate_bad_input():
    with pytest.raises(ValueError, match="unk_rate: words must be a non-empty"):
        unk_rate(np.array([], np.int32), {"<unk>": 0})
    with pytest.raises(TypeError, match="unk_rate: vocab must map words to ids"):
        unk_rate(np.array([0]), [0, 1])
