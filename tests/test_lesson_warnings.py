"""A lesson whose outputs hold a warning or anything else on stderr fails its run (conftest.py's
``Lessons``), naming the cell and the text: what the learner would see as a red box under a cell
(``findfont: Failed to find font weight bold ...``, a DeprecationWarning, a log line) is a defect.
Shown here on tiny notebooks; tests/test_notebooks.py and tests/test_japanese.py run every lesson
through the same runner."""
import nbformat
import pytest
from conftest import LessonNoise, Lessons, lesson_noise

pytest.importorskip("nbclient")


def _notebook(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, id=f"cell-{i}") for i, src in enumerate(sources)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def runner(tmp_path):
    runs = Lessons(tmp_path / "kernels")
    yield runs
    runs.close()


def test_a_notebook_that_warns_fails_naming_each_cell_and_text(tmp_path, runner):
    path = _notebook(tmp_path / "noisy.ipynb", [
        "x = 1\nprint('fine on stdout')",
        "import warnings\nwarnings.warn('this API is going away', DeprecationWarning)",
        "import logging\nlogging.getLogger('matplotlib.font_manager').warning("
        "'findfont: Failed to find font weight bold for IPAexGothic, now using 400.')",
        "import sys\nprint('a stray note', file=sys.stderr)",
    ])
    with pytest.raises(LessonNoise) as info:
        runner.run(path)
    message = str(info.value)
    assert "noisy.ipynb" in message and "cell-0" not in message
    for cell, text in (("cell-1", "this API is going away"), ("cell-2", "findfont: Failed to find font weight"),
                       ("cell-3", "a stray note")):
        assert f"cell {cell}:" in message and text in message, message
    assert message.index("cell-1") < message.index("this API") < message.index("cell-2")
    # the same run is kept: asking again fails the same way, without a new kernel
    with pytest.raises(LessonNoise):
        runner.run(path)


def test_a_quiet_notebook_passes(tmp_path, runner):
    path = _notebook(tmp_path / "quiet.ipynb", ["import warnings\nprint('only stdout')", "1 + 1"])
    nb, _ = runner.run(path)
    assert lesson_noise(nb) == []
    assert "only stdout" in nb.cells[0].outputs[0]["text"]


def test_noise_is_read_from_stderr_streams_only():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a", id="a"), nbformat.v4.new_markdown_cell("b", id="b"),
                nbformat.v4.new_code_cell("c", id="c")]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="Warning: a word in print\n")]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stderr", text="UserWarning: x\n"),
                           nbformat.v4.new_output("stream", name="stderr", text="  \n")]
    assert lesson_noise(nb) == [("c", "UserWarning: x\n")]
