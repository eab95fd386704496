"""Global switches read while the forward pass runs.

``config.enable_backprop`` decides whether functions record the graph;
``config.train`` tells dropout whether it is training time.
"""
import contextlib
import threading


class _Config(threading.local):
    def __init__(self):
        self.enable_backprop = True
        self.train = True

    def __repr__(self):
        return f"config(enable_backprop={self.enable_backprop}, train={self.train})"


config = _Config()


@contextlib.contextmanager
def using_config(name, value):
    """Set ``config.<name>`` to ``value`` inside the ``with`` block, restore it after."""
    if not hasattr(config, name):
        raise AttributeError(f"using_config: unknown setting {name!r}; known: enable_backprop, train")
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
