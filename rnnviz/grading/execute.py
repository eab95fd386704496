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
"""
from __future__ import annotations

import json
import secrets

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute, SaveAutoGrades
from traitlets import Bool, Enum

from . import protocol
from .checks import gpu_status, graded_devices
from .sandbox import SandboxKernelManager

#: Prefix of the lines the grader adds to a cell's output.
NOTE = "[grader]"
OUTPUT_LIMIT = 64 << 10         # bytes kept of one output of the learner's code
NOTEBOOK_LIMIT = 2 << 20        # bytes kept of all the learner's outputs in one notebook
RESULT_LIMIT = 48 << 20         # bytes of one case's result (before it is checked)
VERDICTS = "rnnviz_verdicts"    # resources key: {grade_id: share of the points earned, 0..1}


def _size(output) -> int:
    return len(json.dumps(output, default=str))


def _note(text: str):
    return new_output("stream", name="stdout", text=f"{NOTE} {text}\n")


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
        return new_output("stream", name=output.get("name", "stdout"),
                          text=f"{keep}\n{NOTE} output cut: {size / 2**20:.1f} MiB printed, "
                               f"the first {len(keep) >> 10} KiB kept\n")
    if kind == "error":
        lines = [str(x)[:2000] for x in output.get("traceback", [])][-20:]
        return new_output("error", ename=str(output.get("ename", ""))[:200],
                          evalue=str(output.get("evalue", ""))[:4000], traceback=lines)
    return _note(f"a {kind} output of {size / 2**20:.1f} MiB was left out (limit {OUTPUT_LIMIT >> 10} KiB)")


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

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_died = False
        self._verdicts = {}
        self._graders_outputs = set()
        nb, resources = super().preprocess(nb, resources, km)
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
                    kept.append(_note(f"outputs left out: the notebook's outputs passed "
                                      f"{NOTEBOOK_LIMIT >> 20} MiB"))
                    noted = True
            cell.outputs = kept

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code":
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if utils.is_grade(cell) and not utils.is_solution(cell):
            await self._grade(cell, cell_index)
            return cell
        if self._kernel_died:
            cell.outputs = [self._error("KernelDied", "not run: the kernel died in an earlier cell")]
            return cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self._kernel_died = True
            cell.outputs.append(self._error(
                "KernelDied", "the kernel died in this cell (a memory, process or CPU-time limit, "
                "or the code ended its own process); the cells after it were not run"))
            return cell

    # nbconvert calls the synchronous wrapper, which nbclient binds to its own coroutine.
    execute_cell = run_sync(async_execute_cell)

    # -- a graded test cell ----------------------------------------------------------------------

    async def _grade(self, cell, cell_index) -> None:
        """Every case of the cell on every device; the cell's share of points is the weighted share
        of the parts of its checks that passed in every case (a part fails once, in any case)."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        points = float(cell.metadata["nbgrader"].get("points") or 0)
        test = protocol.parse_test_cell(cell.source)     # an instructor's mistake stops grading
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
            which = (f"hidden case {hidden.index(call) + 1} of {len(hidden)}" if call.hidden
                     else "the visible case")
            sizes = check.describe(call.case)
            which += f" ({sizes})" if sizes else ""
            for dev in [d for d in graded_devices() if d.request in check.devices]:
                if stopped:
                    problem, verdict = stopped, None
                else:
                    problem, verdict = await self._run_case(check, call, dev, cell_index, learner_outputs)
                    if problem is not None and ("did not finish" in problem or "kernel died" in problem):
                        stopped = f"not run: {problem}"
                found = ({n: problem for n in names} if problem is not None else verdict.failed)
                for name, message in found.items():
                    failed.setdefault((check.name, name), f"{dev.label}{which}: {message}")
        total = sum(weights.values()) or 1.0
        share = 1.0 - sum(weights[k] for k in failed) / total
        title = test.title or grade_id
        if not failed:
            note = "" if usable or len(graded_devices()) > 1 else f"\nGPU part skipped: {reason}"
            verdict_out = _note(f"{title}: passed{note}")
        else:
            messages = list(dict.fromkeys(failed.values()))
            shown = messages[:4] + ([f"... and {len(messages) - 4} more"] if len(messages) > 4 else [])
            verdict_out = self._error("TestFailed", f"{title}: {round(points * share, 2):g} of {points:g} "
                                                    f"points\n" + "\n".join(shown))
        cell.outputs = [*learner_outputs, verdict_out]
        self._graders_outputs.add(id(verdict_out))
        self._verdicts[grade_id] = share

    async def _run_case(self, check, call, dev, cell_index, learner_outputs):
        """Send one case to the kernel; return (problem or None, verdict or None)."""
        if self._kernel_died:
            return "not run: the kernel died in an earlier cell", None
        inputs = check.inputs(**call.case)
        nonce = secrets.token_hex(16)
        probe = new_code_cell(protocol.request_code(check, call.names, inputs, dev.request, nonce))
        original = self.nb.cells[cell_index]
        self.nb.cells[cell_index] = probe      # display updates during the case land on the probe
        start = self._kernel_cpu() if check.measures_cpu else None
        try:
            await super().async_execute_cell(probe, cell_index, None, False)
        except DeadKernelError:
            self._kernel_died = True
            return ("the kernel died while running your code (a memory, process or CPU-time "
                    "limit, or the code ended its own process)"), None
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
            return f"your code did not finish within {self.timeout} s", None
        mine = [r for r in results if isinstance(r, dict) and r.get("nonce") == nonce]
        if len(mine) != 1:
            return "the test's result did not come back from your code's kernel (it was "\
                   "interrupted, or something else answered in its place)", None
        try:
            text = json.dumps(mine[0])       # plain dicts and lists again (not NotebookNodes)
            if len(text) > RESULT_LIMIT:
                raise protocol.ProtocolError(f"more than {RESULT_LIMIT >> 20} MiB")
            plain = json.loads(text)
            plain.pop("nonce", None)
            result = protocol.read_result(plain)
        except protocol.ProtocolError as exc:
            return f"what your code returned could not be read: {exc}", None
        return None, protocol.judge_case(check, inputs, result, protocol.Run(dev, cpu))

    def _kernel_cpu(self) -> float:
        """CPU seconds of the kernel's whole process tree (bubblewrap and all it started)."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return protocol.process_tree_cpu(process.pid) if process is not None else 0.0

    def _error(self, ename: str, evalue: str):
        out = new_output("error", ename=ename, evalue=evalue,
                         traceback=[f"{NOTE} {ename}: {line}" if k == 0 else line
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
