r"""Intention-to-treat and treatment-on-the-treated effects of a randomised training offer.

With offer T_i, strata s(i), follow-up rounds r and the baseline outcome ȳ_i0 (the mean over baseline rounds):

* **ANCOVA** (McKenzie 2012): y_ir = α_r + γ T_i + θ ȳ_i0 + δ_s(i) + ε_ir on the follow-up rounds (round effects
  α_r when several are pooled; one regression per round with ``rounds="each"``). A missing baseline is set to 0
  with an indicator ``<y>_baseline_missing`` (so firms without a baseline stay in the sample; the count is in the
  notes), or the firm is dropped (``missing_baseline="drop"``, counted in ``omitted``).
* **DiD**: y_it = μ_i + λ_t + γ T_i·Post_t + ε_it on baseline and follow-ups with firm effects μ_i (within
  estimator, Stata ``xtreg y treat_post i.round, fe``).
* **POST**: ANCOVA without the baseline outcome.
* **TOT/LATE**: 2SLS of the ANCOVA equation with attendance D_ir instrumented by T_i (:func:`.iv.iv2sls`), with the
  first-stage F and the Anderson–Rubin set.

Variance (Stata conventions of :func:`~clusterecon.estimators.covariance.ols_covariance`): clustered by the unit
of randomisation (the firm, or the cluster when whole clusters were assigned) whenever several rounds are pooled
or assignment is by cluster; heteroskedasticity-robust (HC1) for one follow-up of a firm-level trial. With fewer
than 30 clusters (``wild="auto"``) the wild cluster bootstrap (WCR, Rademacher — Webb with fewer than 12
clusters) p-value and confidence interval for γ are attached (:mod:`clusterecon.estimators.wild_bootstrap`):
``result.tests["wild_bootstrap"]`` and ``result.extra["wild"]``.

References: McKenzie (2012), JDE 99(2); Bruhn and McKenzie (2009), AEJ: Applied 1(4) (strata dummies);
Imbens and Angrist (1994), Econometrica 62(2); Cameron and Miller (2015), JHR 50(2).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError
from ..estimators.pooled import pooled_ols
from ..estimators.results import EstimationResult
from ..estimators.wild_bootstrap import wild_bootstrap
from .design import ExperimentDesign, as_binary, frame_of, has_dummies, require, require_both_arms, round_values

METHODS = ("ancova", "did", "post")
WILD_BELOW = 30
_IDENT = __import__("re").compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _IDENT.match(name):
        raise SpecificationError(f"{what} {name!r} must be a column name made of letters, digits and underscores "
                                 "(rename the column in the mapping)")
    return name


def analysis_frame(data: Any, outcome: str, design: ExperimentDesign, *, rounds: Any = None,
                   missing_baseline: str = "indicator", extra: tuple[str, ...] = (), what: str = "the ITT",
                   ) -> tuple[pd.DataFrame, list[str]]:
    """Follow-up rows with the treatment as 0/1, the baseline outcome and its missing indicator, strata and the
    cluster column; indexed (firm, round). Returns the frame and notes on what was imputed or dropped. Refuses
    follow-up rows (with the outcome observed) that are all offered or all controls: ``what`` is not identified."""
    frame = frame_of(data)
    design = design.with_rounds(frame)
    _check_name(outcome, "outcome")
    require(frame, outcome, design.treatment, design.strata, design.cluster if design.assignment == "cluster"
            else None, *extra, *design.controls)
    firm = str(frame.index.names[0])
    df = frame.reset_index()
    df["_round"] = round_values(frame, design.round_column)
    notes: list[str] = []
    base = df[df["_round"].isin(design.baseline)].groupby(firm, sort=True)[outcome].mean()
    fol_rounds = design.follow_up if rounds is None else tuple(rounds if isinstance(rounds, (list, tuple))
                                                                 else (rounds,))
    fu = df[df["_round"].isin(fol_rounds)].copy()
    if fu.empty:
        raise SpecificationError(f"no rows in follow-up round(s) {list(fol_rounds)} of {design.round_column!r}")
    fu["_T"] = as_binary(fu[design.treatment], design.treatment).to_numpy()
    bl = f"{outcome}_baseline"
    fu[bl] = fu[firm].map(base).astype("float64")
    miss = fu[bl].isna() & fu[outcome].notna()
    if missing_baseline == "indicator":
        if miss.any():
            nf = fu.loc[miss, firm].nunique()
            notes.append(f"{nf} firm(s) without a baseline {outcome}: baseline set to 0 with an indicator "
                         f"{bl}_missing (they stay in the sample)")
        fu[f"{bl}_missing"] = fu[bl].isna().astype("float64")
        fu[bl] = fu[bl].fillna(0.0)
    elif missing_baseline != "drop":
        raise SpecificationError("missing_baseline must be 'indicator' or 'drop'")
    fu = fu.rename(columns={"_round": "round"})
    keep = [firm, "round", outcome, "_T", bl, *([f"{bl}_missing"] if missing_baseline == "indicator" else []),
            *[c for c in (design.strata, design.cluster, design.takeup, *extra, *design.controls)
              if c and c in fu.columns and c not in (firm, "round", outcome)]]
    out = fu[list(dict.fromkeys(keep))].rename(columns={"_T": design.treatment})
    out[outcome] = pd.to_numeric(out[outcome], errors="coerce").astype("float64")
    require_both_arms(out.loc[out[outcome].notna(), design.treatment], design.treatment, what)
    return out.set_index([firm, "round"]).sort_index(), notes


def _rhs(outcome: str, design: ExperimentDesign, frame: pd.DataFrame, *, baseline: bool, rounds: int,
         treatment_term: str) -> str:
    terms = [treatment_term]
    bl = f"{outcome}_baseline"
    if baseline:
        terms.append(bl)
        if f"{bl}_missing" in frame.columns and frame[f"{bl}_missing"].nunique() > 1:
            terms.append(f"{bl}_missing")
    if design.strata and frame[design.strata].nunique(dropna=True) > 1:
        terms.append(f"C({_check_name(design.strata, 'strata column')})")
    if rounds > 1:
        terms.append("C(round)")
    terms += [_check_name(c, "control") for c in design.controls]
    return " + ".join(terms)


def _effects(res: EstimationResult, design: ExperimentDesign) -> dict[str, str]:
    """Strata and round FE labels from the dummies the fitted model holds (not from the formula's text: the round
    dummies ``C(round)`` are not strata dummies, and a strata column with one value adds none)."""
    return {"Strata FE": "Yes" if has_dummies(res.names, design.strata) else "No",
            "Round FE": "Yes" if has_dummies(res.names, "round") else "No"}


def require_coef(res: EstimationResult, name: str, what: str, design: ExperimentDesign) -> EstimationResult:
    """Refuse a fit from which ``name`` (the offer) was dropped as collinear: a result without it would answer a
    different question. Both arms are present by then, so the other regressors (usually the strata) explain it."""
    if name in res.names:
        return res
    why = dict(res.dropped_regressors).get(name, "collinear with other regressors")
    hint = (f" (each value of {design.strata} holds only offered firms or only controls)"
            if has_dummies(res.names, design.strata) else "")
    raise SpecificationError(f"{name} was dropped from the regression ({why}){hint}: {what} is not identified; "
                             "randomise within strata (both arms in each) or leave out the regressors that "
                             f"reproduce {name}")


def _variance_choice(design: ExperimentDesign, n_rounds: int, vcov: str | None) -> tuple[str, str | None]:
    if vcov is not None:
        return vcov, (design.cluster if design.assignment == "cluster" else None)
    if design.assignment == "cluster":
        return "cluster", design.cluster
    return ("cluster", None) if n_rounds > 1 else ("robust", None)


def itt(data: Any, outcome: str, design: ExperimentDesign | None = None, *, method: str = "ancova",
        rounds: Any = None, vcov: str | None = None, missing_baseline: str = "indicator", wild: str | bool = "auto",
        B: int = 9999, seed: Any = 0, weights: str | None = None) -> EstimationResult:
    """ITT effect of the offer on ``outcome`` by ANCOVA, DiD or POST (module docstring).

    ``rounds``: follow-up rounds to use (default all of ``design.follow_up``, pooled with round effects).
    ``vcov``: override the default variance (cluster by the randomisation unit; HC1 for one firm-level round).
    ``wild``: ``"auto"`` (wild cluster bootstrap when clusters < 30), True, or False. ``weights``: bootstrap weights
    (default Rademacher, Webb below 12 clusters). The result's ``params[design.treatment]`` is γ.
    """
    design = design or ExperimentDesign()
    if method not in METHODS:
        raise SpecificationError(f"method must be one of {METHODS}, got {method!r}")
    if method == "did":
        return _did(data, outcome, design, rounds=rounds, vcov=vcov, wild=wild, B=B, seed=seed, weights=weights)
    frame, formula, kind, clus, notes = itt_setup(data, outcome, design, method=method, rounds=rounds, vcov=vcov,
                                                  missing_baseline=missing_baseline)
    nr = frame.index.get_level_values("round").nunique()
    T = design.treatment
    res = require_coef(pooled_ols(frame, formula, vcov=kind, cluster=clus), T, "the ITT", design)
    label = {"ancova": "ANCOVA", "post": "POST"}[method]
    res = replace(res, model=f"ITT ({label})", estimator=f"OLS, {label}" + (f", {nr} follow-ups pooled with round "
                                                                              "effects" if nr > 1 else ""),
                  notes=(*res.notes, *notes), effects=_effects(res, design))
    return _attach_wild(res, T, frame, wild=wild, B=B, seed=seed, weights=weights)


def itt_setup(data: Any, outcome: str, design: ExperimentDesign, *, method: str = "ancova", rounds: Any = None,
              vcov: str | None = None, missing_baseline: str = "indicator", extra: tuple[str, ...] = (),
              extra_terms: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str, str, str | None, list[str]]:
    """(analysis frame, formula, variance kind, cluster column or None = firm, notes) of an ANCOVA/POST ITT."""
    frame, notes = analysis_frame(data, outcome, design, rounds=rounds, missing_baseline=missing_baseline,
                                  extra=extra)
    nr = frame.index.get_level_values("round").nunique()
    kind, clus = _variance_choice(design, nr, vcov)
    term = " + ".join([design.treatment, *extra_terms])
    formula = f"{outcome} ~ " + _rhs(outcome, design, frame, baseline=method == "ancova", rounds=nr,
                                     treatment_term=term)
    return frame, formula, kind, clus, notes


def itt_arrays(data: Any, outcome: str, design: ExperimentDesign, *, method: str = "ancova", **kw: Any,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(X, y, cluster labels, column of the treatment) of the ITT regression, for joint bootstraps."""
    from ..estimators.linear import fast_design

    frame, formula, _, clus, _ = itt_setup(data, outcome, design, method=method, **kw)
    d = fast_design(frame, formula, extra=[clus] if clus else [])
    labels = d.extra[clus].to_numpy() if clus else np.asarray(d.index.get_level_values(0))
    return d.X, d.y, labels, list(d.names).index(design.treatment)


