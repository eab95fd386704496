"""Build the Japanese lessons from the English ones and the translations in _src/.

    python course/ja/_build.py              # rebuild every course/ja/NN_*.ipynb; list what needs work
    python course/ja/_build.py --check      # change nothing; exit 1 if a lesson needs work or a rebuild
    python course/ja/_build.py --skeleton 03_lstm_language_model
                                            # start _src/03_lstm_language_model.md from the English text

A Japanese lesson is never edited by hand. It is the English notebook (course/NN_*.ipynb) with
  * each markdown cell replaced by its Japanese text from _src/NN_*.md, found by the cell's id;
  * each comment in a code cell replaced by its Japanese comment from the same file;
  * the code itself, the cell ids, order and types unchanged; outputs cleared.

_src/NN_*.md holds, for one lesson, blocks that start with a marker line:

    <!-- md be7b287a 3f2c9a1d -->      the Japanese text of markdown cell be7b287a, written for the
    # 00 · 計算グラフを見る              English text whose SHA-1 starts 3f2c9a1d (its first 8 hex digits)
    ...
    <!-- comments -->                   pairs of lines: an English comment and its Japanese one
    en: # drop the loss first
    ja: # 先に loss を消す
    <!-- strings -->                    pairs of lines: a string literal of the English code, exactly
    en: "training loss per word"        as written (quotes and prefix too), and the literal that
    ja: "単語あたりの訓練損失"            replaces it in the Japanese code: the words a figure shows
    en: label="unigram"                 a literal with the tokens around it: only where it follows
    ja: label="ユニグラム"               label= (the same literal as a dict key stays)

A listed literal is replaced where Python's tokenizer finds it as one whole string token (with the
listed tokens around it) in a code cell, never inside another string or a comment; an f-string's
Japanese literal keeps the same replacement fields. Only figure words are listed (titles, axis
labels, legends, figure names, and a label a plot takes from a dict key); other text that `print`
writes stays as in the English code, and so does every other token.

When the English lesson changes, rebuild: cells whose English text changed since they were
translated are listed as "stale" (review the Japanese text, then put the new hash, which the
list shows, in the marker), new cells and comments as "missing". A cell whose English text is
unchanged but whose id changed (cells inserted before it) is found by its hash; `--sync-ids`
renames its marker to the new id. tests/test_japanese.py fails
until nothing is listed and every lesson equals its rebuild.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

JA = Path(__file__).resolve().parent
COURSE = JA.parent
SRC = JA / "_src"
MARKER = re.compile(r"^<!-- (md (?P<id>[\w-]+) (?P<hash>[0-9a-f]{8})|(?P<section>comments|strings)) -->\s*$")


def en_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def english_lessons() -> list[Path]:
    return sorted(p for p in COURSE.glob("[0-9][0-9]_*.ipynb"))


# -- comments ------------------------------------------------------------------------------------
def comments_of(code: str) -> list[tuple[int, int, str]]:
    """(line index, column, text) of every comment in ``code``. Python's tokenizer, so a '#' inside
    a string is no comment; IPython lines it cannot read (``%magic``, ``!cmd``) count whole-line
    comments only."""
    try:
        toks = tokenize.generate_tokens(io.StringIO(code).readline)
        return [(t.start[0] - 1, t.start[1], t.string) for t in toks if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = []
        for i, line in enumerate(code.split("\n")):
            stripped = line.lstrip()
            if stripped.startswith("#"):
                out.append((i, len(line) - len(stripped), stripped))
        return out


def strip_comments(code: str) -> list[str]:
    """The code without its comments: lines right-stripped, comment-only and blank lines dropped."""
    lines = code.split("\n")
    for i, col, _ in sorted(comments_of(code), reverse=True):
        lines[i] = lines[i][:col]
    return [line.rstrip() for line in lines if line.strip()]


def replace_comments(code: str, table: dict[str, str]) -> tuple[str, list[str]]:
    """``code`` with every comment found in ``table`` replaced; returns it and the comments missing."""
    lines = code.split("\n")
    missing = []
    for i, col, text in sorted(comments_of(code), reverse=True):
        key = text.rstrip()
        if key in table:
            lines[i] = lines[i][:col] + table[key] + lines[i][col + len(text):]
        elif needs_translation(key):
            missing.append(key)
    return "\n".join(lines), missing[::-1]


# -- string literals (the words of figures) ----------------------------------------------------------
def _tokens(code: str) -> list[tokenize.TokenInfo]:
    """Python's tokens of a code cell; an IPython line (``%magic``, ``!cmd``) is read as a comment,
    so that the rest of the cell still tokenizes and every position stays where it is."""
    lines = code.split("\n")
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped[:1] in ("%", "!"):
            col = len(line) - len(stripped)
            lines[i] = line[:col] + "#" + line[col + 1:]
    return list(tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline))


SKIP = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)


def significant(toks: list[tokenize.TokenInfo]) -> list[tokenize.TokenInfo]:
    return [t for t in toks if t.type not in SKIP]


def string_fields(literal: str) -> list[str] | None:
    """The replacement fields of an f-string literal (``{acc:.2f}`` -> ``acc:.2f``), None for a
    plain one: a Japanese f-string must format the same values the English one does."""
    prefix = re.match(r"[A-Za-z]*", literal)[0]
    if "f" not in prefix.lower():
        return None
    return re.findall(r"(?<!\{)\{([^{}]+)\}", literal)


def check_string_pair(en: str, ja: str) -> str | None:
    """Why a pair of ``<!-- strings -->`` cannot stand, or None. Each side is one string literal,
    or a few tokens around one (``label="unigram"``: only the literal that is a ``label=``
    argument, not the same literal used as a dict key); the two sides differ in that literal only."""
    try:
        e, j = significant(_tokens(en)), significant(_tokens(ja))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return f"{en!r} / {ja!r}: not Python tokens"
    strings = [k for k, t in enumerate(e) if t.type == tokenize.STRING]
    if len(strings) != 1:
        return f"{en!r} does not hold exactly one string literal"
    k = strings[0]
    if len(j) != len(e) or j[k].type != tokenize.STRING or any(
            (a.type, a.string) != (b.type, b.string) for n, (a, b) in enumerate(zip(e, j)) if n != k):
        return f"{ja!r} is not {en!r} with another string literal"
    if string_fields(e[k].string) != string_fields(j[k].string):
        return f"{ja!r} does not format the same fields as {en!r}"
    return None


def literal_pattern(snippet: str) -> tuple[list[tuple[int, str]], int]:
    """The (type, text) of a snippet's tokens and the index of its string literal."""
    toks = significant(_tokens(snippet))
    return [(t.type, t.string) for t in toks], next(k for k, t in enumerate(toks) if t.type == tokenize.STRING)


