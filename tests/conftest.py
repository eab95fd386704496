"""Shared test fixtures (kept minimal)."""
import json
import os
import time
from pathlib import Path

# One BLAS thread, in this process and in the lessons' kernels: the models under test are small, and
# on a busy 2-core machine multithreaded BLAS made small products 5-50x slower (and timings erratic).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded NumPy generator per test, so every test sees the same numbers."""
    return numpy.random.default_rng(0)


# The core, function and link tests run once with each backward engine: the batched one
# (core/batched_engine.py, the default) and the plain one (core/engine.py). The rest of the suite
# runs with the default, or with the plain engine everywhere under RNNVIZ_BATCHED_BACKWARD=0.
BOTH_ENGINES = ("test_core", "test_functions", "test_links")


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rsplit(".", 1)[-1] in BOTH_ENGINES:
        metafunc.fixturenames.append("backward_engine")
        metafunc.parametrize("backward_engine", ["batched", "plain"], indirect=True)


@pytest.fixture
def backward_engine(request):
    """``config.batched_backward`` set for the test: 'batched' or 'plain'."""
    from rnnviz.core.config import using_config
    with using_config("batched_backward", request.param == "batched"):
        yield request.param


# In CI (RNNVIZ_STRICT_SKIPS=1, set by .ci/run) a test skipped because PyTorch, Playwright or
# Chromium is missing is a failure: CI installs them, so such a skip means a broken install step,
# not a check that passed.
_STRICT_WORDS = ("torch", "playwright", "chromium", "bubblewrap", "h5py", "hub", "root", "dask")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    import os

    if report.skipped and os.environ.get("RNNVIZ_STRICT_SKIPS") == "1":
        reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
        if any(word in reason.lower() for word in _STRICT_WORDS):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where it must run (RNNVIZ_STRICT_SKIPS=1): {reason}"


# -- the lessons, each run once per session -------------------------------------------------------
# tests/test_notebooks.py (English), tests/test_japanese.py (Japanese) and tests/test_site.py (the
# static course, both) share one run of each lesson: a lesson is executed the first time a test asks
# for it, and its executed copy is kept for the session. The copy as the lesson looks executed
# (without any check cell a test appended) goes to test-artifacts/notebooks/ (ja/ for the Japanese
# edition), with the time it took in timings.json: `course/_build/site.py --executed` reads them.
REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "course"
LESSON_ARTIFACTS = REPO / "test-artifacts" / "notebooks"
LESSON_CELL_TIMEOUT_S = 120


class LessonNoise(AssertionError):
    """A lesson ran, but wrote to stderr: a warning (``warnings``, matplotlib's ``findfont`` log line,
    a DeprecationWarning) or anything else the learner would see in a red box under a cell."""


