"""The Japanese edition (course/ja/): the same lessons, the same code, Japanese words.

* every English lesson has a Japanese one, built from it by course/ja/_build.py, and equal to a
  fresh rebuild (so an English change that was not carried over fails here);
* pairing: the same cells, ids and types, and code cells identical to the English ones once
  comments are removed; the comments that carry English words are translated;
* the prose of every markdown cell is Japanese (a share of kana and kanji among the letters);
* every Japanese lesson runs top to bottom (nbclient, as tests/test_notebooks.py runs the English
  ones), its widgets speak Japanese and draw without a missing-glyph warning;
* the widgets' strings table and font: a rendered Japanese widget figure has no missing glyph
  (matplotlib's warning is made an error), a figure without a Japanese font does warn (so the
  check can fail), and without a Japanese font the figures fall back to English with one note.
"""
from __future__ import annotations

import importlib.util
import io
import re
import string
import sys
import tokenize
import warnings
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "course"
JA = COURSE / "ja"
ENGLISH = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))
JAPANESE = sorted(JA.glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "japanese"
CELL_TIMEOUT_S = 120
ANSI = re.compile(r"\x1b\[[0-9;]*m")
GLYPH_MISSING = r".*[Gg]lyph .* missing from"   # matplotlib: "Glyph 21237 (...) missing from font(s) ..."

KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff]")
JAPANESE_CHAR = re.compile(r"[\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
MIN_JAPANESE_SHARE = 0.5


def _load_build():
    spec = importlib.util.spec_from_file_location("ja_build", JA / "_build.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _pairs():
    return [(en, JA / en.name) for en in ENGLISH]


# -- helpers the checks use (independent of the build script) -----------------------------------
def comments(code: str) -> list[str]:
    """The comments of a code cell, by Python's tokenizer (a '#' in a string is none)."""
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [line.strip() for line in code.split("\n") if line.strip().startswith("#")]


def without_comments(code: str) -> list[str]:
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
        lines = code.split("\n")
        for t in sorted((t for t in toks if t.type == tokenize.COMMENT), key=lambda t: t.start, reverse=True):
            row, col = t.start
            lines[row - 1] = lines[row - 1][:col]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        lines = [line for line in code.split("\n") if not line.strip().startswith("#")]
    return [line.rstrip() for line in lines if line.strip()]


def prose(markdown: str) -> str:
    """What a reader reads: no code blocks, inline code, formulas, link targets or HTML tags."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>\n]*>", " ", text)
    return text


def japanese_share(markdown: str) -> float:
    text = prose(markdown)
    ja, latin = len(JAPANESE_CHAR.findall(text)), len(LATIN.findall(text))
    return ja / (ja + latin) if ja + latin else 0.0


def english_words(comment: str) -> bool:
    return len(re.findall(r"[A-Za-z]{3,}", comment)) >= 2


# The words of figures drawn by lesson code: _src/NN.md lists, under <!-- strings -->, pairs of
# an English string literal (maybe with a few tokens around it, as label="unigram") and the
# Japanese one that replaces it. These are the only differences allowed in the code.
def listed_strings(lesson: str) -> list[tuple[str, str]]:
    path = JA / "_src" / f"{lesson}.md"
    section = re.split(r"^<!-- strings -->\s*$", path.read_text(encoding="utf-8"), flags=re.M)
    if len(section) < 2:
        return []
    body = re.split(r"^<!-- ", section[1], flags=re.M)[0]
    en = re.findall(r"^en: (.*\S)\s*$", body, flags=re.M)
    ja = re.findall(r"^ja: (.*\S)\s*$", body, flags=re.M)
    assert len(en) == len(ja), f"{path.name}: <!-- strings --> is not en:/ja: pairs"
    return list(zip(en, ja))


def _significant_tokens(code: str):
    lines = [("#" + line[1:] if line[:1] in "%!" else line) for line in code.split("\n")]  # IPython lines
    skip = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER)
    return [t for t in tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline) if t.type not in skip]


def english_again(code: str, pairs) -> tuple[str, set[int]]:
    """The Japanese code with each listed Japanese literal put back to the English one; the indexes
    of the pairs it found. Only whole tokens in the listed surroundings are put back."""
    try:
        toks = _significant_tokens(code)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code, set()
    keys = [(t.type, t.string) for t in toks]
    edits, found = set(), set()
    for n, (en, ja) in enumerate(pairs):
        want = [(t.type, t.string) for t in _significant_tokens(ja)]
        back = [t.string for t in _significant_tokens(en)]
        for start in range(len(keys) - len(want) + 1):
            if keys[start:start + len(want)] == want:
                for k, (typ, text) in enumerate(want):
                    if typ == tokenize.STRING and back[k] != text:
                        edits.add((toks[start + k].start, toks[start + k].end, back[k]))
                found.add(n)
    lines = code.split("\n")
    for (row, col), (_, end), text in sorted(edits, reverse=True):
        lines[row - 1] = lines[row - 1][:col] + text + lines[row - 1][end:]
    return "\n".join(lines), found


def code_differences(en_code: str, ja_code: str, pairs) -> tuple[bool, set[int]]:
    """(whether the two cells differ beyond comments and the listed literals, the pairs used)."""
    back, found = english_again(ja_code, pairs)
    return without_comments(back) != without_comments(en_code), found


# -- the lessons exist and equal their rebuild --------------------------------------------------
def test_every_english_lesson_has_a_japanese_edition():
    assert ENGLISH, f"no English lessons in {COURSE}"
    missing = [ja.name for en, ja in _pairs() if not ja.exists()]
    assert not missing, f"no Japanese edition of {missing}: translate it (python course/ja/_build.py --skeleton NAME)"
    extra = sorted({p.name for p in JAPANESE} - {p.name for p in ENGLISH})
    assert not extra, f"Japanese lessons without an English one: {extra}"
    assert (JA / "README.md").exists(), "course/ja/README.md is missing"


@pytest.mark.parametrize("english", ENGLISH, ids=[p.stem for p in ENGLISH])
def test_japanese_lesson_is_its_rebuild_and_fully_translated(english):
    build = _load_build()
    if not build.source_of(english).exists():
        pytest.fail(f"{english.stem}: no translation source {build.source_of(english).relative_to(REPO)}",
                    pytrace=False)
    nb, report = build.build(english)
    assert report.clean, "\n".join(report.lines())
    target = JA / english.name
    assert target.exists() and target.read_text(encoding="utf-8") == build.as_text(nb), \
        f"{target.relative_to(REPO)} differs from its rebuild: run python course/ja/_build.py"


# -- pairing --------------------------------------------------------------------------------------
@pytest.mark.parametrize("english,japanese", _pairs(), ids=[p.stem for p in ENGLISH])
def test_code_cells_are_the_english_ones(english, japanese):
    if not japanese.exists():
        pytest.fail(f"{japanese.name} does not exist", pytrace=False)
    en = nbformat.read(english, as_version=4)
    ja = nbformat.read(japanese, as_version=4)
    nbformat.validate(ja)
    assert [(c.cell_type, c.get("id")) for c in ja.cells] == [(c.cell_type, c.get("id")) for c in en.cells], \
        "the Japanese lesson's cells (types and ids, in order) differ from the English lesson's"
    pairs = listed_strings(english.stem)
    for en_lit, ja_lit in pairs:
        assert JAPANESE_CHAR.search(ja_lit) and not JAPANESE_CHAR.search(en_lit), (en_lit, ja_lit)
    used = set()
    for i, (ce, cj) in enumerate(zip(en.cells, ja.cells)):
        if ce.cell_type != "code":
            continue
        differs, found = code_differences(ce.source, cj.source, pairs)
        used |= found
        assert not differs, \
            f"code cell {i} ({ce.get('id')}) differs from the English one beyond its comments and listed strings"
        ec, jc = comments(ce.source), comments(cj.source)
        assert len(ec) == len(jc), f"code cell {i}: {len(jc)} comments, the English cell has {len(ec)}"
        untranslated = [e for e, j in zip(ec, jc) if english_words(e) and not JAPANESE_CHAR.search(j)]
        assert not untranslated, f"code cell {i}: comments not in Japanese: {untranslated}"
    unused = [pairs[n] for n in range(len(pairs)) if n not in used]
    assert not unused, f"listed strings the Japanese code does not use: {unused}"


def test_code_equality_allows_exactly_the_listed_strings():
    """The check above can fail: an unlisted changed literal, a listed literal in another place
    (a dict key, not the label= argument) and a changed name all count as differences."""
    en = 'ax.plot(x, label="unigram")\nax.set_title("loss")\nd["unigram"] = 1\n%matplotlib widget'
    pairs = [('label="unigram"', 'label="ユニグラム"'), ('"loss"', '"損失"')]
    good = 'ax.plot(x, label="ユニグラム")  # 描く\nax.set_title("損失")\nd["unigram"] = 1\n%matplotlib widget'
    assert code_differences(en, good, pairs) == (False, {0, 1})
    for bad in (good.replace('"損失"', '"損失関数"'),                      # not the listed literal
                good.replace('d["unigram"]', 'd["ユニグラム"]'),           # listed only after label=
                good.replace("ax.set_title", "ax.set_xlabel"),             # code, not a string
                good.replace('"損失"', "'損失'")):                        # another token
        assert code_differences(en, bad, pairs)[0], bad
    assert code_differences(en, en, pairs) == (False, set())            # nothing used: reported above


@pytest.mark.parametrize("japanese", JAPANESE, ids=[p.stem for p in JAPANESE])
def test_prose_is_japanese(japanese):
    nb = nbformat.read(japanese, as_version=4)
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    assert cells, f"{japanese.name} has no prose"
    low = {i: round(japanese_share(c.source), 2) for i, c in cells
           if japanese_share(c.source) < MIN_JAPANESE_SHARE or not KANA.search(prose(c.source))}
    assert not low, (f"{japanese.name}: markdown cells whose prose is not Japanese (share of kana/kanji "
                     f"among letters, want >= {MIN_JAPANESE_SHARE}): {low}")


def test_the_prose_measure_tells_english_from_japanese():
    """The measure above is not trivially passed: every English lesson's prose scores low."""
    scores = [japanese_share(c.source) for p in ENGLISH for c in nbformat.read(p, as_version=4).cells
              if c.cell_type == "markdown"]
    assert scores and max(scores) < 0.05, max(scores)
    assert japanese_share("計算グラフは順伝播の記録である。`backward()` はそれを逆にたどる。") > 0.9


def test_japanese_readme_is_japanese():
    text = (JA / "README.md").read_text(encoding="utf-8")
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if LATIN.search(p) or JAPANESE_CHAR.search(p)]
    share = sum(japanese_share(p) for p in paragraphs) / len(paragraphs)
    assert share >= MIN_JAPANESE_SHARE, share
    for en in ENGLISH:   # it leads to every lesson
        assert en.name in text, f"course/ja/README.md does not link {en.name}"


@pytest.mark.parametrize("japanese", JAPANESE, ids=[p.stem for p in JAPANESE])
def test_japanese_lesson_is_committed_without_outputs(japanese):
    nb = nbformat.read(japanese, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{japanese.name}: cells {dirty} carry outputs"
    assert "widgets" not in nb.metadata


# -- every Japanese lesson runs --------------------------------------------------------------------
# Appended to the in-memory copy: the kernel chose Japanese by itself (the lesson's folder is
# course/ja), every widget's figure has Japanese words and renders without a missing glyph.
CHECK_CELL = r'''
import gc as _gc, io as _io, re as _re, warnings as _warnings
from rnnviz import i18n as _i18n
from rnnviz.widgets._base import FigureWidget as _FigureWidget
assert _i18n.get_language() == "ja", f"the kernel chose {_i18n.get_language()!r}, not 'ja'"
assert _i18n.cjk_font() is not None, "no Japanese font for matplotlib in the kernel"
_kana = _re.compile("[\u3040-\u30ff]")
_found = [o for o in _gc.get_objects() if issubclass(type(o), _FigureWidget)]  # type(): no weakproxy deref
for _w in _found:
    with _warnings.catch_warnings():
        _warnings.filterwarnings("error", message=%r)
        _w.figure.savefig(_io.BytesIO(), format="png")
    _words = [t.get_text() for t in _w.figure.findobj(lambda a: hasattr(a, "get_text"))]
    assert any(_kana.search(t) for t in _words), (type(_w).__name__, "no Japanese in its figure", _words[:12])
print("JAPANESE-WIDGETS-CHECKED", len(_found))
''' % GLYPH_MISSING


@pytest.fixture(scope="module", autouse=True)
def _lessons_run_two_at_a_time(request):
    """The Japanese lessons this module's selected tests run start at once, two at a time."""
    if any("lessons" in item.fixturenames for item in request.session.items if item.module is request.module):
        from conftest import selected_lessons

        request.getfixturevalue("lessons").prefetch(
            (p, [CHECK_CELL]) for p in selected_lessons(request, "japanese"))


@pytest.mark.parametrize("japanese", JAPANESE, ids=[p.stem for p in JAPANESE])
def test_japanese_lesson_runs(japanese, lessons):
    from nbclient.exceptions import CellExecutionError

    # conftest.py's shared run (once per session): the kernel in the lesson's folder, without
    # RNNVIZ_LANG (the folder alone must select Japanese), offline (RNNVIZ_OFFLINE=1: the corpus
    # lesson makes no download attempt), no user IPython or matplotlib profile
    try:
        nb, _ = lessons.run(japanese, extra_cells=[CHECK_CELL])
    except CellExecutionError as exc:
        pytest.fail(f"{japanese.name}: a cell failed\n{ANSI.sub('', str(exc))}", pytrace=False)
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    stderr = [o.get("text", "") for o in outputs if o.get("name") == "stderr"]
    assert not any("Traceback" in s for s in stderr), f"{japanese.name}: traceback on stderr:\n{stderr}"
    glyphs = [s for s in stderr if re.search(GLYPH_MISSING, s)]
    assert not glyphs, f"{japanese.name}: matplotlib could not draw some characters:\n{glyphs}"
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "JAPANESE-WIDGETS-CHECKED" in last, last
    # every figure it drew, in Japanese, legible (rnnviz.viz.legibility, after each cell)
    problems = lessons.figure_problems(japanese)
    assert not problems, f"{japanese.name}:\n" + "\n".join(f"  {fig}: {p}" for fig, p in problems)


# -- the strings table, the language setting and the font --------------------------------------------
@pytest.fixture
def i18n():
    import matplotlib
    from rnnviz import i18n as mod

    family = list(matplotlib.rcParams["font.family"])
    mod._reset_for_tests()
    yield mod
    mod._reset_for_tests()
    matplotlib.rcParams["font.family"] = family


def _fields(text):
    return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)


def test_strings_table_has_both_languages_with_the_same_fields(i18n):
    # this file's table (widgets, figures); the grader's registered messages, some of them only
    # punctuation or code between fields, are checked by tests/test_grading_japanese*.py
    own = {k: e for k, e in i18n.STRINGS.items() if k not in i18n.REGISTERED}
    assert len(own) > 100
    for key, entry in own.items():
        assert set(entry) == {"en", "ja"}, key
        assert _fields(entry["en"]) == _fields(entry["ja"]), key
        assert JAPANESE_CHAR.search(entry["ja"]), f"{key}: the Japanese string has no Japanese: {entry['ja']!r}"
        assert not JAPANESE_CHAR.search(entry["en"]), key


def test_language_follows_the_setting_the_environment_and_the_folder(i18n, tmp_path, monkeypatch):
    monkeypatch.delenv("RNNVIZ_LANG", raising=False)
    (tmp_path / "ja").mkdir()
    monkeypatch.chdir(tmp_path)
    assert i18n.get_language() == "en"
    i18n._reset_for_tests()
    monkeypatch.chdir(tmp_path / "ja")
    assert i18n.get_language() == "ja"
    assert i18n.tr("graph.values") == "値"
    i18n._reset_for_tests()
    monkeypatch.setenv("RNNVIZ_LANG", "en")
    assert i18n.get_language() == "en" and i18n.tr("graph.values") == "values"
    assert i18n.set_language("ja") == "ja" and i18n.tr("graph.values") == "値"
    with i18n.language("en"):
        assert i18n.tr("graph.values") == "values"
    assert i18n.get_language() == "ja"
    with pytest.raises(ValueError, match="set_language: lang must be one of"):
        i18n.set_language("fr")


def _draw_strictly(fig):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=GLYPH_MISSING)
        fig.canvas.draw()


