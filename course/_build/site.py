"""Build the course as a static website: both editions, readable offline, a picture for every widget.

    .venv/bin/python course/_build/site.py                  # runs the lessons (cached), writes site/
    .venv/bin/python course/_build/site.py --executed DIR   # takes the executed lessons from DIR
    make site                                               # the first form

What it writes (``--out``, default ``site/``, ignored by git):

- ``index.html``: the English course README (the path through the lessons), ``ja/index.html`` the
  Japanese one; every lesson of ``course/`` and ``course/ja/`` as ``NN_name.html`` /
  ``ja/NN_name.html``, executed, with its outputs; ``assignments/``: the student notebooks (as
  released, without outputs) and their README. A bar on every page leads along the README's path
  (previous, next) and switches to the same page in the other language.
- Links between the course's files are rewritten to the pages (``.ipynb``/``.md`` -> ``.html``, a
  folder -> its README); a link to a file the site does not hold (``solutions/``, the library's
  source) becomes marked text saying where that file is.
- Offline: no script, style sheet, font or math from the network. The math of the markdown is
  written as MathML when the page is made (``rnnviz.grading.math_offline``); the Japanese font
  (IPAexGothic, from the japanize-matplotlib wheel, with its licence) is copied into ``_static/``.
- A picture for every widget: each widget output carries a PNG of its figure next to its live view
  (``rnnviz.widgets._base``), and the pages show that PNG, with the priority of the kit's nbconvert
  configuration (``jupyter-config/jupyter_nbconvert_config.json``, the one ``jupyter nbconvert``
  finds in the venv); a progress bar (tqdm) shows its last text line, read from the saved widget
  state.

Executed lessons come from ``--executed DIR`` (``DIR/NN_name.ipynb`` and ``DIR/ja/NN_name.ipynb``, as
``tests/`` leaves them in ``test-artifacts/notebooks/``), or from the cache (``build/site-cache/``,
keyed by the hash of the lesson and of the library's source), or are run here with nbclient, two
at a time, offline (``RNNVIZ_OFFLINE=1``: the corpus lesson takes the shipped corpus). An executed
copy is used only if its cells are the lesson's cells, so a stale one is never published.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import copy
import hashlib
import html
import json
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

REPO = Path(__file__).resolve().parents[2]
COURSE = REPO / "course"
ASSIGNMENTS = REPO / "assignments"
NBCONVERT_CONFIG = REPO / "jupyter-config" / "jupyter_nbconvert_config.json"
DEFAULT_OUT = REPO / "site"
DEFAULT_CACHE = REPO / "build" / "site-cache"
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CELL_TIMEOUT_S = 300


@dataclass(frozen=True)
class Edition:
    code: str           # "en", "ja": the page's lang, ISO 639-1
    name: str           # how the language switch names it
    folder: Path        # its lessons and README
    prefix: str         # its folder in the site ("" or "ja/")
    words: dict = field(default_factory=dict, compare=False, hash=False)


EDITIONS = (
    Edition("en", "English", COURSE, "", {
        "path": "Course path", "prev": "Previous", "next": "Next", "assignments": "Assignments",
        "not_here": "not in this site", "instructor": "the instructor's copy, not published here",
        "assignment_note": ("A graded assignment, shown as released (without outputs). Work on it in "
                            "JupyterLab (<code>make lab</code>): fill in the cells marked "
                            "<code># YOUR CODE HERE</code> and press <b>Validate</b>."),
        "assignment_list": "The assignments",
    }),
    Edition("ja", "日本語", COURSE / "ja", "ja/", {
        "path": "コースの道順", "prev": "前へ", "next": "次へ", "assignments": "課題",
        "not_here": "このサイトにはありません", "instructor": "教員用のファイルで、このサイトでは公開していません",
        "assignment_note": "",
        "assignment_list": "課題",
    }),
)
ENGLISH, JAPANESE = EDITIONS


# -- the pages -----------------------------------------------------------------------------------
@dataclass
class Page:
    source: Path              # the repository file it is made from
    path: str                 # where it goes in the site (posix, relative to the site's root)
    kind: str                 # "index", "lesson", "assignments", "assignment"
    edition: Edition
    title: str = ""
    nb: object = None         # the notebook to export (lessons: executed)
    html: str = ""
    pictures: int = 0


def lessons_of(edition: Edition) -> list[Path]:
    return sorted(edition.folder.glob(LESSON_GLOB))


def site_path(target: Path) -> str | None:
    """Where the repository file or folder ``target`` is in the site, or None if the site does not
    hold it. A folder is its README's page, or its only notebook's."""
    try:
        rel = target.resolve().relative_to(REPO)
    except ValueError:
        return None
    parts = rel.parts
    if target.is_dir():
        if (target / "README.md").is_file():
            return site_path(target / "README.md")
        notebooks = sorted(target.glob("*.ipynb"))
        return site_path(notebooks[0]) if len(notebooks) == 1 else None
    if not parts:
        return None
    if parts[0] == "course":
        inner = parts[1:]
        if inner in (("README.md",), ("ja", "README.md")):
            return posixpath.join(*inner[:-1], "index.html")
        if len(inner) in (1, 2) and (len(inner) == 1 or inner[0] == "ja") and target.suffix == ".ipynb" \
                and re.fullmatch(r"\d\d_.*", target.name):
            return posixpath.join(*inner[:-1], target.stem + ".html")
        return None
    if parts[0] == "assignments":
        if parts == ("assignments", "README.md"):
            return "assignments/index.html"
        if len(parts) == 3 and target.suffix == ".ipynb":
            return posixpath.join(*parts[:-1], target.stem + ".html")
    return None


def course_path(edition: Edition) -> list[Path]:
    """The lessons in the order the edition's README links them (the course's path), then any
    lesson it does not link, by name."""
    lessons = lessons_of(edition)
    readme = edition.folder / "README.md"
    order = []
    if readme.is_file():
        for target in re.findall(r"\]\(([^)\s#]+\.ipynb)", readme.read_text(encoding="utf-8")):
            path = (edition.folder / unquote(target)).resolve()
            if path in lessons and path not in order:
                order.append(path)
    return order + [p for p in lessons if p not in order]


def title_of(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#{1,3}\s+(.+?)\s*#*\s*$", cell.source, flags=re.M)
            if m:
                return re.sub(r"[`*_]", "", m.group(1)).strip()
    return fallback


def markdown_notebook(path: Path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(path.read_text(encoding="utf-8")))
    return nb


# -- executed lessons ----------------------------------------------------------------------------
def _cells(nb):
    return [(c.cell_type, c.source) for c in nb.cells]


def matches(lesson, executed) -> bool:
    """``executed`` is a run of ``lesson`` as it is now: the same cells, and code cells executed."""
    if _cells(lesson) != _cells(executed):
        return False
    code = [c for c in executed.cells if c.cell_type == "code"]
    return all(c.get("execution_count") is not None for c in code) or not code


def library_fingerprint() -> str:
    h = hashlib.sha256()
    for path in sorted((REPO / "rnnviz").rglob("*.py")):
        h.update(str(path.relative_to(REPO)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_file(cache: Path, lesson: Path, fingerprint: str) -> Path:
    key = hashlib.sha256(lesson.read_bytes() + fingerprint.encode()).hexdigest()[:16]
    rel = lesson.relative_to(COURSE)
    return cache / rel.parent / f"{lesson.stem}.{key}.ipynb"


def kernel_env(home: Path) -> dict:
    """The lessons' kernel: offline, no user profile, the language from the lesson's folder."""
    env = dict(os.environ)
    for name in ("MPLBACKEND", "RNNVIZ_LANG"):
        env.pop(name, None)
    env.update(IPYTHONDIR=str(home / "ipython"), MPLCONFIGDIR=str(home / "mpl"), RNNVIZ_OFFLINE="1")
    return env


def execute(lesson: Path, timeout: int = CELL_TIMEOUT_S):
    """Run ``lesson`` top to bottom in a fresh kernel (its folder as working directory)."""
    from nbclient import NotebookClient

    nb = nbformat.read(lesson, as_version=4)
    with tempfile.TemporaryDirectory(prefix="rnnviz-site-") as home:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(lesson.parent)}})
        client.execute(env=kernel_env(Path(home)))
    return nb


class LessonFailed(RuntimeError):
    pass


def executed_lessons(lessons, executed=None, execute_missing=True, cache: Path | None = DEFAULT_CACHE,
                     jobs: int = 2, timeout: int = CELL_TIMEOUT_S, log=print) -> dict:
    """{lesson: executed notebook} for every lesson: from ``executed`` (a folder laid out like
    ``course/``, or a mapping {lesson path: notebook}), from the cache, or run here."""
    found, todo = {}, []
    fingerprint = library_fingerprint() if cache is not None else ""
    for lesson in lessons:
        source = nbformat.read(lesson, as_version=4)
        candidates = []
        if isinstance(executed, dict):
            nb = executed.get(lesson) or executed.get(lesson.resolve())
            candidates.append(("given", nb))
        elif executed is not None:
            path = Path(executed) / lesson.relative_to(COURSE)
            candidates.append((str(path), nbformat.read(path, as_version=4) if path.is_file() else None))
        if cache is not None:
            path = cache_file(cache, lesson, fingerprint)
            candidates.append(("cache", nbformat.read(path, as_version=4) if path.is_file() else None))
        for origin, nb in candidates:
            if nb is not None and matches(source, nb):
                found[lesson] = nb
                break
            if nb is not None and origin not in ("cache",):
                log(f"  {lesson.relative_to(REPO)}: the executed copy ({origin}) is not the lesson as "
                    "it is now; not used")
        else:
            todo.append(lesson)
    if todo and not execute_missing:
        raise LessonFailed("no executed copy of " + ", ".join(str(p.relative_to(REPO)) for p in todo)
                           + " (and --no-execute)")
    if todo:
        log(f"running {len(todo)} lesson(s), {jobs} at a time: "
            + ", ".join(str(p.relative_to(COURSE)) for p in todo))

        def run(lesson):
            start = time.monotonic()
            nb = execute(lesson, timeout)
            return nb, time.monotonic() - start

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(run, lesson): lesson for lesson in todo}
            failures = []
            for future in concurrent.futures.as_completed(futures):
                lesson = futures[future]
                try:
                    nb, seconds = future.result()
                except Exception as exc:  # noqa: BLE001 - a failing lesson is reported, not published
                    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
                    failures.append(f"{lesson.relative_to(REPO)}: {type(exc).__name__}\n{text[-3000:]}")
                    continue
                log(f"  ran {lesson.relative_to(COURSE)} in {seconds:.1f} s")
                found[lesson] = nb
                if cache is not None:
                    target = cache_file(cache, lesson, fingerprint)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    for old in target.parent.glob(f"{lesson.stem}.*.ipynb"):
                        old.unlink()
                    nbformat.write(nb, target)
        if failures:
            raise LessonFailed("a lesson failed; the site is not written:\n" + "\n".join(failures))
    return found


# -- widgets: their static form --------------------------------------------------------------------
def _state(nb) -> dict:
    return (nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}) or {}).get("state", {}) or {}


def _model(state, ref):
    return state.get(str(ref).replace("IPY_MODEL_", ""), {})


def progress_bar_line(state: dict, model_id: str) -> str | None:
    """The last text line of a tqdm progress bar (an HBox of HTML, progress, HTML), from the saved
    widget state; None if the model is not such a bar."""
    box = _model(state, model_id)
    children = box.get("state", {}).get("children", [])
    if box.get("model_name") != "HBoxModel" or len(children) != 3:
        return None
    left, bar, right = (_model(state, c) for c in children)
    if (left.get("model_name"), right.get("model_name")) != ("HTMLModel", "HTMLModel") or \
            bar.get("model_name") not in ("FloatProgressModel", "IntProgressModel"):
        return None

    def text(m):
        return html.unescape(re.sub(r"<[^>]*>", "", m["state"].get("value", ""))).replace("\u2007", " ")

    b = bar["state"]
    span = (b.get("max", 100) or 0) - (b.get("min", 0) or 0)
    filled = 10 if span <= 0 else max(0, min(10, round(10 * ((b.get("value", 0) or 0) - (b.get("min", 0) or 0)) / span)))
    lead = text(left).rstrip()
    return f"{lead}{'|' if lead else ''}{'#' * filled}{' ' * (10 - filled)}|{text(right).rstrip()}"


def static_widgets(nb):
    """A copy of ``nb`` for a page without a widget manager: a progress bar's text is its last line
    (from the saved state), and the widget state itself is dropped (nothing on the page reads it,
    and the template would load the widget manager from a CDN to read it)."""
    nb = copy.deepcopy(nb)
    state = _state(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data and "image/png" not in data and "text/html" not in data:
                line = progress_bar_line(state, data[WIDGET_VIEW].get("model_id", ""))
                if line is not None:
                    data["text/plain"] = line
    nb.metadata.pop("widgets", None)
    return nb


# -- the exporter ----------------------------------------------------------------------------------
SITE_TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{#- nothing from the network: no require.js, no widget manager, no mermaid (math: mathjax.html.j2) -#}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<link rel="stylesheet" href="{{ resources.rnnviz.root }}_static/site.css">
{%- endblock html_head_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.rnnviz.top }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.rnnviz.bottom }}
{{ super() }}
{% endblock body_footer %}
{% block data_png scoped %}
{%- set label = ((output.data.get('text/plain') or 'figure') | string).split('(')[0] | trim -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}" alt="{{ label | escape_html }}"
{%- set width = output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width="{{ width | escape_html }}"{% endif -%}
{%- set height = output | get_metadata('height', 'image/png') -%}
{%- if height is not none %} height="{{ height | escape_html }}"{% endif -%}
>
</div>
{%- endblock data_png %}
"""

