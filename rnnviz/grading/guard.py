"""Inside the student kernel: put back what the tests rely on before each graded test cell.

Student code runs in the same Python process as the tests, so it can monkeypatch the assert
helpers (``rnnviz.grading``, ``numpy.testing``), replace ``rnnviz`` in ``sys.modules``, or hook
IPython so that a test cell never runs. ``snapshot()`` (before the first cell) records the
functions and classes of those modules and the interpreter hooks; ``restore()``, which the grader
calls before each test cell, puts every changed one back and reports what it changed.

This is a guard against tampering with the usual handles, not a proof: code that targets the
guard itself can still defeat checks that run in its own process. The grader treats a guard that
does not answer as tampering and fails the test cell.
"""
from __future__ import annotations

import builtins
import json
import sys
import threading
import types

#: Modules whose functions and classes the tests rely on.
GUARDED_MODULES = ("rnnviz", "numpy", "numpy.testing", "numpy.linalg", "math", "builtins")
GUARDED_EXTRA = ("rnnviz.grading", "rnnviz.gradient_check", "rnnviz.functions", "rnnviz.links",
                 # the checks each assignment's test cells import (a learner's cell could patch them first)
                 "rnnviz.grading.assignments.backward_engine", "rnnviz.grading.assignments.rnn_by_hand",
                 "rnnviz.grading.assignments.lstm", "rnnviz.grading.assignments.truncated_bptt")
#: The grading machinery itself is not imported into kernels.
UNGUARDED = ("rnnviz.grading.guard", "rnnviz.grading.kernel")
#: IPython attributes that decide what runs and how errors are reported.
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")

_modules: dict[str, types.ModuleType] = {}
_module_dicts: dict[str, dict] = {}
_class_dicts: dict[type, dict] = {}
_sys_hooks: dict[str, object] = {}
_shell: dict[str, object] = {}


def _guarded(value) -> bool:
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type,
                              types.ModuleType, staticmethod, classmethod, property))


def _record_class(cls: type) -> None:
    if cls not in _class_dicts:
        _class_dicts[cls] = {k: v for k, v in vars(cls).items() if _guarded(v)}


def snapshot() -> None:
    """Record the guarded modules (rnnviz as ``import rnnviz`` loads it, its test helpers, numpy),
    their classes and the import and exception hooks."""
    import importlib

    for name in GUARDED_MODULES + GUARDED_EXTRA:
        importlib.import_module(name)
    names = {n for n in sys.modules if n in GUARDED_MODULES or n.startswith("rnnviz.")}
    names -= {n for n in names if n.startswith(UNGUARDED)}
    for name in names:
        mod = sys.modules[name]
        _modules[name] = mod
        _module_dicts[name] = {k: v for k, v in vars(mod).items() if _guarded(v)}
        for v in list(vars(mod).values()):
            if isinstance(v, type) and getattr(v, "__module__", "").startswith(("rnnviz", "numpy")):
                _record_class(v)


def _overrides_method(obj, name: str, value) -> bool:
    return callable(value) and callable(getattr(type(obj), name, None))


def snapshot_shell() -> None:
    """Record the IPython shell's hooks and classes (run by the kernel before the first cell)."""
    from IPython import get_ipython
    shell = get_ipython()
    _shell["shell"] = shell
    # (sys.displayhook and sys.excepthook are not compared: IPython swaps them around each cell)
    _sys_hooks.update(meta_path=list(sys.meta_path), path_hooks=list(sys.path_hooks),
                      import_=builtins.__import__)
    for name in SHELL_LISTS:
        _shell[name] = list(getattr(shell, name))
    _shell["events"] = {k: list(v) for k, v in shell.events.callbacks.items()}
    _shell["custom_exceptions"] = shell.custom_exceptions
    for obj in (shell, shell.kernel):
        _shell[id(obj)] = {k: v for k, v in vars(obj).items() if _overrides_method(obj, k, v)}
    for cls in type(shell).__mro__ + type(shell.kernel).__mro__:
        if cls.__module__.startswith(("IPython", "ipykernel")):
            _record_class(cls)


def restore(nonce: str) -> str:
    """Put back every guarded object that changed; return JSON {nonce, restored: [names]}."""
    restored: list[str] = []
    for name, mod in _modules.items():
        if sys.modules.get(name) is not mod:
            sys.modules[name] = mod
            restored.append(f"sys.modules[{name!r}]")
        d = vars(mod)
        for k, v in _module_dicts[name].items():
            if d.get(k) is not v:
                d[k] = v
                restored.append(f"{name}.{k}")
    for cls, saved in _class_dicts.items():
        for k, v in saved.items():
            if cls.__dict__.get(k) is not v:
                setattr(cls, k, v)
                restored.append(f"{cls.__module__}.{cls.__qualname__}.{k}")
        for k in [k for k, v in vars(cls).items() if k not in saved and _guarded(v)]:
            delattr(cls, k)
            restored.append(f"{cls.__module__}.{cls.__qualname__}.{k}")
    if not _sys_hooks:       # the shell was never recorded: nothing more to compare with
        return json.dumps({"nonce": nonce, "restored": restored})
    for name in ("meta_path", "path_hooks"):
        if getattr(sys, name) != _sys_hooks[name]:
            getattr(sys, name)[:] = _sys_hooks[name]
            restored.append(f"sys.{name}")
    if builtins.__import__ is not _sys_hooks["import_"]:
        builtins.__import__ = _sys_hooks["import_"]
        restored.append("builtins.__import__")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        restored.append("sys.settrace/setprofile")
    shell = _shell.get("shell")
    if shell is not None:
        for name in SHELL_LISTS:
            if list(getattr(shell, name)) != _shell[name]:
                setattr(shell, name, list(_shell[name]))
                restored.append(f"shell.{name}")
        for obj, label in ((shell, "shell"), (shell.kernel, "kernel")):
            saved = _shell[id(obj)]
            for k, v in list(vars(obj).items()):
                if _overrides_method(obj, k, v) and saved.get(k) is not v:
                    if k in saved:
                        setattr(obj, k, saved[k])
                    else:
                        delattr(obj, k)
                    restored.append(f"{label}.{k}")
        if {k: list(v) for k, v in shell.events.callbacks.items()} != _shell["events"]:
            for k, v in _shell["events"].items():
                shell.events.callbacks[k][:] = v
            restored.append("shell.events")
        if shell.custom_exceptions != _shell["custom_exceptions"]:
            shell.set_custom_exc((), None)
            restored.append("shell.custom_exceptions")
    return json.dumps({"nonce": nonce, "restored": restored})
