"""Global switches read while the forward pass runs.

``config.enable_backprop`` decides whether functions record the graph;
``config.train`` tells dropout whether it is training time;
``config.batched_backward`` picks the backward engine: True (the default) the batched one
(``core/batched_engine.py``, fast), False the plain one (``core/engine.py``, the one to read).
Both compute the same gradients. The environment variable ``RNNVIZ_BATCHED_BACKWARD=0`` starts
every process with the plain engine (the test suite runs once with each).
"""
import contextlib
import os
import threading

SETTINGS = ("enable_backprop", "train", "batched_backward")


class _Config(threading.local):
    def __init__(self):
        self.enable_backprop = True
        self.train = True
        self.batched_backward = os.environ.get("RNNVIZ_BATCHED_BACKWARD", "1") != "0"

    def __repr__(self):
        return "config(" + ", ".join(f"{name}={getattr(self, name)}" for name in SETTINGS) + ")"


config = _Config()


@contextlib.contextmanager
def using_config(name, value):
    """Set ``config.<name>`` to ``value`` inside the ``with`` block, restore it after."""
    if not hasattr(config, name):
        raise AttributeError(f"using_config: unknown setting {name!r}; known: {', '.join(SETTINGS)}")
    if name in SETTINGS and not (isinstance(value, bool) or type(value).__name__ == "bool_"):
        raise TypeError(f"using_config: {name} must be True or False, got {value!r} "
                        f"(a string such as 'False' would count as true)")
    old = getattr(config, name)
    setattr(config, name, value)
    try:
        yield
    finally:
        setattr(config, name, old)


def no_backprop_mode():
    """Inside, no graph is recorded: outputs have no creator and cost no history."""
    return using_config("enable_backprop", False)


def force_backprop_mode():
    """Record the graph even inside ``no_backprop_mode()``."""
    return using_config("enable_backprop", True)
