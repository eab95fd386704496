"""A whole term on the course hub, in a real browser: deploy/hub.py's hub, three system users.

One instructor and two students (system users with a unique prefix, removed afterwards) are
enrolled by ``deploy/hub.py enroll`` (homes 700, the course copied, the kit's exchange), the hub
starts on free ports as ``make hub`` starts it, and headless Chromium logs each of them in with the
password enrollment gave them:

- the instructor opens the formgrader (nbgrader's Manage Assignments, in its panel: the CSP fix)
  and releases ``rnn_by_hand`` and its Japanese twin ``rnn_by_hand_ja`` (as commands, as the
  instructor user);
- each student fetches theirs in the Assignment List (the student who chose Japanese: the twin, in
  a Japanese JupyterLab), fills it (one with the solution, one with an RNN
  right and a broken Embedding backward, the time RNN left open), validates, submits;
- the instructor collects, grades with the kit's command (``python -m rnnviz.grading autograde``,
  sandboxed, as the instructor), releases the feedback;
- each student fetches their feedback and reads their own score in the page (10 of 10; in the
  Japanese page, whose label is 得点, the score
  the kit's summary gives the other, at least the RNN's 3 and less than 10), and
  neither can read the other's home or feedback.

Screenshots: test-artifacts/hub/. Marked ``hub``: skip it with ``-m "not hub"`` or
RNNVIZ_SKIP_HUB=1. It needs root, useradd, Chromium with Playwright, bubblewrap and npm (the
proxy); the hub's venv is built once in /opt/rnnviz-hub (about a minute, then seconds).
"""
from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import nbformat
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "browser"))
import hubkit  # noqa: E402
from lab_server import missing_browser, open_local_page  # noqa: E402

REPO = hubkit.REPO
NAME = "rnn_by_hand"
JA = f"{NAME}_ja"          # its Japanese twin, taken by the student who chose Japanese
COURSE_ID = "rnnviz"
ARTIFACTS = REPO / "test-artifacts" / "hub"
BUDGET_S = 480


def _why_not() -> str | None:
    if os.environ.get("RNNVIZ_SKIP_HUB") == "1":
        return "RNNVIZ_SKIP_HUB=1: the hub test is switched off"
    return hubkit.missing() or missing_browser()


pytestmark = [pytest.mark.hub, pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))]


class BudgetExceeded(BaseException):
    """A BaseException, so that no `except Exception` swallows it."""


