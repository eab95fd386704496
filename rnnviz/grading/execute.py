"""nbgrader's Execute step, with sandboxed kernels and the guard run before each test cell."""
from __future__ import annotations

import ast
import json
import secrets

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Enum

from .sandbox import SandboxKernelManager

#: Prefix of the lines the grader adds to a test cell's output (the summary collects them).
NOTE = "[grader]"


class GuardedExecute(Execute):
    """Execute a notebook in a ``SandboxKernelManager`` kernel; before each graded test cell, ask
    ``rnnviz.grading.guard.restore`` to put back what the submission changed.

    A restore that changed something adds a note to the test cell's output; a guard that does not
    answer (its nonce missing from the reply) fails the test cell: the kernel cannot be trusted.
    """

    # Once the last cell has run, nothing in the kernel matters: no time for the submission's
    # atexit hooks (the sandbox's PID namespace ends whatever it left running).
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        self._kernel_died = False

    async def _run_guard(self) -> tuple[bool, list[str]]:
        nonce = secrets.token_hex(16)
        expr = (f"__import__('rnnviz.grading.guard', fromlist=['restore']).restore({nonce!r})")
        try:
            msg_id = self.kc.execute("", silent=True, store_history=False,
                                     user_expressions={"guard": expr})
            reply = await self.async_wait_for_reply(msg_id)
            value = reply["content"]["user_expressions"]["guard"]["data"]["text/plain"]
            answer = json.loads(ast.literal_eval(value))
        except Exception:
            if not await self.km.is_alive():
                raise DeadKernelError("the kernel died") from None
            return False, []
        return answer.get("nonce") == nonce, list(answer.get("restored", []))

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code":
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self._kernel_died:
            cell.outputs = [_error("KernelDied", "not run: the kernel died in an earlier cell")]
            return cell
        try:
            restored = []
            if utils.is_grade(cell):
                ok, restored = await self._run_guard()
                if not ok:
                    cell.outputs = [_error(
                        "GradingEnvironmentTampered", "the submission changed the kernel so that "
                        "the grader cannot check it; this test was not run")]
                    return cell
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self._kernel_died = True
            cell.outputs.append(_error(
                "KernelDied", "the kernel died in this cell (a memory, process or CPU-time limit, "
                "or the code ended its own process); the cells after it were not run"))
            return cell
        if restored:
            shown = ", ".join(restored[:8]) + (" ..." if len(restored) > 8 else "")
            cell.outputs.insert(0, new_output(
                "stream", name="stderr",
                text=f"{NOTE} before this test the grader restored what the submission had "
                     f"changed: {shown}\n"))
        return cell

    # nbconvert calls the synchronous wrapper, which nbclient binds to its own coroutine.
    execute_cell = run_sync(async_execute_cell)


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{NOTE} {ename}: {evalue}"])
