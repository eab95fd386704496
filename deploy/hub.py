#!/usr/bin/python3
"""The course hub on one machine: install, enroll, start, stop. Run as root, with Debian's Python.

    python3 deploy/hub.py up       [--roster FILE]   # install + enroll + start (Ctrl-C stops)
    python3 deploy/hub.py install                    # software and configuration only
    python3 deploy/hub.py enroll   --roster FILE     # system users, homes 700, course copies, exchange
    python3 deploy/hub.py start    [--background]    # JupyterHub from a clean environment
    python3 deploy/hub.py stop                       # SIGTERM to the hub: it stops the proxy and servers

The idea: everything a student's server runs comes from one root-owned virtual environment built
from Debian's /usr/bin/python3 (a venv from an interpreter under root's home is unusable by other
users), with the kit installed into it as a wheel (no user depends on a checkout). Configuration is
copied out of deploy/ into ETC, so the running hub depends on nothing in the repository either.
Every step is idempotent: it does what is missing and leaves what is there (a student's copy of the
course is never overwritten).

Layout (each folder an option, defaults for a real machine):
    OPT       /opt/rnnviz-hub    software: venv/ (JupyterHub, JupyterLab, nbgrader, the kit), proxy/
    ETC       /etc/rnnviz-hub    hub.json, roster, jupyterhub_config.py, jupyter/ (every user's
                                 nbgrader config), instructor-config/ (the formgrader)
    STATE     /srv/rnnviz-hub    mode 700: the hub's database, cookie secret, pid file, log
    EXCHANGE  /srv/nbgrader/exchange   nbgrader's exchange (see deploy/nbgrader_config.py)

Only the standard library is used: this script builds the environment everything else runs in.
"""
from __future__ import annotations

import argparse
import grp
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
COURSE_ID = "rnnviz"            # the kit's nbgrader_config.py says the same; checked by `install`
PROXY_VERSION = "5.3.0"         # configurable-http-proxy from npm
INSTALL_VERSION = "1"           # bump to force a rebuild of the venv's dependencies
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# what a system user may be called (Debian's useradd accepts more; a course needs no more)
NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")
# the kit's files that make its wheel
KIT_FILES = ("pyproject.toml", "README.md", "LICENSE", "rnnviz", "jupyter-config")
# what goes into ~/course, as {in the repository: in ~/course}: a student gets the lessons (both
# editions); an instructor the nbgrader course (the repository root is the course) with the lessons
STUDENT_COPY = {"course": "."}
INSTRUCTOR_COPY = {name: name for name in ("nbgrader_config.py", "solutions", "assignments", "course")}
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "_build*", "_src", "_assignments")


