"""The checks behind each assignment's test cells, one module per assignment.

Each module defines ``protocol.Check`` classes: what a case's inputs are (made by the grader), how
the learner's code is called on them (in the learner's kernel) and how its outputs are judged (by
the grader). A test cell names a check and a case: ``run_test("lstm.forward", LSTM, seed=0, N=2,
D=3, H=4)``. Visible and hidden tests call the same checks with other sizes and seeds, so reading a
module tells a learner what is checked, never with which numbers the hidden tests check it.
``example`` is the smallest assignment, a template for writing new ones.
"""
