r"""De Loecker–Warzynski (2012) markups from a gross-output production function.

With a variable input free of adjustment costs (materials), cost minimisation gives

.. math:: \mu_{it} = \theta^M_{it} \,/\, \alpha^M_{it}, \qquad
          \alpha^M_{it} = \frac{P^M_{it} M_{it}}{P_{it} Q_{it} / e^{\hat\varepsilon_{it}}}

with :math:`\theta^M` the output elasticity of materials (a coefficient for Cobb–Douglas, firm-year for translog
and GNR) and :math:`\alpha^M` the materials expenditure share of sales, sales corrected by the first-stage error
:math:`\hat\varepsilon` when the estimator has one (ACF: :math:`y - \hat\phi`). A markup path that falls while
a cluster expands is how "prices and profits fall in quantity expansion" shows in firm data.

Reference: De Loecker, J. & F. Warzynski (2012), "Markups and firm-level export status", *American Economic
Review* 102(6):2437–71.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError, as_panel_frame
from ..panel import SurveyPanel


def markups(result: Any, data: SurveyPanel | pd.DataFrame, *, materials_cost: str = "material_cost",
            revenue: str = "sales", materials: str | None = None, correct: bool = True) -> pd.Series:
    """Firm-year markups from ``result`` (a gross-output ACF or GNR fit) and nominal materials cost and sales
    columns of ``data`` (same (firm, year) index). ``materials``: the name of the materials input in the fit
    (default: the fit's proxy / flexible input)."""
    name = materials or result.extra.get("materials_input")
    if name is None:
        raise SpecificationError("markups need a gross-output fit with materials among the inputs (ACF with "
                                 "value_added=False, or GNR)")
    frame = as_panel_frame(data)
    for c in (materials_cost, revenue):
        if c not in frame.columns:
            raise SpecificationError(f"markups need column {c!r} in the data")
    idx = result.tfp.index
    if result.elasticity_frame is not None:
        theta = result.elasticity_frame[name]
    else:
        theta = pd.Series(float(result.params[name]), index=idx)
    cost = pd.to_numeric(frame[materials_cost], errors="coerce").reindex(idx)
    sales = pd.to_numeric(frame[revenue], errors="coerce").reindex(idx)
    eps = result.extra.get("first_stage_residual") if correct else None
    if eps is not None:
        sales = sales / np.exp(eps.reindex(idx))
    share = (cost / sales).where((cost > 0) & (sales > 0))
    return (theta / share).rename(f"markup_{result.method.lower()}")
