"""Misuse of datasets, iterators and serializers (reproduction 9 of issue 8 and the probes around
it): downloads with an overall deadline and messages naming the URL, no ``.part`` left behind,
corpus and iterator arguments checked, files named in every loading error."""
import http.server
import os
import socket
import threading
import time

import numpy as np
import pytest

import rnnviz.links as L
from rnnviz import datasets, optimizers, serializers
from rnnviz.datasets import ptb
from rnnviz.iterators import ParallelSequentialIterator, concat_examples


# -- get_ptb_words: deadlines ------------------------------------------------------------------------

class _Trickle(http.server.BaseHTTPRequestHandler):
    """Promises 1,000 bytes and sends one every 0.2 s: each read succeeds, the whole never ends."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def trickle_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_url():
    """A server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


def test_a_trickling_server_meets_the_overall_deadline(trickle_url, tmp_path):
    """Reproduction 9: a byte every few seconds kept get_ptb_words downloading forever."""
    start = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        datasets.get_ptb_words(url=trickle_url, root=tmp_path, timeout=1.0)
    assert time.monotonic() - start < 5
    msg = str(info.value)
    assert "get_ptb_words" in msg and trickle_url + "ptb.train.txt" in msg and "1 s" in msg
    assert "bytes received" in msg
    assert list((tmp_path / "ptb").iterdir()) == []  # no .part, no partial corpus


def test_a_silent_server_is_named(silent_url, tmp_path):
    """Reproduction 9: a bare 'TimeoutError: timed out' named neither the URL nor the function."""
    with pytest.raises(TimeoutError) as info:
        datasets.get_ptb_words(url=silent_url, root=tmp_path, timeout=0.5)
    msg = str(info.value)
    assert "get_ptb_words" in msg and silent_url in msg
    assert list((tmp_path / "ptb").iterdir()) == []


def test_the_deadline_comes_from_the_environment(trickle_url, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DOWNLOAD_TIMEOUT", "0.5")
    with pytest.raises(TimeoutError, match="within 0.5 s"):
        datasets.get_ptb_words(url=trickle_url, root=tmp_path)
    monkeypatch.setenv("RNNVIZ_DOWNLOAD_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="RNNVIZ_DOWNLOAD_TIMEOUT.*'soon'"):
        datasets.get_ptb_words(url=trickle_url, root=tmp_path)


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "10"])
def test_bad_timeouts(timeout, tmp_path):
    with pytest.raises(ValueError, match=r"get_ptb_words: timeout must be a number of seconds > 0"):
        datasets.get_ptb_words(url=tmp_path, root=tmp_path, timeout=timeout)


