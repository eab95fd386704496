"""Math in the feedback pages renders with no network (issue 17, item 4).

nbgrader's feedback template loads MathJax from a CDN: offline, a learner saw ``$$A = x W_x$$`` as
typed. ``rnnviz.grading.math_offline.OfflineMathHTMLExporter`` (``GenerateFeedback.exporter_class``)
writes the math as MathML when the page is made and loads no script. A tiny course whose
``nbgrader_config.py`` names it is graded by the kit's own path (``rnnviz.grading.autograde``: the
course's config, then ``grading_config``'s feedback preprocessors); the page it writes holds MathML,
no reference to the network, and is drawn by headless Chromium with every non-file request
aborted: the screenshot goes to ``test-artifacts/feedback-math/feedback_math.png``.
"""
import io
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS / "browser"))
import grading_course as gc  # noqa: E402
from lab_server import CHROMIUM, CHROMIUM_ARGS, missing_browser  # noqa: E402

from rnnviz.grading.autograde import autograde  # noqa: E402
from rnnviz.grading.math_offline import OfflineMathHTMLExporter, tex_to_mathml  # noqa: E402

ARTIFACTS = TESTS.parent / "test-artifacts" / "feedback-math"
EXPORTER = "rnnviz.grading.math_offline.OfflineMathHTMLExporter"
MATH = ("## The input gate\n\n"
        "Every gate starts from the same product:\n\n"
        "$$A = x W_x$$\n\n"
        "and the input gate is $i = \\sigma(A_i)$, where $\\sigma$ is the logistic function.")
WRONG_GRAD = "def square_grad(x, gy):\n    return -2 * x * gy"
# a reference to anything outside the page: src=/href=/url() with a scheme other than data:
REMOTE = re.compile(r"""(?:\bsrc|\bhref)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    """The feedback page of a submission with one failing test, made by the kit's grading path."""
    course = tmp_path_factory.mktemp("math-course")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'grading-test'\n"
        "c.Execute.timeout = 30\n"
        f"c.GenerateFeedback.exporter_class = {EXPORTER!r}\n")
    nb = gc.source_notebook()
    intro = new_markdown_cell(MATH)
    intro.metadata["nbgrader"] = gc._meta("gate_math", locked=True)
    nb.cells.insert(1, intro)
    src = course / "source" / gc.NAME / f"{gc.NAME}.ipynb"
    src.parent.mkdir(parents=True)
    nbformat.write(nb, str(src))
    gc.nbgrader(course, "generate_assignment", gc.NAME, "--force")
    release = nbformat.read(str(course / "release" / gc.NAME / f"{gc.NAME}.ipynb"), as_version=4)
    gc.submit(course, "learner", release, gc.RIGHT_SQUARES, WRONG_GRAD)
    out = io.StringIO()
    report = autograde(gc.NAME, course, workers=1, sandbox=False, progress=False, out=out)
    assert [r["score"] for r in report.results] == [2.0], out.getvalue()
    page = course / "feedback" / "learner" / gc.NAME / f"{gc.NAME}.html"
    assert page.exists(), out.getvalue()
    return page


def test_feedback_math_is_mathml_and_nothing_is_fetched(feedback):
    html = feedback.read_text()
    assert "cdnjs" not in html and "<script src" not in html.replace(" ", "")
    assert "MathJax" not in html
    assert not REMOTE.search(html), REMOTE.search(html)
    blocks = re.findall(r'<math display="block"[^>]*>.*?</math>', html, re.S)
    inline = re.findall(r'<math display="inline"[^>]*>.*?</math>', html, re.S)
    assert len(blocks) == 1 and "<msub><mi>W</mi><mi>x</mi></msub>" in blocks[0]
    assert len(inline) == 2 and "<msub><mi>A</mi><mi>i</mi></msub>" in inline[0]
    assert "σ" in inline[0] or "&#x003C3;" in inline[0]
    assert "$$" not in html and "W_x" not in html and "\\sigma" not in html
    # the feedback is still the kit's: the test's message, no hidden test
    assert "TestFailed" in html and "### BEGIN HIDDEN TESTS" not in html


def test_tex_is_escaped_and_unreadable_tex_stays_as_typed():
    assert "&lt;img" in tex_to_mathml(r"\text{<img src=x onerror=alert(1)>}")
    assert "<img" not in tex_to_mathml(r"\text{<img src=x onerror=alert(1)>}")
    assert tex_to_mathml("x^{") is None
    nb = nbformat.v4.new_notebook(cells=[new_markdown_cell("bad $x^{$ and code `$y$`")])
    html, _ = OfflineMathHTMLExporter().from_notebook_node(nb)
    assert "$x^{$" in html and "<code>$y$</code>" in html and "<math" not in html


def test_latex_output_gets_mathml():
    out = nbformat.v4.new_output("display_data", data={
        "text/latex": r"$\displaystyle \frac{1}{2}$", "text/plain": "<IPython.core.display.Math object>"})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("Math(...)", outputs=[out])])
    html, _ = OfflineMathHTMLExporter().from_notebook_node(nb)
    assert "<mfrac>" in html


@pytest.mark.browser
def test_feedback_math_renders_offline_in_chromium(feedback):
    why = missing_browser()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "feedback_math.png"
    shot.unlink(missing_ok=True)
    asked = []

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:", "blob:")):
            r.continue_()
        else:
            asked.append(url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                     timeout=30_000)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.route("**/*", route)
            page.goto(feedback.as_uri(), wait_until="load")
            page.wait_for_timeout(300)
            # laid out as mathematics: the subscript sits lower and is smaller than its base
            geometry = page.evaluate("""() => {
                const m = document.querySelector('math[display="block"]');
                const [base, sub] = m.querySelector('msub').children;
                const b = base.getBoundingClientRect(), s = sub.getBoundingClientRect();
                return {mathml: m.namespaceURI, height: m.getBoundingClientRect().height,
                        baseBottom: b.bottom, subBottom: s.bottom, baseH: b.height, subH: s.height,
                        text: document.body.innerText};
            }""")
            page.locator("math[display='block']").first.scroll_into_view_if_needed()
            page.screenshot(path=str(shot), clip={"x": 0, "y": 0, "width": 1000, "height": 700})
            cell = page.locator("math[display='block']").first.locator("xpath=ancestor::div[contains(@class,'cell')][1]")
            cell.screenshot(path=str(ARTIFACTS / "feedback_math_cell.png"))
        finally:
            browser.close()
    assert asked == []                                        # nothing left the machine
    assert geometry["mathml"] == "http://www.w3.org/1998/Math/MathML"
    assert geometry["height"] > 0
    assert geometry["subBottom"] > geometry["baseBottom"] and geometry["subH"] < geometry["baseH"]
    assert "$$" not in geometry["text"] and "\\sigma" not in geometry["text"]
    assert shot.stat().st_size > 5_000