def ancova(data: Any, outcome: str, design: ExperimentDesign | None = None, **kw: Any) -> EstimationResult:
    """:func:`itt` with ``method="ancova"`` (McKenzie 2012: the default for outcomes with low autocorrelation)."""
    return itt(data, outcome, design, method="ancova", **kw)


def did(data: Any, outcome: str, design: ExperimentDesign | None = None, **kw: Any) -> EstimationResult:
    """:func:`itt` with ``method="did"`` (firm and round effects, treatment × post)."""
    return itt(data, outcome, design, method="did", **kw)


def _did(data: Any, outcome: str, design: ExperimentDesign, *, rounds: Any, vcov: str | None, wild: Any, B: int,
         seed: Any, weights: str | None) -> EstimationResult:
    from ..estimators.within import within

    frame = frame_of(data)
    design = design.with_rounds(frame)
    _check_name(outcome, "outcome")
    require(frame, outcome, design.treatment, design.cluster if design.assignment == "cluster" else None)
    firm = str(frame.index.names[0])
    df = frame.reset_index()
    df["round"] = round_values(frame, design.round_column)
    fol = design.follow_up if rounds is None else tuple(rounds if isinstance(rounds, (list, tuple)) else (rounds,))
    df = df[df["round"].isin((*design.baseline, *fol))]
    tp = f"{design.treatment}_post"
    offered = as_binary(df[design.treatment], design.treatment).to_numpy()
    df[tp] = offered * df["round"].isin(fol).to_numpy()
    df[outcome] = pd.to_numeric(df[outcome], errors="coerce").astype("float64")
    require_both_arms(offered[df[outcome].notna().to_numpy()], design.treatment, "the ITT (DiD)")
    cols = [firm, "round", outcome, tp, *([design.cluster] if design.cluster in df.columns else [])]
    work = df[list(dict.fromkeys(cols))].set_index([firm, "round"]).sort_index()
    kind, clus = _variance_choice(design, 2, vcov)
    formula = f"{outcome} ~ {tp} + C(round)"
    res = require_coef(within(work, formula, effects="firm", vcov=kind, cluster=clus), tp, "the ITT (DiD)",
                       design.replace(strata=None))
    res = replace(res, model="ITT (DiD)", estimator="within (firm effects) with round effects, treatment x post",
                  effects={"Firm FE": "Yes", "Round FE": "Yes"})
    # the within fit carries its demeaned regressors: the bootstrap runs on them (FWL; firms nest in the clusters)
    return _attach_wild(res, tp, work, wild=wild, B=B, seed=seed, weights=weights)


