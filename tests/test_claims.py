"""Every number and comparison a lesson states is re-measured (course/_build/claims.py says how).

A claim quotes a sentence of a lesson with its numbers as placeholders and names the measurement
behind it; here each measurement runs for every seed it lists (three at least), and the quoted
numbers must agree with every seed, the comparisons must hold for every seed, the Japanese edition
must state the same numbers, and no measured-looking number in a lesson's prose may go unclaimed.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "course" / "_build"))
import claims as C  # noqa: E402

CLAIMS = C.load_all()
LESSONS = sorted({p.name[:2] for p in (REPO / "course").glob("[0-9][0-9]_*.ipynb")})


def _cells(lesson, edition=""):
    return C.markdown_cells(C.lesson_path(lesson, edition))


def _quoted(claim):
    """{name: number} as the English lesson writes them (exactly one occurrence)."""
    found = C.find(claim, _cells(claim.lesson))
    assert len(found) == 1, (
        f"{claim.name}: the quote must occur exactly once in lesson {claim.lesson}, found "
        f"{len(found)}:\n  {claim.quote!r}\n(the sentence was edited: re-measure and update the claim)")
    cid, m = found[0]
    return cid, {k: C.parse_number(v) for k, v in m.groupdict().items()}, {k: v for k, v in m.groupdict().items()}


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.name for c in CLAIMS])
def test_claim_is_what_the_lesson_measures(claim):
    assert len(set(claim.seeds)) >= 3, f"{claim.name}: measure over three seeds at least"
    _, quoted, _ = _quoted(claim)
    failures = []
    for seed in claim.seeds:
        measured = claim.measure(seed)
        missing = set(claim.names) - set(measured)
        assert not missing, f"{claim.name}: the measurement returns no {sorted(missing)}"
        for name in claim.names:
            if not claim.within(name, quoted[name], float(measured[name])):
                failures.append(f"seed {seed}: {name} is {float(measured[name]):.4g}, "
                                f"the lesson says {quoted[name]:g}")
        for statement, value in measured.items():
            if statement in claim.names:
                continue
            assert isinstance(value, (bool, np.bool_)), (
                f"{claim.name}: {statement!r} is neither a quoted number nor a True/False statement")
            if not value:
                failures.append(f"seed {seed}: not true that {statement}")
    assert not failures, f"{claim.name}: {claim.quote!r}\n  " + "\n  ".join(failures)


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.name for c in CLAIMS])
def test_the_japanese_edition_states_the_same_numbers(claim):
    cid, _, written = _quoted(claim)
    ja = dict(_cells(claim.lesson, "ja"))
    assert cid in ja, f"{claim.name}: the Japanese lesson has no cell {cid}"
    text = C.prose(ja[cid]) + ja[cid]
    missing = [w for w in written.values() if w not in text]
    assert not missing, f"{claim.name}: the Japanese cell {cid} does not state {missing}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_measured_number_in_prose_goes_unclaimed(lesson):
    mine = [c for c in CLAIMS if c.lesson == lesson]
    loose = C.unclaimed_numbers(_cells(lesson), mine)
    assert not loose, (f"lesson {lesson}: numbers in prose that no claim measures (add a claim in "
                       f"course/_build/claims_{lesson}.py, or write a setting as code):\n"
                       + "\n".join(f"  cell {cid}: {num!r} in ...{ctx}..." for cid, num, ctx in loose))


ROUNDING_SENSITIVE = ("08",)   # training at rho = 6 is chaotic: float32 rounding moves where a run ends


@pytest.mark.parametrize("lesson", ROUNDING_SENSITIVE)
def test_a_chaotic_lesson_holds_with_another_order_of_sums(lesson):
    """A claim that holds for one order of float32 additions only is noise. The plain engine (and
    one BLAS thread) adds in another order: the lesson's claims are measured again that way, in a
    fresh process (the runs are remembered per process)."""
    env = dict(os.environ, RNNVIZ_BATCHED_BACKWARD="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(Path(__file__)),
                          "-k", f"test_claim_is_what_the_lesson_measures and {lesson}:"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    mine = sum(c.lesson == lesson for c in CLAIMS)
    assert run.returncode == 0 and re.search(rf"^{mine} passed", run.stdout, re.M), run.stdout[-3000:] + run.stderr[-2000:]


# -- the mechanism itself -----------------------------------------------------------------------
def _fake(lesson, quote, values, **kw):
    def measure(seed):
        return dict(values)
    return C.Claim(lesson, quote, measure, **kw)


def test_a_changed_number_or_a_reversed_comparison_fails():
    cells = [("a", "A window of 7 reaches an accuracy of about 0.78, higher than a window of 3.")]
    good = _fake("xx", "reaches an accuracy of about {acc}, higher than", {"acc": 0.783})
    (cid, m), = C.find(good, cells)
    assert good.within("acc", C.parse_number(m["acc"]), 0.783)
    # a number changed by 20% is out of tolerance
    assert not good.within("acc", 0.78 * 1.2, 0.783) and not good.within("acc", 0.78 * 0.8, 0.783)
    # a reversed comparison no longer matches the quote
    reversed_ = [("a", "A window of 7 reaches an accuracy of about 0.78, lower than a window of 3.")]
    assert C.find(good, reversed_) == []


def test_quotes_match_across_line_breaks_and_number_forms():
    c = _fake("xx", "about {x} after {n} steps", {})
    (_, m), = C.find(c, [("a", "falls to about\n2x10^-9 after 29\nsteps")])
    assert C.parse_number(m["x"]) == pytest.approx(2e-9) and C.parse_number(m["n"]) == 29
    assert C.parse_number("1,000") == 1000 and C.parse_number("\u22120.5") == -0.5


def test_loose_numbers_are_found_outside_code_and_math():
    cells = [("a", "Accuracy reaches 0.78; `lr=0.1` and $0.5^{29}$ are fine; about 135 and 3x faster.")]
    loose = [n for _, n, _ in C.unclaimed_numbers(cells, [])]
    assert "0.78" in loose and any("135" in n for n in loose) and any(n.startswith("3") for n in loose)
    assert not any("0.1" == n or "0.5" == n for n in loose)
    covered = _fake("xx", "reaches {acc};", {})
    loose = [n for _, n, _ in C.unclaimed_numbers(cells, [covered])]
    assert "0.78" not in loose


def test_a_number_at_the_end_of_a_sentence_is_found():
    loose = [n for _, n, _ in C.unclaimed_numbers([("a", "It reaches 0.25. Then 1.5.")], [])]
    assert loose == ["0.25", "1.5"]
