"""Regressions found by the issue-12 audit that have no better home."""

import dataclasses
import warnings

import numpy as np
import pandas as pd

import clusterecon.estimators as E


def test_all_nan_covariance_gives_nan_inference_without_warnings():
    """A covariance with no information (e.g. a bootstrap with reps=0) is all NaN: standard errors, intervals and
    the summary are NaN/blank, and numpy's "All-NaN slice" RuntimeWarning no longer escapes from ``_se``."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"firm": np.repeat(np.arange(20), 3), "year": np.tile([1, 2, 3], 20),
                       "x": rng.normal(size=60)}).assign(y=lambda d: d.x + rng.normal(size=60))
    r = E.pooled_ols(df.set_index(["firm", "year"]), "y ~ x")
    nan = dataclasses.replace(r, vcov=np.full_like(r.vcov, np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nan.std_errors.isna().all() and nan.conf_int().isna().all().all()
        nan.tidy()
        str(nan.summary())
