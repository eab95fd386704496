"""Feedback without hidden tests: an nbgrader preprocessor for ``generate_feedback``.

nbgrader's feedback shows the autograded notebook, whose test cells hold the hidden tests again
(autograde restores them) and whose error outputs carry tracebacks that quote the failing lines
(upstream issues #917 and #1363). ``HideHiddenTests`` removes the hidden regions from every test
cell and shortens the error output of a test cell to its last line, ``ErrorName: message``: the
rnnviz.grading helpers write there what is wrong without the test's inputs or expected values.
The learner's own cells keep their whole tracebacks. ``nbgrader_config.py`` turns it on.
"""
import re

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class HideHiddenTests(ClearHiddenTests):
    """Drop hidden test regions from test cells; reduce a test cell's errors to their last line."""

    # the feedback of an old submission may lack the metadata of a test cell the assignment had
    enforce_metadata = False

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        self._remove_hidden_test_region(cell)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                last = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
                out["traceback"] = [_ANSI.sub("", last)]
        return cell, resources
