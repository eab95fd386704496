"""The static course (course/_build/site.py, ``make site``): both editions as a website that works
offline, with a picture for every widget and every figure.

The site is built once, by the builder's command line, from the lessons this session has run
already (conftest.py's ``lessons``: the lesson tests run each lesson once, and these tests run last;
``--no-execute``: the builder runs nothing itself). Then, on every page: a picture for each widget
output (its PNG) and each figure output of the lesson, a progress bar's last text line; nothing
loaded from the network (scripts, style sheets, fonts, math); the markdown's math written as
MathML; every link between pages resolves to a page of the site (and to its anchor); every lesson
of both editions is reachable from the index, along the course README's path, and each lesson
page switches to the same lesson in the other language. The site is left in test-artifacts/site/.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "course"
BUILDER = COURSE / "_build" / "site.py"
ARTIFACTS = REPO / "test-artifacts"
SITE = ARTIFACTS / "site"
EXECUTED = ARTIFACTS / "notebooks"   # where conftest.py's runs of the lessons are written
EDITIONS = {"": COURSE, "ja/": COURSE / "ja"}
LESSONS = {prefix: sorted(folder.glob("[0-9][0-9]_*.ipynb")) for prefix, folder in EDITIONS.items()}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NETWORK = re.compile(r"(?:https?:)?//", re.I)
CDN = re.compile(r"unpkg\.com|cdnjs|jsdelivr|mathjax|require\.js|googleapis", re.I)


def _builder():
    spec = importlib.util.spec_from_file_location("rnnviz_site_builder", BUILDER)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _soup(path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), features="html.parser")


@pytest.fixture(scope="module")
def site(lessons, tmp_path_factory):
    """Build the site from this session's executed lessons; {page path: soup}, and the build's output."""
    import nbformat

    executed = {}
    for path in (p for prefix in LESSONS for p in LESSONS[prefix]):
        try:
            executed[path] = lessons.executed(path)
        except Exception as exc:  # noqa: BLE001 - the lesson's own test says what failed
            pytest.fail(f"no site without {path.relative_to(REPO)}: it failed to run "
                        f"({type(exc).__name__}; its lesson test shows why)", pytrace=False)
    # a lesson edited on disk since this session ran it (someone at work beside the tests) is not
    # what the session ran: the builder runs that one itself; otherwise it must run nothing
    changed = [path for path, nb in executed.items()
               if not _builder().matches(nbformat.read(path, as_version=4), nb)]
    cache = tmp_path_factory.mktemp("site-cache")
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(BUILDER), "--out", str(SITE), "--executed", str(EXECUTED),
                           "--cache", str(cache)] + ([] if changed else ["--no-execute"]),
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - start
    assert done.returncode == 0, f"the site builder failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    if changed:
        print("edited while the tests ran, run again by the builder:", [str(p.relative_to(REPO)) for p in changed])
        for path in changed:   # the checks below: the lesson as the builder ran it
            (run,) = (cache / path.relative_to(COURSE).parent).glob(path.stem + ".*.ipynb")
            executed[path] = nbformat.read(run, as_version=4)
    pages = {p.relative_to(SITE).as_posix(): _soup(p) for p in SITE.rglob("*.html")}
    print(f"site built in {seconds:.1f} s: {done.stdout.strip()}")
    return {"pages": pages, "executed": executed, "stdout": done.stdout, "seconds": seconds}


def _page(prefix, lesson):
    return prefix + lesson.stem + ".html"


def _lesson_params():
    return [(prefix, lesson) for prefix in LESSONS for lesson in LESSONS[prefix]]


def _ids():
    return [prefix + lesson.stem for prefix, lesson in _lesson_params()]


def test_the_site_has_every_page(site):
    pages = site["pages"]
    expected = ["index.html", "ja/index.html", "assignments/index.html"]
    expected += [_page(prefix, lesson) for prefix, lesson in _lesson_params()]
    expected += [p.relative_to(REPO).with_suffix(".html").as_posix()
                 for p in sorted((REPO / "assignments").glob("*/*.ipynb"))]
    missing = [p for p in expected if p not in pages]
    assert not missing, f"pages missing from the site: {missing}"
    assert "site:" in site["stdout"] and "pictures" in site["stdout"]


# -- a picture for every widget and every figure ----------------------------------------------------
def _outputs(nb):
    return [(i, out) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for out in cell.get("outputs", [])]


@pytest.mark.parametrize("prefix,lesson", _lesson_params(), ids=_ids())
def test_a_picture_for_every_widget_and_figure(site, prefix, lesson):
    builder = _builder()
    nb = site["executed"][lesson]
    soup = site["pages"][_page(prefix, lesson)]
    html = str(soup)
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    pictured, bars = [], []
    for i, out in _outputs(nb):
        data = out.get("data", {})
        if "image/png" in data:            # a widget's static picture, or a figure
            pictured.append((i, data["image/png"].strip()))
        elif WIDGET_VIEW in data:
            line = builder.progress_bar_line(state, data[WIDGET_VIEW]["model_id"])
            assert line is not None, (f"{prefix}{lesson.name}: the widget output of cell {i} has no "
                                      f"static picture and is not a progress bar")
            bars.append((i, line))
    for i, png in pictured:
        assert png[len(png) // 2:len(png) // 2 + 80] in html, \
            f"{prefix}{lesson.name}: the picture of cell {i} is not on the page"
    images = [img for img in soup.select(".jp-OutputArea-output img")
              if (img.get("src") or "").startswith("data:image/png;base64,")]
    assert len(images) >= len(pictured), (len(images), len(pictured))
    text = soup.get_text()
    for i, line in bars:
        assert line.strip() and line in text, f"{prefix}{lesson.name}: cell {i}'s progress bar shows {line!r}?"
        assert "100%" in line or "|" in line
    assert f'type="{WIDGET_VIEW}"' not in html, "a live widget view (an empty box without its script)"
    widgets = [out for _, out in _outputs(nb) if WIDGET_VIEW in out.get("data", {})]
    assert widgets, f"{prefix}{lesson.name}: no widget to check"


# -- offline -------------------------------------------------------------------------------------------
def test_nothing_comes_from_the_network(site):
    for name, soup in site["pages"].items():
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
                          ("source", "src"), ("video", "src"), ("audio", "src"), ("object", "data")):
            for el in soup.find_all(tag):
                url = el.get(attr) or ""
                assert not NETWORK.match(url), f"{name}: <{tag} {attr}={url!r}> reaches the network"
        for style in soup.find_all("style"):
            for url in re.findall(r"url\(\s*['\"]?([^'\")]+)|@import\s+['\"]?([^'\";]+)", style.text):
                assert not NETWORK.match(url[0] or url[1]), f"{name}: a style loads {url}"
        scripts = " ".join(s.text for s in soup.find_all("script"))
        assert not CDN.search(scripts), f"{name}: a script names a CDN: {CDN.search(scripts).group(0)}"
        head = str(soup.head)
        assert not CDN.search(head), f"{name}: the page's head names {CDN.search(head).group(0)}"
    css = (SITE / "_static" / "site.css").read_text()
    assert not NETWORK.search(re.sub(r"/\*.*?\*/", "", css, flags=re.S)), "site.css reaches the network"
    for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
        assert (SITE / "_static" / url).is_file(), f"site.css names {url}, which the site does not hold"


def test_japanese_pages_are_japanese_with_their_font(site):
    for prefix, lesson in _lesson_params():
        soup = site["pages"][_page(prefix, lesson)]
        assert soup.html.get("lang") == ("ja" if prefix else "en"), lesson
    assert site["pages"]["ja/index.html"].html.get("lang") == "ja"
    font = SITE / "_static" / "fonts" / "ipaexg.ttf"
    assert font.is_file() and font.stat().st_size > 1_000_000, "the Japanese font is not in the site"
    assert (font.parent / "IPA_Font_License_Agreement_v1.0.txt").is_file(), "the font's licence is not beside it"


# -- math -----------------------------------------------------------------------------------------------
def _math_spans(markdown):
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    display = re.findall(r"\$\$.+?\$\$", text, flags=re.S)
    text = re.sub(r"\$\$.+?\$\$", " ", text, flags=re.S)
    return len(display) + len(re.findall(r"(?<![\\$])\$[^$\n]+?\$", text))


@pytest.mark.parametrize("prefix,lesson", _lesson_params(), ids=_ids())
def test_math_is_mathml(site, prefix, lesson):
    import nbformat

    nb = nbformat.read(lesson, as_version=4)
    expected = sum(_math_spans(c.source) for c in nb.cells if c.cell_type == "markdown")
    soup = site["pages"][_page(prefix, lesson)]
    maths = soup.find_all("math")
    assert len(maths) >= expected, f"{prefix}{lesson.name}: {len(maths)} MathML formulas for {expected} in the lesson"
    for m in soup.find_all(["math", "code", "pre", "script", "style"]):
        m.decompose()
    leftover = re.findall(r"\$\$?[^$]{0,40}\\[A-Za-z]+[^$]{0,40}\$", soup.get_text())
    assert not leftover, f"{prefix}{lesson.name}: math left as TeX (needs MathJax): {leftover[:3]}"


# -- links and navigation ------------------------------------------------------------------------------
def _links(name, soup):
    for a in soup.find_all("a", href=True):
        parts = urlsplit(a["href"])
        if parts.scheme or parts.netloc or a["href"].startswith("mailto:"):
            continue
        target = posix_join(name, unquote(parts.path)) if parts.path else name
        yield a, target, parts.fragment


def posix_join(page, rel):
    import posixpath

    return posixpath.normpath(posixpath.join(posixpath.dirname(page), rel))


def test_every_link_between_pages_resolves(site):
    pages = site["pages"]
    broken = []
    for name, soup in pages.items():
        for a, target, fragment in _links(name, soup):
            if not (SITE / target).is_file():
                broken.append(f"{name}: {a['href']} (no file {target})")
            elif fragment and target in pages and not (pages[target].find(id=fragment)
                                                       or pages[target].find(id=unquote(fragment))):
                # a browser looks for the id as written, then percent-decoded (nbconvert writes
                # headings' ids percent-encoded)
                broken.append(f"{name}: {a['href']} (no anchor #{fragment} in {target})")
    assert not broken, "links that lead nowhere:\n" + "\n".join(broken)


def test_every_lesson_is_reached_from_the_index_along_the_course_path(site):
    pages = site["pages"]
    seen, todo = {"index.html"}, ["index.html"]
    while todo:
        name = todo.pop()
        for _, target, _ in _links(name, pages[name]):
            if target in pages and target not in seen:
                seen.add(target)
                todo.append(target)
    unreached = [_page(prefix, lesson) for prefix, lesson in _lesson_params() if _page(prefix, lesson) not in seen]
    assert not unreached, f"pages no link leads to from index.html: {unreached}"
    # previous/next follow the README's order of the lessons, in each edition
    for prefix in LESSONS:
        builder = _builder()
        edition = next(e for e in builder.EDITIONS if e.prefix == prefix)
        order = [_page(prefix, p) for p in builder.course_path(edition)]
        for here, there in zip(order, order[1:]):
            nxt = pages[here].select_one('nav a[rel="next"]')
            assert nxt is not None and posix_join(here, nxt["href"]) == there, (here, there)


@pytest.mark.parametrize("prefix,lesson", _lesson_params(), ids=_ids())
def test_each_lesson_switches_language(site, prefix, lesson):
    here = _page(prefix, lesson)
    other = lesson.stem + ".html" if prefix else "ja/" + lesson.stem + ".html"
    if other not in site["pages"]:
        pytest.skip(f"{other}: no such lesson in the other edition")
    nav = site["pages"][here].select_one("nav.rnnviz-nav")
    targets = [posix_join(here, a["href"]) for a in nav.find_all("a", hreflang=True)]
    assert other in targets, f"{here}: the language switch leads to {targets}, not {other}"


# -- in a browser ---------------------------------------------------------------------------------------
@pytest.mark.browser
def test_math_and_japanese_render_in_chromium(site):
    """Chromium, with every request outside the site refused: the formulas are laid out as MathML,
    the Japanese text is drawn with a Japanese font (the site's own, when the system has none), and
    the widget pictures load. Screenshots go to test-artifacts/site-screenshots/."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("chromium is not installed (bash .ci/install-browser.sh)")
    shots = ARTIFACTS / "site-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = [p for p in ("02_recurrence.html", "ja/02_recurrence.html", "index.html", "ja/index.html")
             if p in site["pages"]]
    refused = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})

            def route(r):
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    refused.append(r.request.url)
                    r.abort()
            page.route("**/*", route)
            for name in pages:
                page.goto((SITE / name).as_uri())
                page.wait_for_load_state("load")
                page.evaluate("document.fonts.ready.then(() => true)")
                found = page.evaluate("""() => {
                    const maths = [...document.querySelectorAll('math')];
                    const laid = maths.filter(m => m.getBoundingClientRect().width > 0 && m.getBoundingClientRect().height > 0);
                    const imgs = [...document.querySelectorAll('.jp-OutputArea-output img')];
                    return {maths: maths.length, laid: laid.length,
                            broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length,
                            ja: document.fonts.check('16px rnnviz-ja', '隠れ状態'),
                            loaded: [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)};
                }""")
                assert found["laid"] == found["maths"], f"{name}: MathML not laid out: {found}"
                assert found["broken"] == 0, f"{name}: pictures that do not load: {found}"
                if name.startswith("ja/"):
                    assert found["ja"] and any("rnnviz-ja" in f for f in found["loaded"]), \
                        f"{name}: no Japanese font in use: {found}"
                page.screenshot(path=str(shots / (name.replace("/", "_") + ".png")))
        finally:
            browser.close()
    assert not refused, f"the pages asked the network for {refused}"
