"""Arellano–Bond difference GMM and Blundell–Bond system GMM for dynamic panels, as xtabond2 computes them.

Model: yᵢₜ = Σₗ αₗ yᵢ,ₜ₋ₗ + xᵢₜ'β + ηᵢ + vᵢₜ with few periods and many firms. Difference GMM (Arellano and Bond
1991) removes ηᵢ by first differences or forward orthogonal deviations and instruments the transformed equation with
lagged levels; system GMM (Arellano and Bover 1995; Blundell and Bond 1998) stacks the level equation, instrumented
with lagged differences.

The pieces, each in its own module: the estimation sample (formula, grids, stacked rows, rows left out) in
:mod:`.gmm_sample`; the instruments in :mod:`.gmm_instruments`; one- and two-step GMM, the variances (classical,
clustered, Windmeijer) and their covariance-registry entry in :mod:`.gmm_estimation`; the Arellano–Bond, Sargan,
Hansen and difference-in-Hansen tests in :mod:`.gmm_spectests`. This module holds the user-facing functions, the
result (with ``with_vcov`` re-expressing the variance and the tests together) and prediction on new data.

The instrument count is printed next to the number of firms; more instruments than firms draws a warning (Roodman
2009b: instrument proliferation overfits the endogenous variables and weakens the Hansen test).

References: Arellano and Bond (1991), Review of Economic Studies 58: 277–297; Blundell and Bond (1998), Journal of
Econometrics 87: 115–143; Windmeijer (2005), Journal of Econometrics 126: 25–51; Roodman (2009), "How to do
xtabond2", Stata Journal 9(1): 86–136.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from .design import SpecificationError, as_panel_frame
from .gmm_estimation import GMM_KINDS, GMMFit, estimate, firm_clusters
from .gmm_instruments import GMMStyle, IVStyle, PanelGrid, first_difference, shift, term_name
from .gmm_sample import GMMSample, build_sample, omitted_rows, parse_formula
from .gmm_spectests import ar_pieces, spec_tests
from .results import EstimationResult, TestResult, build_result
from .variance import VarianceSpec, parse_vcov

__all__ = ["DynamicGMMResult", "arellano_bond", "blundell_bond", "dynamic_gmm"]

_HC = ("robust", "hc0", "hc1", "hc2", "hc3")


@dataclass(frozen=True, kw_only=True, repr=False)
class DynamicGMMResult(EstimationResult):
    """A difference or system GMM fit: an :class:`EstimationResult` plus the GMM specifics.

    ``tests`` holds ``"wald"`` (all coefficients but the constant), ``"AR(1)"``, ``"AR(2)"``, … (Arellano–Bond z),
    ``"Sargan"`` and ``"Hansen"``; ``diff_hansen`` one (group, Hansen excluding the group, difference) triple per
    instrument group; ``instruments`` the instrument names (their number is ``n_instruments``, printed next to the
    firms). ``with_vcov`` recomputes the variance and every test that depends on it (see :func:`arellano_bond`).
    """

    n_instruments: int = 0
    instruments: tuple[str, ...] = ()
    diff_hansen: tuple[tuple[str, TestResult, TestResult], ...] = ()
    system: bool = False
    steps: int = 2
    transform: str = "fd"
    gmm_specs: tuple[GMMStyle, ...] = ()
    iv_specs: tuple[IVStyle, ...] = ()

    def summary(self) -> str:
        lines = [super().summary()]
        if self.diff_hansen:
            lines.append("Difference-in-Hansen tests of exogeneity of instrument subsets:")
            for group, excl, diff in self.diff_hansen:
                lines.append(f"  {group}")
                for what, t in (("Hansen test excluding group:", excl), ("Difference (H0 exogenous):  ", diff)):
                    lines.append(f"    {what} chi2({t.df:g}) = {t.stat:.2f}, p = {t.pvalue:.3f}")
        return "\n".join(lines)

    def with_vcov(self, vcov: Any = "classical", cluster: str | Sequence[str] | None = None, *,
                  dof: str | None = None, bandwidth: int | None = None, data: Any = None) -> DynamicGMMResult:
        """The same estimates under ``vcov="classical"`` or ``"cluster"`` (by firm, or by ``cluster=``, a column
        whose clusters nest firms; a name not carried into the fit is looked up in ``data``), with the Wald,
        Arellano–Bond, Hansen and difference-in-Hansen tests recomputed as a refit would. A two-step result keeps
        the clusters of its weights (other clusters change the estimates: refit)."""
        _refuse_hc(vcov, self.model)
        new = super().with_vcov(vcov, cluster, dof=dof, bandwidth=bandwidth, data=data)
        spec = VarianceSpec(new.variance.kind, new.variance.clusters)  # type: ignore[arg-type]
        codes, _ = firm_clusters(self.fit, spec, data, warn=False)
        tests, dh = spec_tests(self.fit, spec.kind, codes)
        return dataclasses.replace(new, tests={**new.tests, **tests}, diff_hansen=dh)


# ------------------------------------------------------------------------------------------------ the public API
def arellano_bond(data: SurveyPanel | pd.DataFrame, formula: str, *, gmm: GMMStyle | Sequence[GMMStyle],
                  iv: IVStyle | Sequence[IVStyle] = (), time_dummies: bool | str = True, transform: str = "fd",
                  steps: int = 2, vcov: str = "cluster", cluster: str | None = None, h: int = 3, artests: int = 2,
                  small: bool = False, entity: str | None = None, time: str | None = None) -> DynamicGMMResult:
    """Difference GMM (Arellano–Bond 1991): xtabond2 with ``noleveleq``.

    With stacked transformed rows X, y and instruments Z: one-step b₁ = (X'ZW₁Z'X)⁻¹X'ZW₁Z'y with W₁ = (Z'HZ)⁻¹
    (H the covariance of the transformed errors under iid errors, xtabond2 ``h()``); two-step b₂ with
    W₂ = Ŝ⁻¹, Ŝ = Σ_g Z_g'ê₁ê₁'Z_g (clusters g, by default the firms). Formulas of the variances and tests:
    :mod:`.gmm_estimation`, :mod:`.gmm_spectests`.

    Parameters
    ----------
    data : SurveyPanel or DataFrame indexed by (firm, period); or a plain frame with ``entity=``/``time=``.
    formula : ``"n ~ lag(n, 1) + lag(n, 2) + w + lag(w, 1) + k"``: the dependent variable and regressors, panel
        lags ``lag(x, k)`` / ``lag(x, a:b)`` taken along calendar periods (a lag across a gap is missing).
    gmm, iv : instrument groups, as in xtabond2 the formula says nothing about instruments:
        ``gmm=[gmm("n", (2, None))]`` (xtabond2 ``gmm(L.n)``), ``iv=[iv("w", "lag(w, 1)", "k")]`` (``iv(w L.w k)``).
    time_dummies : period dummies as regressors and IV-style instruments (``"both"``/True, ``"diff"``,
        ``"level"``; False for none).
    transform : ``"fd"`` first differences or ``"fod"`` forward orthogonal deviations (xtabond2 ``orthogonal``).
    steps : 1 or 2.
    vcov : ``"cluster"`` (default; xtabond2 ``robust``: one-step sandwich clustered by firm, two-step Windmeijer
        correction) or ``"classical"`` (one-step σ̂²(X'ZW₁Z'X)⁻¹; two-step (X'ZŜ⁻¹Z'X)⁻¹, downward biased).
        ``"robust"`` (HC1 elsewhere in clusterecon) is refused: GMM's moments are sums over each firm's rows.
    cluster : a column whose clusters nest firms (xtabond2 ``cluster()``, one variable); changes the one-step
        robust variance, every two-step result (Ŝ weights the moments), the Hansen and the AR tests.
    h : one-step weighting (xtabond2 ``h()``). artests : highest AR order tested.
    small : xtabond2's small-sample t/F inference, V·G/(G−1)·N/(N−K+1), G − 1 degrees of freedom.

    Returns
    -------
    DynamicGMMResult
        ``resid``/``fitted``: the transformed equation's residuals and fitted values (differences or orthogonal
        deviations), indexed by (firm, period). ``predict(newdata)``: x'b in levels without the firm effect
        (xtabond2 ``predict, xb``), lags built from ``newdata``'s own periods; ``kind="xb_diff"`` its first
        difference (xtabond2 ``predict, xb difference``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from clusterecon.estimators import arellano_bond, gmm, iv
    >>> rng = np.random.default_rng(0)
    >>> n, T = 300, 6
    >>> eta, x = rng.normal(size=n), rng.normal(size=(n, T))
    >>> y = np.zeros((n, T)); y[:, 0] = 2 * eta + rng.normal(size=n)
    >>> for t in range(1, T):
    ...     y[:, t] = 0.5 * y[:, t - 1] + x[:, t] + eta + rng.normal(size=n)
    >>> df = pd.DataFrame({"firm": np.repeat(np.arange(n), T), "year": np.tile(np.arange(2001, 2001 + T), n),
    ...                    "y": y.ravel(), "x": x.ravel()}).set_index(["firm", "year"])
    >>> r = arellano_bond(df, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"))
    >>> r.nobs, r.n_entities, r.n_instruments
    (1200, 300, 9)
    >>> bool(abs(r.params["lag(y, 1)"] - 0.5) < 3 * r.std_errors["lag(y, 1)"])
    True
    >>> r.with_vcov("classical").variance.kind       # two-step without the Windmeijer correction, no refit
    'classical'
    """
    return dynamic_gmm(data, formula, system=False, gmm=gmm, iv=iv, time_dummies=time_dummies,
                       transform=transform, steps=steps, vcov=vcov, cluster=cluster, h=h, artests=artests,
                       small=small, entity=entity, time=time)


def blundell_bond(data: SurveyPanel | pd.DataFrame, formula: str, *, gmm: GMMStyle | Sequence[GMMStyle],
                  iv: IVStyle | Sequence[IVStyle] = (), time_dummies: bool | str = True, transform: str = "fd",
                  steps: int = 2, vcov: str = "cluster", cluster: str | None = None, h: int = 3, artests: int = 2,
                  small: bool = False, entity: str | None = None, time: str | None = None) -> DynamicGMMResult:
    """System GMM (Arellano–Bover 1995, Blundell–Bond 1998): xtabond2's default (level equation included).

    The transformed equation of :func:`arellano_bond` stacked with the level equation yᵢₜ = xᵢₜ'β + c + ηᵢ + vᵢₜ,
    instrumented by lagged differences (E[Δyᵢ,ₜ₋₁(ηᵢ + vᵢₜ)] = 0). Same arguments as :func:`arellano_bond`. The
    constant enters the level equation (and its instrument set) unless the formula has ``- 1``; ``gmm()`` groups
    add the lagged differences for the level equation.

    Returns
    -------
    DynamicGMMResult
        ``nobs`` counts the level-equation observations (xtabond2); ``resid``/``fitted`` are the level equation's
        (the residual includes the firm effect), indexed by (firm, period); ``predict(newdata)`` is x'b in levels
        with the constant.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from clusterecon.estimators import blundell_bond, gmm, iv
    >>> rng = np.random.default_rng(1)
    >>> n, T = 500, 6
    >>> eta, x = rng.normal(size=n), rng.normal(size=(n, T))
    >>> y = np.zeros((n, T)); y[:, 0] = eta / (1 - 0.8) + rng.normal(size=n)
    >>> for t in range(1, T):
    ...     y[:, t] = 0.8 * y[:, t - 1] + x[:, t] + eta + rng.normal(size=n)
    >>> df = pd.DataFrame({"firm": np.repeat(np.arange(n), T), "year": np.tile(np.arange(2001, 2001 + T), n),
    ...                    "y": y.ravel(), "x": x.ravel()}).set_index(["firm", "year"])
    >>> r = blundell_bond(df, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"))
    >>> r.nobs, r.n_instruments, sorted(r.tests)[:3]
    (2500, 11, ['AR(1)', 'AR(2)', 'Hansen'])
    >>> bool(abs(r.params["lag(y, 1)"] - 0.8) < 3 * r.std_errors["lag(y, 1)"])
    True
    >>> r.predict(df.loc[[0, 1]]).shape               # x'b in levels, lags from the rows given
    (12,)
    """
    return dynamic_gmm(data, formula, system=True, gmm=gmm, iv=iv, time_dummies=time_dummies,
                       transform=transform, steps=steps, vcov=vcov, cluster=cluster, h=h, artests=artests,
                       small=small, entity=entity, time=time)


def dynamic_gmm(data: SurveyPanel | pd.DataFrame, formula: str, *, system: bool,
                gmm: GMMStyle | Sequence[GMMStyle], iv: IVStyle | Sequence[IVStyle] = (),
                time_dummies: bool | str = True, transform: str = "fd", steps: int = 2, vcov: str = "cluster",
                cluster: str | None = None, h: int = 3, artests: int = 2, small: bool = False,
                entity: str | None = None, time: str | None = None) -> DynamicGMMResult:
    """Difference (``system=False``) or system GMM; see :func:`arellano_bond` and :func:`blundell_bond`."""
    model = "System GMM (Blundell-Bond)" if system else "Difference GMM (Arellano-Bond)"
    gmm_specs, iv_specs, time_dummies = _check_options(gmm, iv, time_dummies, transform, steps, h, artests)
    spec = parse_gmm_vcov(vcov, cluster, model)
    dep, terms, constant = parse_formula(formula)
    df = as_panel_frame(data, entity=entity, time=time)
    _check_dependent_lags(dep, gmm_specs)
    spec = spec.with_entity(str(df.index.names[0]))
    missing = [c for c in spec.clusters if c not in df.columns and c not in df.index.names]
    if missing:
        raise SpecificationError(f"cluster column(s) {missing} not found; available: {list(df.columns)[:40]}")
    sample = build_sample(df, dep, terms, constant and system, system=system, transform=transform,
                          time_dummies=time_dummies, gmm_specs=gmm_specs, iv_specs=iv_specs, h=h)
    notes: list[str] = []
    fit, codes, e = _fit(sample, df, spec, steps=steps, small=small, artests=artests, model=model, notes=notes)
    return _result(sample, fit, spec, codes, e, notes, formula=formula, dep=dep, terms=terms,
                   time_dummies=time_dummies, gmm_specs=gmm_specs, iv_specs=iv_specs)


# ------------------------------------------------------------------------------------------------ options
def _refuse_hc(vcov: Any, model: str) -> None:
    if isinstance(vcov, str) and vcov.strip().lower() in _HC:
        raise SpecificationError(
            f"vcov={vcov!r} is an observation-level heteroskedasticity-robust (HC) variance, which {model} does not "
            "compute: its moments are sums over each firm's rows. xtabond2's 'robust' is vcov='cluster' here "
            "(one-step: clustered by firm; two-step: Windmeijer-corrected); vcov='classical' is xtabond2 without "
            "robust")


def parse_gmm_vcov(vcov: Any, cluster: str | Sequence[str] | None, model: str) -> VarianceSpec:
    """The variance request of a GMM fit: ``"classical"`` or ``"cluster"`` (one cluster variable)."""
    _refuse_hc(vcov, model)
    spec = parse_vcov(vcov, cluster, dof="none", supported=GMM_KINDS, dof_rules=("none",), estimator=model)
    if len(spec.clusters) > 1:
        raise SpecificationError(f"{model}: two-way clustering {spec.clusters} is not available; the moments are "
                                 "sums over each firm's rows, so clusters must be unions of firms (one variable)")
    return spec


def _as_specs(x: Any, kind: type) -> tuple:
    items = (x,) if isinstance(x, kind) else tuple(x)
    for it in items:
        if not isinstance(it, kind):
            hint = "gmm(...)" if kind is GMMStyle else "iv(...)"
            raise SpecificationError(f"expected {hint} specifications (clusterecon.estimators.{hint}), got {it!r}")
    return items


def _check_options(gmm: Any, iv: Any, time_dummies: Any, transform: str, steps: int, h: int, artests: int,
                   ) -> tuple[tuple[GMMStyle, ...], tuple[IVStyle, ...], Any]:
    gmm_specs, iv_specs = _as_specs(gmm, GMMStyle), _as_specs(iv, IVStyle)
    if transform not in ("fd", "fod"):
        raise SpecificationError(f"transform must be 'fd' (first differences) or 'fod' (forward orthogonal "
                                 f"deviations), got {transform!r}")
    if steps not in (1, 2):
        raise SpecificationError(f"steps must be 1 or 2, got {steps!r}")
    if h not in (1, 2, 3):
        raise SpecificationError(f"h must be 1, 2 or 3 (xtabond2 h()), got {h!r}")
    if not isinstance(artests, (int, np.integer)) or isinstance(artests, bool) or artests < 0:
        raise SpecificationError(f"artests must be a whole number >= 0 (xtabond2 artests()), got {artests!r}")
    if time_dummies is True:
        time_dummies = "both"
    if time_dummies not in (False, None, "both", "diff", "level"):
        raise SpecificationError(f"time_dummies must be True/False or 'both', 'diff', 'level'; got {time_dummies!r}")
    if not gmm_specs and not iv_specs:
        raise SpecificationError("no instruments: pass gmm=[gmm('y', (2, None))] and/or iv=[iv('x')]")
    return gmm_specs, iv_specs, time_dummies


def _check_dependent_lags(dep: str, gmm_specs: Sequence[GMMStyle]) -> None:
    for spec in gmm_specs:
        for v, k in spec.terms:
            if v == dep and k + spec.lags[0] < 2 and spec.eq != "level":
                raise SpecificationError(
                    f"{spec.label} instruments the differenced equation with {dep} lagged {k + spec.lags[0]}, "
                    f"which is correlated with the differenced error; the dependent variable needs lags=(2, None) "
                    f"(xtabond2 gmm(L.{dep}))")


# ------------------------------------------------------------------------------------------------ fit and result
def _fit(sample: GMMSample, df: pd.DataFrame, spec: VarianceSpec, *, steps: int, small: bool, artests: int,
         model: str, notes: list[str]) -> tuple[GMMFit, np.ndarray | None, np.ndarray]:
    """The GMM fit (with its cluster codes per firm) and the residuals of the reported step. The fit's frame holds
    the firm-years the stacked rows come from, with the cluster column when it is not an index level."""
    pb, grid = sample.pb, sample.grid
    row_of_cell = np.full(grid.N * grid.T, -1, dtype=np.int64)
    row_of_cell[grid.firm * grid.T + grid.period] = np.arange(len(df))
    cells = pb.source_cells
    frame = df[[c for c in spec.clusters if c in df.columns]].iloc[row_of_cell[cells]]
    entity, tname = (str(n) for n in df.index.names)
    clusters = spec.clusters if spec.kind == "cluster" else (entity,)
    n_firms = int(np.count_nonzero(np.bincount(pb.rows.firm, minlength=grid.N)))
    fit = GMMFit("gmm", bread=np.zeros((len(pb.names),) * 2), frame=frame, units=cells // grid.T,
                 supported=GMM_KINDS, dof_rules=("none",), dof="none", entity=entity, time_name=tname,
                 weight_clusters=clusters, n_firms=n_firms, n_grid_firms=grid.N, small=small, model=model)
    codes, _ = firm_clusters(fit, spec, warn=False)
    moments, e = estimate(pb, steps, codes, notes)
    moments = dataclasses.replace(moments, ar=ar_pieces(pb, moments.step.b, artests, steps == 1),
                                  groups=dict(pb.inst.groups))
    return dataclasses.replace(fit, bread=moments.step.A_inv, moments=moments), codes, e


def _instrument_notes(sample: GMMSample, n_firms: int, notes: list[str]) -> None:
    L, inst = sample.pb.inst.L, sample.pb.inst
    if L > n_firms:
        msg = (f"{L} instruments for {n_firms} firms: instruments outnumber the groups, which overfits the "
               "endogenous variables and weakens the Hansen test (Roodman 2009b); collapse them or limit the lags")
        warnings.warn(msg, stacklevel=4)
        notes.append("Warning: " + msg)
    notes.insert(0, f"Instruments: {L} for {n_firms} firms (groups)" + (
        f"; {inst.dropped} all-zero or collinear instrument column(s) dropped" if inst.dropped else ""))


def _residuals(sample: GMMSample, e: np.ndarray, names: list[str]) -> tuple[pd.MultiIndex, np.ndarray, np.ndarray]:
    """(index, residuals, fitted) as xtabond2's predict: the transformed equation's (difference GMM) or the level
    equation's, which include the firm effect (system GMM), indexed by the (firm, period) they belong to."""
    pb, grid = sample.pb, sample.grid
    rows = pb.rows
    part = slice(rows.n_d, None) if pb.system else slice(0, rows.n_d)
    cells = pb.obs_cells
    index = pd.MultiIndex.from_arrays([grid.firms[cells // rows.T], grid.times[cells % rows.T]], names=names)
    return index, e[part], pb.y[part] - e[part]


def _result(sample: GMMSample, fit: GMMFit, spec: VarianceSpec, codes: np.ndarray | None, e: np.ndarray,
            notes: list[str], *, formula: str, dep: str, terms: list, time_dummies: Any, gmm_specs: tuple,
            iv_specs: tuple) -> DynamicGMMResult:
    pb, m = sample.pb, fit.moments
    tests, diff_h = spec_tests(fit, spec.kind, codes)
    _instrument_notes(sample, fit.n_firms, notes)
    per_firm = np.bincount(pb.obs_cells // pb.rows.T, minlength=pb.rows.N)
    per_firm = per_firm[per_firm > 0]
    index, resid, fitted = _residuals(sample, e, [fit.entity, fit.time_name])
    tr = "first differences" if pb.transform == "fd" else "forward orthogonal deviations"
    L, K = pb.inst.L, len(pb.names)
    steps = "one" if m.steps == 1 else "two"
    gone = "differenced out" if pb.transform == "fd" else "orthogonal deviations"
    if pb.system:  # the level equations keep the firm effect in their error; their instruments must not covary
        estimator = f"{steps}-step system GMM, levels and {tr}"
        firm_fe = f"Yes ({gone}; levels equations use instruments uncorrelated with it)"
    else:
        estimator = f"{steps}-step GMM, {tr}"
        firm_fe = f"Yes ({gone})"
    return build_result(
        fit, spec, cls=DynamicGMMResult, wald_terms=[j for j, n in enumerate(pb.names) if n != "Intercept"],
        wald_null="all coefficients except the constant are zero", model=fit.model,
        estimator=estimator + (f", h({pb.h})" if pb.h != 3 else ""),
        depvar=dep, names=tuple(pb.names), coef=m.step.b, nobs=pb.nobs, df_resid=float(pb.nobs - K),
        formula=formula, n_entities=fit.n_firms, index=index, residuals=resid, fitted_values=fitted,
        t_min=int(per_firm.min()), t_mean=float(per_firm.mean()), t_max=int(per_firm.max()),
        omitted=tuple(omitted_rows(sample, dep, terms)), dropped_regressors=tuple(sample.dropped),
        stats={"Instruments": L, "Instruments / groups": f"{L} / {fit.n_firms}"},
        effects={"Firm FE": firm_fe, "Year FE": "Yes" if time_dummies else "No"},
        tests=tests, notes=tuple(notes), predictor=LagPredictor.of(sample, terms, time_dummies),
        extra={"sigma2": m.sigma2, "one_step_coef": m.one_step.b, "n_transformed_rows": pb.rows.n_d,
               "n_level_rows": pb.rows.n_l},
        n_instruments=L, instruments=tuple(pb.inst.names), diff_hansen=diff_h, system=pb.system, steps=m.steps,
        transform=pb.transform, gmm_specs=tuple(gmm_specs), iv_specs=tuple(iv_specs))


# ------------------------------------------------------------------------------------------------ prediction
@dataclass(frozen=True)
class LagPredictor:
    """x'b in levels on new data (xtabond2 ``predict, xb``): each (variable, lag) term read from ``newdata`` along
    its own calendar periods (a lag outside ``newdata`` or across a gap is NaN), the estimated period effect of each
    row's period (zero for a dummy dropped as collinear), and the constant of system GMM. No firm effect: it is
    differenced out, not estimated. ``kind="xb_diff"``: the first difference of x'b (``predict, xb difference``)."""

    terms: tuple[tuple[str, str, int], ...]
    period_names: tuple[tuple[int, str], ...]
    kinds: tuple[str, ...] = ("xb", "xb_diff")

    @classmethod
    def of(cls, sample: GMMSample, terms: list[tuple[str, int]], time_dummies: Any) -> LagPredictor:
        dummies = tuple((int(t), f"C({sample.tname})[T.{t}]") for t in sample.grid.times) if time_dummies else ()
        return cls(tuple((term_name(v, k), v, k) for v, k in terms), dummies)

    def predict(self, res: Any, newdata: Any, kind: str | None) -> pd.Series:
        kind = kind or "xb"
        if kind not in self.kinds:
            raise SpecificationError(f"kind={kind!r}: {res.model} predicts {self.kinds}")
        if newdata is None:
            if kind != "xb":
                raise SpecificationError(f"kind={kind!r} needs newdata (pass the estimation data)")
            return res.fitted
        df = as_panel_frame(newdata)
        grid = PanelGrid.from_index(df.index)
        coef = dict(zip(res.names, res.coef))
        xb = np.full(len(df), coef.get("Intercept", 0.0))
        for name, var, lag in self.terms:
            if name not in coef:
                continue  # dropped as collinear: no coefficient, as Stata's omitted terms
            if var not in df.columns:
                raise SpecificationError(f"newdata lacks column {var!r} that the model uses")
            g = grid.put(pd.to_numeric(df[var], errors="coerce").to_numpy(dtype=float))
            xb += coef[name] * shift(g, lag)[grid.firm, grid.period]
        xb += self._period_effects(coef, grid.times[grid.period], res.model)
        if kind == "xb_diff":
            xb = first_difference(grid.put(xb))[grid.firm, grid.period]
        return pd.Series(xb, index=df.index, name=kind)

    def _period_effects(self, coef: dict[str, float], periods: np.ndarray, model: str) -> np.ndarray:
        if not self.period_names:
            return np.zeros(len(periods))
        known = np.array([t for t, _ in self.period_names])  # consecutive, sorted: the estimation grid
        pos = np.clip(np.searchsorted(known, periods), 0, len(known) - 1)
        unknown = np.unique(periods[known[pos] != periods])
        if unknown.size:
            raise SpecificationError(f"{model}: period(s) {unknown[:5].tolist()} were not in the estimation sample, "
                                     f"so their period effects are not estimated; predict for periods "
                                     f"{known.min()}–{known.max()}")
        return np.array([coef.get(name, 0.0) for _, name in self.period_names])[pos]
