"""Quasi-complete separation by a combination of regressors (issue 10): ``separation="drop"`` keeps the fit with a
note, as Stata does, instead of raising; ``"raise"`` still refuses.

Identity checked: when the baseline year has no successes, the year dummies and the intercept diverge, but the
observations of that year add nothing to the likelihood at the limit, so the coefficient of a regressor that does
not separate (schooling) and its clustered standard error equal those of the fit without that year.
"""

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.binary import SeparationError, logit, probit


@pytest.fixture(scope="module")
def no_success_in_first_year():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(80):
        s = float(rng.integers(6, 16))
        for y in (1995, 2000, 2005):
            p = 0.0 if y == 1995 else 1 / (1 + np.exp(-(-3 + 0.25 * s + (y == 2005))))
            rows.append({"firm_id": i, "year": y, "schooling": s, "inn": float(rng.random() < p)})
    return pd.DataFrame(rows).set_index(["firm_id", "year"])


@pytest.mark.parametrize("fit", [probit, logit])
def test_drop_keeps_the_fit_and_notes_the_determined_observations(no_success_in_first_year, fit):
    df = no_success_in_first_year
    r = fit(df, "inn ~ schooling + C(year)", vcov="cluster", separation="drop")
    later = fit(df[df.index.get_level_values("year") > 1995], "inn ~ schooling + C(year)", vcov="cluster")
    assert r.params["schooling"] == pytest.approx(later.params["schooling"], rel=1e-5)
    assert r.std_errors["schooling"] == pytest.approx(later.std_errors["schooling"], rel=1e-4)
    assert any("80 failures and 0 successes completely determined" in n for n in r.notes)


def test_raise_still_refuses(no_success_in_first_year):
    with pytest.raises(SeparationError, match="completely determined"):
        probit(no_success_in_first_year, "inn ~ schooling + C(year)", separation="raise")
