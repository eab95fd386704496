"""How many students a machine holds on the course hub: measured with a few simulated students.

    sudo .venv/bin/python benchmarks/hub_capacity.py [--students 3] [--lesson course/02_recurrence.ipynb]

What it does (as root, with deploy/hub.py's hub on free ports and system users that it removes):
starts the hub (timed), logs each student in through the REST API with their password and spawns
their server one after another (timed), then has every student run the same lesson at once: a
session on the lesson (the kernel's folder is the lesson's), each code cell sent over the kernel's
websocket as JupyterLab sends it. Then it reads, from /proc, the memory of each student's processes
(the single-user server and the kernel; RSS and PSS from smaps_rollup) and extrapolates how many
such students fit in this machine's memory, keeping 2 GiB for the system, the hub and grading.
Load averages are printed with the figures: other work on the machine inflates the times.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "hub"))
import hubkit  # noqa: E402


def memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of one process in MiB."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss / 1024, pss / 1024


def user_processes(name: str) -> dict[str, list[int]]:
    uid = pwd.getpwnam(name).pw_uid
    found = {"server": [], "kernel": [], "other": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        kind = ("server" if "jupyterhub-singleuser" in cmd else
                "kernel" if "ipykernel" in cmd else "other")
        found[kind].append(int(entry.name))
    return found


async def run_lesson(hub: hubkit.ClassHub, name: str, token: str, lesson: str) -> float:
    """Every code cell of ``lesson`` (a path in the student's home) in a kernel of their server."""
    import nbformat
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    session = hub.user_api(name, token, "POST", "/sessions",
                           {"path": lesson, "type": "notebook", "name": Path(lesson).name,
                            "kernel": {"name": "python3"}})
    kid = session["kernel"]["id"]
    url = hub.url.replace("http", "ws") + f"/user/{name}/api/kernels/{kid}/channels"
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}),
                                 max_message_size=1 << 28)
    nb = nbformat.read(REPO / "course" / Path(lesson).name, as_version=4)
    t0 = time.monotonic()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        msg_id = uuid.uuid4().hex
        await ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": name, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": cell.source, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        while True:
            raw = await ws.read_message()
            if raw is None:
                raise RuntimeError(f"{name}: the kernel's websocket closed")
            if not isinstance(raw, str):      # a message with binary buffers (a figure, a widget)
                continue
            reply = json.loads(raw)
            if reply.get("parent_header", {}).get("msg_id") == msg_id and \
                    reply.get("msg_type") == "execute_reply":
                if reply["content"]["status"] != "ok":
                    raise RuntimeError(f"{name}: a cell of {lesson} failed: {reply['content']}")
                break
    ws.close()
    return time.monotonic() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--lesson", default="course/02_recurrence.ipynb",
                        help="a lesson, as a path in a student's home (its course/ folder)")
    parser.add_argument("--reserve-gib", type=float, default=2.0)
    args = parser.parse_args()
    why = hubkit.missing()
    if why:
        raise SystemExit(why)
    prefix = hubkit.unique_prefix()
    people = [(f"{prefix}i", "instructor", "en")] + [(f"{prefix}s{k}", "student", "en")
                                                    for k in range(args.students)]
    students = [n for n, r, _ in people if r == "student"]
    hub = hubkit.ClassHub(people)
    figures: dict = {"load_before": os.getloadavg()}
    try:
        hub.install()
        hub.enroll()
        figures["hub_start_s"] = round(hub.start(), 2)
        tokens = {n: hub.token(n) for n in students}
        figures["spawn_s"] = [round(hub.spawn(n, tokens[n]), 2) for n in students]
        idle = {n: user_processes(n)["server"] for n in students}
        figures["idle_server_mib"] = [[round(v, 1) for v in memory(p)] for n in students
                                      for p in idle[n]]

        async def all_lessons():
            return await asyncio.gather(*(run_lesson(hub, n, tokens[n], args.lesson)
                                          for n in students))
        t0 = time.monotonic()
        figures["lesson_s"] = [round(s, 1) for s in asyncio.run(all_lessons())]
        figures["all_lessons_wall_s"] = round(time.monotonic() - t0, 1)
        figures["load_after_lessons"] = os.getloadavg()
        per_student = []
        for n in students:
            procs = user_processes(n)
            rss = pss = 0.0
            for kind in ("server", "kernel"):
                for pid in procs[kind]:
                    r, p = memory(pid)
                    rss, pss = rss + r, pss + p
                    figures.setdefault(f"{kind}_mib", []).append([round(r, 1), round(p, 1)])
            per_student.append((rss, pss))
        rss = max(r for r, _ in per_student)
        pss = max(p for _, p in per_student)
        total_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        room = (total_gib - args.reserve_gib) * 1024
        figures.update(per_student_rss_mib=round(rss, 1), per_student_pss_mib=round(pss, 1),
                       machine_gib=round(total_gib, 1), cores=os.cpu_count(),
                       students_by_rss=int(room // rss), students_by_pss=int(room // pss))
    finally:
        hub.close()
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
