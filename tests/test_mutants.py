"""At least 90% of the one-line mutants of each assignment's solutions lose points (tests/mutants.py:
each mutant graded through the protocol, on the CPU and on the GPU check, as the grader does)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import mutants  # noqa: E402

NAMES = ["autograd_functions", "backward_engine", "rnn_by_hand", "lstm", "truncated_bptt", "gru", "masked_loss"]


@pytest.mark.parametrize("name", NAMES)
def test_nine_mutants_in_ten_lose_points(name):
    import rnnviz.grading.protocol  # noqa: F401 - imported once, before forking

    found = mutants.sample(name, None)
    assert len(found) >= 20, f"{name}: too few mutants to measure ({len(found)})"
    survivors = [what for what, nb in found if not mutants.killed(nb)]
    share = 1 - len(survivors) / len(found)
    assert share >= 0.9, f"{name}: {share:.0%} of {len(found)} mutants lose points; survivors: {survivors}"


def test_the_solution_itself_loses_nothing():
    """The measure can fail: an unchanged solution is not 'killed'."""
    import rnnviz.grading.protocol  # noqa: F401

    for name in NAMES:
        assert not mutants.killed(mutants.load(name)), name
