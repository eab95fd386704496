"""Text sizes and weights that every font the figures may use can honour.

Two rules, one per function:

* ``bold()``: a bold weight only where the fonts that draw figure text have one. IPAexGothic (the
  Japanese font rnnviz.i18n registers) has a single, regular face; asking it for bold makes
  matplotlib log ``findfont: Failed to find font weight bold for IPAexGothic, now using 400`` (a
  warning box under the widget in JupyterLab) and draw the regular face anyway. So the answer is
  ``'bold'`` when every family in ``rcParams['font.family']`` that is installed has a bold face, and
  ``'normal'`` otherwise: the Japanese edition draws what it would have drawn, without the warning.
  (Registering a synthetic bold face was the other way: matplotlib cannot embolden a face, and
  shipping a second font for two labels is not worth it.)
* ``small(points)``: the size of a small text (a legend entry, a readout, a count), never below
  ``MIN_CJK_POINTS`` when the figure words are Japanese. Kanji need more pixels than Latin letters:
  at 7 pt a legend's kanji were about 9 px high in JupyterLab (ipympl draws at 100 dpi); 8 pt gives
  11 px, the size of JupyterLab's own smallest interface text (``--jp-ui-font-size0``, 0.83 x 13 px).
"""
from matplotlib import font_manager, rcParams

#: the dpi of the live figures (ipympl draws at rcParams' default figure.dpi)
LIVE_DPI = 100.0
#: the smallest size, in pixels at LIVE_DPI, of a text holding Japanese characters
MIN_CJK_PX = 11.0
MIN_CJK_POINTS = MIN_CJK_PX * 72.0 / LIVE_DPI      # 7.92 pt

_BOLD = {}          # (families, number of fonts known) -> 'bold' | 'normal'
GENERIC = ("serif", "sans-serif", "sans serif", "sans", "cursive", "fantasy", "monospace")


def _weight_number(weight):
    if isinstance(weight, str):
        weight = font_manager.weight_dict.get(weight, 400)
    return int(weight)


def _installed(family):
    """The installed family that ``family`` stands for (a generic name: the first installed of its
    list in rcParams), or None."""
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    if family.lower() in GENERIC:
        key = "sans-serif" if family.lower() in ("sans", "sans serif") else family.lower()
        return next((f for f in rcParams["font." + key] if f in names), None)
    return family if family in names else None


def has_bold(family):
    """Whether the installed ``family`` has a face of weight 700 (what 'bold' asks matplotlib for)."""
    return any(entry.name == family and _weight_number(entry.weight) == 700
               for entry in font_manager.fontManager.ttflist)


def bold():
    """``'bold'`` when each installed family of the current ``font.family`` has a bold face, else
    ``'normal'`` (see the module's docstring)."""
    families = tuple(rcParams["font.family"])
    key = (families, len(font_manager.fontManager.ttflist))
    if key not in _BOLD:
        installed = [f for f in (_installed(name) for name in families) if f is not None]
        _BOLD[key] = "bold" if installed and all(has_bold(f) for f in installed) else "normal"
    return _BOLD[key]


def japanese_figures():
    """Whether figure words come out in Japanese now (the language is Japanese and a font has the
    glyphs: ``rnnviz.i18n.ftr``'s own rule)."""
    from .. import i18n
    return i18n.get_language() == "ja" and i18n.cjk_font() is not None


def small(points):
    """A small text's size: ``points``, raised to ``MIN_CJK_POINTS`` (rounded up to 8) when figure
    words are Japanese."""
    if japanese_figures():
        return max(float(points), 8.0)
    return points


__all__ = ["LIVE_DPI", "MIN_CJK_POINTS", "MIN_CJK_PX", "bold", "has_bold", "japanese_figures", "small"]
