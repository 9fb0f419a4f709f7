"""Firm-year keys computed once and shared by duplicate handling, validation and the panel.

A survey of N firm-years needs three things over and over: integer codes for the firm ids (in sorted id order), the
order that sorts the rows by (firm, year), and where each firm's rows begin in that order. Computing them with
pandas (``factorize`` of text ids, ``groupby``, ``lexsort``, ``set_index``/``sort_index``) once per stage was most of
the loader's time (``benchmarks/bench_load.py``). Here they are computed once, with numpy on integer codes:

* a firm id column that is already categorical (what :func:`clusterecon.io.canonicalise` produces) is used as it
  is, so the text ids are hashed once per load;
* the sort is a counting sort on the dense (firm, year) code (a scatter, not a comparison sort) when the keys are
  unique, and nothing at all when the rows already are in firm-year order;
* per-firm "first value, and does it vary?" are ``reduceat`` passes over the sorted codes, cached per column so
  that the validator's firm-attribute rule and the panel's firm table share them;
* when each firm's rows sit together in the file, an attribute is proved constant by comparing neighbouring rows;
  Arrow-backed text (a CSV's text columns) is compared by Arrow's kernel, not factorised first (hashing a million
  strings cost three times as much).

No library offers these grouped reductions on presorted codes, hence the helpers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _buffers


@dataclass(frozen=True)
class FileBlocks:
    """How a column of firm ids is listed: every row has an id, each firm's rows are together, and block ``i``
    begins at row ``starts[i]`` with the firm of code ``firm[i]`` (every code once). Found by
    :func:`factorize_blocks`, reused by :func:`keys_of` instead of finding the blocks again."""

    starts: np.ndarray
    firm: np.ndarray


def factorize_sorted(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(s, sort=True, use_na_sentinel=True)`` (codes as int64, uniques as an Index of ``s``'s dtype).

    Surveys list firm by firm, so a text id column is a run of blocks: for an Arrow-backed text column whose blocks
    hold distinct ids, only the first id of each block is sorted (Arrow's sort, no hashing) and the codes are
    repeated over the blocks. Hashing and sorting every distinct id was the largest single cost of loading a 1M
    firm-year Parquet file (``benchmarks/bench_load.py``); any other column goes to pandas."""
    return factorize_blocks(s)[:2]


