"""Index models P(y = 1 | x) = F(x'β): the statsmodels ``Logit``/``Probit`` fit with Stata's handling of
non-convergence under separation, the link functions, and the picklable mean used by margins and predictions."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .errors import ConvergenceError
from .separation import post_fit_separation

__all__ = ["IndexMean", "fit_index_model", "index_margins_spec", "link_functions"]


def fit_index_model(y: np.ndarray, X: np.ndarray, link: str, maxiter: int = 100, start: np.ndarray | None = None,
                    names: Sequence[str] | None = None, separation: str = "raise") -> tuple[Any, np.ndarray]:
    """statsmodels Logit/Probit fit by Newton; raises :class:`ConvergenceError` with the optimiser's message.

    When the coefficients do not converge because a combination of regressors predicts some observations perfectly
    (quasi-complete separation), ``separation="raise"`` refuses with :class:`SeparationError`; ``"drop"`` keeps the
    fit, as Stata does ("N failures completely determined"): those observations add nothing to the likelihood or the
    score at the limit, so the other coefficients have converged and the caller reports the determined observations
    in a note."""
    from statsmodels.discrete.discrete_model import Logit, Probit

    cls = Logit if link == "logit" else Probit
    # Fitted on unit-RMS columns and scaled back (b_j = b̃_j / s_j): statsmodels' Newton tests the absolute change
    # in the parameters, so a regressor in units of 1e8 (sales in yuan) next to a share never converged.
    scale = np.sqrt((X * X).mean(0)) if len(y) else np.ones(X.shape[1])
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    scaled = cls(y, X / scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = scaled.fit(method="newton", maxiter=maxiter, disp=False,
                         start_params=None if start is None else np.asarray(start) * scale)
        if not res.mle_retvals.get("converged", False):
            res2 = scaled.fit(method="bfgs", maxiter=10 * maxiter, disp=False, start_params=res.params)
            if res2.mle_retvals.get("converged", False):
                res2 = scaled.fit(method="newton", maxiter=maxiter, disp=False, start_params=res2.params)
            res = res2
    model, params = cls(y, X), np.asarray(res.params) / scale
    info = res.mle_retvals
    if not info.get("converged", False):
        F, _ = link_functions(link)
        p = F(X @ params)
        determined = np.abs(y - p) < 1e-6
        if determined.any():
            names = [f"x{j}" for j in range(X.shape[1])] if names is None else names
            post_fit_separation(y, X, names, p, params, separation, tol=1e-6)
            if separation == "drop" and np.isfinite(res.llf):
                return model, params
        flag = {1: "maximum number of iterations reached", 2: "gradient and/or function calls not changing"}
        raise ConvergenceError(
            f"{link} did not converge (Newton {maxiter} iterations, then BFGS {10 * maxiter}: "
            f"{flag.get(info.get('warnflag'), info.get('warnflag'))}). Try: rescale regressors with large values "
            "(e.g. income in thousands), check for perfect prediction by a combination of regressors, drop "
            "collinear terms, or raise maxiter")
    return model, params


def link_functions(link: str):
    """(F, f, f') of the index model."""
    if link == "logit":
        from scipy.special import expit as F

        def f(z):
            p = F(z)
            return p * (1 - p)
        return F, f
    if link == "probit":
        return stats.norm.cdf, stats.norm.pdf
    raise ValueError(link)


@dataclass(frozen=True)
class IndexMean:
    """P(y=1|x) = F(x'b), b = θ[:k] (divided by √(1 + exp θ_s) when ``scale_index`` = s: the RE probit's
    population-averaged probability Φ(x'β/√(1+σ²_u))); ``dydx`` its derivative in x. A class, not a closure, so
    that results pickle."""

    link: str
    k: int
    scale_index: int | None = None

    def _b(self, params: np.ndarray) -> np.ndarray:
        b = np.asarray(params[:self.k], dtype=float)
        if self.scale_index is not None:
            b = b / np.sqrt(1.0 + np.exp(params[self.scale_index]))
        return b

    def __call__(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        return link_functions(self.link)[0](X @ self._b(params))

    def dydx(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        b = self._b(params)
        return link_functions(self.link)[1](X @ b)[:, None] * b[None, :]


def index_margins_spec(link: str, X: np.ndarray, names: Sequence[str], scale_index: int | None = None,
                       exclude: Sequence[str] = ("Intercept",), weights: np.ndarray | None = None) -> Any:
    """MarginsSpec of P(y=1|x) = F(x'β [/ sqrt(1 + exp(θ_s))]) for :mod:`.margins`.

    ``scale_index``: position of a ln σ²_u parameter after β (RE probit: the population-averaged probability is
    Φ(x'β/√(1+σ²_u))).
    """
    from .margins import MarginsSpec

    mean = IndexMean(link, len(names), scale_index)
    return MarginsSpec(predict=mean, dydx=mean.dydx, X=np.array(X, dtype=float), names=tuple(names),
                       exclude=tuple(exclude), weights=weights)
