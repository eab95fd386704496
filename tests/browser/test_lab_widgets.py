"""The lessons' widgets, live in JupyterLab, driven by headless Chromium.

A learner's path: open a lesson (``course/00_seeing_the_graph.ipynb``, the tour of three
widgets, and ``course/04_truncated_bptt.ipynb``, which trains the recall experiment before its
widgets), Run ▸ Run All Cells, move a control of each widget and see its figure change. The test
does the same on a temporary copy and checks that no cell shows an error. Screenshots (each widget
before and after, its canvas, the page) are kept in ``test-artifacts/browser/`` (lesson 04 in its
``04_truncated_bptt/`` subfolder) with the server log, the browser console and the timings.

Needs Debian's Chromium at /usr/bin/chromium (``bash .ci/install-browser.sh``) and the
``playwright`` Python package; never ``playwright install``. Skipped only when one is missing.
``RNNVIZ_BROWSER_NOTEBOOK=path.ipynb`` drives another notebook that shows the same widgets.
"""
from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import nbformat
import pytest

from lab_server import (ALL_CELLS_DONE_JS, ERRORS_JS, KERNEL_IDLE_JS, PAINTED_PIXELS_JS, RERUN_CELL_JS,
                        LabServer, missing_browser, open_local_page, run_all_cells)

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = Path(os.environ.get("RNNVIZ_BROWSER_NOTEBOOK", REPO / "course" / "00_seeing_the_graph.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "browser"
BUDGET_S = 85  # the whole test, server start to server stop
LESSON_04 = REPO / "course" / "04_truncated_bptt.ipynb"
LESSON_04_BUDGET_S = 200  # its cells train two LSTMs (about 10 s alone, up to a minute on a busy machine)
# a 900 px tall window: the animator's slider must stay in view while the learner watches its
# lower panels, so no figure is taller than this
MAX_FIGURE_HEIGHT = 640
# A widget catches exceptions in its callbacks and shows "Who: SomeError: text" in `.message`.
EXCEPTION_IN_MESSAGE = re.compile(r"\b\w*(Error|Exception)\b: ")

# (tag, widget class, the controls the test moves, in order)
WIDGETS = [
    ("graph", "GraphView", ("group_toggle", "mode")),
    ("animator", "HiddenStateAnimator", ("time_slider",)),
    ("unchain", "UnchainExplorer", ("bprop_slider", "length_slider")),
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser())),
]

LESSON_04_WIDGETS = [
    ("unchain", "UnchainExplorer", ("bprop_slider", "length_slider")),
    ("bptt", "BPTTComparison", ("bprop_slider", "scale_slider")),
]

# Appended to the temporary copy only: gives each widget, its figure and the control the test
# moves a CSS class, so that the test finds them however the widget lays itself out.
TAG_CELL = """# added by tests/browser/test_lab_widgets.py to its temporary copy: tag the widgets' DOM
_e2e_widgets = {widgets!r}
_e2e_found = {{}}
for _e2e_name, _e2e_obj in list(globals().items()):
    for _e2e_tag, _e2e_cls, _e2e_ctrls in _e2e_widgets:
        if not _e2e_name.startswith("_") and type(_e2e_obj).__name__ == _e2e_cls:
            _e2e_found[_e2e_tag] = _e2e_obj
            _e2e_obj.add_class("e2e-" + _e2e_tag)
            for _e2e_ctrl in _e2e_ctrls:
                getattr(_e2e_obj, _e2e_ctrl).add_class("e2e-" + _e2e_tag + "-" + _e2e_ctrl)
            _e2e_obj.message.add_class("e2e-" + _e2e_tag + "-message")
            if hasattr(_e2e_obj.figure.canvas, "add_class"):
                _e2e_obj.figure.canvas.add_class("e2e-" + _e2e_tag + "-canvas")
assert len(_e2e_found) == len(_e2e_widgets), f"the lesson shows only {{sorted(_e2e_found)}}"
"""


class BudgetExceeded(BaseException):
    """A BaseException, so that no `except Exception` below swallows it."""


class Clock:
    def __init__(self):
        self.t0 = time.monotonic()
        self.marks: dict[str, float] = {}

    def mark(self, name: str) -> None:
        self.marks[name] = round(time.monotonic() - self.t0, 2)
        print(f"[browser {self.marks[name]:6.2f}s] {name}", flush=True)


def _prepare(root: Path, notebook: Path, widgets) -> Path:
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(TAG_CELL.format(widgets=widgets)))
    path = root / notebook.name
    nbformat.write(nb, path)
    return path


