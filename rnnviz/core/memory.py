"""Freed memory kept for reuse: the C library is asked to hand large freed blocks back to the
program rather than to the operating system.

Why: a training step allocates the same large arrays every window (a window's logits, their
gradients, a weight's gradient) and frees them again. With glibc's defaults, blocks above a
threshold that moves at run time are mapped fresh from the operating system each time, and every
4 KB page of a fresh block costs a page fault when first written: from a few hundred to 1,900
faults per window of the tutorial's model and 7,000 to 10,000 per window of the PTB model, as the
heap happens to lie (``benchmarks/bench_lm_throughput.py --faults``, and with
``RNNVIZ_MALLOC=system`` for the defaults); 4 to 6% of a window's time, measured standalone.
A hand-written model avoids them by reusing its buffers; a define-by-run library makes new
arrays, so it asks the allocator to reuse instead.

How: glibc's ``mallopt``. Blocks up to ``MMAP_THRESHOLD`` come from the heap, and up to
``TRIM_THRESHOLD`` of free memory at the heap's top is kept, so a process keeps, at most, about
the memory it has already used at its peak. Only on Linux with glibc, and not when the user has
tuned malloc (``MALLOC_*`` environment variables, ``GLIBC_TUNABLES``) or set
``RNNVIZ_MALLOC=system``.
"""
import ctypes
import os
import sys

MMAP_THRESHOLD = 32 << 20      # glibc's largest; arrays above it are still mapped fresh
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3    # mallopt's parameter numbers (malloc.h)


def keep_freed_memory():
    """Set the two thresholds; True when they were set."""
    if not sys.platform.startswith("linux") or os.environ.get("RNNVIZ_MALLOC") == "system":
        return False
    if "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") for k in os.environ):
        return False                             # the user's own malloc settings win
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):            # another C library (musl): leave it alone
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


enabled = keep_freed_memory()
