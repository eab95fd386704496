"""The Japanese edition says each concept one way, and sets its text the Japanese way.

The glossary is the table under 「## 用語集」 in course/ja/README.md: one row per concept, with
the term the course uses, the English term, the variants it replaces (「使わない表記」, separated
by 「、」) and a note. Here, for every Japanese lesson (its prose, its code comments and the figure
words listed in course/ja/_src/) and for the README itself:

* no variant the glossary sets aside appears (one term per concept, one spelling per term);
* every term the glossary lists is used somewhere (the table describes the course, not a wish);
* typography: no italics around Japanese (Japanese uses bold or 「」), no space between two
  Japanese characters (spaces only next to Latin words, numbers, code and formulas), sentences in
  です/ます (none ends in である or だ), katakana terms from -er/-or/-ar and -ry without the final
  long vowel (パラメータ, フォルダ, メモリ: the JIS style of DLFS2), one to nine things counted
  with つ written ひとつ, 二つ ... 九つ (not 一つ or 2 つ).

Each check is shown to fail on a bad sample (the tests at the end).
"""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
JA = REPO / "course" / "ja"
README = JA / "README.md"
LESSONS = sorted(JA.glob("[0-9][0-9]_*.ipynb"))

KANA_KANJI = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u3005"
JPUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"   # 、。「」（）：…
JCHAR = f"[{KANA_KANJI}{JPUNCT}]"
KANA_KANJI_RE = re.compile(f"[{KANA_KANJI}]")


# -- what the learner reads -----------------------------------------------------------------------
def _code_comments(code: str) -> list[str]:
    lines = [("#" + line[1:] if line[:1] in "%!" else line) for line in code.split("\n")]
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline)
                if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [line.strip() for line in lines if line.strip().startswith("#")]


def _figure_words(lesson: Path) -> list[str]:
    src = JA / "_src" / f"{lesson.stem}.md"
    parts = re.split(r"^<!-- strings -->\s*$", src.read_text(encoding="utf-8"), flags=re.M)
    return re.findall(r"^ja: (.*)$", parts[1].split("<!-- ")[0], flags=re.M) if len(parts) > 1 else []


def readme_without_glossary() -> str:
    """The README less the glossary's table rows (they name the variants to avoid)."""
    text = README.read_text(encoding="utf-8")
    head, sep, rest = text.partition("\n## 用語集")
    if not sep:
        return text
    body, sep2, tail = rest.partition("\n## ")
    kept = [line for line in body.split("\n") if not line.lstrip().startswith("|")]
    return head + sep + "\n".join(kept) + sep2 + tail


def documents() -> list[tuple[str, str, str]]:
    """(where, kind, text): kind "md" (Markdown prose) or "plain" (comments, figure words)."""
    out = [("README.md", "md", readme_without_glossary())]
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            where = f"{path.stem} cell {cell.get('id')}"
            if cell.cell_type == "markdown":
                out.append((where, "md", cell.source))
            elif cell.cell_type == "code":
                out += [(where, "plain", c) for c in _code_comments(cell.source)]
        out += [(f"{path.stem} figure words", "plain", w) for w in _figure_words(path)]
    return out


def as_rendered(markdown: str) -> str:
    """The text a reader sees, roughly: code spans and formulas become a Latin placeholder (they
    sit among words like a Latin word), fenced code, HTML tags and link targets go, emphasis
    marks go, and a line break inside a paragraph becomes the space a browser shows."""
    text = re.sub(r"```.*?```", "\n", markdown, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "\n", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "X", text)
    text = re.sub(r"(?<![\\$])\$[^$\n]+\$", "X", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>\n]*>", "\n", text)
    text = re.sub(r"\*\*|__", "", text)
    text = re.sub(r"(?<=\S)[ \t]*\n(?![ \t]*(\n|[*+-] |\d+[.)] |#|\||>))[ \t]*", " ", text)
    return text


