"""What is graded of a submission: regular files only, cells as the release defines them.

``copy_submission`` copies a student's folder into the grader's scratch course: regular files only
(a symlink, FIFO or device is refused with a reason and never followed), within size limits.
``normalize`` rewrites each copied notebook so that only the release decides how cells run and what
earns points: every cell's metadata except nbgrader's is dropped (tags such as ``skip-execution``
or ``raises-exception``, ``jupyter``, ``execution``), the first cell carrying a release cell's
``grade_id`` gets the release's nbgrader metadata (and, for a test cell, its type and source), a
copy of it or a cell claiming an id the release does not have becomes an ordinary cell, and a test
cell the learner moved out of the release's order or deleted is put (back) just before the next
release cell, so that it runs after the code it tests. ``normalize`` also says what it restored: a
test cell whose source the learner edited (compared with the release's source without its hidden
tests, which the learner's notebook never had), deleted, turned into another type of cell or moved,
and a cell claiming points the release does not give it; the grader reports these as notes.
``student_id_problem`` says why a folder name cannot be a student id. ``forged_submission`` says
why a collected submission is not the student's own work: the exchange copy it was collected from
(the one holding the same ``submission_secret.txt``) has an entry owned by another user, as when a
student submits under another's name through nbgrader's shared exchange.
"""
from __future__ import annotations

import glob
import os
import stat
import unicodedata
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

FILE_LIMIT = 32 << 20        # bytes of one submitted file
FOLDER_LIMIT = 64 << 20      # bytes of one submission
FILES_LIMIT = 200            # files in one submission
CELLS_LIMIT = 4 << 20        # bytes of a notebook's sources and attachments (outputs are cleared)


class Refused(Exception):
    """A submission that is not graded, with the reason (shown in the summary and rnnviz-grades.csv)."""


def student_id_problem(student: str) -> str | None:
    """Why ``student`` (a folder name under submitted/) cannot be graded, or None."""
    try:
        student.encode("utf-8")
    except UnicodeEncodeError:
        return "the student folder's name is not valid UTF-8"
    if any(unicodedata.category(ch) == "Cc" for ch in student):
        return "the student folder's name holds control characters"
    if student.startswith(".") or not student.strip():
        return "the student folder's name is hidden (starts with '.') or blank"
    return None


