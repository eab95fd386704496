"""The course: every lesson runs from top to bottom in a fresh kernel (nbclient), within its time
budget, and leaves a static picture for every widget, so that an HTML export shows them.

Lessons are committed without outputs; these tests execute in-memory copies and write nothing back
into course/ (the executed copies and their HTML exports go to ``test-artifacts/notebooks/``, with
the time each lesson took). Each lesson runs once per session (the ``lessons`` fixture of
conftest.py, shared with test_japanese.py and test_site.py). ``%matplotlib widget`` works with no
front end: the widgets are built, not rendered (tests/browser renders them in JupyterLab).

The HTML export is checked as ``jupyter nbconvert --execute --to html`` makes it: with the widget
state saved in the notebook (nbclient's default), which makes nbconvert prefer a widget's live view
(whose script comes from a CDN: an empty box offline) unless the kit's nbconvert configuration
(jupyter-config/jupyter_nbconvert_config.json, installed by make into the venv's etc/jupyter) puts
the widget's static picture first.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "course"
LESSONS = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
LESSON_BUDGET_S = 120   # the bound for one lesson on a 2-core machine
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TQDM_LINE = re.compile(r"\d+%\|.*\| \d+/\d+ \[")


def _outputs(nb):
    return [(i, out) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for out in cell.outputs]


def _text(nb):
    return "".join(out.get("text", "") for _, out in _outputs(nb) if out.output_type == "stream")


def test_the_course_has_its_lessons():
    names = [p.name[:2] for p in LESSONS]
    assert names == [f"{k:02d}" for k in range(12)], f"lessons 00-11 expected in {COURSE}, found {names}"


def test_the_course_readme_leads_through_every_lesson():
    readme = (COURSE / "README.md").read_text()
    missing = [p.name for p in LESSONS if p.name not in readme]
    assert not missing, f"course/README.md does not link {missing}"
    readme_ja = (COURSE / "ja" / "README.md").read_text()
    for assignment in sorted(p.name for p in (REPO / "solutions").iterdir()
                             if p.is_dir() and not p.name.startswith(("_", "."))):
        # the Japanese twins (NAME_ja) are the Japanese README's to name
        where, text = (("course/ja/README.md", readme_ja) if assignment.endswith("_ja")
                       else ("course/README.md", readme))
        assert assignment in text, f"{where} does not name the assignment {assignment}"
        assert (REPO / "assignments" / assignment).is_dir(), f"assignments/{assignment} is missing"


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state in the metadata"


@pytest.mark.parametrize("path", LESSONS[1:], ids=[p.name for p in LESSONS[1:]])
def test_lesson_has_goals_exercises_and_an_assignment(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**Goals.**" in nb.cells[0].source, f"{path.name}: no goals at the top"
    assert "<details>" in text, f"{path.name}: no exercise with a folded answer"
    assert "assignment" in text.lower(), f"{path.name}: no pointer to an assignment"


@pytest.fixture(scope="module", autouse=True)
def _lessons_run_two_at_a_time(request):
    """The lessons this module's selected tests need start at once, two at a time (conftest.py)."""
    if any("lessons" in item.fixturenames for item in request.session.items if item.module is request.module):
        from conftest import selected_lessons

        request.getfixturevalue("lessons").prefetch((p, ()) for p in selected_lessons(request, "path"))


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_runs(path, lessons):
    from nbclient.exceptions import CellExecutionError

    try:
        nb, seconds = lessons.run(path)
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed\n{ANSI.sub('', str(exc))}", pytrace=False)
    stderr = [out.get("text", "") for _, out in _outputs(nb) if out.get("name") == "stderr"]
    assert not any("Traceback" in s for s in stderr), f"{path.name}: traceback on stderr:\n{stderr}"
    assert seconds < LESSON_BUDGET_S, (f"{path.name} took {seconds:.0f} s, over its "
                                       f"{LESSON_BUDGET_S} s budget")
    widgets = [out for _, out in _outputs(nb) if WIDGET_VIEW in out.get("data", {})]
    assert widgets, f"{path.name}: no live widget"


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_every_figure_a_lesson_draws_is_legible(path, lessons):
    """Every pyplot and widget figure of the run, checked after each cell by
    rnnviz.viz.legibility (text inside the figure, no overlapping texts, nothing blank)."""
    problems = lessons.figure_problems(path)
    assert not problems, f"{path.name}:\n" + "\n".join(f"  {fig}: {p}" for fig, p in problems)


def test_the_gpu_lesson_says_what_it_skipped(lessons):
    from rnnviz import backend

    (path,) = [p for p in LESSONS if p.name.startswith("07")]
    nb, _ = lessons.run(path)
    text = _text(nb)
    if backend.gpu_available():
        assert "speed-up" in text and "skipped" not in text
    else:
        assert "GPU: no - " in text, "the lesson must say that there is no GPU, and why"
        assert text.count("skipped") >= 2, "each GPU cell must say that it was skipped"


