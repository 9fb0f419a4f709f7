"""Shared pieces of the hypothesis battery: the analysis frame with derived columns, the early/late period split,
and the wrapper that turns "the data cannot support this" into a skipped result instead of a crash."""

from __future__ import annotations

import dataclasses
import re
import traceback
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from .. import derive
from ..estimators.results import EstimationResult, Omitted
from ..panel import MISSING_WHY, SurveyPanel
from ..schema import INNOVATION_INDICATORS
from .result import HypothesisResult, SkipHypothesis, ThinEvidence, fmt_p  # noqa: F401 (fmt_p: used by the modules)


def analysis_panel(panel: SurveyPanel) -> SurveyPanel:
    """``panel`` with the analysis frame's columns added to its firm-year data (so that estimators that need the
    panel itself, such as the exit hazard's risk set, see any_innovation, log productivity, ...)."""
    f = analysis_frame(panel)
    new = [c for c in f.columns if c not in panel.frame.columns and c not in ("late", "operating")]
    return panel.replace(data=panel.data.join(f[new]))


def innovation_block(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The innovation indicators the survey records (own brand, retail shop, long-term subcontracting, exports) as
    floats; None when it records none."""
    ind = [c for c in INNOVATION_INDICATORS if c in frame.columns]
    return frame[ind].astype("float64") if ind else None


def any_innovation(frame: pd.DataFrame, block: pd.DataFrame | None = None) -> pd.Series | None:
    """Firm-year indicator of any innovation: NaN where no indicator is recorded; None when the survey records
    none. ``block``: :func:`innovation_block` of ``frame``, when the caller has it."""
    block = innovation_block(frame) if block is None else block
    if block is None:
        return None
    return (block.max(axis=1, skipna=True) > 0).astype("float64").where(block.notna().any(axis=1))


#: the names the models use for two derived logs (the formulas stay short); the report's steps use them too
SHORT_NAMES = {"log_value_added": "log_va", "log_product_price": "log_price"}


def analysis_frame(panel: SurveyPanel, split_year: int | None = None) -> pd.DataFrame:
    """``panel.frame`` plus the columns the hypotheses use (logs are NA where the level is not positive; each model
    then counts those rows under "missing <column>"):

    log_sales, value_added, log_va, log_va_per_worker, log_price, log_employees, log_capital, age, any_innovation,
    n_innovations, late (year ≥ split year), second_generation; with ``active``, operating (0 on closure records,
    which every model leaves out as "not operating (closure record)").
    """
    p = derived_panel(panel)
    f = p.frame.rename(columns=SHORT_NAMES)
    why = f.attrs.get(MISSING_WHY)
    if why:  # the omission records name the reason a log is missing under the short names too
        f.attrs[MISSING_WHY] = {SHORT_NAMES.get(k, k): v for k, v in why.items()}
    for c in ("sales", "material_cost", "employees", "capital", "product_price", "wage_bill", "value_added",
              "va_per_worker", "age", "manager_schooling_years", *[c for c in f.columns if c.startswith("log_")]):
        if c in f.columns:
            f[c] = pd.to_numeric(f[c], errors="coerce").astype("float64")
    year = f.index.get_level_values("year").to_numpy()
    block = innovation_block(f)
    if block is not None:
        f["n_innovations"] = block.sum(axis=1, min_count=1)
        f["any_innovation"] = any_innovation(f, block)
    split = split_year if split_year is not None else late_split(panel)
    f["late"] = (year >= split).astype("float64")
    # the current manager's generation when successions are tracked: the firm-level column is the last manager's,
    # a value from the future for earlier years (conditioning on it makes current schooling a proxy for "the
    # succession has happened", i.e. for time, and innovation accumulates over time)
    gen = next((c for c in ("manager_generation_t", "manager_generation") if c in f and f[c].notna().any()), None)
    if gen is not None:
        f["second_generation"] = (pd.to_numeric(f[gen], errors="coerce") >= 2).astype("float64").where(
            f[gen].notna())
    f.attrs["split_year"] = split
    return _closures_explained(f)


#: why a model leaves out a closure record (``active`` False: the row kept for the year a firm closed)
CLOSURE = "not operating (closure record)"


def _closures_explained(f: pd.DataFrame) -> pd.DataFrame:
    """``f`` whose columns missing on closure records say so (MISSING_WHY): a referee reading "109 missing
    any_innovation" would take them for operating firm-years without an innovation record. The rows stay, since the
    exit hazard reads the exits from them."""
    if "active" not in f.columns:
        return f
    f["operating"] = f["active"].astype("boolean").fillna(True).astype("float64")
    closed = f["operating"].to_numpy() == 0
    if closed.any():
        why = f.attrs.get(MISSING_WHY, {})
        first = {"source": "operating", "at_most": 0.0, "why": CLOSURE}
        gaps = f.columns[f.loc[closed].isna().any().to_numpy()]
        f.attrs[MISSING_WHY] = {**why, **{c: [first, *([why[c]] if isinstance(why.get(c), dict) else why.get(c, []))]
                                          for c in gaps}}
    return f


def with_left_out(result: EstimationResult, left_out: Iterable[Omitted]) -> EstimationResult:
    """``result`` with the rows the battery set aside before fitting added to its omissions, so that its N and the
    rows it lists as left out add up to the sample the claim is about."""
    extra = tuple(o for o in left_out if o.n)
    return dataclasses.replace(result, omitted=(*result.omitted, *extra)) if extra else result


def derived_panel(panel: SurveyPanel) -> SurveyPanel:
    """``panel`` with the derived columns of the analysis frame, and their provenance entries (the report lists
    them after the loader's steps)."""
    # value added, labour productivity, logs (policy "na") and age come from clusterecon.derive, so the battery
    # uses the same definitions (and provenance entries) as a user's own derive_all()
    cols = set(panel.frame.columns)
    p = panel
    if {"sales", "material_cost"} <= cols:
        p = derive.add_value_added(p)
        if "employees" in cols:
            p = derive.add_labour_productivity(p)
    logged = [c for c in ("sales", "value_added", "va_per_worker", "product_price", "employees", "capital")
              if c in p.data.columns]
    if logged:
        p = derive.add_logs(p, logged, policy="na", prefix="log_")
    if "founding_year" in cols:
        p = derive.add_age(p)
    return p


def late_split(panel: SurveyPanel) -> int:
    """The first year of the "later" period: the middle benchmark year (the upper half of the observed years)."""
    years = np.array(panel.years)
    return int(years[len(years) // 2]) if len(years) > 1 else int(years[0])


def require_columns(frame: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns or frame[c].notna().sum() == 0]
    if missing:
        raise SkipHypothesis(f"{what} needs {', '.join(missing)}, which the survey does not contain")


def run_hypothesis(fn: Callable[[], HypothesisResult], key: str, title: str, question: str,
                   claims: tuple[str, ...] = ()) -> HypothesisResult:
    """Run one hypothesis; a SkipHypothesis (the design cannot answer) becomes ``status="skipped"`` for each of its
    ``claims``, a ThinEvidence (the data could answer but are too thin) ``"inconclusive"``; a degenerate fit that an
    estimator refuses (separation, non-convergence, a singular matrix) makes them ``"inconclusive"``; any other
    error ``"failed"`` with its message (a bug: the traceback is kept in ``extra``), so that the battery always
    finishes."""
    from ..estimators.errors import ConvergenceError, SeparationError

    try:
        return fn()
    except SkipHypothesis as e:
        return HypothesisResult.skipped(key, title, question, str(e), claims=claims)
    except ThinEvidence as e:
        return HypothesisResult.skipped(key, title, question, str(e), status="inconclusive", claims=claims)
    except (SeparationError, ConvergenceError, np.linalg.LinAlgError) as e:
        # a degenerate fit (no finite estimate, no convergence, a singular variance) is thin evidence, not a bug
        # the estimator's advice on changing its model is for its own callers: the battery's model is fixed
        why = re.split(r"\. (?:Remove|Drop) ", str(e), maxsplit=1)[0].rstrip(".")
        res = HypothesisResult.skipped(key, title, question, f"degenerate fit ({type(e).__name__}: {why}); the data "
                                       "are too few or too uniform to decide the claim", status="inconclusive",
                                       claims=claims)
        return HypothesisResult(**{**res.__dict__, "extra": {"traceback": traceback.format_exc()}})
    except Exception as e:  # noqa: BLE001 - the battery must finish; the failure is reported, not hidden
        res = HypothesisResult.skipped(key, title, question, f"{type(e).__name__}: {e}", status="failed",
                                       claims=claims)
        return HypothesisResult(**{**res.__dict__, "extra": {"traceback": traceback.format_exc()}})


def add_wald(tests: dict, key: str, fit, hypothesis: str) -> None:
    """``tests[key] = fit.wald_test(hypothesis)`` unless the variance of the tested coefficient is singular (an exact
    fit: zero standard error): the claim built on that coefficient then says the fit is degenerate, and one
    degenerate secondary fit does not take the hypothesis's other claims down with it."""
    t = fit.wald_test(hypothesis)
    if np.isfinite(t.stat):  # a rank-deficient variance gives a test that does not exist (NaN): left out
        tests[key] = t


