"""nbgrader configuration: the repository root is the course.

solutions/NAME/  the instructor's notebooks (nbgrader's source), with solutions and hidden tests
assignments/NAME/ the student notebooks (nbgrader's release), made by `make assignments`
submitted/, autograded/, feedback/, gradebook.db: instructor data, ignored by git

Grade with `python -m rnnviz.grading autograde NAME` (README, "Grading a class"); nbgrader's other
commands (release_assignment, collect, release_feedback, export, the formgrader) work as usual.
"""
c = get_config()  # noqa: F821 (nbgrader defines it)

c.CourseDirectory.course_id = "rnnviz"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"

# A test cell deleted in a submission, or stripped of its metadata, is put back when grading.
c.OverwriteCells.add_missing_cells = True

# Seconds one cell may run before the kernel is interrupted and the cell scores 0 (the rest of the
# notebook is still graded). The slowest graded cell (truncated_bptt's training, 2 s of CPU time)
# takes about 4 s alone and up to 15 s on a loaded 2-core machine.
c.ExecutePreprocessor.timeout = 60

# Feedback shows the learner each test's result and message, never a hidden test's source.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "rnnviz.grading.feedback.HideHiddenTests",
]

# `nbgrader autograde` and the formgrader's Autograde button would run student code without the
# kit's sandbox and let the student's kernel decide the verdicts: here they refuse, change nothing
# and name the command that grades (`python -m rnnviz.grading autograde NAME`). nbgrader's own
# grading, for a comparison only: `nbgrader autograde NAME --GradeWithTheKit.nbgrader_in_kernel=True`.
c.Autograde.exporter_class = "rnnviz.grading.export.GradeWithTheKit"

# `nbgrader export` (grades.csv): nbgrader's columns plus status and reason; a submission the kit
# could not grade, or a student without a submission, gets an empty score and the reason, never 0.
c.ExportApp.plugin_class = "rnnviz.grading.export.KitExportPlugin"

# The exchange that release_assignment, submit, collect, release_feedback and fetch_feedback share
# (nbgrader's default: /srv/nbgrader/exchange). One folder every user can write, for example:
# c.Exchange.root = "/srv/nbgrader/exchange"

# Feedback pages show their math with no network: LaTeX written as MathML when the page is made
# (nbgrader's feedback template loads MathJax from a CDN).
c.GenerateFeedback.exporter_class = "rnnviz.grading.math_offline.OfflineMathHTMLExporter"

# `nbgrader validate` cuts every line of a failing cell's error at Validator.width - 3 columns: a
# check's message (one line per part, up to about 200 characters) is shown whole.
c.Validator.width = 240
