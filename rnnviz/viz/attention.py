"""The attention weights of one decoded sequence as a heat map: data in, artists out.

Row t is the decoder's step t (the token it wrote), column s the source token s; the colour is
a_ts, the weight step t gave to source position s. Each row sums to one. The colour scale is fixed
to [0, 1], so that two maps can be compared by eye.
"""
import numpy

from ..i18n import ftr


class AttentionMap:
    """``AttentionMap(ax, cax=None)`` then ``update(weights, source_tokens, output_tokens)``:
    weights (T, S), the S source tokens along the top, the T generated tokens down the left.
    ``cax``: an axes for the colour bar (None: no colour bar).

    The axes never change (limits [0, 1], no ticks): the image is stretched over them and the
    tokens are texts placed at the cells' centres, so that a new sequence changes only
    ``artists()`` (a widget can blit them). ``update`` returns True when it had to add texts
    (a longer sequence than any before): then ``artists()`` has grown."""

    def __init__(self, ax, cax=None, cmap="Blues"):
        self.ax = ax
        self.image = ax.imshow(numpy.zeros((1, 1)), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto",
                               interpolation="nearest", extent=(0, 1, 1, 0))
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.xaxis.set_label_position("top")
        ax.set_xlabel(ftr("attention.source_axis"), fontsize=9, labelpad=18)
        ax.set_ylabel(ftr("attention.output_axis"), fontsize=9, labelpad=34)
        self.source_texts, self.output_texts = [], []
        self.colorbar = None
        if cax is not None:
            self.colorbar = ax.figure.colorbar(self.image, cax=cax)
            self.colorbar.set_label(ftr("attention.weight"), fontsize=9)
            self.colorbar.ax.tick_params(labelsize=8)

    def _texts(self, pool, n, **style):
        added = False
        while len(pool) < n:
            pool.append(self.ax.text(0, 0, "", transform=self.ax.transAxes, **style))
            added = True
        return added

    def update(self, weights, source_tokens, output_tokens):
        weights = numpy.asarray(weights, dtype=float)
        T, S = weights.shape
        self.image.set_data(weights)
        added = self._texts(self.source_texts, S, ha="center", va="bottom")
        added |= self._texts(self.output_texts, T, ha="right", va="center")
        size = lambda n: 10 if n <= 16 else max(5, 160 / n)          # noqa: E731
        for pool, tokens, n in ((self.source_texts, source_tokens, S), (self.output_texts, output_tokens, T)):
            for i, text in enumerate(pool):
                shown = i < n
                text.set_visible(shown)
                if not shown:
                    continue
                centre = (i + 0.5) / n
                text.set_text(str(tokens[i]))
                text.set_fontsize(size(n))
                text.set_position((centre, 1.02) if pool is self.source_texts else (-0.02, 1 - centre))
        return added

    def artists(self):
        """What ``update`` changes."""
        return [self.image] + self.source_texts + self.output_texts


def draw_attention(weights, source_tokens, output_tokens, ax=None):
    """Draw one heat map on ``ax`` (a new figure when None); returns the view."""
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(5, 4))
    view = AttentionMap(ax)
    view.update(weights, source_tokens, output_tokens)
    return view
