"""Feedback pages whose math shows with no network: LaTeX becomes MathML when the page is made.

nbgrader's feedback template (``feedback/index.html.j2``) calls nbconvert's ``mathjax()`` macro
with its default URL, a CDN: offline, the learner sees ``$$A = x W_x$$`` as typed. The exporter
``OfflineMathHTMLExporter`` (an ``HTMLExporter``: ``GenerateFeedback.exporter_class``)

- renders the math of markdown (cells and ``text/markdown`` outputs) as MathML with
  ``latex2mathml``, found by nbconvert's own markdown parser (``$...$``, ``$$...$$``,
  ``\\(...\\)``, ``\\[...\\]``, ``\\begin{env}...\\end{env}``; code spans and blocks untouched);
- gives a ``text/latex`` output without an HTML form (``IPython.display.Math``, SymPy) one in
  MathML;
- replaces the ``mathjax()`` macro by a few CSS lines: no script, no network reference.

Browsers draw MathML themselves (Chromium 109+, Firefox, Safari). TeX that latex2mathml cannot read
stays as typed, between its delimiters, as nbconvert writes it for MathJax. The text of the TeX is
escaped: ``\\text{<img ...>}`` is text, never markup.

For a Japanese assignment (an id ending in ``_ja``) the page's template labels are Japanese as
well (``feedback.in_language``).
"""
from __future__ import annotations

import copy
import re
from xml.etree.ElementTree import tostring

from jinja2 import DictLoader, pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from traitlets import default

#: What the feedback template's ``{{ mathjax() }}`` writes instead of loading MathJax.
MATH_STYLE = """\
{%- macro mathjax(url="") -%}
<!-- math: MathML written when the page was made (rnnviz.grading.math_offline), no script -->
<style type="text/css">
math { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", "DejaVu Math TeX Gyre", math; font-size: 1.15em; }
math[display="block"] { margin: 0.6em 0; overflow-x: auto; overflow-y: hidden; }
/* a test's message (its hint is one long line) wraps inside the page instead of running off it */
.output_error pre, .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"] pre { white-space: pre-wrap; }
</style>
{%- endmacro %}
"""

# latex2mathml writes characters as references ("&#x003C3;") inside element text; once the tree is
# serialized (which escapes every "&", "<" and ">"), only those references are turned back.
_CHARREF = re.compile(r"&amp;(#x[0-9A-Fa-f]+;|#[0-9]+;)")


def tex_to_mathml(tex: str, display: str = "inline") -> str | None:
    """``<math>`` markup for the LaTeX ``tex`` (``display``: "inline" or "block"), or None if
    latex2mathml cannot read it. Text in the TeX is escaped, never markup."""
    from latex2mathml.converter import convert_to_element

    try:
        element = convert_to_element(tex.strip(), display=display)
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds on TeX it cannot read
        return None
    return _CHARREF.sub(r"&\1", tostring(element, encoding="unicode"))


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with math written as MathML instead of for MathJax."""

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, "block") or super().block_math(body)

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body, "inline") or super().inline_math(body)

    def latex_environment(self, name: str, body: str) -> str:
        return (tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")
                or super().latex_environment(name, body))


def latex_to_html(latex: str) -> str:
    """HTML for a ``text/latex`` output: its math as MathML, any text around it escaped."""
    return MarkdownWithMath(renderer=MathMLRenderer(escape=True)).render(latex)


class OfflineMathHTMLExporter(HTMLExporter):
    """``HTMLExporter`` whose pages show their math without MathJax or any network access."""

    @default("extra_loaders")
    def _extra_loaders_default(self):
        # found before nbconvert's templates/base/mathjax.html.j2, which every template imports
        return [DictLoader({"mathjax.html.j2": MATH_STYLE})]

    @pass_context
    def markdown2html(self, context, source):
        """nbconvert's ``markdown2html`` filter (same options), math as MathML."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if isinstance(data.get("text/latex"), str) and "text/html" not in data:
                    data["text/html"] = latex_to_html(data["text/latex"])
        page, resources = super().from_notebook_node(nb, resources, **kw)
        # a Japanese assignment's feedback: the template's labels in Japanese too (feedback.in_language)
        from .execute import assignment_language
        from .feedback import in_language

        assignment = ((resources or {}).get("nbgrader") or {}).get("assignment")
        return in_language(page, assignment_language(assignment)), resources
