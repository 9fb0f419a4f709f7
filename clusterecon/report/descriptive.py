"""Descriptive tables: summary statistics by group and balance tables for training RCTs.

Both return a :class:`DescriptiveTable` that renders through the same engine as regression tables
(:mod:`.render`, :mod:`.latex`), with the numbers in ``.frame``.

Balance tables follow common RCT practice (e.g. the Kaizen training experiments of Higuchi, Mhede & Sonobe 2019 and
Higuchi, Nam & Sonobe 2015, JEBO 120):
arm means and standard deviations, the difference estimated by OLS of the baseline variable on the treatment
indicator (with strata fixed effects when the randomisation was stratified), its standard error and p-value, and
the normalized difference of Imbens and Wooldridge (2009, J. Econ. Lit. 47(1), eq. 3),

.. math:: \\Delta_x = (\\bar x_1 - \\bar x_0) / \\sqrt{(s_1^2 + s_0^2) / 2},

which, unlike the t-statistic, does not grow with the sample size (|Δ| > 0.25 is their rule of thumb for worrying
imbalance).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .labels import label_of, level_label
from .render import Cell, Layout, Section, Table, cells, fmt_value, merge_spans

STAT_NAMES = {"mean": "Mean", "sd": "SD", "min": "Min", "max": "Max", "median": "Median", "N": "N",
              "p25": "P25", "p75": "P75"}
_ID_COLUMNS = ("firm_id", "year", "spinoff_parent_id", "strata_id")


class DescriptiveError(ValueError):
    """The table cannot be built as requested; the message names the columns and the fix."""


@dataclass(frozen=True)
class DescriptiveTable(Table):
    """An immutable descriptive table: ``layout`` is rendered; ``frame`` holds the numbers."""

    layout: Layout
    frame: pd.DataFrame
    caption: str | None = None


def _frame_and_labels(data: Any, labels: Mapping[str, str] | None) -> tuple[pd.DataFrame, dict[str, str]]:
    lab: dict[str, str] = {}
    if hasattr(data, "frame") and hasattr(data, "labels"):  # SurveyPanel
        lab.update(data.labels)
        data = data.frame
    if not isinstance(data, pd.DataFrame):
        raise DescriptiveError(f"expected a SurveyPanel or DataFrame, got {type(data).__name__}")
    df = data.reset_index() if any(n is not None for n in data.index.names) else data
    lab.update(labels or {})
    return df, lab


def assign_phases(years: pd.Series, phases: Sequence[tuple[str, int, int]]) -> pd.Series:
    """Phase name for each year from ``[(phase, first year, last year), ...]`` (inclusive); NaN outside them.

    Overlapping phases are refused, since a year would silently belong to the first one.
    """
    out = pd.Series(pd.NA, index=years.index, dtype="object")
    taken = pd.Series(False, index=years.index)
    for name, start, end in phases:
        if start > end:
            raise DescriptiveError(f"phase {name!r} starts ({start}) after it ends ({end})")
        hit = years.between(start, end)
        if (hit & taken).any():
            raise DescriptiveError(f"phase {name!r} ({start}-{end}) overlaps an earlier phase")
        out[hit] = name
        taken |= hit
    return pd.Categorical(out, categories=[p[0] for p in phases], ordered=True)  # type: ignore[return-value]


def phase_spans(starts: Mapping[str, int | None], last_year: int) -> list[tuple[str, int, int]]:
    """``{phase: first year}`` (``None`` = not reached) → ``[(phase, first year, last year), ...]`` in time order,
    each phase ending the year before the next starts and the last one in ``last_year``."""
    dated = sorted(((int(y), name) for name, y in starts.items() if y is not None and y <= last_year))
    return [(name, y, (dated[i + 1][0] - 1) if i + 1 < len(dated) else int(last_year))
            for i, (y, name) in enumerate(dated)]


def _numeric_columns(df: pd.DataFrame, variables: Sequence[str] | None, by: str | None,
                     labels: Mapping[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric/boolean variables as floats; categorical ones expanded to one share column per level."""
    if variables is None:
        variables = [c for c in df.columns if c not in _ID_COLUMNS and c != by
                     and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))]
    missing = [v for v in variables if v not in df.columns]
    if missing:
        raise DescriptiveError(f"columns {missing} not in the data; available: {list(df.columns)}")
    cols: dict[str, pd.Series] = {}
    names: dict[str, str] = {}
    for v in variables:
        s = df[v]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols[v] = pd.to_numeric(s.astype("Float64") if pd.api.types.is_bool_dtype(s) else s,
                                    errors="coerce").astype(float)
            names[v] = label_of(v, labels) if labels else v  # a bare DataFrame keeps its column names
        else:
            # Levels never observed would only add rows of zeros (a codebook lists every possible code).
            seen = set(s.dropna().unique())
            levels = [c for c in (s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else sorted(seen))
                      if c in seen]
            for lev in levels:
                key = f"{v}={lev}"
                cols[key] = (s == lev).astype(float).where(s.notna())
                names[key] = level_label(v, lev, labels) if labels else f"{v}: {lev}"
    return pd.DataFrame(cols, index=df.index), names


