"""Evaluator: the mean of what the model reports over a validation iterator, without a graph."""
import copy

from ... import reporter as reporter_module
from ...core import no_backprop_mode, using_config
from ...dataset.convert import concat_examples
from ..extension import PRIORITY_WRITER, Extension


class Evaluator(Extension):
    """``Evaluator(iterator, target, converter=concat_examples, device=None, eval_hook=None, eval_func=None)``

    Runs ``eval_func`` (default ``target``) on every batch of ``iterator`` inside
    ``no_backprop_mode()`` and ``train=False``, and reports the mean of each value the target
    reported, prefixed ``validation/`` (the extension's name): ``validation/main/loss``.
    ``eval_hook(evaluator)`` runs first (e.g. to reset a recurrent model's state). The iterator
    is reset (or copied) before each evaluation, so it must not repeat.
    """

    trigger = (1, "epoch")
    priority = PRIORITY_WRITER
    default_name = "validation"

    def __init__(self, iterator, target, converter=concat_examples, device=None, eval_hook=None,
                 eval_func=None):
        self._iterators = dict(iterator) if isinstance(iterator, dict) else {"main": iterator}
        self._targets = dict(target) if isinstance(target, dict) else {"main": target}
        self.converter = converter
        self.device = device
        self.eval_hook = eval_hook
        self.eval_func = eval_func

    def get_iterator(self, name):
        return self._iterators[name]

    def get_target(self, name):
        return self._targets[name]

    def __call__(self, trainer=None):
        """Evaluate and report ``{name}/...``; returns the dict of means."""
        reporter = reporter_module.Reporter()
        prefix = (self.name or self.default_name) + "/"
        for name, target in self._targets.items():
            reporter.add_observer(prefix + name, target)
            reporter.add_observers(prefix + name, target.namedlinks(skipself=True))
        with reporter:
            result = self.evaluate()
        reporter_module.report(result)
        return result

    def evaluate(self):
        iterator = self._iterators["main"]
        eval_func = self.eval_func or self._targets["main"]
        if self.eval_hook is not None:
            self.eval_hook(self)
        if hasattr(iterator, "reset"):
            iterator.reset()
            it = iterator
        else:
            it = copy.copy(iterator)
        summary = reporter_module.DictSummary()
        with no_backprop_mode(), using_config("train", False):
            for batch in it:
                observation = {}
                with reporter_module.report_scope(observation):
                    arrays = self.converter(batch, self.device)
                    if isinstance(arrays, tuple):
                        eval_func(*arrays)
                    elif isinstance(arrays, dict):
                        eval_func(**arrays)
                    else:
                        eval_func(arrays)
                summary.add(observation)
        return summary.compute_mean()