def test_stale_part_files_of_a_killed_download_are_removed(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"):
        (source / name).write_text("a b c\nb c a\n")
    folder = tmp_path / "cache" / "ptb"
    folder.mkdir(parents=True)
    stale = folder / "ptb.train.txt.abc123.part"
    stale.write_bytes(b"half")
    old = time.time() - 3 * 3600
    os.utime(stale, (old, old))
    datasets.get_ptb_words(url=source, root=tmp_path / "cache", timeout=30)
    assert sorted(p.name for p in folder.iterdir()) == ["ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"]


def test_a_refused_connection_names_the_url(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there now
    with pytest.raises(OSError) as info:
        datasets.get_ptb_words(url=f"http://127.0.0.1:{port}/", root=tmp_path, timeout=5)
    assert "get_ptb_words" in str(info.value) and f"127.0.0.1:{port}/ptb.train.txt" in str(info.value)


# -- get_text_words and get_kjv_words --------------------------------------------------------------------

@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("the cat sat\nthe dog sat\n" * 20)
    return path


@pytest.mark.parametrize("kwargs, error, words", [
    ({"vocab_size": 0}, ValueError, ["get_text_words", "vocab_size", "at least 2", "got 0"]),
    ({"vocab_size": 1}, ValueError, ["vocab_size", "got 1"]),
    ({"vocab_size": 2.5}, ValueError, ["vocab_size", "2.5"]),
    ({"vocab_size": "100"}, ValueError, ["vocab_size", "'100'"]),
    ({"split": (0.5, 0.5)}, ValueError, ["get_text_words", "split", "three fractions", "(0.5, 0.5)"]),
    ({"split": (0.9, 0.2, 0.1)}, ValueError, ["split", "at most 1"]),
    ({"split": (0, 0.5, 0.5)}, ValueError, ["split", "train > 0"]),
    ({"split": (0.9, -0.1, 0.2)}, ValueError, ["split", ">= 0"]),
    ({"split": "0.9"}, ValueError, ["split"]),
])
def test_get_text_words_arguments(text_file, kwargs, error, words):
    """Reproduction 10: get_text_words(vocab_size=0) was accepted."""
    with pytest.raises(error) as info:
        datasets.get_text_words(text_file, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_get_text_words_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing.txt does not exist"):
        datasets.get_text_words(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match=r"get_text_words: path must be .*got list"):
        datasets.get_text_words(["the cat sat"])
    with pytest.raises(IsADirectoryError, match=rf"get_text_words: {tmp_path} is a folder, not a corpus file"):
        datasets.get_text_words(tmp_path)  # a folder


def test_get_text_words_small_vocabulary_maps_the_rest_to_unk(text_file):
    train, valid, test, vocab = datasets.get_text_words(text_file, vocab_size=2)
    assert len(vocab) == 2 and "<unk>" in vocab
    assert set(np.unique(np.concatenate([train, valid, test]))) <= {0, 1}


@pytest.mark.parametrize("bad", [0, 1, -5, 3.0, "100", None])
def test_get_kjv_words_vocab_size(bad):
    with pytest.raises(ValueError, match=r"get_kjv_words: vocab_size must be an int of at least 2"):
        datasets.get_kjv_words(bad)


@pytest.mark.parametrize("call, words", [
    (lambda: datasets.recall_batch(0, 5, 1), ["recall_batch", "batch_size", ">= 1", "0"]),
    (lambda: datasets.recall_batch(2, 5, 5), ["recall_batch", "lag", "smaller than length"]),
    (lambda: datasets.recall_task(5, -1), ["recall_batch", "lag", "-1"]),
    (lambda: datasets.adding_task(2, 1), ["adding_task", "length", ">= 2", "1"]),
    (lambda: datasets.adding_task(2.0, 10), ["adding_task", "batch_size", "2.0"]),
])
def test_synthetic_task_arguments(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value)


# -- iterators --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, error, words", [
    ((np.arange(10), 0), ValueError, ["ParallelSequentialIterator", "batch_size", "at least 1", "0"]),
    ((np.arange(10), -3), ValueError, ["batch_size", "-3"]),
    ((np.arange(10), 2.0), TypeError, ["batch_size", "int", "2.0"]),
    ((np.arange(10), 11), ValueError, ["batch_size (11)", "dataset (10 words)"]),
    ((np.arange(0), 1), ValueError, ["empty"]),
    ((5, 1), TypeError, ["dataset", "length", "int"]),
    ((np.zeros((4, 5), np.int32), 2), ValueError, ["ParallelSequentialIterator", "1-D", "(4, 5)"]),
])
def test_iterator_arguments(args, error, words):
    with pytest.raises(error) as info:
        ParallelSequentialIterator(*args)
    for word in words:
        assert word in str(info.value)


def test_iterator_state_from_another_run_is_refused_whole():
    it = ParallelSequentialIterator(np.arange(100), 4)
    with pytest.raises(ValueError, match=r"batch_size=5, but this iterator has batch_size=4"):
        it.load_state_dict({"iteration": 3, "batch_size": 5})
    with pytest.raises(TypeError, match=r"load_state_dict: expected the dict .*got int"):
        it.load_state_dict(3)
    assert it.iteration == 0


def test_concat_examples_misuse():
    with pytest.raises(ValueError, match="concat_examples: the batch is empty"):
        concat_examples([])
    with pytest.raises(ValueError, match=r"concat_examples: example 0 is a tuple of 2 values but example 1"):
        concat_examples([(1, 2), (3,)])


# -- serializers --------------------------------------------------------------------------------------------------

def test_save_into_a_missing_folder_names_the_folder_not_a_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        serializers.save_npz(tmp_path / "nope" / "m.npz", L.Linear(2, 2))
    msg = str(info.value)
    assert "save_npz" in msg and "nope" in msg and ".tmp-" not in msg
    assert not (tmp_path / "nope").exists()


def test_save_onto_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"save_npz: .* is a folder"):
        serializers.save_npz(tmp_path, L.Linear(2, 2))


