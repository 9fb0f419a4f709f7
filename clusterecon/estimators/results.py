"""Immutable estimation results shared by every clusterecon estimator: the results contract.

Every estimator returns an :class:`EstimationResult` (or a subclass adding fields): named ``params``,
``std_errors`` (= ``bse``), ``tstats``, ``pvalues``, ``conf_int()``, ``cov``, ``nobs``, ``df_resid`` (N − K, the
residual degrees of freedom) kept apart from ``df_inference`` (the df of the t/F reference distribution: N − K,
G − 1, T − 1, or None for normal/χ² inference), the variance convention (:class:`VarianceInfo`) printed in every
summary, the observations left out with their reasons, ``resid``/``fitted``/``predict(newdata)``, estimated fixed
effects where they exist, ``llf``/``aic``/``bic`` for ML, R² variants as named attributes (``r2``, ``r2_adj``,
``r2_within``, ``r2_between``, ``r2_overall``, ``r2_pseudo``), ``wald_test`` on formulaic's linear constraints,
``summary()``/``tidy()``/``glance()``, ``with_vcov(...)`` (a new result under another variance, no refit) and
pickling. Tests of restrictions return :class:`TestResult`.

How to write an estimator
-------------------------
1. Parse the options once, before fitting::

       spec = parse_vcov(vcov, cluster, dof=dof, supported=("classical", "hc1", "cluster"), estimator="my model")

   (:mod:`clusterecon.estimators.variance`; anything the model cannot honour is an error there, never ignored).
2. Build the sample with :func:`clusterecon.estimators.design.build_design` (it counts every row left out) and fit.
3. Keep what every variance needs in a :class:`~clusterecon.estimators.fit.Fit` (helpers build it from a design)::

       fit = design_fit(design, spec, bread=inv(X'X), regressors=X, resid=e)        # least squares (.linear)
       fit = ml_fit(design, spec, hessian=H, scores=S)                                # maximum likelihood (ml)

   and for maximum likelihood use the one maximiser, :func:`clusterecon.estimators.ml.maximize` (convergence on
   the step and the score, one ConvergenceError, an accurate Hessian for the covariance).
4. Assemble the result in one step (covariance, model test, the contract's fields)::

       return build_result(fit, spec, model="My model", estimator="OLS", depvar=design.depvar,
                           names=names, coef=b, nobs=n, df_resid=n - k, index=design.index, residuals=e,
                           fitted_values=y - e, predictor=Predictor(design.terms), rsquared={"r2": r2},
                           wald_terms=slopes, ...)

   A subclass adding fields is ``@dataclass(frozen=True, kw_only=True)`` (it keeps the one-line repr and
   pickling). ``build_result`` is a thin wrapper around the keyword constructor
   ``EstimationResult(model=..., ...)``, which keeps working for results built by hand (then ``df_inference``
   defaults to ``df_resid`` and ``with_vcov`` is unavailable because no :class:`Fit` is attached).
5. Write a numpydoc docstring with the model in math, the variance formula, a reference and a runnable
   ``Examples`` section (the docstring tests execute it), and add the estimator to the contract test
   (``tests/test_contract.py``).

Inference uses Student-t with ``df_inference`` degrees of freedom when it is set (Stata's convention for linear
models; for cluster-robust variance Stata uses G − 1), and the normal distribution otherwise (ML models).

:class:`TestResult` and the Wald test of linear restrictions (``wald``, ``wald_zero_test``, ``restriction_matrix``,
``psd_rank``) are in :mod:`clusterecon.estimators.wald`, the printed summary in
:mod:`clusterecon.estimators.results_text`; both are importable from here as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .results_text import summary_text
from .wald import RestrictionError, TestResult, psd_rank, restriction_matrix, wald, wald_zero_test  # noqa: F401


@dataclass(frozen=True)
class VarianceInfo:
    """What variance estimator produced ``cov``.

    ``kind``: classical | robust (HC1) | hc0 | hc2 | hc3 | cluster | cluster2 | driscoll-kraay | oim | opg |
    bootstrap | delta | none (standard errors not computed, ``dof_rule`` says why: e.g. ``"reps=0"``);
    ``clusters``: the clustering column(s); ``n_clusters``: G for each; ``dof_rule``: the small-sample rule in words
    (e.g. ``"Stata xtreg: G/(G-1)·(N-1)/(N-K), K = slopes + constant"``).
    """

    kind: str
    clusters: tuple[str, ...] = ()
    n_clusters: tuple[int, ...] = ()
    dof_rule: str = ""
    bandwidth: int | None = None

    def describe(self) -> str:
        if self.kind == "none":
            return "standard errors not computed" + (f" ({self.dof_rule})" if self.dof_rule else "")
        names = {
            "classical": "classical (homoskedastic)",
            "robust": "heteroskedasticity-robust (HC1)",
            "hc0": "heteroskedasticity-robust (HC0)",
            "hc2": "heteroskedasticity-robust (HC2)",
            "hc3": "heteroskedasticity-robust (HC3)",
            "cluster": "cluster-robust",
            "cluster2": "two-way cluster-robust (Cameron-Gelbach-Miller)",
            "driscoll-kraay": "Driscoll-Kraay",
            "oim": "observed information matrix",
            "opg": "outer product of gradients",
            "bootstrap": "bootstrap",
            "delta": "delta method",
        }
        s = names.get(self.kind, self.kind)
        if self.clusters:
            s += " by " + " and ".join(f"{c} (G={g})" for c, g in zip(self.clusters, self.n_clusters))
        if self.bandwidth is not None:
            s += f", bandwidth {self.bandwidth}"
        if self.dof_rule:
            s += f"; dof: {self.dof_rule}"
        return s


@dataclass(frozen=True)
class Omitted:
    """Observations an estimator left out and why (missing values, singletons, gaps, ...)."""

    reason: str
    n: int


#: The R² variants a result may carry, by typed key; older spellings are mapped onto them.
RSQUARED_KEYS = ("r2", "adj", "within", "between", "overall", "pseudo")
_RSQ_ALIASES = {"pseudo (McFadden)": "pseudo", "Pseudo R2": "pseudo", "prsquared": "pseudo", "R2": "r2",
                "r2_adj": "adj", "adjusted": "adj"}


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _frozen_array(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=float, copy=True)
    arr.setflags(write=False)
    return arr


def _readonly(a: Any) -> np.ndarray | None:
    if a is None:
        return None
    arr = np.asarray(a)
    if arr.flags.writeable:
        arr = arr.view()
        arr.setflags(write=False)
    return arr


_MAPPINGS = ("rsquared", "stats", "effects", "tests", "extra", "estimated_effects")


@dataclass(frozen=True, kw_only=True)
class EstimationResult:
    """Result of one estimation. Construct through keyword arguments; everything is read-only afterwards.

    ``df_resid`` is N − K; ``df_inference`` the t/F degrees of freedom (None = normal); when only ``df_resid`` is
    given it is used for both (results built by hand). ``fit`` keeps the variance ingredients (``with_vcov``);
    ``index`` the (entity, time) index of the estimation observations; ``residuals``/``fitted_values`` their
    residuals and fitted values; ``predictor`` how to predict on new data; ``estimated_effects`` the estimated
    fixed effects by name (``"firm"``, ``"year"``); ``n_params`` the number of free parameters for AIC/BIC
    (default: the number of reported terms).
    """

    model: str
    estimator: str
    depvar: str
    names: tuple[str, ...]
    coef: np.ndarray
    vcov: np.ndarray
    variance: VarianceInfo
    nobs: int
    df_resid: float | None = None
    formula: str | None = None
    n_entities: int | None = None
    t_min: int | None = None
    t_mean: float | None = None
    t_max: int | None = None
    rsquared: Mapping[str, float] = field(default_factory=dict)
    loglik: float | None = None
    omitted: tuple[Omitted, ...] = ()
    dropped_regressors: tuple[tuple[str, str], ...] = ()
    stats: Mapping[str, float] = field(default_factory=dict)
    effects: Mapping[str, str] = field(default_factory=dict)
    tests: Mapping[str, TestResult] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    df_inference: float | None = UNSET
    fit: Any = field(default=None, repr=False)
    index: pd.Index | None = field(default=None, repr=False)
    residuals: np.ndarray | None = field(default=None, repr=False)
    fitted_values: np.ndarray | None = field(default=None, repr=False)
    predictor: Any = field(default=None, repr=False)
    estimated_effects: Mapping[str, pd.Series] = field(default_factory=dict, repr=False)
    n_params: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "coef", _frozen_array(self.coef))
        object.__setattr__(self, "vcov", _frozen_array(self.vcov))
        object.__setattr__(self, "names", tuple(self.names))
        rsq = {}
        for k, v in dict(self.rsquared).items():
            key = _RSQ_ALIASES.get(k, k)
            if key not in RSQUARED_KEYS:
                raise ValueError(f"rsquared key {k!r} is not one of {RSQUARED_KEYS}")
            rsq[key] = float(v)
        object.__setattr__(self, "rsquared", rsq)
        for name in _MAPPINGS:
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        if self.df_inference is UNSET:
            object.__setattr__(self, "df_inference", self.df_resid)
        for name in ("residuals", "fitted_values"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))
        k = len(self.names)
        if self.coef.shape != (k,) or self.vcov.shape != (k, k):
            raise ValueError(f"coef/vcov shapes {self.coef.shape}/{self.vcov.shape} do not match {k} names")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # keep the one-line repr in subclasses: @dataclass does not replace a __repr__ the class itself defines
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = EstimationResult.__repr__

    def __reduce__(self) -> tuple:
        state = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        for name in _MAPPINGS:
            state[name] = dict(state[name])
        return (_rebuild, (type(self), state))

    # ---------------------------------------------------------------- named views
    @property
    def params(self) -> pd.Series:
        return pd.Series(self.coef, index=list(self.names), name="params")

    @property
    def cov(self) -> pd.DataFrame:
        return pd.DataFrame(self.vcov, index=list(self.names), columns=list(self.names))

    def _se(self) -> np.ndarray:
        d = np.diag(self.vcov).copy()
        # rounding can leave an exactly-zero variance slightly negative (a regressor that fits perfectly)
        finite = np.abs(d[np.isfinite(d)])  # an all-NaN covariance (e.g. no bootstrap draws) has no scale
        tiny = (d < 0) & (d > -1e-12 * max(1.0, float(finite.max()) if finite.size else 1.0))
        d[tiny] = 0.0
        with np.errstate(invalid="ignore"):
            return np.sqrt(d)

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(self._se(), index=list(self.names), name="std_errors")

    @property
    def bse(self) -> pd.Series:
        """Standard errors (statsmodels' name for :attr:`std_errors`)."""
        return self.std_errors

    @property
    def tstats(self) -> pd.Series:
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series(self.coef / self._se(), index=list(self.names), name="tstats")

    @property
    def uses_t(self) -> bool:
        return self.df_inference is not None

    @property
    def pvalues(self) -> pd.Series:
        t = np.abs(self.tstats.to_numpy())
        p = 2 * (stats.t.sf(t, self.df_inference) if self.uses_t else stats.norm.sf(t))
        return pd.Series(p, index=list(self.names), name="pvalues")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        q = stats.t.ppf(0.5 + level / 2, self.df_inference) if self.uses_t else stats.norm.ppf(0.5 + level / 2)
        se = self.std_errors.to_numpy()
        return pd.DataFrame({"lower": self.coef - q * se, "upper": self.coef + q * se}, index=list(self.names))

    @property
    def n_omitted(self) -> int:
        return int(sum(o.n for o in self.omitted))

    # ---------------------------------------------------------------- R², likelihood
    def _rsq(self, key: str) -> float | None:
        return self.rsquared.get(key)

    r2 = property(lambda self: self._rsq("r2"), doc="R² (centred when the model has a constant), or None.")
    r2_adj = property(lambda self: self._rsq("adj"), doc="Adjusted R², or None.")
    r2_within = property(lambda self: self._rsq("within"), doc="R² within firms (xtreg), or None.")
    r2_between = property(lambda self: self._rsq("between"), doc="R² between firms (xtreg), or None.")
    r2_overall = property(lambda self: self._rsq("overall"), doc="R² overall (xtreg), or None.")
    r2_pseudo = property(lambda self: self._rsq("pseudo"), doc="McFadden's pseudo-R² 1 − llf/llf₀, or None.")

    @property
    def llf(self) -> float | None:
        """Maximised log-likelihood (ML models), or None."""
        return self.loglik

    @property
    def df_model(self) -> int:
        """Free parameters counted by AIC/BIC (``n_params``, else the number of reported terms)."""
        return int(self.n_params if self.n_params is not None else len(self.names))

    @property
    def aic(self) -> float | None:
        """Akaike's criterion −2 llf + 2k (Stata ``estat ic``), or None without a likelihood."""
        return None if self.loglik is None else -2 * self.loglik + 2 * self.df_model

    @property
    def bic(self) -> float | None:
        """Schwarz's criterion −2 llf + k ln N (Stata ``estat ic``), or None without a likelihood."""
        return None if self.loglik is None else -2 * self.loglik + self.df_model * float(np.log(self.nobs))

    # ---------------------------------------------------------------- residuals and predictions
    def _series(self, values: np.ndarray, name: str) -> pd.Series:
        idx = self.index if self.index is not None and len(self.index) == len(values) else None
        return pd.Series(values, index=idx, name=name)

    @property
    def resid(self) -> pd.Series:
        """Residuals of the estimation observations (each estimator's docstring says which), indexed like them."""
        if self.residuals is None:
            raise AttributeError(f"{self.model} does not define residuals")
        return self._series(np.asarray(self.residuals), "resid")

    @property
    def fitted(self) -> pd.Series:
        """Fitted values of the estimation observations (each estimator's docstring says which)."""
        if self.fitted_values is None:
            raise AttributeError(f"{self.model} does not define fitted values")
        return self._series(np.asarray(self.fitted_values), "fitted")

    def predict(self, newdata: pd.DataFrame | Any = None, *, kind: str | None = None) -> pd.Series | pd.DataFrame:
        """Predictions on ``newdata`` (a DataFrame or SurveyPanel with the formula's columns), or the fitted
        values of the estimation sample when ``newdata`` is None. ``kind`` picks the prediction where a model has
        several (e.g. ``"xb"`` the linear index, ``"pr"`` a probability); the estimator's docstring lists them."""
        if self.predictor is None:
            raise NotImplementedError(f"{self.model} has no prediction on new data")
        return self.predictor.predict(self, newdata, kind)

    # ---------------------------------------------------------------- tests
    def wald_test(self, restrictions: str | Sequence[str] | Mapping[str, float] | np.ndarray,
                  value: Sequence[float] | None = None) -> TestResult:
        """Wald test of linear restrictions R·b = r.

        ``restrictions``: a matrix R (with ``value`` = r), or constraints in formulaic's syntax (the one
        linearmodels uses): ``"x1 = 0"``, ``"x1 = x2"``, ``"x1 + x2 = 1"``, ``"2*x1 - x2 = 1e-3"``, several joined
        by ``,`` or ``;`` or given as a list, or a mapping ``{"x1": 0, "x2": 1}``. Term names that are not plain
        identifiers (``I(x3 - 1)``, ``C(year)[T.2002]``, ``a:b``) may be written as they are or in backticks.
        Uses F(q, df_inference) when the result uses t inference (Stata ``test`` after ``regress``), χ²(q)
        otherwise: W = (Rb − r)'(R V R')⁻¹(Rb − r).
        """
        R, r, desc = restriction_matrix(restrictions, value, self.names)
        return wald(self.coef, self.vcov, R, r, self.df_inference, desc)

    # ---------------------------------------------------------------- variance after the fit
    def with_vcov(self, vcov: Any = "classical", cluster: str | Sequence[str] | None = None, *,
                  dof: str | None = None, bandwidth: int | None = None, data: Any = None) -> EstimationResult:
        """The same estimates under another variance, as a new result (this one is unchanged); no refit.

        Takes the vocabulary of :mod:`clusterecon.estimators.variance`; ``dof`` defaults to the rule the model was
        fitted with. A cluster variable that was not carried into the estimation sample is looked up in ``data``
        by the (entity, time) index. Wald tests stored in ``tests`` are recomputed with the new covariance.
        """
        from .fit import covariance
        from .variance import parse_vcov

        if self.fit is None:
            raise NotImplementedError(f"{self.model} keeps no variance ingredients; refit it with vcov={vcov!r}")
        spec = parse_vcov(vcov, cluster, dof=dof or self.fit.dof, bandwidth=bandwidth, supported=self.fit.supported,
                          dof_rules=self.fit.dof_rules, estimator=self.model, ml=self.fit.method == "ml")
        V, info, df = covariance(self.fit, spec, data)
        return _reexpress(self, V, info, df)

    # ---------------------------------------------------------------- tables layer
    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        ci = self.conf_int(level)
        return pd.DataFrame({
            "estimate": self.coef,
            "std_error": self.std_errors.to_numpy(),
            "statistic": self.tstats.to_numpy(),
            "p_value": self.pvalues.to_numpy(),
            "ci_lower": ci["lower"].to_numpy(),
            "ci_upper": ci["upper"].to_numpy(),
        }, index=pd.Index(list(self.names), name="term"))

    def glance(self) -> dict[str, Any]:
        """Model-level statistics in display order (what the bottom block of a regression table shows)."""
        g: dict[str, Any] = {"N": self.nobs}
        if self.n_entities is not None:
            g["Firms"] = self.n_entities
        for k, v in self.rsquared.items():
            g[f"R2 {k}" if k != "r2" else "R2"] = v
        if self.loglik is not None:
            g["Log-likelihood"] = self.loglik
            g["AIC"] = self.aic
            g["BIC"] = self.bic
        g.update(self.stats)
        return g

    # ---------------------------------------------------------------- printing
    def summary(self) -> str:
        return summary_text(self)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model}: {self.depvar} ~ {len(self.names)} terms, N={self.nobs}>"


