"""What the assignments' tests call: run a check on each device, compare arrays, explain failures.

A failed comparison names the output or gradient, gives its shape and its relative error, and says
which mistake usually produces that symptom. It never prints the test's inputs or the expected
values, so a hidden test stays hidden even when its message is shown to the learner.

Devices: NumPy always; CuPy as well when it can be used. The environment variable
``RNNVIZ_GRADING_GPU`` decides: ``auto`` (the default) runs the GPU part when CuPy sees a CUDA
device and otherwise prints one line, "GPU part skipped: <reason>", costing no points; ``1``
forces the GPU part (a check fails when no GPU can be used); ``0`` turns it off.
"""
import importlib.util
import os
from collections.abc import Mapping

import numpy

from .. import i18n
from ..core import backend
from . import protocol
from .protocol import Other, Received

ENV_VAR = "RNNVIZ_GRADING_GPU"
_FORCE = ("1", "on", "yes", "true", "gpu", "force")
_OFF = ("0", "off", "no", "false", "cpu")

# Every sentence a learner can read, in English and Japanese (``rnnviz.i18n``): a message is
# written when a check fails, in the language of that moment (the grader sets the assignment's).
STRINGS = {
    # -- the usual mistake behind each symptom (USUAL_MISTAKES) ---------------------------------
    "checks.mistake.none": {
        "en": "nothing was returned or stored: a missing `return`, or a gradient never written",
        "ja": "何も返されていないか、保存されていません: `return` の書き忘れか、勾配を一度も書き込んでいません"},
    "checks.mistake.not_array": {
        "en": "a value of the wrong kind was returned (a tuple where an array was expected, or "
              "the other way round)",
        "ja": "違う種類の値が返されました（配列が必要なところでタプルを返した、またはその逆です）"},
    "checks.mistake.numpy_on_gpu": {
        "en": "the code hard-codes NumPy (np.zeros, np.asarray, np.random, ...), so the "
              "GPU run gets NumPy arrays back; write xp = rnnviz.backend.get_array_module(x) "
              "and use xp.zeros(...), xp.tanh(...) instead",
        "ja": "コードが NumPy を決め打ちしている（`np.zeros`, `np.asarray`, `np.random` など）ため、"
              "GPU での実行で NumPy の配列が返ってきます。`xp = rnnviz.backend.get_array_module(x)` と書き、"
              "代わりに `xp.zeros(...)`, `xp.tanh(...)` を使ってください"},
    "checks.mistake.cupy_on_cpu": {
        "en": "a CuPy array came back on the CPU run: do not move arrays to the GPU yourself",
        "ja": "CPU での実行で CuPy の配列が返ってきました。配列を自分で GPU に移さないでください"},
    "checks.mistake.transposed_shape": {
        "en": "a missing or extra transpose (.T), or the two factors of a matrix product swapped",
        "ja": "転置（`.T`）が抜けているか余分です。または行列積の 2 つの因子が入れ替わっています"},
    "checks.mistake.reshaped": {
        "en": "the right number of elements in the wrong shape: a reshape or transpose that "
              "is missing or too many",
        "ja": "要素の数は正しいのに形状が違います: `reshape` か転置が抜けているか、多すぎます"},
    "checks.mistake.broadcast_shape": {
        "en": "the gradient still has the broadcast shape: sum it over the axes that "
              "broadcasting added or stretched (sum_to), so it has its input's shape",
        "ja": "勾配がブロードキャストされた形状のままです: ブロードキャストで加わった軸と引き伸ばされた軸について"
              "和をとり（`sum_to`）、入力と同じ形状にしてください"},
    "checks.mistake.axis_lost": {
        "en": "an axis was summed away that should stay (keepdims=True, or sum over the other "
              "axis)",
        "ja": "残すべき軸が和で消えています（`keepdims=True` を使うか、もう一方の軸について和をとってください）"},
    "checks.mistake.shape": {
        "en": "a sum, mean or broadcast over the wrong axis, or a missing transpose",
        "ja": "和・平均・ブロードキャストの軸が間違っているか、転置が抜けています"},
    "checks.mistake.nan": {
        "en": "an overflow (exp of a large number) or a division by zero",
        "ja": "オーバーフロー（大きな数の `exp`）か、ゼロによる割り算です"},
    "checks.mistake.zero": {
        "en": "no gradient reached it: it was overwritten, never accumulated, or the path through "
              "it was skipped",
        "ja": "勾配が届いていません: 上書きされたか、一度も足し込まれなかったか、そこを通る経路が飛ばされています"},
    "checks.mistake.sign": {
        "en": "a sign error (d(a - b)/db = -1; d tanh(x)/dx = 1 - tanh(x)**2, not tanh(x)**2 - 1)",
        "ja": "符号の間違いです（`d(a - b)/db = -1`、`d tanh(x)/dx = 1 - tanh(x)**2` であり、"
              "`tanh(x)**2 - 1` ではありません）"},
    "checks.mistake.scaled": {
        "en": "a path counted the wrong number of times: a gradient assigned where it should be "
              "added (a variable used twice), or added twice",
        "ja": "ある経路を数える回数が違います: 足すべきところで勾配を代入しているか（2 回使われる変数）、"
              "2 回足しています"},
    "checks.mistake.transposed": {
        "en": "a missing or extra transpose (.T), or the factors of a matrix product swapped",
        "ja": "転置（`.T`）が抜けているか余分です。または行列積の因子が入れ替わっています"},
    "checks.mistake.parts": {
        "en": "only some parts are wrong; compare those parts' formulas with the others",
        "ja": "一部の部分だけが間違っています。その部分の式を、ほかの部分の式と比べてください"},
    "checks.mistake.swapped_parts": {
        "en": "parts are in the wrong order: the blocks are computed but stored in "
              "another place (a different gate order)",
        "ja": "部分の順番が違います: ブロックは計算できていますが、別の場所に格納されています（ゲートの順番の違い）"},
    "checks.mistake.other": {
        "en": "compare each line with the formula; check the shapes of every intermediate value",
        "ja": "各行を式と比べ、途中の値すべての形状を確かめてください"},
    # -- a failed comparison ---------------------------------------------------------------------
    "checks.usual": {"en": "usual mistake: {usual}", "ja": "よくある間違い: {usual}"},
    "checks.failed": {"en": "{problem}.\n  usual mistake: {usual}", "ja": "{problem}。\n  よくある間違い: {usual}"},
    "checks.is_wrong": {"en": "{name} is wrong{detail}", "ja": "{name} が間違っています{detail}"},
    "checks.is_wrong_because": {"en": "{name} is wrong{detail}: {text}", "ja": "{name} が間違っています{detail}: {text}"},
    "checks.detail.shapes": {
        "en": " (shape {shape}, expected shape {expected})", "ja": "（形状 {shape}、期待される形状 {expected}）"},
    "checks.detail.shape": {"en": " (shape {shape})", "ja": "（形状 {shape}）"},
    "checks.detail.error": {
        "en": " (shape {shape}, relative error {error:.2g})", "ja": "（形状 {shape}、相対誤差 {error:.2g}）"},
    "checks.is_none": {"en": "it is None", "ja": "`None` です"},
    "checks.not_array": {"en": "expected an array, got a {kind}", "ja": "配列が必要ですが、`{kind}` が返されました"},
    "checks.numpy_on_gpu": {
        "en": "it is a NumPy array on the GPU run, where the inputs were CuPy arrays",
        "ja": "入力が CuPy の配列である GPU での実行で、NumPy の配列になっています"},
    "checks.cupy_on_cpu": {"en": "it is a CuPy array on the CPU run", "ja": "CPU での実行で CuPy の配列になっています"},
    "checks.has_nan": {"en": "it contains NaN or infinity", "ja": "NaN か無限大を含んでいます"},
    "checks.shape.transposed": {
        "en": "its shape is the transpose of the expected one", "ja": "形状が期待される形状の転置になっています"},
    "checks.shape.reshaped": {
        "en": "it has the right number of elements in another shape", "ja": "要素の数は正しいのに、形状が違います"},
    "checks.shape.broadcast": {
        "en": "it is larger than the input it belongs to", "ja": "対応する入力より大きくなっています"},
    "checks.shape.axis_lost": {"en": "it has fewer axes than expected", "ja": "軸の数が期待より少なくなっています"},
    "checks.shape.other": {"en": "its shape differs from the expected one", "ja": "形状が期待される形状と違います"},
    "checks.value.zero": {"en": "it is all zeros", "ja": "すべて 0 です"},
    "checks.value.sign": {
        "en": "it has the opposite sign of the expected value", "ja": "期待される値と符号が逆です"},
    "checks.value.scaled": {"en": "it is the expected value times {k:.3g}", "ja": "期待される値の {k:.3g} 倍です"},
    "checks.value.transposed": {
        "en": "it is the transpose of the expected value", "ja": "期待される値の転置になっています"},
    "checks.parts.wrong": {"en": "part(s) {wrong} are wrong", "ja": "部分 {wrong} が間違っています"},
    "checks.parts.wrong_right": {
        "en": "part(s) {wrong} are wrong, {right} are right", "ja": "部分 {wrong} が間違っています（{right} は正しい）"},
    "checks.parts.moved": {"en": "{a} holds what {b} should hold", "ja": "{a} に {b} の値が入っています"},
    "checks.parts.moved_list": {"en": "{text}; {moved}", "ja": "{text}。{moved}"},
    "checks.list_sep": {"en": ", ", "ja": "、"},
    # -- devices -----------------------------------------------------------------------------
    "checks.label.gpu": {"en": "[GPU run, CuPy arrays] ", "ja": "[GPU での実行、CuPy の配列] "},
    "checks.label.standin": {
        "en": "[GPU check, on arrays that refuse NumPy like CuPy's] ",
        "ja": "[GPU のチェック、CuPy と同じく NumPy を拒む配列で] "},
    "checks.gpu.off": {"en": "{var}={value} turns it off", "ja": "{var}={value} で無効になっています"},
    "checks.gpu.no_cupy": {"en": "CuPy is not installed", "ja": "CuPy がインストールされていません"},
    "checks.gpu.no_device": {"en": "CuPy sees no CUDA device", "ja": "CuPy から CUDA デバイスが見えません"},
    "checks.gpu.forced": {
        "en": "{var}={value} asks for the GPU part, but {reason}",
        "ja": "{var}={value} が GPU の部分を求めていますが、{reason}"},
    "checks.gpu.skipped": {"en": "GPU part skipped: {reason}", "ja": "GPU の部分は省略しました: {reason}"},
    "checks.gpu.raised": {
        "en": "the code passed on the CPU but raised {type} on CuPy arrays: {line}\n  usual mistake: {usual}",
        "ja": "CPU では通りましたが、CuPy の配列で {type} が発生しました: 「{line}」\n  よくある間違い: {usual}"},
    # -- check_function ---------------------------------------------------------------------
    "checks.fn.one_output": {
        "en": "{label}: forward should return one array, it returned {n}",
        "ja": "`{label}`: `forward` は配列を 1 つ返す必要がありますが、{n} 個返しました"},
    "checks.fn.gradient_count": {
        "en": "{label}.backward returned {n} gradient(s) for {inputs} input(s): return one gradient per "
              "input of forward, in the same order, as a tuple",
        "ja": "`{label}.backward` が入力 {inputs} 個に対して勾配を {n} 個返しました: `forward` の入力 1 つにつき"
              "勾配を 1 つ、同じ順番で、タプルにして返してください"},
    "checks.fn.forward_output": {"en": "{label} forward output", "ja": "`{label}` の順伝播の出力"},
    "checks.fn.gradient_of": {"en": "{label}: gradient of {name}", "ja": "`{label}`: {name} の勾配"},
    "checks.fn.input": {"en": "input {k}", "ja": "入力 {k}"},
}
i18n.register(STRINGS)


