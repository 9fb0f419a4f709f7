"""McKenzie–Woodruff business-practice scores from the 26-item checklist in the schema.

The overall score is the share of the 26 practices a firm reports (equal weights 1/26); the four area scores are
the shares within marketing (7 items), buying and stock control (3), costing and record keeping (8) and financial
planning (8). Items and weights are listed in the codebook (``docs/codebook.md``, generated from
:data:`clusterecon.schema.PRACTICE_ITEMS`). A firm-round with a missing item gets no score unless
``min_share`` allows partial answers, in which case the score is the share among the answered items of the area;
how many scores were left missing is returned in ``attrs["notes"]``.

Reference: McKenzie, D. and C. Woodruff (2017), "Business Practices in Small Firms in Developing Countries",
Management Science 63(9): 2967–2981.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..estimators.design import SpecificationError
from .design import frame_of

SCORE = "practice_score"


def practice_scores(data: Any, *, items: tuple[tuple[str, str, str], ...] = schema.PRACTICE_ITEMS,
                    min_share: float = 1.0) -> pd.DataFrame:
    """Overall and area practice scores per firm-round (columns ``practice_score`` and ``practice_<area>``),
    indexed like ``data``. ``min_share``: share of an area's (or all) items that must be answered (1.0 = all)."""
    frame = frame_of(data)
    names = [nm for nm, _, _ in items]
    present = [nm for nm in names if nm in frame.columns]
    if not present:
        raise SpecificationError("no McKenzie-Woodruff practice items (mw_*) in the data; see the codebook for "
                                 "their names")
    if not 0 < min_share <= 1:
        raise SpecificationError("min_share must lie in (0, 1]")
    X = pd.DataFrame({nm: _as01(frame[nm], nm) if nm in frame.columns else np.nan for nm in names},
                     index=frame.index)
    out = pd.DataFrame(index=frame.index)
    notes = []
    groups = {"": names, **{area: [nm for nm, a, _ in items if a == area] for area in schema.PRACTICE_AREAS}}
    for area, cols in groups.items():
        sub = X[cols]
        answered = sub.notna().sum(axis=1)
        score = sub.sum(axis=1) / answered.replace(0, np.nan)
        ok = answered >= np.ceil(min_share * len(cols) - 1e-9)
        name = SCORE if not area else f"practice_{area}"
        out[name] = score.where(ok)
        lost = int((~ok & (answered > 0)).sum())
        if lost:
            notes.append(f"{name}: {lost} firm-round(s) with too few items answered left missing")
    if len(present) < len(names):
        notes.append(f"{len(names) - len(present)} practice item(s) not in the data count as unanswered")
    out.attrs["notes"] = notes
    return out


def add_practice_scores(data: Any, **kw: Any) -> pd.DataFrame:
    """The frame with the practice scores joined (replacing columns of the same names)."""
    frame = frame_of(data)
    scores = practice_scores(frame, **kw)
    res = frame.drop(columns=[c for c in scores.columns if c in frame.columns]).join(scores)
    res.attrs["notes"] = scores.attrs.get("notes", [])
    return res


def _as01(s: pd.Series, name: str) -> pd.Series:
    v = pd.to_numeric(s.astype("object").where(s.notna(), np.nan).map(
        lambda x: float(x) if isinstance(x, (bool, np.bool_, int, float, np.integer, np.floating)) else np.nan),
        errors="coerce")
    bad = set(pd.unique(v.dropna())) - {0.0, 1.0}
    if bad:
        raise SpecificationError(f"practice item {name!r} must be yes/no (true/false or 1/0); found {sorted(bad)[:5]}")
    return v