SITE_CSS = """\
/* rnnviz static course: the navigation bar, marked links, the Japanese font (shipped: offline) */
@font-face {
  font-family: "rnnviz-ja";
  src: local("Noto Sans CJK JP"), local("IPAexGothic"), url("fonts/ipaexg.ttf") format("truetype");
  unicode-range: U+3000-30FF, U+3400-4DBF, U+4E00-9FFF, U+F900-FAFF, U+FF00-FFEF, U+2460-24FF, U+2776-2793;
}
:root {
  --jp-content-font-family: "rnnviz-ja", system-ui, -apple-system, "Segoe UI", helvetica, arial, sans-serif;
  --jp-ui-font-family: "rnnviz-ja", system-ui, -apple-system, "Segoe UI", helvetica, arial, sans-serif;
  --jp-code-font-family: menlo, consolas, "DejaVu Sans Mono", "rnnviz-ja", monospace;
}
nav.rnnviz-nav {
  display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; align-items: baseline;
  font-family: var(--jp-ui-font-family); font-size: 14px;
  padding: 8px 16px; margin: 0 0 8px 0; background: #f3f5f7; border-bottom: 1px solid #d5dbe1;
}
nav.rnnviz-nav.bottom { margin: 24px 0 0 0; border-top: 1px solid #d5dbe1; border-bottom: none; }
nav.rnnviz-nav a { text-decoration: none; color: #1a5fb4; }
nav.rnnviz-nav a:hover { text-decoration: underline; }
nav.rnnviz-nav .brand { font-weight: bold; }
nav.rnnviz-nav .lang { margin-left: auto; }
nav.rnnviz-nav .lang b { color: #333; }
.rnnviz-offsite { border-bottom: 1px dotted #888; }
.rnnviz-offsite-note { color: #777; font-size: 0.85em; }
.rnnviz-note { margin: 8px 16px; padding: 8px 12px; border-left: 4px solid #1a5fb4; background: #f3f7fd;
  font-family: var(--jp-content-font-family); font-size: 14px; }
"""


