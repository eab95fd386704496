"""The checks behind each assignment's test cells, one module per assignment.

A test cell imports what it calls from here at its first line, so a learner's cell that redefines
a check (``check_lstm = lambda *a, **k: None``) changes nothing, and the grading guard can restore
a check that was monkeypatched in its module. Each check takes the learner's code as an argument
(a class or a function) and a device (``rnnviz.grading.Device``); the visible tests and the hidden
ones call the same checks with other sizes and seeds, so reading them tells a learner what is
checked, never with which numbers the hidden tests check it.
"""