def replace_strings(code: str, table: dict[str, str]) -> tuple[str, set[str]]:
    """``code`` with the string literal of every snippet in ``table`` (found as the same sequence of
    whole tokens) replaced by the Japanese snippet's literal; returns it and the snippets it found.
    Code that does not tokenize is returned unchanged."""
    try:
        toks = significant(_tokens(code))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code, set()
    keyed = [(t.type, t.string) for t in toks]
    edits, used = [], set()
    for en, ja in table.items():
        pattern, k = literal_pattern(en)
        new = literal_pattern(ja)[0][k][1]
        for start in range(len(keyed) - len(pattern) + 1):
            if keyed[start:start + len(pattern)] == pattern:
                tok = toks[start + k]
                if tok.start[0] == tok.end[0]:
                    edits.append((tok.start, tok.end, new))
                    used.add(en)
    lines = code.split("\n")
    for (row, col), (_, end), new in sorted(set(edits), reverse=True):
        lines[row - 1] = lines[row - 1][:col] + new + lines[row - 1][end:]
    return "\n".join(lines), used


def needs_translation(comment: str) -> bool:
    """A comment with English words in it (not a bare ``# noqa``, a formula or a shebang)."""
    body = comment.lstrip("#!").strip()
    if body.startswith(("noqa", "type:", "pragma")):
        return False
    return len(re.findall(r"[A-Za-z]{3,}", body)) >= 2


# -- Japanese line breaks ------------------------------------------------------------------------
CJK = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e"
ENDS_CJK = re.compile(f"[{CJK}](\\*\\*)?$")            # bold marks count as the text they mark
STARTS_CJK = re.compile(f"^\\s*(\\*\\*)?[{CJK}]")
ENDS_SENTENCE = re.compile("[。、．，）」』！？：]$")   # no space after these, whatever follows
BLOCK_START = re.compile(r"^\s*([*+-]\s|\d+[.)]\s|#|\||>|<|```|\$\$)")


def join_japanese_lines(text: str) -> str:
    """Join the lines of a paragraph where one ends and the next begins in Japanese: a browser
    renders a Markdown line break as a space, which Japanese text does not have. The sources stay
    wrapped for editing; fenced code and display math are left alone."""
    out, fence = [], None   # None, "```" or "$$"
    for line in text.split("\n"):
        bare = line.strip()
        if fence == "```" and bare.startswith("```") or fence == "$$" and bare.endswith("$$"):
            fence = None
            out.append(line)
            continue
        if fence is None and bare.startswith("```"):
            fence = "```"
        elif fence is None and bare.startswith("$$") and not (bare.endswith("$$") and len(bare) > 2):
            fence = "$$"
        if fence is not None:
            out.append(line)
            continue
        if (out and out[-1].strip() and line.strip() and not BLOCK_START.match(line)
                and (ENDS_SENTENCE.search(out[-1]) or ENDS_CJK.search(out[-1]) and STARTS_CJK.match(line))):
            out[-1] += line.lstrip()
        else:
            out.append(line)
    return "\n".join(out)


