"""JupyterHub's configuration for the course: a template for a real deployment on one machine.

deploy/hub.py copies it to ETC/ beside hub.json (the folders, ports and course id) and roster (who
takes part), and starts `jupyterhub -f ETC/jupyterhub_config.py` as root, in a clean environment,
from STATE (mode 700: the database and the cookie secret).

- Log in: PAM, the machine's accounts; only the names in the roster, each with the password
  `hub.py enroll` gave it (a user changes it with `passwd`). Instructors are the hub's admins.
- Servers: the local process spawner, each user's JupyterLab as that system user in their home,
  from the root-owned venv (the kit, JupyterLab, nbgrader). Nothing from the hub's environment
  reaches a server but what `c.Spawner.environment` says.
- Instructors (the `instructors` group) get nbgrader's formgrader; students only the Assignment List.
- A user whose roster line says `ja` has JupyterLab in Japanese and starts on course/ja/.
"""
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub defines it)
ETC = Path(__file__).resolve().parent
hub = json.loads((ETC / "hub.json").read_text())
VENV, STATE = hub["venv"], hub["state"]


def roster():
    """(name, role, lang) per person in ETC/roster (written by `hub.py enroll`)."""
    people = []
    path = ETC / "roster"
    for line in (path.read_text().splitlines() if path.exists() else []):
        words = line.split("#", 1)[0].split()
        if len(words) >= 2:
            people.append((words[0], words[1], words[2] if len(words) > 2 else "en"))
    return people


PEOPLE = roster()
INSTRUCTORS = {name for name, role, _ in PEOPLE if role == "instructor"}
JAPANESE = {name for name, _, lang in PEOPLE if lang == "ja"}

# -- where it listens: the proxy on the public port, the hub and the proxy's API beside it -----
c.JupyterHub.ip = hub["ip"]
c.JupyterHub.port = hub["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub['proxy_api_port']}"
# configurable-http-proxy, pinned, from npm (hub.py install); the hub starts and stops it
c.ConfigurableHTTPProxy.command = [hub["proxy"]]
c.JupyterHub.db_url = f"sqlite:///{STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{STATE}/jupyterhub_cookie_secret"

# -- who may log in --------------------------------------------------------------------------
# PAM: the machine's own accounts, which the local spawner needs anyway. `hub.py enroll` gives
# each new user a random first password (in STATE/initial-passwords, root only); a user changes it
# with `passwd` in a JupyterLab terminal. (NativeAuthenticator 1.3.0, the sign-up page, does not
# work with JupyterHub 6: its login form fails on the statsd client JupyterHub 6 removed.)
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {name for name, _, _ in PEOPLE}   # the roster, no one else
c.Authenticator.admin_users = INSTRUCTORS
c.JupyterHub.load_groups = {"instructors": {"users": sorted(INSTRUCTORS)}}

# -- each user's server ----------------------------------------------------------------------
c.Spawner.cmd = [f"{VENV}/bin/jupyterhub-singleuser"]       # LocalProcessSpawner: the default
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab/tree/course/README.md"
c.Spawner.start_timeout = 120      # a class logging in together queues spawns on a small machine
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    # the venv first: nbgrader runs `alembic` by name, terminals need `jupyter` and `nbgrader`
    "PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    # every user's nbgrader configuration (the course id, the exchange)
    "JUPYTER_CONFIG_PATH": str(ETC / "jupyter"),
    # one BLAS thread per kernel: the course's models are small, and many students share the cores
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}


def pre_spawn_hook(spawner):
    """Instructors: the formgrader (instructor-config/ outranks the venv's settings that turn it
    off for everyone). Japanese users start on the Japanese edition."""
    name = spawner.user.name
    env = dict(spawner.environment)
    if name in INSTRUCTORS or any(g.name == "instructors" for g in spawner.user.groups):
        env["JUPYTER_CONFIG_PATH"] = f"{ETC / 'instructor-config'}:{ETC / 'jupyter'}"
        spawner.default_url = "/lab/tree/course"       # the course folder: solutions/, course/
    spawner.environment = env
    if name in JAPANESE:
        spawner.default_url = "/lab/tree/course/ja/README.md"


c.Spawner.pre_spawn_hook = pre_spawn_hook

# A server idle for long still holds its memory: jupyterhub-idle-culler (a hub service) stops
# them; LocalProcessSpawner does not enforce c.Spawner.mem_limit (systemdspawner does).
