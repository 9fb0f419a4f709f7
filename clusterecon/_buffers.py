"""Large result arrays whose memory comes from Arrow's memory pool rather than numpy's allocator.

Why: loading a survey allocates a few hundred megabytes of new arrays per call (the panel's reordered columns, the
firm-year order, …). numpy asks the C library for them, which hands large blocks back to the kernel when they are
freed, so every load touches fresh pages again: on the benchmark machine a fresh 8 MB array cost two to three times
its filling (page faults), and a 1M-row load took 8–18k faults per call where the plain pandas read it is compared
with (``benchmarks/bench_load.py``) took none. Arrow's pool (mimalloc or jemalloc) keeps freed pages for the next
allocation, as it does for that pandas read's own buffers (ten 8 MB arrays filled and dropped: 23 ms and 5,200
faults a round from numpy, 15 ms and none from the pool after the first round). The arrays are ordinary writeable
numpy arrays; only their memory's owner differs (an Arrow buffer, kept alive by the array).
"""

from __future__ import annotations

import numpy as np


def empty(n: int, dtype) -> np.ndarray:
    """``np.empty(n, dtype)`` in Arrow's memory pool (writeable, C-contiguous, aligned)."""
    import pyarrow as pa

    dtype = np.dtype(dtype)
    if n * dtype.itemsize < 1 << 18:  # below 256 kB numpy's allocator reuses the memory itself
        return np.empty(n, dtype=dtype)
    return np.frombuffer(pa.allocate_buffer(n * dtype.itemsize), dtype=dtype)


def take(a: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``a[order]`` (``order`` holds valid positions) into a pooled array: ``np.take`` with ``out`` and
    ``mode="clip"``, which writes in place (its default mode buffers the result in a temporary first)."""
    return np.take(a, order, out=empty(len(order), a.dtype), mode="clip")