def text_of(value) -> str:
    """A hint as the learner reads it now: ``value`` is a key of ``rnnviz.i18n`` (looked up in the
    current language, so that a module-level hint follows the grader's language) or a text."""
    if isinstance(value, str) and value in i18n.STRINGS:
        return i18n.tr(value)
    return value


def usual(value) -> str:
    """The line "usual mistake: ..." for a hint (an i18n key or a text), in the current language."""
    return i18n.tr("checks.usual", usual=text_of(value))


class _UsualMistakes(Mapping):
    """The usual mistake behind each symptom, in the language of the moment it is read:
    ``USUAL_MISTAKES["sign"]`` is ``i18n.tr("checks.mistake.sign")``."""

    SYMPTOMS = ("none", "not_array", "numpy_on_gpu", "cupy_on_cpu", "transposed_shape", "reshaped",
                "broadcast_shape", "axis_lost", "shape", "nan", "zero", "sign", "scaled", "transposed",
                "parts", "swapped_parts", "other")

    def __getitem__(self, symptom):
        if symptom not in self.SYMPTOMS:
            raise KeyError(symptom)
        return i18n.tr(f"checks.mistake.{symptom}")

    def __iter__(self):
        return iter(self.SYMPTOMS)

    def __len__(self):
        return len(self.SYMPTOMS)

    def key(self, symptom):
        """The i18n key of a symptom's usual mistake (for a hint kept as a key)."""
        return f"checks.mistake.{symptom}"


