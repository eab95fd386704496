"""The checks behind each assignment's test cells, one module per assignment.

Each module defines ``protocol.Check`` classes: what a case's inputs are (made by the grader), how
the learner's code is called on them (in the learner's kernel) and how its outputs are judged (by
the grader). A test cell names a check and a case: ``run_test("lstm.forward", LSTM, seed=0, N=2,
D=3, H=4)``. Visible and hidden tests call the same checks with other sizes and seeds, so reading a
module tells a learner what is checked, never with which numbers the hidden tests check it.
``example`` is the smallest assignment, a template for writing new ones.

Every sentence a learner reads is an ``rnnviz.i18n`` string, English and Japanese, registered by
the module that writes it: ``STRINGS = {"<module>.<what>": {"en": ..., "ja": ...}}`` near the top,
``i18n.register(STRINGS)``, and ``i18n.tr("<module>.<what>", **fields)`` where the message is made
(in ``judge`` or ``explain``: the grader sets the language, Japanese for an assignment ``NAME_ja``).
A hint kept in a constant or in a ``mistakes`` dict is the key, not the text
(``check_array``'s ``mistakes`` and ``checks.text_of`` look it up when the message is written);
``checks.usual(key)`` writes the line "usual mistake: ...", and ``USUAL_MISTAKES[symptom]`` is the
framework's hint in the language of the moment (``USUAL_MISTAKES.key(symptom)`` its key). Japanese
texts keep code in backticks (`sum_to`, `keepdims=True`) and the learner's own words in 「」.
"""