def _wait_until_run(page, clock, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        errors = page.evaluate(ERRORS_JS)
        if errors:
            pytest.fail("a cell shows an error after Run All:\n" + "\n---\n".join(errors), pytrace=False)
        if page.evaluate(ALL_CELLS_DONE_JS):
            clock.mark("all cells ran, kernel idle")
            return
        page.wait_for_timeout(250)
    pytest.fail(f"the notebook did not finish running within {timeout}s")


def _wait_painted(page, selector: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(PAINTED_PIXELS_JS, selector) > 50:
            return True
        page.wait_for_timeout(200)
    return False


def _stable_screenshot(locator, page, timeout: float = 5) -> bytes:
    """A screenshot that two consecutive frames agree on (the first frames may still arrive)."""
    shot = locator.screenshot()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        again = locator.screenshot()
        if again == shot:
            return shot
        shot = again
    return shot


def _move(page, control, keys=("ArrowRight", "ArrowLeft", "ArrowLeft")) -> tuple[str, str | None]:
    """Move the control one step as a learner would: (what was done, the arrow key that worked).
    Sliders (IntSlider, SelectionSlider) are moved with the keyboard on their handle."""
    handle = control.locator(".noUi-handle")
    if handle.count():  # IntSlider / SelectionSlider: keyboard on the noUiSlider handle
        readout = control.locator(".widget-readout").first
        before = readout.inner_text()
        handle.first.focus()
        for key in keys:  # at the maximum, step back instead
            page.keyboard.press(key)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and readout.inner_text() == before:
                page.wait_for_timeout(50)
            if readout.inner_text() != before:
                return f"slider {before} -> {readout.inner_text()}", key
        pytest.fail(f"the slider's readout stayed at {before!r} after {'/'.join(keys)}")
    return _click_control(control), None


def _click_control(control) -> str:
    if control.locator("select").count():
        select = control.locator("select").first
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex] && s.options[s.selectedIndex].text")
        other = next(o for o in options if o != current)
        select.select_option(label=other)
        return f"select {current!r} -> {other!r}"
    buttons = control.locator("button:not(.mod-active)")  # ToggleButtons: an unselected option
    if control.locator("button").count() > 1 and buttons.count():
        label = buttons.first.inner_text()
        buttons.first.click()
        return f"toggle buttons -> {label!r}"
    checkbox = control.locator("input[type=checkbox]")
    if checkbox.count():
        checkbox.first.click()
        return "checkbox clicked"
    target = control.locator("button") if control.locator("button").count() else control
    target.first.click()  # ToggleButton / Button (the control element may be the button itself)
    return "button clicked"


def _box_shot(page, box, path: Path) -> None:
    """The whole widget: the viewport grows for a moment when the widget is taller than it."""
    size = page.viewport_size
    height = box.evaluate("e => e.getBoundingClientRect().height")
    if height + 150 > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": int(height) + 250})
        page.wait_for_timeout(200)
    try:
        box.scroll_into_view_if_needed()
        box.screenshot(path=str(path))
    finally:
        if page.viewport_size != size:
            page.set_viewport_size(size)
            page.wait_for_timeout(200)


def _check_widget(page, clock, report, problems, console, tag, cls, ctrls, artifacts=ARTIFACTS,
                  run_timeout: float = 45) -> None:
    """Wait for the widget's figure to paint, then move each control and watch the figure."""
    box = page.locator(f".e2e-{tag}").first
    box.wait_for(timeout=10_000)
    sel = f".e2e-{tag}-canvas" if page.locator(f".e2e-{tag}-canvas").count() else f".e2e-{tag}"
    if not _wait_painted(page, sel, timeout=8):
        # ipympl issue #472: a canvas inside a container sometimes never paints
        # ("drawImage ... 'broken' state"); re-run the cell once before failing.
        console.append(f"test: {cls} canvas blank, re-running its cell")
        report[f"{cls} re-run"] = f"cell {page.evaluate(RERUN_CELL_JS, f'.e2e-{tag}')}"
        _wait_until_run(page, clock, run_timeout)
        box.wait_for(timeout=10_000)
        assert _wait_painted(page, sel, timeout=8), f"{cls}: its figure never painted"
    canvas = page.locator(f"{sel} .jupyter-matplotlib-canvas-div").first
    box.scroll_into_view_if_needed()
    fit = canvas.evaluate("""c => {
        const out = c.closest('.jp-OutputArea-output') || c.parentElement;
        const r = c.getBoundingClientRect(), o = out.getBoundingClientRect();
        return [Math.round(r.width), Math.round(r.height), Math.round(o.right - r.left)]; }""")
    report[f"{cls} figure"] = (f"{fit[0]}x{fit[1]} px; {fit[2]} px visible in the output area"
                               + (" (CUT OFF at the right)" if fit[0] > fit[2] + 2 else ""))
    if fit[0] > fit[2] + 2:   # a 1280 px window with the file browser open shows about 840 px
        problems.append(f"{cls}: its figure is {fit[0]} px wide but only {fit[2]} px are visible")
    if fit[1] > MAX_FIGURE_HEIGHT:
        problems.append(f"{cls}: its figure is {fit[1]} px tall: its controls leave the screen "
                        f"(at most {MAX_FIGURE_HEIGHT} px)")
    _box_shot(page, box, artifacts / f"{tag}_0_start.png")
    for ctrl in ctrls:
        before = _stable_screenshot(canvas, page)
        (artifacts / f"{tag}_canvas_before_{ctrl}.png").write_bytes(before)
        # One step, as a learner presses an arrow key once: every press must change the figure
        # (a slider finer than the runs the widget has would leave it unchanged).
        control = page.locator(f".e2e-{tag}-{ctrl}").first
        done, _ = _move(page, control)
        moves = [done]
        deadline = time.monotonic() + 10
        after = before
        while time.monotonic() < deadline and after == before:
            page.wait_for_timeout(200)
            after = canvas.screenshot()
        changed = after != before
        report[f"{cls}.{ctrl}"] = ", ".join(moves) + ("" if changed else ": FIGURE UNCHANGED")
        (artifacts / f"{tag}_canvas_after_{ctrl}.png").write_bytes(after)
        message = page.locator(f".e2e-{tag}-message").first.inner_text()
        if EXCEPTION_IN_MESSAGE.search(message):
            problems.append(f"{cls}: after moving .{ctrl} its message reports an exception: {message}")
        if not changed:
            problems.append(f"{cls}: the figure did not change after moving .{ctrl} ({', '.join(moves)})")
        page.wait_for_timeout(300)  # let the last frames land before the picture
        _box_shot(page, box, artifacts / f"{tag}_after_{ctrl}.png")
        clock.mark(f"{cls}.{ctrl}: {report[f'{cls}.{ctrl}']}")
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"{tag}_in_lab.png"))  # the viewport: what a learner sees