# The usual mistake behind each symptom. A test can add its own, more precise, sentence per
# symptom with ``mistakes={"transposed": "..."}`` (a text, or better an i18n key: see ``text_of``).
USUAL_MISTAKES = _UsualMistakes()


class Device:
    """Where a check runs: ``name`` ('cpu' or 'gpu') and ``xp`` (``numpy`` or ``cupy``).

    ``request`` is what the learner's kernel is asked for: ``"cpu"``, ``"gpu"`` (CuPy) or
    ``"standin"`` (``rnnviz.grading.standin``: CuPy's refusal of NumPy arrays, on the CPU)."""

    def __init__(self, name, xp, request=None):
        self.name = name
        self.xp = xp
        self.request = request or name

    @property
    def label(self):
        """How a message names this run ("" for the CPU), in the current language."""
        if self.request == "cpu":
            return ""
        return i18n.tr(f"checks.label.{self.request}")

    def array(self, a, dtype=None):
        """A copy of ``a`` (a NumPy array or a number) on this device."""
        return self.xp.array(numpy.asarray(a, dtype=dtype))

    def randn(self, seed, *shape, dtype=numpy.float64):
        """Standard-normal numbers on this device; the same numbers on every device for a seed."""
        return self.array(numpy.random.default_rng(seed).standard_normal(shape), dtype)

    def randint(self, seed, high, shape, dtype=numpy.int32):
        """Integers in [0, high) on this device; the same on every device for a seed."""
        return self.array(numpy.random.default_rng(seed).integers(0, high, shape), dtype)

    def __repr__(self):
        return f"Device({self.name!r}, {getattr(self.xp, '__name__', self.xp)}, {self.request!r})"