def _describe(x: pd.DataFrame, stats: Sequence[str]) -> pd.DataFrame:
    funcs = {"mean": lambda s: s.mean(), "sd": lambda s: s.std(ddof=1), "min": lambda s: s.min(),
             "max": lambda s: s.max(), "median": lambda s: s.median(), "N": lambda s: int(s.notna().sum()),
             "p25": lambda s: s.quantile(0.25), "p75": lambda s: s.quantile(0.75)}
    unknown = [s for s in stats if s not in funcs]
    if unknown:
        raise DescriptiveError(f"unknown statistics {unknown}; choose from {list(funcs)}")
    return pd.DataFrame({s: [funcs[s](x[c]) for c in x.columns] for s in stats}, index=x.columns)


def summary_table(
    data: Any,
    variables: Sequence[str] | None = None,
    *,
    by: str | None = None,
    phases: Sequence[tuple[str, int, int]] | None = None,
    stats: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    digits: int = 2,
    caption: str | None = None,
) -> DescriptiveTable:
    """Summary statistics of ``variables``, overall or by group.

    Parameters
    ----------
    data : SurveyPanel or DataFrame
        A panel (its ``frame`` and ``labels`` are used) or any frame; index levels become columns.
    variables : column names, optional
        Default: every numeric and boolean column except identifiers. Boolean columns give shares; categorical
        columns (e.g. ``founder_prior_occupation``) give one share row per level.
    by : str, optional
        Group columns side by side: ``"year"``, ``"founder_prior_occupation"``, ``"is_spinoff"``, any column, or
        ``"phase"`` with ``phases=[(name, first year, last year), ...]`` (rows outside every phase are left out and
        counted in a note).
    stats : sequence, optional
        From mean, sd, min, max, median, p25, p75, N (non-missing count). Default: mean, sd, min, max, N overall;
        mean and sd by group. SD uses n − 1.
    """
    df, lab = _frame_and_labels(data, labels)
    notes: list[str] = []
    if by == "phase":
        if not phases:
            raise DescriptiveError("by='phase' needs phases=[(name, first year, last year), ...]")
        df = df.assign(phase=assign_phases(df["year"], phases))
        outside = int(df["phase"].isna().sum())
        if outside:
            notes.append(f"{outside} observations outside the dated phases are left out.")
    if by is not None and by not in df.columns:
        raise DescriptiveError(f"by={by!r} is not a column; available: {list(df.columns)}")
    x, names = _numeric_columns(df, variables, by, lab)
    if by is None:
        stats = list(stats or ("mean", "sd", "min", "max", "N"))
        frame = _describe(x, stats)
        groups: list[Any] = []
        member = {}
        header = [(Cell(),) + cells(STAT_NAMES.get(s, s) for s in stats)]
        counts = [len(x)]
    else:
        stats = list(stats or ("mean", "sd"))
        key = df[by]
        if isinstance(key.dtype, pd.CategoricalDtype):
            groups = [g for g in key.cat.categories if (key == g).any()]
        else:
            groups = sorted(key.dropna().unique().tolist())
        dropped = int(key.isna().sum()) if by != "phase" else 0
        if dropped:
            notes.append(f"{dropped} observations with missing {lab.get(by, by)} are left out.")
        member = {g: (key == g).fillna(False).to_numpy(bool) for g in groups}  # NA (nullable dtypes) is no member
        parts = {g: _describe(x[member[g]], stats) for g in groups}
        frame = pd.concat(parts, axis=1, names=[by, "statistic"])
        group_names = [group_name(g, by) for g in groups]
        head = [g for g in group_names for _ in stats]
        header = [(Cell(),) + merge_spans(head) if len(stats) > 1 else (Cell(),) + cells(group_names)]
        if len(stats) > 1:
            header.append((Cell(),) + cells(STAT_NAMES.get(s, s) for s in stats) * len(groups))
        counts = [int(member[g].sum()) for g in groups]
    rows = []
    col_stats = [c[-1] if isinstance(c, tuple) else c for c in frame.columns]
    for var in frame.index:
        vals = [_fmt_stat(frame.loc[var, c], s, digits) for c, s in zip(frame.columns, col_stats)]
        rows.append((Cell(names[var]),) + cells(vals, number=True))
    width = len(stats)
    obs: list[Cell] = [Cell("Observations")]
    for n in counts:
        obs.extend([Cell(f"{n:,}", number=True, align=False)] + [Cell()] * (width - 1))
    sections = [Section(tuple(rows)), Section((tuple(obs),))]
    if "firm_id" in df.columns:
        firm_counts = [df["firm_id"].nunique()] if by is None else \
            [int(df.loc[member[g], "firm_id"].nunique()) for g in groups]
        firms: list[Cell] = [Cell("Firms")]
        for n in firm_counts:
            firms.extend([Cell(f"{n:,}", number=True, align=False)] + [Cell()] * (width - 1))
        sections[1] = Section((tuple(obs), tuple(firms)))
    frame.index = pd.Index([names[v] for v in frame.index], name="variable")
    return DescriptiveTable(layout=Layout(tuple(header), tuple(sections), tuple(notes)), frame=frame,
                            caption=caption)


