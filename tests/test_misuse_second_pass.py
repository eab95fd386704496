"""Misuse, second pass (issue 21, item 3): each test here failed before its fix.

1. A file that is not an archive written by the kit is named for what it is (a pickle, a text file,
   an empty file, a single array, the other format), and no message suggests unpickling it.
2. Text corpora: a UTF-8 byte-order mark is not part of a word; a folder given as a file says so.
3. Functions whose math needs real numbers refuse integer and bool arrays (dropout, mean, division,
   fractional and negative powers, float constants, bool + bool) instead of a wrong result or a
   silent float64; integer arithmetic that stays exact (+ - * by ints, ** 2, sum) still works.
4. A pass over the public API for wrong shapes, dtypes, sizes and types: each case gave a silent
   wrong result or an error that did not name the function.
"""
import pickle
import zipfile

import numpy as np
import pytest

import rnnviz.functions as F
import rnnviz.links as L
from rnnviz import Variable, datasets, optimizers, serializers
from rnnviz.dataset import concat_examples as padded_concat_examples
from rnnviz.datasets import ptb
from rnnviz.iterators import BucketIterator, ParallelSequentialIterator, bucket_by_length, concat_examples, \
    pad_sequences

V = Variable


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


def ints(*shape):
    return np.arange(int(np.prod(shape))).reshape(shape)


def assert_words(message, words):
    for word in words:
        assert word in message, (word, message)


# -- 1. load errors: what was expected, what was found, never "unpickle it" ------------------------------

def _pickle(path):
    with open(path, "wb") as f:
        pickle.dump({"W": np.zeros((2, 3))}, f)


def _object_entry(path):
    np.savez(path, W=np.zeros((2, 3), np.float32), b=np.array([{"a": 1}], dtype=object))


def _object_npy(path):
    with open(path, "wb") as f:
        np.save(f, np.array([None], dtype=object), allow_pickle=True)


def _text(path):
    path.write_text("hello world\n")


def _empty(path):
    path.write_bytes(b"")


def _zip_of_text(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hi")


NOT_KIT_FILES = [
    (_pickle, "a Python pickle"),
    (_object_entry, "an entry 'b' of Python objects"),
    (_object_npy, "a single NumPy array (.npy) of Python objects"),
    (_text, "a text file starting 'hello world'"),
    (_empty, "an empty file (0 bytes)"),
    (_zip_of_text, "a zip archive whose entry 'readme.txt' is not a NumPy array"),
]


@pytest.mark.parametrize("make, found", NOT_KIT_FILES, ids=[m.__name__ for m, _ in NOT_KIT_FILES])
def test_load_npz_names_what_the_file_is_and_never_suggests_unpickling(tmp_path, make, found):
    path = tmp_path / "model.npz"
    make(path)
    model = L.Linear(3, 2)
    W = model.W.array.copy()
    with pytest.raises(ValueError) as info:
        serializers.load_npz(path, model)
    message = str(info.value)
    assert_words(message, ["load_npz:", str(path), "expected an .npz archive", "found " + found,
                           "Nothing was loaded"])
    assert "allow_pickle" not in message and "pickle.load" not in message and "If you trust" not in message
    np.testing.assert_array_equal(model.W.array, W)


def test_a_checkpoint_that_is_a_pickle_is_named_by_lmtrainer_load(tmp_path):
    from rnnviz.training import LMTrainer

    path = tmp_path / "ck.npz"
    _pickle(path)
    trainer = LMTrainer(L.Classifier(L.RNNLM(20, 4, 5)), np.arange(200, dtype=np.int32) % 20, batch_size=2, bprop_len=3)
    with pytest.raises(ValueError) as info:
        trainer.load(path)
    assert_words(str(info.value), ["LMTrainer.load:", "found a Python pickle"])
    assert "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("make, found", [
    (lambda p: serializers.save_npz(p, L.Linear(3, 2)), "a zip archive (the .npz format save_npz writes; "
                                                         "read it with load_npz)"),
    (_pickle, "a Python pickle"),
    (_text, "a text file"),
])
def test_load_hdf5_names_what_the_file_is(tmp_path, make, found):
    pytest.importorskip("h5py")
    path = tmp_path / "model.h5"
    make(path)
    with pytest.raises(ValueError) as info:
        serializers.load_hdf5(path, L.Linear(3, 2))
    assert_words(str(info.value), ["load_hdf5:", str(path), "expected an HDF5 file", "found " + found])
    assert "signature" not in str(info.value)  # h5py's own words


