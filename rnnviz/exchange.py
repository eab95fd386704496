"""An nbgrader exchange that a student can neither forge nor read: a folder per student, owned.

nbgrader's default exchange is one folder every user may write (``inbound/`` 2733, each submission
a folder of mode 777): any student can submit under another's name (``collect`` only warns, and
``collect --update`` takes the forgery), and anyone who knows a submission's or a feedback file's
name can read it. Here the same shared folder is made safe by Unix ownership alone (no service, no
ACLs): ``enroll``, run by root, makes one inbound and one feedback folder per student::

    ROOT/                           root:root           0755
    ROOT/COURSE/                    root:root           0755
    ROOT/COURSE/outbound/           root:INSTRUCTORS    2775  instructors release, everyone reads
    ROOT/COURSE/inbound/            root:INSTRUCTORS    0751  students pass through, cannot list
    ROOT/COURSE/inbound/STUDENT/    STUDENT:INSTRUCTORS 2770  only STUDENT (and instructors) write
    ROOT/COURSE/feedback/           root:INSTRUCTORS    0751
    ROOT/COURSE/feedback/STUDENT/   OWNER:STUDENT'S GROUP 2750  OWNER (an instructor) writes,
                                                              only STUDENT reads

The classes below are nbgrader 0.9's own exchange classes with those paths and permissions and
nothing else changed: timestamps, the submission secret, the student's cache, and what ``list``
returns (what the Assignment List extension shows) are nbgrader's. A student submits into their own
folder under their own Unix name (``--student`` naming anyone else is refused); ``collect`` takes a
submission only when its folder, its name and every file in it belong to the student it names, and
copies regular files only (never a link a student planted); feedback goes to the student's folder,
readable by their private group only.

Configure nbgrader for it (in an ``nbgrader_config.py`` every user reads, e.g. the environment's
``etc/jupyter/nbgrader_config.py``)::

    from rnnviz.exchange import use_safe_exchange
    use_safe_exchange(c, root="/srv/nbgrader/exchange")

and enroll the class, as root (again whenever a student joins; it repairs what it finds)::

    python -m rnnviz.exchange enroll --root /srv/nbgrader/exchange --course rnnviz \\
        --instructors instructors [--feedback-owner instructor] student1 student2 ...
"""
from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import grp
import os
import pwd
import re
import shutil
import stat
import sys
import tempfile
from collections import defaultdict

from nbgrader.exchange import default
from nbgrader.utils import get_osusername, ignore_patterns, notebook_hash

# permissions of what the exchange classes write
SUBMISSION_DIR, SUBMISSION_FILE = 0o770, 0o640    # group: the instructors (inherited, setgid)
RELEASE_DIR, RELEASE_FILE = 0o2775, 0o664         # group: the instructors; everyone reads
FEEDBACK_FILE = 0o640                             # group: the student's private group (inherited)

_CLASSES = {"exchange": "SafeExchange", "fetch_assignment": "SafeFetchAssignment",
            "fetch_feedback": "SafeFetchFeedback", "release_assignment": "SafeReleaseAssignment",
            "release_feedback": "SafeReleaseFeedback", "list": "SafeList", "submit": "SafeSubmit",
            "collect": "SafeCollect"}


def use_safe_exchange(c, root: str | None = None) -> None:
    """Point nbgrader's ExchangeFactory in the config ``c`` at the classes of this module (and set
    ``Exchange.root`` when ``root`` is given)."""
    for trait, name in _CLASSES.items():
        setattr(c.ExchangeFactory, trait, f"{__name__}.{name}")
    if root is not None:
        c.Exchange.root = root


def owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def foreign_entry(path: str, student: str) -> str | None:
    """Why the folder ``path`` is not wholly ``student``'s own (an entry another user owns, a
    link, a special file), or None. Nothing is followed."""
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a folder"
    if owner_name(info.st_uid) != student:
        return f"{path} is owned by {owner_name(info.st_uid)}, not {student}"
    for top, dirs, files in os.walk(path, followlinks=False):
        for name in dirs + files:
            entry = os.path.join(top, name)
            info = os.lstat(entry)
            if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
                return f"{entry} is not a regular file or folder"
            if owner_name(info.st_uid) != student:
                return f"{entry} is owned by {owner_name(info.st_uid)}, not {student}"
    return None


class _Safe:
    """What every class of this exchange shares: the root is never made or opened up here."""

    def ensure_root(self):
        if not (os.path.isdir(self.root) and os.access(self.root, os.X_OK)):
            self.fail(f"The exchange {self.root} does not exist or cannot be entered: ask your "
                      f"instructor (it is made by `python -m rnnviz.exchange enroll`, as root)")

    def _course_path(self) -> str:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        return os.path.join(self.root, self.coursedir.course_id)

    def _me(self) -> str:
        """The Unix user running this: the only student id this process may act for."""
        me = get_osusername()
        asked = self.coursedir.student_id
        if asked not in ("", "*", me):
            self.fail(f"You can only act as yourself ({me}), not as {asked!r}")
        return me

    def _need(self, path: str, what: str) -> None:
        if not os.path.isdir(path):
            self.fail(f"{what} {path} does not exist: the course is not set up for this exchange "
                      f"(run `python -m rnnviz.exchange enroll`, as root)")


class SafeExchange(_Safe, default.Exchange):
    pass


class SafeFetchAssignment(_Safe, default.ExchangeFetchAssignment):
    pass


class SafeReleaseAssignment(_Safe, default.ExchangeReleaseAssignment):
    """Releases into ``outbound/`` (made by enroll, writable by the instructors' group)."""

    def init_dest(self):
        self.course_path = self._course_path()
        self.outbound_path = os.path.join(self.course_path, "outbound")
        self.inbound_path = os.path.join(self.course_path, "inbound")
        self.dest_path = os.path.join(self.outbound_path, self.coursedir.assignment_id)
        for path in (self.outbound_path, self.inbound_path):
            self._need(path, "The exchange folder")
        if not os.access(self.outbound_path, os.W_OK | os.X_OK):
            self.fail(f"You cannot release into {self.outbound_path}: you are not in its group "
                      f"(the instructors' group given to enroll)")

    def copy_files(self):
        super().copy_files()
        # group-writable, so that another instructor can release it again with --force
        self.set_perms(self.dest_path, fileperms=RELEASE_FILE, dirperms=RELEASE_DIR)