@pytest.mark.parametrize("obj, words", [
    (np.zeros(3), ["save_npz", "serialize", "ndarray"]),
    ({"W": np.zeros(3)}, ["save_npz", "dict"]),
])
def test_save_of_something_that_cannot_be_saved(tmp_path, obj, words):
    with pytest.raises(TypeError) as info:
        serializers.save_npz(tmp_path / "x.npz", obj)
    for word in words:
        assert word in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_with_a_path_of_the_wrong_type():
    with pytest.raises(TypeError, match=r"save_npz: the file must be a path .*got Linear"):
        serializers.save_npz(L.Linear(2, 2), "model.npz")  # arguments swapped


def test_load_errors_name_the_file(tmp_path):
    model = L.Linear(3, 2)
    W = model.W.array.copy()
    with pytest.raises(FileNotFoundError, match=r"load_npz: no file at '.*absent.npz'"):
        serializers.load_npz(tmp_path / "absent.npz", model)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match=r"load_npz: '.*bad.npz' is not a file written by save_npz"):
        serializers.load_npz(bad, model)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"'.*one.npy' is not a file written by save_npz .*found a single NumPy array"):
        serializers.load_npz(tmp_path / "one.npy", model)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        serializers.load_npz(tmp_path, model)
    with pytest.raises(TypeError, match=r"load_npz: expected a link.*got str"):
        serializers.load_npz(tmp_path / "absent.npz", "model")
    np.testing.assert_array_equal(model.W.array, W)


def test_load_of_an_unknown_part_of_the_file(tmp_path):
    serializers.save_npz(tmp_path / "m.npz", L.Linear(3, 2))
    with pytest.raises(ValueError, match=r"has no entries under 'model/'"):
        serializers.load_npz(tmp_path / "m.npz", L.Linear(3, 2), path="model/")


def test_load_of_an_optimizer_state_from_another_kind_of_optimizer(tmp_path):
    model = L.Linear(3, 2)
    sgd = optimizers.SGD().setup(model)
    sgd.update(_loss, model)                                 # one update: t = 1
    serializers.save_npz(tmp_path / "sgd.npz", sgd)
    adam = optimizers.Adam().setup(model)
    with pytest.raises(ValueError, match=r"load_npz: .*no Adam state \(m, v\) for any parameter after 1 updates"):
        serializers.load_npz(tmp_path / "sgd.npz", adam)
    assert adam.t == 0 and adam._states == {}
    fresh = optimizers.Adam().setup(L.Linear(3, 2))       # a file saved before any update loads
    serializers.save_npz(tmp_path / "sgd0.npz", optimizers.SGD().setup(L.Linear(3, 2)))
    serializers.load_npz(tmp_path / "sgd0.npz", fresh)
    assert fresh.t == 0


def _loss(model):
    from rnnviz import functions as F
    return F.sum(model(np.ones((1, 3), np.float32)) ** 2)


def test_load_of_integer_weights_into_float_is_fine_but_float_into_integer_is_not(tmp_path):
    model = L.Linear(3, 2)
    np.savez(tmp_path / "int.npz", W=np.ones((2, 3), np.int64), b=np.zeros(2, np.int64))
    serializers.load_npz(tmp_path / "int.npz", model)
    np.testing.assert_array_equal(model.W.array, np.ones((2, 3), np.float32))
    it = ParallelSequentialIterator(np.arange(20), 2)
    np.savez(tmp_path / "pos.npz", iteration=np.array([1, 2]), epoch=np.array(0))
    with pytest.raises((ValueError, TypeError)) as info:
        serializers.load_npz(tmp_path / "pos.npz", it)
    assert "iteration" in str(info.value)
    assert it.iteration == 0


def test_a_failing_serialize_is_rolled_back(tmp_path):
    """Should a custom serialize fail half-way through loading, what it already copied is put back."""
    class Fragile(L.Linear):
        def serialize(self, serializer):
            super().serialize(serializer)
            if getattr(serializer, "loading", False) and not getattr(serializer, "checking", False):
                if not getattr(self, "_fail_once", False):
                    object.__setattr__(self, "_fail_once", True)
                    raise RuntimeError("disk gone")

    np.random.seed(0)
    serializers.save_npz(tmp_path / "m.npz", L.Linear(3, 2))
    model = Fragile(3, 2)
    W = model.W.array.copy()
    with pytest.raises(RuntimeError, match="disk gone"):
        serializers.load_npz(tmp_path / "m.npz", model)
    np.testing.assert_array_equal(model.W.array, W)
