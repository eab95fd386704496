"""Grading: what the assignments' tests call, and the grading command.

The tests inside the assignment notebooks use the helpers of ``checks``: run a check on each
device (NumPy, and CuPy where a GPU can be used), compare arrays and explain a difference by its
symptom and the usual mistake behind it, check a FunctionNode's backward against finite
differences. ``python -m rnnviz.grading autograde NAME`` grades a whole class through nbgrader.
"""
from .checks import (CPU, ENV_VAR, USUAL_MISTAKES, Device, check_array, check_function, devices,
                     for_each_device, gpu_status, numerical_gradients, relative_error, run_test, to_numpy)
from .protocol import Check, register

__all__ = ["CPU", "ENV_VAR", "USUAL_MISTAKES", "Device", "check_array", "check_function", "devices",
           "for_each_device", "gpu_status", "numerical_gradients", "relative_error", "to_numpy", "Check", "register", "run_test"]