CPU = Device("cpu", numpy)


def to_numpy(a):
    """A NumPy copy of an array from any device (a Variable gives its ``.array``)."""
    a = getattr(a, "array", a)
    if backend.is_cupy_array(a):
        return a.get()
    return numpy.asarray(a)


def gpu_status():
    """``(True, "")`` when the GPU part should run, else ``(False, reason)``.

    Raises RuntimeError when ``RNNVIZ_GRADING_GPU`` forces the GPU part and no GPU can be used.
    """
    raw = os.environ.get(ENV_VAR, "auto")
    mode = raw.strip().lower()
    if mode in _OFF:
        return False, i18n.tr("checks.gpu.off", var=ENV_VAR, value=raw)
    if importlib.util.find_spec("cupy") is None:
        reason = i18n.tr("checks.gpu.no_cupy")
    elif not backend.gpu_available():
        reason = i18n.tr("checks.gpu.no_device")
    else:
        return True, ""
    if mode in _FORCE:
        raise RuntimeError(i18n.tr("checks.gpu.forced", var=ENV_VAR, value=raw, reason=reason))
    return False, reason


def gpu_turned_off() -> bool:
    """Whether ``RNNVIZ_GRADING_GPU`` turns the GPU part off (``0``, ``off``, ...)."""
    return os.environ.get(ENV_VAR, "auto").strip().lower() in _OFF


def devices():
    """The devices a graded check runs on: the CPU, then the GPU when it can be used."""
    usable, _ = gpu_status()
    if usable:
        import cupy
        return [CPU, Device("gpu", cupy)]
    return [CPU]


STANDIN = Device("gpu", None, request="standin")


def graded_devices():
    """Where each case of a graded check runs: the CPU, then the GPU with CuPy where one can be
    used, else the CuPy stand-in (so that NumPy hard-coded in the learner's math fails on every
    machine). ``RNNVIZ_GRADING_GPU=0`` leaves the CPU alone; ``1`` demands a real GPU."""
    usable, _ = gpu_status()
    if usable:
        import cupy
        return [CPU, Device("gpu", cupy)]
    if gpu_turned_off():
        return [CPU]
    return [CPU, STANDIN]