def test_lesson_widgets_respond_in_jupyterlab(tmp_path):
    _drive_lesson(tmp_path, NOTEBOOK, WIDGETS, ARTIFACTS, BUDGET_S, run_timeout=45)


def test_lesson_04_widgets_respond_after_its_training_cells(tmp_path):
    """Lesson 04 trains the recall experiment between its two widgets: run it all, then move each
    control of UnchainExplorer and BPTTComparison and see the figure change."""
    _drive_lesson(tmp_path, LESSON_04, LESSON_04_WIDGETS, ARTIFACTS / LESSON_04.stem,
                  LESSON_04_BUDGET_S, run_timeout=LESSON_04_BUDGET_S - 40)


def _drive_lesson(tmp_path, notebook, widgets, artifacts, budget_s, run_timeout):
    from playwright.sync_api import sync_playwright

    artifacts.mkdir(parents=True, exist_ok=True)
    for old in artifacts.iterdir():
        if old.is_file():
            old.unlink()
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    nb_path = _prepare(root, notebook, widgets)
    clock = Clock()
    console: list[str] = []
    report: dict[str, str] = {}
    problems: list[str] = []  # collected, so that one run reports every widget that misbehaves

    def on_alarm(signum, frame):
        raise BudgetExceeded(f"the browser test ran past its {budget_s}s budget")

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(budget_s)
    lab = LabServer(root, home, artifacts / "jupyter-lab.log")
    try:
        lab.start()
        clock.mark("server answers")
        with sync_playwright() as pw:
            browser, ctx, page = open_local_page(pw, lab.url)
            page.set_default_timeout(20_000)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            try:
                page.goto(f"{lab.url}/lab/tree/{nb_path.name}", wait_until="domcontentloaded")
                page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=40_000)
                page.wait_for_function(KERNEL_IDLE_JS, timeout=40_000)
                clock.mark("notebook open, kernel idle")
                clock.mark(f"run all via {run_all_cells(page)}")
                _wait_until_run(page, clock, run_timeout)

                for tag, cls, ctrls in widgets:
                    _check_widget(page, clock, report, problems, console, tag, cls, ctrls,
                                  artifacts, run_timeout)

                page.wait_for_function(KERNEL_IDLE_JS, timeout=10_000)
                errors = page.evaluate(ERRORS_JS)
                problems += ["a cell shows an error:\n" + e for e in errors]
                page.screenshot(path=str(artifacts / "lab_page.png"))
            finally:
                try:
                    page.screenshot(path=str(artifacts / "lab_page_last.png"))
                except Exception:
                    pass
                (artifacts / "browser-console.log").write_text("\n".join(console))
                ctx.close()
                browser.close()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        leftovers = lab.stop()
        clock.mark(f"server stopped, leftover children {leftovers}")
        (artifacts / "timings.json").write_text(json.dumps({**clock.marks, **report}, indent=2))
    # Exceptions in widget callbacks never reach a cell: the kernel logs them to the server log.
    log = lab.log_text()
    if "Traceback" in log:
        pytest.fail("the kernel logged a traceback (a widget callback failed?):\n"
                    + log[max(0, log.index("Traceback") - 300):][:3000])
    assert not problems, "\n".join(problems) + f"\n(screenshots in {artifacts})"
    assert not leftovers, f"kernel processes survived the server's SIGTERM: {leftovers}"
