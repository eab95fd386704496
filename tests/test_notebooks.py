"""Every lesson in course/ runs from top to bottom without an error, headless (nbclient).

Lessons are committed without outputs; this test executes an in-memory copy and writes nothing
back. ``%matplotlib widget`` works with no front end: the widgets are built, not rendered (the
browser test in tests/browser renders them).
"""
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "course"
LESSONS = sorted(COURSE.glob("*.ipynb"))
CELL_TIMEOUT_S = 120
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_the_course_has_lessons():
    assert LESSONS, f"no notebooks in {COURSE}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state in the metadata"


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_runs(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    # a clean IPython and matplotlib profile: no user start-up files, no user matplotlibrc
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed\n{ANSI.sub('', str(exc))}", pytrace=False)
    stderr = [out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
              for out in cell.outputs if out.get("name") == "stderr"]
    assert not any("Traceback" in s for s in stderr), f"{path.name}: traceback on stderr:\n{stderr}"
