r"""Fieldwork on a simulated cluster: what a survey team would collect from the census of
:mod:`clusterecon.simulate.model`.

Designs (``kind``)
------------------
* ``"recall"`` — one interview in ``survey_year`` with recall questions for the ``benchmark_years`` (Sonobe–Otsuka
  style). Only firms active in ``survey_year`` can be interviewed (survivors only); a firm founded after a
  benchmark year has no row for it (structurally missing). ``recall_lag = survey_year − year``.
* ``"rounds"`` — repeated interviews in each of ``survey_years`` of a panel drawn among the firms active in the
  first round. A firm that closed is recorded once, in the first round after closing, with ``active = False`` and
  no economic values; ``exit_year``/``exit_status`` are filled when the closure falls within the survey period.
* ``"census"`` — every firm in every year, without fieldwork error (the truth).

Sampling: ``n_firms`` firms by simple random sampling, or proportional stratified sampling by a firm
attribute in the sampling year (``stratify="is_spinoff"``, ``"founder_prior_occupation"``, ``"size"`` = employee
terciles, …) with largest-remainder allocation; ``n_firms=None`` interviews all eligible firms. Strata,
allocations and the sampling weights :math:`N_h/n_h` are kept in ``truth.sampling``.

Measurement (:class:`Fieldwork`) for a value reported with recall lag :math:`\ell` (0 for the current year):

* multiplicative error :math:`x^{rep} = x\,e^{u}`, :math:`u \sim N(0, (\sigma_0 + \sigma_1 \ell)^2)` on sales,
  material cost, capital, wage bill, price and employees; for the money items 3/4 of the variance of u is common
  to the firm-year (a respondent misremembers the firm's scale), so value added keeps its sign; additive
  :math:`N(0, (s_0 + s_1\ell)^2)` (defaults 0.05, 0.02) on the
  direct-sales share (clipped to [0, 1]);
* rounding: money to ``money_digits`` significant digits; employees to whole persons; with probability
  :math:`\min(1, h\,\ell)` the recalled values of a firm-year are heaped (money to 2 significant digits,
  employees above 10 to a multiple of 5);
* item non-response with probability :math:`m_0 + m_1 \ell`, independently per item (indicators included).

Manager schooling, founding year, origin and generation are reported without error. The truth (phase years,
parameters, true effects) stays on ``panel.truth``; ``keep_truth=True`` also keeps the census' true columns
(``true_tfp``, ``innovator``, ``at_risk``, ``innovates``, …) for research on the estimators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .. import schema
from .params import Truth

SurveyKind = Literal["recall", "rounds", "census"]
NOISY_MONEY = ("sales", "material_cost", "capital", "wage_bill", "product_price")
ITEMS = NOISY_MONEY + ("employees", "direct_sales_share") + schema.INNOVATION_INDICATORS
TRUE_COLUMNS = ("manager_prior_occupation_t", "true_tfp", "true_output", "true_phase",
                "innovator", "innovation_year", "subcontractor", "at_risk",
                "innovates", "pool", "market_price", "profit")
SURVEY_COLUMNS = (
    "firm_id", "year", "cluster", "industry", "technology", "founding_year", "founder_prior_occupation",
    "is_spinoff", "spinoff_parent_id", "manager_schooling_years", "manager_prior_occupation", "manager_generation",
    "exit_year", "exit_status", "sales", "material_cost", "capital", "employees", "wage_bill", "product_price",
    "own_brand", "own_retail_shop", "direct_sales_share", "long_term_subcontracting", "exporter", "active",
    "manager_schooling_years_t", "manager_generation_t", "survey_round", "is_recall", "recall_lag",
)


@dataclass(frozen=True, kw_only=True)
class Fieldwork:
    """Measurement-error, rounding and non-response parameters (see the module docstring).

    ``error_sd + error_sd_per_year·ℓ``: sd of the log error of money, price and employees; ``common_error_share``:
    share of that variance common to a firm-year's money items; ``share_error_sd + share_error_sd_per_year·ℓ``:
    sd of the additive error of the direct-sales share; ``missing + missing_per_year·ℓ``: item non-response
    probability; ``heaping_per_year·ℓ``: probability that a firm-year's answers are heaped (money to
    ``heap_digits`` significant digits, employees above 10 to multiples of 5); ``money_digits``: significant
    digits of money answers otherwise (0 = unrounded).
    """

    error_sd: float = 0.05
    error_sd_per_year: float = 0.02
    common_error_share: float = 0.75
    share_error_sd: float = 0.05
    share_error_sd_per_year: float = 0.02
    missing: float = 0.01
    missing_per_year: float = 0.015
    heaping_per_year: float = 0.04
    heap_digits: int = 2
    money_digits: int = 3

    @classmethod
    def exact(cls) -> Fieldwork:
        """No error, no rounding, no missing answers (the survey reports the census values)."""
        return cls(error_sd=0.0, error_sd_per_year=0.0, share_error_sd=0.0, share_error_sd_per_year=0.0, missing=0.0,
                   missing_per_year=0.0, heaping_per_year=0.0, money_digits=0)


def _round_sig(x: np.ndarray, digits: int | np.ndarray) -> np.ndarray:
    """Round to ``digits`` significant digits (0 = unchanged)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
        scale = 10.0 ** (np.asarray(digits) - 1 - mag)
        out = np.round(x * scale) / scale
    return np.where((np.asarray(digits) > 0) & np.isfinite(out) & (x != 0), out, x)


