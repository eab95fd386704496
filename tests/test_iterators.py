"""Tests for rnnviz.iterators: ParallelSequentialIterator and concat_examples.

Expected values are worked out by hand for tiny streams (the numbers in the comments).
"""
import json

import numpy as np
import pytest

from rnnviz.iterators import ParallelSequentialIterator, concat_examples

# word ids 100..109, so a test can tell a value from its position
STREAM = np.arange(100, 110, dtype=np.int32)


def pairs(batch):
    return [(int(a), int(b)) for a, b in batch]


def test_offsets_and_first_batches():
    it = ParallelSequentialIterator(STREAM, 3)
    assert it.offsets == [0, 3, 6]  # i * 10 // 3
    assert it.batch_size == 3 and it.repeat
    assert pairs(next(it)) == [(100, 101), (103, 104), (106, 107)]
    assert pairs(next(it)) == [(101, 102), (104, 105), (107, 108)]
    assert pairs(next(it)) == [(102, 103), (105, 106), (108, 109)]
    # the third cursor reaches the end and wraps to the start
    assert pairs(next(it)) == [(103, 104), (106, 107), (109, 100)]
    assert pairs(next(it)) == [(104, 105), (107, 108), (100, 101)]


def test_uneven_offsets():
    # 0, 7 // 4, 14 // 4, 21 // 4
    assert ParallelSequentialIterator(list(range(7)), 4).offsets == [0, 1, 3, 5]
    assert ParallelSequentialIterator(list(range(5)), 5).offsets == [0, 1, 2, 3, 4]


def test_epoch_counters():
    it = ParallelSequentialIterator(STREAM, 3)
    assert (it.iteration, it.epoch, it.is_new_epoch, it.epoch_detail) == (0, 0, False, 0.0)
    assert it.previous_epoch_detail is None
    seen = []
    for _ in range(7):
        next(it)
        seen.append((it.iteration, it.epoch, it.is_new_epoch))
    # words read: 3, 6, 9, 12 (epoch 1), 15, 18, 21 (epoch 2)
    assert seen == [(1, 0, False), (2, 0, False), (3, 0, False), (4, 1, True),
                    (5, 1, False), (6, 1, False), (7, 2, True)]
    assert it.epoch_detail == pytest.approx(2.1)
    assert it.previous_epoch_detail == pytest.approx(1.8)


def test_rows_are_continuous_streams():
    data = np.random.default_rng(0).integers(0, 50, size=37).astype(np.int32)
    it = ParallelSequentialIterator(data, 4)
    rows = [[] for _ in range(4)]
    for _ in range(60):
        for row, (cur, nxt) in zip(rows, next(it)):
            row.append((int(cur), int(nxt)))
    for i, row in enumerate(rows):
        start = it.offsets[i]
        expected = [(int(data[(start + k) % 37]), int(data[(start + k + 1) % 37]))
                    for k in range(60)]
        assert row == expected


def test_list_dataset_gives_same_batches_as_array():
    a = ParallelSequentialIterator(STREAM, 4)
    b = ParallelSequentialIterator(STREAM.tolist(), 4)
    for _ in range(8):
        assert pairs(next(a)) == pairs(next(b))


def test_repeat_false_stops_after_one_epoch():
    it = ParallelSequentialIterator(STREAM[:4], 1, repeat=False)
    got = [pairs(b) for b in it]
    # as in Chainer, the last word's "next word" wraps to the first
    assert got == [[(100, 101)], [(101, 102)], [(102, 103)], [(103, 100)]]
    assert it.is_new_epoch and it.epoch == 1
    with pytest.raises(StopIteration):
        next(it)

    it = ParallelSequentialIterator(STREAM, 3, repeat=False)
    assert len(list(it)) == 4  # 3, 6, 9 words read, then 12 >= 10
    with pytest.raises(StopIteration):
        it.next()


def test_reset_starts_over():
    it = ParallelSequentialIterator(STREAM, 2, repeat=False)
    first = [pairs(b) for b in it]
    it.reset()
    assert (it.iteration, it.epoch, it.is_new_epoch) == (0, 0, False)
    assert [pairs(b) for b in it] == first


def test_state_dict_round_trip_continues_identically():
    it = ParallelSequentialIterator(STREAM, 3)
    for _ in range(4):
        next(it)
    state = it.state_dict()
    assert state["iteration"] == 4 and state["epoch"] == 1 and state["is_new_epoch"] is True
    state = json.loads(json.dumps(state))  # plain numbers only
    expected = [pairs(next(it)) for _ in range(9)]
    expected_counters = (it.iteration, it.epoch, it.is_new_epoch)

    again = ParallelSequentialIterator(STREAM, 3)
    again.load_state_dict(state)
    assert (again.iteration, again.epoch, again.is_new_epoch) == (4, 1, True)
    assert again.epoch_detail == pytest.approx(1.2)
    assert [pairs(next(again)) for _ in range(9)] == expected
    assert (again.iteration, again.epoch, again.is_new_epoch) == expected_counters


