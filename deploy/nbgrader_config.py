"""nbgrader's configuration for every user of the course hub (students and instructors alike).

deploy/hub.py copies it to ETC/jupyter/, and the hub puts that folder on every server's
JUPYTER_CONFIG_PATH, so each nbgrader command, the Assignment List and Validate read it. An
instructor's own ~/.jupyter/nbgrader_config.py adds the course folder (CourseDirectory.root), where
nbgrader also reads the kit's nbgrader_config.py (grading through the kit, feedback without hidden
tests). The course id must be the kit's (nbgrader_config.py at the repository root).
"""
import json
from pathlib import Path

c = get_config()  # noqa: F821 (nbgrader defines it)
hub = json.loads((Path(__file__).resolve().parent.parent / "hub.json").read_text())

c.CourseDirectory.course_id = hub["course_id"]

# Validate shows a failing check's message whole (the kit's course config says the same).
c.Validator.width = 240

# ---- THE EXCHANGE SWITCH (hub.json's "exchange_kind", set by `hub.py install --exchange-kind`) --
# "kit" (the default): the kit's exchange, rnnviz.exchange: a folder per student that only they
#   and the instructors use; nobody can submit as another or read another's submission or
#   feedback. `hub.py enroll` runs its `enroll` (as root) for the roster's students.
# "nbgrader": nbgrader's shared-directory exchange in one folder of mode 1777. Any student can
#   submit under another's name and read a submission or feedback file whose name they know: for
#   a group that trusts each other only.
c.Exchange.root = hub["exchange"]
if hub.get("exchange_kind", "kit") == "kit":
    from rnnviz.exchange import use_safe_exchange  # noqa: E402

    use_safe_exchange(c, root=hub["exchange"])
