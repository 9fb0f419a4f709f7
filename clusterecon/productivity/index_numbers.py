r"""Index-number TFP: cost shares and the multilateral Caves–Christensen–Diewert (CCD) index.

No estimation: input elasticities are replaced by cost shares (first-order conditions under cost minimisation and
constant returns).

* **Cost-share TFP** (Solow residual in levels): :math:`\ln TFP_{it} = \ln Y_{it} - \sum_k \bar s_k \ln X_{kit}` with
  shares :math:`\bar s_k` fixed at their sample means (or per year, ``shares="year"``).
* **Multilateral CCD index** (Caves, Christensen & Diewert 1982, *Economic Journal* 92:73–86): every firm-year is
  compared with a hypothetical reference firm holding the sample means of log output, log inputs and shares,

  .. math:: \ln TFP_{it} = (\ln Y_{it} - \overline{\ln Y}) - \sum_k \tfrac12 (s_{kit} + \bar s_k)
            (\ln X_{kit} - \overline{\ln X_k})

  which makes comparisons transitive across firms and years (the index of i relative to j does not depend on the
  path through other observations) and invariant to the units of output and inputs.

Cost shares: labour cost is ``wage_bill``; capital cost is ``rental_rate``·``capital`` (default rental rate 0.15: a
stated assumption, pass your own); for gross output, materials cost is ``material_cost``. Shares are each input's
cost over their sum. Firm-years with a non-positive output, input or cost are left out and counted in
``IndexTFP.omitted``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..estimators.design import as_panel_frame
from ..estimators.results import Omitted
from ..panel import SurveyPanel


@dataclass(frozen=True)
class IndexTFP:
    """Log TFP by firm-year with the shares used and the observations left out."""

    ln_tfp: pd.Series
    shares: pd.DataFrame
    method: str
    omitted: tuple[Omitted, ...] = ()

    @property
    def nobs(self) -> int:
        return int(self.ln_tfp.shape[0])


def _prepare(data: SurveyPanel | pd.DataFrame, output: str, costs: Mapping[str, pd.Series] | None,
             rental_rate: float) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame, list[Omitted]]:
    frame = as_panel_frame(data)
    if output == "value_added":
        y = frame["sales"] - frame["material_cost"]
    elif output == "gross":
        y = frame["sales"]
    else:
        y = frame[output]
    if costs is None:
        costs = {"employees": frame["wage_bill"], "capital": rental_rate * frame["capital"]}
        if output == "gross":
            costs = {**costs, "material_cost": frame["material_cost"]}
    qty = pd.DataFrame({k: pd.to_numeric(frame[k], errors="coerce") for k in costs}, index=frame.index)
    cost = pd.DataFrame({k: pd.to_numeric(v, errors="coerce") for k, v in costs.items()}, index=frame.index)
    y = pd.to_numeric(y, errors="coerce")
    omitted: list[Omitted] = []
    keep = pd.Series(True, index=frame.index)
    for label, s in [("output", y), *[(f"input {k}", qty[k]) for k in qty], *[(f"cost of {k}", cost[k])
                                                                              for k in cost]]:
        bad = ~(s > 0) & keep
        if bad.any():
            omitted.append(Omitted(f"{label} missing or <= 0", int(bad.sum())))
        keep &= ~bad
    y, qty, cost = y[keep].astype(float), qty[keep].astype(float), cost[keep].astype(float)
    shares = cost.div(cost.sum(axis=1), axis=0)
    return np.log(y), np.log(qty), shares, omitted


def cost_share_tfp(data: SurveyPanel | pd.DataFrame, *, output: str = "value_added",
                   costs: Mapping[str, pd.Series] | None = None, rental_rate: float = 0.15,
                   shares: str = "mean") -> IndexTFP:
    """Log TFP with sample-mean (``shares="mean"``) or year-mean (``"year"``) cost shares as elasticities."""
    ln_y, ln_x, s, omitted = _prepare(data, output, costs, rental_rate)
    if shares == "mean":
        sbar = pd.DataFrame(np.tile(s.mean().to_numpy(), (len(s), 1)), index=s.index, columns=s.columns)
    elif shares == "year":
        sbar = s.groupby(level=1).transform("mean")
    else:
        raise ValueError("shares must be 'mean' or 'year'")
    tfp = ln_y - (sbar * ln_x).sum(axis=1)
    return IndexTFP(tfp.rename("ln_tfp"), sbar, f"cost shares ({shares})", tuple(omitted))


def ccd_tfp(data: SurveyPanel | pd.DataFrame, *, output: str = "value_added",
            costs: Mapping[str, pd.Series] | None = None, rental_rate: float = 0.15,
            reference: Sequence[bool] | None = None) -> IndexTFP:
    """Multilateral Caves–Christensen–Diewert log TFP relative to the mean firm (see module docstring).

    ``reference``: optional boolean mask selecting the observations that define the reference firm (default all).
    """
    ln_y, ln_x, s, omitted = _prepare(data, output, costs, rental_rate)
    ref = np.ones(len(ln_y), dtype=bool) if reference is None else np.asarray(reference, dtype=bool)[: len(ln_y)]
    y0, x0, s0 = ln_y[ref].mean(), ln_x[ref].mean(), s[ref].mean()
    tfp = (ln_y - y0) - (0.5 * (s + s0) * (ln_x - x0)).sum(axis=1)
    return IndexTFP(tfp.rename("ln_tfp"), s, "Caves-Christensen-Diewert multilateral", tuple(omitted))