def _figure_words(fig):
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]


def test_japanese_widget_figures_have_no_missing_glyphs(i18n):
    """Each widget, built in Japanese and drawn with matplotlib's missing-glyph warning as an error;
    its figure shows Japanese words. The PNGs are kept for a human look."""
    from rnnviz.widgets import BPTTComparison, GraphView, HiddenStateAnimator, UnchainExplorer

    assert i18n.bundled_font_file() is not None, "japanize-matplotlib (its font) is not installed"
    i18n.set_language("ja")
    assert i18n.cjk_font() == "IPAexGothic"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for cls in (GraphView, HiddenStateAnimator, UnchainExplorer, BPTTComparison):
        w = cls()
        assert getattr(w, "ready", True), w.message.value
        _draw_strictly(w.figure)
        words = _figure_words(w.figure)
        assert any(KANA.search(t) for t in words), (cls.__name__, words)
        w.figure.savefig(ARTIFACTS / f"{cls.__name__}.png", dpi=100)
    g = GraphView()
    assert g.mode.options[0][0] == "値" and g.group_toggle.options[1][0] == "すべての関数"
    g.mode.value = "gradients"   # the colour bar's label changes
    _draw_strictly(g.figure)
    assert "|勾配|（L2、対数）" in _figure_words(g.figure)