def site_exporter(lang: str):
    from jinja2 import DictLoader
    from traitlets import default
    from traitlets.config import Config

    from rnnviz.grading.math_offline import MATH_STYLE, OfflineMathHTMLExporter

    class SiteExporter(OfflineMathHTMLExporter):
        """The offline math exporter with the site's template (no network, the navigation bar)."""

        @default("extra_loaders")
        def _extra_loaders_default(self):
            return [DictLoader({"mathjax.html.j2": MATH_STYLE, "rnnviz_site.html.j2": SITE_TEMPLATE})]

    # the same display priority as `jupyter nbconvert` in the venv: a widget's static picture first
    config = Config(json.loads(NBCONVERT_CONFIG.read_text()))
    exporter = SiteExporter(config=config, template_file="rnnviz_site.html.j2")
    exporter.language_code = lang
    return exporter


# -- links -----------------------------------------------------------------------------------------
def relative(target: str, page: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(page) or ".")


def rewrite_links(soup, page: Page, pages: dict, words: dict, missing: list):
    """Point the page's links to other pages of the site; mark the ones the site does not hold."""
    for tag, attr in (("a", "href"), ("img", "src")):
        for el in soup.find_all(tag):
            url = el.get(attr)
            if not url or url.startswith(("#", "data:")) or el.find_parent("nav", class_="rnnviz-nav"):
                continue
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            target = (page.source.parent / unquote(parts.path)).resolve()
            mapped = site_path(target) if target.exists() else None
            if mapped in pages:
                el[attr] = relative(mapped, page.path) + (f"#{parts.fragment}" if parts.fragment else "")
                continue
            if tag == "img":
                missing.append(f"{page.path}: picture {url}")
                continue
            try:
                where = str(target.relative_to(REPO))
            except ValueError:
                where = url
            note = words["instructor"] if where.startswith("solutions") else words["not_here"]
            span = soup.new_tag("span", attrs={"class": "rnnviz-offsite", "title": f"{where}: {note}"})
            for child in list(el.children):
                span.append(child.extract())
            el.replace_with(span)
            small = soup.new_tag("span", attrs={"class": "rnnviz-offsite-note"})
            small.string = f" ({where}: {note})"
            span.insert_after(small)


