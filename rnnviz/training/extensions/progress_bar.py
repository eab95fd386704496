"""ProgressBar: a tqdm bar over the whole training (a widget in JupyterLab, text in a terminal).

In a notebook the bar's last line is what a saved copy shows (``rnnviz.training.progress``)."""
from ..extension import Extension


class ProgressBar(Extension):
    """Shows iterations (or epochs) done out of the training length, with the latest values of
    ``keys`` (default ``main/loss``) beside the bar. ``training_length`` defaults to the trainer's
    stop trigger. ``update_interval``: refresh every that many iterations."""

    def __init__(self, training_length=None, update_interval=1, keys=("main/loss",), out=None):
        self._training_length = training_length
        self._update_interval = max(1, int(update_interval))
        self._keys = tuple(keys)
        self._out = out
        self._bar = None
        self._shown = 0.0

    def initialize(self, trainer):
        from ..progress import tqdm

        length = self._training_length
        if length is None:
            get_length = getattr(trainer.stop_trigger, "get_training_length", None)
            length = get_length() if get_length else (None, "iteration")
        total, self._unit = length
        done = self._progress(trainer)
        kwargs = {"file": self._out} if self._out is not None else {}
        if self._unit == "epoch":
            kwargs["bar_format"] = "{l_bar}{bar}| {n:.2f}/{total} epochs [{elapsed}<{remaining}{postfix}]"
        self._bar = tqdm(total=total, initial=done, desc="training",
                         unit=self._unit, dynamic_ncols=True, **kwargs)
        self._shown = done

    def _progress(self, trainer):
        updater = trainer.updater
        return updater.iteration if self._unit == "iteration" else updater.epoch_detail

    def __call__(self, trainer):
        if self._bar is None or trainer.updater.iteration % self._update_interval:
            return
        done = self._progress(trainer)
        postfix = {}
        for key in self._keys:
            if key in trainer.observation:
                postfix[key] = f"{float(getattr(trainer.observation[key], 'array', trainer.observation[key])):.4g}"
        if postfix:
            self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(done - self._shown)
        self._shown = done

    def finalize(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
