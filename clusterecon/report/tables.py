"""Regression tables: models side by side, from :class:`~clusterecon.estimators.results.EstimationResult` objects.

``regression_table(results, ...)`` lays the models out as columns: coefficients with stars, their standard errors
(or t-statistics, p-values, confidence intervals) beneath, indicator rows for absorbed effects and clustering
(``Firm FE: Yes``, ``SE clustered by: firm``), model statistics (N, firms, R² variants, log-likelihood) and notes
that state the variance convention. Optional titled panels hold further blocks of results for the same columns,
e.g. average marginal effects under the coefficients of a probit.

The layout is rendered by the shared engine in :mod:`.render` (LaTeX in :mod:`.latex`), so every table escapes
labels the same way. statsmodels and linearmodels results are accepted through :mod:`.adapters`.

Built here rather than with statsmodels ``summary_col`` / linearmodels ``compare`` / stargazer because none of them
takes clusterecon's variance and fixed-effect metadata, and their LaTeX export has known escaping and FE-row bugs
(linearmodels issue #560; fixest issues #201, #185, #303; statsmodels #9280/#10218 on FE rows).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .labels import label_of, level_label
from .render import Cell, Layout, Section, Table, cells, fmt_number, fmt_value, merge_spans

#: Names estimators and peer libraries give the constant; all are shown as one row, last by default (as Stata).
INTERCEPT_NAMES = frozenset({"Intercept", "const", "_cons", "(Intercept)", "intercept", "constant"})
INTERCEPT = "Intercept"

#: Display labels of glance() keys.
STAT_LABELS: dict[str, str] = {
    "N": "Observations",
    "Firms": "Firms",
    "R2": "R²",
    "R2 adj": "Adjusted R²",
    "R2 within": "R² within",
    "R2 between": "R² between",
    "R2 overall": "R² overall",
    "R2 pseudo": "Pseudo R²",
    "Log-likelihood": "Log-likelihood",
}

#: Specification tests shown under the coefficients whenever a model reports them (dynamic panel GMM: the
#: Arellano-Bond tests and Hansen's J), labelled as below; ``tests=`` replaces them.
DEFAULT_TESTS: dict[str, str] = {"AR(1)": "AR(1) z", "AR(2)": "AR(2) z", "Hansen": "Hansen J"}

#: Model statistics added to the default bottom rows when a model reports them.
DEFAULT_EXTRA_STATS: tuple[str, ...] = ("Instruments / groups",)

_STAT_WORDS = {
    "se": "Standard errors in parentheses.",
    "t": "t statistics in parentheses.",
    "p": "p-values in brackets.",
    "ci": "95% confidence intervals in brackets.",
}

#: How clustering columns are named in the "SE clustered by" row.
CLUSTER_NAMES = {"firm_id": "firm", "year": "year", "cluster": "cluster", "entity": "firm", "time": "year"}


class TableError(ValueError):
    """The table cannot be built as requested; the message names the models/terms and the fix."""


@dataclass(frozen=True)
class RegressionTable(Table):
    """An immutable regression table.

    ``layout``: what is rendered; ``frame``: the displayed cells as strings, indexed by (panel, term, row) with one
    column per model; ``data``: the numbers behind it in long form (model, panel, term and ``tidy()`` columns).
    Render with :meth:`to_latex`, :meth:`to_markdown`, :meth:`to_html`, :meth:`to_csv` or write all with
    :meth:`save`.
    """

    layout: Layout
    frame: pd.DataFrame
    data: pd.DataFrame
    caption: str | None = None


def regression_table(
    results: Any = None,
    *,
    panels: Mapping[str, Sequence[Any]] | None = None,
    labels: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    stat: str | None = "se",
    stars: Sequence[float] | Mapping[float, str] | None = (0.1, 0.05, 0.01),
    digits: int = 3,
    model_names: Sequence[str] | None = None,
    groups: Sequence[tuple[str, int]] | Mapping[str, int] | None = None,
    depvar: bool = True,
    stats: Sequence[str] | Mapping[str, str] | None = None,
    tests: Sequence[str] | Mapping[str, str] | None = None,
    indicators: Mapping[str, Sequence[str]] | None = None,
    effects: bool = True,
    cluster_row: bool = True,
    variance_note: bool = True,
    notes: Sequence[str] | str = (),
    caption: str | None = None,
    level: float = 0.95,
) -> RegressionTable:
    """Lay out estimation results side by side.

    Parameters
    ----------
    results : sequence of results, or mapping ``{model name: result}``
        ``EstimationResult`` objects, or statsmodels/linearmodels results (converted by
        :func:`~clusterecon.report.adapters.as_result`). ``None`` entries leave a column blank.
    panels : mapping ``{panel title: sequence of results}``, optional
        Several titled blocks for the same columns (e.g. ``{"Coefficients": fits, "Average marginal effects":
        margins}``) instead of ``results``. Indicator and statistic rows come from the first panel.
    labels : mapping or SurveyPanel, optional
        Variable labels, e.g. ``panel.labels`` (or the panel itself; ``clusterecon.schema.LABELS`` for the
        codebook); factor levels (``occ[T.engineer]``) and interactions (``a:b``) are labelled part by part.
    order, keep, drop : sequence of str, optional
        Term names or shell-style patterns (``"year*"``). ``order`` puts the named terms first (the constant is
        last unless ordered); ``keep`` shows only matches; ``drop`` hides matches.
    rename : mapping, optional
        Term → display name. Terms renamed to the same name share a row (they must not both occur in one model).
    stat : {"se", "t", "p", "ci", None}
        What is printed under each coefficient.
    stars : thresholds, or mapping threshold → symbol, optional
        p-value cut-offs for one, two, three… stars; ``None`` or ``()`` for none; ``{0.1: "†", 0.05: "*", 0.01:
        "**"}`` for your own symbols (esttab ``star()``). A legend is added to the notes.
        Stars use each result's own p-values (t(df_resid) or normal, as the estimator reports them).
    digits : int
        Decimals of coefficients and their statistics (and of R², log-likelihood).
    model_names : sequence of str, optional
        Column headings; default ``(1)``, ``(2)``, … (mapping keys when ``results`` is a mapping).
    groups : sequence of (title, number of columns) or mapping title → number, optional
        Column groups: a header row spanning adjacent columns (esttab ``mgroups()``), e.g. ``[("OLS", 2), ("FE",
        2)]``; the spans must add up to the number of columns (``""`` leaves columns ungrouped).
    depvar : bool
        Show a header row with the (labelled) dependent variable of each column, merged across equal neighbours.
    stats : sequence of keys or mapping key → label, optional
        Model statistics from ``result.glance()`` (``"N"``, ``"Firms"``, ``"R2 within"``, ``"Log-likelihood"``, any
        key of ``result.stats``). Default: N, Firms, every R² the models report, log-likelihood.
    indicators : mapping label → one string per column, optional
        Extra indicator rows (e.g. ``{"Controls": ["No", "Yes"]}``).
    effects, cluster_row : bool
        Rows from ``result.effects`` ("Firm FE: Yes"; "No" where a model lacks it) and "SE clustered by".
    variance_note : bool
        Add a note with each model's variance estimator, clusters, G and dof rule, and one naming regressors a
        model dropped (``result.dropped_regressors``).
    tests : sequence of keys or mapping key → label, optional
        Rows for tests stored in ``result.tests`` (e.g. ``"model"``, ``"hausman"``): the statistic with its p-value
        in brackets; the label defaults to the test's name and distribution, e.g. ``Wald χ²(3)``. Default: the
        specification tests of :data:`DEFAULT_TESTS` that some model reports (AR(1), AR(2), Hansen J of dynamic
        panel GMM), with the instrument count next to the number of firms as a statistic row.
    notes : str or sequence of str
        Extra notes, printed first.

    Returns
    -------
    RegressionTable
    """
    blocks = result_blocks(results, panels)
    ncol = len(next(iter(blocks.values())))
    if model_names is None:
        model_names = list(results) if isinstance(results, Mapping) else [f"({i + 1})" for i in range(ncol)]
    if len(model_names) != ncol:
        raise TableError(f"{len(model_names)} model_names for {ncol} columns")
    if stat not in _STAT_WORDS and stat is not None:
        raise TableError(f"stat={stat!r}; choose 'se', 't', 'p', 'ci' or None")
    thresholds = _star_symbols(stars)
    labels = dict(getattr(labels, "labels", labels) or {})  # a SurveyPanel stands for its labels
    rename = dict(rename or {})
    model_names = [str(m) for m in model_names]

    sections: list[Section] = []
    frame_rows: dict[tuple[str, str, str], list[str]] = {}
    long: list[pd.DataFrame] = []
    for title, models in blocks.items():
        terms = term_rows(models, rename, order, keep, drop)
        rows: list[tuple[Cell, ...]] = []
        for key, raw in terms:
            label = term_label(key, raw, labels, rename)
            coef_cells, stat_cells = [Cell(label)], [Cell()]
            for j, res in enumerate(models):
                name = raw.get(j)
                c, s = _coef_cells(res, name, stat, thresholds, digits, level)
                coef_cells.append(c)
                stat_cells.append(s)
            rows.append(tuple(coef_cells))
            frame_rows[(title, key, "estimate")] = [c.text + c.sup for c in coef_cells[1:]]
            if stat is not None and any(c.text for c in stat_cells[1:]):  # no blank row under a coefficient
                rows.append(tuple(stat_cells))
                frame_rows[(title, key, stat)] = [c.text for c in stat_cells[1:]]
        for j, res in enumerate(models):
            if res is not None:
                t = res.tidy(level).reset_index()
                t["term"] = [rename.get(_canon(n), _canon(n)) for n in t["term"]]
                t.insert(0, "panel", title)
                t.insert(0, "model", model_names[j])
                long.append(t)
        sections.append(Section(tuple(rows), title if panels is not None else None))

    first = list(blocks.values())[0]
    if tests is None:
        tests = {k: v for k, v in DEFAULT_TESTS.items() if any(r is not None and k in r.tests for r in first)}
    bottom: list[tuple[Cell, ...]] = []
    ind_rows = _indicator_rows(first, indicators, effects, cluster_row, ncol)
    for lab, vals in ind_rows:
        bottom.append((Cell(lab),) + cells(vals))
        frame_rows[("", lab, "indicator")] = list(vals)
    if ind_rows:
        sections.append(Section(tuple(bottom)))
        bottom = []
    for lab, vals in _test_rows(first, tests, digits):
        bottom.append((Cell(lab),) + cells(vals, number=True, align=False))
        frame_rows[("", lab, "test")] = vals
    for key, lab in _stat_keys(first, stats).items():
        vals = [fmt_value(_stat_value(r, key), digits) for r in first]
        bottom.append((Cell(lab),) + cells(vals, number=True, align=False))
        frame_rows[("", lab, "stat")] = vals
    if bottom:
        sections.append(Section(tuple(bottom)))

    header: list[tuple[Cell, ...]] = []
    if depvar:
        dv = [term_label(r.depvar, {}, labels, rename) if r is not None else "" for r in first]
        if any(dv):
            header.append((Cell(),) + merge_spans(dv))
    header.append((Cell(),) + cells(model_names))
    if groups:
        header.insert(0, (Cell(),) + _group_cells(groups, ncol))

    all_notes = [notes] if isinstance(notes, str) else list(notes)
    if stat is not None:
        all_notes.append(_STAT_WORDS[stat].replace("95%", f"{level:.0%}"))
    if thresholds:
        all_notes.append(", ".join(f"{sym} p<{t:g}" for t, sym in thresholds) + ".")
    if variance_note:
        all_notes.extend(_variance_notes(first, model_names))
        for name, res in zip(model_names, first):
            if res is not None and res.dropped_regressors:
                all_notes.append(f"{name} dropped " + "; ".join(f"{v} ({why})" for v, why in res.dropped_regressors)
                                 + ".")
        seen = {r.variance.describe() for r in first if r is not None}
        for title, models in list(blocks.items())[1:]:
            extra = [n for n in _variance_notes(models, model_names)
                     if not any(n.endswith(f": {d}.") for d in seen)]
            all_notes.extend(f"{title}: {n[0].lower()}{n[1:]}" for n in extra)

    index = pd.MultiIndex.from_tuples(list(frame_rows), names=["panel", "term", "row"])
    frame = pd.DataFrame(list(frame_rows.values()), index=index, columns=model_names)
    data = pd.concat(long, ignore_index=True) if long else pd.DataFrame()
    layout = Layout(header=tuple(header), sections=tuple(sections), notes=tuple(all_notes))
    return RegressionTable(layout=layout, frame=frame, data=data, caption=caption)


def split_equations(result: Any, *, sep: str = ":", other: str = "Other") -> dict[str, Any]:
    """One result per equation of a multi-equation model whose terms are named ``equation:term``.

    Multinomial logit (``engineer:schooling``), Heckman (``select:z``) and similar results become
    ``{equation: result}`` with the prefix removed and ``coef``/``vcov`` sliced, so that
    ``regression_table(split_equations(mn))`` puts outcomes side by side and
    ``regression_table(panels=split_equations(heck))`` stacks the equations as panels. Terms without a prefix
    (``sigma``, ``lambda``) go to ``other``. Model statistics (N, log-likelihood, ...) are those of the whole model.
    """
    import dataclasses

    from ..estimators.results import EstimationResult

    res = _as_result(result)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(res.names):
        eq, found, _ = name.partition(sep)
        groups.setdefault(eq if found else other, []).append(i)
    base = {f.name: getattr(res, f.name) for f in dataclasses.fields(EstimationResult)}
    out = {}
    for eq, idx in groups.items():
        names = [res.names[i].partition(sep)[2] or res.names[i] for i in idx]
        out[eq] = EstimationResult(**{**base, "names": tuple(names), "coef": res.coef[idx],
                                      "vcov": res.vcov[np.ix_(idx, idx)], "model": f"{res.model}: {eq}"})
    return out


# ---------------------------------------------------------------------------------------------------- helpers
def result_blocks(results: Any, panels: Mapping[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    """The results of each table block (``{title: [EstimationResult | None, ...]}``), converted and checked."""
    if (results is None) == (panels is None):
        raise TableError("pass either results (one block) or panels={title: results} (several blocks)")
    raw = {"": results} if panels is None else dict(panels)
    out: dict[str, list[Any]] = {}
    for title, models in raw.items():
        if isinstance(models, Mapping):
            models = list(models.values())
        elif isinstance(models, Iterable) and not isinstance(models, (str, bytes)):
            models = list(models)
        else:
            models = [models]
        out[title] = [_as_result(m) for m in models]
    sizes = {k: len(v) for k, v in out.items()}
    if len(set(sizes.values())) != 1 or 0 in sizes.values():
        raise TableError(f"every panel needs the same, non-zero number of columns; got {sizes}")
    return out


def _as_result(obj: Any) -> Any:
    if obj is None:
        return None
    from ..estimators.results import EstimationResult

    if isinstance(obj, EstimationResult):
        return obj
    from .adapters import as_result

    return as_result(obj)


def _canon(name: str) -> str:
    return INTERCEPT if name in INTERCEPT_NAMES else name


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(name == p or fnmatch.fnmatchcase(name, p) for p in patterns)


def term_rows(models: Sequence[Any], rename: Mapping[str, str], order: Sequence[str] | None,
           keep: Sequence[str] | None, drop: Sequence[str] | None) -> list[tuple[str, dict[int, str]]]:
    """Row keys in display order, each with {column: the model's own term name}."""
    rows: dict[str, dict[int, str]] = {}
    for j, res in enumerate(models):
        if res is None:
            continue
        for name in res.names:
            canon = _canon(name)
            key = rename.get(name, rename.get(canon, canon))
            if keep is not None and not (_matches(canon, keep) or _matches(key, keep)):
                continue
            if drop is not None and (_matches(canon, drop) or _matches(key, drop)):
                continue
            slot = rows.setdefault(key, {})
            if j in slot:
                raise TableError(f"model {j + 1} has both {slot[j]!r} and {name!r} renamed to {key!r}; "
                                 "rename them to different names")
            slot[j] = name
    keys = list(rows)
    first: list[str] = []
    for pat in order or ():
        first.extend(k for k in keys if k not in first and (_matches(k, [pat]) or any(
            _matches(_canon(n), [pat]) for n in rows[k].values())))
    rest = [k for k in keys if k not in first]
    if INTERCEPT in rest:
        rest = [k for k in rest if k != INTERCEPT] + [INTERCEPT]
    return [(k, rows[k]) for k in first + rest]


_FACTOR = re.compile(r"^(?:C\()?(?P<var>[^\[\]()]+?)(?:\s*,[^\]]*)?\)?\[(?:T\.)?(?P<level>[^\]]*)\]$")
_FUNC = re.compile(r"^(?:np\.)?(?P<f>log|exp|sqrt|log1p)\((?P<arg>.+)\)$")


def term_label(key: str, raw: Mapping[int, str] | None, labels: Mapping[str, str], rename: Mapping[str, str]) -> str:
    """Display label of a row: rename, then the codebook label of the term (part by part for compound terms)."""
    if key in rename.values() and key not in labels:
        return label_of(key, labels)  # a display name, or a column the codebook knows
    for name in [key, *(raw or {}).values()]:
        if name in labels:
            return labels[name]
    if key == INTERCEPT:
        return "Constant"
    if ":" in key:
        return " × ".join(term_label(p, None, labels, {}) for p in key.split(":"))
    m = _FACTOR.match(key)
    if m:
        return level_label(m["var"].strip(), m["level"], labels)
    m = _FUNC.match(key)
    if m:
        return f"{m['f']}({term_label(m['arg'].strip(), None, labels, {})})"
    return label_of(key, labels)  # codebook and derived variables (ln_sales → "log(sales)")


def _group_cells(groups: Sequence[tuple[str, int]] | Mapping[str, int], ncol: int) -> tuple[Cell, ...]:
    pairs = list(groups.items()) if isinstance(groups, Mapping) else [tuple(g) for g in groups]
    if sum(int(n) for _, n in pairs) != ncol or any(int(n) < 1 for _, n in pairs):
        raise TableError(f"groups {pairs} span {sum(int(n) for _, n in pairs)} columns; the table has {ncol}")
    out: list[Cell] = []
    for title, n in pairs:
        out.append(Cell(str(title), span=int(n)) if int(n) > 1 else Cell(str(title)))
    return tuple(out)


def _star_symbols(stars: Sequence[float] | Mapping[float, str] | None) -> list[tuple[float, str]]:
    """``[(threshold, symbol), ...]`` from the largest threshold down: ``(0.1, 0.05, 0.01)`` → ``*``, ``**``,
    ``***``; a mapping gives its own symbols."""
    if not stars:
        return []
    if isinstance(stars, Mapping):
        pairs = sorted(((float(t), str(sym)) for t, sym in stars.items()), reverse=True)
    else:
        pairs = [(float(t), "*" * (i + 1)) for i, t in enumerate(sorted(stars, reverse=True))]
    if any(not 0 < t < 1 for t, _ in pairs):
        raise TableError(f"star thresholds must be p-values between 0 and 1; got {[t for t, _ in pairs]}")
    return pairs


def _coef_cells(res: Any, name: str | None, stat: str | None, thresholds: Sequence[tuple[float, str]], digits: int,
                level: float) -> tuple[Cell, Cell]:
    if res is None or name is None:
        return Cell(), Cell()
    i = res.names.index(name)
    b = float(res.coef[i])
    if not np.isfinite(b):
        return Cell(), Cell()
    se = float(np.sqrt(res.vcov[i, i])) if res.vcov[i, i] >= 0 else float("nan")
    p = float(res.pvalues.iloc[i])
    passed = [sym for t, sym in thresholds if np.isfinite(p) and p < t]
    coef = Cell(fmt_number(b, digits), sup=passed[-1] if passed else "", number=True)
    if stat is None or not np.isfinite(se):
        return coef, Cell()
    if stat == "se":
        text = f"({fmt_number(se, digits)})"
    elif stat == "t":
        text = f"({fmt_number(b / se, digits)})" if se > 0 else ""
    elif stat == "p":
        text = f"[{p:.{digits}f}]"
    else:
        ci = res.conf_int(level).iloc[i]
        text = f"[{fmt_number(ci['lower'], digits)}, {fmt_number(ci['upper'], digits)}]"
    return coef, Cell(text, number=True)


def _cluster_text(res: Any) -> str:
    v = res.variance
    if v.kind not in ("cluster", "cluster2") or not v.clusters:
        return "—"
    return " & ".join(CLUSTER_NAMES.get(c, c) for c in v.clusters)


def _indicator_rows(models: Sequence[Any], indicators: Mapping[str, Sequence[str]] | None, effects: bool,
                    cluster_row: bool, ncol: int) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = []
    if effects:
        keys: list[str] = []
        for r in models:
            if r is not None:
                keys.extend(k for k in r.effects if k not in keys)
        # Firm before year before anything else, whatever order the first model listed them in.
        keys.sort(key=lambda k: (0 if k.lower().startswith(("firm", "entity")) else
                                 1 if k.lower().startswith(("year", "time")) else 2))
        for k in keys:
            rows.append((k, [str(r.effects.get(k, "No")) if r is not None else "" for r in models]))
    for k, vals in (indicators or {}).items():
        vals = [str(v) for v in vals]
        if len(vals) != ncol:
            raise TableError(f"indicator row {k!r} has {len(vals)} values for {ncol} columns")
        rows.append((k, vals))
    if cluster_row and any(r is not None and r.variance.kind in ("cluster", "cluster2") for r in models):
        rows.append(("SE clustered by", [_cluster_text(r) if r is not None else "" for r in models]))
    return rows


def _test_rows(models: Sequence[Any], tests: Sequence[str] | Mapping[str, str] | None, digits: int,
               ) -> list[tuple[str, list[str]]]:
    if not tests:
        return []
    keys = dict(tests) if isinstance(tests, Mapping) else {k: None for k in tests}
    rows = []
    for key, label in keys.items():
        found = [r.tests.get(key) if r is not None else None for r in models]
        if not any(found):
            have = sorted({k for r in models if r is not None for k in r.tests})
            raise TableError(f"no model has a test {key!r}; available: {have}")
        if label is None:
            t0 = next(t for t in found if t is not None)
            dist = {"chi2": "χ²", "F": "F", "normal": "z"}.get(t0.dist, t0.dist)
            same_df = len({str(t.df) for t in found if t is not None}) == 1
            df = (f"({t0.df[0]:g}, {t0.df[1]:g})" if isinstance(t0.df, tuple) else f"({t0.df:g})") if same_df else ""
            label = f"{t0.name} {dist}{df}" if not t0.name.endswith(dist) else f"{t0.name}{df}"
        # a test the model reports but could not compute (e.g. AR(2) with four periods) says so, not a blank
        rows.append((label, ["" if t is None else f"{fmt_number(t.stat, digits)} [{t.pvalue:.3f}]"
                             if np.isfinite(t.stat) else "n/a" for t in found]))
    return rows


def _stat_value(res: Any, key: str) -> Any:
    if res is None:
        return None
    v = res.glance().get(key)
    # a regression on one series (a cluster aggregate by year) has no firm dimension: no "Firms 1"
    return None if key == "Firms" and v == 1 else v


def stat_label(key: str) -> str:
    """Display label of a ``glance()`` key: ``"R2 within"`` → ``"R² within"``, ``"R2 pseudo (McFadden)"`` →
    ``"Pseudo R² (McFadden)"``."""
    if key in STAT_LABELS:
        return STAT_LABELS[key]
    if key.startswith("R2 pseudo"):
        return "Pseudo R²" + key[len("R2 pseudo"):]
    return "R²" + key[2:] if key.startswith("R2") else key


def _stat_keys(models: Sequence[Any], stats: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    available: list[str] = []
    for r in models:
        if r is not None:
            available.extend(k for k in r.glance() if k not in available)
    if stats is None:
        chosen = [k for k in ("N", "Firms") if k in available]
        chosen += [k for k in available if k.startswith("R2") and k not in chosen]
        chosen += [k for k in ("Log-likelihood", *DEFAULT_EXTRA_STATS) if k in available]
        return {k: stat_label(k) for k in chosen}
    mapping = dict(stats) if isinstance(stats, Mapping) else {k: stat_label(k) for k in stats}
    missing = [k for k in mapping if k not in available]
    if missing:
        raise TableError(f"no model reports {missing}; available statistics: {available}")
    return mapping


def _variance_notes(models: Sequence[Any], names: Sequence[str]) -> list[str]:
    groups: dict[str, list[str]] = {}
    for n, r in zip(names, models):
        if r is not None:
            groups.setdefault(r.variance.describe(), []).append(n)
    if len(groups) == 1:
        return [f"Variance: {next(iter(groups))}."]
    return [f"Variance {', '.join(ns)}: {d}." for d, ns in groups.items()]
