"""Firm exit: the firm-year risk set and discrete-time hazard models (logit, complementary log-log).

Risk set (:func:`risk_set`). Time runs over the panel's observed years (every year for a census, the rounds for a
repeated survey). A firm enters the risk set at its first *observed* year f — not at founding: years before the
first interview are left-truncated, and the firm is known to have survived them only because it was sampled. Row
t (a grid year after f) is the interval (previous grid year, t]; ``exit`` = 1 in the first grid year at or after
the firm's exit year, the first year it no longer operates (``exit_year``, else the first row with
``active = False``); the firm leaves the risk set after that row. Firms that are not seen to exit stay at risk
until their last observed year (then censored); a firm that vanishes before the last survey year without an exit
record is treated as censored there (attrition) and counted in ``attrs["notes"]``. Covariates of row t are those
of the firm's last operating row before t (predetermined at the start of the interval); ``carried`` marks rows
whose covariates come from an earlier round than the previous grid year (a gap).

Duration dependence: ``duration`` is the firm's age at t (t − founding year, ``clock="age"``, the default when
``founding_year`` is known) or the years since its first observation (``clock="observed"``). Terms:
``"log"`` (ln duration), ``"dummies"`` (one per duration value, a non-parametric baseline), ``"poly2"``/``"poly3"``
(duration, duration², duration³ scaled by 10⁻² and 10⁻⁴ to keep the Hessian well conditioned) or ``None``.

Model (:func:`discrete_hazard`): h_it = P(exit in t | at risk) = F(x_it'β + g(duration)), F logistic or
1 − exp(−exp(·)) (cloglog: the grouped-time version of a proportional-hazards model, Prentice & Gloeckler 1978,
so β is comparable with Cox coefficients). Fitted by Newton–Raphson on the analytic score and observed Hessian
(statsmodels' GLM gives the same estimates but is several times slower on large risk sets); the covariance comes
from the observed Hessian and the scores (:mod:`clusterecon.estimators.fit`): ``"oim"`` by default, as Stata's
``logit``/``cloglog`` on a risk set; ``vcov="cluster"`` clusters by firm (G/(G−1)) — advisable, as the rows of one
firm are one spell, but not the default (before, it was: a default that surprised Stata users).

Exit models refuse a survivor-only panel (one interview with recall): firms that had closed were never surveyed.

References: Jenkins (1995), Oxford Bull. Econ. Stat. 57, 129–138; Allison (1982), Sociological Methodology 13.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from .design import Design, SpecificationError, build_design, panel_shape
from .errors import ConvergenceError
from .linear import cluster_columns, independent_columns
from .ml import maximize, ml_fit, ml_weighted_spec, positive_weights
from .predict import Predictor
from .results import EstimationResult, Omitted, build_result

DURATION_TERMS = {
    None: [],
    "log": ["log_duration"],
    "dummies": ["C(duration_group)"],
    "poly2": ["duration", "duration_sq"],
    "poly3": ["duration", "duration_sq", "duration_cu"],
}


def require_exit_design(panel: SurveyPanel) -> None:
    """Refuse a panel on which exits cannot be observed, with the panel's own explanation."""
    if not panel.design.can_study_exit:
        raise SpecificationError(f"exit cannot be modelled on this panel: {panel.design.explain_exit()}. Exit "
                                 "models need repeated rounds or a census (SurveyDesign(kind='rounds'|'census')).")


