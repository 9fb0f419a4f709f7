r"""Attrition: differential-attrition tests and Lee (2009) bounds, with and without covariate tightening.

**Differential attrition** (per follow-up round): the attrition rate among controls and offered firms and the
difference from OLS of the attrition indicator on the offer and strata dummies (variance as the ITT: HC1 for a
firm-level trial, clustered by cluster under cluster assignment). **Selective attrition**: for each baseline
characteristic x, OLS of x on T, A (attrited in any follow-up) and T×A; the F-test that the coefficients on A and
T×A are zero says whether attriters differ from stayers, and the t-test on T×A whether they differ differently by
arm (the test that threatens the ITT).

**Lee bounds.** With observation rates p₁ (offered) and p₀ (control) and monotone attrition (the offer never
makes a firm leave the sample), the always-observed firms are a share p₀/p₁ of the observed offered firms (if
p₁ > p₀). Trimming the top (bottom) share p = (p₁ − p₀)/p₁ of the observed offered outcomes gives the lower
(upper) bound of the effect on the always-observed: LB = E[Y | T=1, S=1, Y ≤ y₁₋ₚ] − E[Y | T=0, S=1] and the
mirror image. If p₀ > p₁ the control group is trimmed instead. Trimming is exact: the boundary observation enters
with a fractional weight, so the bound is the trimmed mean of the empirical distribution (equal to trimming
⌊n·p⌋ observations when n·p is an integer, as pyleebounds does). **Tightened bounds** (Lee 2009, Prop. 3): bounds
computed within cells of a discrete baseline covariate (e.g. strata, or quartiles of the baseline outcome) and
averaged with the cells' shares of always-observed firms (observed firms of the untrimmed arm) — narrower when the
covariate predicts the outcome. Inference: standard errors of each bound from a bootstrap over randomisation units
(firms, or clusters under cluster assignment), and the Imbens–Manski (2004) interval for the effect:
[LB − c·σ_L, UB + c·σ_U] with Φ(c + (UB − LB)/max(σ_L, σ_U)) − Φ(−c) = level.

References: Lee (2009), Review of Economic Studies 76(3): 1071–1102; Imbens and Manski (2004), Econometrica 72(6);
Stata ``leebounds`` (Tauchmann 2014, Stata Journal 14(4)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..estimators.design import SpecificationError
from .design import ExperimentDesign, as_binary, frame_of, require, require_both_arms, round_values


@dataclass(frozen=True)
class LeeBounds:
    """Lee bounds on the effect of the offer on ``outcome`` for the always-observed firms."""

    outcome: str
    lower: float
    upper: float
    se_lower: float
    se_upper: float
    ci: tuple[float, float]
    level: float
    trim_share: float
    trimmed: str  # "treatment" | "control" | "none"
    observed_treatment: float
    observed_control: float
    n: int
    naive: float
    tightened_by: str | None = None
    cells: pd.DataFrame | None = None
    B: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        by = f", tightened by {self.tightened_by}" if self.tightened_by else ""
        return (f"Lee bounds for {self.outcome}{by}: [{self.lower:.4g}, {self.upper:.4g}] (s.e. {self.se_lower:.3g}, "
                f"{self.se_upper:.3g}); {self.level:.0%} Imbens-Manski CI [{self.ci[0]:.4g}, {self.ci[1]:.4g}]; "
                f"observed {self.observed_treatment:.1%} offered vs {self.observed_control:.1%} control, "
                f"{self.trim_share:.1%} of the {self.trimmed} group trimmed; N = {self.n}")

    def as_row(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "tightened by": self.tightened_by or "", "lower": self.lower,
                "upper": self.upper, "se lower": self.se_lower, "se upper": self.se_upper, "ci lower": self.ci[0],
                "ci upper": self.ci[1], "trimmed": self.trimmed, "trim share": self.trim_share,
                "observed (offered)": self.observed_treatment, "observed (control)": self.observed_control,
                "naive difference": self.naive, "N": self.n}


def trimmed_mean(y: np.ndarray, share: float, side: str) -> float:
    """Mean of the empirical distribution of ``y`` without its top (``side="top"``) or bottom ``share``; the
    boundary observation enters with a fractional weight."""
    y = np.sort(np.asarray(y, dtype=float))
    n = len(y)
    keep = n * (1 - share)
    if keep <= 0:
        raise SpecificationError("trimming would remove every observation (attrition too different by arm)")
    w = np.clip(keep - np.arange(n), 0, 1)  # weights 1,1,...,frac,0,... from the kept end
    if side == "bottom":
        w = w[::-1]
    return float(w @ y / w.sum())


def _bounds(y: np.ndarray, t: np.ndarray, s: np.ndarray, cells: np.ndarray | None = None
            ) -> tuple[float, float, float, str, float, float, pd.DataFrame | None]:
    """(lower, upper, trim share, trimmed arm, p1, p0, cell table) from outcome y (NaN if unobserved), offer t,
    observed s and optional cell labels."""
    p1, p0 = s[t == 1].mean(), s[t == 0].mean()
    if cells is None:
        cells = np.zeros(len(y), dtype=int)
    rows = []
    lo_sum = hi_sum = wsum = 0.0
    for c in np.unique(cells):
        m = cells == c
        tc, sc, yc = t[m], s[m], y[m]
        if (tc == 1).sum() == 0 or (tc == 0).sum() == 0:
            continue
        q1, q0 = sc[tc == 1].mean(), sc[tc == 0].mean()
        y1, y0 = yc[(tc == 1) & (sc == 1)], yc[(tc == 0) & (sc == 1)]
        if len(y1) == 0 or len(y0) == 0:
            continue
        if p1 >= p0:  # overall direction decides which arm is trimmed (monotonicity)
            share = max(0.0, (q1 - q0) / q1) if q1 > 0 else 0.0
            lo = trimmed_mean(y1, share, "top") - y0.mean()
            hi = trimmed_mean(y1, share, "bottom") - y0.mean()
            weight = len(y0)  # observed controls are all always-observed
        else:
            share = max(0.0, (q0 - q1) / q0) if q0 > 0 else 0.0
            lo = y1.mean() - trimmed_mean(y0, share, "bottom")
            hi = y1.mean() - trimmed_mean(y0, share, "top")
            weight = len(y1)
        rows.append({"cell": c, "lower": lo, "upper": hi, "trim share": share, "weight": weight,
                     "observed (offered)": q1, "observed (control)": q0})
        lo_sum += weight * lo
        hi_sum += weight * hi
        wsum += weight
    if wsum == 0:
        raise SpecificationError("no cell has observed firms in both arms")
    share_all = (p1 - p0) / p1 if p1 >= p0 else (p0 - p1) / p0
    arm = "none" if p1 == p0 else ("treatment" if p1 > p0 else "control")
    table = pd.DataFrame(rows).set_index("cell") if len(rows) > 1 else None
    return lo_sum / wsum, hi_sum / wsum, float(share_all), arm, float(p1), float(p0), table


def imbens_manski(lower: float, upper: float, se_l: float, se_u: float, level: float = 0.95) -> tuple[float, float]:
    """Imbens–Manski (2004) confidence interval for a partially identified parameter."""
    s = max(se_l, se_u)
    if not np.isfinite(s) or s == 0:
        return lower, upper
    width = max(upper - lower, 0.0)
    c = optimize.brentq(lambda c: stats.norm.cdf(c + width / s) - stats.norm.cdf(-c) - level, 0.0, 10.0)
    return lower - c * se_l, upper + c * se_u


def _follow_up_frame(data: Any, outcome: str, design: ExperimentDesign, round_: Any, what: str) -> pd.DataFrame:
    frame = frame_of(data)
    design = design.with_rounds(frame)
    require(frame, outcome, design.treatment)
    df = frame.reset_index()
    df["_round"] = round_values(frame, design.round_column)
    rounds = design.follow_up if round_ is None else (round_,)
    df = df[df["_round"].isin(rounds)].copy()
    if df.empty:
        raise SpecificationError(f"no rows in follow-up round(s) {list(rounds)}")
    df["_T"] = as_binary(df[design.treatment], design.treatment).to_numpy()
    require_both_arms(df["_T"], design.treatment, what)
    y = pd.to_numeric(df[outcome], errors="coerce").astype("float64")
    att = (as_binary(df[design.attrition], design.attrition).to_numpy() == 1) if design.attrition and \
        design.attrition in df.columns else np.zeros(len(df), dtype=bool)
    df["_S"] = (~att & y.notna().to_numpy()).astype(float)
    df["_Y"] = y.where(df["_S"] == 1)
    return df


def lee_bounds(data: Any, outcome: str, design: ExperimentDesign | None = None, *, round: Any = None,
               tighten: str | None = None, baseline_quantiles: int = 4, B: int = 500, seed: Any = 0,
               level: float = 0.95) -> LeeBounds:
    """Lee (2009) bounds for ``outcome`` in follow-up ``round`` (default: the follow-up rounds stacked, one firm-round
    per row, bootstrap over randomisation units). ``tighten``: a baseline covariate column defining cells, or
    ``"baseline"`` for quantiles (``baseline_quantiles``) of the baseline outcome (firms without one form a cell).
    Attrition = the design's attrition flag or a missing outcome."""
    design = (design or ExperimentDesign()).with_rounds(frame_of(data))
    df = _follow_up_frame(data, outcome, design, round, "the Lee bounds (trimming one arm against the other)")
    firm = str(frame_of(data).index.names[0])
    notes = []
    cells = None
    if tighten == "baseline":
        frame = frame_of(data).reset_index()
        frame["_round"] = round_values(frame_of(data), design.round_column)
        base = frame[frame["_round"].isin(design.baseline)].groupby(firm)[outcome].mean()
        b = df[firm].map(base)
        q = pd.qcut(b, baseline_quantiles, labels=False, duplicates="drop")
        cells = q.fillna(-1).astype(int).to_numpy()
        if (cells == -1).any():
            notes.append(f"{int((cells == -1).sum())} firm-rounds without a baseline {outcome} form their own cell")
    elif tighten is not None:
        if tighten not in df.columns:
            raise SpecificationError(f"tightening covariate {tighten!r} not in the data")
        cells = pd.factorize(df[tighten].astype("object").fillna("(missing)"))[0]
    y, t, s = df["_Y"].to_numpy(), df["_T"].to_numpy(), df["_S"].to_numpy()
    lo, hi, share, arm, p1, p0, table = _bounds(y, t, s, cells)
    naive = float(np.nanmean(y[t == 1]) - np.nanmean(y[t == 0]))
    unit = design.cluster if design.assignment == "cluster" else firm
    units = df[unit].to_numpy()
    codes, uniq = pd.factorize(units)
    rows_of = [np.flatnonzero(codes == k) for k in range(len(uniq))]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(B):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([rows_of[k] for k in pick])
        try:
            lb, ub, *_ = _bounds(y[idx], t[idx], s[idx], None if cells is None else cells[idx])
        except (SpecificationError, ZeroDivisionError):
            continue
        draws.append((lb, ub))
    d = np.array(draws)
    se_l, se_u = (d.std(axis=0, ddof=1) if len(d) > 1 else (np.nan, np.nan))
    if len(d) < B:
        notes.append(f"{B - len(d)} bootstrap draw(s) without observed firms in both arms were skipped")
    ci = imbens_manski(lo, hi, float(se_l), float(se_u), level)
    return LeeBounds(outcome=outcome, lower=float(lo), upper=float(hi), se_lower=float(se_l), se_upper=float(se_u),
                     ci=ci, level=level, trim_share=share, trimmed=arm, observed_treatment=p1, observed_control=p0,
                     n=len(df), naive=naive, tightened_by=tighten, cells=table, B=len(d), notes=tuple(notes))


