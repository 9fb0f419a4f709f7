r"""Power: how many firms and survey rounds are needed to detect an education effect on innovation or a training
effect?

Training RCT (after McKenzie 2012)
----------------------------------
A share P of N firms is offered training; the outcome is observed in m baseline and r follow-up rounds with
variance σ² and equal autocorrelation ρ between any two rounds of a firm. With
:math:`V_0 = \sigma^2 / (N P (1-P))` (= 2σ²/n for two arms of n firms each), the variances of the three estimators
of the effect (McKenzie 2012, eqs. 1–3; Frison and Pocock 1992) are

.. math::
   \operatorname{Var}(\hat\gamma_{POST}) &= V_0\,\frac{1+(r-1)\rho}{r},\\
   \operatorname{Var}(\hat\gamma_{ANCOVA}) &= V_0\Big[\frac{1+(r-1)\rho}{r} - \frac{m\rho^2}{1+(m-1)\rho}\Big],\\
   \operatorname{Var}(\hat\gamma_{DiD}) &= V_0\Big[\frac{1+(r-1)\rho}{r} + \frac{1+(m-1)\rho}{m} - 2\rho\Big].

POST compares follow-up means, ANCOVA regresses the follow-up mean on treatment and the baseline mean, DiD
compares mean changes. The power of a two-sided level-α z test is
:math:`\Phi(|\gamma|/se - z_{1-α/2}) + \Phi(-|\gamma|/se - z_{1-α/2})`; the minimum detectable effect at power
1−κ is :math:`(z_{1-α/2} + z_{1-κ})\,se`. :func:`simulate_training` checks the formulas by simulation
(equicorrelated normal outcomes, OLS with classical standard errors).

Schooling → innovation
----------------------
:func:`power_schooling` simulates the cluster with innovation-probit schooling coefficient b (effect size), a
survey of N firms in R consecutive yearly rounds starting in ``first_round``, and a probit of first innovation on
manager schooling and the pool among the firms at risk in the surveyed years; power is the share of replications
rejecting b = 0 at level α (see :mod:`clusterecon.simulate.montecarlo`).

Reference: McKenzie, D. (2012), "Beyond baseline and follow-up: The case for more T in experiments", *Journal of
Development Economics* 99(2): 210–221; Frison, L. and S. J. Pocock (1992), *Statistics in Medicine* 11: 1685–1704.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

METHODS = ("post", "ancova", "did")


def _z(q: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(q))


def training_variance(rho: float, pre_rounds: int = 1, post_rounds: int = 1, *, n_firms: int = 2,
                      sigma: float = 1.0, treated_share: float = 0.5) -> dict[str, float]:
    """Variances of the POST, ANCOVA and DiD estimators of a training effect (McKenzie 2012, eqs. 1–3)."""
    if not -1 < rho <= 1:
        raise ValueError("rho must lie in (-1, 1]")
    m, r = int(pre_rounds), int(post_rounds)
    if m < 1 or r < 1:
        raise ValueError("pre_rounds and post_rounds must be at least 1")
    v0 = sigma**2 / (n_firms * treated_share * (1 - treated_share))
    post = (1 + (r - 1) * rho) / r
    return {"post": v0 * post,
            "ancova": v0 * (post - m * rho**2 / (1 + (m - 1) * rho)),
            "did": v0 * (post + (1 + (m - 1) * rho) / m - 2 * rho)}


def power_training(n_firms: int | Iterable[int] = 100, effect: float | Iterable[float] = 0.2, *,
                   rho: float | Iterable[float] = 0.5, pre_rounds: int | Iterable[int] = 1,
                   post_rounds: int | Iterable[int] = 1, sigma: float = 1.0, treated_share: float = 0.5,
                   alpha: float = 0.05, target_power: float = 0.8) -> pd.DataFrame:
    """Analytic power of POST, ANCOVA and DiD for every combination of the inputs (scalars or lists).

    ``effect`` is in outcome units (with ``sigma=1``, in standard deviations). Columns: n_firms, pre_rounds,
    post_rounds, rho, effect, method, se, power, mde (minimum detectable effect at ``target_power``).
    """
    za, zk = _z(1 - alpha / 2), _z(target_power)
    rows = []
    for n, m, r, rh, eff in product(_list(n_firms), _list(pre_rounds), _list(post_rounds), _list(rho),
                                     _list(effect)):
        var = training_variance(rh, m, r, n_firms=n, sigma=sigma, treated_share=treated_share)
        for meth in METHODS:
            se = float(np.sqrt(var[meth]))
            rows.append({"n_firms": n, "pre_rounds": m, "post_rounds": r, "rho": rh, "effect": eff,
                         "method": meth, "se": se, "power": _power(eff, se, za), "mde": (za + zk) * se})
    return pd.DataFrame(rows)


def _power(effect: float, se: float, za: float) -> float:
    from scipy import stats

    d = abs(effect) / se
    return float(stats.norm.cdf(d - za) + stats.norm.cdf(-d - za))


def _list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple, np.ndarray, range)) else [x]


def simulate_training(n_firms: int = 100, effect: float = 0.2, *, rho: float = 0.5, pre_rounds: int = 1,
                      post_rounds: int = 1, sigma: float = 1.0, R: int = 2000, alpha: float = 0.05,
                      seed: Any = 0) -> pd.DataFrame:
    """Simulated sampling variance and rejection rate of POST, ANCOVA and DiD (half the firms treated).

    Outcomes :math:`y_{it} = \\gamma D_i 1[t > m] + \\sqrt{\\rho}\\sigma a_i + \\sqrt{1-\\rho}\\sigma e_{it}`
    (equicorrelation ρ); each estimator is OLS with a classical t test, vectorised over the R replications.
    Columns: method, sim_var, analytic_var, mean_estimate, rejection.
    """
    from scipy import stats

    rng = np.random.default_rng(seed)
    m, r, n = pre_rounds, post_rounds, n_firms
    d = np.zeros(n)
    d[: n // 2] = 1.0
    a = rng.standard_normal((R, n, 1))
    e = rng.standard_normal((R, n, m + r))
    y = sigma * (np.sqrt(rho) * a + np.sqrt(1 - rho) * e)
    y[:, :, m:] += effect * d[None, :, None]
    pre, post = y[:, :, :m].mean(axis=2), y[:, :, m:].mean(axis=2)
    out = {}
    for meth, (yy, extra) in {"post": (post, None), "ancova": (post, pre), "did": (post - pre, None)}.items():
        cols = [np.ones((R, n)), np.broadcast_to(d, (R, n))] + ([extra] if extra is not None else [])
        X = np.stack(cols, axis=2)
        XtX = np.einsum("rnk,rnl->rkl", X, X)
        b = np.linalg.solve(XtX, np.einsum("rnk,rn->rk", X, yy)[..., None])[..., 0]
        resid = yy - np.einsum("rnk,rk->rn", X, b)
        dfree = n - X.shape[2]
        s2 = (resid**2).sum(axis=1) / dfree
        se = np.sqrt(s2 * np.linalg.inv(XtX)[:, 1, 1])
        p = 2 * stats.t.sf(np.abs(b[:, 1] / se), dfree)
        out[meth] = (b[:, 1], p)
    var = training_variance(rho, m, r, n_firms=n, sigma=sigma)
    return pd.DataFrame([{"method": k, "sim_var": float(np.var(v[0], ddof=1)), "analytic_var": var[k],
                          "mean_estimate": float(v[0].mean()), "rejection": float((v[1] < alpha).mean())}
                         for k, v in out.items()])


def power_schooling(n_firms: int | Iterable[int] = (100, 200, 300), rounds: int | Iterable[int] = (1, 3),
                    effect: float | Iterable[float] = (0.05, 0.1, 0.15), *, params: Any = "garments",
                    first_round: int = 2000, R: int = 200, alpha: float = 0.05, seed: int = 0, n_jobs: int = 1,
                    client: Any = None) -> pd.DataFrame:
    """Simulated power of a probit of first innovation on manager schooling, by firms × rounds × effect.

    For each cell the cluster is simulated R times with ``innovation_schooling = effect`` (the intercept moves so
    that the hazard at ``schooling_reference`` stays that of ``params``); N firms active in
    ``first_round`` are surveyed in ``rounds`` consecutive years; the probit
    ``innovates ~ manager_schooling_years_t + pool`` runs on the surveyed firm-years at risk of first innovation.
    Columns: n_firms, rounds, effect, power, mean_estimate, mean_se, coverage, failed.
    """
    from .montecarlo import innovation_probit, montecarlo
    from .params import ClusterParams, preset
    from .survey import Fieldwork

    base = params if isinstance(params, ClusterParams) else preset(params)
    rows = []
    root = np.random.SeedSequence(seed)
    cells = list(product(_list(n_firms), _list(rounds), _list(effect)))
    for (n, k, eff), child in zip(cells, root.spawn(len(cells))):
        # hold the hazard at the reference schooling fixed while b varies, so cells differ only in b
        a0 = base.effective_intercept + (base.effective_schooling_coef - float(eff)) * base.schooling_reference
        p = base.replace(innovation_schooling=float(eff), innovation_intercept=a0, schooling_matters=True)
        design = {"kind": "rounds", "survey_years": tuple(range(first_round, first_round + int(k))),
                  "n_firms": int(n), "keep_truth": True, "fieldwork": Fieldwork.exact()}
        mc = montecarlo(innovation_probit, targets={"manager_schooling_years_t": float(eff)}, params=p, design=design,
                        R=R, seed=child, n_jobs=n_jobs, client=client, alpha=alpha)
        s = mc.summary.iloc[0] if len(mc.summary) else None
        rows.append({"n_firms": n, "rounds": k, "effect": eff,
                     "power": float(s["rejection"]) if s is not None else np.nan,
                     "mean_estimate": float(s["mean"]) if s is not None else np.nan,
                     "mean_se": float(s["mean_se"]) if s is not None else np.nan,
                     "coverage": float(s["coverage"]) if s is not None else np.nan,
                     "failed": len(mc.failures)})
    return pd.DataFrame(rows)


def power(question: str = "training", **kwargs: Any) -> pd.DataFrame:
    """Power table for ``question`` = ``"training"`` (:func:`power_training`) or ``"schooling"``
    (:func:`power_schooling`)."""
    if question == "training":
        return power_training(**kwargs)
    if question == "schooling":
        return power_schooling(**kwargs)
    raise ValueError(f"question must be 'training' or 'schooling', not {question!r}")


def plot_power(table: pd.DataFrame, *, x: str = "n_firms", hue: str | None = None, facet: str | None = None,
               ax: Any = None, target_power: float | None = 0.8):
    """Power curves from a power table: power against ``x``, one line per ``hue`` (default: ``method`` for
    training tables, ``effect`` otherwise), one panel per value of ``facet``. Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    hue = hue or ("method" if "method" in table.columns else "effect")
    panels = [None] if facet is None else sorted(table[facet].unique())
    if ax is None:
        fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.5), squeeze=False, sharey=True)
        axes = axes[0]
    else:
        axes, fig = [ax], ax.figure
    for a, pv in zip(axes, panels):
        sub = table if pv is None else table[table[facet] == pv]
        for h, g in sub.groupby(hue, sort=True):
            g = g.groupby(x, as_index=False)["power"].mean()
            a.plot(g[x], g["power"], marker="o", label=f"{hue} = {h}")
        if target_power is not None:
            a.axhline(target_power, color="grey", lw=0.8, ls="--")
        a.set_xlabel(x.replace("_", " "))
        a.set_ylim(0, 1.02)
        if pv is not None:
            a.set_title(f"{facet} = {pv}")
    axes[0].set_ylabel("power")
    axes[0].legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig
