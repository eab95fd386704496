"""Tests for rnnviz.datasets: the shipped KJV corpus, the PTB loader, the synthetic tasks.

Nothing here touches the network: an autouse fixture points the dataset root and the PTB URL at
temporary places and makes any non-file URL an immediate failure.
"""
import collections
import gzip
import os
import shutil
import urllib.request

import numpy as np
import pytest

from rnnviz import datasets
from rnnviz.datasets import _build_kjv, kjv, ptb


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATASET_ROOT", str(tmp_path / "default-root"))
    monkeypatch.setenv("RNNVIZ_PTB_URL", str(tmp_path / "no-such-source"))
    real_urlopen = urllib.request.urlopen

    def file_only(url, *args, **kwargs):
        target = url if isinstance(url, str) else url.full_url
        if not target.startswith("file:"):
            raise AssertionError(f"a test tried to reach the network: {target}")
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", file_only)


# --------------------------------------------------------------------------------------------
# KJV: read the shipped file directly and compare the loader's arrays with what it says.


@pytest.fixture(scope="module")
def kjv_lines():
    with gzip.open(kjv.kjv_path(), "rt", encoding="ascii") as f:
        return f.read().split("\n")[:-1]


def test_kjv_file_is_small_and_documented():
    path = kjv.kjv_path()
    assert os.path.getsize(path) < 1_000_000
    readme = (path.parent / "README.md").read_text()
    assert "public domain" in readme and "bible-kjv-text" in readme


def test_kjv_text_is_normalised(kjv_lines):
    assert 10_000 < len(kjv_lines) < 20_000
    n_words = sum(len(line.split()) for line in kjv_lines)
    assert 300_000 <= n_words <= 400_000
    allowed = set("abcdefghijklmnopqrstuvwxyz-' N")
    for line in kjv_lines:
        assert line and line == line.strip() and "  " not in line
        assert set(line) <= allowed
        assert not any(ch.isdigit() for ch in line)
    assert kjv_lines[0] == "in the beginning god created the heaven and the earth"


def test_kjv_split_sizes_follow_the_lines(kjv_lines):
    train, valid, test = datasets.get_kjv_words()
    n = len(kjv_lines)
    n_train, n_valid = int(n * 0.9), int(n * 0.05)
    cut = n_train + n_valid
    pieces = (kjv_lines[:n_train], kjv_lines[n_train:cut], kjv_lines[cut:])
    eos = datasets.get_kjv_words_vocabulary()["<eos>"]
    for ids, lines in zip((train, valid, test), pieces):
        assert ids.dtype == np.int32 and ids.ndim == 1
        assert len(ids) == sum(len(line.split()) + 1 for line in lines)
        assert int((ids == eos).sum()) == len(lines)
        assert ids[-1] == eos
    assert len(train) > 15 * len(valid) and len(train) > 15 * len(test)


def test_kjv_ids_decode_back_to_the_text(kjv_lines):
    train, _, test = datasets.get_kjv_words()
    vocab = datasets.get_kjv_words_vocabulary()
    words = {i: w for w, i in vocab.items()}
    expected = []
    for line in kjv_lines[:200]:
        expected += line.split() + ["<eos>"]
    assert [words[int(i)] for i in train[: len(expected)]] == expected
    # the last test line is the last verse of the file
    tail = kjv_lines[-1].split() + ["<eos>"]
    decoded = [words[int(i)] for i in test[-len(tail):]]
    assert [w if w in vocab else "<unk>" for w in tail] == decoded


def test_kjv_vocabulary_is_by_frequency_then_alphabet(kjv_lines):
    vocab = datasets.get_kjv_words_vocabulary(500)
    assert len(vocab) == 500 and sorted(vocab.values()) == list(range(500))
    assert vocab["<unk>"] == 499 and "<eos>" in vocab
    n_train = int(len(kjv_lines) * 0.9)
    counts = collections.Counter()
    for line in kjv_lines[:n_train]:
        counts.update(line.split() + ["<eos>"])
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    assert [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1])][:-1] == ranked[:499]


def test_kjv_unk_mapping(kjv_lines):
    train, _, _ = datasets.get_kjv_words(50)
    vocab = datasets.get_kjv_words_vocabulary(50)
    assert len(vocab) == 50
    words = []
    for line in kjv_lines[:300]:
        words += line.split() + ["<eos>"]
    expected = [vocab.get(w, vocab["<unk>"]) for w in words]
    assert train[: len(words)].tolist() == expected
    assert 0 < (train == vocab["<unk>"]).mean() < 0.6
    assert train.max() == 49 and train.min() == 0


