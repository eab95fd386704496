"""Extensions: what the Trainer calls between updates (logging, evaluation, snapshots, plots).

An extension is a callable ``ext(trainer)`` with attributes ``trigger`` (when to call it),
``priority`` (writers of observations first, readers last) and ``name``; optionally
``initialize(trainer)``, ``finalize()`` and ``serialize(serializer)``.
"""

PRIORITY_WRITER = 300  # adds values to the observation (Evaluator, observe_lr)
PRIORITY_EDITOR = 200  # changes values already there
PRIORITY_READER = 100  # reads them (LogReport, PrintReport, PlotReport, ProgressBar)


class Extension:
    """Base class; subclasses define ``__call__(trainer)``."""

    trigger = (1, "iteration")
    priority = PRIORITY_READER
    name = None

    @property
    def default_name(self):
        return type(self).__name__

    def __call__(self, trainer):
        raise NotImplementedError(f"{type(self).__name__}.__call__ is not defined")

    def initialize(self, trainer):
        """Called once before the first update (also after a resume)."""

    def finalize(self):
        """Called once when training ends, normally or by an error."""

    def serialize(self, serializer):
        """Save or load the extension's state with the trainer's snapshot."""


def make_extension(trigger=None, default_name=None, priority=None, finalizer=None, initializer=None):
    """Decorate a function ``f(trainer)`` to give it an extension's attributes."""
    def decorator(ext):
        ext.trigger = trigger if trigger is not None else Extension.trigger
        ext.default_name = default_name or getattr(ext, "__name__", type(ext).__name__)
        ext.priority = priority if priority is not None else Extension.priority
        ext.finalize = finalizer or (lambda: None)
        ext.initialize = initializer or (lambda trainer: None)
        return ext
    return decorator
