"""Immutable estimation results shared by every clusterecon estimator.

Every estimator returns an :class:`EstimationResult` (or a subclass adding fields): named ``params``,
``std_errors``, ``tstats``, ``pvalues``, ``conf_int()``, ``cov``, ``nobs``, the variance convention
(:class:`VarianceInfo`) printed in every summary, the observations left out with their reasons, and the pieces a
tables layer needs (``tidy()``, ``glance()``, ``effects``). Tests of restrictions return :class:`TestResult`.

Inference uses Student-t with ``df_resid`` degrees of freedom when ``df_resid`` is set (Stata's convention for
linear models; for cluster-robust variance Stata uses G − 1), and the normal distribution otherwise (ML models).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class VarianceInfo:
    """What variance estimator produced ``cov``.

    ``kind``: classical | robust | cluster | cluster2 | driscoll-kraay | oim | opg | bootstrap | delta;
    ``clusters``: the clustering column(s); ``n_clusters``: G for each; ``dof_rule``: the small-sample rule in
    words (e.g. ``"Stata xtreg: G/(G-1)·(N-1)/(N-K), K = slopes + constant"``).
    """

    kind: str
    clusters: tuple[str, ...] = ()
    n_clusters: tuple[int, ...] = ()
    dof_rule: str = ""
    bandwidth: int | None = None

    def describe(self) -> str:
        names = {
            "classical": "classical (homoskedastic)",
            "robust": "heteroskedasticity-robust",
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


@dataclass(frozen=True)
class TestResult:
    """A test statistic with its distribution and null hypothesis (Wald, Hausman, LM, F, ...)."""

    name: str
    stat: float
    pvalue: float
    df: float | tuple[float, float]
    dist: str  # "chi2" | "F" | "normal"
    null: str
    note: str = ""

    def __str__(self) -> str:
        df = f"({self.df[0]:g}, {self.df[1]:g})" if isinstance(self.df, tuple) else f"({self.df:g})"
        s = f"{self.name}: {self.dist}{df} = {self.stat:.4f}, p = {self.pvalue:.4f}  [H0: {self.null}]"
        return s + (f"  ({self.note})" if self.note else "")


def _frozen_array(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=float, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, kw_only=True)
class EstimationResult:
    """Result of one estimation. Construct through keyword arguments; everything is read-only afterwards."""

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "coef", _frozen_array(self.coef))
        object.__setattr__(self, "vcov", _frozen_array(self.vcov))
        object.__setattr__(self, "names", tuple(self.names))
        for name in ("rsquared", "stats", "effects", "tests", "extra"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        k = len(self.names)
        if self.coef.shape != (k,) or self.vcov.shape != (k, k):
            raise ValueError(f"coef/vcov shapes {self.coef.shape}/{self.vcov.shape} do not match {k} names")

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
        tiny = (d < 0) & (d > -1e-12 * max(1.0, float(np.nanmax(np.abs(d))) if d.size else 1.0))
        d[tiny] = 0.0
        with np.errstate(invalid="ignore"):
            return np.sqrt(d)

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series(self._se(), index=list(self.names), name="std_errors")

    @property
    def tstats(self) -> pd.Series:
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series(self.coef / self._se(), index=list(self.names), name="tstats")

    @property
    def uses_t(self) -> bool:
        return self.df_resid is not None

    @property
    def pvalues(self) -> pd.Series:
        t = np.abs(self.tstats.to_numpy())
        p = 2 * (stats.t.sf(t, self.df_resid) if self.uses_t else stats.norm.sf(t))
        return pd.Series(p, index=list(self.names), name="pvalues")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        q = stats.t.ppf(0.5 + level / 2, self.df_resid) if self.uses_t else stats.norm.ppf(0.5 + level / 2)
        se = self.std_errors.to_numpy()
        return pd.DataFrame({"lower": self.coef - q * se, "upper": self.coef + q * se}, index=list(self.names))

    @property
    def n_omitted(self) -> int:
        return int(sum(o.n for o in self.omitted))

    # ---------------------------------------------------------------- tests
    def wald_test(self, restrictions: str | Sequence[str] | np.ndarray, value: Sequence[float] | None = None,
                  ) -> TestResult:
        """Wald test of linear restrictions R·b = r.

        ``restrictions``: a matrix R (with ``value`` = r), or strings such as ``"x1 = 0"``, ``"x1 = x2"``,
        ``"x1 + x2 = 1"``. Uses F(q, df_resid) when the result uses t inference (Stata ``test`` after ``regress``),
        χ²(q) otherwise: W = (Rb − r)'(R V R')⁻¹(Rb − r).
        """
        R, r = _restriction_matrix(restrictions, value, self.names)
        diff = R @ self.coef - r
        mid = R @ self.vcov @ R.T
        w = float(diff @ np.linalg.solve(mid, diff))
        q = R.shape[0]
        desc = restrictions if isinstance(restrictions, str) else "; ".join(map(str, restrictions)) \
            if not isinstance(restrictions, np.ndarray) else f"{q} linear restrictions"
        if self.uses_t:
            f = w / q
            return TestResult("Wald F", f, float(stats.f.sf(f, q, self.df_resid)), (q, float(self.df_resid)), "F",
                              str(desc))
        return TestResult("Wald", w, float(stats.chi2.sf(w, q)), q, "chi2", str(desc))

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
        g.update(self.stats)
        return g

    # ---------------------------------------------------------------- printing
    def summary(self) -> str:
        width = 78
        lines = [f"{self.model}".center(width), "=" * width]
        head = [("Dep. variable", self.depvar), ("Estimator", self.estimator), ("Observations", f"{self.nobs:,}")]
        if self.n_entities is not None:
            head.append(("Firms", f"{self.n_entities:,}"))
        if self.t_min is not None:
            head.append(("T min/mean/max", f"{self.t_min} / {self.t_mean:.2f} / {self.t_max}"))
        for k, v in self.rsquared.items():
            head.append((f"R-squared {k}" if k != "r2" else "R-squared", f"{v:.4f}"))
        if self.loglik is not None:
            head.append(("Log-likelihood", f"{self.loglik:.4f}"))
        for k, v in self.stats.items():
            head.append((k, f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v)))
        for k, v in head:
            lines.append(f"{k:<24}{v:>54}")
        lines.append(f"Variance: {self.variance.describe()}")
        lines.append(f"Inference: {'t(' + format(self.df_resid, 'g') + ')' if self.uses_t else 'normal'}")
        lines.append("-" * width)
        tb = self.tidy()
        stat = "t" if self.uses_t else "z"
        lines.append(f"{'':<22}{'coef':>11}{'std err':>11}{stat:>9}{f'P>|{stat}|':>9}"
                     f"{'[0.025':>8}{'0.975]':>8}")
        for name, row in tb.iterrows():
            lines.append(f"{str(name)[:21]:<22}{row.estimate:>11.5g}{row.std_error:>11.5g}{row.statistic:>9.3f}"
                         f"{row.p_value:>9.3f}{row.ci_lower:>8.3g}{row.ci_upper:>8.3g}")
        lines.append("-" * width)
        for k, v in self.effects.items():
            lines.append(f"{k}: {v}")
        for t in self.tests.values():
            lines.append(str(t))
        if self.omitted:
            lines.append("Left out: " + "; ".join(f"{o.n} {o.reason}" for o in self.omitted))
        for name, why in self.dropped_regressors:
            lines.append(f"Dropped regressor {name}: {why}")
        lines.extend(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model}: {self.depvar} ~ {len(self.names)} terms, N={self.nobs}>"


def _restriction_matrix(restrictions: Any, value: Sequence[float] | None, names: Sequence[str],
                        ) -> tuple[np.ndarray, np.ndarray]:
    names = list(names)
    if isinstance(restrictions, np.ndarray):
        R = np.atleast_2d(np.asarray(restrictions, dtype=float))
        r = np.zeros(R.shape[0]) if value is None else np.asarray(value, dtype=float)
        return R, r
    if isinstance(restrictions, str):
        restrictions = [s for s in restrictions.replace(";", ",").split(",") if s.strip()]
    rows, rhs = [], []
    for text in restrictions:
        lhs, _, right = text.partition("=")
        row = np.zeros(len(names))
        const = 0.0
        for side, sign in ((lhs, 1.0), (right or "0", -1.0)):
            for term in side.replace("-", "+-").split("+"):
                term = term.strip()
                if not term:
                    continue
                neg = term.startswith("-")
                term = term.lstrip("-").strip()
                coef_, _, var = term.rpartition("*")
                mult = (-1.0 if neg else 1.0) * (float(coef_) if coef_ else 1.0)
                var = var.strip()
                if var in names:
                    row[names.index(var)] += sign * mult
                else:
                    try:
                        const -= sign * mult * float(var)
                    except ValueError:
                        raise KeyError(f"{var!r} in restriction {text!r} is not a parameter; have {names}") from None
        rows.append(row)
        rhs.append(const)
    return np.vstack(rows), np.asarray(rhs)