def test_the_corpus_lesson_says_which_corpus_ran(lessons):
    (path,) = [p for p in LESSONS if p.name.startswith("06")]
    nb, _ = lessons.run(path)
    line = next((l for l in _text(nb).splitlines() if l.startswith("corpus: ")), None)
    # offline (RNNVIZ_OFFLINE=1), the lesson must fall back to the shipped corpus and say so
    assert line and "King James" in line and "could not be downloaded" in line, line


def _widget_outputs(nb):
    """(cell, output) of every widget output, and of the progress bars (tqdm) among them: a bar's
    static form is its text line, not a figure."""
    widgets = [(i, out) for i, out in _outputs(nb) if WIDGET_VIEW in out.get("data", {})]
    bars = [(i, out) for i, out in widgets
            if "image/png" not in out["data"] and TQDM_LINE.search(out["data"].get("text/plain", ""))]
    return [w for w in widgets if w not in bars], bars


def _the_config_users_get():
    """The configuration ``jupyter nbconvert`` loads (its config files, found as it finds them)."""
    from nbconvert.nbconvertapp import NbConvertApp

    app = NbConvertApp()
    app.load_config_file()
    return app.config


def _config_help():
    return ("the kit's nbconvert configuration is not in effect: `make install` copies "
            "jupyter-config/jupyter_nbconvert_config.json to "
            f"{Path(sys.prefix) / 'etc' / 'jupyter'} (pip's editable install does not)")


def _assert_every_widget_pictured(name, nb, html):
    widget_outputs, bars = _widget_outputs(nb)
    without_png = [i for i, out in widget_outputs if "image/png" not in out["data"]]
    assert not without_png, f"{name}: the widgets of cells {without_png} leave no static picture"
    assert f'<script type="{WIDGET_VIEW}">' not in html, \
        f"{name}: a widget is exported as its live view (an empty box without the network); " + _config_help()
    for i, out in widget_outputs:
        png = out["data"]["image/png"].strip()
        assert png[len(png) // 2:len(png) // 2 + 80] in html, \
            f"{name}: the picture of the widget in cell {i} is not in the HTML; " + _config_help()
    for i, out in bars:
        line = out["data"]["text/plain"].split("|")[0].strip()
        assert line in html, f"{name}: the progress bar of cell {i} shows no text ({line!r})"
    assert html.count("data:image/png;base64,") >= len(widget_outputs)


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_html_export_shows_a_figure_for_every_widget(path, lessons):
    """The executed lesson exported as ``jupyter nbconvert --execute --to html`` exports it: with
    its widget state, through the configuration that command loads. Every widget output carries a
    PNG, and the page shows it (a progress bar: its text)."""
    from nbconvert import HTMLExporter

    nb, _ = lessons.run(path)
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    assert "widgets" in nb.metadata, f"{path.name}: nbclient saved no widget state"
    html, _ = HTMLExporter(config=_the_config_users_get()).from_notebook_node(
        nb, resources={"metadata": {"name": path.stem, "path": str(path.parent)}})
    (ARTIFACTS / (path.stem + ".html")).write_text(html)
    _assert_every_widget_pictured(path.name, nb, html)


def test_jupyter_nbconvert_execute_to_html_shows_every_widget(lessons, tmp_path):
    """The real command, as a learner types it, on the quickest lesson, with no network: the page
    shows each widget's picture and no live widget view."""
    timings = {p: 0 for p in LESSONS}
    if (ARTIFACTS / "timings.json").exists():
        timings.update({COURSE / k: v for k, v in json.loads((ARTIFACTS / "timings.json").read_text()).items()
                        if (COURSE / k) in timings})
    path = min(LESSONS, key=lambda p: (timings[p], p.name)) if any(timings.values()) else \
        next((p for p in LESSONS if p.name.startswith("01")), LESSONS[0])
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter)] if jupyter.exists() else [sys.executable, "-m", "jupyter"]
    env = dict(os.environ, RNNVIZ_OFFLINE="1", IPYTHONDIR=str(tmp_path / "ipython"),
               MPLCONFIGDIR=str(tmp_path / "mpl"), JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    for name in ("MPLBACKEND", "RNNVIZ_LANG"):
        env.pop(name, None)
    done = subprocess.run(command + ["nbconvert", "--execute", "--to", "html", str(path),
                                     "--output-dir", str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"jupyter nbconvert failed:\n{done.stderr[-3000:]}"
    html = (tmp_path / (path.stem + ".html")).read_text()
    assert "application/vnd.jupyter.widget-state+json" in html, "the command saved no widget state"
    assert f'<script type="{WIDGET_VIEW}">' not in html, \
        f"{path.name}: a widget is exported as its live view (an empty box offline); " + _config_help()
    # which outputs are widgets: the same lesson as the lesson tests ran it (the pictures' bytes
    # may differ between two runs; their number may not)
    widget_outputs, bars = _widget_outputs(lessons.executed(path))
    pictures = len(re.findall(r'<img[^>]*src="data:image/png;base64,', html))
    assert widget_outputs and pictures >= len(widget_outputs), \
        f"{path.name}: {pictures} pictures on the page for {len(widget_outputs)} widgets; " + _config_help()
    for i, out in bars:
        line = out["data"]["text/plain"].split("|")[0].strip()
        assert line in html, f"{path.name}: the progress bar of cell {i} shows no text ({line!r})"
