"""Where in the model a function node was made: which link, which time step.

Links and ``rnnviz.graph.time_step`` push a scope; every function node recorded inside
remembers the scope object (one shared reference, no copying). The graph tracer reads it.
"""
import threading


class Scope:
    """An immutable note: ``path`` of link names from the outside in, and a time ``step``."""

    __slots__ = ("path", "step", "children")

    def __init__(self, path=(), step=None):
        self.path = path
        self.step = step
        self.children = {}  # link name -> Scope, reused by later calls (scopes never change)

    def __repr__(self):
        return f"Scope(path={'/'.join(self.path)!r}, step={self.step})"


class _State(threading.local):
    current = None


_state = _State()


def current_scope():
    return _state.current


_ROOT = Scope()


def push_scope(link_name=None, step=None):
    """Enter a scope; returns the previous one, to hand back to ``pop_scope``."""
    prev = _state.current
    if step is None and link_name is not None:  # the common case: reuse the child scope
        parent = _ROOT if prev is None else prev
        child = parent.children.get(link_name)
        if child is None:
            child = parent.children[link_name] = Scope(parent.path + (link_name,), parent.step)
        _state.current = child
        return prev
    path = prev.path if prev is not None else ()
    if link_name is not None:
        path = path + (link_name,)
    if step is None and prev is not None:
        step = prev.step
    _state.current = Scope(path, step)
    return prev


def pop_scope(prev):
    _state.current = prev


class annotate:
    """``with annotate(link_name=..., step=...):`` everything recorded inside carries that scope."""

    def __init__(self, link_name=None, step=None):
        self.link_name = link_name
        self.step = step

    def __enter__(self):
        self._prev = push_scope(self.link_name, self.step)
        return _state.current

    def __exit__(self, *exc):
        pop_scope(self._prev)
        return False
