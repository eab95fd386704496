"""Feedback without hidden tests: an nbgrader preprocessor for ``generate_feedback``.

nbgrader's feedback shows the autograded notebook, whose test cells hold the hidden tests again
(autograde restores them) and whose error outputs carry tracebacks that quote the failing lines
(upstream issues #917 and #1363). ``HideHiddenTests`` removes the hidden regions from every test
cell and shortens the error output of a test cell to its last line, ``ErrorName: message``: the
rnnviz.grading helpers write there what is wrong without the test's inputs or expected values.
The learner's own cells keep their whole tracebacks. ``nbgrader_config.py`` turns it on.

The verdicts in a test cell's output are already in the assignment's language (``execute``). The
words nbgrader's feedback template puts around them (a score, "Test cell", "Student's answer",
"(Top)", ...) are English; for a Japanese assignment (id ending in ``_ja``) the feedback exporter
(``math_offline.OfflineMathHTMLExporter``) gives the page to ``in_language``, which rewrites those
labels where the template writes them (in its own markup, never in the notebook's content) and
marks the page ``lang="ja"``.
"""
import html
import re

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

from .. import i18n

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

STRINGS = {
    "feedback.score": {"en": "Score: {score} / {points}", "ja": "得点: {score} / {points}"},
    "feedback.top": {"en": "(Top)", "ja": "（先頭へ）"},
    "feedback.test_cell": {"en": "Test cell", "ja": "テストセル"},
    "feedback.free_response": {"en": "Coding free-response", "ja": "コードによる自由解答"},
    "feedback.written": {"en": "Written response", "ja": "記述による解答"},
    "feedback.task": {"en": "Task", "ja": "課題"},
    "feedback.comment": {"en": "Comment", "ja": "コメント"},
    "feedback.comments": {"en": "Comments:", "ja": "コメント:"},
    "feedback.late": {"en": "Late submission penalty", "ja": "提出遅れによる減点"},
    "feedback.answer": {"en": "Student's answer", "ja": "学生の解答"},
    "feedback.student_task": {"en": "Student's task", "ja": "学生の課題"},
    "feedback.grade_cell": {"en": "Grade cell:", "ja": "採点セル:"},
    "feedback.task_cell": {"en": "Task:", "ja": "課題:"},
}
i18n.register(STRINGS)

_NUMBER = r"(-?[0-9.]+(?:e-?[0-9]+)?)"
# (pattern in the markup of nbgrader's feedback template, key): labels inside the template's own
# elements only (a table-of-contents link, a panel label, the score beside a cell)
_LABELS = [
    (re.compile(r"\(Score: " + _NUMBER + r" / " + _NUMBER + r"\)(</h4>|</li>)"), "score_paren"),
    (re.compile(r"Score: " + _NUMBER + r" / " + _NUMBER + r'(\s*<a href="#top">)'), "score"),
    (re.compile(r'(<a href="#top">)\(Top\)(</a>)'), "top"),
    (re.compile(r'(<a href="#[^"<>]*">)(Test cell|Coding free-response|Written response|Task|Comment)(</a>)'), "toc"),
    (re.compile(r'(<li class="late-penalty">)Late submission penalty'), "late"),
    (re.compile(r"(<span class=\"nbgrader-label\">)(Student(?:'|&#39;|&#x27;)s answer|Student(?:'|&#39;|&#x27;)s task"
                r"|Grade cell:|Task:)"), "label"),
    (re.compile(r"<b>Comments:</b>"), "comments"),
]
_TOC = {"Test cell": "test_cell", "Coding free-response": "free_response", "Written response": "written",
        "Task": "task", "Comment": "comment"}
_LABEL = {"answer": "answer", "task": "student_task", "Grade cell:": "grade_cell", "Task:": "task_cell"}


def in_language(page: str, lang: str) -> str:
    """The feedback page ``page`` (nbgrader's template's HTML) with the template's labels in
    ``lang``; English pages are returned as they are."""
    if lang == "en":
        return page

    def say(key, **fields):
        with i18n.text_language(lang):
            return html.escape(i18n.tr(f"feedback.{key}", **fields), quote=False)

    def label(m):
        text = m.group(2)
        key = "answer" if text.endswith("answer") else "task" if text.endswith("s task") else text
        return m.group(1) + say(_LABEL[key])

    replace = {
        "score_paren": lambda m: "(" + say("score", score=m.group(1), points=m.group(2)) + ")" + m.group(3),
        "score": lambda m: say("score", score=m.group(1), points=m.group(2)) + m.group(3),
        "top": lambda m: m.group(1) + say("top") + m.group(2),
        "toc": lambda m: m.group(1) + say(_TOC[m.group(2)]) + m.group(3),
        "late": lambda m: m.group(1) + say("late"),
        "label": label,
        "comments": lambda m: "<b>" + say("comments") + "</b>",
    }
    for pattern, kind in _LABELS:
        page = pattern.sub(replace[kind], page)
    return re.sub(r"<html(?![^>]*\blang=)", f'<html lang="{lang}"', page, count=1)


class HideHiddenTests(ClearHiddenTests):
    """Drop hidden test regions from test cells; reduce a test cell's errors to their last line."""

    # the feedback of an old submission may lack the metadata of a test cell the assignment had
    enforce_metadata = False

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        self._remove_hidden_test_region(cell)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                last = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
                out["traceback"] = [_ANSI.sub("", last)]
        return cell, resources