class DictSaver:
    """A Chainer-style serializer: stores each value as NumPy would in an npz and returns it."""

    def __init__(self):
        self.store = {}

    def __call__(self, key, value):
        self.store[key] = np.asarray(value)
        return value


class DictLoader:
    def __init__(self, store):
        self.store = store

    def __call__(self, key, value):
        return self.store[key]


def test_serialize_round_trip_continues_identically():
    it = ParallelSequentialIterator(STREAM, 4)
    for _ in range(6):
        next(it)
    saver = DictSaver()
    it.serialize(saver)
    assert set(saver.store) == {"iteration", "epoch"}
    assert int(saver.store["iteration"]) == 6 and int(saver.store["epoch"]) == 2  # 24 // 10
    assert it.iteration == 6  # saving changes nothing
    expected = [pairs(next(it)) for _ in range(5)]

    again = ParallelSequentialIterator(STREAM, 4)
    again.serialize(DictLoader(saver.store))
    assert type(again.iteration) is int and again.iteration == 6 and again.epoch == 2
    assert [pairs(next(again)) for _ in range(5)] == expected


def test_load_state_mismatch_is_refused():
    state = ParallelSequentialIterator(STREAM, 3).state_dict()
    with pytest.raises(ValueError, match="batch_size=3.*batch_size=2"):
        ParallelSequentialIterator(STREAM, 2).load_state_dict(state)
    with pytest.raises(ValueError, match="dataset_length=10.*dataset_length=9"):
        ParallelSequentialIterator(STREAM[:9], 3).load_state_dict(state)
    it = ParallelSequentialIterator(STREAM, 3)
    with pytest.raises(ValueError, match="epoch 0 does not match iteration 4"):
        it.load_state_dict({"iteration": 4, "epoch": 0})
    with pytest.raises(ValueError, match="iteration must be an int >= 0"):
        it.load_state_dict({"iteration": -1})
    with pytest.raises(ValueError, match="no 'iteration'"):
        it.load_state_dict({})
    assert it.iteration == 0  # a refused state leaves the iterator as it was


@pytest.mark.parametrize(
    "data, batch_size, message",
    [
        (STREAM[:3], 4, r"ParallelSequentialIterator: batch_size \(4\) is larger than the "
                        r"dataset \(3 words\)"),
        (STREAM, 0, "ParallelSequentialIterator: batch_size must be at least 1, got 0"),
        (STREAM, -2, "ParallelSequentialIterator: batch_size must be at least 1, got -2"),
        (np.array([], dtype=np.int32), 1, r"ParallelSequentialIterator: the dataset is empty"),
        ([], 3, r"ParallelSequentialIterator: the dataset is empty"),
    ],
)
def test_bad_construction(data, batch_size, message):
    with pytest.raises(ValueError, match=message):
        ParallelSequentialIterator(data, batch_size)


def test_bad_types():
    with pytest.raises(TypeError, match="batch_size must be an int"):
        ParallelSequentialIterator(STREAM, 2.0)
    with pytest.raises(TypeError, match="dataset must be a sequence"):
        ParallelSequentialIterator(iter(range(5)), 2)


def test_concat_examples_makes_two_int32_arrays():
    it = ParallelSequentialIterator(STREAM, 3)
    x, t = concat_examples(next(it))
    assert x.dtype == t.dtype == np.int32
    assert x.tolist() == [100, 103, 106] and t.tolist() == [101, 104, 107]
    x, t = concat_examples([(1, 2), (3, 4)])  # Python ints become int32
    assert x.dtype == np.int32 and x.tolist() == [1, 3] and t.tolist() == [2, 4]
    f = concat_examples([0.5, 1.5])
    assert f.dtype == np.float32 and f.tolist() == [0.5, 1.5]
    rows = concat_examples([np.zeros(3, np.float64), np.ones(3, np.float64)])
    assert rows.shape == (2, 3) and rows.dtype == np.float64


def test_concat_examples_bad_batches():
    with pytest.raises(ValueError, match="concat_examples: the batch is empty"):
        concat_examples([])
    with pytest.raises(ValueError, match="concat_examples: example 0 .* 2 values but example 1"):
        concat_examples([(1, 2), (3,)])


def test_iterator_on_the_shipped_corpus():
    from rnnviz.datasets import get_kjv_words

    train, _, _ = get_kjv_words()
    it = ParallelSequentialIterator(train, 20)
    x, t = concat_examples(next(it))
    offsets = np.arange(20) * len(train) // 20
    np.testing.assert_array_equal(x, train[offsets])
    np.testing.assert_array_equal(t, train[offsets + 1])