def test_the_glyph_check_fails_without_a_japanese_font(i18n):
    """The check above can fail: Japanese words in the default font warn of missing glyphs."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = Figure()
        FigureCanvasAgg(fig)
        fig.add_subplot().set_title("勾配の流れ")
        with pytest.raises(UserWarning, match="missing from"):
            _draw_strictly(fig)


def test_without_a_japanese_font_figures_fall_back_to_english_with_one_note(i18n, capsys):
    from rnnviz.widgets import HiddenStateAnimator

    i18n._reset_for_tests(font_checked=True, font=None)   # as on a machine with no Japanese font
    i18n.set_language("ja")
    i18n.set_language("ja")
    note = capsys.readouterr().out.strip().splitlines()
    assert len(note) == 1 and "japanize-matplotlib" in note[0], note
    assert i18n.ftr("hidden.title") == "hidden state h_t (colour = activation)"
    assert i18n.tr("hidden.slider") == "時刻 t"   # the browser draws the controls: still Japanese
    w = HiddenStateAnimator()
    _draw_strictly(w.figure)
    words = _figure_words(w.figure)
    assert not any(JAPANESE_CHAR.search(t) for t in words), words
    assert w.time_slider.description == "時刻 t"


# -- make lab LANG=ja ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lang,japanese", [("ja", True), ("ja_JP.UTF-8", False), ("C.UTF-8", False)])
def test_make_lab_lang_ja_starts_the_japanese_edition(lang, japanese):
    """`make -n` (nothing runs): only LANG=ja exactly gives JupyterLab in Japanese on course/ja/."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "lab", f"LANG={lang}"], cwd=REPO, capture_output=True, text=True,
                         timeout=60).stdout
    lab_lines = [line for line in out.splitlines() if "jupyter lab" in line or "default_url" in line]
    assert lab_lines, out
    text = "\n".join(out.splitlines())
    assert ("course/ja/README.md" in text) == japanese, text
    assert ('{"locale": "ja_JP"}' in text) == japanese, text
    if japanese:
        assert "JUPYTERLAB_SETTINGS_DIR=" in text and "Markdown Preview" in text, text


