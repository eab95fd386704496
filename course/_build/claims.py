"""Every number and comparison a lesson states, tied to the measurement it rests on.

A lesson's prose may only state a measured number or comparison if a *claim* here quotes it and
re-measures it. A claim is a quote from the lesson's markdown with the numbers as placeholders, and a
function that measures them for one seed::

    @claim("02", "a window of 7 reaches an accuracy of about {acc}", seeds=(0, 1, 2), rel=0.1)
    def window_of_seven(seed):
        ...
        return {"acc": accuracy, "better than a window of 3": accuracy > acc3}

tests/test_claims.py then checks, for every claim:

* the quote occurs exactly once in the lesson's English markdown (prose and folded answers), the
  placeholders matching numbers; an edited sentence no longer matches, so the claim fails until it
  is re-measured and its quote updated;
* for every seed, each quoted number is within ``rel`` (relative) or ``abs`` (absolute) of what the
  seed measures; a value written as a range ("between {lo} and {hi}") is checked the same way;
* every other key the function returns is a statement that must be True for every seed (a
  comparison the sentence makes: "the RNN's falls faster beyond 10 steps");
* the Japanese edition states the same numbers in the same cell.

And, so that the next lesson cannot drift: every decimal number in a lesson's prose (outside code
spans and math) must lie inside some claim's quote. Settings belong in code spans (`lr=0.1`) and
derivations in math (``$0.5^{29}$``).

The measurements live in ``claims_NN.py``, one module per lesson, next to the lesson they check.
They use small models and run in seconds: the test runs each one for three seeds.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
COURSE = HERE.parent
NUMBER = r"[-\u2212]?\d+(?:[.,]\d+)*(?:\s?[x×]\s?10\^?[-\u2212]?\d+|e[-+]?\d+)?"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# what reads as a measured number: a decimal, a percentage or a factor, or an approximate count
DECIMAL = re.compile(r"(?<![\w.])\d*\.\d+(?!\w|\.\d)"
                     r"|(?<![\w.])\d[\d,]*\s?(?:%|times\b|[x×](?!\w))"
                     r"|(?:\b(?:about|around|roughly|nearly|almost|perplexity(?: of)?)|[~≈])\s*\d[\d,]*",
                     re.I)

REGISTRY: list["Claim"] = []


@dataclass
class Claim:
    lesson: str                 # "02": the lesson file's prefix
    quote: str                  # the sentence as the lesson writes it, numbers as {name}
    measure: Callable[[int], dict]
    seeds: tuple = (0, 1, 2)
    rel: float = 0.1            # how far a quoted number may lie from a seed's measurement
    abs: float = 0.0            # ... or absolutely (whichever is larger)
    tolerances: dict = field(default_factory=dict)   # per-name (rel, abs), overriding the above

    @property
    def name(self):
        return f"{self.lesson}:{self.measure.__name__}"

    @property
    def names(self):
        return PLACEHOLDER.findall(self.quote)

    def pattern(self):
        """The quote as a regular expression: literal text (runs of white space match any white
        space, so a line break may fall anywhere) and a number for each placeholder."""
        out, pos = [], 0
        for m in PLACEHOLDER.finditer(self.quote):
            out.append(_literal(self.quote[pos:m.start()]))
            out.append(f"(?P<{m.group(1)}>{NUMBER})")
            pos = m.end()
        out.append(_literal(self.quote[pos:]))
        return re.compile("".join(out))

    def within(self, name, quoted, measured):
        rel, ab = self.tolerances.get(name, (self.rel, self.abs))
        return abs(quoted - measured) <= max(rel * abs(measured), ab)


def _literal(text):
    return r"\s+".join(re.escape(part) for part in re.split(r"\s+", text))


def claim(lesson, quote, **options):
    """Register ``measure(seed) -> dict`` as the measurement behind ``quote`` in lesson ``lesson``."""
    def register(measure):
        REGISTRY.append(Claim(lesson, quote, measure, **options))
        return measure
    return register


def parse_number(text):
    """'0.78' -> 0.78, '1,000' -> 1000, '2x10^-9' / '2e-9' -> 2e-9, '−3' -> -3."""
    text = text.replace("\u2212", "-").replace(" ", "")
    m = re.fullmatch(r"(.+?)[x×]10\^?(-?\d+)", text)
    if m:
        return float(m.group(1).replace(",", "")) * 10.0 ** int(m.group(2))
    return float(text.replace(",", ""))


def load_all():
    """Import every claims_NN module (registering their claims) and return the registry."""
    if not REGISTRY:
        import sys
        if str(HERE) not in sys.path:
            sys.path.insert(0, str(HERE))
        for path in sorted(HERE.glob("claims_[0-9][0-9].py")):
            importlib.import_module(path.stem)
    return list(REGISTRY)


# -- reading the lessons -------------------------------------------------------------------------
def lesson_path(lesson, edition=""):
    folder = COURSE / edition if edition else COURSE
    (path,) = sorted(folder.glob(f"{lesson}_*.ipynb"))
    return path


def markdown_cells(path):
    import nbformat
    nb = nbformat.read(path, as_version=4)
    return [(c.get("id"), c.source) for c in nb.cells if c.cell_type == "markdown"]


CODE_OR_MATH = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|<!--.*?-->|\(https?:[^)]*\)"
                          r"|\]\([^)]*\)", re.S)


def prose(text):
    """Markdown without code spans, code blocks, math, comments and link targets."""
    return CODE_OR_MATH.sub(" ", text)


def find(claim_, cells):
    """[(cell id, match)] for every place the claim's quote occurs."""
    pattern = claim_.pattern()
    return [(cid, m) for cid, text in cells for m in pattern.finditer(text)]


def unclaimed_numbers(cells, claims):
    """[(cell id, number, context)] for decimal numbers in prose that no claim's quote covers."""
    covered = {}
    for c in claims:
        for cid, m in find(c, cells):
            covered.setdefault(cid, []).append(m.span())
    out = []
    for cid, text in cells:
        spans = covered.get(cid, [])
        masked = CODE_OR_MATH.sub(lambda m: " " * len(m.group()), text)
        for m in DECIMAL.finditer(masked):
            if not any(a <= m.start() and m.end() <= b for a, b in spans):
                out.append((cid, m.group(), text[max(0, m.start() - 40):m.end() + 40]))
    return out