# -- the glossary --------------------------------------------------------------------------------------
def glossary() -> list[dict]:
    """The rows of the table under 「## 用語集」: term, english, avoid (a list), note."""
    text = README.read_text(encoding="utf-8")
    _, sep, rest = text.partition("\n## 用語集")
    assert sep, "course/ja/README.md has no 「## 用語集」 section"
    rows = [line for line in rest.split("\n## ")[0].split("\n") if line.lstrip().startswith("|")]
    header = [c.strip() for c in rows[0].strip().strip("|").split("|")]
    assert header[:3] == ["用語", "英語", "使わない表記"], header
    out = []
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        avoid = [] if cells[2] in ("", "—") else [v.strip() for v in cells[2].split("、") if v.strip()]
        out.append({"term": cells[0], "english": cells[1], "avoid": avoid, "note": cells[3]})
    return out


def avoided_variants(text: str, rows) -> list[str]:
    """The variants of ``rows`` that ``text`` uses."""
    plain = re.sub(r"\*\*|`", "", text)
    return [v for row in rows for v in row["avoid"] if v in plain]


# -- typography -------------------------------------------------------------------------------------
def italic_japanese(markdown: str) -> list[str]:
    """*...* or _..._ (single marks) around text with Japanese in it."""
    text = re.sub(r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]+\$", "X", markdown, flags=re.S)
    text = re.sub(r"\*\*|__", "", text)
    found = re.findall(r"(?<![A-Za-z0-9*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![A-Za-z0-9*])", text)
    found += re.findall(r"(?<![A-Za-z0-9_])_(?=\S)([^_\n]+?)(?<=\S)_(?![A-Za-z0-9_])", text)
    return [f for f in found if KANA_KANJI_RE.search(f)]


def spaces_between_japanese(markdown: str, rendered: bool = True) -> list[str]:
    text = as_rendered(markdown) if rendered else markdown
    return [m.group(0) for m in re.finditer(f"{JCHAR}{{1,3}}[ \u3000]+{JCHAR}{{1,3}}", text)]


POLITE = ("です", "ます", "ました", "ません", "でした", "でしょう", "ましょう", "ください", "ませんでした")


def plain_style_sentences(markdown: str) -> list[str]:
    """Sentences (ended by 。) that end in the plain style: である, だ, or a plain verb or
    adjective (…る, …た, …ない, …う), outside 「」 quotations."""
    text = "\n".join(line for line in as_rendered(markdown).split("\n")
                     if not line.lstrip().startswith("|"))   # table cells are noun phrases
    text = re.sub(r"「[^「」]*」", "「」", text)
    bad = []
    for sentence in re.findall(f"[^。\n]*?(?:{JCHAR})[）」』]*。", text):
        core = re.sub(r"[）」』]*。$", "", sentence).rstrip()
        if core.endswith(POLITE):
            continue
        if re.search(r"(である|だ|だろう|る|た|ない|う|い)$", core) and not core.endswith(("ようにする",)):
            bad.append(sentence.strip()[-30:])
    return bad


# katakana words from -er, -or, -ar (…ター, …ダー, …ザー, …ラー, …ナー, …カー …) and -ry (…リー)
# of three morae or more keep no final ー here; these few keep it (their ー is not that ending)
LONG_VOWEL_KEPT = {"ハイパー", "スーパー", "エラー", "カラー", "パワー", "ツアー", "ツリー", "キー", "データー"}


def long_vowel_endings(text: str) -> list[str]:
    bad = []
    for word in re.findall(r"[ァ-ヴー]+", text):
        if word in LONG_VOWEL_KEPT or len(word) < 4:
            continue
        if re.search(r"[タダザサラナヤカガパバマャァ]ー$", word) or word.endswith("リー"):
            bad.append(word)
    return bad


def counters(text: str) -> list[str]:
    """Things counted with つ: ひとつ, 二つ … 九つ; not 一つ, nor a digit (2 つ)."""
    plain = re.sub(r"`[^`\n]*`|\$[^$\n]+\$", "X", text)
    return re.findall(r"一つ|(?<![\d.,])\d ?つ", plain)


# -- the checks on the edition ------------------------------------------------------------------------
DOCS = documents()


def test_the_glossary_is_there_and_each_term_is_used():
    rows = glossary()
    assert len(rows) >= 40, f"the glossary lists {len(rows)} terms"
    terms = [r["term"] for r in rows]
    assert len(set(terms)) == len(terms), sorted(t for t in terms if terms.count(t) > 1)
    everything = "\n".join(text for _, _, text in DOCS)
    unused = [t for t in terms if re.sub(r"（.*?）", "", t) not in re.sub(r"\*\*|`", "", everything)]
    assert not unused, f"glossary terms no lesson uses: {unused}"
    for row in rows:
        assert row["english"] and row["note"], row
        for v in row["avoid"]:
            assert v not in row["term"], f"{row['term']}: the variant {v!r} is part of the term itself"


