r"""Average marginal (partial) effects with delta-method standard errors, for any model that predicts a mean.

For a prediction :math:`m(\theta, x)` (a probability, or a vector of outcome probabilities):

* continuous regressor :math:`x_j`: :math:`\mathrm{AME}_j = \frac1N\sum_i \partial m(\theta, x_i)/\partial x_{ij}`;
* a factor level (a ``C(region)[T.b]`` column, Stata's ``i.region``, or a column named in ``dummies``): the discrete
  change :math:`\frac1N\sum_i [m(\theta, x_i^{j=1}) - m(\theta, x_i^{j=0})]`; for the dummy columns of one factor
  (``C(region)[T.b]``, ``C(region)[T.c]``) the other levels are set to 0 in both counterfactuals, i.e. level vs base,
  as Stata ``margins, dydx(i.region)``. A plain 0/1 column is differentiated like any other, as Stata does for a
  variable not declared ``i.`` (before, 0/1 columns got discrete changes by default); ``dummies=True`` gives every
  0/1 column the discrete change.

Variance (delta method, Stata ``margins``): :math:`V_{AME} = J V_\theta J'` with
:math:`J = \partial \mathrm{AME}/\partial\theta'` by central differences, where :math:`V_\theta` is the model's
covariance (so clustering carries through). Effects are per column of the model matrix, like statsmodels
``get_margeff(at="overall", dummy=True)``: a regressor that also enters as a square or an interaction is
differentiated holding the other column fixed.

A model supports margins by putting a :class:`MarginsSpec` in ``result.extra["margins"]`` (``predict``, optional
analytic ``dydx``, the estimation sample ``X`` and its column ``names``). Written here because statsmodels'
``get_margeff`` is tied to its own result classes and has no factor-level contrasts.

Reference: Wooldridge (2010), *Econometric Analysis of Cross Section and Panel Data*, 2nd ed., §15.6; Stata [R]
margins, Methods and formulas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .results import EstimationResult, VarianceInfo

_FACTOR = re.compile(r"^(?P<base>.+)\[T\.(?P<level>.+)\]$")


@dataclass(frozen=True)
class MarginsSpec:
    """What :func:`average_effects` needs from a fitted model.

    ``predict(params, X)`` → (n,) or (n, J) predicted means; ``dydx(params, X)`` (optional) → (n, k) or (n, J, k)
    analytic derivatives of the prediction w.r.t. the columns of X (numerical central differences otherwise);
    ``exclude``: columns never reported (the constant, Mundlak means, ...); ``outcomes``: labels of the J outcomes;
    ``weights``: sampling weights for the averages (Stata ``margins`` after a pweighted fit).
    """

    predict: Callable[[np.ndarray, np.ndarray], np.ndarray]
    X: np.ndarray
    names: tuple[str, ...]
    dydx: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    exclude: tuple[str, ...] = ("Intercept",)
    outcomes: tuple[str, ...] | None = None
    label: str = "Pr(y=1)"
    weights: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def detect_dummies(X: np.ndarray, names: Sequence[str]) -> list[str]:
    """Columns whose values are exactly {0, 1}."""
    out = []
    for j, nm in enumerate(names):
        vals = np.unique(X[:, j])
        if len(vals) == 2 and vals[0] == 0.0 and vals[1] == 1.0:
            out.append(nm)
    return out


def _siblings(name: str, names: Sequence[str]) -> list[int]:
    m = _FACTOR.match(name)
    if not m:
        return []
    base = m.group("base")
    return [j for j, other in enumerate(names) if other != name and (mo := _FACTOR.match(other))
            and mo.group("base") == base]


def average_effects(spec: MarginsSpec, params: np.ndarray, cov: np.ndarray, *, variables: Sequence[str] | str = "*",
                    dummies: Sequence[str] | bool | None = None, at: str | Mapping[str, float] = "overall",
                    ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Effects, their delta-method covariance, their names and the discrete-change variables.

    ``at="overall"`` averages over the sample (AME/APE); ``at="mean"`` evaluates at the sample means (PEA, Stata
    ``atmeans``); a mapping ``{column: value}`` sets those columns for every observation and averages over the rest
    (Stata ``margins, at(x=v)``).
    """
    X, w = _evaluation_rows(spec, at)
    variables = _variables(spec, variables)
    disc = _discrete(spec, dummies) & set(variables)
    params = np.asarray(params, dtype=float)
    effects = _Effects(spec, X, w, variables, disc)
    est = effects(params)
    J = np.empty((len(est), len(params)))
    for k in range(len(params)):
        h = 1e-6 * max(1.0, abs(params[k]))
        tp, tm = params.copy(), params.copy()
        tp[k] += h
        tm[k] -= h
        J[:, k] = (effects(tp) - effects(tm)) / (2 * h)
    V = J @ np.asarray(cov, dtype=float) @ J.T
    if spec.outcomes is not None and len(est) != len(variables):
        labels = [f"{o}:{v}" for o in spec.outcomes for v in variables]
    else:
        labels = list(variables)
    return est, (V + V.T) / 2, labels, sorted(disc, key=variables.index)