# -- translation sources -------------------------------------------------------------------------
@dataclass
class Source:
    path: Path
    md: dict[str, tuple[str, str]] = field(default_factory=dict)   # id -> (english hash, japanese)
    comments: dict[str, str] = field(default_factory=dict)         # english comment -> japanese
    strings: dict[str, str] = field(default_factory=dict)          # english literal -> japanese

    @classmethod
    def read(cls, path: Path) -> "Source":
        src = cls(path)
        if not path.exists():
            return src
        block, body = None, []

        def close():
            if block is None:
                return
            if block[0] == "md":
                src.md[block[1]] = (block[2], "\n".join(body).strip("\n"))
            else:
                section = block[0]
                table = src.comments if section == "comments" else src.strings
                pending = None
                for n, line in enumerate(body, 1):
                    if line.startswith("en: "):
                        pending = line[4:].rstrip()
                    elif line.startswith("ja: ") and pending is not None:
                        if section == "strings":
                            why = check_string_pair(pending, line[4:].rstrip())
                            if why:
                                raise ValueError(f"{path}: in <!-- strings -->: {why}")
                        table[pending] = line[4:].rstrip()
                        pending = None
                    elif line.strip():
                        raise ValueError(f"{path}: in <!-- {section} -->, expected 'en: ...' / 'ja: ...' "
                                         f"pairs, got {line!r}")

        for line in path.read_text(encoding="utf-8").split("\n"):
            m = MARKER.match(line)
            if m:
                close()
                block = ("md", m["id"], m["hash"]) if m["id"] else (m["section"],)
                body = []
            elif block is not None:
                body.append(line)
        close()
        return src


# -- building ------------------------------------------------------------------------------------
@dataclass
class Report:
    lesson: str
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.orphans)

    def lines(self) -> list[str]:
        return ([f"{self.lesson}: missing {m}" for m in self.missing] +
                [f"{self.lesson}: stale {s}" for s in self.stale] +
                [f"{self.lesson}: orphan {o} (no such English cell or comment any more)" for o in self.orphans])


def target_of(english: Path) -> Path:
    return JA / english.name


def source_of(english: Path) -> Path:
    return SRC / (english.stem + ".md")


def match_markdown(cells, src: Source) -> list:
    """For each English markdown cell (in order), the id of its translation in ``src``, or None.

    1. the same id, written for the same English text;
    2. else the entry written for the same English text (the cell was renumbered);
    3. else the same id, unless that entry's English text now sits in another cell (then this is a
       new cell), which makes an edited cell "stale";
    4. else, for a run of such cells between two matched ones, the unused entries between those two
       translations, when there are exactly as many: a cell both renumbered and edited is stale,
       not new.
    """
    by_hash = {h: cid for cid, (h, _) in src.md.items()}
    hashes = [en_hash(c.source) for c in cells]
    present = set(hashes)
    match = []
    for cell, h in zip(cells, hashes):
        cid = cell.get("id")
        if src.md.get(cid, ("",))[0] == h:
            match.append(cid)
        elif h in by_hash:
            match.append(by_hash[h])
        elif cid in src.md and src.md[cid][0] not in present:
            match.append(cid)
        else:
            match.append(None)
    # a run of unmatched cells between two matched ones takes the unused entries between their
    # translations, in order, when there are exactly as many (else it stays "missing": ambiguous)
    order = {cid: k for k, cid in enumerate(src.md)}
    taken = {m for m in match if m is not None}
    i = 0
    while i < len(match):
        if match[i] is not None:
            i += 1
            continue
        j = i
        while j < len(match) and match[j] is None:
            j += 1
        lo = order[match[i - 1]] if i > 0 else -1
        hi = order[match[j]] if j < len(match) else len(order)
        free = [cid for cid in src.md if lo < order[cid] < hi and cid not in taken]
        if len(free) == j - i:
            match[i:j] = free
        i = j
    return match


def translate_markdown(nb, src: Source, report: Report) -> set[str]:
    """Put each markdown cell's Japanese text from ``src`` in place (found by id, else by the English
    text's hash); note missing and stale cells in ``report``. Returns the markers used. The lessons
    and the assignments' twins (course/ja/_assignments/build.py) share it."""
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    matched = match_markdown(markdown, src)
    for cell, entry in zip(markdown, matched):
        h = en_hash(cell.source)
        if entry is None:
            report.missing.append(f"markdown cell {cell.get('id')} (English hash {h})")
            continue
        was, text = src.md[entry]
        if was != h:
            report.stale.append(f"markdown cell {cell.get('id')}: English text changed since it was "
                                f"translated (marker {entry} says {was}, now {h})")
        cell.source = join_japanese_lines(text)
    return set(matched)