def _rebuild(cls: type, state: dict[str, Any]) -> EstimationResult:
    return cls(**state)


# ------------------------------------------------------------------------------------------------ assembly
def build_result(fit: Any, spec: Any, *, data: Any = None, wald_terms: Sequence[int] | None = None,
                 wald_null: str = "all slopes are zero", wald_key: str = "wald",
                 cls: type[EstimationResult] = EstimationResult, **fields: Any) -> EstimationResult:
    """The one assembly step: covariance of ``fit`` under ``spec`` (see :mod:`.fit`), the model Wald test of the
    coefficients ``wald_terms`` (stored as ``tests["wald"]`` and recomputed by ``with_vcov``), and the result.

    ``fields`` are :class:`EstimationResult` keyword arguments (``vcov``, ``variance`` and ``df_inference`` come
    from the covariance; ``df_resid`` defaults to N − K of the fit).
    """
    from .fit import covariance

    V, info, df = covariance(fit, spec, data)
    tests = dict(fields.pop("tests", {}))
    extra = dict(fields.pop("extra", {}))
    if wald_terms is not None and len(wald_terms):
        extra["wald_terms"] = (tuple(int(j) for j in wald_terms), wald_null, wald_key)
        tests = {wald_key: wald_zero_test(fields["coef"], V, wald_terms, wald_null, df), **tests}
    return cls(vcov=V, variance=info, df_inference=df, fit=fit, tests=tests, extra=extra, **fields)


