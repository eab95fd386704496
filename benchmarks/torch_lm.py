"""The same LSTM language model as benchmarks/numpy_lm.py, in PyTorch on the CPU.

Two variants of the recurrent part:

    "cell"  - a Python loop over the window with nn.LSTMCell (what a define-by-run step loop costs)
    "fused" - nn.LSTM over the whole window in one call

Everything else matches the NumPy reference: Embedding (V, D) -> LSTM (D -> H, gates i, f, g, o,
forget bias 1, one trainable bias: PyTorch's second one, bias_hh, is frozen at zero) -> Linear
(H -> V) -> mean cross entropy, SGD with clip_grad_norm_, and truncated BPTT by detaching the state
between windows. torch is imported only when a trainer is made.
"""

from __future__ import annotations

import numpy as np

__all__ = ["available", "version", "num_threads", "make_trainer", "VARIANTS"]

VARIANTS = ("cell", "fused")
_ALIASES = {"cell": "cell", "lstmcell": "cell", "loop": "cell", "fused": "fused", "lstm": "fused"}


def _torch():
    import torch

    torch.set_num_threads(2)
    return torch


def available():
    """True when torch can be imported."""
    try:
        _torch()
    except ImportError:
        return False
    return True


def version():
    return _torch().__version__


def num_threads():
    return _torch().get_num_threads()


def _build(variant, vocab, embed, hidden):
    torch = _torch()
    nn = torch.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            if variant == "cell":
                self.rnn = nn.LSTMCell(embed, hidden)
            else:
                self.rnn = nn.LSTM(embed, hidden, batch_first=True)
            self.out = nn.Linear(hidden, vocab)
            with torch.no_grad():
                for name, p in self.rnn.named_parameters():
                    if name.startswith("bias"):
                        p.zero_()
                sfx = "" if variant == "cell" else "_l0"
                getattr(self.rnn, "bias_ih" + sfx)[hidden : 2 * hidden] = 1.0
            # PyTorch's LSTM adds two bias vectors; the reference has one. Freezing the second at
            # zero makes it the same model with the same SGD and clipping steps.
            getattr(self.rnn, "bias_hh" + sfx).requires_grad_(False)

        def forward(self, x, state):
            """x (B, T) int64, state (h, c) each (B, H) -> logits (B*T, V), new state"""
            e = self.embed(x)  # (B, T, D)
            h, c = state
            if variant == "cell":
                hs = []
                for t in range(x.shape[1]):
                    h, c = self.rnn(e[:, t], (h, c))
                    hs.append(h)
                y = torch.stack(hs, dim=1)  # (B, T, H)
            else:
                y, (h, c) = self.rnn(e, (h.unsqueeze(0), c.unsqueeze(0)))
                h, c = h.squeeze(0), c.squeeze(0)
            return self.out(y.reshape(-1, y.shape[-1])), (h, c)

    return LM()


def make_trainer(variant, vocab, embed, hidden, batch, bprop_len, lr, clip, seed=0):
    """Return step(xs, ts) -> loss that trains one window of shape (batch, bprop_len).

    The returned function carries .model and .reset_state() for inspection.
    """
    try:
        variant = _ALIASES[variant]
    except KeyError:
        raise ValueError(f"make_trainer: variant must be one of {VARIANTS}, got {variant!r}")
    torch = _torch()
    F = torch.nn.functional
    torch.manual_seed(seed)
    model = _build(variant, vocab, embed, hidden)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr)
    zeros = (torch.zeros(batch, hidden), torch.zeros(batch, hidden))
    state = [zeros]

    def step(xs, ts):
        x = torch.from_numpy(np.ascontiguousarray(xs, dtype=np.int64))
        t = torch.from_numpy(np.ascontiguousarray(ts, dtype=np.int64)).reshape(-1)
        h, c = state[0]
        if h.shape[0] != x.shape[0]:
            h = c = torch.zeros(x.shape[0], hidden)
        logits, (h, c) = model(x, (h, c))
        loss = F.cross_entropy(logits, t)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        state[0] = (h.detach(), c.detach())  # truncated BPTT: keep values, cut the history
        return loss.item()

    def reset_state():
        state[0] = zeros

    step.model = model
    step.reset_state = reset_state
    return step
