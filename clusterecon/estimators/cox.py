"""Cox proportional hazards for firm exit, with left truncation (delayed entry) and Breslow/Efron ties.

Model: h_i(t) = h_0(t) exp(x_i'β), estimated by maximising the partial likelihood over risk sets
R(t) = {i : entry_i < t ≤ stop_i}. A firm enters its risk sets at its first *observed* age (or time), not at
founding: a firm first interviewed at age 12 says nothing about exits at ages below 12 (it was sampled because it
had survived them), and letting it into those risk sets biases hazards towards zero (survivor bias). Ties in exit
years (the rule in annual data) are handled by Efron's approximation (default) or Breslow's.

From a SurveyPanel the spells come from :func:`clusterecon.estimators.hazard.risk_set` (same rules as the discrete
hazard): with ``clock="age"`` a firm is at risk from (first observed year − founding year) to (exit year −
founding year) — the recorded exit year, also when it falls between survey rounds — or to its last observed year
if it does not exit. ``time_varying=False`` (default) uses each
firm's covariates at its first observed year; ``time_varying=True`` splits the spell into the risk-set periods
(previous grid year, year], each with the covariates predetermined at its start (counting-process form), and
clusters the variance by firm.

The partial likelihood, score and Hessian are statsmodels ``PHReg``'s (``entry=``, ``ties=``), maximised by
:func:`clusterecon.estimators.ml.maximize`; the covariance is −H⁻¹ (``vcov="oim"``, default as Stata ``stcox`` and
R ``coxph``) or the sandwich H⁻¹(ΣUᵢUᵢ')H⁻¹ with the score residuals Uᵢ of :func:`score_residuals`
(Efron-weighted when ties are Efron; statsmodels' own are Breslow-only): ``"robust"`` ×N/(N−1), ``"cluster"`` by
firm ×G/(G−1)
(the default when ``time_varying=True``). R's ``coxph(..., cluster=id)`` applies no such factor: multiply by
(G−1)/G to compare. Exit models refuse a survivor-only panel.

Reference: Cox (1972), JRSS B 34, 187–220; Efron (1977), JASA 72, 557–565; Kalbfleisch & Prentice (2002), §6.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from .design import SpecificationError, build_design, panel_shape
from .errors import ConvergenceError
from .hazard import risk_set
from .linear import cluster_columns
from .ml import maximize, ml_fit, ml_spec
from .predict import Predictor
from .results import EstimationResult, TestResult, build_result


def _spells(panel: SurveyPanel, clock: str | None, time_varying: bool) -> tuple[pd.DataFrame, tuple, tuple]:
    rs = risk_set(panel, clock=clock, duration=None)
    origin = rs.index.get_level_values("year").to_numpy() - rs["duration"].to_numpy()  # founding or first year
    start = rs["spell_start"].to_numpy() - origin
    # an exit between survey rounds happens in its exit year, not at the next round
    stop = np.where(rs["exit"].to_numpy() == 1.0, rs["event_year"].to_numpy(),
                    rs.index.get_level_values("year").to_numpy()) - origin
    sp = rs.assign(_start=start.astype(float), _stop=stop.astype(float), _event=rs["exit"].to_numpy())
    if not time_varying:
        g = sp.groupby(level="firm_id", sort=False, observed=True)
        first = g.head(1).copy()
        first["_stop"] = g["_stop"].max().reindex(first.index.get_level_values(0)).to_numpy()
        first["_event"] = g["_event"].max().reindex(first.index.get_level_values(0)).to_numpy()
        # index (firm, first observed year): the covariates are those of that year
        first.index = pd.MultiIndex.from_arrays(
            [first.index.get_level_values(0), first["entry_year"].to_numpy()], names=["firm_id", "year"])
        sp = first
    return sp, rs.attrs["omitted"], rs.attrs["notes"]


def cox(data: SurveyPanel | pd.DataFrame, formula: str, *, ties: str = "efron", clock: str | None = None,
        time_varying: bool = False, vcov: str | None = None, cluster: str | Sequence[str] | None = None,
        duration: str = "duration", event: str = "event", entry: str | None = "entry",
        maxiter: int = 100) -> EstimationResult:
    """Cox proportional-hazards regression of firm exit with delayed entry.

    Parameters
    ----------
    data : SurveyPanel (spells built from its risk set) or a DataFrame with one row per spell and the columns
        ``duration`` (exit or censoring time), ``event`` (1 = exit) and, for delayed entry, ``entry`` (time at which
        the spell enters the risk set; set ``entry=None`` if all start at 0). A DataFrame without a (firm, year)
        index is numbered row by row (each row its own cluster).
    formula : ``"~ x1 + x2"`` (no constant: the baseline hazard absorbs it).
    ties : ``"efron"`` (default, as R ``coxph``) or ``"breslow"`` (Stata ``stcox`` default).
    clock : ``"age"`` or ``"observed"`` for a SurveyPanel (default age when founding years are known).
    time_varying : split spells into risk-set periods with predetermined covariates (SurveyPanel only).
    vcov : ``"oim"`` (default), ``"robust"`` (= ``"hc1"``), ``"hc0"``, ``"opg"`` or ``"cluster"`` (default with
        ``time_varying=True``; by firm unless ``cluster`` names a variable).

    Returns
    -------
    EstimationResult: log hazard ratios (``params``; ``np.exp`` for hazard ratios), normal inference, the log
    partial likelihood in ``loglik``, exits and firms at risk in ``stats``, LR test of all β = 0 in ``tests``;
    ``fitted`` and ``predict(newdata)`` the relative hazard exp(x'b) (``kind="xb"``: x'b).

    References
    ----------
    Cox (1972), JRSS B 34; Efron (1977), JASA 72; Kalbfleisch and Prentice (2002), §6; StataCorp, [ST] stcox.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> x = rng.normal(size=300)
    >>> t = rng.exponential(1 / np.exp(0.7 * x))
    >>> df = pd.DataFrame({"x": x, "duration": np.minimum(t, 2.0), "event": (t < 2.0).astype(float)})
    >>> r = cox(df, "~ x", entry=None)
    >>> bool(abs(r.params["x"] - 0.7) < 3 * r.std_errors["x"]), r.variance.kind
    (True, 'oim')
    """
    if ties not in ("efron", "breslow"):
        raise SpecificationError(f"ties={ties!r}: use 'efron' or 'breslow'")
    spec = ml_spec(vcov or ("cluster" if time_varying else "oim"), cluster, estimator="cox")
    sp, pre_omitted, notes = _spell_frame(data, clock, time_varying, duration, event, entry)
    rhs = formula.partition("~")[2].strip() if "~" in formula else formula.strip()
    if not rhs:
        raise SpecificationError(f"formula {formula!r} has no regressors")
    d, X, names, start, stop, ev = _cox_design(sp, rhs, spec)
    model, params, H, iters = _fit_partial(start, stop, ev, X, names, ties, maxiter)
    ll, ll0 = float(model.loglike(params)), float(model.loglike(np.zeros_like(params)))
    lr = 2 * (ll - ll0)
    rec = ml_fit(d, spec, H, _ScoreResiduals(start, stop, ev, X, params, ties))
    hr = np.exp(X @ params)
    return build_result(
        rec, spec, model="Cox proportional hazards (delayed entry)", estimator=f"partial likelihood, {ties} ties",
        depvar="hazard of exit", names=names, coef=params, nobs=len(ev), df_resid=float(len(ev) - len(params)),
        formula=rhs, loglik=ll, omitted=(*pre_omitted, *d.omitted), **panel_shape(d.index),
        stats={"Exits": int(ev.sum()), "Units at risk": int(pd.Index(d.index.get_level_values(0)).nunique()),
               "Time at risk": float((stop - start).sum())},
        tests={"lr": TestResult("LR", lr, float(stats.chi2.sf(lr, len(params))), len(params), "chi2",
                                "all log hazard ratios are zero")},
        notes=(*notes, "Coefficients are log hazard ratios; spells enter the risk set at their entry time (left "
                       "truncation)."),
        index=d.index, fitted_values=hr, predictor=Predictor(d.terms, link="exp", kinds=("hr",), columns=names),
        extra={"ties": ties, "time_varying": time_varying, "iterations": iters})


def _spell_frame(data: Any, clock: str | None, time_varying: bool, duration: str, event: str,
                 entry: str | None) -> tuple[pd.DataFrame, tuple, list]:
    """Spells with ``_start``, ``_stop``, ``_event`` from a SurveyPanel's risk set or a DataFrame of spells."""
    if isinstance(data, SurveyPanel):
        sp, pre_omitted, nts = _spells(data, clock, time_varying)
        return sp, pre_omitted, list(nts)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a SurveyPanel or a DataFrame, got {type(data).__name__}")
    if time_varying:
        raise SpecificationError("time_varying=True builds spells from a SurveyPanel; a DataFrame should already "
                                 "hold one row per (start, stop] spell with its covariates")
    need = [c for c in (duration, event, entry) if c is not None]
    miss = [c for c in need if c not in data.columns]
    if miss:
        raise SpecificationError(f"columns {miss} not found: a DataFrame passed to cox needs the exit/censoring "
                                 f"time ({duration!r}), the event indicator ({event!r}) and, for delayed entry, "
                                 f"the entry time ({entry!r}; entry=None if none)")
    sp = data
    if not (isinstance(sp.index, pd.MultiIndex) and sp.index.nlevels == 2 and sp.index.is_unique):
        sp = sp.reset_index(drop=True)
        sp.index = pd.MultiIndex.from_arrays([np.arange(len(sp)), np.zeros(len(sp), dtype=int)],
                                             names=["row", "spell"])
    sp = sp.assign(_start=sp[entry].astype(float) if entry else 0.0, _stop=sp[duration].astype(float),
                   _event=sp[event].astype(float))
    return sp, (), []