_skip_noted_at = [None]


def _note_gpu_skipped(reason):
    """Print "GPU part skipped: <reason>" once per notebook cell (every time outside IPython)."""
    count = None
    try:
        ip = get_ipython()  # noqa: F821  (defined inside IPython only)
        count = ip.execution_count
    except NameError:
        pass
    if count is not None and _skip_noted_at[0] == count:
        return
    _skip_noted_at[0] = count
    print(i18n.tr("checks.gpu.skipped", reason=reason))


# -- the test cell's line, in the learner's kernel ------------------------------------------------
def _test_failure(message: str) -> AssertionError:
    """The AssertionError a failing ``run_test`` raises. IPython shows an exception that has
    ``_render_traceback_`` as the lines that method returns: the message alone, no frame of the kit
    (``__tracebackhide__`` cannot hide the frame that raises). Elsewhere it is an ordinary
    AssertionError with the same message."""
    exc = AssertionError(message)
    exc._render_traceback_ = lambda: [f"AssertionError: {message}"]
    return exc


def run_test(check_name: str, *learner, **case) -> None:
    """A test cell's line: run the check on the learner's objects on each device, in this kernel.

    Passes silently; a wrong answer raises AssertionError with the message of each part that
    failed, shown by IPython without the kit's frames. The GPU check runs on CuPy where a GPU can
    be used, else on the CuPy stand-in; with ``RNNVIZ_GRADING_GPU=0`` it prints "GPU part skipped:
    <reason>". Its sentences are in ``learner_language()`` (Japanese in a folder ``NAME_ja/``)."""
    check = protocol.get_check(check_name)
    with i18n.text_language(protocol.learner_language()):
        runs = [d for d in graded_devices() if d.request in check.devices]
        for dev in runs:
            verdict = protocol.run_case_here(check, list(learner), case, dev)
            if not verdict.passed:
                messages = list(dict.fromkeys(verdict.failed.values()))
                raise _test_failure("\n".join(dev.label + m for m in messages)) from None
        if len(runs) == 1 and "gpu" in check.devices:
            _note_gpu_skipped(gpu_status()[1])


def for_each_device(check):
    """Run ``check(device)`` on the CPU with NumPy, then on the GPU with CuPy when one can be used.

    Without a GPU it prints "GPU part skipped: <reason>" and the cell passes on the CPU result
    alone. A failure on the GPU only is reported as such, with the usual reason: NumPy hard-coded.
    """
    usable, reason = gpu_status()
    check(CPU)
    if not usable:
        _note_gpu_skipped(reason)
        return
    for dev in devices()[1:]:
        try:
            check(dev)
        except AssertionError as e:
            raise AssertionError(f"{dev.label}{e}") from None
        except Exception as e:
            raise AssertionError(dev.label + i18n.tr(
                "checks.gpu.raised", type=type(e).__name__, line=_first_line(e),
                usual=USUAL_MISTAKES["numpy_on_gpu"])) from e


def _first_line(e):
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""


# -- comparing arrays --------------------------------------------------------------------------

def relative_error(got, want):
    """``|got - want| / |want|`` (Frobenius norms; the denominator is at least 1e-12)."""
    g = to_numpy(got).astype(numpy.float64)
    w = to_numpy(want).astype(numpy.float64)
    return float(numpy.linalg.norm(g - w) / max(numpy.linalg.norm(w), 1e-12))


def _shape_symptom(gs, ws):
    if len(gs) == len(ws) == 2 and gs == ws[::-1]:
        return "transposed_shape", i18n.tr("checks.shape.transposed")
    if int(numpy.prod(gs)) == int(numpy.prod(ws)):
        return "reshaped", i18n.tr("checks.shape.reshaped")
    if len(gs) > len(ws) or (len(gs) == len(ws) and all(g >= w for g, w in zip(gs, ws))
                             and any(w == 1 for w in ws)):
        return "broadcast_shape", i18n.tr("checks.shape.broadcast")
    if len(gs) < len(ws):
        return "axis_lost", i18n.tr("checks.shape.axis_lost")
    return "shape", i18n.tr("checks.shape.other")


