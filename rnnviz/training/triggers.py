"""Triggers: when does an extension run? ``(period, 'iteration' | 'epoch')`` or any callable.

A trigger is called with the trainer after every update and answers True or False. Interval
triggers here keep no state of their own (they read the updater's counters), so a resumed run
fires them exactly where an uninterrupted one would.
"""
import math


def _check_unit(unit, where):
    if unit not in ("iteration", "epoch"):
        raise ValueError(f"{where}: the unit must be 'iteration' or 'epoch', got {unit!r}")


class IntervalTrigger:
    """Fires every ``period`` iterations, or each time ``epoch_detail`` crosses a multiple of
    ``period`` epochs (a fractional period such as 0.5 epoch works)."""

    def __init__(self, period, unit):
        _check_unit(unit, "IntervalTrigger")
        if not period > 0:
            raise ValueError(f"IntervalTrigger: period must be positive, got {period!r}")
        self.period = period
        self.unit = unit

    def __call__(self, trainer):
        updater = trainer.updater
        if self.unit == "iteration":
            return updater.iteration > 0 and updater.iteration % self.period == 0
        previous = updater.previous_epoch_detail
        if previous is None:
            return False
        return math.floor(updater.epoch_detail / self.period) > math.floor(previous / self.period)

    def get_training_length(self):
        return self.period, self.unit

    def __repr__(self):
        return f"IntervalTrigger({self.period}, {self.unit!r})"


class StopTrigger:
    """True once ``length`` iterations or epochs are done: the Trainer's stop condition."""

    def __init__(self, length, unit):
        _check_unit(unit, "Trainer stop_trigger")
        self.period = length
        self.unit = unit

    def __call__(self, trainer):
        updater = trainer.updater
        done = updater.iteration if self.unit == "iteration" else updater.epoch_detail
        return done >= self.period

    def get_training_length(self):
        return self.period, self.unit


def get_trigger(trigger):
    """A callable trigger as it is; ``(period, unit)`` as an IntervalTrigger; None never fires."""
    if callable(trigger):
        return trigger
    if trigger is None:
        return _never
    try:
        period, unit = trigger
    except (TypeError, ValueError):
        raise TypeError(f"get_trigger: expected a callable or (period, 'iteration' | 'epoch'), "
                        f"got {trigger!r}") from None
    return IntervalTrigger(period, unit)


def _never(trainer):
    return False