def test_load_hdf5_refuses_a_dataset_of_objects(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "refs.h5", "w") as f:
        W = f.create_dataset("W", data=np.zeros((2, 3), np.float32))
        f.create_dataset("b", data=np.array([W.ref, W.ref]), dtype=h5py.ref_dtype)
    with pytest.raises(ValueError, match=r"load_hdf5: .*refs.h5' is not a file written by save_hdf5; found a "
                                         r"dataset 'b' of Python objects"):
        serializers.load_hdf5(tmp_path / "refs.h5", L.Linear(3, 2))


def test_a_kit_file_still_loads(tmp_path):
    a, b = L.Linear(3, 2), L.Linear(3, 2)
    serializers.save_npz(tmp_path / "m.npz", a)
    serializers.load_npz(tmp_path / "m.npz", b)
    np.testing.assert_array_equal(a.W.array, b.W.array)


# -- 2. text corpora: a byte-order mark, a folder ---------------------------------------------------------

def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    path = tmp_path / "notepad.txt"
    path.write_bytes(b"\xef\xbb\xbf" + b"the cat sat\nthe dog sat\n" * 20)
    train, valid, test, vocab = datasets.get_text_words(path)
    assert not any("\ufeff" in word for word in vocab)
    assert set(vocab) == {"the", "cat", "dog", "sat", "<eos>", "<unk>"}
    assert train[0] == vocab["the"]


def test_byte_order_marks_where_two_files_were_joined_are_dropped(tmp_path):
    path = tmp_path / "joined.txt"
    path.write_bytes(b"\xef\xbb\xbfa b\n" + b"\xef\xbb\xbfc d\n")
    assert ptb.load_words(path) == ["a", "b", "<eos>", "c", "d", "<eos>"]