def _value_symptom(g, w, rtol, atol, parts):
    close = lambda a, b: numpy.allclose(a, b, rtol=rtol, atol=atol)  # noqa: E731
    if not numpy.any(g) and numpy.any(w):
        return "zero", i18n.tr("checks.value.zero")
    if close(g, -w):
        return "sign", i18n.tr("checks.value.sign")
    ww = float((w * w).sum())
    if ww > 0:
        k = float((g * w).sum()) / ww
        if abs(k - 1) > 1e-3 and close(g, k * w):
            return "scaled", i18n.tr("checks.value.scaled", k=k)
    if g.ndim == 2 and g.shape[0] == g.shape[1] and g.shape[0] > 1 and close(g, w.T):
        return "transposed", i18n.tr("checks.value.transposed")
    if parts is not None:
        axis, labels = parts
        n = g.shape[axis]
        labels = list(labels) if labels is not None else [str(i) for i in range(n)]
        if n % len(labels) == 0 and len(labels) > 1:
            gp = numpy.split(g, len(labels), axis=axis)
            wp = numpy.split(w, len(labels), axis=axis)
            wrong = [i for i in range(len(labels)) if not close(gp[i], wp[i])]
            right = [i for i in range(len(labels)) if i not in wrong]
            if wrong:
                moved = [(labels[i], labels[j]) for i in wrong for j in range(len(labels))
                         if j != i and close(gp[i], wp[j]) and numpy.any(wp[j])]
                sep = i18n.tr("checks.list_sep")
                wrong_text = sep.join(labels[i] for i in wrong)
                text = (i18n.tr("checks.parts.wrong_right", wrong=wrong_text,
                                right=sep.join(labels[i] for i in right)) if right
                        else i18n.tr("checks.parts.wrong", wrong=wrong_text))
                if moved:
                    text = i18n.tr("checks.parts.moved_list", text=text, moved=sep.join(
                        i18n.tr("checks.parts.moved", a=a, b=b) for a, b in moved))
                    return "swapped_parts", text
                if right:
                    return "parts", text
    return "other", None


def check_array(name, got, want, *, device=None, rtol=1e-6, atol=1e-9, mistakes=None, parts=None):
    """Assert that ``got`` equals ``want`` to ``rtol``/``atol``; explain the difference if not.

    ``name`` says what is compared ("dWh", "gradient of x"); ``device`` is the Device of the run
    (a NumPy result on the GPU run is an error: NumPy is hard-coded); ``mistakes`` maps a symptom
    (``"shape"``, ``"transposed_shape"``, ``"broadcast_shape"``, ``"zero"``, ``"sign"``,
    ``"scaled"``, ``"transposed"``, ``"parts"``, ``"swapped_parts"``, ``"other"``, ...) to the
    mistake that usually causes it in this exercise; ``parts=(axis, labels)`` splits that axis into
    equal blocks (the LSTM's gates, the time steps) and says which are wrong.
    The message gives the name, the shape and the relative error, never the values, in the
    current language (``rnnviz.i18n``): ``name`` is already in it, and a value of ``mistakes`` is an
    i18n key (looked up now) or a text.
    """
    mistakes = dict(mistakes or {})

    def fail(symptom, text, detail=""):
        hint = mistakes.get(symptom) or (mistakes.get("other") if symptom in ("other", "parts") else None) \
            or USUAL_MISTAKES.get(symptom, USUAL_MISTAKES["other"])
        problem = (i18n.tr("checks.is_wrong_because", name=name, detail=detail, text=text) if text
                   else i18n.tr("checks.is_wrong", name=name, detail=detail))
        raise AssertionError(i18n.tr("checks.failed", problem=problem, usual=text_of(hint)))

    origin = None
    if isinstance(got, Received):  # what the learner's process sent back: its values and device
        got, origin = got.array, got.origin
    got = getattr(got, "array", got)  # a Variable gives its array
    if got is None:
        fail("none", i18n.tr("checks.is_none"))
    if isinstance(got, Other):
        fail("not_array", i18n.tr("checks.not_array", kind=got.type_name))
    if not (isinstance(got, numpy.ndarray) or backend.is_cupy_array(got) or numpy.isscalar(got)):
        fail("not_array", i18n.tr("checks.not_array", kind=type(got).__name__))
    on_gpu = origin == "cupy" if origin is not None else backend.is_cupy_array(got)
    if device is not None and device.name == "gpu" and not on_gpu:
        fail("numpy_on_gpu", i18n.tr("checks.numpy_on_gpu"))
    if device is not None and device.name == "cpu" and on_gpu:
        fail("cupy_on_cpu", i18n.tr("checks.cupy_on_cpu"))
    g = to_numpy(got)
    w = to_numpy(want)
    if g.shape != w.shape:
        symptom, text = _shape_symptom(g.shape, w.shape)
        fail(symptom, text, i18n.tr("checks.detail.shapes", shape=g.shape, expected=w.shape))
    g = g.astype(numpy.float64)
    w = w.astype(numpy.float64)
    if not numpy.all(numpy.isfinite(g)):
        fail("nan", i18n.tr("checks.has_nan"), i18n.tr("checks.detail.shape", shape=g.shape))
    if numpy.allclose(g, w, rtol=rtol, atol=atol):
        return
    symptom, text = _value_symptom(g, w, rtol, atol, parts)
    fail(symptom, text, i18n.tr("checks.detail.error", shape=g.shape, error=relative_error(g, w)))