def attrition_table(data: Any, design: ExperimentDesign | None = None, *, outcome: str | None = None,
                    covariates: tuple[str, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(attrition by round, selective-attrition tests).

    The first frame has one row per follow-up round and one for "any follow-up": attrition rates (control,
    offered), the difference from OLS with strata dummies, its s.e. and p-value, N. The second has one row per
    baseline covariate (``covariates`` plus the baseline ``outcome``): the F-test that attriters and stayers do
    not differ (A and T×A), and the T×A coefficient with its p-value.
    """
    from ..estimators.pooled import pooled_ols

    design = (design or ExperimentDesign()).with_rounds(frame_of(data))
    frame = frame_of(data)
    firm = str(frame.index.names[0])
    df = _follow_up_frame(data, outcome or _any_numeric(frame), design, None,
                          "the difference in attrition between offered firms and controls")
    df["_A"] = 1.0 - df["_S"]
    rows = []
    vcov_kind = "cluster" if design.assignment == "cluster" else "robust"
    clus = design.cluster if design.assignment == "cluster" else None
    strata = design.strata if design.strata and design.strata in df.columns and df[design.strata].nunique() > 1 \
        else None
    rhs = "_T" + (f" + C({strata})" if strata else "")

    names = {"_TA": f"{design.treatment} x attrited", "_T": design.treatment, "_A": "attrited",
             "_x": "baseline variable"}

    def ols(work: pd.DataFrame, formula: str):
        return _in_user_names(names, lambda: pooled_ols(work, formula, vcov=vcov_kind, cluster=clus))

    def diff(part: pd.DataFrame, label: str) -> None:
        work = part.set_index([firm, "_round"])
        r = ols(work, f"_A ~ {rhs}")
        if "_T" not in r.names:
            raise SpecificationError(f"{design.treatment} was dropped from the attrition regression (collinear with "
                                     f"the strata dummies of {strata}: each stratum holds only offered firms or only "
                                     "controls), so the difference in attrition between arms is not identified")
        rows.append({"round": label, "attrition (control)": part.loc[part["_T"] == 0, "_A"].mean(),
                     "attrition (offered)": part.loc[part["_T"] == 1, "_A"].mean(),
                     "difference": r.params["_T"], "std. error": r.std_errors["_T"], "p-value": r.pvalues["_T"],
                     "N": r.nobs})

    for rnd, part in df.groupby("_round", sort=True):
        diff(part, str(rnd))
    anyatt = df.groupby(firm).agg(_A=("_A", "max"), _T=("_T", "first"),
                                  **({strata: (strata, "first")} if strata else {}),
                                  **({clus: (clus, "first")} if clus else {})).reset_index()
    anyatt["_round"] = "any"
    if df["_round"].nunique() > 1:
        diff(anyatt, "any follow-up")
    tab = pd.DataFrame(rows).set_index("round")

    # selective attrition on baseline characteristics
    base = frame.reset_index()
    base["_round"] = round_values(frame, design.round_column)
    base = base[base["_round"].isin(design.baseline)]
    covs = [c for c in (*covariates, *([outcome] if outcome else [])) if c in base.columns]
    sel_rows = []
    for c in covs:
        x = pd.to_numeric(base[c], errors="coerce").groupby(base[firm]).mean().rename("_x")
        w = anyatt.set_index(firm).join(x, how="inner").dropna(subset=["_x"])
        if w["_A"].nunique() < 2:
            continue
        w["_TA"] = w["_T"] * w["_A"]
        w = w.reset_index()
        w["_round"] = 0
        r = ols(w.set_index([firm, "_round"]), f"_x ~ _T + _A + _TA{' + C(' + strata + ')' if strata else ''}")
        # attriters in one arm only: T x attrited equals attrited (or is zero) and is dropped as collinear; the
        # F test is then of attrited alone and the interaction's columns are empty (NaN), not a KeyError
        inter = "_TA" in r.names
        ft = r.wald_test("_A = 0, _TA = 0" if inter else "_A = 0")
        nan = float("nan")
        sel_rows.append({"baseline variable": c, "F (attriters = stayers)": ft.stat, "p-value (F)": ft.pvalue,
                         "T x attrited": r.params["_TA"] if inter else nan,
                         "std. error": r.std_errors["_TA"] if inter else nan,
                         "p-value (T x attrited)": r.pvalues["_TA"] if inter else nan, "N": r.nobs})
    sel = pd.DataFrame(sel_rows).set_index("baseline variable") if sel_rows else pd.DataFrame()
    return tab, sel


def _in_user_names(names: dict[str, str], fn: Any) -> Any:
    """``fn()`` with its warnings re-issued in the user's names instead of the internal columns (``_T`` → the
    treatment column), longest names first so ``_TA`` is not read as ``_T`` + ``A``."""
    import re
    import warnings

    pat = re.compile(r"(?<![A-Za-z0-9_.])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True))
                     + r")(?![A-Za-z0-9_])")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    for w in caught:
        warnings.warn_explicit(pat.sub(lambda m: names[m.group(1)], str(w.message)), w.category, w.filename,
                               w.lineno)
    return out


def _any_numeric(frame: pd.DataFrame) -> str:
    for c in ("sales", "mgmt_practice_score", *frame.columns):
        if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c]):
            return c
    raise SpecificationError("no numeric outcome to define attrition by; pass outcome=")