def risk_set(panel: SurveyPanel, *, clock: str | None = None, duration: str | None = "log") -> pd.DataFrame:
    """The firm-year risk set of ``panel`` for exit models (see the module docstring for the rules).

    Returns a DataFrame indexed by (firm_id, year) with the firm's predetermined covariates, ``exit`` (0/1),
    ``duration``, ``entry_year`` (first observed year), ``spell_start`` (previous grid year), ``carried``,
    ``event_year`` (the exit year on exit rows) and the duration-term columns. ``attrs["omitted"]`` lists firms
    left out and why; ``attrs["notes"]`` the conventions applied.

    Examples
    --------
    >>> from clusterecon.samples import sample_panel
    >>> rs = risk_set(sample_panel("garments"))
    >>> {"exit", "duration", "entry_year", "log_duration"} <= set(rs.columns), rs.attrs["clock"]
    (True, 'age')
    """
    if not isinstance(panel, SurveyPanel):
        raise TypeError("risk_set needs a SurveyPanel; for a DataFrame, build the risk set yourself with 'exit' and "
                        "'duration' columns")
    require_exit_design(panel)
    if duration not in DURATION_TERMS:
        raise SpecificationError(f"duration={duration!r}: use one of {list(DURATION_TERMS)}")
    frame = panel.frame.sort_index()
    has_found = "founding_year" in frame.columns and frame["founding_year"].notna().any()
    clock = clock or ("age" if has_found else "observed")
    if clock not in ("age", "observed"):
        raise SpecificationError(f"clock={clock!r}: use 'age' (years since founding) or 'observed' (years since the "
                                 "first observation)")
    if clock == "age" and not has_found:
        raise SpecificationError("clock='age' needs founding_year; use clock='observed'")
    grid = np.array(sorted(set(panel.design.survey_years) | set(panel.years)))
    f = _firm_spells(frame, grid, clock)
    rs = _risk_rows(frame, grid, f)
    _attach_attrs(rs, f, clock)
    return rs