def test_a_file_of_only_a_byte_order_mark_is_empty(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf\n")
    with pytest.raises(ValueError, match="the corpus file is empty"):
        ptb.load_words(path)


def test_a_utf16_file_is_named_as_such(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("the cat\n".encode("utf-16"))
    with pytest.raises(ValueError, match=r"u16.txt: not a UTF-8 text file: it starts with a UTF-16 byte-order mark"):
        datasets.get_text_words(path)


def test_a_folder_given_as_a_corpus_file_says_it_is_a_folder(tmp_path):
    (tmp_path / "ptb.train.txt").write_text("a b\n")
    with pytest.raises(IsADirectoryError) as info:
        datasets.get_text_words(tmp_path)
    assert_words(str(info.value), ["get_text_words:", f"{tmp_path} is a folder, not a corpus file",
                                   str(tmp_path / "ptb.train.txt")])
    with pytest.raises(IsADirectoryError, match=r"load_words: .* is a folder"):
        ptb.load_words(tmp_path)


def test_a_folder_in_place_of_a_cached_ptb_file_is_named(tmp_path):
    folder = tmp_path / "ptb"
    (folder / "ptb.train.txt").mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match=r"get_ptb_words: .*ptb.train.txt is a folder"):
        datasets.get_ptb_words(root=tmp_path, url=tmp_path / "nowhere")


# -- 3. functions that need floating-point input -------------------------------------------------------------

NEED_FLOATS = [
    ("dropout", lambda: F.dropout(V(ints(2, 3)), 0.25)),          # the scale 4/3 was cut to 1
    ("dropout", lambda: F.dropout(np.ones((2, 3), bool), 0.5)),
    ("mean", lambda: F.mean(V(ints(2, 3)))),                         # was float64
    ("mean", lambda: F.mean(np.ones((2, 3), bool), axis=0)),
    ("div (/)", lambda: V(ints(2, 3)) / V(ints(2, 3) + 1)),
    ("div (/)", lambda: V(ints(2, 3)) / 2),
    ("div (/)", lambda: 1 / V(ints(2, 3) + 1)),
    ("mul (*)", lambda: V(ints(2, 3)) * 0.5),
    ("mul (*)", lambda: 0.5 * V(np.ones(3, bool))),
    ("add (+)", lambda: V(ints(2, 3)) + 0.5),
    ("sub (-)", lambda: V(ints(2, 3)) - 0.5),
    ("sub (-)", lambda: 0.5 - V(ints(2, 3))),
    ("pow (**)", lambda: V(ints(2, 3)) ** 0.5),
    ("pow (**)", lambda: V(ints(2, 3) + 1) ** -1),                  # was NumPy's "Integers to negative ..."
    ("pow (**)", lambda: 2 ** V(ints(2, 3))),
    ("pow (**)", lambda: V(ints(2, 3)) ** V(ints(2, 3))),
]


@pytest.mark.parametrize("name, call", NEED_FLOATS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(NEED_FLOATS)])
def test_functions_that_need_floats_refuse_integers_and_bools(name, call):
    with pytest.raises(TypeError) as info:
        call()
    message = str(info.value)
    assert message.startswith(name + ":"), message
    assert "floating-point" in message and "astype(numpy.float32)" in message
    assert "int64" in message or "bool" in message


@pytest.mark.parametrize("name, call", [
    ("add (+)", lambda: V(np.ones(3, bool)) + V(np.ones(3, bool))),   # was True (logical or), not 2
    ("sub (-)", lambda: V(np.ones(3, bool)) - V(np.ones(3, bool))),
    ("neg (-)", lambda: -V(np.ones(3, bool))),
])
def test_bool_arithmetic_that_numpy_makes_logical_is_refused(name, call):
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value).startswith(name + ":") and "bool" in str(info.value)


def test_exact_integer_arithmetic_is_still_allowed():
    x = V(ints(2, 3))
    np.testing.assert_array_equal((x + 1).array, ints(2, 3) + 1)
    np.testing.assert_array_equal((2 * x - 3).array, 2 * ints(2, 3) - 3)
    np.testing.assert_array_equal((x ** 2).array, ints(2, 3) ** 2)
    np.testing.assert_array_equal((x * x).array, ints(2, 3) ** 2)
    assert F.sum(x).array == 15 and F.sum(np.array([True, False, True])).array == 2
    mask = np.array([True, False, True])
    assert (V(f32(3)) * mask).dtype == np.float32
    import rnnviz
    with rnnviz.using_config("train", False):        # dropout is the identity at test time
        np.testing.assert_array_equal(F.dropout(V(ints(2, 3)), 0.5).array, ints(2, 3))


def test_the_float_path_is_unchanged():
    x = V(np.array([[1.0, 2.0, 3.0]], np.float32))
    assert F.mean(x).array == pytest.approx(2.0) and F.mean(x).dtype == np.float32
    assert (x / 2).dtype == np.float32 and (1 / x).dtype == np.float32 and (x ** 0.5).dtype == np.float32
    assert F.dropout(x, 0.5).dtype == np.float32


# -- 4. the pass over the public API ---------------------------------------------------------------------------

def _lazy_linear_fed_one_example():
    layer = L.Linear(None, 4)
    try:
        layer(f32(3))
    finally:
        assert layer.W.array is None  # not initialised as (4, 1)


