"""The ``analyse`` report folder: every hypothesis of the battery as tables, figures and one HTML/Markdown page.

:func:`write_report` turns an :class:`~clusterecon.hypotheses.AnalysisResult` into::

    DIR/report.html, DIR/report.md     verdicts, phase diagnosis, one section per hypothesis, validation, provenance
    DIR/tables/<key>_models.{tex,md,html,csv} and <key>_models_tabular.tex   regression tables (float and bare)
    DIR/tables/<key>_<table>.{csv,md,html}   the hypothesis's own tables (cross-tabs, trends, ...)
    DIR/tables/summary_by_<group>.{tex,md,html,csv}, summary_by_<group>_tabular.tex   descriptive tables
    DIR/figures/<name>.{png,pdf}       trajectories with phases shaded, coefficient plots, schooling vs innovation,
                                       entry by founder type, survival curves (only when exits are observable)

Tables and figures come from :mod:`.tables`, :mod:`.descriptive` and :mod:`.figures` (one rendering engine, one
theme); this module only chooses what to show and assembles the pages (:mod:`.html`). A table or figure that cannot
be drawn is listed in the report with the reason, never silently left out. The pages link only to files written.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..hypotheses.result import p_digits
from .html import Page, md_escape
from .render import csv_safe

#: Trajectory series shown when present, with their panel titles.
TRAJECTORY_SERIES = {"firms": "Number of firms", "entrants": "Entrants", "output": "Output (sales)",
                     "log_price": "Mean log price", "log_va_per_worker": "Mean log labour productivity",
                     "innovation_share": "Share of firms innovating"}
#: Firm-level groupings of the descriptive tables (when the column exists and has 2+ groups).
SUMMARY_GROUPS = ("founder_prior_occupation", "is_spinoff")
#: Labels of the columns the hypothesis battery derives (clusterecon.hypotheses._common.analysis_frame).
ANALYSIS_LABELS = {"schooling": "Manager's years of schooling", "log_sales": "log(sales)", "value_added": "Value added",
                   "log_va": "log(value added)", "log_va_per_worker": "log(value added per worker)",
                   "log_price": "log(price)", "log_employees": "log(employees)", "log_capital": "log(capital)",
                   "age": "Firm age", "any_innovation": "Any innovation", "n_innovations": "Number of innovations",
                   "late": "Later period", "second_generation": "Second-generation manager",
                   "year_trend": "Year trend", "trend": "Year trend", "pioneer": "Pioneer"}
#: Term patterns of year dummies: hidden in the tables, shown as a "Year dummies" row.
YEAR_DUMMIES = ("C(year)[*", "year[T.*", "C(year, *", "mean_C(year)*")
#: Names the battery gives a canonical column, shown on the canonical column's row.
SAME_TERM = {"schooling": "manager_schooling_years"}
SUMMARY_VARIABLES = ("sales", "employees", "capital", "product_price", "manager_schooling_years", "age",
                     "own_brand", "own_shop", "subcontracting", "exporter")


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_report` wrote everything. ``tables``/``figures``: ``{name: {format: path}}``;
    ``problems``: what could not be drawn, with the reason."""

    root: Path
    html: Path
    markdown: Path
    tables: Mapping[str, Mapping[str, Path]] = field(default_factory=dict)
    figures: Mapping[str, Mapping[str, Path]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def files(self) -> list[Path]:
        """Every file written (pages, tables, figures)."""
        out = [self.html, self.markdown]
        for group in (self.tables, self.figures):
            for paths in group.values():
                out.extend(paths.values())
        return out

    def moved(self, root: Path) -> ReportPaths:
        """The same files under ``root`` (where the folder was swapped in)."""
        def m(p: Path) -> Path:
            return root / p.relative_to(self.root)

        return ReportPaths(root, m(self.html), m(self.markdown),
                           {k: {f: m(p) for f, p in v.items()} for k, v in self.tables.items()},
                           {k: {f: m(p) for f, p in v.items()} for k, v in self.figures.items()}, self.problems)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")[:60] or "table"


class _Writer:
    """Collects written files and problems while the report is built."""

    def __init__(self, root: Path, progress: Callable[[str], None]) -> None:
        self.root = root
        self.tables: dict[str, dict[str, Path]] = {}
        self.figures: dict[str, dict[str, Path]] = {}
        self.problems: list[str] = []
        self.progress = progress
        self._taken: dict[str, set[str]] = {"tables": set(), "figures": set()}
        (root / "tables").mkdir(parents=True, exist_ok=True)
        (root / "figures").mkdir(parents=True, exist_ok=True)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _file_name(self, name: str, folder: str, *also: str) -> str:
        """``name`` as a file stem of ``folder`` not used before in this report: a slug (no dot files, no paths),
        then ``_2``, ``_3``, ... in the order written, so that two names with the same slug (``"Log sales: FE"``,
        ``"log sales (FE)"``) neither overwrite each other's files nor share a ``\\label`` in tables.tex. ``also``
        are suffixes of sibling files the name reserves (``_tabular``)."""
        base = re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_") or "table"
        taken = self._taken[folder]
        stem, k = base, 1
        while any(stem + s in taken for s in ("", *also)):
            k += 1
            stem = f"{base}_{k}"
        taken.update(stem + s for s in ("", *also))
        return stem

    def table(self, name: str, table: Any, caption: str) -> dict[str, Path]:
        """A clusterecon Table: .tex (float) + _tabular.tex (bare) + .md + .html + .csv.

        The LaTeX fits a 10pt article's line (wrapped row labels, a smaller type size; scaled down only when
        nothing else fits, which then needs graphicx, named in the file's first line)."""
        name = self._file_name(name, "tables", "_tabular")
        stem = self.root / "tables" / name
        fit = table.fitting_latex_options()
        paths = dict(table.save(stem, caption=caption, label=f"tab:{name}", **fit))
        bare = stem.with_name(f"{name}_tabular.tex")
        bare.write_text(table.to_latex(float=False, **fit), encoding="utf-8")
        paths["tabular"] = bare
        self.tables[name] = paths
        return paths

    def latex_document(self, title: str) -> Path | None:
        """``tables/tables.tex``: a complete document that ``\\input``s every LaTeX table of the folder, so that
        ``pdflatex tables.tex`` in ``tables/`` gives a PDF of the report's tables."""
        from .latex import document, escape

        names = [n for n, p in self.tables.items() if "tex" in p]
        if not names:
            return None
        resized = any("\\resizebox" in self.tables[n]["tex"].read_text(encoding="utf-8") for n in names)
        # a file path in the title may break after / and _
        head = escape(title).replace("/", r"/\allowbreak{}").replace(r"\_", r"\_\allowbreak{}")
        body = "\n".join([rf"\section*{{\raggedright {head}}}"] + [rf"\input{{{n}.tex}}" for n in names])
        path = self.root / "tables" / "tables.tex"
        path.write_text(document(body, packages=("graphicx",) if resized else ()), encoding="utf-8")
        return path

    def frame(self, name: str, df: pd.DataFrame) -> dict[str, Path]:
        """A plain DataFrame (a hypothesis's own table): .csv, .md and .html."""
        name = self._file_name(name, "tables")
        stem = self.root / "tables" / name
        paths = {"csv": stem.with_suffix(".csv"), "md": stem.with_suffix(".md"), "html": stem.with_suffix(".html")}
        csv_safe(df).to_csv(paths["csv"])
        paths["md"].write_text(_frame_markdown(df), encoding="utf-8")
        paths["html"].write_text(_frame_html(df, standalone=True, title=name), encoding="utf-8")
        self.tables[name] = paths
        return paths

    def figure(self, name: str, draw: Callable[[], Any]) -> tuple[dict[str, Path] | None, list[str]]:
        """Draw and save a figure; returns its paths (or None) and the left-out warnings it raised."""
        from .figures import LeftOutWarning, save_figure

        name = self._file_name(name, "figures")
        stem = self.root / "figures" / name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LeftOutWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # matplotlib's overflow noise on extreme values
            try:
                fig = draw()
                paths = save_figure(fig, stem)
            except Exception as e:  # noqa: BLE001 - a figure the data cannot support is reported, not fatal
                # e.g. a value of 1e308: the axis range overflows when the figure is drawn
                for f in stem.parent.glob(stem.name + ".*"):
                    f.unlink()
                self.problems.append(f"figure {name!r} not drawn: {type(e).__name__}: {e}")
                return None, []
        self.figures[name] = paths
        notes = [str(w.message) for w in caught if issubclass(w.category, LeftOutWarning)]
        return paths, notes


def write_report(result: Any, out_dir: str | Path, *, panel: Any, validation: Any = None,
                 provenance: Iterable[Any] | None = None, title: str | None = None,
                 progress: Callable[[str], None] | None = None, force: bool = False) -> ReportPaths:
    """Write the report folder for an analysis.

    Parameters
    ----------
    result : AnalysisResult
        From :func:`clusterecon.hypotheses.analyse`.
    out_dir : path
        Written whole into a fresh folder next to it and swapped in at the end (:mod:`.folder`): an earlier
        clusterecon report there is replaced completely; a non-empty folder clusterecon did not write is refused
        unless ``force``.
    panel : SurveyPanel
        The panel that was analysed (labels, descriptive tables, figures).
    validation : ValidationReport, optional
        Shown in full (default: ``panel.validation`` when present).
    provenance : iterable of ProvenanceEntry, optional
        The loading log (default: ``panel.provenance``); the battery's own steps (``result.provenance``) follow it.
    title : str, optional
        Page title (default: the survey design's source).
    progress : callable, optional
        Called with a short description before each slow step (figures).

    Returns
    -------
    ReportPaths
    """
    from .folder import replaced_folder

    with replaced_folder(out_dir, force=force) as tmp:
        paths = _write(result, tmp, panel=panel, validation=validation, provenance=provenance, title=title,
                       progress=progress)
    return paths.moved(Path(out_dir))


def _write(result: Any, root: Path, *, panel: Any, validation: Any, provenance: Iterable[Any] | None,
           title: str | None, progress: Callable[[str], None] | None) -> ReportPaths:
    w = _Writer(root, progress or (lambda _s: None))
    validation = validation if validation is not None else getattr(panel, "validation", None)
    provenance = list(provenance if provenance is not None else (getattr(panel, "provenance", None) or ()))
    provenance += getattr(result, "provenance", ())  # the battery's own steps: derived columns, TFP
    labels = {**ANALYSIS_LABELS, **dict(getattr(panel, "labels", {}) or {})}
    phases = result.results.get("phases")
    spans = [tuple(s) for s in (phases.extra.get("spans", []) if phases is not None else [])]
    title = title or f"clusterecon analysis — {getattr(panel.design, 'source', '') or 'survey'}"

    page = Page(title)
    s = result.structure
    years = list(s.get("years", []))
    page.para(md_escape(f"{s.get('firms')} firms, {s.get('firm_years')} firm-years, years "
                        f"{years[0] if years else '?'}–{years[-1] if years else '?'}; design: {s.get('design')}; "
                        f"{panel.design.explain_exit()}."))
    page.heading("Verdicts", 2)
    page.frame(pd.DataFrame([{"hypothesis": f"[{md_escape(r.title)}](#{_slug(k)})", "status": r.status,
                              "verdict": r.verdict} for k, r in result.results.items()]), markup=("hypothesis",))

    w.progress("report: phase diagnosis and descriptive tables")
    _phase_section(page, w, phases, spans, labels)
    _descriptive_section(page, w, panel, spans)
    for key, r in result.results.items():
        if key == "phases":
            continue
        w.progress(f"report: {r.title}")
        _hypothesis_section(page, w, key, r, panel, spans, labels)
    tex_doc = w.latex_document(title)
    if tex_doc is not None:
        page.para(f"All LaTeX tables in one document: [{w.rel(tex_doc)}]({w.rel(tex_doc)}) (run `pdflatex "
                  "tables.tex` in `tables/`; needs the LaTeX packages booktabs, array and threeparttable, and "
                  "graphicx for the tables scaled to the page width).")
    _appendix(page, validation, provenance)
    if w.problems:
        page.heading("Left out of this report", 2)
        page.bullets(md_escape(p) for p in w.problems)
    html_path, md_path = root / "report.html", root / "report.md"
    html_path.write_text(page.html(), encoding="utf-8")
    md_path.write_text(page.markdown(), encoding="utf-8")
    return ReportPaths(root, html_path, md_path, w.tables, w.figures, tuple(w.problems))


# ---------------------------------------------------------------------------------------------------- sections
def _phase_section(page: Page, w: _Writer, phases: Any, spans: list[tuple], labels: dict[str, str]) -> None:
    from .figures import plot_trajectories

    page.heading("Phase diagnosis", 2, anchor="phases")
    if phases is None:
        page.para("The phase diagnosis was not run.")
        return
    _verdict_block(page, phases)
    if spans:
        page.frame(pd.DataFrame(spans, columns=["phase", "first year", "last year"]))
    traj = phases.figures.get("trajectories")
    if traj is not None and len(traj):
        cols = [c for c in TRAJECTORY_SERIES if c in traj.columns and traj[c].notna().sum() > 1]
        paths, notes = w.figure("trajectories", lambda: plot_trajectories(
            traj, cols, phases=spans or None, labels=TRAJECTORY_SERIES, ncols=2))
        if paths:
            page.figure(w.rel(paths["png"]), w.rel(paths["pdf"]),
                        "Cluster trajectories; shaded: the dated phases." + _join(notes))
    _tests_block(page, phases)
    _own_tables(page, w, "phases", phases, skip=("trajectories",))
    if traj is not None and len(traj):  # the numbers behind the trajectory figure
        paths = w.frame("phases_trajectories", traj)
        page.para("Yearly cluster aggregates behind the figure: " + " · ".join(
            f"[{md_escape(t)}]({h})" for t, h in _links(w, paths)))
    _assumptions_block(page, phases)


def _descriptive_section(page: Page, w: _Writer, panel: Any, spans: list[tuple]) -> None:
    from .descriptive import summary_table

    frame = panel.frame
    variables = [c for c in SUMMARY_VARIABLES if c in frame.columns and frame[c].notna().any()]
    if "age" not in frame.columns and "founding_year" in frame.columns:
        variables = [v for v in variables if v != "age"]
    if not variables:
        return
    page.heading("Descriptive statistics", 2, anchor="descriptive")
    groups: list[tuple[str, dict[str, Any]]] = []
    if spans:
        groups.append(("phase", {"by": "phase", "phases": spans}))
    for g in SUMMARY_GROUPS:
        if g in frame.columns and frame[g].nunique(dropna=True) > 1:
            groups.append((g, {"by": g}))
    if not groups:
        groups.append(("all", {}))
    for name, kw in groups:
        caption = "Summary statistics" + (f" by {panel.label(name).lower()}" if name != "all" else "")
        try:
            t = summary_table(panel, variables, caption=caption, **kw)
        except Exception as e:  # noqa: BLE001
            w.problems.append(f"table 'summary by {name}' not built: {e}")
            continue
        paths = w.table(f"summary_by_{_slug(name)}", t, caption)
        page.heading(caption, 3)
        page.raw_table(t.to_html(), t.to_markdown(), _links(w, paths))


def _hypothesis_section(page: Page, w: _Writer, key: str, r: Any, panel: Any, spans: list[tuple],
                        labels: dict[str, str]) -> None:
    page.heading(r.title, 2, anchor=_slug(key))
    _verdict_block(page, r)
    if r.ran and r.models:
        _model_tables(page, w, key, r, labels)
        _coefficient_plot(page, w, key, r, labels)
    _tests_block(page, r)
    _hypothesis_figures(page, w, key, r, panel, spans)
    _own_tables(page, w, key, r)
    _assumptions_block(page, r)


def _verdict_block(page: Page, r: Any) -> None:
    page.para(f"**Question.** {md_escape(r.question)}")
    page.para(f"**Verdict ({md_escape(r.status)}).** {md_escape(r.verdict)}")


def _tests_block(page: Page, r: Any) -> None:
    if not r.tests:
        return
    rows = [{"test": name, "statistic": t.name, "value": f"{t.stat:.4g}", "df": _df_text(t.df),
             "p-value": p_digits(t.pvalue, 4), "null": getattr(t, "null", "")} for name, t in r.tests.items()]
    page.heading("Tests", 3)
    page.frame(pd.DataFrame(rows))


def _assumptions_block(page: Page, r: Any) -> None:
    if r.assumptions:
        page.heading("Assumptions", 3)
        page.bullets(md_escape(a) for a in r.assumptions)
    if r.limitations:
        page.heading("What the data could not support", 3)
        page.bullets(md_escape(x) for x in r.limitations)


def _model_groups(models: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Models that share a table: multi-equation models (multinomial logit, Heckman) get their own table with the
    equations as columns; the others are side by side."""
    from .tables import split_equations

    single: dict[str, Any] = {}
    groups: list[tuple[str, dict[str, Any]]] = []
    for name, m in models.items():
        multi = "multinomial" in str(getattr(m, "model", "")).lower() or "heckman" in str(
            getattr(m, "model", "")).lower()
        if multi:
            groups.append((name, split_equations(m)))
        else:
            single[name] = m
    return ([("models", single)] if single else []) + groups


def _model_tables(page: Page, w: _Writer, key: str, r: Any, labels: dict[str, str]) -> None:
    from .tables import regression_table

    page.heading("Models", 3)
    for gname, models in _model_groups(r.models):
        name = f"{key}_{_slug(gname)}"
        caption = f"{r.title}: {gname}" if gname != "models" else r.title
        names = list(models)
        years = ["Yes" if any(_matches(n, YEAR_DUMMIES) for n in getattr(m, "names", ())) else "No"
                 for m in models.values()]
        extra: dict[str, Any] = {"drop": list(YEAR_DUMMIES), "indicators": {"Year dummies": years}} \
            if "Yes" in years else {}
        rename = {a: b for a, b in SAME_TERM.items()
                  if not any({a, b} <= set(getattr(m, "names", ())) for m in models.values())}
        if rename:
            extra["rename"] = rename
        try:
            t = regression_table(models, labels=labels, caption=caption,
                                 model_names=[f"({i + 1})" for i in range(len(names))],
                                 notes=["Columns: " + "; ".join(f"({i + 1}) {n}" for i, n in enumerate(names)) + "."],
                                 **extra)
        except Exception as e:  # noqa: BLE001 - a table that cannot be laid out is listed, the report goes on
            w.problems.append(f"table {name!r} not built: {type(e).__name__}: {e}")
            continue
        paths = w.table(name, t, caption)
        page.raw_table(t.to_html(), t.to_markdown(), _links(w, paths))
        page.para("Observations used and left out:")
        page.bullets(md_escape(f"({i + 1}) {left_out_text(m)}") for i, m in enumerate(models.values()))


def left_out_text(result: Any) -> str:
    """``N = 345 used; left out: 12 missing log_sales, 3 missing age`` for an estimation result."""
    n = getattr(result, "nobs", None)
    used = f"N = {n:,} used" if isinstance(n, int) else f"N = {n} used"
    omitted = [o for o in getattr(result, "omitted", ()) or () if getattr(o, "n", 0)]
    if not omitted:
        return used + "; no rows left out"
    total = sum(o.n for o in omitted)
    return f"{used}; left out {total:,}: " + ", ".join(f"{o.n:,} {o.reason}" for o in omitted)


def _coefficient_plot(page: Page, w: _Writer, key: str, r: Any, labels: dict[str, str]) -> None:
    from .figures import plot_coefficients

    models = {n: m for g, ms in _model_groups(r.models) if g == "models" for n, m in ms.items()}
    if not models:
        return
    terms = sorted({n for m in models.values() for n in getattr(m, "names", ())
                    if not _matches(n, YEAR_DUMMIES) and n not in ("Intercept", "const", "_cons")})
    if not terms:
        return
    rename = {a: b for a, b in SAME_TERM.items()
              if not any({a, b} <= set(getattr(m, "names", ())) for m in models.values())}
    paths, notes = w.figure(f"{key}_coefficients",
                            lambda: plot_coefficients(models, labels=labels, terms=terms, rename=rename))
    if paths:
        page.figure(w.rel(paths["png"]), w.rel(paths["pdf"]),
                    "Estimates with 95% confidence intervals (constant omitted); one panel per outcome and estimand "
                    "(coefficients of a probit, average marginal effects and linear-model coefficients are on "
                    "separate axes)." + _join(notes))


def _hypothesis_figures(page: Page, w: _Writer, key: str, r: Any, panel: Any, spans: list[tuple]) -> None:
    from .figures import plot_entry_by_founder, plot_schooling_innovation, plot_survival

    figs: list[tuple[str, Callable[[], Any], str]] = []
    data = r.figures
    if "schooling_innovation" in data:
        d = data["schooling_innovation"]
        sch = next((c for c in d.columns if "schooling" in c), None)
        if sch is not None and spans:
            figs.append(("schooling_innovation", lambda: plot_schooling_innovation(
                d, schooling=sch, innovation="any_innovation", period="phase", phases=spans,
                labels={"any_innovation": "Any innovation", "phase": "Phase"}),
                "Share of firms innovating by the manager's years of schooling, one line per phase (95% CI)."))
        elif sch is not None:
            d2 = d.assign(period=d["late"].map({0.0: "earlier years", 1.0: "later years"}))
            figs.append(("schooling_innovation", lambda: plot_schooling_innovation(
                d2, schooling=sch, innovation="any_innovation", period="period",
                labels={"any_innovation": "Any innovation", "period": "Period"}),
                "Share of firms innovating by the manager's years of schooling, earlier and later years (95% CI)."))
    if "entry_by_founder" in data and "founding_year" in panel.firms.columns:
        figs.append(("entry_by_founder", lambda: plot_entry_by_founder(panel, phases=spans or None),
                     "Entrants per founding year by the founder's prior occupation; shaded: the dated phases."))
    if key == "exit":
        no_age = "founding_year" not in panel.firms.columns or panel.firms["founding_year"].notna().sum() == 0
        if panel.design.can_study_exit and no_age:  # survival is by firm age: said, not an error in the report
            page.para("No survival curves: the survey has no founding years, so firm age is unknown.")
        elif panel.design.can_study_exit:
            by = "is_spinoff" if "is_spinoff" in panel.frame.columns else None
            figs.append(("survival", lambda: plot_survival(panel, by=by),
                         "Kaplan–Meier survival by firm age (delayed entry at the first year observed)."))
        else:
            page.para(md_escape("No survival curves: " + panel.design.explain_exit() + "."))
    for name, draw, caption in figs:
        paths, notes = w.figure(name, draw)
        if paths:
            page.figure(w.rel(paths["png"]), w.rel(paths["pdf"]), caption + _join(notes))


def _own_tables(page: Page, w: _Writer, key: str, r: Any, skip: Iterable[str] = ()) -> None:
    items = [(n, df) for n, df in r.tables.items() if n not in set(skip) and isinstance(df, pd.DataFrame) and len(df)]
    if not items:
        return
    page.heading("Tables", 3)
    for n, df in items:
        paths = w.frame(f"{key}_{_slug(n)}", df)
        page.para(f"*{md_escape(n)}*")
        if len(df) > MAX_INLINE_ROWS:
            page.raw_table(f"<p>{len(df)} rows (see the files).</p>", f"{len(df)} rows (see the files).",
                           _links(w, paths))
        else:
            page.raw_table(_frame_html(df), _frame_markdown(df), _links(w, paths))


def _appendix(page: Page, validation: Any, provenance: list[Any]) -> None:
    page.heading("Validation report", 2, anchor="validation")
    if validation is None:
        page.para("No validation report (the panel was built in code, not loaded from a file).")
    else:
        page.pre(validation.to_text())
    page.heading("Provenance", 2, anchor="provenance")
    if not provenance:
        page.para("No provenance entries.")
        return
    rows = []
    for e in provenance:
        rows.append({"step": e.step, "action": e.action, "column": e.column or "", "rows affected": e.n_rows,
                     "first rows (original record numbers)": ", ".join(map(str, e.rows[:8]))
                     + (" …" if len(e.rows) > 8 else "")})
    page.frame(pd.DataFrame(rows))


# ---------------------------------------------------------------------------------------------------- helpers
#: Tables longer than this are linked, not printed in the page.
MAX_INLINE_ROWS = 25


def _matches(name: str, patterns: Iterable[str]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _df_text(df: Any) -> str:
    if isinstance(df, tuple):
        return "(" + ", ".join(f"{x:g}" for x in df) + ")"
    return f"{df:g}" if isinstance(df, (int, float)) else str(df)


def _join(notes: list[str]) -> str:
    return (" " + "; ".join(n[:1].upper() + n[1:] for n in notes) + ".") if notes else ""


def _links(w: _Writer, paths: Mapping[str, Path]) -> list[tuple[str, str]]:
    names = {"tex": "LaTeX (table float)", "tabular": "LaTeX (tabular for \\input)", "md": "Markdown",
             "html": "HTML", "csv": "CSV"}
    return [(names.get(k, k), w.rel(p)) for k, p in paths.items()]


def _display(df: pd.DataFrame) -> pd.DataFrame:
    """Floats to 4 decimals; p-value columns by the verdicts' rule (p_digits): 1e-32 is "< 0.0001", not "0.0", and
    0.049996 is not shown as 0.05 beside "supported"."""
    out = df.copy()
    for c in out.columns:
        if str(c).lower() in ("p", "p-value", "pvalue", "p value") and pd.api.types.is_float_dtype(out[c]):
            out[c] = [p_digits(p, 4) for p in out[c]]
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(4)
    return out


def _frame_markdown(df: pd.DataFrame) -> str:
    from .html import md_table

    return md_table(_display(df).reset_index())


def _frame_html(df: pd.DataFrame, *, standalone: bool = False, title: str = "") -> str:
    from .html import frame_html

    return frame_html(_display(df), standalone=standalone, title=title)
