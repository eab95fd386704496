"""PlotReport live in JupyterLab: the figure changes in the notebook while the training cell runs.

A notebook with ``%matplotlib widget`` runs a Trainer with ``PlotReport`` (a point per iteration,
a short pause per iteration so that the run lasts a few seconds). While the cell is still running
(the kernel busy), the test reads the figure three times and requires that it changed each time;
when the run ends the figure must be the interactive ipympl canvas, painted.
Screenshots go to ``test-artifacts/browser/plot_report_*.png``.
Needs Debian's Chromium and the playwright package, as the other browser tests.
"""
from __future__ import annotations

import hashlib
import signal
import time
from pathlib import Path

import nbformat
import pytest

from lab_server import (ERRORS_JS, KERNEL_IDLE_JS, PAINTED_PIXELS_JS, LabServer, missing_browser,
                        open_local_page, run_all_cells)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
BUDGET_S = 110
IMAGE = ".jp-Notebook .jp-OutputArea-output img"
IMAGE_JS = """() => {
  const img = document.querySelector('%s');
  return img && img.naturalWidth > 20 ? img.src : null;
}""" % IMAGE

TRAINING = """\
import time
import numpy as np
import rnnviz.links as L
from rnnviz import dataset, optimizers, training
from rnnviz.training import extensions

class Batches(dataset.Iterator):
    def __init__(self, data, n):
        self.data, self.n, self.iteration, self.epoch, self.is_new_epoch = data, n, 0, 0, False
    @property
    def epoch_detail(self):
        return self.iteration * self.n / len(self.data)
    def __next__(self):
        k = self.iteration * self.n % len(self.data)
        self.iteration += 1
        return self.data[k:k + self.n]

rng = np.random.default_rng(0)
data = [(rng.standard_normal(4).astype(np.float32), np.int32(i % 3)) for i in range(60)]
model = L.Classifier(L.Linear(4, 3))
updater = training.StandardUpdater(Batches(data, 6), optimizers.SGD(lr=0.2).setup(model))
trainer = training.Trainer(updater, (24, "iteration"), out="result")
trainer.extend(extensions.PlotReport([["main/loss"], ["main/accuracy"]], trigger=(1, "iteration")))
trainer.extend(training.make_extension()(lambda tr: time.sleep(0.2)))
trainer.run()
"""



pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser())),
]


class BudgetExceeded(BaseException):
    pass


def test_plot_report_updates_the_figure_while_training_runs(tmp_path):
    from playwright.sync_api import Error as PlaywrightError, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("%matplotlib widget"), nbformat.v4.new_code_cell(TRAINING)]
    nbformat.write(nb, root / "plot_report.ipynb")

    def on_alarm(signum, frame):
        raise BudgetExceeded(f"the browser test ran past its {BUDGET_S}s budget")

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(BUDGET_S)
    lab = LabServer(root, home, ARTIFACTS / "plot-report-lab.log")
    frames, busy_at_frames = [], []
    try:
        lab.start()
        with sync_playwright() as pw:
            browser, ctx, page = open_local_page(pw, lab.url)
            page.set_default_timeout(20_000)
            try:
                page.goto(f"{lab.url}/lab/tree/plot_report.ipynb", wait_until="domcontentloaded")
                page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=40_000)
                page.wait_for_function(KERNEL_IDLE_JS, timeout=40_000)
                run_all_cells(page)
                deadline = time.monotonic() + 40
                # frames taken while the training cell still runs
                while time.monotonic() < deadline and len(frames) < 3:
                    src = page.evaluate(IMAGE_JS)
                    if src and (not frames or src != frames[-1]):
                        frames.append(src)
                        busy_at_frames.append(not page.evaluate(KERNEL_IDLE_JS))
                        try:  # a keepsake only: the next frame may replace the element meanwhile
                            page.locator(IMAGE).first.screenshot(
                                path=str(ARTIFACTS / f"plot_report_during_{len(frames)}.png"), timeout=3_000)
                        except PlaywrightError:
                            pass
                        page.wait_for_timeout(500)
                    else:
                        page.wait_for_timeout(200)
                page.wait_for_function(KERNEL_IDLE_JS, timeout=45_000)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and page.evaluate(PAINTED_PIXELS_JS, ".jp-Notebook") <= 50:
                    page.wait_for_timeout(200)
                painted_after = page.evaluate(PAINTED_PIXELS_JS, ".jp-Notebook")
                page.locator(".jp-Notebook .jupyter-matplotlib-canvas-div").first.screenshot(
                    path=str(ARTIFACTS / "plot_report_after.png"))
                errors = page.evaluate(ERRORS_JS)
                page_had_no_image_left = page.locator(IMAGE).count() == 0
            finally:
                ctx.close()
                browser.close()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        lab.stop()
    assert not errors, "\n".join(errors)
    assert len(frames) == 3, f"the figure changed {len(frames)} times during the run (screenshots in {ARTIFACTS})"
    assert all(busy_at_frames), "the training had already finished: nothing shows the figure live"
    assert len({hashlib.sha1(f.encode()).hexdigest() for f in frames}) == 3
    assert painted_after > 50, "after training the output is not a painted ipympl figure"
    assert page_had_no_image_left, "the live image stayed beside the interactive figure"
    assert (root / "result" / "plot.png").exists()