def navigation(page: Page, pages: dict, paths: dict, position: str) -> str:
    """The bar: the site's name, the course path (the edition's README), previous and next along
    it, the assignments, and the same page in the other language."""
    ed, w = page.edition, page.edition.words
    esc = html.escape
    items = [f'<a class="brand" href="{esc(relative(ed.prefix + "index.html", page.path))}">rnnviz</a>',
             f'<a href="{esc(relative(ed.prefix + "index.html", page.path))}">{esc(w["path"])}</a>']
    order = paths.get(ed.code, [])
    if page.kind == "lesson" and page.path in order:
        i = order.index(page.path)
        if i > 0:
            prev = pages[order[i - 1]]
            items.append(f'<a rel="prev" href="{esc(relative(prev.path, page.path))}">&larr; {esc(w["prev"])}: '
                         f'{esc(prev.title)}</a>')
        if i + 1 < len(order):
            nxt = pages[order[i + 1]]
            items.append(f'<a rel="next" href="{esc(relative(nxt.path, page.path))}">{esc(w["next"])}: '
                         f'{esc(nxt.title)} &rarr;</a>')
    if "assignments/index.html" in pages:
        items.append(f'<a href="{esc(relative("assignments/index.html", page.path))}">{esc(w["assignments"])}</a>')
    langs = []
    for other in EDITIONS:
        if other is ed:
            langs.append(f'<b lang="{other.code}">{esc(other.name)}</b>')
            continue
        counterpart = other.prefix + page.path[len(ed.prefix):] if page.path.startswith(ed.prefix) else None
        if page.kind not in ("index", "lesson") or counterpart not in pages:
            counterpart = other.prefix + "index.html"
        if counterpart in pages:
            langs.append(f'<a lang="{other.code}" hreflang="{other.code}" '
                         f'href="{esc(relative(counterpart, page.path))}">{esc(other.name)}</a>')
    items.append(f'<span class="lang">{" | ".join(langs)}</span>')
    return f'<nav class="rnnviz-nav {position}">' + "".join(items) + "</nav>"