# -- the build script notices every kind of drift -----------------------------------------------------
@pytest.fixture
def lesson_copy(tmp_path, monkeypatch):
    """A copy of lesson 00 and its translation in a temporary course, with the build pointed at it."""
    import shutil

    build = _load_build()
    course, ja = tmp_path / "course", tmp_path / "course" / "ja"
    (ja / "_src").mkdir(parents=True)
    name = "00_seeing_the_graph"
    shutil.copy(COURSE / f"{name}.ipynb", course)
    shutil.copy(JA / "_src" / f"{name}.md", ja / "_src")
    monkeypatch.setattr(build, "COURSE", course)
    monkeypatch.setattr(build, "JA", ja)
    monkeypatch.setattr(build, "SRC", ja / "_src")
    return build, course / f"{name}.ipynb"


def test_build_reports_changed_new_and_moved_cells(lesson_copy):
    build, english = lesson_copy
    nb, report = build.build(english)
    assert report.clean, report.lines()
    en = nbformat.read(english, as_version=4)
    en.cells[6].source += "\n\nOne more English sentence."                  # an edit: stale
    en.cells.insert(1, nbformat.v4.new_markdown_cell("A new English cell."))  # a new cell: missing
    for i, cell in enumerate(en.cells):                                       # ids renumbered, as
        cell.id = f"c{i:02d}"                                                 # course/_build does
    en.cells[2].source += "  # a new English comment here"                    # code cell: new comment
    nbformat.write(en, english)
    _, report = build.build(english)
    assert [line.split(": ")[1].split(" (")[0] for line in report.lines()] == [
        "missing markdown cell c01", "missing comment '# a new English comment here'",
        "stale markdown cell c07"], report.lines()
    # every other cell kept its translation, found by its unchanged English text
    ja = build.build(english)[0]
    assert all(KANA.search(c.source) for i, c in enumerate(ja.cells) if c.cell_type == "markdown" and i != 1)
    renames = build.sync_ids(english)
    assert renames and all("-> c" in r for r in renames)
    assert build.build(english)[1].lines() == report.lines()   # the same findings after the renames


