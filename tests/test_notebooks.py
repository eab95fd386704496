"""The course: every lesson runs from top to bottom in a fresh kernel (nbclient), within its time
budget, and leaves a static picture for every widget, so that an HTML export shows them.

Lessons are committed without outputs; these tests execute in-memory copies and write nothing back
into course/ (the executed copies and their HTML exports go to ``test-artifacts/notebooks/``, with
the time each lesson took). ``%matplotlib widget`` works with no front end: the widgets are built,
not rendered (tests/browser renders them in JupyterLab).
"""
import json
import re
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "course"
LESSONS = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
CELL_TIMEOUT_S = 120
LESSON_BUDGET_S = 120   # the bound for one lesson on a 2-core machine
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TQDM_LINE = re.compile(r"\d+%\|.*\| \d+/\d+ \[")

_executed = {}


def _execute(path, tmp_root):
    """Run ``path`` once per session in a fresh kernel; return (notebook, seconds) or raise."""
    if path in _executed:
        return _executed[path]
    from nbclient import NotebookClient

    home = tmp_root / path.stem
    home.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    # a clean IPython and matplotlib profile: no user start-up files, no user matplotlibrc
    # and no download attempt: the corpus lesson uses the shipped corpus (tests reach no network)
    env = {"IPYTHONDIR": str(home / "ipython"), "MPLCONFIGDIR": str(home / "mpl"), "RNNVIZ_OFFLINE": "1"}
    start = time.monotonic()
    try:
        client.execute(env=_kernel_env(env))
    finally:
        seconds = time.monotonic() - start
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, ARTIFACTS / path.name)
        _record_time(path.name, seconds)
    _executed[path] = (nb, seconds)
    return _executed[path]


def _kernel_env(extra):
    import os

    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env.update(extra)
    return env


def _record_time(name, seconds):
    timings = ARTIFACTS / "timings.json"
    data = json.loads(timings.read_text()) if timings.exists() else {}
    data[name] = round(seconds, 1)
    timings.write_text(json.dumps(data, indent=2, sort_keys=True))


@pytest.fixture(scope="session")
def kernel_homes(tmp_path_factory):
    return tmp_path_factory.mktemp("kernels")


def _outputs(nb):
    return [(i, out) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for out in cell.outputs]


def _text(nb):
    return "".join(out.get("text", "") for _, out in _outputs(nb) if out.output_type == "stream")


def test_the_course_has_its_lessons():
    names = [p.name[:2] for p in LESSONS]
    assert names == [f"{k:02d}" for k in range(8)], f"lessons 00-07 expected in {COURSE}, found {names}"


def test_the_course_readme_leads_through_every_lesson():
    readme = (COURSE / "README.md").read_text()
    missing = [p.name for p in LESSONS if p.name not in readme]
    assert not missing, f"course/README.md does not link {missing}"
    for assignment in ("autograd_functions", "backward_engine", "rnn_by_hand", "lstm", "truncated_bptt"):
        assert assignment in readme, f"course/README.md does not name the assignment {assignment}"
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


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_runs(path, kernel_homes):
    from nbclient.exceptions import CellExecutionError

    try:
        nb, seconds = _execute(path, kernel_homes)
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed\n{ANSI.sub('', str(exc))}", pytrace=False)
    stderr = [out.get("text", "") for _, out in _outputs(nb) if out.get("name") == "stderr"]
    assert not any("Traceback" in s for s in stderr), f"{path.name}: traceback on stderr:\n{stderr}"
    assert seconds < LESSON_BUDGET_S, (f"{path.name} took {seconds:.0f} s, over its "
                                       f"{LESSON_BUDGET_S} s budget")
    widgets = [out for _, out in _outputs(nb) if WIDGET_VIEW in out.get("data", {})]
    assert widgets, f"{path.name}: no live widget"


def test_the_gpu_lesson_says_what_it_skipped(kernel_homes):
    from rnnviz import backend

    (path,) = [p for p in LESSONS if p.name.startswith("07")]
    nb, _ = _execute(path, kernel_homes)
    text = _text(nb)
    if backend.gpu_available():
        assert "speed-up" in text and "skipped" not in text
    else:
        assert "GPU: no - " in text, "the lesson must say that there is no GPU, and why"
        assert text.count("skipped") >= 2, "each GPU cell must say that it was skipped"


def test_the_corpus_lesson_says_which_corpus_ran(kernel_homes):
    (path,) = [p for p in LESSONS if p.name.startswith("06")]
    nb, _ = _execute(path, kernel_homes)
    line = next((l for l in _text(nb).splitlines() if l.startswith("corpus: ")), None)
    # offline (RNNVIZ_OFFLINE=1), the lesson must fall back to the shipped corpus and say so
    assert line and "King James" in line and "could not be downloaded" in line, line


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_html_export_shows_a_figure_for_every_widget(path, kernel_homes):
    """``jupyter nbconvert --to html`` of the executed lesson, as JupyterLab saves it (without
    widget state, its default): every widget output must carry a PNG, and the page must show it."""
    from nbconvert import HTMLExporter

    nb, _ = _execute(path, kernel_homes)
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata.pop("widgets", None)
    widget_outputs = [(i, out) for i, out in _outputs(nb) if WIDGET_VIEW in out.get("data", {})]
    # a progress bar (tqdm) is a widget whose static form is its text line, not a figure
    bars = [(i, out) for i, out in widget_outputs
            if "image/png" not in out["data"] and TQDM_LINE.search(out["data"].get("text/plain", ""))]
    widget_outputs = [w for w in widget_outputs if w not in bars]
    without_png = [i for i, out in widget_outputs if "image/png" not in out["data"]]
    assert not without_png, f"{path.name}: the widgets of cells {without_png} leave no static picture"
    html, _ = HTMLExporter().from_notebook_node(nb)
    (ARTIFACTS / (path.stem + ".html")).write_text(html)
    for i, out in widget_outputs:
        png = out["data"]["image/png"].strip()
        assert png[len(png) // 2:len(png) // 2 + 80] in html, f"{path.name}: the picture of the widget in cell {i} is not in the HTML"
    assert html.count("data:image/png;base64,") >= len(widget_outputs)
