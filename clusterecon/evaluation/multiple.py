r"""Many outcomes: standardised indices, sharpened q-values and Romano–Wolf step-down p-values.

* **Kling–Liebman–Katz index** (Kling, Liebman and Katz 2007): each component k is standardised by the control
  group's mean and SD in the same round, z_ik = s_k (y_ik − ȳ_k^C)/σ_k^C with s_k = −1 for outcomes where lower
  is better, and the index is the mean of a firm-round's available z-scores (the count of components used is
  returned); the ITT on the index is then in control-group standard deviations.
* **Sharpened q-values** (Benjamini, Krieger and Yekutieli 2006, as coded by Anderson 2008,
  ``fdr_sharpened_qvalues.do``): for q = 1, 0.999, …, 0.001 run the two-stage step-up procedure (stage 1 at
  q' = q/(1+q), stage 2 at q'·m/(m − r₁)); an outcome's q-value is the smallest q at which it is rejected. They
  control the false discovery rate.
* **Romano–Wolf** (Romano and Wolf 2005, 2016; Stata ``rwolf``, R ``wildrwolf``): step-down adjusted p-values that
  control the family-wise error rate. With |t_(1)| ≥ … ≥ |t_(K)|, p_(j) is the share of bootstrap draws with
  max_{l ≥ j} |t*_(l)| ≥ |t_(j)|, made monotone. The joint bootstrap distribution of the K t-statistics comes from
  the wild cluster bootstrap (unrestricted, studentised) with the same cluster weights for every outcome
  (:func:`clusterecon.estimators.wild_bootstrap.wild_tstats`), so their correlation is kept.

References: Kling, Liebman and Katz (2007), Econometrica 75(1); Anderson (2008), JASA 103(484); Benjamini, Krieger
and Yekutieli (2006), Biometrika 93(3); Romano and Wolf (2005), Econometrica 73(4); Clarke, Romano and Wolf (2020),
Stata Journal 20(4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError
from ..estimators.wild_bootstrap import draw_weights, wild_tstats
from .design import ExperimentDesign, as_binary, frame_of, round_values


def kling_index(data: Any, outcomes: Sequence[str], design: ExperimentDesign | None = None, *,
                name: str = "kling_index", signs: Mapping[str, int] | None = None,
                min_components: int = 1) -> pd.DataFrame:
    """The frame with the KLK index column ``name`` (and ``<name>_n``, the components used) added."""
    design = design or ExperimentDesign()
    frame = frame_of(data).copy()
    signs = dict(signs or {})
    missing = [o for o in outcomes if o not in frame.columns]
    if missing:
        raise SpecificationError(f"index components not in the data: {missing}")
    T = as_binary(frame[design.treatment], design.treatment)
    if not (T == 0).any():
        raise SpecificationError(f"no control firms ({design.treatment} is never 0): the index standardises each "
                                 f"component against the controls, so it cannot be built; check the "
                                 f"{design.treatment} column, which must mark controls 0")
    rnd = round_values(frame, design.round_column)
    Z = pd.DataFrame(index=frame.index)
    for o in outcomes:
        y = pd.to_numeric(frame[o], errors="coerce").astype("float64")
        z = pd.Series(np.nan, index=frame.index)
        for r in pd.unique(rnd):
            sel = rnd == r
            ctrl = sel & (T.to_numpy() == 0)
            mu, sd = y[ctrl].mean(), y[ctrl].std(ddof=1)
            if not np.isfinite(sd) or sd == 0:
                raise SpecificationError(f"{o}: no variation among controls in round {r}; cannot standardise")
            z[sel] = (y[sel] - mu) / sd
        Z[o] = signs.get(o, 1) * z
    n = Z.notna().sum(axis=1)
    frame[name] = Z.mean(axis=1).where(n >= min_components)
    frame[f"{name}_n"] = n
    return frame


def romano_wolf_itt(data: Any, outcomes: Sequence[str], design: ExperimentDesign | None = None, *,
                    method: str = "ancova", B: int = 999, weights: str = "rademacher", seed: Any = None,
                    **kw: Any) -> pd.DataFrame:
    """Romano–Wolf p-values of the ITT on each of ``outcomes`` (same regressions as :func:`.itt.itt`)."""
    from .itt import itt_arrays

    design = design or ExperimentDesign()
    fits = {o: itt_arrays(data, o, design, method=method, **kw) for o in outcomes}
    return romano_wolf(fits, B=B, weights=weights, seed=seed)


def sharpened_qvalues(pvalues: Sequence[float] | pd.Series) -> np.ndarray | pd.Series:
    """Anderson (2008) sharpened two-stage q-values (BKY 2006) for a family of p-values (module docstring)."""
    idx = pvalues.index if isinstance(pvalues, pd.Series) else None
    p = np.asarray(pvalues, dtype=float)
    if np.isnan(p).any():
        raise ValueError("p-values contain NaN")
    m = len(p)
    order = np.argsort(p, kind="stable")
    ps = p[order]
    rank = np.arange(1, m + 1)
    grid = np.round(np.arange(1.0, 0.0, -0.001), 3)  # Anderson's loop over q = 1, 0.999, ..., 0.001

    def rejected(level: np.ndarray) -> np.ndarray:  # step-up: largest rank with p_(r) <= r*level/m, per level
        ok = ps[None, :] <= rank[None, :] * level[:, None] / m
        return np.where(ok, rank[None, :], 0).max(axis=1)

    q1 = grid / (1 + grid)
    r1 = rejected(q1)
    with np.errstate(divide="ignore"):
        q2 = np.where(r1 < m, q1 * m / np.maximum(m - r1, 1), np.inf)
    r2 = rejected(q2)
    # q-value of the i-th smallest p: the smallest q at which at least i hypotheses are rejected
    q = np.array([grid[r2 >= i].min() if (r2 >= i).any() else 1.0 for i in rank])
    out = np.empty(m)
    out[order] = q
    return pd.Series(out, index=idx, name="q_value") if idx is not None else out


def romano_wolf(fits: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]], *, B: int = 999,
                weights: str = "rademacher", seed: Any = None) -> pd.DataFrame:
    """Romano–Wolf step-down p-values for K regressions.

    ``fits``: outcome → (X, y, cluster labels, column index of the treatment coefficient), e.g. from
    :func:`itt_family`. Cluster labels are matched across outcomes, so one draw of cluster weights is shared by all
    of them. Returns a frame with t, the unadjusted bootstrap p and the Romano–Wolf p per outcome.
    """
    names = list(fits)
    if not names:
        raise ValueError("no outcomes")
    labels = pd.Index(pd.unique(np.concatenate([np.asarray(f[2]).astype(str) for f in fits.values()])))
    G = len(labels)
    rng = np.random.default_rng(seed)
    V, full = draw_weights(weights, G, B, rng)
    t = np.empty(len(names))
    T = np.empty((len(names), V.shape[1]))
    for i, nm in enumerate(names):
        X, y, cl, j = fits[nm]
        codes = labels.get_indexer(np.asarray(cl).astype(str))
        t[i], T[i] = wild_tstats(X, y, codes, j, V)
    absT, abst = np.abs(T), np.abs(t)
    order = np.argsort(-abst, kind="stable")
    p_rw = np.empty(len(names))
    running = 0.0
    for pos, i in enumerate(order):
        rest = order[pos:]
        mx = absT[rest].max(axis=0)
        p = float((1 + np.sum(mx >= abst[i])) / (1 + V.shape[1]))
        running = max(running, p)
        p_rw[i] = running
    p_single = (1 + (absT >= abst[:, None]).sum(axis=1)) / (1 + V.shape[1])
    return pd.DataFrame({"t": t, "p_bootstrap": p_single, "p_romano_wolf": p_rw},
                        index=pd.Index(names, name="outcome")).assign(draws=V.shape[1], full_enumeration=full)