def test_build_joins_japanese_lines_only(lesson_copy):
    build, _ = lesson_copy
    text = "日本語の\n文です。\nNext `x`\nは英語のあと。\n\n```python\nあ\nい\n```\n* 項目\n* 次\n$$a\nう$$"
    assert build.join_japanese_lines(text) == (
        "日本語の文です。Next `x`\nは英語のあと。\n\n```python\nあ\nい\n```\n* 項目\n* 次\n$$a\nう$$")


def test_graph_row_names_speak_the_figures_language(i18n):
    """The unrolled graph's row names: the link's own name stays (code), what it is is said in the
    figures' language ("loss sum", "(recurrent)", "(loss)" in English; Japanese in Japanese)."""
    from rnnviz import experiments as E, graph as G

    def rows():
        loss, _ = E.demo_loss(4)
        return [name for _, name in G.layout(G.prepare(G.trace(loss), grouped=True), "auto", None).rows]

    i18n.set_language("en")
    assert rows() == ["embed", "mid\n(recurrent)", "out", "Classifier\n(loss)", "loss sum"]
    i18n.set_language("ja")
    if i18n.cjk_font() is None:
        pytest.fail("no Japanese font: the lab extra installs japanize-matplotlib, which ships one")
    assert rows() == ["embed", "mid\n（再帰）", "out", "Classifier\n（損失）", "損失の和"]


