r"""Randomisation inference: p-values from re-drawing the assignment the way the experiment drew it.

Under the sharp null of no effect for any firm, every outcome is fixed and only the assignment is random, so the
ITT statistic's distribution is known exactly: re-draw the offer ``R`` times by permuting it among the
randomisation units of the estimation sample (firms, or whole clusters under cluster assignment; firms never
observed at follow-up drop out, as in Stata ``ritest``) within each stratum, recompute the
statistic, and report p = (1 + #{|s*| ≥ |s|})/(1 + R). Two statistics: the ITT coefficient (``"coef"``) and its
cluster-robust t (``"t"``, the studentised version Young 2019 recommends because it is also valid for the weak null
of zero average effect asymptotically).

Speed: the regression is y = γT + Wθ + e with the controls W fixed across draws, so by Frisch–Waugh–Lovell every
draw needs only M·T* = T* − W(W'W)⁻¹W'T* for the re-drawn offers, computed for all draws at once as one matrix
product; the t-statistics use the cluster sums of M·T*·e*.

References: Fisher (1935); Imbens and Rubin (2015), ch. 5; Young (2019), QJE 134(2); Bloom et al. (2013) used
permutation inference with 28 plants. Stata ``ritest`` (Heß 2017, Stata Journal 17(3)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError
from .design import ExperimentDesign


@dataclass(frozen=True)
class RandomizationResult:
    """Randomisation-inference p-value of the ITT on ``outcome``."""

    outcome: str
    statistic: str
    observed: float
    pvalue: float
    R: int
    unit: str
    strata: str | None
    draws: np.ndarray | None = None  # the statistic under each re-randomisation (observed first)

    def __str__(self) -> str:
        return (f"{self.outcome}: randomisation-inference p = {self.pvalue:.4f} ({self.statistic} = "
                f"{self.observed:.4g}; {self.R} re-randomisations of the offer across {self.unit}s"
                + (f" within {self.strata}" if self.strata else "") + ")")


def permute_within(units: np.ndarray, strata: np.ndarray | None, values: np.ndarray, R: int,
                   rng: np.random.Generator) -> np.ndarray:
    """(n_units, R) matrix of ``values`` permuted across units within each stratum."""
    out = np.empty((len(units), R))
    groups = [np.arange(len(units))] if strata is None else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    for idx in groups:
        v = values[idx]
        perm = rng.permuted(np.broadcast_to(v[:, None], (len(idx), R)).copy(), axis=0)
        out[idx] = perm
    return out


def randomization_inference(data: Any, outcome: str, design: ExperimentDesign | None = None, *,
                            method: str = "ancova", statistic: str = "t", R: int = 999, seed: Any = 0,
                            **kw: Any) -> RandomizationResult:
    """Randomisation-inference p-value of the ITT (module docstring) with the same regression as
    :func:`.itt.itt` (``method`` ``"ancova"`` or ``"post"``)."""
    from ..estimators.linear import fast_design
    from .itt import itt_setup

    if statistic not in ("t", "coef"):
        raise SpecificationError("statistic must be 't' or 'coef'")
    design = design or ExperimentDesign()
    frame, formula, _, clus, _ = itt_setup(data, outcome, design, method=method, **kw)
    firm = str(frame.index.names[0])
    unit = design.cluster if design.assignment == "cluster" else firm
    extra = [c for c in dict.fromkeys([unit, design.strata, clus]) if c and c not in (firm, "round")]
    d = fast_design(frame, formula, extra=extra)
    names = list(d.names)
    j = names.index(design.treatment)
    T = d.X[:, j]
    W = np.delete(d.X, j, axis=1)
    y = d.y
    unit_vals = d.extra[unit].to_numpy() if unit in d.extra.columns else np.asarray(d.index.get_level_values(0))
    ucodes, uniq = pd.factorize(unit_vals)
    # one assignment per unit (refuse data where the offer varies within a unit)
    tu = pd.Series(T).groupby(ucodes).agg(["min", "max"])
    if (tu["min"] != tu["max"]).any():
        raise SpecificationError(f"the offer varies within {unit}: randomisation must be at the {unit} level")
    t_unit = tu["min"].to_numpy()
    strata_unit = None
    if design.strata and design.strata in d.extra.columns:
        strata_unit = pd.Series(d.extra[design.strata].to_numpy()).groupby(ucodes).first().to_numpy()
    rng = np.random.default_rng(seed)
    Tstar = np.column_stack([t_unit, permute_within(np.asarray(uniq), strata_unit, t_unit, R, rng)])[ucodes]
    WtWi = np.linalg.pinv(W.T @ W)
    MT = Tstar - W @ (WtWi @ (W.T @ Tstar))  # (n, R+1)
    My = y - W @ (WtWi @ (W.T @ y))
    den = (MT * MT).sum(0)
    gam = (MT.T @ My) / den
    if statistic == "coef":
        stat = gam
    else:
        e = My[:, None] - MT * gam[None, :]
        cvals = d.extra[clus].to_numpy() if clus else np.asarray(d.index.get_level_values(0))
        ccodes = pd.factorize(cvals)[0]
        G = int(ccodes.max()) + 1
        S = np.zeros((G, MT.shape[1]))
        np.add.at(S, ccodes, MT * e)
        n, k = d.X.shape
        c = G / (G - 1) * (n - 1) / (n - k)
        stat = gam / np.sqrt(c * (S * S).sum(0) / den**2)
    obs = float(stat[0])
    p = float((1 + np.sum(np.abs(stat[1:]) >= abs(obs) - 1e-12 * max(1.0, abs(obs)))) / (R + 1))
    return RandomizationResult(outcome=outcome, statistic="coefficient" if statistic == "coef" else "t",
                               observed=obs, pvalue=p, R=R, unit=unit, strata=design.strata,
                               draws=np.asarray(stat))