class SafeSubmit(_Safe, default.ExchangeSubmit):
    """Submits into ``inbound/ME/`` as ``ME+ASSIGNMENT+TIMESTAMP+RANDOM`` (nbgrader's name), ME
    being the Unix user: only ME and the instructors can enter that folder."""

    def init_dest(self):
        me = self._me()
        if not self.authenticator.has_access(me, self.coursedir.course_id):
            self.fail("You do not have access to this course.")
        self.inbound_path = os.path.join(self._course_path(), "inbound", me)
        if not os.path.isdir(self.inbound_path):
            self.fail(f"You ({me}) are not enrolled in course {self.coursedir.course_id!r}: "
                      f"ask your instructor (no folder {self.inbound_path})")
        if owner_name(os.stat(self.inbound_path).st_uid) != me or not os.access(
                self.inbound_path, os.W_OK | os.X_OK):
            self.fail(f"The folder {self.inbound_path} is not yours: ask your instructor to "
                      f"enroll you again")
        self.cache_path = os.path.join(self.cache, self.coursedir.course_id)
        name = f"{me}+{self.coursedir.assignment_id}+{self.timestamp}"
        if self.add_random_string:
            name += "+" + secrets_token()
        self.assignment_filename = name

    def copy_files(self):
        super().copy_files()
        # nbgrader opens each submission to everyone (777, "hidden by the timestamp"): here only
        # the student and the instructors' group (inherited from inbound/ME, setgid) may enter it
        self.set_perms(os.path.join(self.inbound_path, self.assignment_filename),
                       fileperms=SUBMISSION_FILE, dirperms=SUBMISSION_DIR)

    def do_copy(self, src, dest, log=None):
        """Into the inbound folder: the files' contents only, so that every folder and file made
        there (timestamp.txt and the secret too) takes the instructors' group from the setgid
        folder. (nbgrader's copytree copies the source folders' modes, which drops the setgid bit,
        and the student, not in that group, could not set it again.) The cache: nbgrader's copy."""
        if os.path.dirname(dest) != self.inbound_path:
            return super().do_copy(src, dest, log)
        size = self.get_size(src)
        if size > 1000 * self.coursedir.max_dir_size:
            self.log.error("Directory size is too big")
            raise RuntimeError(f"Directory size is too big. Size is {size}, maximum size is "
                               f"{1000 * self.coursedir.max_dir_size}")
        ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                 max_file_size=self.coursedir.max_file_size, log=self.log)
        for top, dirs, files in os.walk(src):
            skip = ignore(top, dirs + files) or set()
            dirs[:] = [d for d in dirs if d not in skip]
            here = os.path.normpath(os.path.join(dest, os.path.relpath(top, src)))
            os.makedirs(here, exist_ok=True)
            for name in files:
                if name not in skip:
                    shutil.copyfile(os.path.join(top, name), os.path.join(here, name))


def secrets_token() -> str:
    """nbgrader's random suffix of a submission's name (12 URL-safe characters)."""
    return base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")


