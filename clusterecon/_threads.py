"""One small thread pool for the loader's independent steps (``clusterecon.load``, ``clusterecon.io.casting``).

Why threads: after the file is read, loading a survey is a chain of numpy, pandas and Arrow passes over a million
rows on ONE core, while the plain pandas read it is compared with (``benchmarks/bench_load.py``) already uses two.
numpy's take and reductions and Arrow's compute kernels release the GIL, so two independent steps on two threads
overlap for real. The steps handed to the pool never wait on the pool themselves (no nesting), so two workers
cannot deadlock, whatever the callers.

The pool is created on first use (importing clusterecon starts no thread) and forgotten in a forked child, whose
copy of the parent's pool has no threads behind it (a task submitted there would never run): the child makes its
own on first use.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_PREFIX = "clusterecon"


def pool() -> ThreadPoolExecutor:
    """The process's two-worker pool (created on first use)."""
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=_PREFIX)
    return _pool


def in_pool() -> bool:
    """Whether this thread is one of the pool's workers (which must not wait on the pool)."""
    return threading.current_thread().name.startswith(_PREFIX)


def _forget_in_child() -> None:
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)