def _firm_spells(frame: pd.DataFrame, grid: np.ndarray, clock: str) -> dict:
    """Per-firm scalars, vectorised (a loop over firms costs seconds on a census of a few thousand firms): first and
    last operating year, exit year, clock origin, and which firms are left out or attrited."""
    last_grid = int(grid.max())
    years = frame.index.get_level_values("year").to_numpy().astype("int64")
    operating = np.ones(len(frame), dtype=bool)
    if "active" in frame.columns:
        operating = frame["active"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    exit_col = frame["exit_year"] if "exit_year" in frame.columns else pd.Series(pd.NA, index=frame.index)
    codes, uniq = pd.factorize(frame.index.get_level_values("firm_id"), sort=True)
    G, yf = len(uniq), years.astype(float)
    f_op = np.full(G, np.inf)
    np.minimum.at(f_op, codes[operating], yf[operating])
    never = ~np.isfinite(f_op)
    last_op = np.full(G, -np.inf)
    np.maximum.at(last_op, codes[operating], yf[operating])
    E = _first_by_firm(codes, pd.to_numeric(pd.Series(exit_col.to_numpy(), dtype="object"), errors="coerce")
                       .to_numpy(dtype=float), G)
    closed = ~operating & (yf > f_op[codes])
    c_first = np.full(G, np.inf)
    np.minimum.at(c_first, codes[closed], yf[closed])
    E = np.where(np.isnan(E) & np.isfinite(c_first), c_first, E)
    bad_exit = ~never & np.isfinite(E) & (E <= f_op)
    origin = (_first_by_firm(codes, pd.to_numeric(frame["founding_year"], errors="coerce").to_numpy(dtype=float), G)
              if clock == "age" else f_op.copy())
    no_found = ~never & ~bad_exit & np.isnan(origin)
    # a founding year after the first observation is a data error (the validator flags it); keep it out of the clock
    late_found = ~never & ~bad_exit & ~no_found & (origin > f_op)
    no_found |= late_found
    E = np.where(E > last_grid, np.nan, E)  # exits after the last grid year are censored at the last grid year
    exits = np.isfinite(E)
    end = np.where(exits, grid[np.minimum(np.searchsorted(grid, np.nan_to_num(E, nan=0.0), "left"),
                                          len(grid) - 1)], last_op)
    return {"codes": codes, "uniq": uniq, "yf": yf, "operating": operating, "f_op": f_op, "E": E, "exits": exits,
            "end": end, "origin": origin, "never": never, "bad_exit": bad_exit, "no_found": no_found,
            "late_found": late_found, "use": ~never & ~bad_exit & ~no_found,
            "attr": ~never & ~exits & (last_op < last_grid) & ~bad_exit & ~no_found}


def _first_by_firm(codes: np.ndarray, values: np.ndarray, G: int) -> np.ndarray:
    """The first non-missing value of each firm (NaN if none)."""
    out = np.full(G, np.nan)
    ok = np.isfinite(values)
    first = pd.Series(values[ok]).groupby(codes[ok]).first()
    out[first.index.to_numpy()] = first.to_numpy()
    return out


def _risk_rows(frame: pd.DataFrame, grid: np.ndarray, f: dict) -> pd.DataFrame:
    """One row per firm and grid year at risk, with the covariates of the firm's last operating row before it."""
    big = float(grid.max() + 1)
    use, f_op = f["use"], f["f_op"]
    lo = np.searchsorted(grid, np.where(use, f_op, big), "right")
    hi = np.where(use, np.searchsorted(grid, np.where(use, f["end"], 0.0), "right"), lo)
    counts = np.maximum(hi - lo, 0)
    if counts.sum() == 0:
        raise SpecificationError("no firm is ever at risk: each firm is observed in one grid year only, or has "
                                 "inconsistent exit years")
    fid = np.repeat(np.arange(len(f_op)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    ts = grid[np.repeat(lo, counts) + within]
    prev = np.where(within == 0, f_op[fid], grid[np.maximum(np.repeat(lo, counts) + within - 1, 0)])
    # covariates: the firm's last operating row strictly before t
    op_pos = np.flatnonzero(f["operating"])
    keys = f["codes"][op_pos] * big + f["yf"][op_pos]
    srt = np.argsort(keys, kind="stable")
    op_pos, keys = op_pos[srt], keys[srt]
    src = op_pos[np.searchsorted(keys, fid * big + ts, "left") - 1]
    rs = frame.iloc[src].copy()
    rs.index = pd.MultiIndex.from_arrays([pd.Index(f["uniq"]).take(fid), ts.astype("int64")],
                                         names=["firm_id", "year"])
    last_row = np.r_[fid[1:] != fid[:-1], True]
    rs["exit"] = (last_row & f["exits"][fid]).astype(float)
    # the exit year itself (between rounds, the risk-set row is the first round at or after it): Cox uses it
    rs["event_year"] = np.where(rs["exit"].to_numpy() == 1.0, f["E"][fid], np.nan)
    rs["entry_year"] = f_op[fid].astype("int64")
    rs["spell_start"] = prev.astype("int64")
    rs["carried"] = f["yf"][src] < prev
    rs["duration"] = (ts - f["origin"][fid]).astype(float)
    if "active" in rs.columns:
        rs = rs.drop(columns=["active"])
    rs["log_duration"] = np.log(rs["duration"].clip(lower=1e-12))
    rs["duration_sq"] = rs["duration"] ** 2 / 100.0
    rs["duration_cu"] = rs["duration"] ** 3 / 1e4
    return rs


def _attach_attrs(rs: pd.DataFrame, f: dict, clock: str) -> None:
    """``attrs["omitted"]`` (firms left out, with reasons) and ``attrs["notes"]`` (conventions applied)."""
    n_never, n_bad_exit, n_nofound, n_attr, n_late = (
        int(f[k].sum()) for k in ("never", "bad_exit", "no_found", "attr", "late_found"))
    omitted = []
    if n_never:
        omitted.append(Omitted("firms never observed operating", n_never))
    if n_bad_exit:
        omitted.append(Omitted("firms with an exit year at or before their first observed year", n_bad_exit))
    if n_nofound - n_late:
        omitted.append(Omitted("firms without founding_year (clock='age')", n_nofound - n_late))
    if n_late:
        omitted.append(Omitted("firms founded after their first observed year (clock='age')", n_late))
    notes = [f"Risk set: {rs.index.get_level_values(0).nunique()} firms, {len(rs)} firm-periods, "
             f"{int(rs['exit'].sum())} exits; clock = {clock}; firms enter at their first observed year "
             "(left truncation)."]
    if n_attr:
        notes.append(f"{n_attr} firms leave the panel before the last survey year without an exit record: treated "
                     "as censored at their last observed year (attrition).")
    if rs["carried"].any():
        notes.append(f"{int(rs['carried'].sum())} firm-periods use covariates carried from an earlier round (gap).")
    rs.attrs.update(omitted=tuple(omitted), notes=tuple(notes), clock=clock)


def _with_duration_groups(rs: pd.DataFrame, event: str) -> tuple[pd.DataFrame, int]:
    """Group duration values so that every group has at least one exit (ascending; an exit-free tail joins the
    last group). Each group is labelled by its smallest duration."""
    dur = rs["duration"].to_numpy(dtype=float)
    ev = pd.to_numeric(rs[event], errors="coerce").fillna(0).to_numpy(dtype=float)
    vals = np.unique(dur[np.isfinite(dur)])
    exits = pd.Series(ev).groupby(dur).sum().reindex(vals, fill_value=0).to_numpy()
    label, start, acc = {}, None, 0.0
    closed: list[float] = []
    pending: list[float] = []
    for v, e in zip(vals, exits):
        start = v if start is None else start
        pending.append(v)
        acc += e
        if acc > 0:
            label.update({p: start for p in pending})
            closed.append(start)
            start, acc, pending = None, 0.0, []
    for p in pending:  # exit-free tail
        label[p] = closed[-1] if closed else p
    groups = pd.Series(dur).map(label).to_numpy()
    return rs.assign(duration_group=groups), int(len(vals) - len(set(label.values())))


def _hazard_formula(formula: str, event: str, duration: str | None) -> str:
    lhs, _, rhs = formula.partition("~")
    if not _:
        raise SpecificationError(f"formula {formula!r} needs a '~', e.g. '~ manager_schooling_years + is_spinoff'")
    lhs = lhs.strip() or event
    terms = [t for t in DURATION_TERMS[duration] if t not in rhs]
    return f"{lhs} ~ {rhs.strip()}" + "".join(f" + {t}" for t in terms)


def discrete_hazard(data: SurveyPanel | pd.DataFrame, formula: str, *, link: str = "logit",
                    duration: str | None = "log", clock: str | None = None, vcov: str | None = None,
                    cluster: str | Sequence[str] | None = None, event: str = "exit", maxiter: int = 100,
                    weights: str | None = None, weights_type: str = "pweight") -> EstimationResult:
    """Discrete-time hazard of exit: GLM Binomial with logit or cloglog link on the firm-year risk set.

    Parameters
    ----------
    data : SurveyPanel (the risk set is built by :func:`risk_set`) or a (firm, year)-indexed DataFrame that already
        is a risk set, with the ``event`` column (0/1) and, when ``duration`` terms are requested, ``duration``.
    formula : ``"~ x1 + x2"`` (the event is ``exit``) or ``"exit ~ x1 + x2"``.
    link : ``"logit"`` or ``"cloglog"``.
    duration : duration-dependence terms added to the formula: ``"log"``, ``"dummies"``, ``"poly2"``, ``"poly3"``,
        ``None``.
    vcov : ``"oim"`` (default, as Stata), ``"cluster"`` (by firm unless ``cluster`` names a variable; advisable:
        a firm's rows are one spell), ``"robust"``, ``"hc0"``, ``"opg"``.
    weights, weights_type : a column of sampling weights (``"pweight"``, Stata ``logit/cloglog [pw=w]``):
        maximises Σ wᵢℓᵢ with the robust variance (cluster if ``cluster`` is named), as Stata forces for
        pweights: V = c·H⁻¹(Σ wᵢ²sᵢsᵢ')H⁻¹ with H the weighted Hessian, c = N/(N−1) (or G/(G−1) clustered).
        Zero weights are left out and counted. Stratified surveys (e.g. size terciles) need them for
        population hazards.

    Returns
    -------
    EstimationResult (normal inference) with the number of exits and firm-periods in ``stats``; ``fitted`` the
    hazard h_it, ``resid`` = exit − h_it, ``predict(newdata)`` the hazard (``kind="xb"`` the index).

    References
    ----------
    Jenkins (1995), Oxford Bull. Econ. Stat. 57; Allison (1982), Sociological Methodology 13; Prentice and
    Gloeckler (1978), Biometrics 34.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(6)
    >>> rows = [(f, t, x) for f, x in zip(range(300), rng.normal(size=300)) for t in range(1, 6)]
    >>> rs = pd.DataFrame(rows, columns=["firm_id", "year", "x"]).set_index(["firm_id", "year"])
    >>> rs["duration"] = rs.index.get_level_values("year").astype(float)
    >>> rs["exit"] = (rng.random(len(rs)) < 1 / (1 + np.exp(2.5 - 0.8 * rs.x))).astype(float)
    >>> rs = rs[rs.groupby(level=0)["exit"].cumsum().groupby(level=0).shift(fill_value=0) == 0]
    >>> r = discrete_hazard(rs, "~ x", duration=None)
    >>> r.variance.kind, bool(abs(r.params["x"] - 0.8) < 3 * r.std_errors["x"])
    ('oim', True)
    """
    if link not in ("logit", "cloglog"):
        raise SpecificationError(f"link={link!r}: use 'logit' or 'cloglog'")
    spec, wnotes = ml_weighted_spec(vcov, cluster, weights=weights, weights_type=weights_type,
                                    estimator="discrete_hazard")
    if duration not in DURATION_TERMS:
        raise SpecificationError(f"duration={duration!r}: use one of {list(DURATION_TERMS)}")
    rs, pre_omitted, notes = _risk_frame(data, clock, duration, event)
    f = _hazard_formula(formula, event, duration)
    d = build_design(rs, f, extra=(*cluster_columns(rs, spec.clusters), *([weights] if weights else [])))
    d, w, _ = positive_weights(d, weights)
    _check_event(d, f)
    lik = _BinomialLik(d.y, d.X, link, w)
    fit = maximize(lik.loglik, lik.grad, lik.start(), hessian=lik.hessian, what=f"discrete_hazard ({link})",
                   maxiter=maxiter, advice="Look for a regressor that predicts exit perfectly, rescale regressors, "
                                           "or simplify the duration terms.")
    params, H = fit.theta, fit.hessian
    se = np.sqrt(np.maximum(np.diag(np.linalg.inv(-H)), 0))
    rms = np.sqrt((d.X * d.X).mean(0))  # judged on the index scale b·rms(x): units do not make a coefficient big
    big = [n for n, b, e, r in zip(d.names, params, se, rms) if abs(b) * r > 15 or e * r > 1e4]
    if big:
        raise ConvergenceError(f"coefficients of {big} diverge (|b| > 15 or huge SE): those regressors predict exit "
                               "(or survival) perfectly in some category; drop or merge them")
    h = lik.mean(params)
    return build_result(
        ml_fit(d, spec, H, lik.scores(params)), spec, model=f"Discrete-time hazard ({link})",
        estimator=f"binomial {link} (maximum likelihood, Newton)"
        + (f", sampling weights {weights}" if w is not None else ""), depvar=d.depvar, names=d.names, coef=params,
        nobs=len(d.y), df_resid=float(len(d.y) - len(params)), formula=f, loglik=lik.loglik(params),
        omitted=(*pre_omitted, *d.omitted), **panel_shape(d.index),
        stats={"Exits": int(d.y.sum()), "Firm-periods at risk": len(d.y)},
        notes=(*wnotes, *notes,
               f"Duration dependence: {duration or 'none'}; cloglog coefficients are proportional-hazard "
               "log hazard ratios" if link == "cloglog" else
               f"Duration dependence: {duration or 'none'}; coefficients are log odds of exit."),
        index=d.index, residuals=d.y - h, fitted_values=h, predictor=Predictor(d.terms, link=link, kinds=("pr",)),
        extra={"link": link, "duration": duration, "iterations": fit.iterations, "weights": weights})


def _risk_frame(data: Any, clock: str | None, duration: str | None, event: str) -> tuple[pd.DataFrame, tuple, list]:
    """The risk set (built from a SurveyPanel, or a DataFrame that is one) with the duration-term columns."""
    pre_omitted: tuple[Omitted, ...] = ()
    notes: list[str] = []
    if isinstance(data, SurveyPanel):
        rs = risk_set(data, clock=clock, duration=duration)
        pre_omitted, notes = rs.attrs["omitted"], list(rs.attrs["notes"])
    elif isinstance(data, pd.DataFrame):
        rs = data
        need = [event] + (["duration"] if duration is not None else [])
        miss = [c for c in need if c not in rs.columns]
        if miss:
            raise SpecificationError(
                f"a DataFrame passed to discrete_hazard must already be a firm-period risk set with columns "
                f"{need}; missing {miss}. Pass a SurveyPanel to have the risk set built (risk_set(panel)).")
        if duration == "log":
            rs = rs.assign(log_duration=np.log(rs["duration"].astype(float)))
        elif duration in ("poly2", "poly3"):
            rs = rs.assign(duration_sq=rs["duration"] ** 2 / 100.0, duration_cu=rs["duration"] ** 3 / 1e4)
    else:
        raise TypeError(f"expected a SurveyPanel or a DataFrame, got {type(data).__name__}")
    if duration == "dummies":
        rs, merged = _with_duration_groups(rs, event)
        if merged:
            notes.append(f"Duration dummies: {merged} duration values without exits pooled with their neighbours "
                         "(a dummy with no exits has no finite estimate).")
    return rs, pre_omitted, notes


def _check_event(d: Design, f: str) -> None:
    vals = set(np.unique(d.y).tolist())
    if not vals <= {0.0, 1.0}:
        raise SpecificationError(f"the event column {d.depvar!r} must be 0/1; found {sorted(vals)[:10]}")
    if len(vals) < 2:
        raise SpecificationError(f"{d.depvar!r} is {int(d.y[0])} in every firm-period: no variation to estimate a "
                                 "hazard (no exits observed, or every row is an exit)")
    if len(independent_columns(d.X)) < d.X.shape[1]:  # unit-free rank test
        raise SpecificationError(f"the regressors of {f!r} are collinear; drop one of {list(d.names)}")


class _BinomialLik:
    """Binary GLM with logit or cloglog link: log-likelihood, score and observed Hessian in closed form.

    Written here rather than calling statsmodels' GLM because its IRLS solves a least-squares problem by SVD at
    every iteration: on 74,909 firm-periods × 44 columns (duration dummies) it took 7.8–9.7 s against 0.9–2.2 s
    for Newton steps on X'WX, same machine and run. The tests check equality with statsmodels' GLM (logit and
    cloglog) to 1e-7. Sampling weights ``w`` multiply each observation's log-likelihood, score and Hessian term.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, link: str, w: np.ndarray | None = None):
        self.y, self.X, self.link = y, X, link
        self.w = np.ones(len(y)) if w is None else w

    def start(self) -> np.ndarray:
        b = np.zeros(self.X.shape[1])
        ybar = float(np.clip(np.average(self.y, weights=self.w), 1e-6, 1 - 1e-6))
        const = np.flatnonzero(np.all(self.X == 1.0, axis=0))
        if const.size:
            b[const[0]] = np.log(ybar / (1 - ybar)) if self.link == "logit" else np.log(-np.log1p(-ybar))
        return b

    def _parts(self, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        from scipy.special import expit, log_expit

        y, w, eta = self.y, self.w, np.clip(self.X @ b, -700, 700)
        if self.link == "logit":
            p = expit(eta)
            return float(np.sum(w * (y * log_expit(eta) + (1 - y) * log_expit(-eta)))), w * (y - p), w * p * (1 - p)
        mu = np.exp(np.minimum(eta, 50))
        p = -np.expm1(-mu)
        ratio = np.where(y == 1, mu * (1 - p) / np.maximum(p, 1e-300), 0.0)
        ll = float(np.sum(w * (y * np.log(np.maximum(p, 1e-300)) - (1 - y) * mu)))
        # observed information weight: −∂²ℓ/∂η²
        return ll, w * np.where(y == 1, ratio, -mu), w * np.where(y == 1, ratio * (mu / np.maximum(p, 1e-300) - 1),
                                                                  mu)

    def loglik(self, b: np.ndarray) -> float:
        return self._parts(b)[0]

    def grad(self, b: np.ndarray) -> np.ndarray:
        return self.X.T @ self._parts(b)[1]

    def hessian(self, b: np.ndarray) -> np.ndarray:
        return -(self.X.T * self._parts(b)[2]) @ self.X

    def scores(self, b: np.ndarray) -> np.ndarray:
        return self._parts(b)[1][:, None] * self.X

    def mean(self, b: np.ndarray) -> np.ndarray:
        from .predict import MEANS

        return MEANS[self.link](self.X @ b)


__all__ = ["risk_set", "discrete_hazard", "require_exit_design"]