class SafeCollect(_Safe, default.ExchangeCollect):
    """Collects from ``inbound/STUDENT/``: the newest genuine submission of each student (before
    the due date with ``--before-duedate``), as nbgrader. A submission whose folder, name or files
    are not all the student's own is skipped with a warning, never collected."""

    def init_src(self):
        self.course_path = self._course_path()
        self.inbound_path = os.path.join(self.course_path, "inbound")
        self._need(self.inbound_path, "The inbound folder")
        if not os.access(self.inbound_path, os.R_OK | os.X_OK):
            self.fail(f"You cannot read {self.inbound_path}: you are not in the instructors' group")
        student = self.coursedir.student_id or "*"
        assignment = self.coursedir.assignment_id
        records = []
        for path in sorted(glob.glob(os.path.join(self.inbound_path, student, f"*+{assignment}+*"))):
            record = self._path_to_record(path)
            folder = os.path.basename(os.path.dirname(path))
            problem = (f"it names {record['username']} but lies in {folder}'s folder"
                       if record["username"] != folder else foreign_entry(path, folder))
            if problem:
                self.log.warning("Not collecting %s: %s (a forged submission?)", path, problem)
                continue
            record["filename"] = os.path.join(folder, record["filename"])  # nbgrader joins it
            records.append(record)
        self.src_records = self._choose(records)

    def _choose(self, records: list[dict]) -> list[dict]:
        """Each student's newest record; with --before-duedate, the newest one before the due
        date if there is one (nbgrader's rule)."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        by_student = defaultdict(list)
        for record in records:
            by_student[record["username"]].append(record)
        chosen = []
        for mine in by_student.values():
            mine = self._sort_by_timestamp(mine)
            if self.duedate is not None and self.before_duedate:
                early = [r for r in mine if r["timestamp"] <= self.duedate]
                mine = early or mine
            chosen.append(mine[0])
        return chosen

    def do_copy(self, src, dest, log=None):
        """Copy the submission's regular files, each checked on the open file: owned by the student,
        not a link (a file swapped for a link after the check is refused, not followed)."""
        student = os.path.basename(os.path.dirname(src))
        ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                 max_file_size=self.coursedir.max_file_size, log=self.log)
        uid = pwd.getpwnam(student).pw_uid
        os.makedirs(dest)
        try:
            _copy_owned(src, dest, uid, ignore)
        except OSError as exc:   # the others are still collected
            shutil.rmtree(dest, ignore_errors=True)
            self.log.error("Not collected: %s: %s", src, exc)


def _copy_owned(src: str, dest: str, uid: int, ignore) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    for top, dirs, files, top_fd in os.fwalk(src, follow_symlinks=False):
        rel = os.path.relpath(top, src)
        skip = ignore(top, dirs + files) or set()
        dirs[:] = [d for d in dirs if d not in skip]
        for name in dirs:
            os.makedirs(os.path.join(dest, rel, name), exist_ok=True)
        for name in files:
            if name in skip:
                continue
            fd = os.open(name, flags, dir_fd=top_fd)
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(f.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_uid != uid:
                    raise OSError(f"{os.path.join(rel, name)} is not a regular file of the student's")
                with open(os.path.join(dest, rel, name), "wb") as out:
                    shutil.copyfileobj(f, out)


class SafeReleaseFeedback(_Safe, default.ExchangeReleaseFeedback):
    """Releases each feedback page to ``feedback/STUDENT/HASH.html`` (nbgrader's hash of the
    submission secret and the notebook), mode 0640 in a folder of the student's private group."""

    def init_dest(self):
        self.dest_path = os.path.join(self._course_path(), "feedback")
        self._need(self.dest_path, "The feedback folder")

    def copy_files(self):
        excluded = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        pattern = re.escape(os.path.sep).join([
            self.coursedir.format_path(self.coursedir.feedback_directory, "(?P<student_id>.*)",
                                       self.coursedir.assignment_id, escape=True),
            r"(?P<notebook_id>.*)\.html"])
        for html in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            m = re.match(pattern, html)
            if m is None:
                self.log.error("Could not match %r with %r", html, pattern)
                continue
            student, notebook = m.group("student_id"), m.group("notebook_id")
            if student in excluded:
                continue
            folder = os.path.join(self.dest_path, student)
            if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
                self.log.error("Feedback for %s not released: %s is missing or not writable by you "
                               "(enroll the student; --feedback-owner is who releases)", student, folder)
                continue
            here = os.path.dirname(html)
            with open(os.path.join(here, "timestamp.txt")) as f:
                timestamp = f.read()
            with open(os.path.join(here, "submission_secret.txt")) as f:
                secret = f.read()
            target = os.path.join(folder, notebook_hash(secret=secret, notebook_id=notebook) + ".html")
            self.log.info("Releasing feedback for student '%s' on assignment '%s/%s/%s' (%s)",
                          student, self.coursedir.course_id, self.coursedir.assignment_id, notebook,
                          timestamp)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out, open(html, "rb") as f:
                    shutil.copyfileobj(f, out)
                    os.fchmod(out.fileno(), FEEDBACK_FILE)
                os.replace(tmp, target)
            except BaseException:
                os.unlink(tmp)
                raise
            self.log.info("Feedback released to: %s", target)


def feedback_path(root: str, course: str, student: str, secret: str, notebook: str) -> str:
    return os.path.join(root, course, "feedback", student,
                        notebook_hash(secret=secret, notebook_id=notebook) + ".html")


