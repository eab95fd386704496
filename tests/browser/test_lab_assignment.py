"""An assignment in JupyterLab: a learner writes a solution, presses nbgrader's Validate, sees success;
breaks it, validates again, and sees the failure with the helpers' explanation.

The server runs, like ``make lab``, in a folder laid out as the repository (``nbgrader_config.py``
at its root, the student notebook under ``assignments/``), on a temporary copy. The learner works
on ``assignments/backward_engine``, whose one solution cell is the whole engine. Screenshots of
both dialogs go to ``test-artifacts/browser/``. Skipped only when Chromium or Playwright is missing.
"""
from __future__ import annotations

import re
import shutil
import signal
import time
from pathlib import Path

import nbformat
import pytest

from lab_server import KERNEL_IDLE_JS, LabServer, missing_browser, open_local_page

REPO = Path(__file__).resolve().parents[2]
NAME = "backward_engine"
ARTIFACTS = REPO / "test-artifacts" / "browser"
BUDGET_S = 150


class BudgetExceeded(BaseException):
    """A BaseException, so that no `except Exception` swallows it."""


class Clock:
    def __init__(self):
        self.t0 = time.monotonic()

    def mark(self, name: str) -> None:
        print(f"[browser {time.monotonic() - self.t0:6.2f}s] {name}", flush=True)


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser())),
]


def _solution_text() -> str:
    """The instructor's engine, as a learner would type it (without nbgrader's markers)."""
    nb = nbformat.read(REPO / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    return "\n".join(ln for ln in cell.source.splitlines() if "### BEGIN SOLUTION" not in ln
                     and "### END SOLUTION" not in ln)


def _replace_cell_text(page, cell, text: str) -> None:
    """Click into the cell's editor, select everything and put ``text`` in its place (as a paste,
    so that the editor's auto-indent does not add to the text's own indentation)."""
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)
    page.keyboard.press("Escape")  # back to command mode


def _validate(page, shot: Path) -> tuple[str, str]:
    """Press Validate; return (the dialog's class, its text) and keep a screenshot."""
    page.locator(".jp-NotebookPanel-toolbar jp-button.validate-button, "
                 ".jp-NotebookPanel-toolbar .validate-button").first.click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=110_000)
    kind = message.get_attribute("class") or ""
    text = message.inner_text()
    page.screenshot(path=str(shot))
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached", timeout=10_000)
    return kind, text


def test_validate_button_on_a_student_notebook(tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    root, home = tmp_path / "course", tmp_path / "home"
    (root / "assignments").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "assignments" / NAME, root / "assignments" / NAME)
    student = root / "assignments" / NAME / f"{NAME}.ipynb"
    solution = _solution_text()
    assert "x.grad = gx if x.grad is None else x.grad + gx" in solution
    clock = Clock()

    def on_alarm(signum, frame):
        raise BudgetExceeded(f"the browser test ran past its {BUDGET_S}s budget")

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(BUDGET_S)
    lab = LabServer(root, home, ARTIFACTS / "jupyter-lab-assignment.log")
    try:
        lab.start()
        clock.mark("server answers")
        with sync_playwright() as pw:
            browser, ctx, page = open_local_page(pw, lab.url)
            page.set_default_timeout(20_000)
            try:
                page.goto(f"{lab.url}/lab/tree/assignments/{NAME}/{NAME}.ipynb", wait_until="domcontentloaded")
                page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=40_000)
                page.wait_for_function(KERNEL_IDLE_JS, timeout=40_000)
                clock.mark("notebook open, kernel idle")
                cell = page.locator(".jp-Notebook .jp-CodeCell", has_text="# YOUR CODE HERE").first
                _replace_cell_text(page, cell, solution)
                clock.mark("solution typed")
                kind, text = _validate(page, ARTIFACTS / "assignment_validate_success.png")
                clock.mark("validated the solution")
                assert "validation-success" in kind and "Success" in text, text

                broken = solution.replace("x.grad = gx if x.grad is None else x.grad + gx", "x.grad = gx")
                cell = page.locator(".jp-Notebook .jp-CodeCell", has_text="def backward(output").first
                _replace_cell_text(page, cell, broken)
                kind, text = _validate(page, ARTIFACTS / "assignment_validate_failure.png")
                clock.mark("validated the broken version")
                assert "validation-failed" in kind, text
                # the failure names the wrong gradient and the usual mistake behind it
                assert re.search(r"grad of (a )?leaf .* is wrong", text) and "usual mistake" in text, text
                # the message alone: no traceback through the kit's files
                assert "protocol.py" not in text and "Traceback" not in text, text
            finally:
                ctx.close()
                browser.close()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        lab.stop()
    # what Validate saved is the learner's broken version, graded cells untouched
    saved = nbformat.read(student, as_version=4)
    engine = next(c for c in saved.cells if c.metadata.get("nbgrader", {}).get("solution"))
    assert "x.grad = gx\n" in engine.source + "\n" and "raise NotImplementedError" not in engine.source