def _weights(weights: str | None, clusters: np.ndarray) -> str:
    if weights:
        return weights
    return "webb" if len(pd.unique(np.asarray(clusters))) < 12 else "rademacher"


def _wants_wild(res: EstimationResult, wild: Any) -> bool:
    if wild is True:
        return True
    if wild in (False, None) or res.variance.kind != "cluster":
        return False
    return bool(res.variance.n_clusters and res.variance.n_clusters[0] < WILD_BELOW)


def _attach_wild(res: EstimationResult, param: str, frame: pd.DataFrame, *, wild: Any, B: int, seed: Any,
                 weights: str | None) -> EstimationResult:
    if not _wants_wild(res, wild):
        return res
    clus = res.variance.clusters[0] if res.variance.clusters else str(frame.index.names[0])
    vals = frame[clus].to_numpy() if clus in frame.columns else frame.index.get_level_values(0).to_numpy()
    wb = wild_bootstrap(res, param, frame, cluster=clus, B=B, seed=seed, weights=_weights(weights, vals))
    return _with_wild(res, wb)


def _with_wild(res: EstimationResult, wb: Any) -> EstimationResult:
    tests = {**res.tests, "wild_bootstrap": wb.as_test()}
    stats = {**res.stats, "Wild bootstrap p": wb.pvalue}
    note = f"{wb.method}: p = {wb.pvalue:.4f}" + (
        f", {wb.level:.0%} CI [{wb.conf_int[0]:.4g}, {wb.conf_int[1]:.4g}]" if wb.conf_int else "")
    return replace(res, tests=tests, stats=stats, notes=(*res.notes, note), extra={**res.extra, "wild": wb})


