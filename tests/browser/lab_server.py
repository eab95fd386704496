"""Helpers for the browser tests: an isolated JupyterLab server and a few page operations.

The server runs on 127.0.0.1 on a free port with no token, its own config, data, runtime,
settings and workspace directories (nothing from the user's ~/.jupyter leaks in), the news toast
off and the notebook's windowing off (every cell stays in the DOM, so that locators find it).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing: run `bash .ci/install-browser.sh` (never `playwright install`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing: pip install -e '.[test]'"
    return None


def open_local_page(pw, lab_url: str, env: dict | None = None, **context_options):
    """Debian's Chromium, headless, on a new page that reaches nothing but the local server (every
    other request is aborted). Returns ``(browser, context, page)``; close the last two when done."""
    launch = {"env": env} if env is not None else {}
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                 timeout=30_000, **launch)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    local = (lab_url, "data:", "blob:")
    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(local) else r.abort())
    return browser, ctx, ctx.new_page()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path) -> None:
    files = {
        # the "official Jupyter news?" toast covers the page otherwise
        ("@jupyterlab", "apputils-extension", "notification.jupyterlab-settings"):
            {"fetchNews": "false", "checkForUpdates": False},
        # keep every cell attached to the DOM (JupyterLab 4 may virtualise off-screen cells)
        ("@jupyterlab", "notebook-extension", "tracker.jupyterlab-settings"):
            {"windowingMode": "none"},
    }
    for parts, value in files.items():
        path = settings.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


class LabServer:
    """``with LabServer(root, home, log_path) as lab: page.goto(lab.url + "/lab/tree/x.ipynb")``."""

    def __init__(self, root: Path, home: Path, log_path: Path, extra_env: dict | None = None):
        self.root, self.home, self.log_path = Path(root), Path(home), Path(log_path)
        self.extra_env = extra_env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.leftovers: list[int] = []
        self._log = None

    # -- start / stop ------------------------------------------------------------------------
    def start(self, timeout: float = 45) -> "LabServer":
        env = dict(os.environ)
        for key in ("config", "data", "runtime", "ipython", "mpl", "settings", "workspaces"):
            (self.home / key).mkdir(parents=True, exist_ok=True)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            IPYTHONDIR=str(self.home / "ipython"),
            MPLCONFIGDIR=str(self.home / "mpl"),
            JUPYTERLAB_SETTINGS_DIR=str(self.home / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"),
            PYTHONUNBUFFERED="1",
        )
        env.pop("MPLBACKEND", None)  # the notebook asks for %matplotlib widget itself
        env.update(self.extra_env)
        _write_settings(self.home / "settings")
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            "--ServerApp.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--expose-app-in-browser",  # window.jupyterapp: kernel status, commands, cells
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")  # without it the server exits 1 as root
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=self.root)
        self._wait_http(f"{self.url}/api/status", timeout)
        return self

    def _wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early with rc={self.proc.returncode}; "
                                   f"see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{url} not answering after {timeout}s; see {self.log_path}")

    def stop(self) -> list[int]:
        """SIGTERM the server by PID (it shuts its kernels down); kill leftover children by PID."""
        if self.proc is None:
            return []
        try:
            import psutil
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except Exception:
            children = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for child in children:
            try:
                if child.is_running() and child.status() != "zombie":
                    self.leftovers.append(child.pid)
                    child.kill()
            except Exception:
                pass
        if self._log:
            self._log.close()
            self._log = None
        return self.leftovers

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- page operations (need --expose-app-in-browser) ------------------------------------------
KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

# Kernel idle and every code cell has run (an execution count, no [*] prompt).
ALL_CELLS_DONE_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  const k = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  return nb.content.widgets.every(c => {
    if (c.model.type !== 'code') return true;
    const prompt = c.node.querySelector('.jp-InputPrompt');
    return c.model.executionCount !== null && !(prompt && prompt.textContent.includes('*'));
  });
}"""

# Texts of every output that shows an error: error outputs in the notebook's model, a traceback
# printed on stderr, or a widget that could not be displayed.
ERRORS_JS = """() => {
  const out = [];
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (nb && nb.content && nb.content.widgets) nb.content.widgets.forEach((c, i) => {
    if (c.model.type !== 'code') return;
    c.model.outputs.toJSON().forEach(o => {
      if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}\\n` +
          (o.traceback || []).join('\\n').replace(/\\x1b\\[[0-9;]*m/g, '').slice(-2500));
    });
  });
  document.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').forEach(e => {
    if (e.textContent.includes('Traceback')) out.push(e.textContent.slice(0, 3000));
  });
  document.querySelectorAll('.jp-OutputArea-output').forEach(e => {
    if (e.textContent.includes('Error displaying widget')) out.push(e.textContent.slice(0, 500));
  });
  return out;
}"""

# Non-blank pixels in the first <canvas> under `selector` (-1: no canvas yet).
PAINTED_PIXELS_JS = """(selector) => {
  const c = document.querySelector(selector + ' .jupyter-matplotlib-canvas-div canvas');
  if (!c || c.width < 20 || c.height < 20) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4 * 7) {
    if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
  }
  return n;
}"""

# Run the code cell whose output holds `selector`, then the last cell (which re-tags widgets).
RERUN_CELL_JS = """async (selector) => {
  const app = window.jupyterapp, nb = app.shell.currentWidget;
  const cells = nb.content.widgets;
  const i = cells.findIndex(c => c.node.querySelector(selector));
  if (i < 0) return -1;
  for (const j of [i, cells.length - 1]) {
    nb.content.activeCellIndex = j;
    await app.commands.execute('notebook:run-cell');
  }
  return i;
}"""


def run_all_cells(page) -> str:
    """Run ▸ Run All Cells through the menu, as a learner would; the app API as fallback."""
    try:
        page.locator("#jp-MainMenu .lm-MenuBar-item", has_text="Run").first.click(timeout=5000)
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click(timeout=5000)
        return "menu"
    except Exception:
        page.keyboard.press("Escape")
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        return "app"