def test_kjv_default_vocabulary_keeps_all_training_words():
    train, valid, test = datasets.get_kjv_words()
    vocab = datasets.get_kjv_words_vocabulary()
    unk = vocab["<unk>"]
    assert unk == len(vocab) - 1 < 10000
    assert not (train == unk).any()  # every training word fits
    assert (test == unk).any()  # names first seen in the test books do not


def test_kjv_is_deterministic_and_returns_copies():
    a = datasets.get_kjv_words(1000)
    a[0][:10] = -7
    b = datasets.get_kjv_words(1000)
    assert not (b[0][:10] == -7).any()
    c = datasets.get_kjv_words(1000)
    for x, y in zip(b, c):
        np.testing.assert_array_equal(x, y)
    v = datasets.get_kjv_words_vocabulary(1000)
    v["zzz"] = 5
    assert "zzz" not in datasets.get_kjv_words_vocabulary(1000)


@pytest.mark.parametrize("bad", [0, 1, -5, 2.5, "100", True, None])
def test_kjv_bad_vocab_size(bad):
    with pytest.raises(ValueError, match="vocab_size"):
        datasets.get_kjv_words(bad)


def test_build_script_normalisation():
    assert _build_kjv.normalise_verse("The king's sons' 12 loving-kindness, (is it?) Amen.") == [
        "the", "king", "'s", "sons", "N", "loving-kindness", "is", "it", "amen"
    ]
    raw = ["Ge1:1 In the beginning, God.", "", "1Sm2:3 Talk no more so exceeding proudly;"]
    assert _build_kjv.build(raw) == ["in the beginning god", "talk no more so exceeding proudly"]
    with pytest.raises(ValueError, match="reference"):
        _build_kjv.build(["no reference here"])


@pytest.mark.skipif(shutil.which("bible") is None, reason="needs Debian's bible-kjv-text")
def test_build_script_reproduces_the_shipped_file(tmp_path):
    out = tmp_path / "kjv.txt.gz"
    _build_kjv.main(["--output", str(out)])
    assert out.read_bytes() == kjv.kjv_path().read_bytes()


# --------------------------------------------------------------------------------------------
# PTB, from tiny files in the PTB format


TINY = {
    "ptb.train.txt": " the cat sat \n the dog <unk> ran \n",
    "ptb.valid.txt": " a dog sat \n",
    "ptb.test.txt": " cat \n\n the \n",
}
# first-occurrence order over train with <eos> after each line:
TINY_VOCAB = {"the": 0, "cat": 1, "sat": 2, "<eos>": 3, "dog": 4, "<unk>": 5, "ran": 6}


def write_tiny(folder, files=TINY):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


def check_tiny_result(result):
    train, valid, test = result
    for ids in result:
        assert ids.dtype == np.int32
    assert train.tolist() == [0, 1, 2, 3, 0, 4, 5, 6, 3]
    assert valid.tolist() == [5, 4, 2, 3]  # "a" is not in train: <unk>
    assert test.tolist() == [1, 3, 3, 0, 3]  # the empty line still ends with <eos>


def test_ptb_from_file_url(tmp_path):
    src = write_tiny(tmp_path / "src")
    root = tmp_path / "cache"
    check_tiny_result(datasets.get_ptb_words(url=src.as_uri(), root=root))
    assert sorted(p.name for p in (root / "ptb").iterdir()) == sorted(TINY)
    assert datasets.get_ptb_words_vocabulary(root=root) == TINY_VOCAB


def test_ptb_cached_files_are_used_without_download(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write_tiny(root / "ptb")
    monkeypatch.setenv("RNNVIZ_DATASET_ROOT", str(root))
    # the autouse fixture points RNNVIZ_PTB_URL at a folder that does not exist
    check_tiny_result(datasets.get_ptb_words())
    assert datasets.dataset_root() == root


def test_ptb_url_from_environment_as_a_directory(tmp_path, monkeypatch):
    src = write_tiny(tmp_path / "src")
    monkeypatch.setenv("RNNVIZ_PTB_URL", str(src))
    check_tiny_result(datasets.get_ptb_words())
    cached = tmp_path / "default-root" / "ptb" / "ptb.train.txt"
    assert cached.read_text() == TINY["ptb.train.txt"]


def test_ptb_default_root_is_in_the_home_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNVIZ_DATASET_ROOT")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert datasets.dataset_root() == tmp_path / ".cache" / "rnnviz"
    assert ptb._base_url(None) == (tmp_path / "no-such-source").as_uri() + "/"
    monkeypatch.delenv("RNNVIZ_PTB_URL")
    assert ptb._base_url(None) == ptb.PTB_URL


def test_ptb_crlf_files_read_like_lf(tmp_path):
    files = {name: text.replace("\n", "\r\n") for name, text in TINY.items()}
    src = write_tiny(tmp_path / "src", files)
    check_tiny_result(datasets.get_ptb_words(url=src, root=tmp_path / "cache"))


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_ptb_missing_source_leaves_nothing(tmp_path):
    src = (tmp_path / "src")
    src.mkdir()
    root = tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match=r"ptb\.train\.txt.*does not exist"):
        datasets.get_ptb_words(url=src.as_uri(), root=root)
    assert leftovers(root / "ptb") == []


