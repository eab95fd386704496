"""nbgrader's Execute step when the kit grades: sandboxed kernels, verdicts decided by the grader.

``VerdictExecute`` runs the learner's cells in a ``SandboxKernelManager`` kernel as nbgrader would.
A graded test cell is never sent to the kernel: its source (the release's, hidden tests included,
restored by nbgrader) is read with ``protocol.parse_test_cell``; for each case the grader makes the
inputs, sends the kernel one ``protocol.serve`` line (check name, the learner's names, inputs,
nonce), takes back the result (a display output it removes) and judges it. The cell's outputs are
then what the learner's code printed (bounded) and the grader's verdict, and ``SaveVerdicts`` writes
the grader's verdict into the gradebook: nothing in the kernel's outputs decides a score.

Every learner output is bounded (``OUTPUT_LIMIT`` per output, ``NOTEBOOK_LIMIT`` per notebook, a
note where cut), and widget state is not saved.

Language: the grader writes the verdicts, its own lines and the notes of a notebook in the
assignment's language (``assignment_language``): Japanese when the assignment's id (nbgrader's
``resources["nbgrader"]["assignment"]``) ends in ``_ja``, else English. The submitted notebook's
metadata has no say (the submission keeps only its kernelspec and language_info): the id is the
instructor's, and whatever the language, the same checks give the same points.
"""
from __future__ import annotations

import json
import secrets
import string

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute, SaveAutoGrades
from traitlets import Bool, Enum

from .. import i18n
from . import protocol
from .checks import gpu_status, graded_devices
from .sandbox import SandboxKernelManager

#: Prefix of the lines the grader adds to a cell's output.
NOTE = "[grader]"
OUTPUT_LIMIT = 64 << 10         # bytes kept of one output of the learner's code
NOTEBOOK_LIMIT = 2 << 20        # bytes kept of all the learner's outputs in one notebook
RESULT_LIMIT = 48 << 20         # bytes of one case's result (before it is checked)
VERDICTS = "rnnviz_verdicts"    # resources key: {grade_id: share of the points earned, 0..1}

STRINGS = {
    "grader.note": {"en": "[grader]", "ja": "[採点]"},
    "grader.output_cut": {
        "en": "output cut: {mib:.1f} MiB printed, the first {kib} KiB kept",
        "ja": "出力を切り詰めました: {mib:.1f} MiB の出力のうち、最初の {kib} KiB を残しています"},
    "grader.output_left_out": {
        "en": "a {kind} output of {mib:.1f} MiB was left out (limit {kib} KiB)",
        "ja": "{mib:.1f} MiB の `{kind}` 出力を省きました（上限 {kib} KiB）"},
    "grader.outputs_left_out": {
        "en": "outputs left out: the notebook's outputs passed {mib} MiB",
        "ja": "出力を省きました: ノートブックの出力が {mib} MiB を超えました"},
    "grader.died_before": {
        "en": "not run: the kernel died in an earlier cell",
        "ja": "実行していません: 前のセルでカーネルが停止しました"},
    "grader.died_here": {
        "en": "the kernel died in this cell (a memory, process or CPU-time limit, or the code ended its "
              "own process); the cells after it were not run",
        "ja": "このセルでカーネルが停止しました（メモリ・プロセス数・CPU 時間の上限に達したか、コードが自分の"
              "プロセスを終了させました）。以降のセルは実行していません"},
    "grader.died_in_case": {
        "en": "the kernel died while running your code (a memory, process or CPU-time limit, or the "
              "code ended its own process)",
        "ja": "あなたのコードの実行中にカーネルが停止しました（メモリ・プロセス数・CPU 時間の上限に達したか、"
              "コードが自分のプロセスを終了させました）"},
    "grader.timeout": {
        "en": "your code did not finish within {seconds} s", "ja": "あなたのコードが {seconds} 秒以内に終わりませんでした"},
    "grader.no_result": {
        "en": "the test's result did not come back from your code's kernel (it was interrupted, or "
              "something else answered in its place)",
        "ja": "テストの結果があなたのコードのカーネルから返ってきませんでした（中断されたか、別のものが"
              "代わりに応答しました）"},
    "grader.result_too_large": {"en": "more than {mib} MiB", "ja": "{mib} MiB を超えています"},
    "grader.not_run": {"en": "not run: {problem}", "ja": "実行していません: {problem}"},
    "grader.hidden_case": {"en": "hidden case {k} of {n}", "ja": "非公開のケース {n} 件中 {k} 件目"},
    "grader.visible_case": {"en": "the visible case", "ja": "公開されているケース"},
    "grader.case_sizes": {"en": "{which} ({sizes})", "ja": "{which}（`{sizes}`）"},
    "grader.passed": {"en": "{title}: passed", "ja": "{title}: 合格"},
    "grader.points": {"en": "{title}: {got:g} of {points:g} points", "ja": "{title}: {points:g} 点中 {got:g} 点"},
    "grader.more": {"en": "... and {n} more", "ja": "…ほか {n} 件"},
}
i18n.register(STRINGS)