def _fmt_stat(v: Any, stat: str, digits: int) -> str:
    if stat == "N":
        return f"{int(v):,}" if pd.notna(v) else ""
    return fmt_value(float(v), digits)


def phase_label(name: str) -> str:
    """Display form of a phase identifier: ``quantity_expansion`` or "quantity expansion" → "Quantity expansion"
    (text with capitals is left as written)."""
    name = str(name)
    if name == name.lower() and name.replace(" ", "_").isidentifier():
        name = name.replace("_", " ")
        return name[:1].upper() + name[1:]
    return name


def group_name(g: Any, by: str) -> str:
    """Display name of a group value (booleans as words: ``is_spinoff`` True → "Spin-off"; phase identifiers
    as words)."""
    if by == "phase":
        return phase_label(g)
    if isinstance(g, (bool, np.bool_)):
        return {"is_spinoff": ("Not spin-off", "Spin-off")}.get(by, ("No", "Yes"))[int(g)]
    if isinstance(g, (float, np.floating)) and float(g).is_integer():
        return str(int(g))
    if isinstance(g, str) and re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)+", g):  # a code: worker_same_industry
        return g.replace("_", " ")
    return str(g)


def balance_table(
    data: Any,
    variables: Sequence[str],
    *,
    treatment: str = "treat_offered",
    strata: str | None = None,
    cluster: str | None = None,
    vcov: str = "HC1",
    labels: Mapping[str, str] | None = None,
    digits: int = 3,
    caption: str | None = None,
    joint: bool = True,
) -> DescriptiveTable:
    """Baseline balance of a (stratified) randomised training programme.

    For each variable: control and treatment means and SDs (n − 1), the difference β̂ from
    ``x = α + β·treatment (+ strata effects) + e`` by OLS, its standard error and two-sided p-value (t with
    n − k df), and the normalized difference (module docstring). Variance: ``vcov="HC1"`` (Stata ``regress,
    vce(robust)``; ``"HC2"`` reproduces Welch's unequal-variance t-test when there are no strata) or
    ``"classical"``; with ``cluster=`` column, cluster-robust (Stata ``vce(cluster)``: G/(G−1)·(N−1)/(N−k), t with
    G − 1 df). Pass baseline rows only (e.g. ``df.query("post == False")``); with several rows per firm use
    ``cluster="firm_id"``. Rows with a missing treatment are left out and counted in a note; missing values of a
    variable leave out only that variable's rows (its N columns show what was used).

    ``joint=True`` adds the joint orthogonality test to the notes: OLS of the treatment indicator on all variables
    (and strata effects) on the rows complete for all of them, Wald F-test that every variable's coefficient is
    zero with the same variance estimator.
    """
    df, lab = _frame_and_labels(data, labels)
    if treatment not in df.columns:
        raise DescriptiveError(f"treatment column {treatment!r} not in the data; available: {list(df.columns)}")
    notes: list[str] = []
    t_raw = df[treatment]
    keep = t_raw.notna().to_numpy()
    if not keep.all():
        notes.append(f"{int((~keep).sum())} rows with missing {lab.get(treatment, treatment)} are left out.")
    df = df.loc[keep]
    t = df[treatment].astype(float)
    if set(np.unique(t)) - {0.0, 1.0}:
        raise DescriptiveError(f"treatment column {treatment!r} must be 0/1 or boolean; found {sorted(set(t))}")
    x, names = _numeric_columns(df, variables, None, lab)
    rows, records = [], []
    for var in x.columns:
        ok = x[var].notna().to_numpy().copy()
        for extra in (strata, cluster):
            if extra is not None:
                ok &= df[extra].notna().to_numpy()
        xv, tv = x[var].to_numpy()[ok], t.to_numpy()[ok]
        x0, x1 = xv[tv == 0], xv[tv == 1]
        design = np.column_stack([np.ones(ok.sum()), tv])
        if strata is not None:
            design = np.column_stack([design, _dummies(df.loc[ok, strata])])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise DescriptiveError(f"{var}: {treatment} does not vary within {strata or 'the sample'}; "
                                   "the difference is not identified (check the strata and treatment columns)")
        res = _ols(xv, design, vcov, df.loc[ok, cluster] if cluster is not None else None)
        s0, s1 = x0.std(ddof=1), x1.std(ddof=1)
        rec = {"control_mean": x0.mean(), "control_sd": s0, "control_n": len(x0), "treatment_mean": x1.mean(),
               "treatment_sd": s1, "treatment_n": len(x1), "difference": res.params[1], "std_error": res.bse[1],
               "p_value": res.pvalues[1],
               "normalized_difference": (x1.mean() - x0.mean()) / np.sqrt((s0**2 + s1**2) / 2)}
        records.append(rec)
        vals = [rec[k] for k in ("control_mean", "control_sd", "treatment_mean", "treatment_sd", "difference",
                                 "std_error", "p_value", "normalized_difference")]
        rows.append((Cell(names[var]),) + cells((fmt_value(float(v), digits) for v in vals), number=True))
    frame = pd.DataFrame(records, index=pd.Index([names[v] for v in x.columns], name="variable"))
    n0, n1 = int((t == 0).sum()), int((t == 1).sum())
    header = (
        (Cell(), Cell("Control", span=2), Cell("Treatment", span=2), Cell("Difference", span=3), Cell()),
        (Cell(),) + cells(["Mean", "SD", "Mean", "SD", "T − C", "SE", "p-value", "Norm. diff."]),
    )
    obs = (Cell("Observations"), Cell(f"{n0:,}", number=True, align=False), Cell(),
           Cell(f"{n1:,}", number=True, align=False)) + (Cell(),) * 5
    if strata:
        notes.append(f"Difference from OLS with {label_of(strata, lab) if lab else strata} fixed effects.")
    var_word = (f"cluster-robust by {cluster}" if cluster else
                "classical" if vcov == "classical" else f"heteroskedasticity-robust ({vcov})")
    notes.append(f"Standard errors {var_word}. Normalized difference: (T − C) / sqrt((SD_T² + SD_C²) / 2).")
    short = frame.index[(frame["control_n"] + frame["treatment_n"]) < n0 + n1]
    if len(short):
        notes.append("Missing values leave out rows for: " + ", ".join(
            f"{v} ({n0 + n1 - int(frame.loc[v, 'control_n'] + frame.loc[v, 'treatment_n'])})" for v in short) + ".")
    if joint:
        complete = x.notna().all(axis=1).to_numpy().copy()
        for extra in (strata, cluster):
            if extra is not None:
                complete &= df[extra].notna().to_numpy()
        design = np.column_stack([np.ones(complete.sum()), x.to_numpy()[complete]])
        if strata is not None:
            design = np.column_stack([design, _dummies(df.loc[complete, strata])])
        k = x.shape[1]
        if np.linalg.matrix_rank(design) < design.shape[1]:
            notes.append("Joint test not computed: the variables are collinear.")
        else:
            res = _ols(t.to_numpy()[complete], design, vcov, df.loc[complete, cluster] if cluster else None)
            R = np.zeros((k, design.shape[1]))
            R[:, 1:k + 1] = np.eye(k)
            ft = res.f_test(R)
            f, p = float(np.squeeze(ft.fvalue)), float(ft.pvalue)
            frame.attrs["joint_test"] = {"F": f, "df": (int(ft.df_num), float(ft.df_denom)), "p_value": p,
                                         "n": int(complete.sum())}
            notes.append(f"Joint test that the variables do not predict treatment: F({int(ft.df_num)}, "
                         f"{ft.df_denom:g}) = {f:.{digits}f}, p = {p:.{digits}f} (N = {int(complete.sum()):,}).")
    layout = Layout(header, (Section(tuple(rows)), Section((obs,))), tuple(notes))
    return DescriptiveTable(layout=layout, frame=frame, caption=caption)


