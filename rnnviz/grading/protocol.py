"""The test-cell protocol: the learner's process runs the learner's code, the grader judges it.

A graded check has three parts, the three methods of a ``Check``::

    inputs(**case)                 -> plain data   the grader makes a case's inputs (seeds stay here)
    run(*learner, inputs=, xp=)    -> plain data   the learner's process calls the learner's code
    judge(inputs, got, run)        -> None         the grader compares; AssertionError(message) if wrong

A test cell of an assignment is a few lines that the grader reads without running them::

    \"\"\"LSTM forward: h_next and c_next against F.lstm\"\"\"
    from rnnviz.grading import run_test
    run_test("lstm.forward", LSTM, seed=0, N=2, D=3, H=4)

In the learner's own kernel (running the cell, or nbgrader's Validate) ``run_test`` does all three
parts there and raises AssertionError with the verdict's message: it is the learner's notebook.
When the kit grades, the cell's source never reaches the kernel: the grader parses it
(``parse_test_cell``), makes each case's inputs, sends the kernel the check's name, the names of the
learner's objects and the inputs (``serve``), receives plain data (``pack``: arrays of numbers,
numbers, short strings, containers of them) and judges it itself (``judge_case``). The learner's
process never holds a seed, an expected value, a tolerance or a reference output, so nothing it
does can make a wrong answer pass: whatever it sends back is judged as its answer.

Every sentence a learner reads is written with ``rnnviz.i18n`` in the language of the moment: the
grader judges an assignment whose id ends in ``_ja`` in Japanese (``execute``), ``run_test`` in the
learner's kernel speaks i18n's language there (Japanese in a folder ``NAME_ja/``). The language
changes only the words: the same checks pass or fail, for the same points.
"""
from __future__ import annotations

import ast
import base64
import contextlib
import importlib
import json
import os
import re
import traceback
from dataclasses import dataclass, field

import numpy

from .. import i18n
from ..core import backend

#: The MIME type of the result the kernel sends back (a display_data output the grader removes).
MIME = "application/vnd.rnnviz.result+json"

MAX_DEPTH = 4                  # nesting of tuples, lists and dicts
MAX_VALUES = 20000             # nodes in one message
MAX_STRING = 2000              # characters of a string
MAX_ARRAY_BYTES = 32 << 20     # bytes of all arrays in one message
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64"}


STRINGS = {
    "protocol.too_many": {
        "en": "more than {values} values, or nested more than {depth} deep",
        "ja": "値が {values} 個を超えているか、入れ子が {depth} 段より深くなっています"},
    "protocol.too_large": {"en": "more than {mib} MiB of arrays", "ja": "配列が合計 {mib} MiB を超えています"},
    "protocol.too_large_or_size": {
        "en": "more than {mib} MiB of arrays, or a size mismatch",
        "ja": "配列が合計 {mib} MiB を超えているか、大きさが合いません"},
    "protocol.untagged": {"en": "a value is not a tagged object", "ja": "種類の印のない値があります"},
    "protocol.bad_fields": {
        "en": "a value of kind {kind!r} with fields {fields}",
        "ja": "種類 {kind!r} の値に、合わないフィールド {fields} があります"},
    "protocol.malformed": {"en": "a malformed value of kind {kind!r}", "ja": "種類 {kind!r} の値の形式が不正です"},
    "protocol.array_kind": {
        "en": "an array of an unknown dtype or origin", "ja": "配列の `dtype` か置き場所が不明です"},
    "protocol.array_shape": {"en": "an array with a malformed shape", "ja": "配列の形状の書き方が不正です"},
    "protocol.array_base64": {
        "en": "an array whose data is not base64", "ja": "配列のデータが base64 になっていません"},
    "protocol.array_size": {
        "en": "an array whose data does not match its shape", "ja": "配列のデータが形状と合いません"},
    "protocol.not_object": {"en": "the result is not an object", "ja": "結果が辞書になっていません"},
    "protocol.bad_error": {"en": "a malformed error", "ja": "エラーの形式が不正です"},
    "protocol.unnamed": {"en": "the outputs are not named", "ja": "出力に名前が付いていません"},
    "protocol.unreadable_message": {"en": "(its message could not be read)", "ja": "（メッセージを読み取れませんでした）"},
    "protocol.not_defined": {
        "en": "{name} is not defined: the cell that defines it did not run, or raised an error",
        "ja": "`{name}` が定義されていません: それを定義するセルが実行されていないか、エラーになりました"},
    "protocol.an_error": {"en": "an error", "ja": "エラー"},
    "protocol.raised": {"en": "your code raised {type}: {message}", "ja": "あなたのコードで {type} が発生しました: 「{message}」"},
    "protocol.raised_bare": {"en": "your code raised {type}", "ja": "あなたのコードで {type} が発生しました"},
    "protocol.where": {
        "en": "\n  in {function}, line {line}: {code}", "ja": "\n  `{function}` の {line} 行目: `{code}`"},
    "protocol.where_no_code": {"en": "\n  in {function}, line {line}: ", "ja": "\n  `{function}` の {line} 行目"},
    "protocol.not_checked": {
        "en": "what your code returned could not be checked: {type}: {error}",
        "ja": "あなたのコードが返したものを確認できませんでした: {type}: 「{error}」"},
    "protocol.not_read": {
        "en": "what your code returned could not be read: {error}",
        "ja": "あなたのコードが返したものを読み取れませんでした: {error}"},
}
i18n.register(STRINGS)