class SafeFetchFeedback(_Safe, default.ExchangeFetchFeedback):
    """Fetches the feedback of this user's own cached submissions from ``feedback/ME/``."""

    def init_src(self):
        course = self._course_path()
        me = self._me()
        self.course_path = course
        self.outbound_path = self.src_path = os.path.join(course, "feedback", me)
        self.cache_path = os.path.join(self.cache, self.coursedir.course_id)
        if not os.path.isdir(self.src_path):
            self._assignment_not_found(self.src_path, os.path.join(course, "feedback", "*"))
        assignment = self.coursedir.assignment_id or "*"
        self.feedback_files = []
        for submission in sorted(glob.glob(os.path.join(self.cache_path, f"*+{assignment}+*"))):
            _, assignment_id, timestamp = os.path.basename(submission).rsplit("+", 2)
            secret_file = os.path.join(submission, "submission_secret.txt")
            if not os.path.isfile(secret_file):
                self.log.warning("No submission secret in %s: its feedback cannot be found", submission)
                continue
            with open(secret_file) as f:
                secret = f.read()
            for nb in sorted(glob.glob(os.path.join(submission, "*.ipynb"))):
                notebook = os.path.splitext(os.path.basename(nb))[0]
                path = feedback_path(self.root, self.coursedir.course_id, me, secret, notebook)
                if os.path.isfile(path):
                    self.feedback_files.append((notebook, timestamp, path))
                    self.log.info("Found feedback for '%s/%s/%s' submitted at %s",
                                  self.coursedir.course_id, assignment_id, notebook, timestamp)
                else:
                    self.log.warning("Could not find feedback for '%s/%s/%s' submitted at %s",
                                     self.coursedir.course_id, assignment_id, notebook, timestamp)


_INBOUND_NAME = re.compile(r"(?P<student_id>[^+]*)\+(?P<assignment_id>[^+]*)\+(?P<timestamp>[^+]*)"
                           r"(?P<random_string>\+.*)?$")


class SafeList(_Safe, default.ExchangeList):
    """nbgrader's list; ``--inbound`` looks in the students' folders, and whether feedback is
    ready is looked up in ``feedback/STUDENT/``."""

    def init_dest(self):
        if not self.inbound:
            return super().init_dest()
        course = self.coursedir.course_id or "*"
        assignment = self.coursedir.assignment_id or "*"
        student = self.coursedir.student_id or "*"
        pattern = os.path.join(self.root, course, "inbound", student, f"{student}+{assignment}+*")
        self.assignments = []
        for path in sorted(glob.glob(pattern)):
            m = _INBOUND_NAME.match(os.path.basename(path))
            if m and m.group("student_id") == os.path.basename(os.path.dirname(path)):
                self.assignments.append(path)

    def parse_assignment(self, assignment):
        if not self.inbound:
            return super().parse_assignment(assignment)
        info = _INBOUND_NAME.match(os.path.basename(assignment)).groupdict()
        info["course_id"] = os.path.basename(os.path.dirname(os.path.dirname(os.path.dirname(assignment))))
        return info

    def parse_assignments(self):
        assignments = super().parse_assignments()
        if self.inbound or self.cached:
            for assignment in assignments:
                for info in assignment["submissions"]:
                    self._feedback_state(info)
        return assignments

    def _feedback_state(self, info: dict) -> None:
        """nbgrader's has_exchange_feedback / feedback_updated, from feedback/STUDENT/."""
        secret_file = os.path.join(info["path"], "submission_secret.txt")
        if not info.get("notebooks") or not os.path.isfile(secret_file):
            return
        with open(secret_file) as f:
            secret = f.read()
        for nb in info["notebooks"]:
            path = feedback_path(self.root, info["course_id"], info["student_id"], secret,
                                 nb["notebook_id"])
            nb["has_exchange_feedback"] = os.path.isfile(path)
            nb["feedback_updated"] = bool(
                nb["has_local_feedback"] and nb["has_exchange_feedback"]
                and _md5(path) != _md5(nb["local_feedback_path"]))
        info["has_exchange_feedback"] = all(nb["has_exchange_feedback"] for nb in info["notebooks"])
        info["feedback_updated"] = any(nb["feedback_updated"] for nb in info["notebooks"])


