"""Text rendering of an estimation result: the Stata-like summary table that ``summary()`` and ``print`` show.

The header lists the model's sample and fit statistics (an undefined R² prints as n/a), then the variance convention
(:meth:`~clusterecon.estimators.results.VarianceInfo.describe`) and the reference distribution (t(df) or normal), the
coefficient table (names in full, never cut; a coefficient without a standard error shows n/a in the inference
columns), and below it the effects, tests, observations left out, dropped regressors and notes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def summary_text(res: Any) -> str:
    """The printed summary of an estimation result (:meth:`EstimationResult.summary`): header block, variance
    and inference lines, the coefficient table with names in full, then effects, tests, left-out observations,
    dropped regressors and notes."""
    width = 78
    lines = [f"{res.model}".center(width), "=" * width]
    head = [("Dep. variable", res.depvar), ("Estimator", res.estimator), ("Observations", f"{res.nobs:,}")]
    if res.n_entities is not None:
        head.append(("Firms", f"{res.n_entities:,}"))
    if res.t_min is not None:
        head.append(("T min/mean/max", f"{res.t_min} / {res.t_mean:.2f} / {res.t_max}"))
    labels = {"r2": "R-squared", "adj": "Adj. R-squared", "pseudo": "Pseudo R-squared"}
    for k, v in res.rsquared.items():  # an undefined R² (e.g. between, when firm means do not vary): n/a
        head.append((labels.get(k, f"R-squared {k}"), f"{v:.4f}" if np.isfinite(v) else "n/a"))
    if res.loglik is not None:
        head.append(("Log-likelihood", f"{res.loglik:.4f}"))
    for k, v in res.stats.items():
        head.append((k, (f"{v:.6g}" if np.isfinite(v) else "n/a") if isinstance(v, (float, np.floating))
                     else str(v)))
    for k, v in head:
        lines.append(f"{k:<24}{v:>54}")
    lines.append(f"Variance: {res.variance.describe()}")
    lines.append(f"Inference: {'t(' + format(res.df_inference, 'g') + ')' if res.uses_t else 'normal'}")
    lines.append("-" * width)
    tb = res.tidy()
    stat = "t" if res.uses_t else "z"
    # names in full (never cut); every column separated by at least one space (negative bounds included)
    nw = max([22, *(len(str(n)) + 2 for n in tb.index)])
    lines.append(f"{'':<{nw}}{'coef':>11}{'std err':>11}{stat:>9}{f'P>|{stat}|':>9}"
                 f"{'[0.025':>11}{'0.975]':>11}")
    for name, row in tb.iterrows():
        if not np.isfinite(row.std_error):  # no standard error (e.g. not computed): inference columns n/a
            lines.append(f"{str(name):<{nw}}{row.estimate:>11.5g}{'n/a':>11}{'n/a':>9}{'n/a':>9} {'n/a':>10} "
                         f"{'n/a':>10}")
            continue
        lines.append(f"{str(name):<{nw}}{row.estimate:>11.5g}{row.std_error:>11.5g}{row.statistic:>9.3f}"
                     f"{row.p_value:>9.3f} {row.ci_lower:>10.4g} {row.ci_upper:>10.4g}")
    lines.append("-" * width)
    for k, v in res.effects.items():
        lines.append(f"{k}: {v}")
    for t in res.tests.values():
        lines.append(str(t))
    if res.omitted:
        lines.append("Left out: " + "; ".join(f"{o.n} {o.reason}" for o in res.omitted))
    for name, why in res.dropped_regressors:
        lines.append(f"Dropped regressor {name}: {why}")
    lines.extend(res.notes)
    return "\n".join(lines)
