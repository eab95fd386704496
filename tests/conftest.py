"""Shared test fixtures (kept minimal)."""
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
_STRICT_WORDS = ("torch", "playwright", "chromium", "bubblewrap", "h5py")


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