def _cox_design(sp: pd.DataFrame, rhs: str, spec: Any) -> tuple:
    extra = list(dict.fromkeys(["_start", "_stop", *cluster_columns(sp, spec.clusters)]))
    d = build_design(sp, f"_event ~ {rhs}", extra=extra)
    keep = [j for j, nm in enumerate(d.names) if nm != "Intercept"]
    X, names = d.X[:, keep], tuple(d.names[j] for j in keep)
    start, stop, ev = d.extra["_start"].to_numpy(dtype=float), d.extra["_stop"].to_numpy(dtype=float), d.y
    vals = set(np.unique(ev).tolist())
    if not vals <= {0.0, 1.0}:
        raise SpecificationError(f"the event indicator must be 0/1; found {sorted(vals)[:10]}")
    bad = stop <= start
    if bad.any():
        rows = [tuple(r) for r in d.index[bad][:5]]
        raise SpecificationError(f"{int(bad.sum())} spells end at or before they enter the risk set (e.g. {rows}); "
                                 "exit/censoring time must exceed the entry time")
    if ev.sum() == 0:
        raise SpecificationError("no exits in the data: the Cox partial likelihood has no information")
    return d, X, names, start, stop, ev


def _fit_partial(start, stop, ev, X, names, ties: str, maxiter: int) -> tuple:
    """statsmodels ``PHReg`` supplies the partial likelihood, its score and Hessian; :func:`.ml.maximize` runs
    Newton from β = 0. A diverging coefficient (monotone likelihood) is refused with its name."""
    import statsmodels.api as sm  # noqa: F401  (loads the duration submodule's dependencies)
    from statsmodels.duration.hazard_regression import PHReg

    # Risk set at an exit time t: start < t ≤ stop (R survival, Stata). PHReg keeps a spell entering exactly at t
    # in that risk set; moving entries up by far less than the smallest gap between distinct times restores the
    # strict inequality (it matters for split spells and annual data, where entries coincide with exit times).
    times = np.unique(np.r_[start, stop])
    eps = 1e-6 * float(np.diff(times).min()) if times.size > 1 else 0.0
    model = PHReg(stop, X, status=ev, entry=start + eps, ties=ties)
    msg = ("a regressor orders the exits perfectly within their risk sets (monotone likelihood); drop or merge it, "
           "or pool categories.")
    try:
        fit = maximize(model.loglike, model.score, np.zeros(X.shape[1]), hessian=model.hessian,
                       what="Cox partial likelihood", maxiter=maxiter, advice=msg)
    except ConvergenceError as exc:
        big = [n for n, v in zip(names, np.abs(X).max(axis=0)) if v > 0]
        raise ConvergenceError(f"{exc} Regressors: {big}") from None
    spread = np.abs(fit.theta) * X.std(axis=0)
    if (spread > 10).any():
        big = [n for n, v in zip(names, spread) if v > 10]
        raise ConvergenceError(f"Cox partial likelihood did not converge (diverging: {big}): {msg}")
    return model, fit.theta, fit.hessian, fit.iterations


