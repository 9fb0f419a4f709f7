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
    return _bincount_sums(Z, codes, n_groups)


def _bincount_sums(Z: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """(G, p) group sums by one ``np.bincount`` per column (rows added in data order, any row order)."""
    out = np.empty((n_groups, Z.shape[1]))
    for j in range(Z.shape[1]):
        out[:, j] = np.bincount(codes, weights=Z[:, j], minlength=n_groups)
    return out


def entity_codes(index: pd.MultiIndex) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n−1 of the first index level (the firm, sorted order) and T_i, the number of rows of each firm."""
    codes, n = codes_of(index.get_level_values(0))
    return codes, np.bincount(codes, minlength=n).astype(float)


def group_means(codes: np.ndarray, counts: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Group means of the columns of ``a`` (a vector or an (N, p) array) given the codes and rows per group.

    One ``np.bincount`` pass per column whatever the row order (the random-effects family; :class:`Groups` is the
    fixed-effects path, which uses contiguous blocks when rows are sorted)."""
    if a.ndim == 1:
        return np.bincount(codes, weights=a, minlength=len(counts)) / counts
    return _bincount_sums(a, codes, len(counts)) / counts[:, None]


def varies_within(X: np.ndarray, dev: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Which columns of X vary within groups: ‖x − x̄_g‖ > ``tol``·(1 + ‖x‖), ``dev`` being X minus its group means
    (a firm-constant column leaves only rounding noise in ``dev``)."""
    return np.sqrt((dev * dev).sum(0)) > tol * (1 + np.sqrt((X * X).sum(0)))


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

    def col_sums(self, v: np.ndarray) -> np.ndarray:
        """(G,) sums of one column (contiguous blocks when sorted)."""
        if self.sorted and (self.count > 0).all():
            starts = getattr(self, "_starts", None)
            if starts is None:
                starts = np.r_[0, np.cumsum(self.count[:-1]).astype(np.intp)]
                self._starts = starts
            return np.add.reduceat(v, starts)
        return np.bincount(self.codes, weights=v, minlength=self.n_groups)

    def means(self, Z: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        s = self.sums(Z if weights is None else Z * weights[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            return s / self.size[:, None]

    def expand(self, M: np.ndarray) -> np.ndarray:
        """Row i gets M[group of i] (np.repeat on sorted data, fancy indexing otherwise)."""
        if self.sorted and len(self.count) == M.shape[0] and (self.count > 0).all():
            return np.repeat(M, self.count.astype(np.intp), axis=0)
        return M[self.codes]

    def subtract(self, col: np.ndarray, m: np.ndarray, buf: np.ndarray, sign: float = 1.0) -> None:
        """col −= sign·m[group] in place, using ``buf`` (n,) as the only temporary."""
        np.take(m, self.codes, out=buf)
        if sign > 0:
            np.subtract(col, buf, out=col)
        else:
            np.add(col, buf, out=col)

    def demean(self, Z: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return Z - self.expand(self.means(Z, weights))


def _cell_times(cT: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(C @ B)' for the G × T cell table given as C' (T × G) and a small T × p matrix B.

    ``np.einsum`` (its own single-threaded loops) rather than BLAS: with OpenBLAS threads, tall-skinny GEMMs such
    as C @ B take 100–250 ms at G = 1e5–1e6 in some orientations and < 1 ms in others, and which one is fast
    changes with G; einsum is predictable.
    """
    return np.einsum("tj,tg->jg", B, cT)


def index_groups(index: pd.MultiIndex, level: int, weights: np.ndarray | None = None) -> Groups:
    """Groups of one level of a (firm, year) MultiIndex from its integer codes (no hashing of the values)."""
    if isinstance(index, pd.MultiIndex):
        codes = np.asarray(index.codes[level], dtype=np.intp)
        used = np.bincount(codes, minlength=len(index.levels[level])) > 0
        if not used.all():  # levels left over after filtering rows
            codes = (np.cumsum(used) - 1)[codes]
        g = int(used.sum())
        count = np.bincount(codes, minlength=g).astype(float)
        size = count if weights is None else np.bincount(codes, weights=weights, minlength=g)
        return Groups(codes, g, size, count, _is_sorted(codes))
    return Groups.of(np.asarray(index.get_level_values(level)), weights)


@dataclass
class Absorbed:
    """Columns of Z with effects absorbed, plus the small moment matrices the estimators need.

    ``Z``: (n, p) transformed columns; ``n_absorbed``: effects absorbed as groups (G firms, or T years alone);
    ``n_partialled``: year-effect coefficients partialled out by the dense block (rank of D'W M_F D, usually
    T − 1); ``raw``: Z'WZ of the untransformed columns; ``firm_means``/``year_sums``: (weighted) firm means and
    year sums of the untransformed columns; ``ss_firm``: diagonal of Σ w (M_F Z)², the firm-demeaned sums of
    squares. Year effects δ of a linear combination Zc of the columns (firm-demeaned) are ``year_effects(c)``.
    """

    Z: np.ndarray
    n_absorbed: int
    n_partialled: int
    firms: Groups | None
    years: Groups | None
    raw: np.ndarray
    firm_means: np.ndarray | None = None
    year_sums: np.ndarray | None = None
    ss_firm: np.ndarray | None = None
    _ginv: np.ndarray | None = None
    _bf: np.ndarray | None = None  # year sums of w·M_F Z
    cell: np.ndarray | None = None
    cellT: np.ndarray | None = None

    def cell_times(self, v: np.ndarray) -> np.ndarray:
        """C @ v for the G × T cell table and a T-vector (see :func:`_cell_times`)."""
        return _cell_times(self.cellT, v[:, None])[0]

    def year_effects(self, c: np.ndarray) -> np.ndarray:
        """δ (T,) minimising ‖M_F(Zc − Dδ)‖_W (min-norm; defined up to a constant)."""
        assert self._ginv is not None and self._bf is not None
        return self._ginv @ (self._bf @ c)


def absorb(Z: np.ndarray, firm: Groups | np.ndarray | None, year: Groups | np.ndarray | None, effects: str,
           weights: np.ndarray | None = None, *, overwrite: bool = False) -> Absorbed:
    """Absorb ``effects`` ("firm" | "time" | "twoway") from the columns of Z (n, p); exact, see module docstring.

    ``firm``/``year``: :class:`Groups` (see :func:`index_groups`) or the raw values of each row. With
    ``overwrite=True`` and a Fortran-ordered float64 Z, the transformation is done in place. Work is column by
    column with one n-vector scratch buffer: large fresh allocations (page faults) dominate otherwise.
    """
    if effects not in ("firm", "time", "twoway"):
        raise ValueError(f"effects must be 'firm', 'time' or 'twoway', got {effects!r}")
    Z = np.asarray(Z, dtype=float)
    if not (overwrite and Z.flags.f_contiguous):
        Z = np.array(Z, dtype=float, order="F", copy=True)
    n, p = Z.shape
    w = weights
    buf = np.empty(n)

    def col(j: int) -> np.ndarray:  # w·Z[:, j] (in buf when weighted)
        return Z[:, j] if w is None else np.multiply(Z[:, j], w, out=buf)

    if w is None:
        raw = Z.T @ Z
    else:
        raw = np.empty((p, p))
        for j in range(p):
            raw[:, j] = Z.T @ col(j)
    tg = None if effects == "firm" else (year if isinstance(year, Groups) else Groups.of(year, w))
    fg = None if effects == "time" else (firm if isinstance(firm, Groups) else Groups.of(firm, w))
    ysum = fsum = None
    if tg is not None:
        ysum = np.column_stack([tg.col_sums(col(j)) for j in range(p)])
    if fg is not None:
        fsum = np.column_stack([fg.col_sums(col(j)) for j in range(p)])
    if effects == "time":
        ym = ysum / tg.size[:, None]
        for j in range(p):
            tg.subtract(Z[:, j], ym[:, j], buf)
        return Absorbed(Z, tg.n_groups, 0, None, tg, raw, year_sums=ysum)
    fm = fsum / fg.size[:, None]
    ss_firm = np.diag(raw) - fg.size @ fm**2
    if effects == "firm":
        for j in range(p):
            fg.subtract(Z[:, j], fm[:, j], buf)
        return Absorbed(Z, fg.n_groups, 0, fg, None, raw, firm_means=fm, ss_firm=ss_firm)
    G, T = fg.n_groups, tg.n_groups
    pair = fg.codes * T
    pair += tg.codes
    cell = np.bincount(pair, weights=w, minlength=G * T).astype(float).reshape(G, T)
    del pair
    cT = np.ascontiguousarray(cell.T)
    # T × T and T × p products with the G × T table by einsum (see _cell_times on OpenBLAS threading)
    A = np.diag(tg.size) - np.einsum("tg,sg->ts", cT / fg.size, cT)
    ginv = np.linalg.pinv(A, rcond=1e-10, hermitian=True)
    rank = int(np.linalg.matrix_rank(A, tol=1e-10 * max(1.0, float(np.abs(A).max())), hermitian=True))
    fmT = np.ascontiguousarray(fm.T)
    bf = ysum - np.einsum("tg,jg->tj", cT, fmT)  # year sums of w·M_F Z without another pass
    Pi = ginv @ bf
    adjT = _cell_times(cT, Pi)  # firm mean of Π[t] minus the firm mean, one row per column of Z
    adjT /= fg.size
    adjT -= fmT
    for j in range(p):  # M_F z − M_F D Π = z − fm[f] − Π[t] + (CΠ/W)[f]
        fg.subtract(Z[:, j], adjT[j], buf, sign=-1.0)
        tg.subtract(Z[:, j], Pi[:, j], buf)
    return Absorbed(Z, G, rank, fg, tg, raw, firm_means=fm, year_sums=ysum, ss_firm=ss_firm, _ginv=ginv, _bf=bf,
                    cell=cell, cellT=cT)