def test_build_replaces_listed_string_literals_only(lesson_copy):
    """<!-- strings -->: whole tokens only (not inside a longer string or a comment), with the
    listed surroundings; a Japanese f-string must format the same fields."""
    build, _ = lesson_copy
    code = ('ax.set_title("lag")  # "lag"\nprint("lag 6", "lag")\nax.plot(x, label="lag")\n'
            'y = d["lag"]\n%matplotlib widget')
    table = {'"lag"': '"ずれ"', 'label="lag"': 'label="ずれの長さ"'}
    out, used = build.replace_strings(code, {'"lag"': '"ずれ"'})
    assert out == ('ax.set_title("ずれ")  # "lag"\nprint("lag 6", "ずれ")\nax.plot(x, label="ずれ")\n'
                   'y = d["ずれ"]\n%matplotlib widget') and used == {'"lag"'}
    out, used = build.replace_strings(code, {'label="lag"': 'label="ずれの長さ"'})
    assert out == code.replace('label="lag"', 'label="ずれの長さ"') and used == {'label="lag"'}
    assert build.check_string_pair(*table.popitem()) is None
    assert build.check_string_pair('f"acc {a:.2f}"', 'f"正解率 {a:.2f}"') is None
    assert "same fields" in build.check_string_pair('f"acc {a:.2f}"', 'f"正解率 {a}"')
    assert "one string" in build.check_string_pair('"a" + "b"', '"あ" + "い"')
    assert "another string" in build.check_string_pair('label="a"', 'title="あ"')