def copy_submission(src: Path, dst: Path) -> None:
    """Copy the regular files under ``src`` into ``dst``; raise Refused for anything else."""
    total, count = 0, 0
    dst.mkdir(parents=True)
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        for name in sorted(dirs):
            if os.path.islink(os.path.join(root, name)):
                raise Refused(f"{rel / name} is a symbolic link: only regular files are graded")
            (dst / rel / name).mkdir()
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.islink(path):
                raise Refused(f"{rel / name} is a symbolic link: only regular files are graded")
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as exc:
                raise Refused(f"{rel / name} could not be opened as a regular file "
                              f"({exc.strerror}): only regular files are graded") from None
            with os.fdopen(fd, "rb") as f:
                info = os.fstat(f.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise Refused(f"{rel / name} is not a regular file (a FIFO, device or socket): "
                                  f"only regular files are graded")
                count += 1
                total += info.st_size
                if info.st_size > FILE_LIMIT or total > FOLDER_LIMIT or count > FILES_LIMIT:
                    raise Refused(f"the submission is too large (limits: {FILE_LIMIT >> 20} MiB a file, "
                                  f"{FOLDER_LIMIT >> 20} MiB and {FILES_LIMIT} files in all)")
                data = f.read(FILE_LIMIT + 1)
            (dst / rel / name).write_bytes(data[:FILE_LIMIT])


def release_cells(db_url: str, name: str, notebook: str, course_id: str) -> list[dict]:
    """The release's cells that carry nbgrader metadata, in order, from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course_id) as gb:
        try:
            nb = gb.find_notebook(notebook, name)
        except MissingEntry:
            return []
        points = {c.name: c.max_score for c in nb.grade_cells}
        solution = {c.name for c in nb.solution_cells}
        task = {c.name for c in nb.task_cells}
        cells = []
        for c in nb.source_cells:
            meta = {"grade": c.name in points, "grade_id": c.name, "locked": bool(c.locked),
                    "schema_version": 3, "solution": c.name in solution, "task": c.name in task}
            if c.name in points:
                meta["points"] = points[c.name]
            cells.append({"grade_id": c.name, "cell_type": c.cell_type, "source": c.source,
                          "meta": meta})
        return cells


def is_test(release_cell: dict) -> bool:
    meta = release_cell["meta"]
    return meta["grade"] and not meta["solution"] and release_cell["cell_type"] == "code"


#: nbgrader's delimiters of a hidden test region (``ClearHiddenTests``' defaults).
HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def visible_source(source: str) -> str:
    """``source`` without its hidden test regions, as ``nbgrader generate_assignment`` releases it
    (nbgrader's ``ClearHiddenTests``: every line from a BEGIN line to its END line is removed)."""
    lines, hidden = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


def _same_text(a: str, b: str) -> bool:
    """Equal up to line endings, trailing spaces and blank lines at either end."""
    def canon(text: str) -> str:
        return "\n".join(ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")).strip("\n")
    return canon(a) == canon(b)


def shown(name) -> str:
    """A name the learner chose (a grade id, a cell type, a file name), safe to print in a summary
    or a CSV: characters that do not print escaped, at most 40 characters."""
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(name))
    return text if len(text) <= 40 else text[:37] + "..."


def normalize(nb, release: list[dict], restored: list | None = None):
    """``nb`` with the release's structure restored (see the module docstring).

    When ``restored`` is a list, each thing put back is appended to it as ``(grade_id, what)``:
    ``what`` is ``"test cell edited (restored from the release)"``, ``"... deleted ..."``, ``"... turned
    into a markdown cell ..."``, ``"... moved ..."`` or a cell claiming points that earns nothing.
    """
    changes: list = [] if restored is None else restored
    by_id = {c["grade_id"]: c for c in release}
    seen: set[str] = set()
    size = 0
    cells = []
    for cell in nb.cells:
        size += len(cell.get("source", "")) + len(str(cell.get("attachments", "")))
        meta = cell.get("metadata", {}).get("nbgrader")
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        cell["metadata"] = {}
        rel = by_id.get(grade_id) if isinstance(grade_id, str) else None
        if rel is not None and grade_id not in seen:
            seen.add(grade_id)
            if is_test(rel):
                if cell.cell_type != rel["cell_type"]:
                    changes.append((grade_id, f"test cell turned into a {shown(cell.cell_type)} cell "
                                              f"(restored from the release)"))
                elif not _same_text(str(cell.get("source", "")), visible_source(rel["source"])):
                    changes.append((grade_id, "test cell edited (restored from the release)"))
            if (is_test(rel) or rel["meta"]["locked"]) and cell.cell_type != rel["cell_type"]:
                cell = _as_code(rel) if rel["cell_type"] == "code" else nbformat.from_dict(
                    {"cell_type": rel["cell_type"], "metadata": {}, "source": rel["source"]})
            if is_test(rel):
                cell.source = rel["source"]
            cell["metadata"] = {"nbgrader": dict(rel["meta"])}
        elif isinstance(meta, dict) and (meta.get("grade") or (rel is not None and is_test(rel))):
            what = "a copy of the test cell" if rel is not None else "a cell claiming points"
            changes.append((shown(grade_id), f"{what} is an ordinary cell here (earns nothing)"))
        cells.append(cell)
    if size > CELLS_LIMIT:
        raise Refused(f"the notebook's cells hold {size / 2**20:.1f} MiB of text (limit "
                      f"{CELLS_LIMIT >> 20} MiB, outputs not counted)")
    for rel in release:
        if is_test(rel) and rel["grade_id"] not in seen:
            changes.append((rel["grade_id"], "test cell deleted or stripped of its nbgrader metadata "
                                             "(restored from the release)"))
    cells = _tests_in_release_order(cells, release, changes)
    for k, cell in enumerate(cells):
        cell["id"] = f"cell-{k}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells = cells
    nb.metadata = {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))
    return nb


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _tests_in_release_order(cells: list, release: list[dict], changes: list | None = None) -> list:
    """Each test cell where the release has it relative to the release's other cells: one left in
    place stays there (the learner's own cells around it keep their order); one moved out of order,
    or deleted, goes just before the next release cell the submission holds (or at the end), so it
    runs after the code it tests, as in the release."""
    tests = {r["grade_id"] for r in release if is_test(r)}
    order = [None if r["grade_id"] in tests else r["grade_id"] for r in release]   # the anchors
    for k, rel in enumerate(release):
        if rel["grade_id"] not in tests:
            continue
        ids = [_grade_id(c) for c in cells]
        where = ids.index(rel["grade_id"]) if rel["grade_id"] in ids else None
        before = [ids.index(g) for g in order[:k] if g is not None and g in ids]
        after = [ids.index(g) for g in order[k + 1:] if g is not None and g in ids]
        if where is not None and all(b < where for b in before) and all(where < a for a in after):
            continue
        if where is not None and changes is not None:
            changes.append((rel["grade_id"], "test cell moved (put back where the release has it)"))
        cell = cells.pop(where) if where is not None else _as_code(rel)
        cell["metadata"] = {"nbgrader": dict(rel["meta"])}
        ids = [_grade_id(c) for c in cells]
        nxt = [ids.index(g) for g in order[k + 1:] if g is not None and g in ids]
        cells.insert(min(nxt) if nxt else len(cells), cell)
    return cells


def _as_code(rel: dict):
    return new_code_cell(rel["source"])


def exchange_root(course: Path) -> str:
    """nbgrader's ``Exchange.root`` as nbgrader sees it from ``course``: the ``nbgrader_config.py``
    files on Jupyter's config path, then the course's own (later ones win)."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg = Config()
    for folder in [*reversed(jupyter_config_path()), str(course)]:
        if os.path.isfile(os.path.join(folder, "nbgrader_config.py")):
            try:
                cfg.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
            except Exception:  # noqa: BLE001 - a config nbgrader itself would reject: not ours to judge
                continue
    return cfg.Exchange.get("root", "/usr/local/share/nbgrader/exchange")


def _read_small(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read(4096).decode("utf-8", "replace")


def forged_submission(collected: Path, student: str, name: str, inbound: Path) -> str | None:
    """Why ``collected`` (``submitted/STUDENT/NAME``) is refused, or None.

    Its exchange copy is found in ``inbound`` (nbgrader's ``inbound/STUDENT+NAME+...`` or the kit's
    ``inbound/STUDENT/STUDENT+NAME+...``) by its submission secret; if that copy, or anything in it,
    belongs to another user, the submission is refused. A submission without a secret (not from an
    exchange), whose copy is gone from the exchange, or whose student has no Unix account of that
    name (one account submitting for every student: a class on one machine) is not judged here."""
    import pwd

    from ..exchange import foreign_entry

    try:
        pwd.getpwnam(student)
    except KeyError:
        return None
    secret = _read_small(str(collected / "submission_secret.txt"))
    if not secret:
        return None
    prefix = glob.escape(f"{student}+{name}+")
    for copy in sorted(glob.glob(str(inbound / (prefix + "*")))
                       + glob.glob(str(inbound / glob.escape(student) / (prefix + "*")))):
        if _read_small(os.path.join(copy, "submission_secret.txt")) != secret:
            continue
        try:
            problem = foreign_entry(copy, student)
        except OSError as exc:
            problem = f"{copy} could not be checked ({exc.strerror})"
        if problem:
            return (f"not {student}'s own submission: its copy in the exchange is not theirs "
                    f"({shown_path(problem, inbound)}); a forged submission?")
        return None
    return None


def shown_path(text: str, inbound: Path) -> str:
    return text.replace(str(inbound) + os.sep, "inbound/")
