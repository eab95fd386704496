"""Rebuild ``data/kjv.txt.gz``, the small English corpus shipped with rnnviz.

The text is the King James Version (1611) as packaged by Debian in ``bible-kjv-text``, read through
the ``bible`` program of ``bible-kjv``::

    apt-get update && apt-get install -y bible-kjv bible-kjv-text
    python -m rnnviz.datasets._build_kjv            # writes rnnviz/datasets/data/kjv.txt.gz

We keep Genesis through Esther (the Law and the historical books, 17 books, 12,870 verses) and
normalise each verse the way the Penn Treebank language-model files are normalised: lower case,
punctuation and verse numbers removed, possessive ``'s`` split off as its own token, digits replaced
by ``N``, one verse per line, tokens separated by one space. The gzip header carries no time stamp,
so the same input always gives the same bytes.

The loader (``rnnviz.datasets.kjv``) reads the result; it does not need this script or the Debian
packages.
"""
import argparse
import gzip
import re
import subprocess
import sys
from pathlib import Path

FIRST_VERSE = "Gen1:1"
LAST_VERSE = "Est10:3"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "data" / "kjv.txt.gz"

# A token is a possessive marker, a word (inner hyphens kept: "loving-kindness"), or a number.
_TOKEN = re.compile(r"'s(?![a-z])|[a-z]+(?:-[a-z]+)*|\d+(?:[.,]\d+)*")
# "King's" -> "king 's", as in the Penn Treebank; other apostrophes ("sons'") are dropped.
_POSSESSIVE = re.compile(r"(?<=[a-z])'s(?![a-z])")
# "Ge1:1 In the beginning ..." : the reference is the first field of each line of `bible -f`.
_REFERENCE = re.compile(r"^\s*\d?[A-Za-z]+\d+:\d+\s+")


def normalise_verse(text):
    """One verse of plain text -> its tokens, Penn-Treebank style."""
    text = _POSSESSIVE.sub(" 's", text.lower())
    return ["N" if tok[0].isdigit() else tok for tok in _TOKEN.findall(text)]


def read_bible(first=FIRST_VERSE, last=LAST_VERSE):
    """The raw verses from the ``bible`` program, one ``Ref text`` line each."""
    try:
        done = subprocess.run(
            ["bible", "-f", f"{first}-{last}"], check=True, capture_output=True, text=True
        )
    except FileNotFoundError:
        sys.exit("_build_kjv: no `bible` program; apt-get install bible-kjv bible-kjv-text")
    return done.stdout.splitlines()


def build(raw_lines):
    """Raw ``Ref text`` lines -> normalised lines (verses that normalise to nothing are dropped)."""
    out = []
    for raw in raw_lines:
        if not raw.strip():
            continue
        match = _REFERENCE.match(raw)
        if match is None:
            raise ValueError(f"_build_kjv: a line without a verse reference: {raw[:60]!r}")
        tokens = normalise_verse(raw[match.end():])
        if tokens:
            out.append(" ".join(tokens))
    return out


def write_gzip(lines, path):
    data = ("\n".join(lines) + "\n").encode("ascii")
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(
        filename="kjv.txt", mode="wb", fileobj=raw, compresslevel=9, mtime=0
    ) as gz:
        gz.write(data)
    tmp.replace(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="a file of `bible -f` output instead of running `bible`")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT))
    args = parser.parse_args(argv)
    if args.source:
        raw = Path(args.source).read_text(encoding="utf-8").splitlines()
    else:
        raw = read_bible()
    lines = build(raw)
    write_gzip(lines, args.output)
    words = sum(len(line.split()) for line in lines)
    types = len({w for line in lines for w in line.split()})
    size = Path(args.output).stat().st_size
    print(f"{args.output}: {len(lines)} lines, {words} words, {types} word types, {size} bytes")


if __name__ == "__main__":
    main()
