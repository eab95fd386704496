"""One step of a stateful recurrent link that only the live sequences of a padded batch take.

    s_t = where(m_t, step(s_{t-1}, x_t), s_{t-1})      for each state s: h, and c for an LSTM

A sequence that has ended keeps its state (its final state is the one it reaches alone), and the
step it skips receives exactly zero gradient in its row: the padded input x_t gets none either.
Works with every stateful link that keeps its state in ``state_names`` (``L.RNN``, ``L.LSTM``,
``L.GRU``) and with both backward engines (``F.where``'s backward is a plain select).
For the explicit-state cells write the select yourself: ``h = F.where(m[:, None], h_new, h)``.
"""
from .. import functions as F
from ..core import Variable, backend
from ..functions.sequence import as_mask


def masked_step(link, x, mask):
    """Advance ``link`` (stateful: RNN, LSTM, GRU) one step on x (B, ...) where ``mask`` (B,) is
    true; elsewhere its state stays as it was. Returns the new ``h``.

    Typical loop over a padded batch (``F.sequence_mask`` gives the mask)::

        for t in range(T):
            h = masked_step(lstm, x[t], mask[t])
    """
    name = f"masked_step({type(link).__name__})"
    names = getattr(link, "state_names", None)
    if names is None or not hasattr(link, "get_state"):
        raise TypeError(f"{name}: expected a stateful recurrent link (L.RNN, L.LSTM, L.GRU) that keeps "
                        f"its state; for an explicit-state cell use F.where(mask[:, None], new, old)")
    B = len(getattr(x, "array", x))
    mask = as_mask(name, mask, (B,))
    before = link.get_state()
    h = link(x)
    after = link.get_state()
    xp = backend.get_array_module(after[names[0]])
    if xp is not backend.get_array_module(mask):
        mask = backend.to_device(mask, backend.device_of(after[names[0]].array))
    if bool(mask.all()):                  # every sequence alive: nothing to hold back
        return h
    keep = mask[:, None]
    carried = {}
    for n in names:
        old = before[n]
        if old is None:                   # the first step: the state it would have had is zeros
            old = Variable(xp.zeros_like(after[n].array), requires_grad=False)
        carried[n] = F.where(keep, after[n], old)
    link.set_state(**carried)
    return link.h
