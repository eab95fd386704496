"""observe_value and observe_lr: put a number into the observation at every trigger."""
from ... import reporter as reporter_module
from ..extension import PRIORITY_WRITER, make_extension


def observe_value(observation_key, target_func):
    """Report ``target_func(trainer)`` as ``observation_key`` (every iteration by default)."""
    @make_extension(trigger=(1, "iteration"), priority=PRIORITY_WRITER, default_name="observe_" + observation_key)
    def _observe(trainer):
        reporter_module.report({observation_key: target_func(trainer)})
    return _observe


def observe_lr(optimizer_name="main", observation_key="lr"):
    """Report the learning rate of the updater's optimizer ``optimizer_name`` (SGD's ``lr``,
    Adam's effective step size)."""
    return observe_value(observation_key,
                         lambda trainer: float(trainer.updater.get_optimizer(optimizer_name).lr))