# -- the build -------------------------------------------------------------------------------------
@dataclass
class Report:
    out: Path
    pages: list
    seconds: float
    executed: int = 0

    @property
    def pictures(self) -> int:
        return sum(p.pictures for p in self.pages)

    def summary(self) -> str:
        lessons = [p for p in self.pages if p.kind == "lesson"]
        return (f"{len(self.pages)} pages ({len(lessons)} lessons in {len(EDITIONS)} languages), "
                f"{self.pictures} pictures, in {self.seconds:.0f} s -> {self.out}")


def collect_pages() -> dict:
    pages = {}
    for ed in EDITIONS:
        readme = ed.folder / "README.md"
        if readme.is_file():
            pages[site_path(readme)] = Page(readme, site_path(readme), "index", ed)
        for lesson in lessons_of(ed):
            pages[site_path(lesson)] = Page(lesson, site_path(lesson), "lesson", ed)
    if (ASSIGNMENTS / "README.md").is_file():
        pages["assignments/index.html"] = Page(ASSIGNMENTS / "README.md", "assignments/index.html",
                                               "assignments", ENGLISH)
    for nb_path in sorted(ASSIGNMENTS.glob("*/*.ipynb")):
        if ".ipynb_checkpoints" not in nb_path.parts:
            pages[site_path(nb_path)] = Page(nb_path, site_path(nb_path), "assignment", ENGLISH)
    return pages