def test_no_lesson_uses_a_variant_the_glossary_sets_aside():
    rows = glossary()
    bad = [(where, v) for where, _, text in DOCS for v in avoided_variants(text, rows)]
    assert not bad, "variants the glossary replaces:\n" + "\n".join(f"  {w}: {v}" for w, v in bad)


def test_no_italics_on_japanese():
    bad = [(where, s) for where, kind, text in DOCS if kind == "md" for s in italic_japanese(text)]
    assert not bad, "\n".join(f"  {w}: *{s}*" for w, s in bad)


def test_no_space_between_japanese_characters():
    bad = [(where, s) for where, kind, text in DOCS if kind == "md" for s in spaces_between_japanese(text)]
    assert not bad, "\n".join(f"  {w}: {s!r}" for w, s in bad)


def test_sentences_are_in_desu_masu():
    bad = [(where, s) for where, kind, text in DOCS if kind == "md" for s in plain_style_sentences(text)]
    assert not bad, "\n".join(f"  {w}: …{s}" for w, s in bad)


def test_katakana_long_vowels_follow_one_convention():
    bad = [(where, s) for where, _, text in DOCS for s in long_vowel_endings(as_rendered(text))]
    assert not bad, "\n".join(f"  {w}: {s}" for w, s in bad)


def test_counting_with_tsu_is_spelled_one_way():
    bad = [(where, s) for where, kind, text in DOCS if kind == "md" for s in counters(as_rendered(text))]
    assert not bad, "\n".join(f"  {w}: {s}" for w, s in bad)


# -- each check fails on a bad sample -------------------------------------------------------------------
SAMPLE_ROWS = [{"term": "チャンスレベル", "english": "chance level", "avoid": ["当てずっぽう"], "note": "."},
               {"term": "フォルダ", "english": "folder", "avoid": ["フォルダー"], "note": "."}]


def test_the_variant_check_can_fail():
    assert avoided_variants("正解率は当てずっぽうのままです。", SAMPLE_ROWS) == ["当てずっぽう"]
    assert avoided_variants("この**フォルダー**にあります。", SAMPLE_ROWS) == ["フォルダー"]
    assert avoided_variants("このフォルダにあり、チャンスレベルです。", SAMPLE_ROWS) == []


def test_the_italics_check_can_fail():
    assert italic_japanese("関数を *リカレントセル* と呼びます。") == ["リカレントセル"]
    assert italic_japanese("*すべての*時刻") == ["すべての"]
    assert italic_japanese("同じ _重み_ です") == ["重み"]
    assert italic_japanese("**すべての**時刻、*Run All Cells*、`a*b*c`、$x_t * y_t$、a_b_c") == []


def test_the_space_check_can_fail():
    assert spaces_between_japanese("**すべての** ステップ") == ["べての ステッ"]
    assert spaces_between_japanese("時間方向の逆伝播（BPTT） は") == ["） は"]
    assert spaces_between_japanese("計算グラフの\n記録です") == ["ラフの 記録で"]
    assert spaces_between_japanese("`L.RNN` の 5 ステップ、$h_t$ を LSTM で") == []


def test_the_desu_masu_check_can_fail():
    assert plain_style_sentences("計算グラフは記録である。次へ進みます。") == ["計算グラフは記録である。"]
    assert plain_style_sentences("これは勾配だ。") == ["これは勾配だ。"]
    assert plain_style_sentences("勾配は消えない。") == ["勾配は消えない。"]
    assert plain_style_sentences("記録です。「これは記録だ。」と言います。消えません。") == []


def test_the_long_vowel_check_can_fail():
    assert long_vowel_endings("アップデーターとフォルダーとメモリー") == ["アップデーター", "フォルダー", "メモリー"]
    assert long_vowel_endings("アップデータ、フォルダ、メモリ、ハイパーパラメータ、エラー、エントロピー") == []


def test_the_counter_check_can_fail():
    assert counters("一つの系列と 2 つの層") == ["一つ", "2 つ"]
    assert counters("ひとつの系列と二つの層、`2 つ`、12 個") == []
