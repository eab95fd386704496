"""Shared test fixtures (kept minimal)."""
import numpy
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded NumPy generator per test, so every test sees the same numbers."""
    return numpy.random.default_rng(0)


# In CI (RNNVIZ_STRICT_SKIPS=1, set by .ci/run) a test skipped because PyTorch, Playwright or
# Chromium is missing is a failure: CI installs them, so such a skip means a broken install step,
# not a check that passed.
_STRICT_WORDS = ("torch", "playwright", "chromium")


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