def lesson_noise(nb):
    """[(cell id, text)] of every stderr stream in the outputs of ``nb``'s code cells."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and out.get("text", "").strip():
                found.append((cell.get("id", f"#{index}"), out["text"]))
    return found


def noise_message(name, noise):
    lines = [f"{name}: its outputs hold stderr (warnings or log lines the learner would see):"]
    for cell, text in noise:
        lines += [f"  cell {cell}:"] + [f"    {line}" for line in text.rstrip().splitlines()[:12]]
    return "\n".join(lines)


class LessonRun:
    def __init__(self, nb, seconds, extra_cells, lesson_cells, error=None, figure_report=None):
        self.nb, self.seconds, self.extra_cells = nb, seconds, tuple(extra_cells)
        self.lesson_cells, self.error = lesson_cells, error
        self.figure_report = figure_report     # JSON lines: every figure the lesson drew, checked


class Lessons:
    """``run(path, extra_cells=())`` -> (executed notebook, seconds): the lesson at ``path`` run top
    to bottom in a fresh kernel (its folder as working directory: course/ja selects Japanese), then
    the ``extra_cells`` in the same kernel; ``executed(path)`` -> the lesson's own cells, executed.
    A run whose outputs hold any stderr stream (a warning, a ``findfont`` line, ...) fails with
    ``LessonNoise``, naming each cell and its text, as a failing cell fails with its error.
    A lesson runs once: a later call gets the same run (or its error), unless it asks for extra
    cells that run did not have. The kernel is offline (RNNVIZ_OFFLINE=1: the corpus lesson takes
    the shipped corpus), with no user IPython or matplotlib profile and no RNNVIZ_LANG.

    ``prefetch([(path, extra_cells), ...])`` starts those runs two at a time in the background
    (each kernel uses one core: BLAS has one thread), so that a test module's lessons run on both
    cores while its first tests wait for theirs; ``run`` then waits for the prefetched run."""

    def __init__(self, homes):
        import concurrent.futures
        import threading

        self.homes = homes
        self.runs = {}
        self._pending = {}              # path -> (extra cells, future of a LessonRun)
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="lesson")

    def prefetch(self, runs):
        with self._lock:
            for path, extra_cells in runs:
                path, extra_cells = Path(path).resolve(), tuple(extra_cells)
                done = self.runs.get(path)
                if done is not None and (not extra_cells or extra_cells == done.extra_cells):
                    continue
                if path not in self._pending:
                    self._pending[path] = (extra_cells, self._pool.submit(self._execute, path, extra_cells))

    def run(self, path, extra_cells=()):
        path = Path(path).resolve()
        with self._lock:
            pending = self._pending.pop(path, None)
        if pending is not None:
            self.runs[path] = pending[1].result()
        done = self.runs.get(path)
        if done is None or (extra_cells and tuple(extra_cells) != done.extra_cells):
            done = self.runs[path] = self._execute(path, tuple(extra_cells))
        if done.error is not None:
            raise done.error
        return done.nb, done.seconds

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)

    def figure_problems(self, path):
        """[(figure, problem)] that rnnviz.viz.legibility found in the figures the lesson drew
        (pyplot figures and widget figures, checked after every cell of the run)."""
        from rnnviz.viz.legibility import read_report

        self.run(path)
        report = self.runs[Path(path).resolve()].figure_report
        lines = read_report(report) if report.exists() else []
        # every lesson shows a widget: a run that checked no figure means the check did not run
        assert lines, f"{Path(path).name}: the figure check recorded no figure ({report})"
        return [(line["figure"], problem) for line in lines for problem in line["problems"]]

    def executed(self, path):
        nb, _ = self.run(path)
        done = self.runs[Path(path).resolve()]
        copy = nbformat_copy(nb)
        del copy.cells[done.lesson_cells:]
        return copy

    def _execute(self, path, extra_cells):
        import os

        import nbformat
        from nbclient import NotebookClient

        # a lesson of the course keeps its executed copy and its time; any other notebook (a test's
        # own) is only run
        rel = path.relative_to(COURSE) if path.is_relative_to(COURSE) else None
        home = self.homes / (str(rel.with_suffix("")).replace(os.sep, "-") if rel else f"other-{path.stem}")
        home.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(path, as_version=4)
        lesson_cells = len(nb.cells)
        nb.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
        env = dict(os.environ)
        for name in ("MPLBACKEND", "RNNVIZ_LANG"):
            env.pop(name, None)
        env.update(IPYTHONDIR=str(home / "ipython"), MPLCONFIGDIR=str(home / "mpl"), RNNVIZ_OFFLINE="1")
        # every figure the lesson draws is checked for legibility after each cell (a startup file)
        from rnnviz.viz.legibility import startup_code

        report = home / "figures.jsonl"
        report.unlink(missing_ok=True)
        startup = home / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True, exist_ok=True)
        (startup / "00-rnnviz-figures.py").write_text(startup_code(str(report)))
        client = NotebookClient(nb, timeout=LESSON_CELL_TIMEOUT_S, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        error = None
        start = time.monotonic()
        try:
            client.execute(env=env)
        except Exception as exc:  # noqa: BLE001 - kept, and raised to every test that asks
            error = exc
        finally:
            seconds = time.monotonic() - start
            if rel is not None:
                lesson = nbformat_copy(nb)
                del lesson.cells[lesson_cells:]
                target = LESSON_ARTIFACTS / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(lesson, target)
                _record_time(rel.as_posix(), seconds)
        noise = lesson_noise(nb)
        if error is None and noise:
            error = LessonNoise(noise_message(path.name, noise))
        return LessonRun(nb, seconds, extra_cells, lesson_cells, error, figure_report=report)


def nbformat_copy(nb):
    import nbformat

    return nbformat.from_dict(json.loads(json.dumps(nb)))


_TIMINGS_LOCK = __import__("threading").Lock()


def _record_time(name, seconds):
    with _TIMINGS_LOCK:
        _write_time(name, seconds)


def _write_time(name, seconds):
    timings = LESSON_ARTIFACTS / "timings.json"
    data = json.loads(timings.read_text()) if timings.exists() else {}
    data[name] = round(seconds, 1)
    timings.write_text(json.dumps(data, indent=2, sort_keys=True))


@pytest.fixture(scope="session")
def lessons(tmp_path_factory):
    """The session's runs of the lessons (see ``Lessons``)."""
    runs = Lessons(tmp_path_factory.mktemp("kernels"))
    yield runs
    runs.close()


def selected_lessons(request, argname):
    """The lesson paths the selected tests of this module take as ``argname`` (in their order)."""
    seen = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is request.module and callspec is not None and argname in callspec.params:
            path = callspec.params[argname]
            if "lessons" in item.fixturenames and path not in seen:
                seen.append(path)
    return seen


def pytest_collection_modifyitems(session, config, items):
    """The static course is built last, from the lessons the lesson tests have run already (so that
    the Japanese ones carry that test's check cell and no lesson runs twice)."""
    last = [item for item in items if item.nodeid.split("::")[0].endswith("test_site.py")]
    if last:
        moved = {id(item) for item in last}
        items[:] = [item for item in items if id(item) not in moved] + last
