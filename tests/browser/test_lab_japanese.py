"""A Japanese lesson in JupyterLab in Japanese, driven by headless Chromium.

A Japanese learner's path: JupyterLab with the Japanese language pack selected (the settings file
``make lab LANG=ja`` writes), open ``course/ja/00_seeing_the_graph.ipynb`` (a temporary copy in a
folder named ``ja``, as in the course), run every cell, and find JupyterLab's menus, the widgets'
controls and their figures in Japanese. Screenshots and logs are kept in
``test-artifacts/browser-ja/``; look at them.

Chromium draws the notebook's Japanese prose with the system's fonts. A machine with no Japanese
font (this CI image has none) would show boxes, so the test gives Chromium the IPAexGothic font of
the japanize-matplotlib wheel (the same one the figures use) through a fontconfig file of its own;
a learner's browser uses the learner's fonts. Skipped only when Chromium or Playwright is missing.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest

from lab_server import ALL_CELLS_DONE_JS, ERRORS_JS, KERNEL_IDLE_JS, LabServer, missing_browser, open_local_page
from test_lab_widgets import BudgetExceeded, Clock

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "course" / "ja" / "00_seeing_the_graph.ipynb"
ARTIFACTS = REPO / "test-artifacts" / "browser-ja"
BUDGET_S = 90

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser())),
]

# the visible words that say the lab, the widgets' controls and their figures speak Japanese
MENU_WORDS = ("ファイル", "編集", "表示", "実行", "カーネル")
CONTROL_WORDS = ("リンクごとにまとめる", "すべての関数", "時刻 t", "長さ")

# Appended to the temporary copy: each widget's figure holds Japanese words, and the kernel says
# which language and font it chose.
CHECK_CELL = r"""# added by tests/browser/test_lab_japanese.py to its temporary copy
import gc as _gc
from rnnviz import i18n as _i18n
from rnnviz.widgets._base import FigureWidget as _FigureWidget
_ws = [o for o in _gc.get_objects() if issubclass(type(o), _FigureWidget)]
for _w in _ws:
    _w.add_class("e2e-ja-widget")
_words = sorted({t.get_text() for _w in _ws for t in _w.figure.findobj(lambda a: hasattr(a, "get_text"))
                 if any("\u3040" <= ch <= "\u30ff" for ch in t.get_text())})
print("E2E-JA", _i18n.get_language(), _i18n.cjk_font(), len(_ws), len(_words))
"""


def _fontconfig(tmp: Path) -> dict:
    """FONTCONFIG_FILE: the system's fonts plus the IPAexGothic the lab extra installs."""
    from rnnviz import i18n

    font = i18n.bundled_font_file()
    if font is None:
        return {}
    conf = tmp / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{font.parent}</dir>
  <cachedir>{tmp / "fontconfig-cache"}</cachedir>