#: The sentences that say a test cell's cases stopped, by the ename the worker's notes give it.
STOPS = {"CellTimeoutError": ("grader.timeout",),
         "KernelDied": ("grader.died_in_case", "grader.died_before", "grader.died_here")}


def assignment_language(assignment_id) -> str:
    """The language the grader writes in for an assignment: ``'ja'`` when its id ends in ``_ja``
    (``rnn_by_hand_ja``), else ``'en'``."""
    return "ja" if isinstance(assignment_id, str) and assignment_id.endswith("_ja") else "en"


def stop_of(evalue: str) -> str | None:
    """"CellTimeoutError" or "KernelDied" when a test cell's verdict (an error output's ``evalue``)
    says its cases stopped because the code did not finish or the kernel died, in any language;
    else None (for the worker's notes)."""
    for ename, keys in STOPS.items():
        for key in keys:
            for text in i18n.STRINGS[key].values():
                # the longest piece of the sentence between its fields
                marker = max((piece for piece, *_ in string.Formatter().parse(text)), key=len).strip()
                if marker and marker in evalue:
                    return ename
    return None


def _size(output) -> int:
    return len(json.dumps(output, default=str))


def _note(text: str):
    """An output line of the grader, its prefix in the current language."""
    return new_output("stream", name="stdout", text=f"{i18n.tr('grader.note')} {text}\n")