def _evaluation_rows(spec: MarginsSpec, at: str | Mapping[str, float]) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows the effects are averaged over (and their weights): the sample, its means, or the sample with some
    columns set."""
    names = list(spec.names)
    X = np.asarray(spec.X, dtype=float)
    w = None if spec.weights is None else np.asarray(spec.weights, dtype=float)
    if isinstance(at, Mapping):
        X = X.copy()
        for col, val in at.items():
            if col not in names:
                raise KeyError(f"at: {col!r} is not a column of the model; have {names}")
            X[:, names.index(col)] = float(val)
        return X, w
    if at == "mean":
        return np.average(X, axis=0, weights=w)[None, :], None
    if at != "overall":
        raise ValueError(f"at={at!r}: choose 'overall', 'mean' or a mapping {{column: value}}")
    return X, w


def _variables(spec: MarginsSpec, variables: Sequence[str] | str) -> list[str]:
    names = list(spec.names)
    if variables == "*":
        return [n for n in names if n not in spec.exclude]
    variables = [variables] if isinstance(variables, str) else list(variables)
    bad = [v for v in variables if v not in names]
    if bad:
        raise KeyError(f"{bad} are not regressors of the model; have {names}")
    return variables


def _discrete(spec: MarginsSpec, dummies: Sequence[str] | bool | None) -> set[str]:
    """Columns that get a discrete change: declared factors (formula ``C(...)`` levels, Stata's ``i.``) by default,
    every 0/1 column with ``True``, none with ``False``, or the named ones."""
    names = list(spec.names)
    if dummies is None:
        return {n for n in names if _FACTOR.match(n)}
    if dummies is True:
        return set(detect_dummies(np.asarray(spec.X, dtype=float), names))
    if dummies is False:
        return set()
    bad = [d for d in dummies if d not in names]
    if bad:
        raise KeyError(f"dummies {bad} are not regressors of the model; have {names}")
    return set(dummies)


@dataclass(frozen=True)
class _Effects:
    """The average effects as a function of the parameters (so the delta method can difference it)."""

    spec: MarginsSpec
    X: np.ndarray
    w: np.ndarray | None
    variables: list[str]
    disc: set[str]

    def _avg(self, a: np.ndarray) -> np.ndarray:
        return np.average(a, axis=0, weights=self.w)

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        spec, X, names = self.spec, self.X, list(self.spec.names)
        deriv = spec.dydx(theta, X) if spec.dydx is not None else None
        out = []
        for v in self.variables:
            j = names.index(v)
            if v in self.disc:
                X1, X0 = X.copy(), X.copy()
                for s in _siblings(v, names):
                    X1[:, s] = 0.0
                    X0[:, s] = 0.0
                X1[:, j], X0[:, j] = 1.0, 0.0
                out.append(self._avg(spec.predict(theta, X1) - spec.predict(theta, X0)))
            elif deriv is not None:
                out.append(self._avg(deriv[..., j]))
            else:
                h = 1e-5 * max(1.0, float(np.abs(X[:, j]).mean()))
                Xp, Xm = X.copy(), X.copy()
                Xp[:, j] += h
                Xm[:, j] -= h
                out.append(self._avg((spec.predict(theta, Xp) - spec.predict(theta, Xm)) / (2 * h)))
        # rows: variables; columns: outcomes → flatten outcome-major so each outcome's block is contiguous
        return np.atleast_2d(np.asarray(out).T).ravel() if np.ndim(out[0]) else np.asarray(out, dtype=float)


def margins(result: EstimationResult, *, dydx: Sequence[str] | str = "*", dummies: Sequence[str] | bool | None = None,
            at: str | Mapping[str, float] = "overall") -> EstimationResult:
    """Average marginal effects of a fitted model (Stata ``margins, dydx(*)``), as an :class:`EstimationResult`.

    Parameters
    ----------
    result : a result carrying ``extra["margins"]`` (logit, probit, RE/CRE probit, mnlogit, Tobit, ...).
    dydx : ``"*"`` (all regressors but the constant) or a list of column names.
    dummies : ``None`` (default): discrete changes 0 → 1 for factor levels from the formula (``C(x)[T.level]``,
        Stata's ``i.x``), derivatives for every other column, 0/1 ones included (Stata's treatment of a variable not
        declared ``i.``); a list names the columns to treat as factors; ``True`` every 0/1 column; ``False`` none.
    at : ``"overall"`` (average over the sample), ``"mean"`` (at the means of the regressors) or ``{column:
        value}`` (those columns fixed for every observation, averaged over the others; Stata ``at()``). Derived
        columns (squares, interactions) are not updated: set them too.

    References
    ----------
    Wooldridge (2010), §15.6; StataCorp, [R] margins, Methods and formulas.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from clusterecon.estimators import probit
    >>> rng = np.random.default_rng(14)
    >>> df = pd.DataFrame({"x": rng.normal(size=800), "d": rng.integers(0, 2, 800)})
    >>> df["y"] = (0.5 * df.x + 0.4 * df.d + rng.normal(size=800) > 0).astype(int)
    >>> me = margins(probit(df, "y ~ x + d"))
    >>> me.names, me.extra["discrete"]
    (('x', 'd'), ())
    >>> margins(probit(df, "y ~ x + C(d)")).extra["discrete"]
    ('C(d)[T.1]',)
    """
    spec = result.extra.get("margins") if result.extra else None
    if not isinstance(spec, MarginsSpec):
        raise TypeError(f"{result.model} does not support margins (no MarginsSpec in result.extra['margins'])")
    est, V, labels, disc = average_effects(spec, result.coef, result.vcov, variables=dydx, dummies=dummies, at=at)
    src = result.variance
    info = VarianceInfo("delta", clusters=src.clusters, n_clusters=src.n_clusters,
                        dof_rule=f"J V J' with V the model's {src.kind} covariance")
    if isinstance(at, str):
        what = "Average marginal effects" if at == "overall" else "Marginal effects at the means"
    else:
        what = "Average marginal effects at " + ", ".join(f"{k}={v:g}" for k, v in dict(at).items())
    notes = [f"Effects on {spec.label}; dy/dx per model-matrix column."]
    if disc:
        notes.append("Discrete change 0 → 1 for: " + ", ".join(disc) + ".")
    return EstimationResult(
        model=f"{what} after {result.model}", estimator="margins, dydx", depvar=result.depvar, names=labels,
        coef=est, vcov=V, variance=info, nobs=result.nobs, df_resid=result.df_resid,
        df_inference=result.df_inference, formula=result.formula,
        n_entities=result.n_entities, t_min=result.t_min, t_mean=result.t_mean, t_max=result.t_max,
        omitted=result.omitted, dropped_regressors=result.dropped_regressors, effects=result.effects,
        notes=tuple(notes),
        extra={"discrete": tuple(disc), "at": at if isinstance(at, str) else dict(at), "source": result.model})