def unchanged(a, kept):
    """Whether the array ``a`` still holds what ``kept`` (its copy) holds: shape, dtype, values
    (NaN equal to NaN), on any device."""
    try:
        if a.shape != kept.shape or a.dtype != kept.dtype:
            return False
        return bool(((a == kept) | ((a != a) & (kept != kept))).all())
    except Exception:  # noqa: BLE001 - something that is no longer an array
        return False


# -- gradient checks of a FunctionNode ------------------------------------------------------------

def numerical_gradients(forward, inputs, gy, eps=1e-6):
    """Central differences of ``sum(forward(*inputs) * gy)`` w.r.t. each input (float64, NumPy)."""
    inputs = [numpy.array(x, dtype=numpy.float64) for x in inputs]
    gy = numpy.asarray(gy, dtype=numpy.float64)
    grads = []
    for x in inputs:
        g = numpy.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = float((numpy.asarray(forward(*inputs), dtype=numpy.float64) * gy).sum())
            flat[i] = old - eps
            minus = float((numpy.asarray(forward(*inputs), dtype=numpy.float64) * gy).sum())
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def check_function(make_node, inputs, reference, *, device, label, names=None, seed=0,
                   mistakes=None, rtol=1e-5, atol=1e-7):
    """Check a one-output FunctionNode: its forward against ``reference`` and its backward against
    central finite differences of ``reference``, on ``device``.

    ``make_node()`` returns a fresh node; ``inputs`` are NumPy float64 arrays (copied to the
    device); ``reference(*numpy_arrays)`` computes the expected output with NumPy. ``mistakes``
    maps an input's name to a ``check_array`` mistakes dict for its gradient, and ``"forward"``
    to the one for the output.
    """
    mistakes = mistakes or {}
    names = list(names or [i18n.tr("checks.fn.input", k=k) for k in range(len(inputs))])
    xs = [device.array(x) for x in inputs]
    node = make_node()
    outputs = node.apply(xs)
    if len(outputs) != 1:
        raise AssertionError(i18n.tr("checks.fn.one_output", label=label, n=len(outputs)))
    y = outputs[0].array
    want = reference(*[numpy.array(x) for x in inputs])
    check_array(i18n.tr("checks.fn.forward_output", label=label), y, want, device=device, rtol=rtol, atol=atol,
                mistakes=mistakes.get("forward"))
    gy_host = numpy.random.default_rng(seed + 1).standard_normal(numpy.shape(want))
    gxs = node.backward(device.array(gy_host, dtype=y.dtype))
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    if len(gxs) != len(inputs):
        raise AssertionError(i18n.tr("checks.fn.gradient_count", label=label, n=len(gxs), inputs=len(inputs)))
    numeric = numerical_gradients(reference, inputs, gy_host)
    for name, gx, num in zip(names, gxs, numeric):
        check_array(i18n.tr("checks.fn.gradient_of", label=label, name=name), gx, num, device=device, rtol=rtol,
                    atol=max(atol, 1e-6), mistakes=mistakes.get(name))