def _dummies(codes: pd.Series) -> np.ndarray:
    return pd.get_dummies(codes.astype(str), drop_first=True, dtype=float).to_numpy()


def _ols(y: np.ndarray, X: np.ndarray, vcov: str, clusters: pd.Series | None) -> Any:
    """statsmodels OLS with Stata's small-sample conventions for the chosen variance."""
    import statsmodels.api as sm

    fit = sm.OLS(y, X)
    if clusters is not None:
        return fit.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(clusters)[0]}, use_t=True)
    if vcov == "classical":
        return fit.fit()
    return fit.fit(cov_type=vcov, use_t=True)


def yearly_aggregates(data: Any, *, output: str = "sales", price: str = "product_price",
                      innovation: str = "own_brand", tfp: str | pd.Series | None = None) -> pd.DataFrame:
    """Cluster-level yearly series for :func:`~clusterecon.report.figures.plot_trajectories`.

    Over the firms operating in each year (``active`` not False when that column exists): ``firms`` (count),
    ``output`` (sum of ``output``), ``price`` (mean of ``price``), ``innovation_share`` (mean of the 0/1
    ``innovation`` indicator), and ``tfp`` (mean of a column, or of a Series indexed by (firm_id, year) such as a
    productivity estimate). Series whose source column is absent are left out. Index: year.
    """
    df, _ = _frame_and_labels(data, None)
    if "year" not in df.columns:
        raise DescriptiveError("yearly aggregates need a year column or index level")
    if isinstance(tfp, pd.Series):
        key = pd.MultiIndex.from_frame(df[["firm_id", "year"]].astype({"firm_id": "string"}))
        tfp_index = tfp.index.set_levels(tfp.index.levels[0].astype("string"), level=0)
        df = df.assign(_tfp=pd.Series(tfp.to_numpy(float), index=tfp_index).reindex(key).to_numpy())
        tfp = "_tfp"
    if "active" in df.columns:
        df = df[df["active"].astype("boolean").fillna(True).to_numpy(bool)]
    g = df.groupby("year", sort=True)
    out = pd.DataFrame({"firms": g["firm_id"].nunique() if "firm_id" in df.columns else g.size()})
    if output in df.columns:
        out["output"] = g[output].sum(min_count=1)
    if price in df.columns:
        out["price"] = g[price].mean()
    if tfp is not None and tfp in df.columns:
        out["tfp"] = g[tfp].mean()
    if innovation in df.columns:
        out["innovation_share"] = df[innovation].astype("Float64").groupby(df["year"]).mean().astype(float)
    out.index.name = "year"
    return out