</fontconfig>
""")
    return {"FONTCONFIG_FILE": str(conf)}


def test_japanese_lesson_in_japanese_jupyterlab(tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.iterdir():
        if old.is_file():
            old.unlink()
    root, home = tmp_path / "root", tmp_path / "home"
    (root / "ja").mkdir(parents=True)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
    nbformat.write(nb, root / "ja" / NOTEBOOK.name)
    # what `make lab LANG=ja` writes: JupyterLab's language setting
    setting = home / "settings" / "@jupyterlab" / "translation-extension" / "plugin.jupyterlab-settings"
    setting.parent.mkdir(parents=True)
    setting.write_text(json.dumps({"locale": "ja_JP"}))

    clock = Clock()
    console: list[str] = []
    report: dict[str, object] = {}

    def on_alarm(signum, frame):
        raise BudgetExceeded(f"the browser test ran past its {BUDGET_S}s budget")

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(BUDGET_S)
    lab = LabServer(root, home, ARTIFACTS / "jupyter-lab.log", extra_env={"RNNVIZ_LANG": ""})
    try:
        lab.start()
        clock.mark("server answers")
        with sync_playwright() as pw:
            browser, ctx, page = open_local_page(pw, lab.url, env={**os.environ, **_fontconfig(tmp_path)}, locale="ja-JP")
            page.set_default_timeout(20_000)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            try:
                page.goto(f"{lab.url}/lab/tree/ja/{NOTEBOOK.name}", wait_until="domcontentloaded")
                page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=40_000)
                page.wait_for_function(KERNEL_IDLE_JS, timeout=40_000)
                clock.mark("notebook open, kernel idle")
                menu = page.locator("#jp-MainMenu").inner_text()
                report["menu bar"] = menu.replace("\n", " ")
                page.screenshot(path=str(ARTIFACTS / "lab_ja_opened.png"))
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                # done is read once: asked again, the kernel may be busy for a moment answering the
                # canvases' first messages, which is not a cell still running
                deadline, done = time.monotonic() + 50, False
                while time.monotonic() < deadline and not done:
                    errors = page.evaluate(ERRORS_JS)
                    assert not errors, "a cell shows an error:\n" + "\n---\n".join(errors)
                    page.wait_for_timeout(250)
                    done = page.evaluate(ALL_CELLS_DONE_JS)
                assert done, "the lesson did not finish running in 50 s"
                clock.mark("all cells ran")
                errors = page.evaluate(ERRORS_JS)
                assert not errors, "a cell shows an error:\n" + "\n---\n".join(errors)
                # the kernel's own account: language, font, widgets, Japanese words in their figures
                check = page.locator(".jp-OutputArea-output", has_text="E2E-JA").last.inner_text()
                report["kernel"] = check.strip()
                report["widgets found"] = page.locator(".e2e-ja-widget").count()
                # each widget's canvas has painted something (ipympl draws in the browser)
                widgets = page.locator(".e2e-ja-widget")
                ok = []
                for i in range(widgets.count()):
                    # ipympl stacks two canvases: the figure, then a transparent one for the mouse
                    canvas = widgets.nth(i).locator(".jupyter-matplotlib-canvas-div canvas").first
                    canvas.scroll_into_view_if_needed()
                    deadline = time.monotonic() + 8
                    n = -1
                    while time.monotonic() < deadline and n <= 50:
                        n = canvas.evaluate("""c => { if (c.width < 20 || c.height < 20) return -1;
                            const d = c.getContext('2d').getImageData(
                            0, 0, c.width, c.height).data; let n = 0;
                            for (let k = 0; k < d.length; k += 28) if (d[k + 3] > 0 && d[k] < 240) n++;
                            return n; }""")
                        if n <= 50:
                            page.wait_for_timeout(200)
                    ok.append(n > 50)
                report["canvases painted"] = ok
                text = page.locator(".jp-Notebook").inner_text()
                report["control words shown"] = [w for w in CONTROL_WORDS if w in text]
                page.locator(".e2e-ja-widget").first.scroll_into_view_if_needed()
                page.wait_for_timeout(500)
                page.screenshot(path=str(ARTIFACTS / "lab_ja_graphview.png"))
                page.locator(".e2e-ja-widget").last.scroll_into_view_if_needed()
                page.wait_for_timeout(500)
                page.screenshot(path=str(ARTIFACTS / "lab_ja_unchain.png"))
                page.locator(".jp-Notebook .jp-Cell").first.scroll_into_view_if_needed()
                page.wait_for_timeout(300)
                page.screenshot(path=str(ARTIFACTS / "lab_ja_top.png"))
                clock.mark("screenshots taken")
            finally:
                (ARTIFACTS / "browser-console.log").write_text("\n".join(console))
                ctx.close()
                browser.close()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        leftovers = lab.stop()
        (ARTIFACTS / "report.json").write_text(json.dumps({**clock.marks, **report}, indent=2,
                                                          ensure_ascii=False))
    missing_menu = [w for w in MENU_WORDS if w not in report["menu bar"]]
    assert not missing_menu, f"JupyterLab's menu bar is not Japanese: {report['menu bar']!r} lacks {missing_menu}"
    fields = report["kernel"].split()
    assert fields[:3] == ["E2E-JA", "ja", "IPAexGothic"], report["kernel"]
    assert int(fields[3]) == 3 and int(fields[4]) > 10, f"widgets and Japanese figure words: {report['kernel']}"
    assert report["widgets found"] == 3 and len(report["canvases painted"]) == 3, report
    assert all(report["canvases painted"]), f"a widget's figure never painted: {report['canvases painted']}"
    assert report["control words shown"] == list(CONTROL_WORDS), report["control words shown"]
    log = lab.log_text()
    assert "Traceback" not in log, log[max(0, log.index("Traceback") - 300):][:3000]
    assert not leftovers, f"kernel processes survived the server's SIGTERM: {leftovers}"