def factorize_blocks(s: pd.Series) -> tuple[np.ndarray, pd.Index, FileBlocks | None]:
    """:func:`factorize_sorted` and, when the ids were found listed firm by firm, their :class:`FileBlocks`."""
    fast = _block_factorize(s) if len(s) > 1 else None
    if fast is not None:
        return fast
    codes, uniq = pd.factorize(s, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Index(uniq), None


def repeat_by(v: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``np.repeat(v, lengths)``; blocks of one length (a balanced panel) repeat by a scalar, 5x cheaper."""
    if len(lengths) and lengths.min() == lengths.max():
        out = _buffers.empty(len(v) * int(lengths[0]), v.dtype)
        out.reshape(len(v), int(lengths[0]))[:] = v[:, None]  # (written into a pooled array: _buffers)
        return out
    return np.repeat(v, lengths)


def _block_factorize(s: pd.Series) -> tuple[np.ndarray, pd.Index, FileBlocks] | None:
    arr = getattr(s.array, "_pa_array", None)
    if arr is None or not pd.api.types.is_string_dtype(s.dtype) or arr.null_count:
        return None
    import pyarrow.compute as pc

    n = len(s)
    arr = _one_chunk(arr)
    boundary = pc.not_equal(arr[1:], arr[:-1]).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, boundary])
    if len(starts) > n // 2:  # not listed in blocks: hashing is cheaper than sorting every row
        return None
    # Arrow's take of the first ids (a Series' take would also take the row index)
    first = pd.Series(pd.array(arr.take(starts), dtype=s.dtype), copy=False)
    f = first.array._pa_array
    lengths = np.diff(np.r_[starts, n])
    if len(f) < 2 or not pc.any(pc.less_equal(f[1:], f[:-1])).as_py():  # blocks already in strictly increasing id order
        rank = np.arange(len(f), dtype=np.int64)
        return repeat_by(rank, lengths), pd.Index(first.array), FileBlocks(starts, rank)
    order = pc.array_sort_indices(f).to_numpy()
    u = f.take(order)
    if pc.any(pc.equal(u[1:], u[:-1])).as_py():
        return None  # a firm's rows are split over blocks
    uniq = pd.Series(pd.array(u, dtype=s.dtype), copy=False)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return repeat_by(rank, lengths), pd.Index(uniq.array), FileBlocks(starts, rank)


def _one_chunk(arr):
    """A chunked Arrow array whose chunks are consecutive slices of one array (what converting a Parquet column to
    pandas text gives) as that one array, without a copy; else as it is. Taking from one array is twice as fast as
    from chunks (each index is resolved to its chunk first)."""
    chunks = getattr(arr, "chunks", None)
    if not chunks or len(chunks) == 1:
        return chunks[0] if chunks else arr
    first = chunks[0].buffers()
    pos = chunks[0].offset
    for c in chunks:
        b = c.buffers()
        if c.null_count or len(b) != 3 or b[0] is not None or b[1].address != first[1].address or (
                b[2] is None) != (first[2] is None) or (b[2] is not None and b[2].address != first[2].address) or (
                c.offset != pos):
            return arr
        pos += len(c)
    import pyarrow as pa

    return pa.Array.from_buffers(arr.type, len(arr), [None, first[1], first[2]], 0, chunks[0].offset)


def firm_codes(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(codes, sorted ids present): ``codes[i]`` indexes the sorted distinct ids (``-1`` for a missing id). A
    categorical column's codes are reused: only its categories are sorted, and unused ones dropped."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return factorize_sorted(s)
    cats = s.cat.categories
    codes = s.array.codes.astype(np.int64)
    present = np.bincount(codes + 1, minlength=len(cats) + 1)[1:] > 0
    monotonic = cats.is_monotonic_increasing
    if present.all() and monotonic:
        return codes, cats
    order = np.arange(len(cats)) if monotonic else np.argsort(cats.to_numpy(dtype=object), kind="stable")
    kept = order[present[order]]
    remap = np.full(len(cats) + 1, -1, dtype=np.int64)  # the last slot maps code -1 (missing) to -1
    remap[kept] = np.arange(len(kept))
    return remap[codes], cats[kept]


def year_codes(year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, sorted distinct years) of a float year array (``-1`` for NaN); whole years are offset, not hashed."""
    ok = ~np.isnan(year)
    if not ok.any():
        return np.full(len(year), -1, dtype=np.int64), np.array([], dtype=float)
    lo, hi = np.nanmin(year), np.nanmax(year)
    if hi - lo < 10_000 and np.array_equal(year[ok], np.floor(year[ok])):
        off = np.where(ok, year - lo, 0).astype(np.int64)
        present = np.bincount(off[ok], minlength=int(hi - lo) + 1) > 0
        rank = np.cumsum(present) - 1
        return np.where(ok, rank[off], -1), lo + np.flatnonzero(present)
    codes, uniq = pd.factorize(year, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=float)


@dataclass(frozen=True)
class FirmYearOrder:
    """Rows sorted by (firm code, year code, original record), rows without a firm id last.

    ``order`` is ``None`` when the rows already are in that order (surveys usually are: nothing to reorder).
    ``starts`` are the positions, in sorted order, where each firm's rows begin (the first ``n_keyed`` sorted rows
    have a firm id)."""

    order: np.ndarray | None
    n_keyed: int
    starts: np.ndarray

    def take(self, a: np.ndarray) -> np.ndarray:
        return a if self.order is None else a[self.order]


def sort_order(fcodes: np.ndarray, ycodes: np.ndarray, n_years: int, rows: np.ndarray | None = None
               ) -> FirmYearOrder:
    """The (firm, year) order of the rows; ties (duplicate keys) keep the original record order (``rows``). Rows
    without a firm id come last; a firm's rows without a year come first among its rows."""
    n = len(fcodes)
    key = fcodes * (n_years + 1) + ycodes + 1  # ycode -1 (no year) stays inside its firm's block
    missing = fcodes < 0
    n_keyed = n - int(missing.sum())
    rows_sorted = rows is None or bool(np.all(rows[1:] >= rows[:-1]))
    if rows_sorted and not missing[:n_keyed].any() and (n_keyed < 2 or bool(np.all(key[1:n_keyed]
                                                                                   >= key[:n_keyed - 1]))):
        order, sorted_codes = None, fcodes
    else:
        order = _block_order(fcodes, key, missing) if rows_sorted else None
        order = order if order is not None else _counting_order(key, missing, n_keyed) if rows_sorted else None
        if order is None:  # duplicate keys, or rows out of record order: a stable comparison sort
            by_row = np.arange(n) if rows_sorted else np.argsort(rows, kind="stable")
            k = np.where(missing, np.iinfo(np.int64).max, key)[by_row]
            order = by_row[np.argsort(k, kind="stable")]
        sorted_codes = fcodes[order]
    c = sorted_codes[:n_keyed]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if n_keyed else np.array([], dtype=np.int64)
    return FirmYearOrder(order, n_keyed, starts)


def _block_order(fcodes: np.ndarray, key: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    """When the file lists firm by firm (each firm's rows together, years increasing within it) the sorting
    permutation only reorders whole firm blocks: built block by block, it is a few sequential passes."""
    if missing.any() or not len(key):
        return None
    starts = np.flatnonzero(np.r_[True, fcodes[1:] != fcodes[:-1]])
    block_firm = fcodes[starts]
    by_firm = np.argsort(block_firm, kind="stable")
    firm_sorted = block_firm[by_firm]
    if np.any(firm_sorted[1:] == firm_sorted[:-1]) or not np.all((key[1:] > key[:-1]) | (fcodes[1:] != fcodes[:-1])):
        return None  # a firm's rows are split, or its years not increasing
    lengths = np.diff(np.r_[starts, len(key)])
    s, ln = starts[by_firm], lengths[by_firm]
    out_start = np.cumsum(ln) - ln
    return np.repeat(s - out_start, ln) + np.arange(len(key))


def _counting_order(key: np.ndarray, missing: np.ndarray, n_keyed: int) -> np.ndarray | None:
    """The sorting permutation by scattering each row to the rank of its key, when keys are unique and dense."""
    k = key[~missing]
    if not len(k) or k.max() > 8 * len(key) + 1024:
        return None
    counts = np.bincount(k)
    if counts.max() > 1:
        return None
    rank = np.cumsum(counts) - 1
    order = np.empty(len(key), dtype=np.int64)
    order[rank[k]] = np.flatnonzero(~missing)
    order[n_keyed:] = np.flatnonzero(missing)
    return order


@dataclass
class Keys:
    """Firm codes, years and the (firm, year) order of one frame's rows, with per-column firm reductions cached.

    Build with :func:`keys_of`; ``subset`` follows rows being dropped. Keys belong to one frame: the cache is by
    column name."""

    firm: np.ndarray
    ids: pd.Index
    year: np.ndarray
    ycodes: np.ndarray
    years: np.ndarray
    sorted: FirmYearOrder
    rows: np.ndarray | None = None
    _firm_reductions: dict = field(default_factory=dict, repr=False)
    #: the loader's validator (a worker thread) and panel share one Keys: a column's reduction is computed by
    #: whichever asks first while the other waits for it, not computed twice
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def subset(self, keep: np.ndarray) -> Keys:
        """The keys of the rows where ``keep`` is true (a boolean mask)."""
        if keep.all():
            return self
        f, yc, rows = self.firm[keep], self.ycodes[keep], None if self.rows is None else self.rows[keep]
        return Keys(f, self.ids, self.year[keep], yc, self.years, sort_order(f, yc, len(self.years), rows), rows)

    def first_and_varies(self, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Per firm (in id order): the row position of a non-missing value (``-1`` if none; the first in year order
        when the values vary) and whether its non-missing values differ (cached by column name)."""
        key = ("column", s.name)
        with self._lock:
            return self._first_and_varies(s, key)

    def _first_and_varies(self, s: pd.Series, key: tuple) -> tuple[np.ndarray, np.ndarray]:
        if key not in self._firm_reductions:
            blocks = self.file_blocks
            out = None
            if blocks is not None:  # each firm's rows are together in the file: compare neighbours, no gather
                if _differs_within(s, self._same_firm_as_previous) is False:
                    out = self._block_first
            self._firm_reductions[key] = out if out is not None else first_and_varies(s, self.sorted)
        return self._firm_reductions[key]

    @property
    def file_blocks(self) -> np.ndarray | None:
        """Where each firm's rows begin in FILE order, when every row has a firm id and each firm's rows are
        contiguous (surveys are usually listed firm by firm, if not in id order); else ``None``."""
        if ("blocks",) not in self._firm_reductions:
            f = self.firm
            blocks = None
            if len(f) and f.min() >= 0:
                b = np.flatnonzero(np.r_[True, f[1:] != f[:-1]])
                blocks = b if len(b) == len(self.sorted.starts) else None
            self._firm_reductions[("blocks",)] = blocks
        return self._firm_reductions[("blocks",)]

    @property
    def _block_first(self) -> tuple[np.ndarray, np.ndarray]:
        """(first row of each firm, in id order; no firm varies): the answer of every complete column that is
        constant within each file block, computed once (read-only, shared by those columns)."""
        if ("first",) not in self._firm_reductions:
            blocks = self.file_blocks
            first = np.empty(len(blocks), dtype=np.int64)
            first[self._block_rank] = blocks
            varies = np.zeros(len(blocks), dtype=bool)
            first.flags.writeable = varies.flags.writeable = False
            self._firm_reductions[("first",)] = (first, varies)
        return self._firm_reductions[("first",)]

    @property
    def same_firm_as_previous(self) -> np.ndarray:
        """``firm[i + 1] == firm[i]`` for each row ``i`` in file order (computed once, shared; do not modify)."""
        return self._same_firm_as_previous

    @property
    def _same_firm_as_previous(self) -> np.ndarray:
        if ("same",) not in self._firm_reductions:
            self._firm_reductions[("same",)] = self.firm[1:] == self.firm[:-1]
        return self._firm_reductions[("same",)]

    @property
    def _block_rank(self) -> np.ndarray:
        """For each file-order block, the rank of its firm among the firms present (the sorted order's groups)."""
        if ("rank",) not in self._firm_reductions:
            block_firm = self.firm[self.file_blocks]
            if len(block_firm) == len(self.ids):  # every id has rows: a firm's rank is its code
                rank = block_firm
            else:
                present = np.flatnonzero(np.bincount(self.firm, minlength=len(self.ids)))
                rank = np.searchsorted(present, block_firm)
            self._firm_reductions[("rank",)] = rank
        return self._firm_reductions[("rank",)]

    @property
    def pairs_in_file_order(self) -> bool:
        """True when the file lists firm by firm with years strictly increasing within each firm: consecutive
        observations of a firm are then consecutive rows of the file, and no (firm, year) repeats."""
        if ("pairs",) not in self._firm_reductions:
            ok = self.file_blocks is not None
            if ok:
                f, y = self.firm, self.ycodes
                same = f[1:] == f[:-1]
                ok = bool(y.min() >= 0) and bool(np.all(~same | (y[1:] > y[:-1])))
            self._firm_reductions[("pairs",)] = ok
        return self._firm_reductions[("pairs",)]


def keys_of(frame: pd.DataFrame, rows: np.ndarray | None = None,
            firm: tuple[np.ndarray, pd.Index] | tuple[np.ndarray, pd.Index, FileBlocks | None] | None = None,
            years: YearKeys | None = None) -> Keys:
    """:class:`Keys` of ``frame`` (columns ``firm_id`` and ``year``); ``rows`` breaks ties between duplicates;
    ``firm``: the firm ids' codes and sorted distinct ids when the caller factorised them already, and their
    :class:`FileBlocks` if it found them; ``years``: :func:`year_keys` of the year column, computed ahead (used
    only if the column still holds the very array they were computed from)."""
    fcodes, ids, *found = firm if firm is not None else firm_codes(frame["firm_id"])
    blocks = found[0] if found else None
    y = frame["year"]
    yk = years if years is not None and years.of(y) else year_keys(y)
    year, ycodes, years_present = yk.year, yk.ycodes, yk.years
    listed = _listed_by_firm(fcodes, ycodes, rows, blocks)
    if listed is not None:
        return Keys(fcodes, ids, year, ycodes, years_present, listed[0], rows, listed[1])
    return Keys(fcodes, ids, year, ycodes, years_present, sort_order(fcodes, ycodes, len(years_present), rows), rows)


@dataclass(frozen=True)
class YearKeys:
    """A year column's values as float64 (NaN missing), their codes (``-1`` missing) and the sorted distinct years;
    ``source``: the integer array they were read from (``None`` for any other column)."""

    year: np.ndarray
    ycodes: np.ndarray
    years: np.ndarray
    source: np.ndarray | None = None

    def of(self, y: pd.Series) -> bool:
        """Whether ``y`` still holds the very array these keys were computed from (no copy, no replacement)."""
        if self.source is None or not isinstance(y.dtype, np.dtype) or y.dtype != self.source.dtype:
            return False
        v = y.to_numpy()
        return len(v) == len(self.source) and v.ctypes.data == self.source.ctypes.data and v.strides == \
            self.source.strides


def year_keys(y: pd.Series) -> YearKeys:
    """:class:`YearKeys` of a year column (the loader computes them while the firm ids are still being
    factorised on its worker, :func:`clusterecon.io.casting.cast_canonical`)."""
    # whole years, none missing (a nullable Int64 year with <NA> takes the general path below; a numpy integer
    # column has no missing values to look for)
    yi = y.to_numpy() if y.dtype.kind in "iu" and len(y) and (
        isinstance(y.dtype, np.dtype) or not y.isna().any()) else None
    # the span in Python integers: int64 years far apart (a typo of 19 digits) overflow numpy's subtraction
    if yi is not None and 0 <= int(yi.max()) - int(yi.min()) < 10_000:
        lo = yi.min()
        # codes as int16 (the span fits): a quarter of the memory of int64 offsets, and the years present marked
        # by a scatter (np.bincount would widen the codes to int64 first)
        off = np.subtract(yi, lo, out=_buffers.empty(len(yi), np.int16), casting="unsafe")
        present = np.zeros(int(yi.max()) - int(lo) + 1, dtype=bool)
        present[off] = True
        ycodes = off if present.all() else (np.cumsum(present) - 1).astype(np.int16)[off]  # (no gap: the offset)
        years = (lo + np.flatnonzero(present)).astype(np.float64)
        year = _buffers.empty(len(yi), np.float64)
        year[:] = yi
        return YearKeys(year, ycodes, years, yi if isinstance(y.dtype, np.dtype) else None)
    year = (y.to_numpy(dtype=np.float64, na_value=np.nan) if pd.api.types.is_numeric_dtype(y.dtype)
            else pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
    ycodes, years = year_codes(year)
    return YearKeys(year, ycodes, years)


def _listed_by_firm(fcodes: np.ndarray, ycodes: np.ndarray, rows: np.ndarray | None,
                    blocks: FileBlocks | None = None) -> tuple[FirmYearOrder, dict] | None:
    """The (firm, year) order of a file listed firm by firm (every row keyed, rows in record order, each firm's rows
    together with years increasing), read off its blocks, with what :class:`Keys` would otherwise work out again:
    (order, the reductions' cache), or ``None`` for any other file (:func:`sort_order` then).

    The result is :func:`sort_order`'s (the same permutation, built as :func:`_block_order` builds it), but the
    blocks are found once and reused, and the firms' starts in sorted order are their blocks' cumulative lengths:
    :func:`sort_order` with :func:`_block_order` and the keys' own block checks made about twenty passes over the
    rows, this makes about eight (30 → 10 ms for 1M firm-years, ``benchmarks/bench_load.py``)."""
    n = len(fcodes)
    if n < 2:
        return None
    scratch = _buffers.empty(n - 1, bool)  # (one pooled mask for the checks)
    if rows is not None and not np.greater_equal(rows[1:], rows[:-1], out=scratch).all():
        return None
    if blocks is not None:  # the factorisation found them (every row keyed, each firm once): marked, not compared
        starts, block_firm = blocks.starts, blocks.firm
        same = _buffers.empty(n - 1, bool)
        same[:] = True
        same[starts[1:] - 1] = False
        seen = np.ones(len(starts), dtype=np.int64)
    else:
        if fcodes.min() < 0:
            return None
        same = fcodes[1:] == fcodes[:-1]
        starts = np.flatnonzero(~same)
        starts += 1
        starts = np.r_[0, starts]
        block_firm = fcodes[starts]
        seen = np.bincount(block_firm)
        if seen.max() > 1:
            return None  # a firm's rows are split over blocks
    # years strictly increasing within each block (a missing year, code -1, can only open a block)
    back = np.less_equal(ycodes[1:], ycodes[:-1], out=scratch)
    back &= same
    if back.any():
        return None
    k = len(starts)
    lengths = np.diff(np.r_[starts, n])
    if k < 2 or bool(np.all(block_firm[1:] > block_firm[:-1])):  # blocks in id order: nothing to reorder
        order, firm_starts = None, starts
    else:
        by_firm = np.empty(k, dtype=np.int64)  # the blocks in firm order: a scatter (the firms are distinct)
        by_firm[(np.cumsum(seen) - 1)[block_firm]] = np.arange(k)
        s, ln = starts[by_firm], lengths[by_firm]
        firm_starts = np.cumsum(ln) - ln
        if ln.min() == ln.max():  # every firm with as many rows (a balanced panel): one array, no temporaries
            order = _buffers.empty(n, np.int64)
            np.add(s[:, None], np.arange(ln[0]), out=order.reshape(k, int(ln[0])))
        else:
            order = np.repeat(s - firm_starts, ln)
            order += np.arange(n)
    cache = {("blocks",): starts, ("same",): same, ("pairs",): bool(ycodes.min() >= 0)}
    return FirmYearOrder(order, n, firm_starts), cache


def masked_parts(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """A nullable numeric column's own values and missing mask (pandas' masked arrays: Int64, Float64, …), without
    a copy; None for any other storage. The values under the mask are arbitrary."""
    a = s.array
    data, mask = getattr(a, "_data", None), getattr(a, "_mask", None)
    if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray) and data.dtype.kind in "iuf":
        return data, mask
    return None


def _comparable(s: pd.Series, raw: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(values to compare for equality, missing mask): numbers as floats, anything else as integer codes. ``raw``:
    a nullable numeric column's own values and mask, without a float copy (the values under the mask are
    arbitrary: only for callers that compare when nothing is missing)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        parts = masked_parts(s) if raw else None
        if parts is not None:
            data, mask = parts
            return data, (mask | np.isnan(data)) if data.dtype.kind == "f" else mask
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return v, np.isnan(v)
    codes = s.array.codes if isinstance(s.dtype, pd.CategoricalDtype) else pd.factorize(
        s, use_na_sentinel=True)[0]
    return codes, codes < 0


def _neighbours_differ(s: pd.Series) -> np.ndarray | None:
    """``s[i + 1] != s[i]`` for each row ``i``, or ``None`` when a value is missing. Arrow-backed text (a CSV's text
    columns) is compared by Arrow's kernel: factorising a million strings to compare their codes cost three times
    as much (``benchmarks/bench_load.py``)."""
    arr = getattr(s.array, "_pa_array", None)
    if arr is not None and pd.api.types.is_string_dtype(s.dtype):
        if arr.null_count:
            return None
        import pyarrow.compute as pc

        return pc.not_equal(arr[1:], arr[:-1]).to_numpy(zero_copy_only=False)
    v, missing = _comparable(s, raw=True)
    return None if missing.any() else v[1:] != v[:-1]


def _differs_within(s: pd.Series, same: np.ndarray) -> bool | None:
    """Whether a value differs from the row before it within a firm (``same``: the row before is the same firm's),
    or ``None`` when a value is missing: ``np.any(_neighbours_differ(s) & same)``. Category codes and nullable
    numbers are compared into one pooled scratch mask, and their missing values are looked for without a mask of
    them (the firm attributes of a 1M-row survey took two fresh 1 MB masks per column)."""
    parts = masked_parts(s) if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(
        s.dtype) else None
    if parts is not None:
        v, mask = parts
        if mask.any() or (v.dtype.kind == "f" and len(v) and np.isnan(np.min(v))):
            return None
    elif isinstance(s.dtype, pd.CategoricalDtype):
        v = s.array.codes
        if len(v) and v.min() < 0:
            return None
    else:
        differs = _neighbours_differ(s)
        return None if differs is None else bool(np.any(differs & same))
    if len(v) < 2:
        return False
    scratch = _buffers.empty(len(v) - 1, bool)
    np.not_equal(v[1:], v[:-1], out=scratch)
    scratch &= same
    return bool(scratch.any())


def first_and_varies(s: pd.Series, o: FirmYearOrder) -> tuple[np.ndarray, np.ndarray]:
    """Per firm (groups of ``o``): the position (into ``s``) of its first non-missing value, ``-1`` if it has none,
    and whether its non-missing values differ."""
    n = o.n_keyed
    if not n:
        return np.array([], dtype=np.int64), np.array([], dtype=bool)
    pos = np.arange(n) if o.order is None else o.order[:n]
    v, missing = _comparable(s)
    v, missing = (v[:n], missing[:n]) if o.order is None else (v[pos], missing[pos])
    if v.dtype.kind == "f":
        hi, lo = np.fmax.reduceat(v, o.starts), np.fmin.reduceat(v, o.starts)
        varies = ~np.isnan(hi) & (hi != lo)
    else:
        cmax = np.maximum.reduceat(v, o.starts)
        cmin = np.minimum.reduceat(np.where(missing, np.iinfo(v.dtype).max, v), o.starts)
        varies = (cmax >= 0) & (cmin != cmax)
    if not missing.any():
        return pos[o.starts], varies
    # first non-missing position per group: the smallest sorted index whose value is present
    idx = np.where(missing, n, np.arange(n))
    first = np.minimum.reduceat(idx, o.starts)
    return np.where(first < n, pos[np.minimum(first, n - 1)], -1), varies