def _reexpress(res: EstimationResult, V: np.ndarray, info: VarianceInfo, df: float | None) -> EstimationResult:
    tests = dict(res.tests)
    wt = res.extra.get("wald_terms")
    if wt is not None and wt[2] in tests:
        tests[wt[2]] = wald_zero_test(res.coef, V, wt[0], wt[1], df)
    for key, t in res.tests.items():  # other stored Wald tests depend on the old covariance: recompute by name
        spec = res.extra.get("wald_tests", {}).get(key)
        if spec is not None:
            R, r = np.asarray(spec[0]), np.asarray(spec[1])
            new = wald(res.coef, V, R, r, df, t.null)
            tests[key] = dataclasses.replace(t, stat=new.stat, pvalue=new.pvalue, df=new.df, dist=new.dist,
                                             note=f"variance: {info.kind}")
    return dataclasses.replace(res, vcov=V, variance=info, df_inference=df, tests=tests)


def add_wald_test(res: EstimationResult, key: str, restrictions: Any, *, name: str, null: str,
                  ) -> EstimationResult:
    """``res`` with the Wald test of ``restrictions`` stored as ``tests[key]`` (named ``name``); ``with_vcov``
    recomputes it under the new covariance."""
    R, r, _ = restriction_matrix(restrictions, None, res.names)
    t = wald(res.coef, res.vcov, R, r, res.df_inference, null)
    t = dataclasses.replace(t, name=name, note=f"variance: {res.variance.kind}")
    stored = {**res.extra.get("wald_tests", {}), key: (R.tolist(), r.tolist())}
    return dataclasses.replace(res, tests={**res.tests, key: t}, extra={**res.extra, "wald_tests": stored})


__all__ = ["EstimationResult", "Omitted", "RSQUARED_KEYS", "TestResult", "VarianceInfo", "build_result",
           "restriction_matrix", "wald", "wald_zero_test", "add_wald_test", "psd_rank"]
