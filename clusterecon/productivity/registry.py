"""Control-function estimators registered as :func:`~clusterecon.productivity.production_function` methods.

``production_function(panel, method="acf")`` logs output, inputs and the proxy (materials by default; OP takes
``proxy="investment"`` or any positive column) and maps them to prodest's roles: capital is the state variable,
the other inputs are free, and for gross output (materials among the inputs) ACF and GNR treat materials as the
flexible input. Priority order for a survey (:data:`PRIORITY`): ACF when materials are observed, then LP, then
OP when investment is, index numbers last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..estimators.results import Omitted
from ..panel import SurveyPanel
from .cobb_douglas import lazy_targets, register_method
from .pf_result import ControlFunctionResult

#: methods in the order the battery prefers them, with the column each needs beyond output, labour and capital
PRIORITY: tuple[tuple[str, str | None], ...] = (("acf", "material_cost"), ("lp", "material_cost"),
                                                 ("op", "investment"), ("wooldridge", "material_cost"))


#: the arguments the registered wrappers set themselves (not options a user passes)
_FIXED = ("output", "free", "state", "proxy", "controls", "value_added", "label", "flexible")


#: OP and LP: both wrappers reach the same two-step code
_TWO_STEP = lazy_targets(".olley_pakes", "olley_pakes", "control_function_two_step")


def _roles(inputs: Sequence[str], proxy: str) -> tuple[list[str], list[str], bool]:
    state = [c for c in inputs if "capital" in c] or [inputs[-1]]
    gross = any(c == proxy for c in inputs)
    free = [c for c in inputs if c not in state and c != proxy]
    return free, state, gross


@register_method("acf", proxy="material_cost", target=lazy_targets(".acf", "acf"), fixed=_FIXED)
def _acf(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
         **kw: Any) -> ControlFunctionResult:
    from .acf import acf

    free, state, gross = _roles(inputs, proxy)
    return acf(frame, output=y, free=free, state=state, proxy=proxy, controls=controls, value_added=not gross, **kw)


@register_method("lp", proxy="material_cost", target=_TWO_STEP, fixed=_FIXED)
def _lp(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
        **kw: Any) -> ControlFunctionResult:
    from .levinsohn_petrin import levinsohn_petrin

    free, state, _ = _roles(inputs, proxy)
    return levinsohn_petrin(frame, output=y, free=free, state=state, proxy=proxy, controls=controls, **kw)


@register_method("op", proxy="investment", target=_TWO_STEP, fixed=_FIXED)
def _op(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
        **kw: Any) -> ControlFunctionResult:
    from .olley_pakes import olley_pakes

    free, state, _ = _roles(inputs, proxy)
    return olley_pakes(frame, output=y, free=free, state=state, proxy=proxy, controls=controls, **kw)


@register_method("wooldridge", proxy="material_cost", target=lazy_targets(".wooldridge_pf", "wooldridge"), fixed=_FIXED)
def _wrdg(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
          **kw: Any) -> ControlFunctionResult:
    from .wooldridge_pf import wooldridge

    free, state, _ = _roles(inputs, proxy)
    return wooldridge(frame, output=y, free=free, state=state, proxy=proxy, controls=controls, **kw)


#: methods whose law of motion takes shifters (``motion_controls``)
MOTION_CONTROLLED = ("acf", "lp", "op", "gnr")


def innovation_index(frame: pd.DataFrame) -> pd.Series | None:
    """Share of the innovation indicators (own brand, own retail shop, long-term subcontracting, exporter) that a
    firm-year reports, over the indicators answered; None when the survey has none of them."""
    from ..schema import INNOVATION_INDICATORS

    cols = [c for c in INNOVATION_INDICATORS if c in frame.columns]
    if not cols:
        return None
    ind = frame[cols].apply(lambda s: pd.to_numeric(s.astype("Float64"), errors="coerce"))
    return ind.mean(axis=1, skipna=True).astype(float)


@register_method("gnr", proxy="material_cost", target=lazy_targets(".gnr", "gnr"), fixed=_FIXED)
def _gnr(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
         **kw: Any) -> ControlFunctionResult:
    """GNR on gross output: ``proxy`` (materials, logged) is the flexible input and its log share of revenue is
    ln(materials) − ln(output) (both nominal)."""
    from .gnr import gnr

    free, state, gross = _roles(inputs, proxy)
    if not gross:
        from ..estimators.design import SpecificationError

        raise SpecificationError("GNR estimates gross output: use output='gross' (materials among the inputs)")
    return gnr(frame, output=y, free=free, state=state, flexible=proxy, controls=controls, **kw)


#: fewest firm prices a cluster-year needs for its price index (else its rows are left out of the deflated fit)
MIN_PRICES = 5
#: least share of the firm-years with output and inputs on which a law-of-motion shifter must be observed to enter
#: the law of motion (the estimators leave out a firm-year without it, and the lag of the firm-year after it)
SHIFTER_COVERAGE = 0.95
#: why a firm-year is left out when its cluster-year has no price index
NO_PRICE = (f"no product price to deflate by (cluster-year median price missing: fewer than {MIN_PRICES} prices)")


def output_price_index(frame: pd.DataFrame, column: str = "product_price") -> pd.Series | None:
    r"""Cluster-year output price index from the firms' own prices: :math:`P_{ct} = \operatorname{median}_i
    p_{ict} / \operatorname{median}_i p_{ic t_0}` (t0 the cluster's first year with prices), by firm-year; NaN where a
    cluster-year has fewer than :data:`MIN_PRICES` prices; None when the frame has no usable ``column``.

    The median is the price of the cluster's typical product: a minority of innovators' premium prices or
    subcontractors' cost-plus prices does not move it (an average would count quality upgrading as inflation)."""
    if column not in frame.columns:
        return None
    price = pd.to_numeric(frame[column], errors="coerce").astype(float).where(lambda s: s > 0)
    if price.notna().sum() < 30:
        return None
    year = frame.index.get_level_values(1)
    keys = [frame["cluster"].astype(str).to_numpy(), year] if "cluster" in frame.columns else [year]
    grouped = price.groupby(keys)
    med = grouped.median().where(grouped.count() >= MIN_PRICES)
    by_cluster = med.groupby(level=0) if len(keys) == 2 else med.groupby(lambda _: 0)
    index = med / by_cluster.transform(lambda s: s.dropna().iloc[0] if s.notna().any() else np.nan)
    return pd.Series(index.reindex(pd.MultiIndex.from_arrays(keys) if len(keys) == 2 else year).to_numpy(),
                     index=frame.index, name="output_price_index")


@dataclass(frozen=True)
class SurveySetup:
    """How a survey's production function is fitted (:func:`survey_setup`): the frame with deflated sales and
    material cost (and ``innovation_index`` when the survey observes it where the estimators need it), the deflator
    (``None`` in money), the lag and the law-of-motion shifters, one note per choice, and ``omitted``: the firm-years
    the setup itself left out of ``frame`` (output and inputs present, but no price index to deflate by), which
    :meth:`account` adds to a result's omitted rows."""

    frame: pd.DataFrame
    deflator: pd.Series | None
    lag: str
    shifters: dict
    notes: tuple[str, ...]
    omitted: tuple[Omitted, ...] = ()

    def account(self, result: Any) -> Any:
        """``result`` fitted on :attr:`frame`, with the firm-years the setup left out listed first among its omitted
        rows (so nobs + omitted = the survey's firm-years)."""
        if not self.omitted:
            return result
        return replace(result, omitted=(*self.omitted, *result.omitted))

    def options(self, method: str) -> dict[str, Any]:
        """Fitting options of a :data:`PRIORITY` method: the lag, ACF's plausible root, no bootstrap (surveys judge
        trends and verdicts, not the elasticities' s.e.), the shifters where the law of motion takes them."""
        return {"lag": self.lag, **({"root": "plausible"} if method == "acf" else {}),
                **({"reps": 0} if method != "wooldridge" else {}),
                **(self.shifters if method in MOTION_CONTROLLED else {})}

    def in_money(self, ln_tfp: pd.Series) -> pd.Series:
        """Log TFP of the deflated fit back on the scale of output in money (revenue productivity): + ln P_ct."""
        if self.deflator is None:
            return ln_tfp
        return ln_tfp + np.log(self.deflator.reindex(ln_tfp.index).to_numpy())


def _has_inputs(frame: pd.DataFrame) -> pd.Series:
    """Firm-years whose value added, capital and employees can be logged (the rows an estimator can use)."""
    num = {c: pd.to_numeric(frame[c], errors="coerce") if c in frame.columns else pd.Series(np.nan, index=frame.index)
           for c in ("sales", "material_cost", "capital", "employees")}
    return ((num["sales"] - num["material_cost"]) > 0) & (num["material_cost"] > 0) & (num["capital"] > 0) & (
        num["employees"] > 0)


def survey_setup(data: SurveyPanel | pd.DataFrame, *, deflate: bool = True) -> SurveySetup:
    """The choices :func:`best_production_function` documents (deflation, lag, law of motion), made once for every
    caller that fits a survey's production function (also :func:`~.selection.guarded_tfp`).

    The innovation index enters the law of motion only when it is observed on at least :data:`SHIFTER_COVERAGE` of
    the firm-years with output and inputs; otherwise it is left out and a note says where it is missing (a shifter
    missing in whole survey years would drop those years and the lags of the years after them)."""
    from ..estimators.design import as_panel_frame

    frame = as_panel_frame(data)
    notes: list[str] = []
    omitted: list[Omitted] = []
    years = pd.Index(frame.index.get_level_values(1))
    firms = pd.Index(frame.index.get_level_values(0))
    consecutive = int(((pd.Series(years).diff() == 1) & (pd.Series(firms).shift() == firms).to_numpy()).sum())
    lag = "calendar" if consecutive >= 50 else "previous"
    index = output_price_index(frame) if deflate else None
    if index is not None:
        # firm-years with output but no price index: left out here, under their own reason (they would otherwise
        # reach the estimator as "missing value_added"); those left have no sales, their reason already
        sales = pd.to_numeric(frame["sales"], errors="coerce")
        unpriced = (index.isna() & sales.notna()).to_numpy()
        if unpriced.any():
            omitted.append(Omitted(NO_PRICE, int(unpriced.sum())))
        # the rows kept without an index lack sales: dividing by 1 leaves their missing values (and the recorded
        # cause, e.g. "missing sales") as they were instead of blanking a present material cost
        by = index.fillna(1.0)
        materials = pd.to_numeric(frame["material_cost"], errors="coerce")
        frame = frame.assign(sales=sales / by, material_cost=materials / by)
        frame, index = frame.loc[~unpriced], index.loc[~unpriced]
        lost = int(unpriced.sum())
        notes.append("output deflated: sales and material cost divided by the cluster-year median product price "
                     "(relative to the first year), so TFP does not move with the cluster's output price"
                     + (f"; {lost} firm-years in cluster-years with fewer than {MIN_PRICES} prices are left out"
                        if lost else ""))
    else:
        notes.append("output in current money: " + ("deflate=False" if not deflate else "no product_price column "
                     "with enough prices for a cluster-year price index") + " (TFP includes the output price)")
    shifters: dict[str, Any] = {}
    innov = innovation_index(frame)
    if innov is not None:
        usable = _has_inputs(frame)
        seen = innov[usable].notna()
        if len(seen) and seen.mean() >= SHIFTER_COVERAGE:
            frame = frame.assign(innovation_index=innov)
            shifters = {"motion_controls": ["innovation_index"]}
            notes.append("law of motion g(omega_(t-1), innovation_index): the share of innovation indicators a firm "
                         "reports shifts expected productivity (De Loecker 2013)")
        else:
            by_year = seen.groupby(level=1).mean()
            gaps = [str(y) for y, v in by_year.items() if v < 0.5]
            where = f"missing in {', '.join(gaps)}" if gaps else "missing on many firm-years"
            notes.append(f"law of motion without innovation_index: the innovation shifter is {where} (observed on "
                         f"{int(seen.sum())} of {len(seen)} firm-years with output and inputs, fewer than "
                         f"{SHIFTER_COVERAGE:.0%}); with it the estimators would leave those firm-years out and the "
                         "firm-years after them would lose their lag")
    return SurveySetup(frame, index, lag, shifters, tuple(notes), tuple(omitted))


def best_production_function(data: SurveyPanel | pd.DataFrame, *, deflate: bool = True, **options: Any,
                             ) -> tuple[Any, list[str]]:
    r"""The highest-priority control-function estimator the data support (:data:`PRIORITY`), fitted by
    :func:`production_function` on value added; ``(result, notes)`` with one note per estimator tried and why it
    was passed over, and one on the output deflator. Returns ``(None, notes)`` when none applies. ``data``: a
    :class:`~clusterecon.panel.SurveyPanel` or a (firm, year)-indexed frame, as :func:`production_function` takes.
    The result's omitted rows include the firm-years the deflation left out (:attr:`SurveySetup.omitted`).

    * **Deflation** (``deflate=True``, when the survey has ``product_price``): sales and material cost are divided
      by the cluster-year output price index :math:`P_{ct}` (:func:`output_price_index`), so the output is real value
      added :math:`(S_{it} - M_{it})/P_{ct}` (single deflation). In money, value added carries the cluster's price,
      which falls as imitators' supply grows; the estimated elasticities then mix technology with the demand the
      cluster faces (revenue vs physical productivity: Klette & Griliches 1996; Foster, Haltiwanger & Syverson
      2008; De Loecker 2011). The survey's own prices stand in for the industry deflator a cluster survey lacks;
      with a deflator table, deflate first (:func:`clusterecon.derive.deflate`) and pass ``deflate=False``. On
      simulated clusters (means over 20 seeds; truth (0.6, 0.3) garments, (0.5, 0.4) machinery) deflation moves
      ACF from (0.66, 0.26) to (0.63, 0.29) on 200 garments firms observed yearly and from (0.54, 0.39), sd 0.08,
      to (0.55, 0.38), sd 0.04, on machinery; on the recall and four-round designs it changes little
      (``docs/production.md``).
    * **Lag**. Recall surveys with benchmark years (no consecutive years) use ``lag="previous"``; ACF reports its
      plausible root (:func:`~.acf.acf` ``root="plausible"``).
    * **Law of motion**. When the survey has innovation indicators, their share enters the law of motion of
      ACF/LP/OP (:func:`~.control_function.motion_controls`): without it, ACF on the three recall years 5 years
      apart of the garments design puts (0.37, 0.55) on (labour, capital) against a true (0.6, 0.3) on average over
      simulated clusters, with it (0.59, 0.33) (measured with the simulator's earlier firm-effect productivity).
      The share enters only where it is observed on at least :data:`SHIFTER_COVERAGE` of the firm-years with
      output and inputs (a survey that asks the indicators in its last year only would otherwise lose the earlier
      years and every lag); a note says when and why it was left out.
    """
    from ..estimators.design import SpecificationError
    from .cobb_douglas import production_function

    setup = survey_setup(data, deflate=deflate)
    frame, notes = setup.frame, list(setup.notes)
    for method, column in PRIORITY:
        if column not in frame.columns or pd.to_numeric(frame[column], errors="coerce").gt(0).sum() < 30:
            notes.append(f"{method.upper()}: no usable {column}")
            continue
        kw = {**setup.options(method), **options}
        if "motion_controls" in kw and method not in MOTION_CONTROLLED:
            kw.pop("motion_controls")  # Wooldridge's g is linear in omega_(t-1) alone: it takes no shifters
            notes.append(f"{method.upper()}: fitted without the law-of-motion shifters {options['motion_controls']} "
                         "(its law of motion takes none)")
        try:
            res = setup.account(production_function(frame, method=method, **kw))
            # the output deflator is part of the model: it prints with the result, not only in the battery's notes
            return replace(res, notes=(notes[0][0].upper() + notes[0][1:], *res.notes)), notes
        except (SpecificationError, np.linalg.LinAlgError, ValueError) as e:
            notes.append(f"{method.upper()} not estimated: {e}")
    return None, notes