# -- settings --------------------------------------------------------------------------------
def settings_from(args) -> dict:
    """Everything the hub's configuration reads, written to ETC/hub.json by `install`."""
    opt = Path(args.opt)
    return {
        "opt": str(opt),
        "venv": str(opt / "venv"),
        "proxy": str(opt / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"),
        "etc": str(Path(args.etc)),
        "state": str(Path(args.state)),
        "exchange": str(Path(args.exchange)),
        "course_id": COURSE_ID,
        # THE EXCHANGE SWITCH: "kit" (rnnviz.exchange: a folder per student, owned; nobody can
        # submit as another or read another's work) or "nbgrader" (nbgrader's shared folder)
        "exchange_kind": args.exchange_kind,
        "instructors_group": args.instructors_group,
        "ip": args.ip,
        "port": args.port,
        "hub_port": args.hub_port,
        "proxy_api_port": args.proxy_api_port,
    }


def run(cmd, **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def _tree_hash(paths) -> str:
    h = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()
                                                     and "__pycache__" not in p.parts)
        for f in files:
            h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


# -- install ---------------------------------------------------------------------------------
def install(cfg: dict) -> None:
    """The venv (dependencies, then the kit as a wheel), the proxy, the configuration files."""
    _check_course_id()
    venv, opt = Path(cfg["venv"]), Path(cfg["opt"])
    opt.mkdir(parents=True, exist_ok=True)
    os.chmod(opt, 0o755)
    py = venv / "bin" / "python"
    if not py.exists():
        run(["/usr/bin/python3", "-m", "venv", venv])
    # the dependencies: again only when pyproject.toml, the constraints or this version change
    deps = _tree_hash([REPO / "pyproject.toml", DEPLOY / "constraints.txt"]) + INSTALL_VERSION
    kit = _tree_hash([REPO / f for f in KIT_FILES if (REPO / f).exists()])
    stamp = venv / ".rnnviz-hub.json"
    done = json.loads(stamp.read_text()) if stamp.exists() else {}
    with tempfile.TemporaryDirectory(prefix="rnnviz-kit-") as tmp:
        src = Path(tmp) / "rnnviz"     # a copy: building a wheel writes build/ and *.egg-info
        src.mkdir()
        for name in KIT_FILES:
            p = REPO / name
            if p.is_dir():
                shutil.copytree(p, src / name, ignore=IGNORE)
            elif p.exists():
                shutil.copy2(p, src / name)
        pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        if done.get("deps") != deps:
            run(pip + ["-c", DEPLOY / "constraints.txt", f"{src}[lab,hub]"])
        elif done.get("kit") != kit:
            run(pip + ["--no-deps", "--force-reinstall", str(src)])
    _lab_defaults(venv)
    stamp.write_text(json.dumps({"deps": deps, "kit": kit}))
    _install_proxy(opt)
    _write_config(cfg)


def _check_course_id() -> None:
    text = (REPO / "nbgrader_config.py").read_text()
    if f'course_id = "{COURSE_ID}"' not in text:
        raise SystemExit(f"nbgrader_config.py does not say course_id = {COURSE_ID!r}: "
                         "update COURSE_ID in deploy/hub.py")


def _lab_defaults(venv: Path) -> None:
    """What every user's JupyterLab starts with, set once in the venv: the formgrader, the course
    list and the authoring tool off and locked (an instructor's server turns them back on, see
    instructor-config/), no news toast, Markdown files open rendered.

    The files are what `jupyter labextension disable` + `lock --level=sys_prefix` and `jupyter
    server extension disable --sys-prefix` write (written here directly: eight such commands take
    half a minute). Locking matters: since JupyterLab 4.1 a user can re-enable an unlocked plugin,
    and `disable` with several names locks only the first."""
    plugins = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
               "@jupyter/nbgrader:create-assignment"]
    etc = venv / "etc" / "jupyter"
    files = {
        etc / "labconfig" / "page_config.json": {
            "disabledExtensions": dict.fromkeys(plugins, True),
            "lockedExtensions": dict.fromkeys(plugins, True)},
        **{etc / "jupyter_server_config.d" / f"{ext}.json":
           {"ServerApp": {"jpserver_extensions": {ext: False}}}
           for ext in ("nbgrader.server_extensions.formgrader",
                       "nbgrader.server_extensions.course_list")},
        venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json": {
            "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False,
                                                            "fetchNews": "false"},
            "@jupyterlab/docmanager-extension:plugin": {
                "defaultViewers": {"markdown": "Markdown Preview"}}},
    }
    for path, value in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2) + "\n")
        os.chmod(path, 0o644)


def _install_proxy(opt: Path) -> None:
    """configurable-http-proxy from npm into OPT/proxy (pinned, no global install)."""
    prefix = opt / "proxy"
    if (prefix / "node_modules" / "configurable-http-proxy" / "package.json").exists():
        have = json.loads((prefix / "node_modules" / "configurable-http-proxy" / "package.json")
                          .read_text())["version"]
        if have == PROXY_VERSION:
            return
    if not shutil.which("npm"):
        raise SystemExit("npm is missing: apt-get install -y nodejs npm (the hub's proxy is "
                         "configurable-http-proxy, a Node.js program)")
    prefix.mkdir(parents=True, exist_ok=True)
    run(["npm", "install", "--prefix", prefix, "--no-fund", "--no-audit", "--loglevel=error",
         f"configurable-http-proxy@{PROXY_VERSION}"])


