"""Tests of linear restrictions on estimated coefficients: :class:`TestResult` and the Wald test.

:func:`wald` computes W = (Rb − r)'(R V R')⁻¹(Rb − r), reported as F(q, df) = W/q when the result uses t(df)
inference (Stata's ``test`` after ``regress``) and as χ²(q) otherwise; :func:`wald_zero_test` is the model test that
a set of coefficients is zero. When R V R' has rank below q (:func:`psd_rank`; a cluster-robust variance has rank
at most G − 1) the statistic does not exist and is returned as NaN with the reason, as Stata reports
``F(q, df) = .``. :func:`restriction_matrix` reads restrictions written in formulaic's
:class:`~formulaic.utils.constraints.LinearConstraints` syntax (the one linearmodels uses). Results use these through
:meth:`~clusterecon.estimators.results.EstimationResult.wald_test`; every name is importable from
:mod:`clusterecon.estimators.results` too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats


class RestrictionError(KeyError):
    """A Wald restriction that cannot be read; its text prints as written (a KeyError would print its repr)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


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
        if not np.isfinite(self.stat):  # Stata's "F(q, df) = ." — the reason is in the note
            return f"{self.name}: {self.dist}{df} = .  [H0: {self.null}]" + (f"  ({self.note})" if self.note else "")
        s = f"{self.name}: {self.dist}{df} = {self.stat:.4f}, p = {self.pvalue:.4f}  [H0: {self.null}]"
        return s + (f"  ({self.note})" if self.note else "")


def wald_zero_test(coef: np.ndarray, V: np.ndarray, idx: Sequence[int], null: str,
                   df: float | None = None) -> TestResult:
    """Wald test that ``coef[idx]`` are all zero: χ²(q) with normal inference (ML, random effects), F(q, df) =
    W/q when the result uses t(df) inference (Stata's model F after ``regress``/``xtreg, fe``)."""
    idx = list(idx)
    q = len(idx)
    R = np.zeros((q, len(coef)))
    R[np.arange(q), idx] = 1.0
    return wald(np.asarray(coef), np.asarray(V), R, np.zeros(q), df, null)


def wald(coef: np.ndarray, V: np.ndarray, R: np.ndarray, r: np.ndarray, df: float | None,
         desc: str) -> TestResult:
    """W = (Rb − r)'(R V R')⁻¹(Rb − r); F(q, df) = W/q when ``df`` is set, χ²(q) otherwise.

    When R V R' has rank below q — a cluster-robust variance has rank at most G − 1, so with fewer clusters than
    restrictions — the statistic does not exist: it is returned as NaN with the reason, as Stata reports
    ``F(q, df) = .`` (its solve would otherwise return noise such as F = −3e16, or fail)."""
    diff = R @ coef - r
    q = R.shape[0]
    M = R @ V @ R.T
    rank = psd_rank(M)
    if rank < q:
        note = ("not computable: the variance of the restrictions is not finite" if not np.isfinite(M).all() else
                f"not computable: the variance of the {q} restrictions has rank {rank} < {q} (e.g. a cluster-robust "
                "variance has rank at most G − 1: too few clusters for a joint test of this many coefficients)")
        dist_df = (q, float(df)) if df is not None else q
        return TestResult("Wald F" if df is not None else "Wald", float("nan"), float("nan"), dist_df,
                          "F" if df is not None else "chi2", desc, note)
    w = float(diff @ np.linalg.solve(M, diff))
    if df is not None:
        f = w / q
        return TestResult("Wald F", f, float(stats.f.sf(f, q, df)), (q, float(df)), "F", desc)
    return TestResult("Wald", w, float(stats.chi2.sf(w, q)), q, "chi2", desc)


def psd_rank(M: np.ndarray, rtol: float = 1e-10) -> int:
    """Numerical rank of a symmetric positive semi-definite matrix, unit-free (on its correlation scale); 0 for a
    matrix with a non-finite entry (a variance that does not exist supports no test)."""
    if not np.isfinite(M).all():
        return 0
    d = np.sqrt(np.clip(np.diag(M), 0.0, None))
    ok = d > 0
    if not ok.any():
        return 0
    C = M[np.ix_(ok, ok)] / np.outer(d[ok], d[ok])
    ev = np.linalg.eigvalsh((C + C.T) / 2)
    return int((ev > rtol * max(float(ev.max()), 1.0)).sum())


_SCI = re.compile(r"(?<![\w.`])((?:\d+\.?\d*|\.\d+)[eE][+-]?\d+)")


def restriction_matrix(restrictions: Any, value: Sequence[float] | None, names: Sequence[str],
                       ) -> tuple[np.ndarray, np.ndarray, str]:
    """(R, r, description) of linear restrictions on the parameters ``names`` (see ``wald_test``), parsed by
    formulaic's :class:`~formulaic.utils.constraints.LinearConstraints`."""
    names = list(names)
    if isinstance(restrictions, np.ndarray):
        R = np.atleast_2d(np.asarray(restrictions, dtype=float))
        if R.shape[1] != len(names):
            raise ValueError(f"R has {R.shape[1]} columns for {len(names)} parameters")
        r = np.zeros(R.shape[0]) if value is None else np.asarray(value, dtype=float)
        return R, r, f"{R.shape[0]} linear restrictions"
    from formulaic.utils.constraints import LinearConstraints

    if isinstance(restrictions, Mapping):
        spec: Any = {_quote(str(k), names): v for k, v in restrictions.items()}
        desc = "; ".join(f"{k} = {v}" for k, v in restrictions.items())
    else:
        items = [restrictions] if isinstance(restrictions, str) else list(restrictions)
        parts = [p.strip() for item in items for p in str(item).split(";") if p.strip()]
        if not parts:
            raise ValueError("no restriction given")
        spec = [_SCI.sub(lambda m: np.format_float_positional(float(m.group(1)), trim="-"), _quote(p, names))
                for p in parts]
        desc = "; ".join(parts)
    try:
        lc = LinearConstraints.from_spec(spec, variable_names=names)
    except Exception as exc:  # formulaic raises several types; one message naming the parameters
        from ..formula_guard import plain_text

        raise RestrictionError(f"cannot parse restriction {desc!r} ({plain_text(str(exc))}); parameters are "
                               f"{names}") from None
    return np.asarray(lc.constraint_matrix, dtype=float), np.asarray(lc.constraint_values, dtype=float), desc


def _quote(text: str, names: Sequence[str]) -> str:
    """Backtick every parameter name that is not a plain identifier, outside existing backticks (longest first)."""
    special = sorted((n for n in names if not n.isidentifier()), key=len, reverse=True)
    if not special:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "`":
            j = text.find("`", i + 1)
            j = len(text) if j < 0 else j + 1
            out.append(text[i:j])
            i = j
            continue
        hit = next((n for n in special if text.startswith(n, i)), None)
        if hit is not None:
            out.append(f"`{hit}`")
            i += len(hit)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
