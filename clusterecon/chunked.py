"""Validate a Parquet survey larger than memory: the same report as ``load_survey``, in bounded memory.

``validate_parquet(path, mapping)`` never holds the whole file. It makes three passes, each over pieces of about
``chunk_rows`` records:

1. read the file in record batches (``pyarrow.parquet.ParquetFile.iter_batches``), number the records, and write
   each record to one of K spill files (Parquet, in a temporary folder) chosen by a hash of its firm id, lower-cased
   and trimmed, so that all records of a firm, and every spelling of its id, land in the same file;
2. apply the mapping (:func:`clusterecon.io.canonicalise`) to each spill file and note what the rules need from the
   whole survey: its years, survey rounds and interview years;
3. validate each canonical piece (exact and conflicting duplicates, firm attributes, jumps, gaps: all rules that
   look at a firm's records see all of them) with the survey-wide years and design, and merge the problems: rows
   are combined and the counts in the messages added up.

The merged report holds the same problems as the in-memory one (tests/test_chunked.py compares them on a file cut
into pieces of a few records): the same rules, columns, messages with their counts, and rows (each problem's first
50); a rule that lists its first few example values may list a few more, and the problems may come in another
order within a severity. Peak memory is set by ``chunk_rows``, not by the file: see ``benchmarks/bench_load.py
--chunked``. A ``[firms]`` join is not supported here (it needs every firm's record at once); join the firm table
into the Parquet file first. DuckDB or Polars could scan the file too, but every rule would have to be written a
second time in SQL or expressions; spilling by firm lets the one implementation of each rule run on every piece.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from . import firmyear
from .io import LoadError, Mapping, as_mapping, canonicalise
from .io.readers import RawTable, apply_na_policy, check_names
from .problems import MAX_EXAMPLES, Problem
from .provenance import ProvenanceLog

_validate = __import__("importlib").import_module(".validate", __package__)
_ROW = "__clusterecon_source_row"
#: rules whose message counts firms, pairs or ids: merged by adding the counts (pattern of the count)
_COUNTS = {"duplicate_conflict": r"(\d+) \(firm_id, year\) pair\(s\)", "firm_attribute_varies": r"(\d+) firm\(s\)",
           "year_gap": r"(\d+) firm\(s\)", "firm_ids_merged": r"(\d+) id\(s\)"}


def validate_parquet(path: str | os.PathLike, mapping: Mapping | dict | str | os.PathLike | None = None, *,
                     chunk_rows: int = 1_000_000, strict: bool = False, today_year: int | None = None,
                     required: Iterable[str] = (), spill_dir: str | os.PathLike | None = None,
                     allow_outside_paths: bool = False) -> _validate.ValidationReport:
    """Validate a Parquet survey piece by piece (see the module docstring); returns the ValidationReport.

    ``chunk_rows`` bounds the records held at once (memory grows with it, not with the file); ``spill_dir`` is
    where the temporary pieces go (default: the system's temporary folder; they need about the file's size).
    """
    import pyarrow.parquet as pq

    p = Path(path)
    if p.suffix.lower() not in (".parquet", ".pq"):
        raise LoadError(f"file {p}: chunked validation reads Parquet files; convert the survey to Parquet or "
                        "validate it in memory (without --chunked)")
    if not p.exists():
        raise LoadError(f"file {p} does not exist (looked in {p.parent.resolve()})")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    m = as_mapping(mapping, allow_outside_paths=allow_outside_paths)
    if m.firms is not None:
        raise LoadError(f"mapping {m.path}: chunked validation cannot join a [firms] table; join it into the Parquet "
                        "file first, or validate in memory")
    try:
        pf = pq.ParquetFile(p)
    except Exception as e:
        raise LoadError(f"file {p} could not be read as parquet: {type(e).__name__}: {e}") from e
    check_names(pf.schema_arrow.names, f"file {p}")
    n_rows = pf.metadata.num_rows
    if n_rows == 0:
        raise LoadError(f"file {p} has a header ({len(pf.schema_arrow.names)} column(s)) but no records")
    k = max(1, math.ceil(n_rows / chunk_rows))
    with tempfile.TemporaryDirectory(dir=spill_dir, prefix="clusterecon-") as tmp:
        pieces = _spill(pf, p, m, k, chunk_rows, Path(tmp))
        canon, context = _canonical_pieces(pieces, p, m)
        problems = _validate_pieces(canon, context, m, str(p), strict, today_year, tuple(required))
    return _validate.ValidationReport(tuple(problems), str(p)).merged(())


# ---------------------------------------------------------------------------------------------------- pass 1
def _spill(pf, p: Path, m: Mapping, k: int, chunk_rows: int, tmp: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    id_col = m.raw_id_column
    file_types = {str(f.name).strip(): f.type for f in pf.schema_arrow}
    writers: dict[int, pq.ParquetWriter] = {}
    offset = 0
    try:
        for batch in pf.iter_batches(batch_size=chunk_rows):
            df = batch.to_pandas()
            df.columns = [str(c).strip() for c in df.columns]
            rows = np.arange(offset + 1, offset + len(df) + 1, dtype=np.int64)
            offset += len(df)
            df[_ROW] = rows
            bucket = _bucket(df[id_col], k) if id_col in df.columns else np.zeros(len(df), dtype=np.int64)
            for b in np.unique(bucket):
                t = pa.Table.from_pandas(df[bucket == b], preserve_index=False)
                if b not in writers:  # a column with no value in this piece takes the file's type, not null
                    schema = pa.schema([f.with_type(file_types[f.name]) if pa.types.is_null(f.type)
                                        and f.name in file_types else f for f in t.schema])
                    writers[b] = pq.ParquetWriter(tmp / f"piece{b}.parquet", schema)
                writers[b].write_table(t.cast(writers[b].schema))
    finally:
        for w in writers.values():
            w.close()
    return [tmp / f"piece{b}.parquet" for b in sorted(writers)]


def _bucket(ids: pd.Series, k: int) -> np.ndarray:
    """The piece of each record: a hash of its id as text, trimmed and lower-cased (so "K01 ", "k01" and the
    number 1 vs "1" meet in one piece, where the id checks can see them together); missing ids go to piece 0."""
    from .io.casting import id_strings

    text = id_strings(ids).str.lower()
    h = pd.util.hash_array(text.fillna("").to_numpy(dtype=object))
    return np.where(text.isna().to_numpy(), 0, h % k).astype(np.int64)


# ---------------------------------------------------------------------------------------------------- pass 2
def _canonical_pieces(pieces: list[Path], p: Path, m: Mapping) -> tuple[list[tuple[Path, list[Problem]]], dict]:
    years: set[float] = set()
    rounds: set = set()
    interview: set[float] = set()
    recall_flag = False
    survey_year = None
    out = []
    for piece in pieces:
        df = pd.read_parquet(piece)
        rows = df.pop(_ROW).to_numpy()
        df, conv = apply_na_policy(df, rows)
        raw = RawTable(df, str(p), rows, format="parquet", na_conversions=conv)
        can = canonicalise(raw, m, log=ProvenanceLog())
        f = can.frame
        if "year" in f:
            years |= set(pd.to_numeric(f["year"], errors="coerce").dropna().unique().tolist())
        if "survey_round" in f:
            rounds |= set(f["survey_round"].dropna().unique().tolist())
        if "is_recall" in f:
            recall_flag |= bool(f["is_recall"].astype("boolean").fillna(False).any())
        if "recall_lag" in f and "year" in f:
            interview |= set((pd.to_numeric(f["year"], errors="coerce")
                              + pd.to_numeric(f["recall_lag"], errors="coerce")).dropna().unique().tolist())
        survey_year = can.survey_year if isinstance(m.survey_year, int) or (
            m.recall is not None and isinstance(m.recall.survey_year, int)) else None
        spilled = piece.with_suffix(".canonical.parquet")
        f.to_parquet(spilled, index=False)
        out.append((spilled, list(can.problems), can.recall_layout))
        piece.unlink()
    if survey_year is None and m.recall is not None and len(interview) == 1:
        survey_year = int(next(iter(interview)))  # as canonicalise infers it from the whole file
    context = {"years": years, "rounds": rounds, "recall_flag": recall_flag, "interview": interview,
               "survey_year": survey_year}
    return out, context


# ---------------------------------------------------------------------------------------------------- pass 3
def _validate_pieces(canon, context: dict, m: Mapping, source: str, strict: bool, today_year: int | None,
                     required: tuple[str, ...]) -> list[Problem]:
    from .load import _design_for, resolve_duplicates

    found: list[list[Problem]] = []
    for spilled, loader_problems, recall_layout in canon:
        frame = pd.read_parquet(spilled)
        problems = list(loader_problems)
        keys = firmyear.keys_of(frame, frame["source_row"].to_numpy()) if {"firm_id", "year"} <= set(frame) \
            else None
        kept = _validate.drop_exact_duplicates(frame, ProvenanceLog(), source=source, problems=problems, keys=keys)
        kept = resolve_duplicates(kept, m.duplicates, ProvenanceLog(), problems, source)
        if keys is not None and len(kept) < len(frame):
            keys = keys.subset(frame.index.isin(kept.index))
        design = _design_for(m, recall_layout, context["survey_year"], context["rounds"], context["recall_flag"],
                             context["interview"])
        report = _validate.validate(kept, source=source, strict=strict, survey_year=context["survey_year"],
                                    design=design, today_year=today_year, keys=keys, required=required,
                                    benchmark_years=sorted(int(y) for y in context["years"]) or None)
        if strict:
            problems = [x.as_error() if x.severity == "warning" else x for x in problems]
        found.append(list(report.merged(problems).problems))
        spilled.unlink()
    return merge_problems(found)


def merge_problems(parts: list[list[Problem]]) -> list[Problem]:
    """One problem per (severity, rule, column, fix) across the pieces: rows combined (the first 50 kept),
    counts added, example values combined; problems that are the same in every piece (a missing column, the
    survivor-only note) appear once."""
    groups: dict[tuple, list[Problem]] = {}
    for part in parts:
        for pr in part:
            groups.setdefault((pr.severity, pr.rule, pr.column, pr.fix, pr.source), []).append(pr)
    out = []
    for (sev, rule, col, fix, src) in _rule_order(parts):
        ps = groups[(sev, rule, col, fix, src)]
        if len(ps) == 1 or all(x == ps[0] and not x.n for x in ps):
            out.append(ps[0])
            continue
        rows = sorted(r for x in ps for r in x.rows)
        values = list(dict.fromkeys(v for x in ps for v in x.values))
        out.append(Problem(sev, rule, _merged_message(rule, [x.message for x in ps]), col,
                           tuple(rows[:MAX_EXAMPLES]), tuple(values[:MAX_EXAMPLES]), fix, sum(x.n for x in ps), src))
    return out


def _rule_order(parts: list[list[Problem]]) -> list[tuple]:
    """The problems' order in the in-memory report: every piece lists its problems in that order (the rules run in
    a fixed order), so the pieces' orders are merged into one (a topological sort, ties by first appearance)."""
    def key(pr):
        return pr.severity, pr.rule, pr.column, pr.fix, pr.source

    first: dict[tuple, tuple[int, int]] = {}
    after: dict[tuple, set] = {}
    for i, part in enumerate(parts):
        ks = list(dict.fromkeys(key(pr) for pr in part))
        for j, k in enumerate(ks):
            first.setdefault(k, (i, j))
            after.setdefault(k, set())
            if j:
                after[ks[j - 1]].add(k)
    indegree = {k: 0 for k in first}
    for nxt in after.values():
        for n in nxt:
            indegree[n] += 1
    ready = sorted((k for k, d in indegree.items() if d == 0), key=first.get)
    order = []
    while ready:
        k = ready.pop(0)
        order.append(k)
        for n in after[k]:
            indegree[n] -= 1
            if indegree[n] == 0:
                ready.append(n)
        ready.sort(key=first.get)
    return order + [k for k in first if k not in order]  # (a cycle cannot happen; kept total anyway)


def _merged_message(rule: str, messages: list[str]) -> str:
    pattern = _COUNTS.get(rule)
    if pattern is None or len(set(messages)) == 1 and len(messages) == 1:
        return messages[0]
    total = sum(int(re.search(pattern, msg).group(1)) for msg in messages)
    msg = re.sub(pattern, lambda mt: mt.group(0).replace(mt.group(1), str(total), 1), messages[0], count=1)
    if rule == "duplicate_conflict":  # "(in sales, employees)": the columns that differ, over all pieces
        cols = list(dict.fromkeys(c for x in messages if (mt := re.search(r"\(in ([^)]*)\)$", x))
                                  for c in mt.group(1).split(", ")))
        msg = re.sub(r" \(in [^)]*\)$", "", msg) + (f" (in {', '.join(cols[:6])})" if cols else "")
    return msg
