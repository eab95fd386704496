"""Classifier: a predictor plus its loss, as in Chainer."""
from .. import functions as F
from ..reporter import _stack as _reporter_stack
from ..reporter import report
from .link import Chain


class Classifier(Chain):
    """loss = lossfun(predictor(*x), t). After a call, ``.y``, ``.loss`` and ``.accuracy`` hold
    the latest prediction, loss and accuracy (``compute_accuracy=False`` skips the last); both
    are reported (``rnnviz.report``) as ``loss`` and ``accuracy``, e.g. ``main/loss`` in a Trainer."""

    compute_accuracy = True

    def __init__(self, predictor, lossfun=F.softmax_cross_entropy, accfun=F.accuracy, label_key=-1):
        super().__init__()
        for name, fn in (("predictor", predictor), ("lossfun", lossfun), ("accfun", accfun)):
            if not callable(fn):
                raise TypeError(f"Classifier: {name} must be callable (a link or a function), got "
                                f"{type(fn).__name__}")
        self.lossfun = lossfun
        self.accfun = accfun
        self.label_key = label_key
        self.y = self.loss = self.accuracy = None
        with self.init_scope():
            self.predictor = predictor

    def forward(self, *args):
        if len(args) < 2:
            raise TypeError(f"Classifier: expected inputs and a label, got {len(args)} argument(s)")
        *xs, t = args
        self.y = self.predictor(*xs)
        self.loss = self.lossfun(self.y, t)
        if self.compute_accuracy:
            self.accuracy = self.accfun(self.y, t)
        if _reporter_stack():  # inside a Trainer or Evaluator: report as 'main/loss', ...
            values = {"loss": self.loss}
            if self.compute_accuracy:
                values["accuracy"] = self.accuracy
            report(values, self)
        return self.loss

    def reset_state(self):
        if hasattr(self.predictor, "reset_state"):
            self.predictor.reset_state()


class RNNLM(Chain):
    """The tutorials' recurrent language model: embed -> recurrent layer(s) -> linear to the vocabulary.

    ``RNNLM(1000, 100, 50)`` is the Chainer tutorial's model (EmbedID 1000x100, LSTM 100->50,
    Linear 50->1000); ``cell='gru'`` a GRU, ``cell='rnn'`` an Elman layer instead. Call it with a batch of word ids,
    one time step per call; ``reset_state()`` starts new sequences.
    """

    def __init__(self, n_vocab, n_embed, n_hidden, n_layers=1, cell="lstm", dropout=0.0):
        from .connection import EmbedID, Linear
        from .recurrent import GRU, LSTM, RNN

        super().__init__()
        if cell not in ("lstm", "gru", "rnn"):
            raise ValueError(f"RNNLM: cell must be 'lstm', 'gru' or 'rnn', got {cell!r}")
        from ._checks import check_fraction, check_size

        for name, value in (("n_vocab", n_vocab), ("n_embed", n_embed), ("n_hidden", n_hidden),
                            ("n_layers", n_layers)):
            check_size("RNNLM", name, value)
        check_fraction("RNNLM", "dropout", dropout)
        layer = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell]
        self.n_vocab = n_vocab
        self.dropout = dropout
        self.recurrent_names = []
        with self.init_scope():
            self.embed = EmbedID(n_vocab, n_embed)
            sizes = [n_embed] + [n_hidden] * n_layers
            for k in range(n_layers):
                name = "mid" if n_layers == 1 else f"mid{k + 1}"
                setattr(self, name, layer(sizes[k], sizes[k + 1]))
                self.recurrent_names.append(name)
            self.out = Linear(n_hidden, n_vocab)

    def reset_state(self):
        for name in self.recurrent_names:
            getattr(self, name).reset_state()

    def forward(self, word_ids):
        h = self.embed(word_ids)
        for name in self.recurrent_names:
            h = getattr(self, name)(F.dropout(h, self.dropout) if self.dropout else h)
        return self.out(F.dropout(h, self.dropout) if self.dropout else h)