def build(english: Path) -> tuple[nbformat.NotebookNode, Report]:
    """The Japanese notebook for ``english`` (in memory) and what still needs translating."""
    nb = nbformat.read(english, as_version=4)
    src = Source.read(source_of(english))
    report = Report(english.stem)
    used_comments, used_strings = set(), set()
    used_md = translate_markdown(nb, src, report)
    for cell in nb.cells:
        cid = cell.get("id")
        if cell.cell_type == "code":
            used_comments.update(text.rstrip() for _, _, text in comments_of(cell.source))
            cell.source, missing = replace_comments(cell.source, src.comments)
            report.missing += [f"comment {c!r} (code cell {cid})" for c in missing]
            cell.source, used = replace_strings(cell.source, src.strings)
            used_strings |= used
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    report.orphans += [f"markdown cell {cid}" for cid in src.md if cid not in used_md]
    report.orphans += [f"comment {c!r}" for c in src.comments if c not in used_comments]
    report.orphans += [f"string {s} (no such literal in the code)" for s in src.strings if s not in used_strings]
    nb.metadata.pop("widgets", None)
    nb.metadata["rnnviz"] = {"language": "ja", "built_from": f"../{english.name}",
                             "translations": f"_src/{source_of(english).name}",
                             "do_not_edit": "generated by course/ja/_build.py"}
    return nb, report


def as_text(nb) -> str:
    return nbformat.writes(nb) + "\n"


def skeleton(english: Path) -> str:
    """A translation source holding the English text, for a translator to overwrite."""
    nb = nbformat.read(english, as_version=4)
    parts, comments = [], []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(f"<!-- md {cell.id} {en_hash(cell.source)} -->\n{cell.source}\n")
        elif cell.cell_type == "code":
            for _, _, text in comments_of(cell.source):
                if needs_translation(text) and text.rstrip() not in comments:
                    comments.append(text.rstrip())
    parts.append("<!-- comments -->\n" + "".join(f"en: {c}\nja: {c}\n" for c in comments))
    return "\n".join(parts)


def sync_ids(english: Path) -> list[str]:
    """Rename, in the lesson's translation source, the markers of cells whose English text is
    unchanged but whose id changed (cells were inserted or removed before them). Returns the renames."""
    nb = nbformat.read(english, as_version=4)
    id_of_hash = {en_hash(c.source): c.id for c in nb.cells if c.cell_type == "markdown"}
    path = source_of(english)
    text = path.read_text(encoding="utf-8")
    renames = []

    def rename(m):
        new = id_of_hash.get(m["hash"])
        if new is None or new == m["id"]:
            return m[0]
        renames.append(f"{m['id']} -> {new}")
        return f"<!-- md {new} {m['hash']} -->"

    text = re.sub(r"<!-- md (?P<id>[\w-]+) (?P<hash>[0-9a-f]{8}) -->", rename, text)
    if renames:
        path.write_text(text, encoding="utf-8")
    return renames


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything needs work")
    ap.add_argument("--skeleton", metavar="LESSON", help="write _src/LESSON.md from the English text")
    ap.add_argument("--sync-ids", action="store_true",
                    help="rename the markers of cells that kept their English text but changed id")
    args = ap.parse_args(argv)
    if args.sync_ids:
        for english in english_lessons():
            if source_of(english).exists():
                for line in sync_ids(english):
                    print(f"{english.stem}: {line}")
    if args.skeleton:
        english = COURSE / (Path(args.skeleton).stem + ".ipynb")
        out = source_of(english)
        if out.exists():
            print(f"{out} exists; not overwritten", file=sys.stderr)
            return 1
        out.parent.mkdir(exist_ok=True)
        out.write_text(skeleton(english), encoding="utf-8")
        print(f"wrote {out}")
        return 0
    bad = 0
    for english in english_lessons():
        if not source_of(english).exists():
            print(f"{english.stem}: no translation yet (start one with --skeleton {english.stem})")
            bad += 1
            continue
        nb, report = build(english)
        target = target_of(english)
        text = as_text(nb)
        same = target.exists() and target.read_text(encoding="utf-8") == text
        for line in report.lines():
            print(line)
        if args.check and not same:
            print(f"{english.stem}: {target.name} differs from its rebuild: run python course/ja/_build.py")
        bad += not report.clean or (args.check and not same)
        if not args.check and not same:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(COURSE.parent)}")
    print("all lessons translated and built" if not bad else f"{bad} lesson(s) need work")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