def test_ptb_partly_missing_source_keeps_only_complete_files(tmp_path):
    src = write_tiny(tmp_path / "src", {k: v for k, v in TINY.items() if k != "ptb.test.txt"})
    root = tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match=r"ptb\.test\.txt"):
        datasets.get_ptb_words(url=src.as_uri(), root=root)
    assert leftovers(root / "ptb") == ["ptb.train.txt", "ptb.valid.txt"]
    assert (root / "ptb" / "ptb.train.txt").read_text() == TINY["ptb.train.txt"]
    # once the missing file appears, only it is fetched and everything loads
    write_tiny(src, {"ptb.test.txt": TINY["ptb.test.txt"]})
    check_tiny_result(datasets.get_ptb_words(url=src.as_uri(), root=root))


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
        (b"caf\xe9 au lait\n", "not a text file.*UTF-8"),
        (b"a b\x00c\n", "not a text file.*control character"),
        (b"<!DOCTYPE html>\n<html><body>404</body></html>\n", "HTML"),
    ],
)
def test_ptb_bad_download_is_refused_and_not_kept(tmp_path, content, problem):
    src = write_tiny(tmp_path / "src", {**TINY, "ptb.train.txt": content})
    root = tmp_path / "cache"
    with pytest.raises(ValueError, match=rf"ptb\.train\.txt.*{problem}"):
        datasets.get_ptb_words(url=src.as_uri(), root=root)
    assert leftovers(root / "ptb") == []


def test_ptb_bad_cached_file_names_the_file(tmp_path):
    root = tmp_path / "root"
    write_tiny(root / "ptb", {**TINY, "ptb.valid.txt": b""})
    with pytest.raises(ValueError, match=r"ptb\.valid\.txt: the corpus file is empty"):
        datasets.get_ptb_words(root=root)


def test_ptb_unknown_word_without_unk_is_an_error(tmp_path):
    files = {**TINY, "ptb.train.txt": " the cat \n"}
    root = tmp_path / "root"
    write_tiny(root / "ptb", files)
    with pytest.raises(ValueError, match=r"ptb\.valid\.txt.*'a'.*not in the vocabulary"):
        datasets.get_ptb_words(root=root)


def test_load_words_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.txt"):
        ptb.load_words(tmp_path / "nothing.txt")


# --------------------------------------------------------------------------------------------
# synthetic tasks


@pytest.mark.parametrize("lag", [0, 1, 3, 7])
def test_recall_task_targets(lag):
    x, t = datasets.recall_task(20, lag, vocab_size=5, seed=3)
    assert x.shape == t.shape == (20,) and x.dtype == t.dtype == np.int32
    assert x.min() >= 0 and x.max() < 5
    for step in range(20):
        if step < lag:
            assert t[step] == datasets.IGNORE_LABEL == -1
        else:
            assert t[step] == x[step - lag]


def test_recall_is_seeded():
    a = datasets.recall_batch(4, 30, 5, vocab_size=8, seed=11)
    b = datasets.recall_batch(4, 30, 5, vocab_size=8, seed=11)
    c = datasets.recall_batch(4, 30, 5, vocab_size=8, seed=12)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (4, 30)
    np.testing.assert_array_equal(a[1][:, 5:], a[0][:, :25])
    assert (a[1][:, :5] == -1).all()
    x, t = datasets.recall_task(30, 5, vocab_size=8, seed=11)
    np.testing.assert_array_equal(x, datasets.recall_batch(1, 30, 5, vocab_size=8, seed=11)[0][0])


@pytest.mark.parametrize(
    "kwargs", [dict(length=5, lag=5), dict(length=5, lag=-1), dict(length=0, lag=0),
               dict(length=5, lag=1, vocab_size=0), dict(length=5.0, lag=1)]
)
def test_recall_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="recall_batch"):
        datasets.recall_task(**kwargs)


def test_adding_task():
    values, markers, targets = datasets.adding_task(50, 12, seed=2)
    assert values.dtype == markers.dtype == targets.dtype == np.float32
    assert targets.shape == (50, 1)
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :6].sum(axis=1) == 1).all() and (markers[:, 6:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(targets[:, 0], (values * markers).sum(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(values, datasets.adding_task(50, 12, seed=2)[0])