def _md5(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


# -- enrollment (root) -------------------------------------------------------------------------------

def _folder(path: str, uid: int, gid: int, mode: int) -> None:
    """``path`` a real folder (not a link) owned uid:gid with ``mode``; made if missing."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def private_group_problem(student: pwd.struct_passwd) -> str | None:
    """Why the student's primary group is not theirs alone (feedback is readable by that group)."""
    group = grp.getgrgid(student.pw_gid)
    others = {m for m in group.gr_mem if m != student.pw_name}
    others |= {u.pw_name for u in pwd.getpwall() if u.pw_gid == student.pw_gid and u.pw_name != student.pw_name}
    if others:
        return (f"{student.pw_name}'s primary group {group.gr_name} also holds {', '.join(sorted(others))}, "
                f"who could read {student.pw_name}'s feedback: give each student a private group "
                f"(useradd's default on Debian and Ubuntu)")
    return None


def enroll(root: str, course: str, instructors: str, students: list[str],
           feedback_owner: str | None = None, out=sys.stdout) -> None:
    """Make (or repair) the exchange's folders for ``course`` and each of ``students`` (as root)."""
    if os.geteuid() != 0:
        raise SystemExit("enroll: run it as root (it gives each student's folder to the student)")
    if not course or "/" in course or course.startswith("."):
        raise SystemExit(f"enroll: {course!r} is not a course id")
    group = grp.getgrnam(instructors)
    members = set(group.gr_mem) | {u.pw_name for u in pwd.getpwall() if u.pw_gid == group.gr_gid}
    if feedback_owner is None:
        if len(members) != 1:
            raise SystemExit(f"enroll: group {instructors} has {len(members)} members "
                             f"({', '.join(sorted(members)) or 'none'}): name the one who releases "
                             f"feedback with --feedback-owner")
        feedback_owner = members.pop()
    owner = pwd.getpwnam(feedback_owner)
    accounts = []
    for name in students:
        if not name or name.startswith(".") or any(ch in name for ch in "+*/"):
            raise SystemExit(f"enroll: {name!r} cannot be a student id (no '+', '*', '/', leading '.')")
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            raise SystemExit(f"enroll: no user {name!r} on this machine") from None
        problem = private_group_problem(account)
        if problem:
            raise SystemExit(f"enroll: {problem}")
        if name in members:
            raise SystemExit(f"enroll: {name} is in the instructors' group {instructors}")
        accounts.append(account)
    course_path = os.path.join(root, course)
    os.makedirs(root, exist_ok=True)
    _folder(root, 0, 0, 0o755)
    _folder(course_path, 0, 0, 0o755)
    _folder(os.path.join(course_path, "outbound"), 0, group.gr_gid, 0o2775)
    for name in ("inbound", "feedback"):
        _folder(os.path.join(course_path, name), 0, group.gr_gid, 0o751)
    for account in accounts:
        _folder(os.path.join(course_path, "inbound", account.pw_name), account.pw_uid, group.gr_gid, 0o2770)
        _folder(os.path.join(course_path, "feedback", account.pw_name), owner.pw_uid, account.pw_gid, 0o2750)
    print(f"enrolled {len(accounts)} student(s) in {course_path} (instructors: group {instructors}; "
          f"feedback released by {owner.pw_name})", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnviz.exchange",
                                     description="The kit's nbgrader exchange (see its docstring).")
    sub = parser.add_subparsers(dest="command", required=True)
    en = sub.add_parser("enroll", help="make the course's folders and each student's (as root)")
    en.add_argument("--root", required=True, help="the exchange root (nbgrader's Exchange.root)")
    en.add_argument("--course", required=True, help="the course id (CourseDirectory.course_id)")
    en.add_argument("--instructors", required=True, help="the Unix group of the instructors")
    en.add_argument("--feedback-owner", default=None,
                    help="the instructor who releases feedback (default: the group's only member)")
    en.add_argument("students", nargs="*", metavar="STUDENT", help="Unix user names")
    args = parser.parse_args(argv)
    enroll(args.root, args.course, args.instructors, args.students, args.feedback_owner)
    return 0


if __name__ == "__main__":
    sys.exit(main())