def _assignment_list(pages: dict) -> str:
    items = [p for p in pages.values() if p.kind == "assignment"]
    if not items:
        return ""
    lines = [f"\n\n## {ENGLISH.words['assignment_list']}\n"]
    for p in items:
        rel = p.source.relative_to(ASSIGNMENTS).as_posix()
        lines.append(f"- [{p.source.parent.name}]({rel})")
    return "\n".join(lines) + "\n"


def count_pictures(soup) -> int:
    return sum(1 for img in soup.find_all("img") if (img.get("src") or "").startswith("data:image/png"))


def build(out: Path = DEFAULT_OUT, executed=None, execute_missing=True, cache: Path | None = DEFAULT_CACHE,
          jobs: int = 2, timeout: int = CELL_TIMEOUT_S, log=print) -> Report:
    """Write the site into ``out`` (replaced whole) and return what was written."""
    from bs4 import BeautifulSoup

    start = time.monotonic()
    out = Path(out)
    pages = collect_pages()
    lessons = [p.source for p in pages.values() if p.kind == "lesson"]
    runs = executed_lessons(lessons, executed, execute_missing, cache, jobs, timeout, log)
    for page in pages.values():
        if page.kind == "lesson":
            page.nb = static_widgets(runs[page.source])
        elif page.kind == "assignment":
            page.nb = nbformat.read(page.source, as_version=4)
            for cell in page.nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
        else:
            page.nb = markdown_notebook(page.source)
            if page.kind == "assignments":
                page.nb.cells[0].source += _assignment_list(pages)
        page.title = title_of(page.nb, page.source.stem)
    paths = {ed.code: [site_path(p) for p in course_path(ed)] for ed in EDITIONS}

    exporters = {ed.code: site_exporter(ed.code) for ed in EDITIONS}
    staging = Path(tempfile.mkdtemp(prefix=".site-", dir=out.parent if out.parent.exists() else None))
    missing = []
    try:
        for page in pages.values():
            root = relative("_static", page.path)[: -len("_static")]
            resources = {
                "metadata": {"name": page.title, "path": str(page.source.parent)},
                "rnnviz": {"root": root,
                           "top": navigation(page, pages, paths, "top") + _note(page),
                           "bottom": navigation(page, pages, paths, "bottom")},
            }
            body, _ = exporters[page.edition.code].from_notebook_node(page.nb, resources=resources)
            soup = BeautifulSoup(body, features="html.parser")
            rewrite_links(soup, page, pages, page.edition.words, missing)
            page.pictures = count_pictures(soup)
            target = staging / page.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(str(soup), encoding="utf-8")
        _write_static(staging / "_static")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    for line in missing:
        log("warning: " + line)
    report = Report(out, list(pages.values()), time.monotonic() - start,
                    executed=len(lessons))
    return report


def _note(page: Page) -> str:
    text = page.edition.words.get("assignment_note") if page.kind == "assignment" else ""
    return f'<div class="rnnviz-note">{text}</div>' if text else ""


def _write_static(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.css").write_text(SITE_CSS, encoding="utf-8")
    try:
        from rnnviz.i18n import bundled_font_file
        font = bundled_font_file()
    except Exception:  # noqa: BLE001 - without the font, the reader's own Japanese fonts are used
        font = None
    if font is not None:
        (folder / "fonts").mkdir(exist_ok=True)
        for f in font.parent.iterdir():   # the font, its licence and its readme
            if f.suffix in (".ttf", ".txt"):
                shutil.copy2(f, folder / "fonts" / f.name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the site's folder (replaced; default site/)")
    parser.add_argument("--executed", type=Path, default=None,
                        help="a folder of executed lessons laid out like course/ (NN_name.ipynb, ja/NN_name.ipynb)")
    parser.add_argument("--no-execute", action="store_true",
                        help="fail instead of running a lesson that has no executed copy")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="executed lessons kept between builds")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="lessons run at a time")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S, help="seconds a cell may take")
    args = parser.parse_args(argv)
    try:
        report = build(args.out.resolve(), executed=args.executed, execute_missing=not args.no_execute,
                       cache=None if args.no_cache else args.cache, jobs=args.jobs, timeout=args.timeout)
    except LessonFailed as exc:
        print(f"site: {exc}", file=sys.stderr)
        return 1
    print("site:", report.summary())
    print(f"open {report.out / 'index.html'} (English) or {report.out / 'ja' / 'index.html'} (日本語)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))   # rnnviz, when the kit is not installed in this interpreter
    sys.exit(main())