FUNCTION_CASES = [
    (lambda: F.broadcast_to(V(f32(2, 3)), (3, 3)), ValueError, ["broadcast_to:", "(2, 3)", "(3, 3)"]),
    (lambda: F.broadcast_to(V(f32(2, 3)), (-1, 3)), ValueError, ["broadcast_to:", "(-1, 3)"]),
    (lambda: F.reshape(V(f32(2, 3)), None), TypeError, ["reshape:", "tuple of ints", "None"]),
    (lambda: F.transpose(V(f32(2, 3)), 1), ValueError, ["transpose:", "permutation", "(1,)"]),
    (lambda: F.concat(V(f32(2, 3)), axis=0), TypeError, ["concat:", "list", "single Variable", "[x]"]),
    (lambda: F.concat(V(f32(2, 3)), V(f32(2, 3))), TypeError, ["concat:", "single Variable"]),
    (lambda: F.concat([V(f32(2, 3))], V(f32(2, 3))), TypeError, ["concat:", "axis must be an int",
                                                                  "F.concat([a, b], axis=1)"]),
    (lambda: F.stack(V(f32(2, 3))), TypeError, ["stack:", "single Variable"]),
    (lambda: F.stack([V(f32(2, 3))] * 2, axis=5), ValueError, ["stack:", "axis", "-3 to 2", "5"]),
    (lambda: F.split_axis(V(f32(2, 3)), [1, 5], axis=1), ValueError, ["split_axis:", "[1, 5]", "0 to 3"]),
    (lambda: F.split_axis(V(f32(2, 3)), [2, 1], axis=1), ValueError, ["split_axis:", "increase"]),
    (lambda: F.sequence_mask([1, 2], 2.5), ValueError, ["sequence_mask:", "length", "2.5"]),
    (lambda: F.sequence_mask([1, 2], -1), ValueError, ["sequence_mask:", "length", "int >= 0", "-1"]),
    (lambda: F.pad_sequence(np.arange(3)), TypeError, ["pad_sequence:", "list", "[x]"]),
    (lambda: F.dropout(V(f32(2)), None), TypeError, ["dropout:", "ratio", "None"]),
    (lambda: F.dropout(V(f32(2)), "0.5"), TypeError, ["dropout:", "ratio", "'0.5'"]),
    (lambda: F.mean(V(np.zeros((0, 3), np.float32))), ValueError, ["mean:", "no elements", "(0, 3)"]),
    (lambda: F.mean(V(np.zeros((0, 3), np.float32)), axis=0), ValueError, ["mean:", "axis=0"]),
]


@pytest.mark.parametrize("call, error, words", FUNCTION_CASES, ids=[str(i) for i in range(len(FUNCTION_CASES))])
def test_function_arguments_are_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert_words(str(info.value), words)