def _solution(i: int) -> str:
    nb = nbformat.read(REPO / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)   # code: same in NAME_ja
    return "\n".join(line for line in nb.cells[i].source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


# the solution cells of rnn_by_hand: RNN (3 points), TimeRNN (4), Embedding (3)
RIGHT = {3: lambda: _solution(3), 6: lambda: _solution(6), 9: lambda: _solution(9)}
# the RNN right; the Embedding's backward with the classic slip (a repeated id counted once);
# TimeRNN left as released: 3 of 10 and the Embedding's partial credit
WRONG = {3: lambda: _solution(3),
         9: lambda: _solution(9).replace("xp.add.at(dW, self.idx, dout)", "dW[self.idx] += dout")}


class Term:
    def __init__(self, hub: hubkit.ClassHub, pw, base_url: str):
        self.hub, self.pw, self.url = hub, pw, base_url
        self.t0 = time.monotonic()
        self.marks: dict[str, float] = {}

    def mark(self, what: str) -> None:
        self.marks[what] = round(time.monotonic() - self.t0, 1)
        print(f"[hub {self.marks[what]:6.1f}s] {what}", flush=True)

    def login(self, name: str):
        browser, ctx, page = open_local_page(self.pw, self.url)
        page.set_default_timeout(90_000)
        page.goto(f"{self.url}/hub/login")
        page.fill("#username_input", name)
        page.fill("#password_input", self.hub.passwords[name])
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{name}/lab**", timeout=150_000)
        page.locator("#jp-main-dock-panel").wait_for()
        return browser, ctx, page

    def assignment_list(self, page, current: bool = True):
        """Nbgrader > Assignment List; its tab current (after the start page has opened) when
        ``current`` (a second log-in's restored layout may bring another tab to the front)."""
        page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Nbgrader").click()
        page.locator(".lm-Menu-item", has_text="Assignment List").click()
        if current:
            page.locator(".lm-TabBar-tab.lm-mod-current", has_text="Assignments").first.wait_for()

    def shot(self, page, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _row(page, selector: str, name: str):
    """The rows of an Assignment List section for exactly ``name`` (not ``name_ja``)."""
    exact = page.locator(".item_name", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))
    return page.locator(selector).filter(has=exact)


def _student_works(term: Term, name: str, answers: dict, tag: str, assignment: str = NAME) -> str:
    """Log in, fetch ``assignment``, fill, validate, submit; returns the Validate dialog's class."""
    NAME = assignment  # noqa: N806 (the assignment this student takes: NAME or its Japanese twin)
    browser, ctx, page = term.login(name)
    try:
        # the start page of a new server is the course's README (course/ja's for a `ja` user)
        page.locator(".lm-TabBar-tab.lm-mod-current", has_text="README.md").first.wait_for()
        term.mark(f"{tag}: logged in, JupyterLab up")
        term.assignment_list(page)
        released = _row(page, "#released_assignments_list .list_item", NAME)
        released.locator("button", has_text="Fetch").click()
        fetched = _row(page, "#fetched_assignments_list .list_item:not(.nested_list_item)", NAME)
        fetched.wait_for()
        page.locator(f"a.assignment-notebooks-link[href='#nbgrader-{COURSE_ID}-{NAME}']").click()
        page.locator(f"#nbgrader-{COURSE_ID}-{NAME} .nested_list_item a").first.click()
        cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
        cells.nth(10).wait_for()
        term.mark(f"{tag}: fetched, notebook open")
        for i, text in answers.items():
            cells.nth(i).locator(".jp-InputArea-editor").click()
            page.keyboard.press("Control+A")
            page.keyboard.insert_text(text())        # as a paste: no auto-indent
            page.keyboard.press("Escape")
        page.locator(".jp-NotebookPanel-toolbar .validate-button").first.click()  # saves, validates
        message = page.locator(".jp-Dialog #validation-message")
        message.wait_for(timeout=150_000)
        verdict = message.get_attribute("class") or ""
        term.shot(page, f"{tag}-validate")
        page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
        term.mark(f"{tag}: validated ({verdict})")
        page.locator(".lm-TabBar-tab", has_text="Assignments").first.click()
        fetched.locator("button", has_text="Submit").click()
        _row(page, "#submitted_assignments_list .list_item", NAME).first.wait_for()
        term.shot(page, f"{tag}-submitted")
        term.mark(f"{tag}: submitted")
        return verdict
    finally:
        ctx.close()
        browser.close()


def _student_reads_feedback(term: Term, name: str, tag: str, assignment: str = NAME) -> str:
    """Fetch Feedback in the Assignment List, open the page; returns the score it shows (the
    page's own label: "Score" in English, "得点" for a Japanese assignment)."""
    NAME = assignment  # noqa: N806
    browser, ctx, page = term.login(name)
    try:
        page.locator(".lm-TabBar-tab", has_text="README.md").first.wait_for()
        term.assignment_list(page, current=False)
        # a second log-in restores the last layout, and a restored tab may be brought to the
        # front after the list is: bring the list back until its button shows
        # (it may also come to the front while a click waits: each try is short, and the next
        # brings the list back again)
        button = _row(page, "#submitted_assignments_list .list_item", NAME) \
            .locator("button >> visible=true", has_text="Fetch Feedback").first
        tab = page.locator(".lm-TabBar-tab", has_text="Assignments").first
        deadline = time.monotonic() + 120
        while True:
            tab.click()
            try:
                button.click(timeout=3_000)
                break
            except Exception:
                if time.monotonic() > deadline:
                    term.shot(page, f"{tag}-fetch-feedback-failed")
                    raise
        page.locator("#submitted_assignments_list a", has_text="view feedback").first \
            .wait_for(state="attached")     # in the page, whichever tab is in front
        folders = sorted((term.hub.home(name) / NAME / "feedback").iterdir())
        html = next(folders[-1].glob("*.html")).relative_to(term.hub.home(name))
        page.goto(f"{term.url}/user/{name}/lab/tree/{html}")
        page.locator(".lm-TabBar-tab.lm-mod-current", has_text=f"{NAME}.html").first.wait_for()
        frame = page.frame_locator(".jp-MainAreaWidget:not(.lm-mod-hidden) iframe").first
        heading = frame.locator("body", has_text=re.compile("Score|得点")).first
        try:
            heading.wait_for(timeout=90_000)
        except Exception:
            term.shot(page, f"{tag}-feedback-failed")
            raise
        text = heading.inner_text()
        term.shot(page, f"{tag}-feedback")
        term.mark(f"{tag}: feedback read")
        found = re.search(r"(?:Score|得点): ([0-9.]+) / ([0-9.]+)", text)
        assert found, text[:1000]
        return found.group(1) + "/" + found.group(2)
    finally:
        ctx.close()
        browser.close()


def test_a_term_on_the_hub():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = hubkit.unique_prefix()
    instructor, right, wrong = f"{prefix}i", f"{prefix}a", f"{prefix}b"
    hub = hubkit.ClassHub([(instructor, "instructor", "en"), (right, "student", "en"),
                           (wrong, "student", "ja")])

    def _on_alarm(signum, frame):
        raise BudgetExceeded(f"the hub test ran past {BUDGET_S} s")

    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(BUDGET_S)
    marks = {}
    try:
        hub.install()
        hub.enroll()
        # homes 700, each the user's own; a student cannot read the other's
        for name in (instructor, right, wrong):
            mode = hub.home(name).stat().st_mode & 0o777
            assert mode == 0o700, (name, oct(mode))
        peek = hub.as_user(wrong, f"ls {hub.home(right)}", check=False)
        assert peek.returncode != 0 and "Permission denied" in peek.stderr
        hub.start()
        with sync_playwright() as pw:
            term = Term(hub, pw, hub.url)
            term.mark(f"hub up in {hub.timings['hub_start_s']:.1f} s (install "
                      f"{hub.timings['install_s']:.1f} s)")

            # -- the instructor: the formgrader in the browser, the release by command --------
            browser, ctx, page = term.login(instructor)
            page.goto(f"{hub.url}/user/{instructor}/lab")
            page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Nbgrader").click()
            page.locator(".lm-Menu-item[data-command='nbgrader:open-formgrader']").click()
            panel = page.frame_locator("iframe").first
            panel.locator("body", has_text=NAME).first.wait_for(timeout=90_000)
            term.shot(page, "instructor-formgrader")
            term.mark("instructor: formgrader lists the course's assignments")
            ctx.close()
            browser.close()
            # both editions: the Japanese student takes the Japanese twin (same checks, points)
            for name in (NAME, JA):
                hub.as_user(instructor, f"nbgrader generate_assignment {name} --force && "
                                        f"nbgrader release_assignment {name}", cwd="~/course")
            term.mark("instructor: released")

            # -- the students ------------------------------------------------------------------
            assert "success" in _student_works(term, right, RIGHT, "student-right")
            assert "failed" in _student_works(term, wrong, WRONG, "student-wrong", JA)

            # -- the instructor grades with the kit ---------------------------------------------
            summaries = {}
            for name in (NAME, JA):
                hub.as_user(instructor, f"nbgrader collect {name}", cwd="~/course")
                graded = hub.as_user(instructor, f"python -m rnnviz.grading autograde {name} "
                                                 "--course . --workers 2 --no-progress",
                                     cwd="~/course", timeout=400)
                summaries[name] = graded.stdout + graded.stderr
            (ARTIFACTS / "autograde.log").write_text("\n".join(summaries.values()))
            # the kit's summaries: full marks in English; in Japanese, partial credit (the RNN's 3
            # points and part of the Embedding's), which the feedback page must show
            assert "1 graded with full marks, 0 with failed tests, 0 ungraded" in summaries[NAME], summaries
            assert "0 graded with full marks, 1 with failed tests, 0 ungraded" in summaries[JA], summaries
            partial = float(re.search(rf"{wrong}: ([0-9.]+)/10", summaries[JA]).group(1))
            assert 3.0 <= partial < 10.0, summaries
            term.mark("instructor: collected and graded with the kit")
            for name in (NAME, JA):
                hub.as_user(instructor, f"nbgrader generate_feedback {name} && "
                                        f"nbgrader release_feedback {name}", cwd="~/course")
            term.mark("instructor: feedback released")

            # -- each student reads their own feedback ------------------------------------------
            assert _student_reads_feedback(term, right, "student-right") == "10.0/10.0"
            assert _student_reads_feedback(term, wrong, "student-wrong", JA) == f"{partial:.1f}/10.0"
            # and not the other's: their home, their fetched feedback
            other = hub.as_user(right, f"cat {hub.home(wrong)}/{JA}/feedback/*/*.html",
                                check=False)
            assert other.returncode != 0 and "Permission denied" in other.stderr
            marks = term.marks
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        (ARTIFACTS / "jupyterhub.log").write_text(hub.log_text())
        leftovers = hub.close()
        (ARTIFACTS / "timings.json").write_text(json.dumps({**hub.timings, **marks}, indent=1))
    assert hub.proc.returncode is not None
    assert not leftovers, f"the users' processes outlived the hub: {hub.leftover_commands}"
