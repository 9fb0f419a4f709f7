"""Apply a mapping to a raw table: join, rename, reshape recall, missing codes, recode, cast, scale, currency.

The result is the canonical long frame the validator checks: one row per firm-year, firm-level columns repeated on
each row, ``source_row`` (the original record number), ``firm_id`` as text and ``year`` as an integer. Every step
writes :class:`~clusterecon.provenance.ProvenanceLog` entries with counts and original rows; defects in the values
become :class:`~clusterecon.problems.Problem` records (nothing is coerced to NaN silently).

Order matters and is fixed: missing-value codes are applied before recoding (so ``-9`` is "don't know", not an
unmapped code) and before numeric casting; scaling and currency conversion come after casting.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import schema
from ..problems import Problem
from ..provenance import ProvenanceLog
from .casting import apply_currency, apply_scale, cast_canonical, id_strings, start_firm_ids, urows
from .errors import LoadError, name_key, suggest, visible
from .mapping import CodeMap, Mapping, norm_code
from .readers import RawTable
from .recall import wide_to_long

_KEYS = ("firm_id", "year", "source_row")


@dataclass
class Canonical:
    """What :func:`canonicalise` returns. ``missing_reasons`` has one row per cell set to NA by a missing-value
    code: source_row, firm_id, year, column, code, reason."""

    frame: pd.DataFrame
    problems: list[Problem]
    log: ProvenanceLog
    missing_reasons: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    recall_layout: bool = False
    survey_year: int | None = None
    #: codes of ``frame["firm_id"]`` (-1 missing), the sorted distinct ids they index, and the rows' firm blocks
    #: when the factorisation found the file listed firm by firm (:class:`clusterecon.firmyear.FileBlocks`)
    firm_codes: tuple | None = None


def canonicalise(raw: RawTable, mapping: Mapping, *, firms: RawTable | None = None,
                 log: ProvenanceLog | None = None, owns_raw: bool = False, meanwhile=None) -> Canonical:
    """Turn ``raw`` (and the firm table ``firms`` if the mapping joins one) into the canonical long frame.

    ``owns_raw``: the caller read the file itself and holds the only reference to ``raw``, so its arrays may
    become the canonical frame's without a copy (the loader; never a table or frame a user passed in);
    ``meanwhile``: passed to :func:`~clusterecon.io.casting.cast_canonical`."""
    log = log if log is not None else ProvenanceLog()
    problems: list[Problem] = []
    src = raw.label
    if "source_row" in raw.frame.columns:
        raise LoadError(f"file {src} has a column named 'source_row', which clusterecon reserves for record "
                        "numbers; rename it in the file or in the mapping's [rename] (e.g. source_row = \"row_raw\")")
    mapping.check_columns(raw.frame.columns, src, firm_columns=firms.frame.columns if firms is not None else None,
                          firm_file=firms.label if firms is not None else "")
    log.add("read", f"read {raw.n_rows} records from {src}", n_rows=raw.n_rows, file=raw.path, format=raw.format,
            sheet=raw.sheet, encoding=raw.encoding)
    for t in (raw, firms):
        for c in (t.na_conversions if t is not None else ()):
            log.add("read", f"{len(c.rows)} cells of {c.column} holding {c.marker!r} read as missing (NA policy: "
                    "docs/mapping.md)", c.column, rows=c.rows, marker=c.marker, file=t.path)
    for col, shared, rows in raw.ids_as_codes:
        msg = (f"value labels of the identifier {col} are shared by different codes ({len(shared)} label(s)); the "
               "codes are used as the ids so that these firms are not merged")
        log.add("read", msg, col, rows=rows, shared=list(shared))
        problems.append(Problem.make("warning", "id_labels_not_unique", msg, column=col, rows=rows, values=shared,
                                     source=src, fix="give each firm its own label in the file (or drop the value "
                                     "labels of the id) if the firms should be shown by name"))
    for t in (raw, firms):
        for note in (t.notes if t is not None else ()):
            log.add("read", note, file=t.path)
            problems.append(Problem.make("info", "encoding_not_used", note, source=t.label,
                                         fix="leave out the encoding option for this file"))
    df = raw.frame.copy(deep=False)  # copy-on-write: assigning columns never touches the caller's frame
    df["source_row"] = raw.source_row
    # the firm ids' factorisation (the largest cast) begins now, on the pool's worker, for a text id column the
    # mapping leaves alone; it is used below if the column is then still this very array (else begun again there)
    early = df["firm_id"].array if "firm_id" in df.columns and firms is None and "firm_id" not in mapping.codes \
        else None
    early = early if isinstance(early, pd.arrays.ArrowStringArray) else None
    early_ids = start_firm_ids(df, src) if early is not None else None
    labels = dict(raw.variable_labels)
    value_labels = dict(raw.value_labels)
    if firms is not None and mapping.firms is not None:
        df = _join_firms(df, firms, mapping, log, problems, src)
        labels = {**firms.variable_labels, **labels}
        value_labels = {**firms.value_labels, **value_labels}
    targets = raw_targets(mapping, df.columns)
    _unlabel_numeric(df, targets, value_labels, log)
    declared, ranges = _declared_missing(raw, firms, targets)
    df = _rename(df, mapping, log, problems, src)
    labels = {mapping.rename.get(k, k): v for k, v in labels.items()}
    value_labels = {mapping.rename.get(k, k): v for k, v in value_labels.items()}
    survey_year = mapping.survey_year
    if mapping.recall is not None:
        df = wide_to_long(df, mapping.recall, survey_year=survey_year, survey_round=mapping.survey_round, log=log,
                          mapping_path=mapping.path, problems=problems, source=src)
        sy = mapping.recall.survey_year if mapping.recall.survey_year is not None else survey_year
        survey_year = sy if isinstance(sy, int) else None
        if survey_year is None and "recall_lag" in df and len(df):
            sy_vals = (df["year"] + df["recall_lag"]).dropna().unique()
            survey_year = int(sy_vals[0]) if len(sy_vals) == 1 else None
    else:
        survey_year = survey_year if isinstance(survey_year, int) else None
    if mapping.recall is None and mapping.survey_round is not None and "survey_round" not in df.columns:
        df["survey_round"] = pd.array(np.full(len(df), mapping.survey_round), dtype="Int64")
        log.add("derive", f"survey_round set to {mapping.survey_round} from [survey] round", "survey_round",
                n_rows=len(df))
    _near_canonical(df, problems, src)
    reasons = _missing_codes(df, mapping, log, declared, value_labels, ranges)
    # the firm ids' factorisation (the largest cast) runs on a worker thread during the recoding and the other
    # casts (clusterecon._threads); recoding leaves firm_id alone unless the mapping has codes for it
    if early is not None and "firm_id" in df.columns and df["firm_id"].array is early:
        ids = early_ids
    else:
        ids = start_firm_ids(df, src) if "firm_id" not in mapping.codes else None
    _recode(df, mapping, value_labels, log, problems, src)
    df, firm_codes = cast_canonical(df, log, problems, src, ids, owned=owns_raw, meanwhile=meanwhile)
    apply_scale(df, mapping.scale, log)
    if mapping.currency is not None:
        apply_currency(df, mapping.currency, log, problems, src)
    if len(reasons):
        reasons["firm_id"] = id_strings(reasons["firm_id"])
    return Canonical(df, problems, log, reasons, labels, mapping.recall is not None, survey_year, firm_codes)


# ---------------------------------------------------------------------------------------------------------- join
def _join_firms(df: pd.DataFrame, firms: RawTable, mapping: Mapping, log: ProvenanceLog, problems: list[Problem],
                src: str) -> pd.DataFrame:
    spec = mapping.firms
    assert spec is not None
    kfy, kf = spec.key_firm_years, spec.key_firms  # both checked, with the column overlap, by check_columns
    f = firms.frame.copy()
    f["_firm_row"] = firms.source_row
    fkey = id_strings(f[kf])
    dup = fkey.duplicated(keep=False) & fkey.notna()
    if dup.any():
        problems.append(Problem.make(
            "error", "duplicate_firm_record", f"firm ids appear more than once in the firm table {firms.label}",
            column=kf, rows=f.loc[dup, "_firm_row"], values=fkey[dup].unique()[:20], source=firms.label,
            fix="keep one record per firm in the firm table"))
        f = f.loc[~fkey.duplicated(keep="first")]
        fkey = fkey.loc[f.index]
    f = f.assign(_key=fkey.to_numpy())
    if kf != kfy:
        f = f.drop(columns=[kf])
    left_key = id_strings(df[kfy])
    merged = df.assign(_key=left_key.to_numpy()).merge(f, on="_key", how="left", sort=False, validate="many_to_one",
                                                       suffixes=("", "_firms"))
    if kf == kfy and f"{kf}_firms" in merged.columns:
        merged = merged.drop(columns=[f"{kf}_firms"])
    unmatched = merged["_firm_row"].isna() & merged["_key"].notna()
    if unmatched.any():
        problems.append(Problem.make(
            "warning", "firm_not_in_firm_table", f"firm-year records whose firm is not in the firm table "
            f"{firms.label}; their firm attributes are missing", column=kfy, rows=merged.loc[unmatched, "source_row"],
            values=merged.loc[unmatched, "_key"].unique()[:20], source=src,
            fix=f"add the firms to {firms.label} or correct the ids"))
    used = set(merged["_key"].dropna())
    orphan = ~f["_key"].isin(used)
    if orphan.any():
        problems.append(Problem.make(
            "info", "firm_without_firm_years", f"firms in {firms.label} with no record in {src}; they are not in the "
            "panel", column=kf, rows=f.loc[orphan, "_firm_row"], values=f.loc[orphan, "_key"][:20],
            source=firms.label))
    log.add("join", f"joined firm table {firms.label} ({len(f)} firms) to {src} on {kfy!r} = {kf!r}: "
            f"{int((~unmatched).sum())} rows matched, {int(unmatched.sum())} without a firm record, "
            f"{int(orphan.sum())} firms without firm-year records", n_rows=len(merged),
            firm_table=firms.label, unmatched_rows=merged.loc[unmatched, "source_row"].head(200).tolist(),
            orphan_firm_rows=f.loc[orphan, "_firm_row"].head(200).astype(int).tolist())
    return merged.drop(columns=["_key", "_firm_row"])


# ---------------------------------------------------------------------------------------------------------- rename
def _rename(df: pd.DataFrame, mapping: Mapping, log: ProvenanceLog, problems: list[Problem],
            src: str) -> pd.DataFrame:
    if not mapping.rename:
        return df
    present = {k: v for k, v in mapping.rename.items() if k in df.columns}  # clashes: check_columns
    df = df.rename(columns=present)
    for raw, canon in present.items():
        log.add("rename", f"{raw} → {canon}", canon, n_rows=len(df), raw=raw)
        if canon not in schema.BY_NAME and canon not in _KEYS:
            hint = suggest(canon, schema.BY_NAME)
            if hint:
                problems.append(Problem.make(
                    "warning", "not_canonical", f"[rename] {raw!r} = {canon!r} in {mapping.path}: {canon!r} is not a "
                    f"canonical column{hint}; it is carried along unchecked", column=canon, source=src,
                    fix="correct the target name in [rename] if it was meant to be canonical"))
    return df


@functools.cache
def _canonical_keys() -> dict[str, str]:
    """Canonical column names by their comparison key (computed once: the loader runs this on every column)."""
    return {name_key(c): c for c in schema.BY_NAME}


def _near_canonical(df: pd.DataFrame, problems: list[Problem], src: str) -> None:
    """A ``not_canonical`` warning for each column that is a canonical name but for case, spaces or invisible
    characters (``SALES``, ``firm_id`` + a zero-width space): it is carried along unchecked, which a reader of the
    header would not expect."""
    canonical = _canonical_keys()
    for col in df.columns:
        if not isinstance(col, str) or col in schema.BY_NAME or col in _KEYS:
            continue
        canon = canonical.get(name_key(col))
        if canon is not None:
            shown = visible(col)
            problems.append(Problem.make(
                "warning", "not_canonical", f"column {shown} is not the canonical column {canon!r}, which it "
                "differs from only in case, spaces or invisible characters; it is carried along unchecked",
                column=col, source=src, fix=f"rename it to {canon!r} in the file, or map it in the mapping: "
                f'[rename] "{shown[1:-1]}" = "{canon}"'))  # TOML reads \u escapes only between double quotes


# ---------------------------------------------------------------------------------------------------------- missing
def raw_targets(mapping: Mapping, columns) -> dict[str, str]:
    """raw column -> the canonical column it becomes (through [rename] or a [recall] layout)."""
    out = {c: mapping.rename.get(c, c) for c in map(str, columns)}
    if mapping.recall is not None:
        from .recall import slots

        renamed = [mapping.rename.get(c, c) for c in out]
        for m in slots(mapping.recall, renamed).values():
            for canon, raw in m.items():
                out[raw] = canon
    return out


def _unlabel_numeric(df: pd.DataFrame, targets: dict[str, str], value_labels: dict, log: ProvenanceLog) -> None:
    """A numeric column whose survey codes carry value labels (-9 "don't know") arrives as label categories; turn
    the labels back into the numbers so that missing-value codes and numeric casting see numbers."""
    for raw, canon in targets.items():
        spec = schema.BY_NAME.get(canon)
        if spec is None or spec.kind not in ("int", "float") or raw not in df.columns:
            continue
        s = df[raw]
        labels = value_labels.get(raw, {})
        if not isinstance(s.dtype, pd.CategoricalDtype) or not labels:
            continue
        inverse = {str(lab): code for code, lab in labels.items()}
        cats = list(s.cat.categories)
        back = [inverse.get(str(c), c) for c in cats]
        df[raw] = pd.Series(np.asarray(back, dtype=object)[s.array.codes], index=s.index).where(
            s.array.codes >= 0)
        n = int(s.isin([c for c in cats if str(c) in inverse]).sum())
        log.add("cast", f"value labels of numeric column {raw} turned back into their codes", raw, n_rows=n,
                labels={str(k): v for k, v in labels.items()})


def _declared_missing(raw: RawTable, firms: RawTable | None, targets: dict[str, str]
                      ) -> tuple[dict[str, dict[str, str]], dict[str, list[tuple[float, float, str]]]]:
    """Missing values the files declare themselves (SPSS values and ranges, Stata ``.a``–``.z``), keyed by canonical
    column: ({code text: reason}, [(low, high, reason)])."""
    codes: dict[str, dict[str, str]] = {}
    ranges: dict[str, list[tuple[float, float, str]]] = {}
    for t in (raw, firms):
        if t is None:
            continue
        for col, vals in t.declared_missing.items():
            for v, reason in vals.items():
                codes.setdefault(targets.get(col, col), {})[norm_code(v)] = reason
        for col, rs in t.declared_ranges.items():
            ranges.setdefault(targets.get(col, col), []).extend(rs)
    return codes, ranges


def _as_number(v) -> float | None:
    if isinstance(v, (bool, np.bool_)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f else None


def _missing_codes(df: pd.DataFrame, mapping: Mapping, log: ProvenanceLog, declared: dict | None = None,
                   value_labels: dict | None = None, ranges: dict | None = None) -> pd.DataFrame:
    """Cells holding a missing-value code become NA; returns one row per cell with its code and reason.

    The mapping's codes apply to every column except the keys and ``[missing] exclude``; the file's own
    declarations (``declared``, ``ranges``) apply to every column, keys included."""
    empty = pd.DataFrame({"source_row": pd.Series(dtype="int64"), "firm_id": pd.Series(dtype="object"),
                          "year": pd.Series(dtype="Int64"), "column": pd.Series(dtype="object"),
                          "code": pd.Series(dtype="object"), "reason": pd.Series(dtype="object")})
    declared, ranges, value_labels = declared or {}, ranges or {}, value_labels or {}
    if not mapping.missing_codes and not mapping.missing_columns and not declared and not ranges:
        return empty
    out = []
    skip = set(_KEYS) | set(mapping.missing_exclude) | {"is_recall", "recall_lag", "survey_round"}
    for col in list(df.columns):
        if col == "source_row":
            continue
        codes = dict(declared.get(col, {}))
        if col not in skip or col in mapping.missing_columns:
            codes.update({**mapping.missing_codes, **mapping.missing_columns.get(col, {})})
        rng = ranges.get(col, [])
        if not codes and not rng:
            continue
        s = df[col]
        wanted = {norm_code(k): (k, r) for k, r in codes.items()}
        for code, label in value_labels.get(col, {}).items():  # a labelled code arrives as its label text
            if norm_code(code) in wanted and norm_code(label) not in wanted:
                wanted[norm_code(label)] = wanted[norm_code(code)]
        code_of = np.empty(len(s), dtype=object)
        reason_of = np.empty(len(s), dtype=object)
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            v = s.to_numpy(dtype=float, na_value=np.nan)
            hit = np.zeros(len(v), dtype=bool)
            for k, (code, reason) in wanted.items():
                f = _as_number(k)
                if f is not None:
                    m = v == f
                    code_of[m], reason_of[m] = code, reason
                    hit |= m
            for lo, hi, reason in rng:
                m = ~hit & (v >= lo) & (v <= hi)
                if m.any():
                    code_of[m] = [norm_code(x) for x in v[m]]
                    reason_of[m] = reason
                    hit |= m
        else:
            uniq = s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else pd.unique(s.dropna())
            matched = {}
            for u in uniq:
                f = _as_number(u)
                if norm_code(u) in wanted:
                    matched[u] = wanted[norm_code(u)]
                elif f is not None and (r := next((r for r in rng if r[0] <= f <= r[1]), None)):
                    matched[u] = (norm_code(u), r[2])
            if not matched:
                continue
            hit = s.isin(list(matched)).to_numpy(dtype=bool)
            pairs = s[hit].astype(object).map(matched)
            code_of[hit] = [t[0] for t in pairs]
            reason_of[hit] = [t[1] for t in pairs]
        if not hit.any():
            continue
        idx = np.flatnonzero(hit)
        rows = df["source_row"].to_numpy()[idx]
        hits = pd.DataFrame({"row": rows, "code": code_of[idx], "reason": reason_of[idx]})
        for (code, reason), grp in hits.groupby(["code", "reason"], sort=True)["row"]:
            # a firm-level value repeated on recalled years is one answer: rows are listed once, cells counted
            log.add("missing_code", f"{len(grp)} cells coded {code} ({reason}) set to missing", col,
                    rows=np.unique(grp.to_numpy()), code=code, reason=reason, cells=len(grp))
        out.append(pd.DataFrame({"source_row": rows, "firm_id": df["firm_id"].to_numpy()[idx] if "firm_id" in df
                                 else None, "year": df["year"].to_numpy()[idx] if "year" in df else pd.NA,
                                 "column": col, "code": code_of[idx], "reason": reason_of[idx]}))
        df[col] = s.mask(hit)
    if not out:
        return empty
    res = pd.concat(out, ignore_index=True)
    res["year"] = pd.to_numeric(res["year"], errors="coerce").astype("Int64")
    return res.sort_values(["source_row", "column"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------- recode
def _recode(df: pd.DataFrame, mapping: Mapping, value_labels: dict, log: ProvenanceLog, problems: list[Problem],
            src: str) -> None:
    default = mapping.unknown_policy
    for col in df.columns:
        spec = schema.BY_NAME.get(col)
        if spec is None or spec.kind not in ("category", "bool") and col not in mapping.codes:
            continue
        cm = mapping.codes.get(col) or CodeMap(col, {}, {}, default)
        _recode_column(df, col, spec, cm, value_labels.get(col, {}), log, problems, src, mapping.path)


def _recode_column(df, col, spec, cm: CodeMap, vlabels: dict, log, problems, src, mpath) -> None:
    table = dict(cm.table)
    for code, label in vlabels.items():  # a map written with numeric codes also applies to their value labels
        k, kl = norm_code(code), norm_code(label)
        if k in table and kl not in table:
            table[kl] = table[k]
    if spec.allowed:
        for a in spec.allowed:
            table.setdefault(norm_code(a), a)
    if spec.kind == "bool":
        for w, b in (("1", True), ("0", False), ("true", True), ("false", False), ("yes", True), ("no", False)):
            table.setdefault(w, b)
    s = df[col]
    if spec.kind == "bool" and s.dtype == bool and not cm.table:  # already yes/no: nothing to recode
        df[col] = s.astype("boolean")
        return
    # work on the distinct values only (a million rows hold a handful of codes): codes index into ``uniq``
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniq = s.array.codes, list(s.cat.categories)
    else:
        codes, uniq_arr = pd.factorize(s, use_na_sentinel=True)
        uniq = list(uniq_arr)
    trans: dict[int, object] = {}
    unmapped: list[int] = []
    for i, u in enumerate(uniq):
        k = norm_code(u)
        if k in table:
            trans[i] = table[k]
        elif spec.kind != "string":
            unmapped.append(i)
    if spec.kind == "string" and not cm.table:
        return
    changed = [i for i, v in trans.items() if not _same(uniq[i], v)]
    rows_unmapped = np.isin(codes, unmapped) if unmapped else None  # (read only when there are unmapped codes)
    policy = cm.unknown_policy if spec.allowed is None or "unknown" in spec.allowed else "error"
    raw_vals = [str(uniq[i]) for i in unmapped]
    if unmapped and policy == "unknown":
        problems.append(Problem.make(
            "warning", "unknown_code", f"codes not in [codes.{col}] of {mpath} were set to 'unknown'", column=col,
            rows=urows(df.loc[rows_unmapped, "source_row"]), values=raw_vals, source=src,
            fix=f"add these codes to [codes.{col}] if they have a canonical meaning"))
        trans.update({i: "unknown" for i in unmapped})
        changed += unmapped
    elif unmapped and spec.kind == "bool":
        problems.append(Problem.make(
            "error", "unknown_code", f"values of yes/no column {col!r} that are not yes/no codes", column=col,
            rows=urows(df.loc[rows_unmapped, "source_row"]), values=raw_vals, source=src,
            fix=f"map them in [codes.{col}] (e.g. \"2\" = false) or as missing values in [missing]"))
    new_vals = [trans.get(i, str(uniq[i]) if spec.kind != "bool" else pd.NA) for i in range(len(uniq))]
    if spec.kind == "bool":
        lut = pd.array([*new_vals, pd.NA], dtype="boolean")
        out = lut[np.where(codes < 0, len(uniq), codes)]
    elif spec.kind == "category":
        allowed = list(spec.allowed or ())
        cats = allowed + sorted({str(v) for v in new_vals} - set(allowed))
        pos = {c: j for j, c in enumerate(cats)}
        # the table's last entry is the missing code's (-1 indexes it), and it holds the codes in the integer
        # width the categorical keeps: one small array per column instead of two int64 temporaries and a narrowing
        # copy (the three category columns of a 1M-row survey allocated 50 MB for 3 MB of codes)
        width = next(t for t in (np.int8, np.int16, np.int32, np.int64) if len(cats) < np.iinfo(t).max)
        lut_codes = np.array([pos[str(v)] for v in new_vals] + [-1], dtype=width)
        if isinstance(s.dtype, pd.CategoricalDtype) and not s.cat.ordered and codes.dtype == width and \
                list(s.cat.categories) == cats and s.cat.categories.dtype == pd.Index(cats).dtype and \
                np.array_equal(lut_codes[:-1], np.arange(len(uniq))):
            out = s  # the same categories in the same order, every code kept: the column as it is (copy-on-write)
        else:
            # the codes index ``cats`` by construction: pandas' range check of a million codes is skipped
            out = pd.Categorical.from_codes(lut_codes[codes], categories=cats, validate=False)
    else:
        lut = pd.array([*map(str, new_vals), pd.NA], dtype="string")
        out = lut[np.where(codes < 0, len(uniq), codes)]
    hit = np.isin(codes, changed) if changed else None
    n_changed = int(hit.sum()) if hit is not None else 0
    if n_changed:
        counts = pd.Series(codes[hit]).value_counts()
        log.add("recode", f"{n_changed} cells recoded to canonical codes", col,
                rows=np.unique(df["source_row"].to_numpy()[hit]), n_rows=n_changed,
                map={str(uniq[i]): (trans[i] if isinstance(trans[i], bool) else str(trans[i])) for i in changed},
                counts={str(uniq[i]): int(c) for i, c in counts.items()})
    df[col] = out


def _same(u, v) -> bool:
    if isinstance(u, (bool, np.bool_)) and isinstance(v, bool):
        return bool(u) == v
    return type(u) is type(v) and u == v