def _write_config(cfg: dict) -> None:
    """ETC: hub.json, the hub's configuration, every user's nbgrader configuration and the
    instructors' one, all owned by root and readable by everyone (nothing secret in them)."""
    etc = Path(cfg["etc"])
    (etc / "jupyter").mkdir(parents=True, exist_ok=True)
    for d in (etc, etc / "jupyter"):
        os.chmod(d, 0o755)
    (etc / "hub.json").write_text(json.dumps(cfg, indent=1) + "\n")
    shutil.copy2(DEPLOY / "jupyterhub_config.py", etc / "jupyterhub_config.py")
    shutil.copy2(DEPLOY / "nbgrader_config.py", etc / "jupyter" / "nbgrader_config.py")
    shutil.copytree(DEPLOY / "instructor-config", etc / "instructor-config", dirs_exist_ok=True)
    for path in [etc, *etc.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    state = Path(cfg["state"])
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)


# -- enroll ----------------------------------------------------------------------------------
def read_roster(path: Path) -> list[dict]:
    """``NAME ROLE [ja]`` per line (ROLE: instructor or student; ``ja``: the Japanese edition);
    ``#`` starts a comment."""
    people = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) not in (2, 3) or words[1] not in ("instructor", "student") \
                or (len(words) == 3 and words[2] != "ja") or not NAME_RE.match(words[0]):
            raise SystemExit(f"{path}:{n}: expected `NAME instructor|student [ja]`, got {line!r}")
        people.append({"name": words[0], "role": words[1], "lang": words[2] if len(words) == 3 else "en"})
    if not any(p["role"] == "instructor" for p in people):
        raise SystemExit(f"{path}: no instructor in the roster")
    return people


def enroll(cfg: dict, roster: Path) -> None:
    """System users with homes of mode 700, the course in each home, the exchange."""
    people = read_roster(roster)
    etc, state = Path(cfg["etc"]), Path(cfg["state"])
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    shutil.copy2(roster, etc / "roster")
    os.chmod(etc / "roster", 0o644)
    for person in people:
        if _user(person):
            _first_password(state, person["name"])
        home = Path(pwd.getpwnam(person["name"]).pw_dir)
        if person["role"] == "instructor":
            _copy_into(home, "course", INSTRUCTOR_COPY, person["name"])
            _write_owned(home / ".jupyter" / "nbgrader_config.py", person["name"],
                         "# the course this instructor teaches (written by deploy/hub.py)\n"
                         "c = get_config()  # noqa: F821\n"
                         f"c.CourseDirectory.root = {str(home / 'course')!r}\n")
        else:
            _copy_into(home, "course", STUDENT_COPY, person["name"])
        if person["lang"] == "ja":
            _write_owned(home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
                         / "translation-extension" / "plugin.jupyterlab-settings",
                         person["name"], json.dumps({"locale": "ja_JP"}) + "\n")
    instructors = [p["name"] for p in people if p["role"] == "instructor"]
    students = [p["name"] for p in people if p["role"] == "student"]
    if cfg["exchange_kind"] == "kit":
        _kit_exchange(cfg, instructors, students)
    else:
        _exchange(cfg, instructors[0], students)


def _kit_exchange(cfg: dict, instructors: list[str], students: list[str]) -> None:
    """The kit's exchange (rnnviz.exchange): the instructors in a Unix group of their own, then its
    `enroll`, which makes (or repairs) a folder per student that only they and the instructors use.
    The first instructor in the roster releases the feedback."""
    group = cfg["instructors_group"]
    try:
        grp.getgrnam(group)
    except KeyError:
        run(["groupadd", group])
    for name in instructors:
        if name not in grp.getgrnam(group).gr_mem:
            run(["usermod", "--append", "--groups", group, name])
    run([f"{cfg['venv']}/bin/python", "-m", "rnnviz.exchange", "enroll", "--root", cfg["exchange"],
         "--course", cfg["course_id"], "--instructors", group, "--feedback-owner", instructors[0],
         *students])