def _require_takeup_varies(d: pd.Series, takeup: str) -> None:
    """Refuse take-up that is the same for every firm-round: the first stage has nothing to identify."""
    v = d.dropna()
    if v.empty or v.nunique() > 1:
        return
    if float(v.iloc[0]) == 0.0:
        raise SpecificationError(f"no firm took up the training ({takeup} is 0 for all {len(v)} firm-rounds "
                                 "analysed): the first stage is not identified, so the TOT cannot be estimated; the "
                                 f"ITT stands (check the {takeup} column if firms did attend)")
    raise SpecificationError(f"every firm took up the training, controls included ({takeup} is 1 for all {len(v)} "
                             "firm-rounds analysed): the offer does not change attendance, so the first stage is not "
                             f"identified and the TOT cannot be estimated; the ITT stands (check the {takeup} column)")


def tot(data: Any, outcome: str, design: ExperimentDesign | None = None, *, rounds: Any = None,
        vcov: str | None = None, baseline: bool = True, missing_baseline: str = "indicator", wild: Any = "auto",
        B: int = 9999, seed: Any = 0, weights: str | None = None) -> EstimationResult:
    """TOT/LATE of attending training: 2SLS of the ANCOVA equation with take-up (``design.takeup``, 0/1 by
    round) instrumented by the offer; first-stage F and Anderson–Rubin set in the result (:func:`.iv.iv2sls`).
    A wild cluster bootstrap of the reduced form (the ITT) is attached when clusters < 30: with one instrument its
    test of γ = 0 is the test of the TOT = 0 (the AR logic)."""
    from .iv import iv2sls

    design = design or ExperimentDesign()
    if not design.takeup:
        raise SpecificationError("the TOT needs the take-up column (design takeup = ...)")
    frame, notes = analysis_frame(data, outcome, design, rounds=rounds, missing_baseline=missing_baseline,
                                  extra=(design.takeup,), what="the TOT")
    D = design.takeup
    frame[D] = as_binary(frame[D], D).to_numpy()
    _require_takeup_varies(frame.loc[frame[outcome].notna(), D], D)
    nr = frame.index.get_level_values("round").nunique()
    kind, clus = _variance_choice(design, nr, vcov)
    rhs = _rhs(outcome, design, frame, baseline=baseline, rounds=nr, treatment_term="")
    rhs = rhs.lstrip(" +") or "1"
    res = iv2sls(frame, f"{outcome} ~ {rhs}", endog=D, instruments=design.treatment, vcov=kind, cluster=clus,
                 model="TOT (2SLS)")
    res = replace(res, notes=(*res.notes, *notes), effects=_effects(res, design))
    if _wants_wild(res, wild):
        itt_res = itt(data, outcome, design, rounds=rounds, vcov=vcov, missing_baseline=missing_baseline,
                      wild=True, B=B, seed=seed, weights=weights)
        wb = itt_res.extra["wild"]
        tests = {**res.tests, "wild_bootstrap_reduced_form": wb.as_test()}
        res = replace(res, tests=tests, stats={**res.stats, "Wild bootstrap p (reduced form)": wb.pvalue},
                      notes=(*res.notes, f"reduced-form {wb.method}: p = {wb.pvalue:.4f} (test of TOT = 0)"),
                      extra={**res.extra, "wild": wb})
    return res
