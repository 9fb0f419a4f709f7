r"""The result of a control-function production-function estimator and the diagnostics every one of them runs.

:class:`ControlFunctionResult` is a :class:`~clusterecon.productivity.cobb_douglas.ProductionFunctionResult`
(so ``params``, ``std_errors``, ``summary()``, ``regression_table`` work) plus firm-year log TFP in levels and
growth named after the estimator, output elasticities (firm-year for translog and GNR, their sample means in
``elasticities``), returns to scale with the Wald test of constant returns, and ``warnings``:

* an output elasticity outside [0, 1.2] or returns to scale outside [0.5, 1.5];
* a proxy that is not increasing in productivity (∂φ/∂proxy < 0) for more than 10% of firm-years;
* several roots of the GMM criterion across starting values (ACF), with the spread;
* failed bootstrap replications.

The warnings are also written into ``notes`` so they print in ``summary()`` and under regression tables.
Results contract (:mod:`clusterecon.estimators.results`): ``resid`` is log TFP :math:`y - \hat f(x)` (prodest's
``predict, residuals``) and ``fitted`` is :math:`\hat f(x)`, both indexed by (firm, year) over every firm-year
used; inference is normal (``df_inference`` None: bootstrap or GMM variance); no ``with_vcov`` (the bootstrap
is the variance). ``predict(newdata)`` applies the estimated technology to other firm-years (the inputs and
controls under the names used in the fit): ``kind="xb"`` is :math:`\hat f(x)`, ``kind="tfp"`` log TFP
:math:`y - \hat f(x)` (needs the output column), as prodest's ``predict`` does for the estimation sample.
Returns to scale :math:`\sum_j \bar\varepsilon_j = a'\theta` is linear in the coefficients (for translog,
:math:`a` averages the derivative terms over firm-years), so the CRS test is the Wald
:math:`\chi^2(1) = (a'\hat\theta - 1)^2 / a'\hat V a`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..estimators.results import Omitted, TestResult, VarianceInfo
from .cobb_douglas import ProductionFunctionResult
from .control_function import PanelArrays

ELASTICITY_RANGE = (0.0, 1.2)
RTS_RANGE = (0.5, 1.5)
MONOTONE_TOLERANCE = 0.10


@dataclass(frozen=True)
class TechnologyPredictor:
    """Prediction rule of a production function: :math:`\\hat f(x) = \\sum_j \\theta_j t_j(x)` where each term
    :math:`t_j` is a product of input powers named as in the result (``l``, ``l^2``, ``l*k``) or a control column.
    Rows with a missing input give NaN."""

    output: str
    kinds: tuple[str, ...] = ("xb", "tfp")

    def predict(self, res: Any, newdata: Any, kind: str | None) -> pd.Series:
        from ..estimators.errors import SpecificationError

        kind = kind or "xb"
        if kind not in self.kinds:
            raise SpecificationError(f"kind={kind!r}: a production function predicts {self.kinds}")
        if newdata is None:
            return res.fitted if kind == "xb" else res.resid
        frame = getattr(newdata, "frame", newdata)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"newdata must be a DataFrame or SurveyPanel, got {type(newdata).__name__}")
        factors = {f.split("^")[0] for name in res.names for f in name.split("*")}
        need = sorted(factors | ({self.output} if kind == "tfp" else set()))
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise SpecificationError(f"newdata lacks column(s) {missing} that the production function uses")
        col = {c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan) for c in need}
        xb = np.zeros(len(frame))
        for name, b in zip(res.names, res.coef):
            term = np.ones(len(frame))
            for f in name.split("*"):
                base, _, power = f.partition("^")
                term = term * col[base] ** (int(power) if power else 1)
            xb += b * term
        if kind == "xb":
            return pd.Series(xb, index=frame.index, name="xb")
        return pd.Series(col[self.output] - xb, index=frame.index, name="tfp")


@dataclass(frozen=True, kw_only=True)
class ControlFunctionResult(ProductionFunctionResult):
    """A control-function production function: coefficients, elasticities, RTS, TFP, diagnostics."""

    tfp_growth: pd.Series | None = None
    warnings: tuple[str, ...] = ()
    elasticity_frame: pd.DataFrame | None = None
    rts_weights: tuple[float, ...] = ()

    @property
    def elasticities(self) -> pd.Series:
        """Output elasticities of the inputs (sample means when they vary by firm-year)."""
        if self.elasticity_frame is not None:
            return self.elasticity_frame.mean().rename("elasticity")
        return self.params[list(self.inputs)].rename("elasticity")

    @property
    def returns_to_scale(self) -> float:
        return float(np.asarray(self.rts_weights) @ self.coef)

    @property
    def returns_to_scale_se(self) -> float:
        a = np.asarray(self.rts_weights)
        return float(np.sqrt(a @ self.vcov @ a))

    def markups(self, data: Any, **kw: Any) -> pd.Series:
        """De Loecker–Warzynski markups from this fit's materials elasticity (see :mod:`.markups`)."""
        from .markups import markups

        return markups(self, data, **kw)


def crs_test(coef: np.ndarray, vcov: np.ndarray, a: np.ndarray) -> TestResult | None:
    var = float(a @ vcov @ a)
    if not np.isfinite(var) or var <= 0:
        return None
    w = float((a @ coef - 1.0) ** 2 / var)
    return TestResult("Constant returns to scale", w, float(stats.chi2.sf(w, 1)), 1, "chi2",
                      "sum of output elasticities = 1")


