"""nbgrader configuration: the repository root is the course.

solutions/NAME/  the instructor's notebooks (nbgrader's source), with solutions and hidden tests
assignments/NAME/ the student notebooks (nbgrader's release), made by `make assignments`
submitted/, autograded/, feedback/, gradebook.db: instructor data, ignored by git
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