@dataclass(frozen=True)
class _ScoreResiduals:
    """The score residuals of :func:`score_residuals`, computed when a sandwich variance asks for them."""

    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    X: np.ndarray
    beta: np.ndarray
    ties: str

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = score_residuals(self.start, self.stop, self.event, self.X, self.beta, self.ties)
        return out if dtype is None else out.astype(dtype)


def score_residuals(start: np.ndarray, stop: np.ndarray, event: np.ndarray, X: np.ndarray, beta: np.ndarray,
                    ties: str = "efron") -> np.ndarray:
    """Per-spell score residuals Uᵢ of the Cox partial likelihood (they sum to the score), for the sandwich.

    At each exit time t with d tied exits the Efron denominator is split into d parts k = 0..d−1,
    S0ₖ = S0 − (k/d)·S0_dead, x̄ₖ = (S1 − (k/d)·S1_dead)/S0ₖ; a spell at risk gets −rᵢΣₖ wᵢₖ(xᵢ − x̄ₖ)/S0ₖ with
    wᵢₖ = 1 − k/d for the exiting spells and 1 otherwise, and each exiting spell adds xᵢ − (1/d)Σₖ x̄ₖ (R
    ``residuals(coxph, "score")``). Breslow is the case wᵢₖ = 1, S0ₖ = S0. Risk set: start < t ≤ stop.
    statsmodels' ``score_residuals`` use Breslow weights whatever the ties, hence this function.
    """
    r = np.exp(X @ beta)
    U = np.zeros_like(X, dtype=float)
    for t in np.unique(stop[event == 1]):
        risk = (start < t) & (stop >= t)
        dead = risk & (stop == t) & (event == 1)
        d = int(dead.sum())
        rr, xr = r[risk], X[risk]
        s0, s1 = rr.sum(), rr @ xr
        s0d, s1d = r[dead].sum(), r[dead] @ X[dead]
        frac = np.arange(d) / d if ties == "efron" else np.zeros(d)
        S0k = s0 - frac * s0d                                  # (d,)
        Xbar = (s1[None, :] - frac[:, None] * s1d[None, :]) / S0k[:, None]  # (d, p)
        # non-exiting spells in the risk set: weight 1 in every part
        c0 = (1.0 / S0k).sum()
        c1 = (Xbar / S0k[:, None]).sum(0)
        U[risk] -= r[risk][:, None] * (X[risk] * c0 - c1)
        # exiting spells: correct the weight to 1 − k/d and add the event term
        w = 1.0 - frac
        cd0 = ((w - 1.0) / S0k).sum()
        cd1 = (((w - 1.0) / S0k)[:, None] * Xbar).sum(0)
        U[dead] -= r[dead][:, None] * (X[dead] * cd0 - cd1)
        U[dead] += X[dead] - Xbar.mean(0)
    return U


__all__ = ["cox", "score_residuals"]