def range_warnings(elast: pd.Series, rts: float) -> list[str]:
    out = []
    lo, hi = ELASTICITY_RANGE
    for name, v in elast.items():
        if not lo <= v <= hi:
            out.append(f"output elasticity of {name} = {v:.3f} lies outside [{lo:g}, {hi:g}]")
    if not RTS_RANGE[0] <= rts <= RTS_RANGE[1]:
        out.append(f"returns to scale = {rts:.3f} lie outside [{RTS_RANGE[0]:g}, {RTS_RANGE[1]:g}]")
    return out


def monotone_warning(share_decreasing: float, proxy: Sequence[str]) -> list[str]:
    if share_decreasing > MONOTONE_TOLERANCE:
        return [f"proxy {', '.join(proxy)} is not monotone in productivity: the first stage decreases in it for "
                f"{100 * share_decreasing:.0f}% of firm-years (the control function needs it increasing)"]
    return []


def tfp_series(arrays: PanelArrays, ln_tfp: np.ndarray, label: str) -> tuple[pd.Series, pd.Series]:
    """Log TFP by firm-year and its growth over the firm's lag year (per year of the interval)."""
    key = label.lower().replace(" ", "_").replace("-", "_")
    lvl = pd.Series(ln_tfp, index=arrays.index, name=f"ln_tfp_{key}")
    gap = arrays.year - np.r_[np.nan, arrays.year[:-1]]
    growth = (ln_tfp - arrays.lag(ln_tfp)) / np.where(arrays.has_lag, gap, np.nan)
    return lvl, pd.Series(growth, index=arrays.index, name=f"tfp_growth_{key}")


def build_result(*, label: str, model: str, arrays: PanelArrays, names: Sequence[str], coef: np.ndarray,
                 vcov: np.ndarray, variance: VarianceInfo, inputs: Sequence[str], rts_weights: np.ndarray,
                 ln_tfp: np.ndarray, nobs: int, omitted: Sequence[Omitted] = (), used: np.ndarray | None = None,
                 elasticity_frame: pd.DataFrame | None = None, warnings: Sequence[str] = (),
                 stats_extra: Mapping[str, float] | None = None, notes: Sequence[str] = (),
                 extra: Mapping[str, Any] | None = None, df_resid: float | None = None,
                 tests: Mapping[str, TestResult] | None = None, predictable: bool = True
                 ) -> ControlFunctionResult:
    """Assemble the result, run the range diagnostics and the CRS test. ``predictable``: ``ln_tfp`` is
    :math:`y - \\sum_j \\theta_j t_j(x)` over the result's terms, so the technology predicts new data.

    Row accounting (every firm-year that reached the estimator is used or listed): ``omitted`` holds the rows
    :func:`~.control_function.panel_arrays` left out; ``used`` (a mask over ``arrays``' rows, default all) marks the
    firm-years the estimate uses when that is fewer than the panel's — Wooldridge's system needs each firm-year's
    lag — and the others are listed here as having no previous observation (or a missing lagged value), so that
    ``nobs`` + the listed omissions = the firm-years passed in."""
    coef = np.asarray(coef, dtype=float)
    omitted = list(omitted)
    if used is not None:
        used = np.asarray(used, dtype=bool)
        no_lag = int((~arrays.has_lag & ~used).sum())
        lag_missing = int((arrays.has_lag & ~used).sum())
        if no_lag:
            omitted.append(Omitted(arrays.lag_reason(), no_lag))
        if lag_missing:
            omitted.append(Omitted("lagged value missing (lag)", lag_missing))
        unused = no_lag + lag_missing
    else:
        unused = 0
    if int(nobs) != arrays.n - unused:
        raise ValueError(f"{label}: nobs={nobs} but {arrays.n - unused} firm-years are accounted as used "
                         f"({arrays.n} in the estimation arrays, {unused} listed as unused)")
    a = np.asarray(rts_weights, dtype=float)
    elast = (elasticity_frame.mean() if elasticity_frame is not None
             else pd.Series(coef[[list(names).index(i) for i in inputs]], index=list(inputs)))
    rts = float(a @ coef)
    warns = list(warnings) + range_warnings(elast, rts)
    test = crs_test(coef, vcov, a)
    rts_se = float(np.sqrt(a @ vcov @ a)) if np.all(np.isfinite(vcov)) else float("nan")
    lvl, growth = tfp_series(arrays, ln_tfp, label)
    t_counts = np.bincount(arrays.firm) if arrays.n else np.array([0])
    return ControlFunctionResult(
        model=model, estimator=label, depvar=arrays.names["output"][0], names=tuple(names), coef=coef,
        vcov=vcov, variance=variance, nobs=int(nobs), df_resid=df_resid, n_entities=arrays.n_firms,
        t_min=int(t_counts.min()), t_mean=float(t_counts.mean()), t_max=int(t_counts.max()),
        omitted=tuple(omitted), stats={"Returns to scale": rts, "Returns to scale (s.e.)": rts_se,
                                       **(stats_extra or {})},
        tests={**({"CRS": test} if test is not None else {}), **(tests or {})},
        notes=tuple(notes) + tuple(f"Warning: {w}" for w in warns), extra=dict(extra or {}),
        inputs=tuple(inputs), output=arrays.names["output"][0], method=label, tfp=lvl, tfp_growth=growth,
        warnings=tuple(warns), elasticity_frame=elasticity_frame, rts_weights=tuple(a), index=arrays.index,
        residuals=np.asarray(ln_tfp, dtype=float), fitted_values=arrays.y - ln_tfp,
        predictor=TechnologyPredictor(arrays.names["output"][0]) if predictable else None)
