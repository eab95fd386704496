"""Tiny helpers to write a lesson as a list of cells (markdown and code), then save it with
nbformat, without outputs. Each lesson module defines ``CELLS`` with ``md(...)`` / ``code(...)``."""
import textwrap

import nbformat


def _clean(text):
    return textwrap.dedent(text).strip("\n")


def md(text):
    return nbformat.v4.new_markdown_cell(_clean(text))


def code(text):
    return nbformat.v4.new_code_cell(_clean(text))


def answer(question, text):
    """A "try it" exercise with its answer folded away."""
    return md(_clean(question) + "\n\n<details><summary>Answer</summary>\n\n" + _clean(text)
              + "\n\n</details>")


def write(cells, path, prefix):
    """Save the lesson; cell ids are stable (``prefix-NN``) so that an edition in another
    language can be matched to this one cell for cell."""
    nb = nbformat.v4.new_notebook()
    for i, cell in enumerate(cells):
        cell.id = f"{prefix}-{i:02d}"
    nb.cells = cells
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nbformat.validate(nb)
    nbformat.write(nb, path)
