"""Helpers for the hub tests and the capacity benchmark: a course hub of deploy/hub.py in a folder
of its own, with system users of a unique prefix, and the steps a user takes, by command or by REST.

``ClassHub(people)`` lays out ETC, STATE and the exchange under one temporary folder (mode 755, so
that every user reaches what the hub gives them), on free ports, sharing the software in
/opt/rnnviz-hub (deploy/hub.py builds it once; later runs only reinstall the kit when it changed).
``close()`` stops the hub, ends what the class's users still run (by process id), removes the users
with their homes, and the folder.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HUB_PY = REPO / "deploy" / "hub.py"
sys.path.insert(0, str(REPO / "deploy"))
import hub as deploy_hub  # noqa: E402  (deploy/hub.py: the same functions `make hub` runs)


def missing() -> str | None:
    """Why a class hub cannot run here (None when it can)."""
    if os.geteuid() != 0:
        return "the hub test needs root (it creates system users and runs JupyterHub as root)"
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            return f"the hub test needs {tool}"
    if not os.path.exists("/usr/bin/python3"):
        return "the hub test needs Debian's /usr/bin/python3 (the hub's venv is built from it)"
    if not shutil.which("npm") and not Path("/opt/rnnviz-hub/proxy/node_modules/.bin/"
                                            "configurable-http-proxy").exists():
        return "the hub test needs npm for the hub's proxy: apt-get install -y nodejs npm"
    if not shutil.which("bwrap"):
        return "the hub test grades with the kit's sandbox: bubblewrap is missing"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_prefix() -> str:
    """A user-name prefix no other run shares: ``h`` + 5 digits of pid and time."""
    return f"h{(os.getpid() * 7919 + int(time.time())) % 100000:05d}"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except (OSError, IndexError):
        return True          # gone


class ClassHub:
    """``ClassHub([(name, role, lang), ...], root=None)``: install, enroll, start, close."""

    def __init__(self, people, group: str | None = None, log=print):
        self.people = list(people)
        self.group = group or f"{self.people[0][0]}g"     # the instructors' Unix group
        self.passwords: dict[str, str] = {}
        self.log = log
        self.root = Path(tempfile.mkdtemp(prefix="rnnviz-hub-test-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.ports = {"port": free_port(), "hub_port": free_port(), "proxy_api_port": free_port()}
        self.url = f"http://127.0.0.1:{self.ports['port']}"
        self.args = ["--etc", str(self.root / "etc"), "--state", str(self.root / "state"),
                     "--exchange", str(self.root / "exchange"),
                     "--port", str(self.ports["port"]), "--hub-port", str(self.ports["hub_port"]),
                     "--proxy-api-port", str(self.ports["proxy_api_port"]),
                     "--instructors-group", self.group]
        self.proc: subprocess.Popen | None = None
        self.created_users: list[str] = []
        self.timings: dict[str, float] = {}

    # -- set-up, through deploy/hub.py ---------------------------------------------------------
    def hub_py(self, action: str, *extra: str, timeout: float = 900) -> str:
        out = subprocess.run(["/usr/bin/python3", str(HUB_PY), action, *self.args, *extra],
                             capture_output=True, text=True, timeout=timeout)
        text = out.stdout + out.stderr
        (self.root / f"hub-py-{action}.log").write_text(text)
        if out.returncode != 0:
            raise RuntimeError(f"deploy/hub.py {action} failed ({out.returncode}):\n{text[-4000:]}")
        return text

    def install(self) -> None:
        t0 = time.monotonic()
        self.hub_py("install")
        self.timings["install_s"] = time.monotonic() - t0

    def enroll(self) -> None:
        roster = self.root / "roster.txt"
        roster.write_text("".join(f"{n} {r}{' ja' if lang == 'ja' else ''}\n"
                                  for n, r, lang in self.people))
        for name, _, _ in self.people:          # remembered before: close() removes them all
            try:
                pwd.getpwnam(name)
            except KeyError:
                self.created_users.append(name)
        self.hub_py("enroll", "--roster", str(roster))
        book = (self.root / "state" / "initial-passwords").read_text().split("\n")
        self.passwords = dict(line.split(" ", 1) for line in book if line)

    @property
    def cfg(self) -> dict:
        return json.loads((self.root / "etc" / "hub.json").read_text())

    def start(self, timeout: float = 90) -> float:
        """Start the hub (as `make hub` does, in the background); seconds until it answers."""
        cmd, env = deploy_hub.hub_command(self.cfg)
        state = self.root / "state"
        self._log = open(state / "jupyterhub.log", "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, env=env, cwd=state, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        (state / "jupyterhub.pid").write_text(str(self.proc.pid))
        deploy_hub.wait_ready(self.cfg, timeout=timeout, proc=self.proc)
        self.timings["hub_start_s"] = time.monotonic() - t0
        return self.timings["hub_start_s"]

    def log_text(self) -> str:
        try:
            return (self.root / "state" / "jupyterhub.log").read_text(errors="replace")
        except OSError:
            return ""

    # -- a user's steps ------------------------------------------------------------------------
    def user_env(self, name: str) -> dict:
        """The environment of a user's terminal on the hub, less the hub's tokens."""
        home = pwd.getpwnam(name).pw_dir
        cfg = self.cfg
        role = next(r for n, r, _ in self.people if n == name)
        config_path = f"{cfg['etc']}/jupyter"
        if role == "instructor":
            config_path = f"{cfg['etc']}/instructor-config:{config_path}"
        return {"HOME": home, "USER": name, "LOGNAME": name, "LANG": "C.UTF-8", "SHELL": "/bin/bash",
                "PATH": f"{cfg['venv']}/bin:/usr/local/bin:/usr/bin:/bin",
                "JUPYTER_CONFIG_PATH": config_path, "OPENBLAS_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def as_user(self, name: str, script: str, cwd: str = "~", timeout: float = 300,
                check: bool = True) -> subprocess.CompletedProcess:
        """``bash -c script`` as ``name`` in a clean environment, from ``cwd`` (in their home)."""
        env = self.user_env(name)
        env_args = [f"{k}={v}" for k, v in env.items()]
        cmd = ["runuser", "-u", name, "--", "env", "-i", *env_args, "bash", "-c",
               f"cd {cwd} && {script}"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"as {name}: {script!r} exited {out.returncode}:\n"
                               f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return out

    def home(self, name: str) -> Path:
        return Path(pwd.getpwnam(name).pw_dir)

    # -- REST: log in, spawn ---------------------------------------------------------
    def token(self, name: str) -> str:
        """An API token for ``name``, from the name and password (what the hub's REST API offers)."""
        reply = self._api("POST", f"/users/{name}/tokens", None,
                          {"auth": {"username": name, "password": self.passwords[name]},
                           "note": "hub test", "expires_in": 3600})
        return reply["token"]

    def spawn(self, name: str, token: str, timeout: float = 180) -> float:
        """Start ``name``'s server; seconds until the hub says it is ready."""
        t0 = time.monotonic()
        self._api("POST", f"/users/{name}/server", token, {})
        while time.monotonic() - t0 < timeout:
            user = self._api("GET", f"/users/{name}", token)
            server = (user.get("servers") or {}).get("")
            if server and server.get("ready"):
                return time.monotonic() - t0
            time.sleep(0.25)
        raise TimeoutError(f"{name}'s server not ready after {timeout} s")

    def _api(self, method: str, path: str, token: str | None, body: dict | None = None):
        """The hub's REST API (``/hub/api...``)."""
        return self._request(f"{self.url}/hub/api{path}", method, token, body)

    def user_api(self, name: str, token: str, method: str, path: str, body=None):
        """A user's own server's REST API (``/user/NAME/api...``), with that user's token."""
        return self._request(f"{self.url}/user/{name}/api{path}", method, token, body)

    @staticmethod
    def _request(url: str, method: str, token: str | None, body: dict | None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if token:
            req.add_header("Authorization", f"token {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode()
        return json.loads(text) if text else {}

    # -- the end -------------------------------------------------------------------------------
    def user_pids(self) -> list[int]:
        uids = set()
        for name in self.created_users:
            try:
                uids.add(pwd.getpwnam(name).pw_uid)
            except KeyError:
                pass
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid in uids:
                        pids.append(int(entry.name))
                except OSError:
                    pass
        return pids

    def stop(self) -> list[int]:
        """SIGTERM the hub (it stops the proxy and every server); returns the users' processes
        that were still alive afterwards (then killed by id)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None:
            self._log.close()
        # a server's kernels end a moment after it: wait a little, and count no zombie
        deadline = time.monotonic() + 10
        while True:
            leftovers = [pid for pid in self.user_pids() if not _zombie(pid)]
            if not leftovers or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        self.leftover_commands = {}
        for pid in leftovers:
            try:
                self.leftover_commands[pid] = Path(f"/proc/{pid}/cmdline").read_bytes() \
                    .replace(b"\0", b" ").decode(errors="replace")[:300]
            except OSError:
                pass
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return leftovers

    def close(self) -> list[int]:
        leftovers = self.stop()
        time.sleep(0.3)
        for name in self.created_users:
            subprocess.run(["userdel", "--remove", name], capture_output=True)
        subprocess.run(["groupdel", self.group], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        return leftovers