class ProtocolError(ValueError):
    """A message that is not plain data of the protocol (or is too large)."""


# -- plain data: one codec for the inputs sent to the kernel and the outputs it sends back ----------

@dataclass(frozen=True)
class Received:
    """An array as the learner's code left it: its values (on the host) and where it lived."""

    array: numpy.ndarray
    origin: str = "numpy"      # "numpy" or "cupy"

    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype


@dataclass(frozen=True)
class Other:
    """A value that is not plain data (an object of a learner's class, a function, ...)."""

    type_name: str


def pack(value, _depth=0, _count=None):
    """``value`` as a JSON-able tree: None, bools, numbers, strings, arrays (NumPy or CuPy; a
    Variable gives its array), tuples, lists and dicts of them; anything else is named, not sent."""
    count = _count if _count is not None else [0, 0]
    count[0] += 1
    if count[0] > MAX_VALUES or _depth > MAX_DEPTH:
        raise ProtocolError(i18n.tr("protocol.too_many", values=MAX_VALUES, depth=MAX_DEPTH))
    from ..core import Variable

    if isinstance(value, Variable):
        value = value.array
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, numpy.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, numpy.integer)):
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, numpy.floating)):
        return {"t": "float", "v": float(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value[:MAX_STRING]}
    if isinstance(value, numpy.ndarray) or backend.is_cupy_array(value):
        origin = "cupy" if backend.is_cupy_array(value) else "numpy"
        host = numpy.asarray(value.get() if origin == "cupy" else value, order="C")
        if host.dtype.name not in DTYPES:
            return {"t": "other", "type": f"array of dtype {host.dtype}"[:100]}
        count[1] += host.nbytes
        if count[1] > MAX_ARRAY_BYTES:
            raise ProtocolError(i18n.tr("protocol.too_large", mib=MAX_ARRAY_BYTES >> 20))
        return {"t": "array", "dtype": host.dtype.name, "shape": list(host.shape), "origin": origin,
                "data": base64.b64encode(host.tobytes()).decode("ascii")}
    if isinstance(value, (tuple, list)):
        return {"t": type(value).__name__ if type(value) in (tuple, list) else "tuple",
                "items": [pack(v, _depth + 1, count) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"t": "dict", "items": {k[:MAX_STRING]: pack(v, _depth + 1, count)
                                       for k, v in value.items()}}
    return {"t": "other", "type": type(value).__name__[:100]}


def unpack(tree, _depth=0, _count=None):
    """The values of a ``pack`` tree, checked strictly: anything else raises ProtocolError. Arrays
    come back as ``Received`` (host copy and origin), values that were not data as ``Other``."""
    count = _count if _count is not None else [0, 0]
    count[0] += 1
    if count[0] > MAX_VALUES or _depth > MAX_DEPTH:
        raise ProtocolError(i18n.tr("protocol.too_many", values=MAX_VALUES, depth=MAX_DEPTH))
    if not isinstance(tree, dict) or not isinstance(tree.get("t"), str):
        raise ProtocolError(i18n.tr("protocol.untagged"))
    kind, keys = tree["t"], set(tree)
    expect = {"none": {"t"}, "bool": {"t", "v"}, "int": {"t", "v"}, "float": {"t", "v"},
              "str": {"t", "v"}, "array": {"t", "dtype", "shape", "origin", "data"},
              "tuple": {"t", "items"}, "list": {"t", "items"}, "dict": {"t", "items"},
              "other": {"t", "type"}}.get(kind)
    if expect is None or keys != expect:
        raise ProtocolError(i18n.tr("protocol.bad_fields", kind=kind[:20], fields=sorted(keys)[:8]))
    v = tree.get("v")
    if kind == "none":
        return None
    if kind == "bool" and type(v) is bool:
        return v
    if kind == "int" and type(v) is int and abs(v) < 1 << 63:
        return v
    if kind == "float" and type(v) in (int, float):
        return float(v)
    if kind == "str" and type(v) is str and len(v) <= MAX_STRING:
        return v
    if kind == "other" and type(tree["type"]) is str and len(tree["type"]) <= 100:
        return Other(tree["type"])
    if kind == "array":
        return _unpack_array(tree, count)
    if kind in ("tuple", "list") and type(tree["items"]) is list:
        items = [unpack(x, _depth + 1, count) for x in tree["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and type(tree["items"]) is dict:
        return {k: unpack(x, _depth + 1, count) for k, x in tree["items"].items()
                if type(k) is str and len(k) <= MAX_STRING}
    raise ProtocolError(i18n.tr("protocol.malformed", kind=kind))


def _unpack_array(tree, count):
    dtype, shape, origin, data = tree["dtype"], tree["shape"], tree["origin"], tree["data"]
    if dtype not in DTYPES or origin not in ("numpy", "cupy") or type(data) is not str:
        raise ProtocolError(i18n.tr("protocol.array_kind"))
    if type(shape) is not list or len(shape) > 8 or not all(type(n) is int and 0 <= n for n in shape):
        raise ProtocolError(i18n.tr("protocol.array_shape"))
    item = numpy.dtype(dtype).itemsize
    size = int(numpy.prod(shape, dtype=numpy.float64)) * item
    count[1] += size
    if count[1] > MAX_ARRAY_BYTES or len(data) > 4 * (size // 3 + 1) + 4:
        raise ProtocolError(i18n.tr("protocol.too_large_or_size", mib=MAX_ARRAY_BYTES >> 20))
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise ProtocolError(i18n.tr("protocol.array_base64")) from None
    if len(raw) != size:
        raise ProtocolError(i18n.tr("protocol.array_size"))
    return Received(numpy.frombuffer(raw, dtype=dtype).reshape(shape).copy(), origin)


def on_device(value, xp):
    """``unpack``'s values with every array on ``xp``'s device (what the learner's code gets)."""
    if isinstance(value, Received):
        return xp.asarray(value.array)
    if isinstance(value, tuple):
        return tuple(on_device(v, xp) for v in value)
    if isinstance(value, list):
        return [on_device(v, xp) for v in value]
    if isinstance(value, dict):
        return {k: on_device(v, xp) for k, v in value.items()}
    return value


def host(value):
    """A NumPy array from a ``Received`` (or an array; anything else as it is)."""
    return value.array if isinstance(value, Received) else value


# -- checks ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """How a case ran: on which device, and (for checks with a budget) the CPU seconds it took,
    counted over every thread and child process of the kernel."""

    device: object                 # rnnviz.grading.checks.Device
    cpu_seconds: float | None = None


class Check:
    """One graded check. Subclasses set ``name`` ("assignment.what") and ``learner`` (what the test
    cell passes, for messages), and write the three parts; ``@register`` makes them findable.

    ``parts`` gives a check's parts their shares of a test cell's points ({name: weight}; ``judge``
    marks each with ``with part(name):``); without parts a check is all or nothing. ``devices``
    says which runs it takes part in: "cpu", "gpu" (CuPy) and "standin" (CuPy's refusal of NumPy
    arrays, on the CPU: the GPU check of a machine without a GPU)."""

    name = ""
    learner: tuple[str, ...] = ()
    measures_cpu = False           # the grader measures the kernel's CPU time around ``run``
    parts: dict[str, float] = {}
    devices = ("cpu", "gpu", "standin")

    def describe(self, case: dict) -> str:
        """A case as the learner may read it in a message: its sizes, not its seed."""
        return ", ".join(f"{k}={v}" for k, v in case.items() if k != "seed")

    def inputs(self, **case) -> dict:
        """The inputs of one case (arrays and plain parameters): runs in the grader."""
        raise NotImplementedError

    def run(self, *learner, inputs: dict, xp) -> dict:
        """Call the learner's code on ``inputs`` (arrays on ``xp``'s device); return what it gave."""
        raise NotImplementedError

    def judge(self, inputs: dict, got: dict, run: Run) -> None:
        """Compare ``got`` (``unpack``'s values) with the reference; raise AssertionError if wrong."""
        raise NotImplementedError

    def explain(self, error: dict) -> str:
        """A hint for an exception the learner's code raised ({"type", "message", "where"}), or ""."""
        return ""

    def warm_up(self, xp) -> None:
        """Runs in the learner's process before the first case of a check that ``measures_cpu``
        on a real GPU, outside the measurement: the kit's own work that a first run pays once
        (CuPy compiles each kernel the first time it runs), so that it is not charged to the
        learner's budget. Nothing of the learner's is called; nothing is sent back."""


_RECORDERS: list[dict] = []


@contextlib.contextmanager
def part(name: str):
    """In ``judge``: a failed comparison inside counts against part ``name`` only, and the
    judgement goes on with the next part. Outside a judgement it is a plain block."""
    if not _RECORDERS:
        yield
        return
    try:
        yield
    except AssertionError as exc:
        _RECORDERS[-1].setdefault(name, str(exc))


CHECKS: dict[str, Check] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


def register(cls):
    """Class decorator: make ``cls.name`` findable by ``get_check``."""
    if not _NAME.match(cls.name):
        raise ValueError(f"check name {cls.name!r} is not 'assignment.what'")
    CHECKS[cls.name] = cls()
    return cls


def get_check(name: str) -> Check:
    """The check called ``name``, importing ``rnnviz.grading.assignments.<assignment>``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise KeyError(f"not a check name: {str(name)[:80]!r}")
    if name not in CHECKS:
        importlib.import_module(f"rnnviz.grading.assignments.{name.split('.')[0]}")
    if name not in CHECKS:
        raise KeyError(f"no check named {name!r}")
    return CHECKS[name]


# -- the learner's side: call the learner's code, hand back plain data ------------------------------

def _learner_frame(filename: str) -> bool:
    """A frame of the learner's notebook (an IPython cell), not of the kit or a library."""
    return "ipykernel_" in filename or filename.startswith("<ipython-input") or filename.startswith("<cell")


def describe_error(exc: BaseException) -> dict:
    """An exception of the learner's code as plain data: its type, message and the learner's own
    lines (frames of the kit and of libraries left out)."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a learner's exception whose __str__ fails
        message = i18n.tr("protocol.unreadable_message")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _learner_frame(f.filename)]
    return {"type": type(exc).__name__[:100], "message": message[:MAX_STRING],
            "where": [{"function": f.name[:100], "line": int(f.lineno or 0), "code": (f.line or "")[:200]}
                      for f in frames[-3:]]}


#: CuPy's accelerators by number (cupy._core._accelerator), to put them back by name
_ACCELERATOR_NAMES = {1: "cub", 2: "cutensor", 3: "cutensornet"}


@contextlib.contextmanager
def cupy_without_cub():
    """CuPy's own reduction kernels rather than CUB's while a budgeted check runs on the GPU.

    CuPy compiles a kernel the first time it runs. CUB's reduction kernels are compiled again for
    each reduction's size: on an H200 machine the first window of the assignment's language model
    took 27 s of CPU time with them, and still 17 s after a warm-up at other sizes. CuPy's own are
    compiled once per type and rank: 5.8 s cold, 0.3 s after the warm-up (``Check.warm_up``).
    The setting belongs to the process: it is put back afterwards. Without CuPy, or with a CuPy
    that has no such setting, nothing changes."""
    saved = None
    try:
        from cupy._core import _accelerator as acc

        saved = (list(acc.get_reduction_accelerators()), list(acc.get_routine_accelerators()))
        acc.set_reduction_accelerators([])
        acc.set_routine_accelerators([])
    except Exception:  # noqa: BLE001 - no CuPy, or another CuPy: leave it as it is
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            try:
                acc.set_reduction_accelerators([_ACCELERATOR_NAMES[a] for a in saved[0] if a in _ACCELERATOR_NAMES])
                acc.set_routine_accelerators([_ACCELERATOR_NAMES[a] for a in saved[1] if a in _ACCELERATOR_NAMES])
            except Exception:  # noqa: BLE001
                pass


def execute_case(check: Check, learner: list, inputs, device: str) -> dict:
    """Run ``check`` on the learner's objects on ``device`` ("cpu", "gpu" or "standin"):
    {"outputs": pack tree} or {"error": ...}."""
    with contextlib.ExitStack() as stack:
        try:
            if device == "gpu":
                import cupy as xp
                if check.measures_cpu:
                    stack.enter_context(cupy_without_cub())
            elif device == "standin":
                from .standin import installed

                xp = stack.enter_context(installed())
            else:
                xp = numpy
            outputs = check.run(*learner, inputs=on_device(inputs, xp), xp=xp)
            return {"outputs": pack(outputs)}
        except Exception as exc:  # noqa: BLE001 - the learner's error is the result
            return {"error": describe_error(exc)}


def warm_up(name: str) -> None:
    """The kernel's side of ``warm_up_code``: the check's ``warm_up`` on CuPy. An error is left
    for the measured case to meet (the learner's code may have broken anything)."""
    try:
        import cupy

        with cupy_without_cub():          # the kernels the measured case will run
            get_check(name).warm_up(cupy)
    except Exception:  # noqa: BLE001 - see above
        pass


def warm_up_code(check: Check) -> str:
    """The line the grader sends before a measured check's first case on the GPU (see ``warm_up``)."""
    return f"__import__('rnnviz.grading.protocol', fromlist=['warm_up']).warm_up({check.name!r})"


def serve(message: str) -> None:
    """The kernel's side when the kit grades: run one case, publish the result as display data.

    ``message`` (base64 JSON) holds the check's name, the names of the learner's objects, the
    device, a nonce, the inputs and, when not English, the language of the kit's sentences (the
    grader's: language only, it decides nothing): never a test's source, seed, expected value or
    tolerance."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    request = json.loads(base64.b64decode(message))
    lang = request.get("lang", "en")
    with i18n.text_language(lang if lang in i18n.LANGUAGES else "en"):
        namespace = get_ipython().user_ns
        missing = [n for n in request["names"] if n not in namespace]
        if missing:
            result = {"error": {"type": "NameError", "where": [],
                                "message": i18n.tr("protocol.not_defined", name=missing[0])}}
        else:
            result = execute_case(get_check(request["check"]), [namespace[n] for n in request["names"]],
                                  unpack(request["inputs"]), request["device"])
    result["nonce"] = request["nonce"]
    publish_display_data({MIME: result})


def request_code(check: Check, names: list[str], inputs: dict, device: str, nonce: str,
                 lang: str = "en") -> str:
    """The one line the grader sends the kernel for a case (see ``serve``); ``lang``: the language
    of the sentences the kit writes in the kernel (a missing name, an unreadable message), sent
    when it is not English."""
    request = {"check": check.name, "names": list(names), "device": device, "nonce": nonce,
               "inputs": pack(inputs)}
    if lang != "en":
        request["lang"] = lang
    message = base64.b64encode(json.dumps(request).encode()).decode()
    return f"__import__('rnnviz.grading.protocol', fromlist=['serve']).serve({message!r})"


# -- the verdict --------------------------------------------------------------------------------------

@dataclass
class Verdict:
    """A case's verdict: passed, the first failure's message, and {part: message} of each part
    that failed (a check without parts has one, "all")."""

    passed: bool
    message: str = ""
    failed: dict[str, str] = field(default_factory=dict)


def part_names(check: Check) -> list[str]:
    return list(check.parts) or ["all"]


def format_error(error: dict) -> str:
    """An error of the learner's code ({"type", "message", "where"}) as a message, in the current
    language: its type, its message and the learner's lines."""
    kind = error.get("type") or i18n.tr("protocol.an_error")
    message = error.get("message", "")
    text = (i18n.tr("protocol.raised", type=kind, message=message) if message
            else i18n.tr("protocol.raised_bare", type=kind)).rstrip(": ")
    for f in error.get("where", []):
        code = str(f.get("code", "")).strip()
        text += i18n.tr("protocol.where" if code else "protocol.where_no_code",
                        function=f.get("function"), line=f.get("line"), code=code)
    return text


def read_result(doc) -> dict:
    """The kernel's result ({"outputs": values} or {"error": {...}}), checked strictly."""
    if not isinstance(doc, dict):
        raise ProtocolError(i18n.tr("protocol.not_object"))
    if "error" in doc:
        err = doc["error"]
        if not isinstance(err, dict):
            raise ProtocolError(i18n.tr("protocol.bad_error"))
        where = err.get("where") if isinstance(err.get("where"), list) else []
        return {"error": {"type": str(err.get("type", ""))[:100], "message": str(err.get("message", ""))[:MAX_STRING],
                          "where": [{k: str(f.get(k, ""))[:200] for k in ("function", "line", "code")}
                                    for f in where[:3] if isinstance(f, dict)]}}
    outputs = unpack(doc.get("outputs"))
    if not isinstance(outputs, dict):
        raise ProtocolError(i18n.tr("protocol.unnamed"))
    return {"outputs": outputs}


def failed_everywhere(check: Check, message: str) -> Verdict:
    return Verdict(False, message, {name: message for name in part_names(check)})


def judge_case(check: Check, inputs: dict, result: dict, run: Run) -> Verdict:
    """The verdict on one case from the learner's result (``read_result``); runs in the grader."""
    if "error" in result:
        hint = check.explain(result["error"])
        return failed_everywhere(check, format_error(result["error"]) + (f"\n  {hint}" if hint else ""))
    failed: dict[str, str] = {}
    _RECORDERS.append(failed)
    try:
        check.judge(inputs, result["outputs"], run)
    except AssertionError as exc:       # outside any part: every part not yet judged fails
        for name in part_names(check):
            failed.setdefault(name, str(exc))
    except Exception as exc:  # noqa: BLE001 - outputs of an unexpected kind
        for name in part_names(check):
            failed.setdefault(name, i18n.tr("protocol.not_checked", type=type(exc).__name__, error=exc))
    finally:
        _RECORDERS.pop()
    unknown = set(failed) - set(part_names(check))
    if unknown:
        raise ValueError(f"{check.name}: judge marked parts it does not declare: {sorted(unknown)}")
    if not failed:
        return Verdict(True)
    first = next(failed[n] for n in part_names(check) if n in failed)
    return Verdict(False, first, failed)


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid``, all its threads, its living descendants and
    the children they have waited for (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats, children = {}, {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        p = int(entry.name)
        stats[p] = sum(int(x) for x in fields[11:15])   # utime stime cutime cstime
        children.setdefault(int(fields[1]), []).append(p)
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, 0)
        todo.extend(children.get(p, []))
    return total / tick


def run_case_here(check: Check, learner: list, case: dict, device) -> Verdict:
    """One case of ``check`` in this process, through the same data path as grading."""
    inputs = check.inputs(**case)
    sent = unpack(pack(inputs))
    if check.measures_cpu and device.request == "gpu":
        warm_up(check.name)
    start = process_tree_cpu(os.getpid()) if check.measures_cpu else None
    result = execute_case(check, learner, sent, device.request)
    cpu = process_tree_cpu(os.getpid()) - start if check.measures_cpu else None
    try:
        result = read_result(json.loads(json.dumps(result)))
    except ProtocolError as exc:
        return failed_everywhere(check, i18n.tr("protocol.not_read", error=exc))
    # a fresh copy to judge with: on the CPU the learner's code got views of ``sent`` and may have
    # changed them (a check of inputs left unchanged needs the originals)
    return judge_case(check, unpack(pack(inputs)), result, Run(device, cpu))


def learner_language() -> str:
    """The language of the learner's kernel: the one ``rnnviz.i18n.set_language`` chose there, else
    i18n's default (``$RNNVIZ_LANG``, or Japanese in a folder ``ja`` or ``NAME_ja``). Reading it
    looks up no font (the widgets' ``get_language`` would)."""
    return i18n._state["lang"] or i18n.default_language()


# -- reading a test cell without running it ----------------------------------------------------------

class TestCellError(ValueError):
    """A test cell that is not in the protocol's form (an instructor's mistake)."""


@dataclass
class TestCall:
    check: str
    names: list[str]
    case: dict
    hidden: bool
    line: int


@dataclass
class TestCell:
    title: str
    calls: list[TestCall] = field(default_factory=list)


HIDDEN_BEGIN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS", re.M)


def parse_test_cell(source: str) -> TestCell:
    """The checks a test cell calls, read from its source (never executed): a docstring, imports,
    ``print("...")`` lines and ``run_test("name", Learner, ..., key=literal, ...)`` lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise TestCellError(f"the test cell is not valid Python: {exc}") from None
    marker = HIDDEN_BEGIN.search(source)
    hidden_from = source.count("\n", 0, marker.start()) + 1 if marker else None
    title, calls = "", []
    for k, stmt in enumerate(tree.body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            if k == 0:
                title = stmt.value.value.strip().splitlines()[0] if stmt.value.value.strip() else ""
            continue
        call = stmt.value if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else None
        func = getattr(call, "func", None)
        if isinstance(func, ast.Name) and func.id == "print":
            continue
        if not (isinstance(func, ast.Name) and func.id == "run_test" and call.args
                and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)
                and all(isinstance(a, ast.Name) for a in call.args[1:])
                and all(kw.arg is not None for kw in call.keywords)):
            raise TestCellError(f"line {stmt.lineno}: a test cell holds only run_test('check', Name, ..., "
                                f"key=literal, ...) lines, imports, print lines and a docstring")
        try:
            case = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        except ValueError:
            raise TestCellError(f"line {stmt.lineno}: run_test's keyword values must be literals") from None
        get_check(call.args[0].value)
        calls.append(TestCall(call.args[0].value, [a.id for a in call.args[1:]], case,
                              hidden_from is not None and stmt.lineno > hidden_from, stmt.lineno))
    if not calls:
        raise TestCellError("the test cell calls no run_test")
    return TestCell(title, calls)
