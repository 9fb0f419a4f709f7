"""Fast exact absorption of firm, year, or firm and year effects (the fixed-effects core).

Firm-year panels have many firms and few years. Firm effects are absorbed by group demeaning (contiguous-block
``np.add.reduceat`` when rows are sorted by firm, ``np.bincount`` otherwise). Year effects are a small dense
block handled by Frisch–Waugh–Lovell without ever forming the n × T dummy matrix: with D the year dummies and
M_F the (weighted) firm-demeaning projection,

    D'W M_F D = diag(Σ_t w) − C' diag(1/W_i) C,   C[i, t] = Σ_{(i,t)} w   (a T × T matrix from a G × T table),
    D'W M_F Z = year sums of w·M_F Z,

so M_{[F,D]} Z = M_F Z − M_F D Π with Π = (D'W M_F D)⁺ D'W M_F Z, and M_F D Π = Π[t] − C Π / W_i. The result is
exactly the two-way within transformation (same coefficients and residuals as the dummy-variable regression) in
three passes over the data; no iteration (alternating projections would be needed only for a second
high-dimensional effect, which firm-year surveys do not have).

Written here because pyfixest/linearmodels demean by iterative methods (and need numba/LSMR); the exact block
solution is faster and has no convergence tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def codes_of(values: np.ndarray | pd.Index) -> tuple[np.ndarray, int]:
    """Integer codes 0..G−1 (sorted order of the values) and G."""
    codes, uniques = pd.factorize(np.asarray(values), sort=True)
    return codes.astype(np.intp), len(uniques)


def _is_sorted(codes: np.ndarray) -> bool:
    return bool(codes.size < 2 or (codes[1:] >= codes[:-1]).all())


def group_sums(Z: np.ndarray, codes: np.ndarray, n_groups: int, *, sorted_: bool | None = None) -> np.ndarray:
    """(G, p) sums of the rows of Z (n, p) by group code."""
    if sorted_ is None:
        sorted_ = _is_sorted(codes)
    if sorted_:
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        sums = np.add.reduceat(Z, starts, axis=0)
        if len(starts) == n_groups:
            return sums
        out = np.zeros((n_groups, Z.shape[1]))
        out[codes[starts]] = sums
        return out
    out = np.empty((n_groups, Z.shape[1]))
    for j in range(Z.shape[1]):
        out[:, j] = np.bincount(codes, weights=Z[:, j], minlength=n_groups)
    return out


@dataclass
class Groups:
    """Group codes with their (weighted) sizes, computed once and reused for every column."""

    codes: np.ndarray
    n_groups: int
    size: np.ndarray  # Σ w per group (counts when unweighted)
    count: np.ndarray  # rows per group
    sorted: bool

    @classmethod
    def of(cls, values: np.ndarray, weights: np.ndarray | None = None) -> Groups:
        codes, g = codes_of(values)
        count = np.bincount(codes, minlength=g).astype(float)
        size = count if weights is None else np.bincount(codes, weights=weights, minlength=g)
        return cls(codes, g, size, count, _is_sorted(codes))

    def sums(self, Z: np.ndarray) -> np.ndarray:
        return group_sums(Z, self.codes, self.n_groups, sorted_=self.sorted)

    def means(self, Z: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        s = self.sums(Z if weights is None else Z * weights[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            return s / self.size[:, None]

    def expand(self, M: np.ndarray) -> np.ndarray:
        """Row i gets M[group of i] (np.repeat on sorted data, fancy indexing otherwise)."""
        if self.sorted and len(self.count) == M.shape[0] and (self.count > 0).all():
            return np.repeat(M, self.count.astype(np.intp), axis=0)
        return M[self.codes]

    def demean(self, Z: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return Z - self.expand(self.means(Z, weights))


@dataclass
class Absorbed:
    """Data with effects absorbed: ``Z`` (n, p) transformed columns; ``n_absorbed`` parameters absorbed as
    effects (G for firms; T for years alone); ``n_partialled`` year-dummy coefficients partialled out by the
    dense block (rank of D'M_F D, usually T − 1); ``year_solver`` recovers year effects δ from firm-demeaned
    columns (for R² between/overall as ``xtreg ... i.year`` reports them)."""

    Z: np.ndarray
    n_absorbed: int
    n_partialled: int
    firms: Groups | None
    years: Groups | None
    _ginv: np.ndarray | None = None

    def year_effects(self, r_f: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """δ (T,) minimising ‖M_F(r − Dδ)‖ for a firm-demeaned vector r_f (min-norm solution)."""
        assert self.years is not None and self._ginv is not None
        rw = r_f if weights is None else r_f * weights
        b = self.years.sums(rw[:, None])[:, 0]
        return self._ginv @ b


def absorb(Z: np.ndarray, firm: np.ndarray | None, year: np.ndarray | None, effects: str,
           weights: np.ndarray | None = None) -> Absorbed:
    """Absorb ``effects`` ("firm" | "time" | "twoway") from the columns of Z (n, p); exact, see module docstring.

    ``firm``/``year`` are the entity/time values of each row (any hashable; codes are computed here).
    """
    Z = np.asarray(Z, dtype=float)
    if effects == "firm":
        fg = Groups.of(firm, weights)
        return Absorbed(fg.demean(Z, weights), fg.n_groups, 0, fg, None)
    if effects == "time":
        tg = Groups.of(year, weights)
        return Absorbed(tg.demean(Z, weights), tg.n_groups, 0, None, tg)
    if effects != "twoway":
        raise ValueError(f"effects must be 'firm', 'time' or 'twoway', got {effects!r}")
    fg = Groups.of(firm, weights)
    tg = Groups.of(year, weights)
    Zf = fg.demean(Z, weights)
    G, T = fg.n_groups, tg.n_groups
    w = np.ones(len(Z)) if weights is None else weights
    cell = np.bincount(fg.codes * T + tg.codes, weights=w, minlength=G * T).reshape(G, T)
    A = np.diag(tg.size) - cell.T @ (cell / fg.size[:, None])
    ginv = np.linalg.pinv(A, rcond=1e-10, hermitian=True)
    rank = int(np.linalg.matrix_rank(A, tol=1e-10 * max(1.0, float(np.abs(A).max())), hermitian=True))
    b = tg.sums(Zf if weights is None else Zf * weights[:, None])  # (T, p)
    Pi = ginv @ b
    firm_mean_of_Pi = (cell @ Pi) / fg.size[:, None]  # weighted firm mean of Π[t]
    Zf -= tg.expand(Pi)
    Zf += fg.expand(firm_mean_of_Pi)
    return Absorbed(Zf, G, rank, fg, tg, ginv)