def test_function_inputs_that_now_work():
    x = V(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(x[V(np.array([1]))].array, [[3, 4, 5]])        # a Variable as index
    np.testing.assert_array_equal(F.reshape(x, 6).array, np.arange(6))             # an int shape, as NumPy
    assert F.mean([1.0, 2.0]).array == 1.5                                          # a list, as F.sum takes
    assert F.concat(h for h in (x, x)).shape == (2, 6)                              # a generator
    np.testing.assert_array_equal(F.sequence_mask([1, 2], 3), [[True, True], [False, True], [False, False]])


LINK_CASES = [
    (_lazy_linear_fed_one_example, ValueError, ["Linear:", "(batch, in_size)", "(3,)", "x[None]"]),
    (lambda: L.Linear(3, 4)([[1.0, 2.0, 3.0]]), TypeError, ["linear:", "float64", "astype(numpy.float32)"]),
    (lambda: L.Linear(3, 2, initialW=np.full((2, 3), np.nan)), ValueError, ["Linear: initialW", "NaN"]),
    (lambda: L.Linear(3, 2, initialW=float("inf")), ValueError, ["Linear: initialW", "inf"]),
    (lambda: L.Linear(3, 2, initialW="he"), TypeError, ["Linear: initialW", "initializer", "'he'"]),
    (lambda: L.Linear(3, 2, initialW=np.zeros((3, 2))), ValueError, ["Linear: initialW", "(3, 2)", "(2, 3)"]),
    (lambda: L.Linear(3, 2, initial_bias=np.zeros(3)), ValueError, ["Linear: initial_bias", "(3,)", "(2,)"]),
    (lambda: L.EmbedID(5, 3, initialW=np.zeros((3, 5))), ValueError, ["EmbedID: initialW", "(5, 3)"]),
    (lambda: L.Chain().add_link("a", 3), TypeError, ["add_link", "Link", "'a'", "int"]),
    (lambda: L.Linear(3, 2).add_param("W", (2, 3)), AttributeError, ["add_param", "already", "'W'"]),
    (lambda: L.Linear(3, 2).add_link("b", L.Linear(2, 2)), AttributeError, ["add_link", "already", "'b'"]),
    (lambda: L.Chain().add_param("w", (-1, 3)), ValueError, ["add_param", "'w'", "(-1, 3)"]),
    (lambda: L.ChainList(L.Linear(3, 2))[3], IndexError, ["ChainList[3]", "1 link"]),
    (lambda: L.Classifier(L.Linear(3, 2))["nope"], KeyError, ["'nope'", "predictor"]),
]


@pytest.mark.parametrize("call, error, words", LINK_CASES, ids=[str(i) for i in range(len(LINK_CASES))])
def test_link_misuse_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert_words(str(info.value), words)


def test_a_child_added_with_add_link_is_registered():
    chain = L.Chain()
    chain.add_link("out", L.Linear(3, 2))
    assert [p for p, _ in chain.namedparams()] == ["/out/W", "/out/b"]


# -- optimizers

def _model():
    np.random.seed(0)
    return L.Linear(3, 2)


def _update_with_grad(optimizer, grad):
    model = _model()
    optimizer.setup(model)
    W = model.W.array.copy()
    model.W.grad = grad
    model.b.grad = np.zeros(2, np.float32)
    try:
        optimizer.update()
    finally:
        np.testing.assert_array_equal(model.W.array, W)   # nothing changed


@pytest.mark.parametrize("make", [optimizers.SGD, optimizers.MomentumSGD, optimizers.Adam])
def test_a_gradient_of_the_wrong_shape_changes_nothing(make):
    """MomentumSGD and Adam broadcast a (3,) gradient over the (2, 3) weight without an error."""
    with pytest.raises(ValueError, match=r"update: the gradient of parameter '/W' has shape \(3,\) but the "
                                         r"parameter has shape \(2, 3\)"):
        _update_with_grad(make(), np.ones(3, np.float32))


def test_a_variable_as_gradient_is_named():
    with pytest.raises(TypeError, match=r"SGD.update: the gradient of parameter '/W' must be an array, got "
                                        r"Variable \(use its .array\)"):
        _update_with_grad(optimizers.SGD(), V(f32(2, 3)))


@pytest.mark.parametrize("loss", [3.0, np.float32(3.0), np.ones(1, np.float32)])
def test_a_loss_function_that_returns_no_variable(loss):
    opt = optimizers.SGD().setup(_model())
    with pytest.raises(TypeError, match=r"SGD.update: lossfun must return the loss as a Variable"):
        opt.update(lambda: loss)


def test_hooks_added_as_classes_or_removed_by_a_wrong_name():
    opt = optimizers.SGD().setup(_model())
    with pytest.raises(TypeError, match=r"add_hook: got the class WeightDecay; pass an instance"):
        opt.add_hook(optimizers.WeightDecay)
    opt.add_hook(optimizers.GradientClipping(5.0))
    with pytest.raises(KeyError, match=r"no hook named 'GradientClip'.*\['GradientClipping'\]"):
        opt.remove_hook("GradientClip")
    opt.remove_hook("GradientClipping")
    assert opt._hooks == []


def test_global_norm_of_gradients_as_the_learner_lists_them():
    model = _model()
    model.W.grad = np.full((2, 3), 2.0, np.float32)      # b has no gradient: None in the list
    grads = [p.grad for p in model.params()]
    assert optimizers.global_norm(grads) == pytest.approx(np.sqrt(24))
    assert optimizers.global_norm([V(np.full(4, 0.5, np.float32))]) == pytest.approx(1.0)


@pytest.mark.parametrize("t", [-5, 2.5])
def test_an_optimizer_file_with_an_impossible_update_count(tmp_path, t):
    np.savez(tmp_path / "o.npz", t=np.array(t), epoch=np.array(0))
    opt = optimizers.Adam().setup(_model())
    with pytest.raises(ValueError, match=r"'t' must be a whole number >= 0"):
        serializers.load_npz(tmp_path / "o.npz", opt)
    assert opt.t == 0


# -- iterators and converters

ITERATOR_CASES = [
    (lambda: BucketIterator([1, 2, 3], 2), TypeError, ["BucketIterator:", "example 0 has no length", "int"]),
    (lambda: BucketIterator([[1], [2]], 1, pool_batches=0), ValueError, ["BucketIterator:", "pool_batches", "0"]),
    (lambda: BucketIterator([[1], [2]], 1, seed="a"), ValueError, ["BucketIterator:", "seed", "'a'"]),
    (lambda: bucket_by_length([-1, 2], 1), ValueError, ["bucket_by_length:", ">= 0", "-1"]),
    (lambda: concat_examples([np.zeros(2), np.zeros(3)]), ValueError,
     ["concat_examples:", "(2,)", "(3,)", "pad_sequences"]),
    (lambda: concat_examples([[1, 2], [3]]), ValueError, ["concat_examples:", "example 1", "pad"]),
    (lambda: concat_examples(None), TypeError, ["concat_examples:", "list of examples", "NoneType"]),
    (lambda: padded_concat_examples([np.zeros((2, 2)), np.zeros(3)], padding=0), ValueError,
     ["concat_examples:", "number of axes", "(2, 2)", "(3,)"]),
    (lambda: pad_sequences(np.array([1, 2, 3])), TypeError, ["pad_sequences:", "list of sequences", "[x]"]),
    (lambda: pad_sequences([1, 2]), TypeError, ["pad_sequences:", "sequence 0", "int"]),
    (lambda: pad_sequences([[1, 2], [3]], length=2.5), ValueError, ["pad_sequences:", "length", "2.5"]),
    (lambda: pad_sequences([[1.0, 2.0], [3.0]], padding=None), TypeError, ["pad_sequences:", "padding", "None"]),
]


@pytest.mark.parametrize("call, error, words", ITERATOR_CASES, ids=[str(i) for i in range(len(ITERATOR_CASES))])
def test_iterator_and_converter_misuse_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert_words(str(info.value), words)


def test_a_bucket_iterator_position_that_cannot_be_is_refused(tmp_path):
    np.savez(tmp_path / "it.npz", iteration=np.array(-3), epoch=np.array(0))
    it = BucketIterator([[1], [2, 3]], 1)
    with pytest.raises(ValueError, match=r"'iteration' must be one whole number >= 0, but the file holds -3"):
        serializers.load_npz(tmp_path / "it.npz", it)
    assert it.iteration == 0


def test_pad_sequences_still_takes_a_two_dimensional_array():
    padded, lengths = pad_sequences(np.arange(6).reshape(2, 3))
    assert padded.shape == (3, 2) and list(lengths) == [3, 3]


# -- serializers

def test_paths_as_bytes_save_and_load(tmp_path):
    path = bytes(tmp_path / "m.npz")
    a, b = L.Linear(3, 2), L.Linear(3, 2)
    serializers.save_npz(path, a)
    serializers.load_npz(path, b)
    np.testing.assert_array_equal(a.W.array, b.W.array)


def test_a_part_of_the_file_without_its_slash(tmp_path):
    serializers.save_npz(tmp_path / "m.npz", L.Classifier(L.Linear(3, 2)))
    with pytest.raises(ValueError, match=r"load_npz: path='predictor' must end with '/', e.g. path='predictor/'"):
        serializers.load_npz(tmp_path / "m.npz", L.Linear(3, 2), path="predictor")
    serializers.load_npz(tmp_path / "m.npz", L.Linear(3, 2), path="predictor/")


def test_weights_load_into_a_link_whose_input_size_is_not_known_yet(tmp_path):
    """Linear(None, 2) has W = None until its first call; the file fills it (as in Chainer)."""
    saved = L.Linear(3, 2)
    serializers.save_npz(tmp_path / "m.npz", saved)
    lazy = L.Linear(None, 2)
    serializers.load_npz(tmp_path / "m.npz", lazy)
    np.testing.assert_array_equal(lazy.W.array, saved.W.array)
    np.testing.assert_array_equal(lazy(f32(1, 3)).array, saved(f32(1, 3)).array)


@pytest.mark.parametrize("compression", [11, -1, True, "max"])
def test_save_hdf5_compression_is_a_gzip_level(tmp_path, compression):
    pytest.importorskip("h5py")
    with pytest.raises(ValueError, match=r"save_hdf5: compression must be a gzip level, an int from 0"):
        serializers.save_hdf5(tmp_path / "m.h5", L.Linear(2, 2), compression=compression)
    assert list(tmp_path.iterdir()) == []


# -- datasets

DATASET_CASES = [
    (lambda: datasets.recall_batch(2, 5, 1, seed="a"), ValueError, ["recall_batch:", "seed", "'a'"]),
    (lambda: datasets.adding_task(2, 4, seed=-1), ValueError, ["adding_task:", "seed", "-1"]),
    (lambda: datasets.digit_reversal(3, seed=1.5), ValueError, ["digit_reversal:", "seed", "1.5"]),
    (lambda: datasets.ids_to_chars(np.array([4.7, 5.2])), TypeError, ["ids_to_chars:", "integers", "float64",
                                                                       "argmax"]),
    (lambda: datasets.chars_to_ids("ab", vocab=["a", "b"]), TypeError, ["chars_to_ids:", "vocab", "list"]),
    (lambda: datasets.unk_rate(np.array([0.5, 1.0]), {"<unk>": 1}), TypeError, ["unk_rate:", "integer",
                                                                                "float64"]),
]


@pytest.mark.parametrize("call, error, words", DATASET_CASES, ids=[str(i) for i in range(len(DATASET_CASES))])
def test_dataset_misuse_is_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert_words(str(info.value), words)


def test_dataset_inputs_that_now_give_the_right_answer(tmp_path):
    ids = V(np.array([4, 5], np.int32))                  # ids kept in a Variable
    assert datasets.ids_to_chars(ids) == "ab"
    assert datasets.unk_rate(V(np.array([1, 2, 1, 3])), {"<unk>": 1}) == 0.5   # was 0.0
    assert datasets.UnigramLM(V(np.array([1, 2], np.int32)), 5).n_vocab == 5
    assert len(datasets.get_kjv_words_vocabulary(np.int64(100))) == 100


def test_get_text_words_keeps_the_split_it_was_given(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("w%d\n" * 50 % tuple(range(50)))    # 100 words with the <eos>
    train, valid, test, _ = datasets.get_text_words(path, split=(0.45, 0.025, 0.025))
    assert (len(train), len(valid), len(test)) == (45, 2, 3)     # the test split took the rest: 53
    train, valid, test, _ = datasets.get_text_words(path, split=(0.999, 0.0005, 0.0005))
    assert min(len(train), len(valid), len(test)) >= 1           # none empty