def _user(person: dict) -> bool:
    """The system user, made when missing (True then); its home mode 700 either way."""
    name, made = person["name"], False
    try:
        pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "--create-home", "--shell", "/bin/bash", name])
        made = True
    home = pwd.getpwnam(name).pw_dir
    os.chmod(home, 0o700)      # Debian makes homes 755: a student could read another's files
    return made


def _first_password(state: Path, name: str) -> None:
    """A random password for a new user, set with chpasswd and added to STATE/initial-passwords
    (mode 600): hand each one to its owner, who changes it with `passwd`."""
    password = secrets.token_urlsafe(12)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
    book = state / "initial-passwords"
    with open(os.open(book, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as f:
        f.write(f"{name} {password}\n")
    print(f"{name}: first password in {book}")


def _copy_into(home: Path, folder: str, what: dict, user: str) -> None:
    """REPO's files into ``home/folder`` ({source: destination} in ``what``), once: a copy that
    exists is the user's own now, never overwritten."""
    dest = home / folder
    if dest.exists():
        return
    dest.mkdir()
    for name, target in what.items():
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / target, ignore=IGNORE, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dest / target)
    _chown_tree(dest, user)


def _write_owned(path: Path, user: str, text: str) -> None:
    home = Path(pwd.getpwnam(user).pw_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    # every folder between the home and the file belongs to the user, as if they had made it
    p = path
    while p != home:
        _chown(p, user)
        p = p.parent


def _chown(path: Path, user: str) -> None:
    pw = pwd.getpwnam(user)
    os.chown(path, pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def _chown_tree(root: Path, user: str) -> None:
    _chown(root, user)
    for p in root.rglob("*"):
        _chown(p, user)


def _exchange(cfg: dict, instructor: str, students: list[str]) -> None:
    """nbgrader's shared-directory exchange, with the permissions nbgrader documents: the root
    exactly 0777 plus the sticky bit (nbgrader refuses other bits; the sticky bit keeps a student
    from renaming the course folder), and the course's folder made for the instructor before the
    class starts (anyone may create folders in the root)."""
    root = Path(cfg["exchange"])
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o1777)
    course = root / cfg["course_id"]
    course.mkdir(exist_ok=True)
    _chown(course, instructor)
    os.chmod(course, 0o755)


# -- start / stop ----------------------------------------------------------------------------
def hub_command(cfg: dict) -> tuple[list[str], dict]:
    """The hub's command and its whole environment: a clean one (`env -i`), because the local
    spawner hands the hub's PATH, PYTHONPATH, LD_LIBRARY_PATH, VIRTUAL_ENV... to every server."""
    env = {"PATH": f"{cfg['venv']}/bin:{SYSTEM_PATH}", "HOME": "/root", "LANG": "C.UTF-8"}
    cmd = [f"{cfg['venv']}/bin/jupyterhub", "-f", f"{cfg['etc']}/jupyterhub_config.py"]
    return cmd, env


def pid_file(cfg: dict) -> Path:
    return Path(cfg["state"]) / "jupyterhub.pid"


def running_pid(cfg: dict) -> int | None:
    try:
        pid = int(pid_file(cfg).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if any(b"jupyterhub" in part for part in cmdline[:2]) else None


def wait_ready(cfg: dict, timeout: float = 60, proc: subprocess.Popen | None = None) -> float:
    """Seconds until the hub answers on its public port (through the proxy)."""
    t0 = time.monotonic()
    url = f"http://{cfg['ip']}:{cfg['port']}/hub/health"
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"jupyterhub exited with {proc.returncode}; see {cfg['state']}/jupyterhub.log")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the hub did not answer {url} within {timeout:.0f} s")


def start(cfg: dict, background: bool) -> int:
    pid = running_pid(cfg)
    if pid:
        print(f"the hub runs already (pid {pid}) at http://{cfg['ip']}:{cfg['port']}/")
        return 0
    cmd, env = hub_command(cfg)
    state = Path(cfg["state"])
    if background:
        log = open(state / "jupyterhub.log", "ab")
        proc = subprocess.Popen(cmd, env=env, cwd=state, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        pid_file(cfg).write_text(str(proc.pid))
        seconds = wait_ready(cfg, proc=proc)
        print(f"the hub is up in {seconds:.1f} s at http://{cfg['ip']}:{cfg['port']}/ (pid {proc.pid}, "
              f"log {state}/jupyterhub.log); stop it with `make hub-stop`")
        return 0
    print(f"Starting the course hub at http://{cfg['ip']}:{cfg['port']}/ (Ctrl-C stops it and "
          "every user's server).", flush=True)
    proc = subprocess.Popen(cmd, env=env, cwd=state)
    pid_file(cfg).write_text(str(proc.pid))
    try:
        return proc.wait()
    except KeyboardInterrupt:      # the hub got the same SIGINT from the terminal: let it finish
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            return proc.wait()
    finally:
        pid_file(cfg).unlink(missing_ok=True)


def stop(cfg: dict, timeout: float = 30) -> int:
    pid = running_pid(cfg)
    if not pid:
        print("the hub is not running")
        pid_file(cfg).unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)   # the hub stops the proxy and every user's server first
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:                       # reap it when it is our child (tests start it that way)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        print(f"the hub (pid {pid}) did not stop within {timeout:.0f} s; SIGKILL")
        os.kill(pid, signal.SIGKILL)
    pid_file(cfg).unlink(missing_ok=True)
    print("the hub stopped")
    return 0


# -- command line ----------------------------------------------------------------------------
def load_settings(args) -> dict:
    """Options given on the command line win; else what `install` wrote; else the defaults."""
    saved = Path(args.etc) / "hub.json"
    cfg = json.loads(saved.read_text()) if saved.exists() else {}
    fresh = settings_from(args)
    for key in ("ip", "port", "hub_port", "proxy_api_port", "opt", "state", "exchange",
                "exchange_kind", "instructors_group"):
        if getattr(args, key, None) is not None and args.explicit.get(key):
            cfg[key] = fresh[key]
    for key, value in fresh.items():
        cfg.setdefault(key, value)
    if args.explicit.get("opt"):
        cfg.update(venv=fresh["venv"], proxy=fresh["proxy"])
    return cfg


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/hub.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "install", "enroll", "start", "stop", "where"])
    parser.add_argument("--roster", default=str(DEPLOY / "roster.txt"))
    parser.add_argument("--background", action="store_true", help="start: detach, log to STATE")
    defaults = {"opt": "/opt/rnnviz-hub", "etc": "/etc/rnnviz-hub", "state": "/srv/rnnviz-hub",
                "exchange": "/srv/nbgrader/exchange", "ip": "127.0.0.1", "port": 8000,
                "hub_port": 8081, "proxy_api_port": 8001, "exchange_kind": "kit",
                "instructors_group": "instructors"}
    for key, value in defaults.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=None,
                            **({"choices": ["kit", "nbgrader"]} if key == "exchange_kind" else {}))
    args = parser.parse_args(argv)
    args.explicit = {k: getattr(args, k) is not None for k in defaults}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if os.geteuid() != 0 and args.action != "where":
        raise SystemExit("deploy/hub.py runs as root: it creates users and starts the hub, which "
                         "switches to each user to start their server")
    cfg = load_settings(args)
    if args.action == "where":
        print(json.dumps(cfg, indent=1))
        return 0
    if args.action in ("up", "install"):
        install(cfg)
    if args.action in ("up", "enroll"):
        enroll(cfg, Path(args.roster))
    if args.action in ("up", "start"):
        return start(cfg, args.background)
    if args.action == "stop":
        return stop(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