def _allocate(sizes: np.ndarray, n: int) -> np.ndarray:
    """Proportional allocation of n over strata with the largest-remainder rule, never above a stratum's size."""
    quota = n * sizes / sizes.sum()
    alloc = np.minimum(np.floor(quota).astype(int), sizes)
    rest = n - alloc.sum()
    order = np.argsort(-(quota - np.floor(quota)), kind="stable")
    for j in np.tile(order, 2):
        if rest <= 0:
            break
        if alloc[j] < sizes[j]:
            alloc[j] += 1
            rest -= 1
    return alloc


def draw_sample(frame: pd.DataFrame, n_firms: int | None, rng: np.random.Generator,
                stratify: str | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Firm ids drawn from ``frame`` (one row per eligible firm) and a description of the draw."""
    ids = frame["firm_id"].to_numpy()
    N = len(ids)
    if n_firms is None or n_firms >= N:
        info = {"method": "all eligible firms", "population": N, "n": N}
        if n_firms is not None and n_firms > N:
            info["note"] = f"{n_firms} firms requested but only {N} were eligible: all were interviewed"
        return np.sort(ids), info
    if n_firms <= 0:
        raise ValueError("n_firms must be positive")
    if stratify is None:
        pick = rng.choice(N, size=n_firms, replace=False)
        return np.sort(ids[pick]), {"method": "simple random sample", "population": N, "n": n_firms,
                                     "weight": N / n_firms}
    if stratify == "size":
        key = pd.qcut(frame["employees"].rank(method="first"), 3, labels=["small", "medium", "large"])
    elif stratify in frame.columns:
        key = frame[stratify]
    else:
        raise ValueError(f"cannot stratify by {stratify!r}: use 'size' or a firm column such as is_spinoff")
    key = key.astype(str).to_numpy()
    strata, inv = np.unique(key, return_inverse=True)
    sizes = np.bincount(inv)
    alloc = _allocate(sizes, n_firms)
    chosen = [ids[np.flatnonzero(inv == h)[rng.choice(sizes[h], size=alloc[h], replace=False)]]
              for h in range(len(strata))]
    weights = {str(s): (float(sizes[h] / alloc[h]) if alloc[h] else None) for h, s in enumerate(strata)}
    return np.sort(np.concatenate(chosen)), {
        "method": f"stratified by {stratify}, proportional allocation", "population": N, "n": int(alloc.sum()),
        "strata": {str(s): int(sizes[h]) for h, s in enumerate(strata)},
        "allocation": {str(s): int(alloc[h]) for h, s in enumerate(strata)}, "weights": weights}


def _measure(df: pd.DataFrame, lag: np.ndarray, fw: Fieldwork, rng: np.random.Generator) -> None:
    """Apply fieldwork error in place to the reported items of ``df`` (rows aligned with ``lag``; rows of closed
    firms hold NaN items and stay NaN)."""
    n = len(df)
    lag = lag.astype(float)
    sd = fw.error_sd + fw.error_sd_per_year * lag
    # a respondent who misremembers the firm's scale misremembers all its money values alike: most of the error
    # variance is common to the row, so value added keeps its sign; heaping is a habit of the row too
    common = rng.standard_normal(n)
    heap = rng.random(n) < np.minimum(1.0, fw.heaping_per_year * lag)
    p_miss = np.clip(fw.missing + fw.missing_per_year * lag, 0.0, 1.0)
    miss = rng.random((n, len(ITEMS))) < p_miss[:, None]
    new: dict[str, Any] = {}
    for col in NOISY_MONEY:
        u = sd * (np.sqrt(fw.common_error_share) * common + np.sqrt(1 - fw.common_error_share) * rng.standard_normal(n))
        x = df[col].to_numpy(dtype=float, na_value=np.nan) * np.exp(u)
        digits = np.where(heap, fw.heap_digits, fw.money_digits) if fw.money_digits else np.zeros(n, dtype=int)
        new[col] = _round_sig(x, digits)
    emp = df["employees"].to_numpy(dtype=float, na_value=np.nan) * np.exp(rng.standard_normal(n) * sd)
    emp = np.maximum(1.0, np.round(emp))
    new["employees"] = np.where(heap & (emp > 10), np.round(emp / 5.0) * 5.0, emp)
    dss = df["direct_sales_share"].to_numpy(dtype=float, na_value=np.nan)
    if fw.share_error_sd or fw.share_error_sd_per_year:
        dss = dss + rng.standard_normal(n) * (fw.share_error_sd + fw.share_error_sd_per_year * lag)
    new["direct_sales_share"] = np.clip(dss, 0.0, 1.0)
    for j, col in enumerate(ITEMS):
        if col in new:
            df[col] = np.where(miss[:, j], np.nan, new[col])
        elif miss[:, j].any():
            vals = df[col].to_numpy(dtype=object, na_value=pd.NA)
            vals[miss[:, j]] = pd.NA
            df[col] = pd.array(vals, dtype="boolean")


def _firm_level_at(census: pd.DataFrame, ids: np.ndarray, year: int) -> pd.DataFrame:
    """Manager attributes of the sampled firms as reported in ``year`` (the manager at that interview)."""
    at = census[(census["year"] == year) & census["firm_id"].isin(ids)]
    return at.set_index("firm_id")[["manager_schooling_years_t", "manager_generation_t", "manager_prior_occupation_t"]]


def survey_frame(census: pd.DataFrame, truth: Truth, *, kind: SurveyKind = "recall", survey_year: int | None = None,
                 benchmark_years: Sequence[int] = (), survey_years: Sequence[int] = (), n_firms: int | None = None,
                 stratify: str | None = None, fieldwork: Fieldwork | None = None, seed: Any = None,
                 keep_truth: bool = False) -> tuple[pd.DataFrame, Truth]:
    """Fieldwork on a census frame from :func:`~clusterecon.simulate.model.simulate_frame`; returns a long frame
    (columns ``firm_id``, ``year``, …) and the truth with ``sampling`` filled. See :func:`survey`."""
    rng = np.random.default_rng(seed)
    fw = fieldwork if fieldwork is not None else Fieldwork()
    years_all = census["year"].to_numpy()
    last = int(years_all.max())
    if kind == "census":
        out = census.copy()
        out["survey_round"] = 1
        out["is_recall"] = False
        out["recall_lag"] = 0
        cols = [c for c in SURVEY_COLUMNS if c in out.columns] + (list(TRUE_COLUMNS) if keep_truth else [])
        return out[cols].reset_index(drop=True), truth.with_sampling(kind="census", n=int(out["firm_id"].nunique()))
    if kind == "recall":
        sy = int(survey_year) if survey_year is not None else last
        late = sorted({int(b) for b in benchmark_years if int(b) >= sy})
        if late:  # a recall question cannot be about a year after the interview: refused, not dropped
            raise ValueError(f"benchmark years {late} are not before the survey year {sy}: recall questions ask "
                             "about earlier years")
        bench = sorted({int(b) for b in benchmark_years})
        if any(b not in truth.phase_by_year for b in bench) or sy not in truth.phase_by_year:
            raise ValueError(f"survey year {sy} and benchmark years {bench} must lie within the simulated years "
                             f"{min(truth.phase_by_year)}–{max(truth.phase_by_year)}")
        frame = census[years_all == sy]
        ids, info = draw_sample(frame, n_firms, rng, stratify)
        rows = census[census["firm_id"].isin(ids) & census["year"].isin(bench + [sy])].copy()
        rows["survey_round"] = 1
        rows["recall_lag"] = sy - rows["year"].to_numpy()
        rows["is_recall"] = rows["recall_lag"].to_numpy() > 0
        mgr = _firm_level_at(census, ids, sy)
        rows["manager_schooling_years"] = mgr["manager_schooling_years_t"].reindex(rows["firm_id"]).to_numpy()
        rows["manager_generation"] = mgr["manager_generation_t"].reindex(rows["firm_id"]).to_numpy()
        rows["manager_prior_occupation"] = mgr["manager_prior_occupation_t"].reindex(rows["firm_id"]).to_numpy()
        rows["exit_year"] = pd.array([pd.NA] * len(rows), dtype="Int64")
        rows["exit_status"] = pd.Categorical(["active"] * len(rows), categories=list(schema.EXIT_STATUS_CODES))
        design_years: tuple[int, ...] = (sy,)
        info.update(kind="recall", survey_year=sy, benchmark_years=tuple(bench),
                    eligible="firms active in the survey year (survivors only)")
    elif kind == "rounds":
        rounds = sorted({int(y) for y in survey_years})
        if len(rounds) < len(list(survey_years)):
            raise ValueError(f"survey_years {list(survey_years)} repeat a year: each round is one year")
        if not rounds:
            raise ValueError("kind='rounds' needs survey_years, e.g. survey_years=(2000, 2002, 2004)")
        outside = [y for y in rounds if y not in truth.phase_by_year]
        if outside:  # a round outside the simulated years has no firms: refused, not an empty or partial survey
            raise ValueError(f"survey_years {outside} lie outside the simulated years "
                             f"{min(truth.phase_by_year)}–{max(truth.phase_by_year)}")
        frame = census[years_all == rounds[0]]
        ids, info = draw_sample(frame, n_firms, rng, stratify)
        sub = census[census["firm_id"].isin(ids)]
        rows = sub[sub["year"].isin(rounds)].copy()
        rows["survey_round"] = rows["year"].map({y: r + 1 for r, y in enumerate(rounds)}).astype("int64")
        rows["recall_lag"] = 0
        rows["is_recall"] = False
        # closures: one inactive row in the first round after the exit
        firm_info = sub.drop_duplicates("firm_id").set_index("firm_id")
        ex = firm_info["exit_year"]
        closed = ex[ex.notna() & (ex <= rounds[-1])]
        r_arr = np.array(rounds)
        pos = np.searchsorted(r_arr, closed.to_numpy(dtype=np.int64), side="left")
        ok = pos < len(r_arr)
        extra = firm_info.loc[closed.index[ok]].reset_index()
        if len(extra):
            extra["year"] = r_arr[pos[ok]]
            extra["survey_round"] = pos[ok] + 1
            extra["active"] = False
            extra["recall_lag"] = 0
            extra["is_recall"] = False
            for c in NOISY_MONEY + ("employees", "direct_sales_share", "manager_schooling_years_t",
                                    "manager_generation_t"):
                extra[c] = np.nan
            for c in schema.INNOVATION_INDICATORS:
                extra[c] = pd.NA
        last_seen = rows.groupby("firm_id", observed=True)["year"].max()
        mgr = sub.set_index(["firm_id", "year"])[["manager_schooling_years_t", "manager_generation_t",
                                                  "manager_prior_occupation_t"]]
        last_mgr = mgr.loc[list(zip(last_seen.index, last_seen.to_numpy()))].droplevel("year")
        if len(extra):
            for c in schema.INNOVATION_INDICATORS:
                rows[c] = rows[c].astype("boolean")
                extra[c] = extra[c].astype("boolean")
            rows = pd.concat([rows, extra[rows.columns]], ignore_index=True)
        rows["manager_schooling_years"] = last_mgr["manager_schooling_years_t"].reindex(rows["firm_id"]).to_numpy()
        rows["manager_generation"] = last_mgr["manager_generation_t"].reindex(rows["firm_id"]).to_numpy()
        rows["manager_prior_occupation"] = last_mgr["manager_prior_occupation_t"].reindex(rows["firm_id"]).to_numpy()
        in_window = rows["exit_year"].notna() & (rows["exit_year"] <= rounds[-1])
        rows["exit_year"] = rows["exit_year"].astype("Int64").where(in_window, pd.NA)
        rows["exit_status"] = pd.Categorical(np.where(in_window, "closed", "active"),
                                             categories=list(schema.EXIT_STATUS_CODES))
        design_years = tuple(rounds)
        info.update(kind="rounds", survey_years=tuple(rounds), eligible="firms active in the first round")
    else:
        raise ValueError(f"kind must be 'recall', 'rounds' or 'census', not {kind!r}")
    rows = rows.sort_values(["firm_id", "year"]).reset_index(drop=True)
    for c in schema.INNOVATION_INDICATORS + ("active", "is_spinoff", "is_recall"):
        rows[c] = rows[c].astype("boolean")
    for c in NOISY_MONEY + ("employees", "direct_sales_share"):
        rows[c] = rows[c].astype(float)
    _measure(rows, rows["recall_lag"].to_numpy(), fw, rng)
    info["fieldwork"] = fw
    info["seed"] = seed if isinstance(seed, (int, type(None))) else repr(seed)
    cols = [c for c in SURVEY_COLUMNS if c in rows.columns] + ([c for c in TRUE_COLUMNS if c in rows.columns]
                                                                if keep_truth else [])
    out = rows[cols]
    out.attrs["design_years"] = design_years
    return out, truth.with_sampling(**info)


def survey(census: Any, *, kind: SurveyKind = "recall", survey_year: int | None = None,
           benchmark_years: Sequence[int] = (), survey_years: Sequence[int] = (), n_firms: int | None = None,
           stratify: str | None = None, fieldwork: Fieldwork | None = None, seed: Any = None,
           keep_truth: bool = False):
    """Survey a simulated census and return what fieldwork would collect, as a SurveyPanel.

    Parameters
    ----------
    census : SurveyPanel from :func:`~clusterecon.simulate.model.simulate`, or ``(frame, truth)`` from
        :func:`~clusterecon.simulate.model.simulate_frame`.
    kind : ``"recall"`` (one interview in ``survey_year``, recall for ``benchmark_years``; survivors only),
        ``"rounds"`` (interviews in each of ``survey_years``) or ``"census"``.
    n_firms : sample size (None = all eligible firms); ``stratify``: firm column or ``"size"``.
    fieldwork : :class:`Fieldwork` error parameters (``Fieldwork.exact()`` for none).
    seed : seed of the fieldwork stream (independent of the simulation's seed).
    keep_truth : keep the true columns (``true_tfp``, ``at_risk``, ``innovates``, …) next to the canonical ones.

    Returns
    -------
    SurveyPanel with ``design = SurveyDesign(kind, survey_years)`` and ``truth`` (:class:`Truth` with
    ``sampling`` describing the draw, strata and weights).
    """
    from ..panel import SurveyDesign, SurveyPanel
    from .model import EXTRA_LABELS

    if isinstance(census, tuple):
        frame, truth = census
    else:
        frame, truth = census.frame.reset_index(), census.truth
        if not isinstance(truth, Truth):
            raise TypeError("survey() needs a simulated census (a SurveyPanel whose truth is a simulate.Truth)")
    out, tr = survey_frame(frame, truth, kind=kind, survey_year=survey_year, benchmark_years=benchmark_years,
                           survey_years=survey_years, n_firms=n_firms, stratify=stratify, fieldwork=fieldwork,
                           seed=seed, keep_truth=keep_truth)
    years = out.attrs.get("design_years", tuple(truth.phase_by_year))
    design = SurveyDesign(kind=kind, survey_years=tuple(years), source=f"clusterecon.simulate ({truth.params.cluster})")
    return SurveyPanel.from_frame(out, design=design, labels=EXTRA_LABELS, truth=tr)
