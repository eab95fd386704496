"""snapshot and snapshot_object: save the trainer (or any object) through the serializers.

Files are written atomically by the serializers (a temporary file renamed into place), so an
interrupted save leaves the previous snapshot whole. ``serializers.load_npz(path, trainer)`` on a
trainer built the same way resumes the run: same iteration, optimizer state, iterator position,
log and recurrent state.
"""
import glob
import os
import re
import string

from ..extension import Extension


class _Snapshot(Extension):
    trigger = (1, "epoch")
    priority = -100  # after every reader: the snapshot holds what this iteration logged

    def __init__(self, target=None, filename="snapshot_iter_{.updater.iteration}", savefun=None,
                 n_retains=-1, autoload=False, loadfun=None):
        from ... import serializers

        self._target = target
        self.filename = filename
        self._savefun = savefun or serializers.save_npz
        self._loadfun = loadfun or serializers.load_npz
        self.n_retains = n_retains
        self.autoload = autoload

    @property
    def default_name(self):
        return "snapshot" if self._target is None else f"snapshot_{type(self._target).__name__}"

    def _pattern(self):
        """The filename with each ``{...}`` field as a wildcard."""
        parts = string.Formatter().parse(self.filename)
        return "".join(re.escape(text) + (".*" if field is not None else "") for text, field, _, _ in parts)

    def _existing(self, out):
        files = [p for p in glob.glob(os.path.join(out, "*"))
                 if re.fullmatch(self._pattern(), os.path.basename(p))]
        return sorted(files, key=os.path.getmtime)

    def initialize(self, trainer):
        if self.autoload:
            files = self._existing(trainer.out)
            if files:
                self._loadfun(files[-1], trainer if self._target is None else self._target)

    def __call__(self, trainer):
        target = trainer if self._target is None else self._target
        path = os.path.join(trainer.out, self.filename.format(trainer))
        self._savefun(path, target)
        if self.n_retains > 0:
            for old in self._existing(trainer.out)[:-self.n_retains]:
                os.remove(old)


def snapshot(savefun=None, filename="snapshot_iter_{.updater.iteration}", target=None,
             n_retains=-1, autoload=False, loadfun=None):
    """Save the whole trainer to ``out/filename`` (formatted with the trainer) at each trigger.

    ``n_retains`` keeps only the newest files; ``autoload=True`` loads the newest one when the
    run starts, so rerunning the same script continues where it stopped.
    """
    return _Snapshot(target, filename, savefun, n_retains, autoload, loadfun)


def snapshot_object(target, filename, savefun=None, n_retains=-1):
    """Save ``target`` (a model, an optimizer) to ``out/filename`` at each trigger."""
    return _Snapshot(target, filename, savefun, n_retains)
