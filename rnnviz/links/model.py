"""Classifier: a predictor plus its loss, as in Chainer."""
from .. import functions as F
from .link import Chain


class Classifier(Chain):
    """loss = lossfun(predictor(*x), t). After a call, ``.y``, ``.loss`` and ``.accuracy`` hold
    the latest prediction, loss and accuracy (``compute_accuracy=False`` skips the last)."""

    compute_accuracy = True

    def __init__(self, predictor, lossfun=F.softmax_cross_entropy, accfun=F.accuracy, label_key=-1):
        super().__init__()
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
        return self.loss

    def reset_state(self):
        if hasattr(self.predictor, "reset_state"):
            self.predictor.reset_state()