def bound_output(output):
    """``output`` if it is at most OUTPUT_LIMIT bytes, else a cut copy (text) or a note (images)."""
    size = _size(output)
    if size <= OUTPUT_LIMIT:
        return output
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        keep = text[:OUTPUT_LIMIT // 2]
        cut = i18n.tr("grader.output_cut", mib=size / 2**20, kib=len(keep) >> 10)
        return new_output("stream", name=output.get("name", "stdout"),
                          text=f"{keep}\n{i18n.tr('grader.note')} {cut}\n")
    if kind == "error":
        lines = [str(x)[:2000] for x in output.get("traceback", [])][-20:]
        return new_output("error", ename=str(output.get("ename", ""))[:200],
                          evalue=str(output.get("evalue", ""))[:4000], traceback=lines)
    return _note(i18n.tr("grader.output_left_out", kind=kind, mib=size / 2**20, kib=OUTPUT_LIMIT >> 10))


class VerdictExecute(Execute):
    """Execute a notebook in a sandboxed kernel; graded test cells are judged by the grader."""

    # Once the last cell has run, nothing in the kernel matters: no time for the submission's
    # atexit hooks (the sandbox's PID namespace ends whatever it left running).
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)
    # A widget's state would be written into the notebook's metadata, of the learner's size.
    store_widget_state = Bool(False).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        self._kernel_died = False
        self._verdicts: dict[str, float] = {}
        self._graders_outputs: set[int] = set()
        self._warmed: set[str] = set()
        self.language = "en"

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_died = False
        self._warmed = set()             # checks warmed up in this kernel (protocol.warm_up)
        self._verdicts = {}
        self._graders_outputs = set()
        self.language = assignment_language(((resources or {}).get("nbgrader") or {}).get("assignment"))
        nb, resources = super().preprocess(nb, resources, km)
        with i18n.text_language(self.language):
            self._bound_notebook(nb)
        resources[VERDICTS] = dict(self._verdicts)
        return nb, resources

    def _bound_notebook(self, nb) -> None:
        """Every learner output bounded, NOTEBOOK_LIMIT in all; the grader's own lines kept."""
        left = NOTEBOOK_LIMIT
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            kept, noted = [], False
            for out in cell.get("outputs", []):
                if id(out) in self._graders_outputs:
                    kept.append(out)
                    continue
                out = bound_output(out)
                size = _size(out)
                if size <= left:
                    kept.append(out)
                    left -= size
                elif not noted:
                    kept.append(_note(i18n.tr("grader.outputs_left_out", mib=NOTEBOOK_LIMIT >> 20)))
                    noted = True
            cell.outputs = kept

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code":
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if utils.is_grade(cell) and not utils.is_solution(cell):
            await self._grade(cell, cell_index)
            return cell
        if self._kernel_died:
            cell.outputs = [self._error("KernelDied", self._say("grader.died_before"))]
            return cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self._kernel_died = True
            cell.outputs.append(self._error("KernelDied", self._say("grader.died_here")))
            return cell

    def _say(self, key, **fields) -> str:
        """``i18n.tr`` in the assignment's language."""
        with i18n.text_language(self.language):
            return i18n.tr(key, **fields)

    # nbconvert calls the synchronous wrapper, which nbclient binds to its own coroutine.
    execute_cell = run_sync(async_execute_cell)

    # -- a graded test cell ----------------------------------------------------------------------

    async def _grade(self, cell, cell_index) -> None:
        """Every case of the cell on every device; the cell's share of points is the weighted share
        of the parts of its checks that passed in every case (a part fails once, in any case)."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        points = float(cell.metadata["nbgrader"].get("points") or 0)
        test = protocol.parse_test_cell(cell.source)     # an instructor's mistake stops grading
        with i18n.text_language(self.language):
            usable, reason = gpu_status()
        weights: dict[tuple[str, str], float] = {}
        failed: dict[tuple[str, str], str] = {}
        learner_outputs: list = []
        hidden = [c for c in test.calls if c.hidden]
        stopped = None
        for call in test.calls:
            check = protocol.get_check(call.check)
            names = protocol.part_names(check)
            for name in names:
                weights[(check.name, name)] = float(check.parts.get(name, 1.0)) if check.parts else 1.0
            which = (self._say("grader.hidden_case", k=hidden.index(call) + 1, n=len(hidden)) if call.hidden
                     else self._say("grader.visible_case"))
            sizes = check.describe(call.case)
            which = self._say("grader.case_sizes", which=which, sizes=sizes) if sizes else which
            for dev in [d for d in graded_devices() if d.request in check.devices]:
                if stopped:
                    problem, verdict = stopped, None
                else:
                    problem, verdict, stops = await self._run_case(check, call, dev, cell_index, learner_outputs)
                    if stops:      # the code did not finish, or the kernel died: no case runs after
                        stopped = self._say("grader.not_run", problem=problem)
                found = ({n: problem for n in names} if problem is not None else verdict.failed)
                label = self._say_label(dev)
                for name, message in found.items():
                    failed.setdefault((check.name, name), f"{label}{which}: {message}")
        total = sum(weights.values()) or 1.0
        share = 1.0 - sum(weights[k] for k in failed) / total
        title = test.title or grade_id
        if not failed:
            note = "" if usable or len(graded_devices()) > 1 else "\n" + self._say("checks.gpu.skipped", reason=reason)
            with i18n.text_language(self.language):
                verdict_out = _note(i18n.tr("grader.passed", title=title) + note)
        else:
            messages = list(dict.fromkeys(failed.values()))
            shown = messages[:4] + ([self._say("grader.more", n=len(messages) - 4)] if len(messages) > 4 else [])
            verdict_out = self._error("TestFailed", self._say("grader.points", title=title, got=round(points * share, 2),
                                                              points=points) + "\n" + "\n".join(shown))
        cell.outputs = [*learner_outputs, verdict_out]
        self._graders_outputs.add(id(verdict_out))
        self._verdicts[grade_id] = share

    def _say_label(self, dev) -> str:
        with i18n.text_language(self.language):
            return dev.label

    async def _run_case(self, check, call, dev, cell_index, learner_outputs):
        """Send one case to the kernel; return (problem or None, verdict or None, whether the cases
        after it cannot run: the code did not finish, or the kernel died)."""
        if self._kernel_died:
            return self._say("grader.died_before"), None, True
        inputs = check.inputs(**call.case)
        nonce = secrets.token_hex(16)
        probe = new_code_cell(protocol.request_code(check, call.names, inputs, dev.request, nonce,
                                                    self.language))
        original = self.nb.cells[cell_index]
        self.nb.cells[cell_index] = probe      # display updates during the case land on the probe
        try:
            if check.measures_cpu and dev.request == "gpu" and check.name not in self._warmed:
                self._warmed.add(check.name)   # before the clock starts; its outputs are dropped
                await super().async_execute_cell(new_code_cell(protocol.warm_up_code(check)),
                                                 cell_index, None, False)
            start = self._kernel_cpu() if check.measures_cpu else None
            await super().async_execute_cell(probe, cell_index, None, False)
        except DeadKernelError:
            self._kernel_died = True
            return self._say("grader.died_in_case"), None, True
        finally:
            self.nb.cells[cell_index] = original
        cpu = self._kernel_cpu() - start if check.measures_cpu else None
        results = []
        for out in probe.outputs:
            data = out.get("data", {}) if out.get("output_type") == "display_data" else {}
            if protocol.MIME in data:
                results.append(data[protocol.MIME])
            elif out.get("output_type") == "stream":
                learner_outputs.append(out)
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"
               for o in probe.outputs):
            return self._say("grader.timeout", seconds=self.timeout), None, True
        mine = [r for r in results if isinstance(r, dict) and r.get("nonce") == nonce]
        if len(mine) != 1:
            return self._say("grader.no_result"), None, False
        with i18n.text_language(self.language):     # judged, and its messages written, in one go
            try:
                text = json.dumps(mine[0])       # plain dicts and lists again (not NotebookNodes)
                if len(text) > RESULT_LIMIT:
                    raise protocol.ProtocolError(i18n.tr("grader.result_too_large", mib=RESULT_LIMIT >> 20))
                plain = json.loads(text)
                plain.pop("nonce", None)
                result = protocol.read_result(plain)
            except protocol.ProtocolError as exc:
                return i18n.tr("protocol.not_read", error=exc), None, False
            return None, protocol.judge_case(check, inputs, result, protocol.Run(dev, cpu)), False

    def _kernel_cpu(self) -> float:
        """CPU seconds of the kernel's whole process tree (bubblewrap and all it started)."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return protocol.process_tree_cpu(process.pid) if process is not None else 0.0

    def _error(self, ename: str, evalue: str):
        note = self._say("grader.note")
        out = new_output("error", ename=ename, evalue=evalue,
                         traceback=[f"{note} {ename}: {line}" if k == 0 else line
                                    for k, line in enumerate(evalue.splitlines() or [""])])
        self._graders_outputs.add(id(out))
        return out


class SaveVerdicts(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, with a test cell's score from the grader's verdict (its share of
    the cell's points), never from the cell's outputs. A test cell with no verdict scores 0."""

    def preprocess(self, nb, resources):
        self._verdict_of = resources.get(VERDICTS, {})
        return super().preprocess(nb, resources)

    def _add_score(self, cell, resources) -> None:
        if utils.is_solution(cell) or cell.cell_type != "code":
            return super()._add_score(cell, resources)
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
        share = float(self._verdict_of.get(grade_id, 0.0))
        grade.auto_score = round(float(cell.metadata["nbgrader"]["points"]) * share, 2)
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()
