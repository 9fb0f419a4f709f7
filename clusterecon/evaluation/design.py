"""The experiment's design: which columns hold the assignment, strata, take-up, rounds, attrition and spillover
exposure, and at which level treatment was randomised (which decides the level of clustering).

Defaults are the canonical names of :mod:`clusterecon.schema` (``treat_offered``, ``strata_id``, ``treat_attended``,
``attrited``, ``cluster``, ``treat_cluster``, ``network_exposure``, ``first_treated_year``). A design file
(``clusterecon evaluate DESIGN.toml``, :mod:`.designfile`) builds the same object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError, as_panel_frame

LEVELS = ("firm", "cluster")


@dataclass(frozen=True)
class ExperimentDesign:
    """Columns and rounds of a randomised trial.

    ``assignment``: ``"firm"`` (firms randomised; inference clustered by firm when several rounds are pooled) or
    ``"cluster"`` (whole clusters randomised; inference clustered by ``cluster``). ``rounds``: the column (or index
    level) identifying survey rounds, and which of its values are ``baseline`` and ``follow_up``.
    """

    treatment: str = "treat_offered"
    strata: str | None = "strata_id"
    assignment: str = "firm"
    cluster: str | None = "cluster"
    takeup: str | None = "treat_attended"
    round_column: str = "year"
    baseline: tuple[Any, ...] = ()
    follow_up: tuple[Any, ...] = ()
    attrition: str | None = "attrited"
    treated_cluster: str | None = None
    exposure: str | None = None
    first_treated: str | None = None
    controls: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.assignment not in LEVELS:
            raise SpecificationError(f"assignment must be 'firm' or 'cluster', got {self.assignment!r}")
        if self.assignment == "cluster" and not self.cluster:
            raise SpecificationError("assignment = 'cluster' needs the cluster column (cluster = ...)")
        object.__setattr__(self, "baseline", tuple(self.baseline))
        object.__setattr__(self, "follow_up", tuple(self.follow_up))
        object.__setattr__(self, "controls", tuple(self.controls))
        if set(self.baseline) & set(self.follow_up):
            raise SpecificationError(f"rounds {sorted(set(self.baseline) & set(self.follow_up))} are both baseline "
                                     "and follow-up")

    def replace(self, **kw: Any) -> ExperimentDesign:
        return replace(self, **kw)

    def with_rounds(self, frame: pd.DataFrame) -> ExperimentDesign:
        """Fill missing rounds from the data: baseline = the first round, follow-ups = the rest."""
        if self.baseline and self.follow_up:
            return self
        vals = sorted(pd.unique(round_values(frame, self.round_column)))
        if len(vals) < 2:
            raise SpecificationError(f"the data have only round(s) {vals} in {self.round_column!r}: an evaluation "
                                     "needs a baseline and at least one follow-up")
        base = self.baseline or (vals[0],)
        fol = self.follow_up or tuple(v for v in vals if v not in base)
        return replace(self, baseline=tuple(base), follow_up=tuple(fol))

    def inference_cluster(self, frame: pd.DataFrame) -> str:
        """The column (or index level) standard errors are clustered by: the unit of randomisation."""
        return self.cluster if self.assignment == "cluster" else str(frame.index.names[0])


def round_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Values of the round column, which may be an index level (``year``) or a column."""
    if column in frame.columns:
        return frame[column].to_numpy()
    if column in (frame.index.names or []):
        return frame.index.get_level_values(column).to_numpy()
    raise SpecificationError(f"round column {column!r} is neither a column nor an index level; columns: "
                             f"{list(frame.columns)[:30]}")


def require(frame: pd.DataFrame, *columns: str | None) -> None:
    """One error naming every required column that is missing."""
    have = set(frame.columns) | {str(n) for n in frame.index.names}
    missing = [c for c in columns if c and c not in have]
    if missing:
        from ..io.errors import suggest

        hints = "; ".join(f"{c!r}{suggest(c, have)}" for c in missing)
        raise SpecificationError(f"column(s) not in the data: {hints}")


def as_binary(s: pd.Series, name: str) -> pd.Series:
    """A 0/1 float column from bool/0-1 data; anything else is refused with the values found."""
    v = pd.to_numeric(s.astype("object").map(lambda x: x if x is None or x is pd.NA else
                                              (float(x) if isinstance(x, (bool, np.bool_, int, float, np.integer,
                                                                          np.floating)) else np.nan)),
                      errors="coerce")
    bad = set(pd.unique(v.dropna())) - {0.0, 1.0}
    if bad:
        shown = ", ".join(f"{x:.10g}" for x in sorted(bad)[:5])  # as written, not numpy's repr (np.float64(...))
        raise SpecificationError(f"{name} must be 0/1 or true/false; found {shown}"
                                 + (f" and {len(bad) - 5} other values" if len(bad) > 5 else ""))
    return v.astype("float64")


def has_dummies(names: Sequence[object], column: str | None) -> bool:
    """Does a fitted model hold dummies of ``column`` (terms ``C(column)[...]``)? What its fixed-effect labels say,
    read from the model rather than from the formula's text."""
    return bool(column) and any(str(n).startswith(f"C({column})") for n in names)


def require_both_arms(t: Any, treatment: str, what: str = "the ITT") -> None:
    """Refuse a sample in which every firm was offered the treatment, or none was: with no comparison group
    ``what`` is not identified (the offer would be dropped as collinear with the constant). ``t``: the 0/1 offer
    of the rows the estimate uses (missing values ignored; an empty sample is left to the caller's checks)."""
    v = pd.Series(np.asarray(t, dtype="float64")).dropna()
    if not v.empty and v.nunique() < 2:
        none = float(v.iloc[0]) == 0.0
        arm = ("no firm was offered the treatment" if none else "every firm was offered the treatment")
        lacking = "treated group" if none else "control group"
        raise SpecificationError(f"{arm} ({treatment} is {int(v.iloc[0])} for all {len(v)} firm-rounds analysed): "
                                 f"with no {lacking} {what} cannot be identified; check the {treatment} column "
                                 "(the design's treatment), which must mark offered firms 1 and controls 0")


def frame_of(data: Any) -> pd.DataFrame:
    """The (firm, year)-indexed frame of a SurveyPanel or DataFrame."""
    return as_panel_frame(data)
