"""LogReport: the mean of every reported value over each interval, kept as a list and a JSON file."""
import json
import os

from ... import reporter as reporter_module
from ...serializers.npz import write_atomically
from ..extension import Extension
from ..triggers import get_trigger


class LogReport(Extension):
    """Averages the observations over each ``trigger`` interval (default one epoch).

    Each entry of ``log`` is a dict: the mean of every reported key plus ``epoch``,
    ``iteration`` and ``elapsed_time``. The list is written as JSON to ``out/filename`` after
    each entry (atomically); ``filename=None`` writes nothing.
    """

    def __init__(self, keys=None, trigger=(1, "epoch"), postprocess=None, filename="log", log_name=None):
        self._keys = keys
        self._trigger = get_trigger(trigger)
        self._postprocess = postprocess
        self._filename = log_name if log_name is not None else filename
        self._log = []
        self._summary = reporter_module.DictSummary()

    @property
    def log(self):
        """The entries so far (a list of dicts)."""
        return self._log

    def __call__(self, trainer):
        observation = trainer.observation
        if self._keys is None:
            self._summary.add(observation)
        else:
            self._summary.add({k: observation[k] for k in self._keys if k in observation})
        if not self._trigger(trainer):
            return
        stats = self._summary.compute_mean()
        entry = dict(stats)
        entry["epoch"] = trainer.updater.epoch
        entry["iteration"] = trainer.updater.iteration
        entry["elapsed_time"] = trainer.elapsed_time
        if self._postprocess is not None:
            self._postprocess(entry)
        self._log.append(entry)
        if self._filename:
            _write_json_atomically(os.path.join(trainer.out, self._filename), self._log)
        self._summary = reporter_module.DictSummary()

    def serialize(self, serializer):
        if hasattr(self._trigger, "serialize"):
            self._trigger.serialize(serializer["_trigger"])
        self._summary.serialize(serializer["_summary"])
        if getattr(serializer, "loading", False):
            stored = serializer("_log", None)
            if stored is not None:
                self._log = json.loads(str(stored))
        else:
            serializer("_log", json.dumps(self._log))


def _write_json_atomically(path, value):
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(value, f, indent=4)
    write_atomically(path, write)
