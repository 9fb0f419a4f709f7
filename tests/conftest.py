"""Shared pytest configuration: fixed seeds, headless plotting, BLAS on one thread for reproducible timings."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
