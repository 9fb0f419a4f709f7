"""The ``clusterecon evaluate`` report folder: balance, attrition, ITT/TOT across outcomes with q-values,
spillovers, Lee bounds and the event-study figure, as one HTML/Markdown page plus table and figure files.

::

    DIR/report.html, DIR/report.md
    DIR/tables/balance.{tex,md,html,csv}, itt_ancova.*, itt_did.*, tot.*, spillovers.*   (regression tables)
    DIR/tables/itt_summary.{csv,md,html}, tot_summary.*, attrition.*, selective_attrition.*, lee_bounds.*,
               event_study.*                                                              (plain tables)
    DIR/figures/event_study.{png,pdf}, itt_coefficients.{png,pdf}

Tables are written by the shared writers of :mod:`clusterecon.report` (``regression_table``, ``balance_table``,
the page builder and the figure theme); every user string (title, labels, outcome names, file names) is escaped
for HTML, Markdown and LaTeX by them or here, control characters and bidi overrides included (shown as escapes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..report.analyse_report import ReportPaths, _frame_html, _frame_markdown, _links, _Writer
from ..report.html import Page
from ..report.render import html_escape, md_escape


def _text(page: Page, text: str) -> None:
    """A paragraph of plain (user) text: escaped in both formats, no Markdown interpretation."""
    page.blocks.append((f"<p>{html_escape(text)}</p>", md_escape(text)))


def _frame(page: Page, w: _Writer, name: str, df: pd.DataFrame, caption: str) -> None:
    paths = w.frame(name, df)
    page.heading(caption, 3)
    page.raw_table(_frame_html(df), _frame_markdown(df), _links(w, paths))


def write_evaluation_report(res: Any, out_dir: str | Path, *, progress: Callable[[str], None] | None = None,
                            force: bool = False) -> ReportPaths:
    """Write the report folder for an :class:`~clusterecon.evaluation.run.EvaluationResult`.

    Like ``analyse``, the folder is written whole into a fresh temporary folder and swapped in at the end
    (:func:`clusterecon.report.folder.replaced_folder`): an earlier report leaves no stale file, a folder clusterecon
    did not write is refused unless ``force``, and one holding the design file or the survey is always refused."""
    from ..report.folder import replaced_folder

    spec = res.spec
    inputs = (getattr(spec, "path", None), getattr(spec, "data_file", None), getattr(spec, "mapping", None))
    with replaced_folder(out_dir, force=force, inputs=inputs) as tmp:
        paths = _write_evaluation(res, tmp, progress)
    return paths.moved(Path(out_dir))


def _write_evaluation(res: Any, out_dir: Path, progress: Callable[[str], None] | None) -> ReportPaths:
    from ..report.descriptive import balance_table
    from ..report.tables import regression_table

    root = Path(out_dir)
    w = _Writer(root, progress or (lambda _s: None))
    spec, design = res.spec, res.spec.design
    labels = {**dict(getattr(res.panel, "labels", {}) or {}), **spec.labels}
    T = design.treatment
    page = Page(spec.title)
    frame = res.frame
    firms = frame.index.get_level_values(0).nunique()
    _text(page, f"Data: {spec.data_file.name}" + (f" (mapping {spec.mapping.name})" if spec.mapping else "")
          + f"; {firms} firms, {len(frame)} firm-rounds; baseline round(s) "
          f"{', '.join(map(str, res.spec.design.with_rounds(frame).baseline))}, follow-up round(s) "
          f"{', '.join(map(str, res.spec.design.with_rounds(frame).follow_up))}.")
    _text(page, f"Design: treatment {T} randomised at the {design.assignment} level"
          + (f" within strata {design.strata}" if design.strata else "") + "; standard errors clustered by the "
          "randomisation unit (HC1 for a single follow-up of a firm-level trial); with fewer than 30 clusters the "
          "wild cluster bootstrap (WCR; Rademacher weights, Webb below 12 clusters) gives the p-values and "
          "intervals used for inference and for the multiple-testing corrections.")
    if res.validation is not None:
        _text(page, "Validation: " + res.validation.summary_line())

    # ---------------------------------------------------------------- balance
    base_rows = frame[pd.Series(_rounds(frame, design.round_column)).isin(
        design.with_rounds(frame).baseline).to_numpy()]
    bal_vars = [o for o in res.outcomes if o in base_rows.columns and base_rows[o].notna().any()]
    if bal_vars:
        w.progress("report: balance")
        try:
            cap = "Baseline balance"
            bt = balance_table(base_rows, bal_vars, treatment=T, strata=design.strata, labels=labels,
                               cluster=design.cluster if design.assignment == "cluster" else None, caption=cap)
            paths = w.table("balance", bt, cap)
            page.heading("Baseline balance", 2, anchor="balance")
            page.raw_table(bt.to_html(), bt.to_markdown(), _links(w, paths))
        except Exception as e:  # noqa: BLE001
            w.problems.append(f"balance table not built: {type(e).__name__}: {e}")

    # ---------------------------------------------------------------- attrition
    if res.attrition is not None:
        page.heading("Attrition", 2, anchor="attrition")
        tab, sel = res.attrition
        _frame(page, w, "attrition", tab, "Attrition by follow-up round (difference from OLS with strata dummies)")
        if len(sel):
            _frame(page, w, "selective_attrition", sel, "Do attriters differ at baseline? (F: attrited and "
                   "treatment x attrited; the interaction tests differential selection)")
    if res.lee:
        rows = []
        for plain, tight in res.lee.values():
            rows.append(plain.as_row())
            if tight is not None:
                rows.append(tight.as_row())
        _frame(page, w, "lee_bounds", pd.DataFrame(rows).set_index("outcome"),
               "Lee (2009) bounds on the ITT for the always-observed (Imbens-Manski 95% CI; bootstrap over "
               "randomisation units)")

    # ---------------------------------------------------------------- ITT
    page.heading("Intention-to-treat effects", 2, anchor="itt")
    if len(res.summary):
        _frame(page, w, "itt_summary", res.summary, "ITT across outcomes: p-values, sharpened q-values "
               "(Anderson 2008) and Romano-Wolf p-values (family = primary outcomes)")
    for key, title in (("itt", "ITT (ANCOVA, baseline outcome and strata dummies)"),
                       ("did", "ITT (difference-in-differences with firm and round effects)"),
                       ("post", "ITT (follow-up comparison, strata dummies)")):
        models = getattr(res, key)
        if not models:
            continue
        term = f"{T}_post" if key == "did" else T
        _reg_table(page, w, f"itt_{'ancova' if key == 'itt' else key}", models, term, title, labels,
                   regression_table)
    if res.itt:
        _coef_plot(page, w, res.itt, T, labels)

    if res.tot:
        page.heading("Treatment on the treated (2SLS)", 2, anchor="tot")
        if len(res.tot_summary):
            _frame(page, w, "tot_summary", res.tot_summary, "TOT of attending training: first-stage F and "
                   "Anderson-Rubin 95% confidence sets (robust to weak instruments)")
        _reg_table(page, w, "tot", res.tot, design.takeup, "TOT (2SLS, attendance instrumented by the offer)",
                   labels, regression_table)

    if res.spillovers:
        page.heading("Spillovers (partial-population design)", 2, anchor="spillovers")
        _reg_table(page, w, "spillovers", res.spillovers, None, "ITT on offered firms and spillover on untreated "
                   "firms in treated clusters (relative to pure-control clusters)", labels, regression_table,
                   keep=[T, "untreated_in_treated_cluster"])
    if res.spillover_exposure:
        if not res.spillovers:
            page.heading("Spillovers (partial-population design)", 2, anchor="spillovers")
        x = res.spec.design.exposure
        _reg_table(page, w, "spillover_exposure", res.spillover_exposure, None, f"Spillover per unit of exposure "
                   f"({labels.get(x, x)}), controlling for the firm's own offer", labels, regression_table,
                   keep=[T, x])

    if res.randomization:
        rows = [{"outcome": o, "statistic": r.statistic, "observed": r.observed, "p (randomisation)": r.pvalue,
                 "re-randomisations": r.R, "unit": r.unit} for o, r in res.randomization.items()]
        _frame(page, w, "randomization_inference", pd.DataFrame(rows).set_index("outcome"),
               "Randomisation inference (re-randomising the offer within strata)")

    if res.staggered:
        _event_study(page, w, res.staggered, labels)

    if res.notes:
        page.heading("Derived variables", 2)
        for n in res.notes:
            _text(page, n)
    if res.problems or w.problems or res.not_run:
        page.heading("Left out of this report", 2)
        for pr in (*res.not_run, *res.problems, *w.problems):
            _text(page, pr)
    if res.validation is not None:
        page.heading("Validation report", 2, anchor="validation")
        page.pre(res.validation.to_text())
    html_path, md_path = root / "report.html", root / "report.md"
    html_path.write_text(page.html(), encoding="utf-8")
    md_path.write_text(page.markdown(), encoding="utf-8")
    return ReportPaths(root, html_path, md_path, w.tables, w.figures, tuple([*res.problems, *w.problems]))


def _rounds(frame: pd.DataFrame, column: str) -> np.ndarray:
    from .design import round_values

    return round_values(frame, column)


def _reg_table(page: Page, w: _Writer, name: str, models: dict[str, Any], term: str | None, title: str,
               labels: dict[str, str], regression_table: Callable, keep: list[str] | None = None) -> None:
    keep = keep or ([term] if term else None)
    wild = ["Yes" if m.extra.get("wild") is not None else "No" for m in models.values()]
    wp = [f"{m.extra['wild'].pvalue:.3f}" if m.extra.get("wild") is not None else "" for m in models.values()]
    ind = {"Wild bootstrap p": wp} if "Yes" in wild else {}
    try:
        t = regression_table({labels.get(o, o): m for o, m in models.items()}, keep=keep, labels=labels,
                             caption=title, indicators=ind or None, depvar=False)
    except Exception as e:  # noqa: BLE001 - listed, the report goes on
        w.problems.append(f"table {name!r} not built: {type(e).__name__}: {e}")
        return
    paths = w.table(name, t, title)
    page.heading(title, 3)
    page.raw_table(t.to_html(), t.to_markdown(), _links(w, paths))


def _coef_plot(page: Page, w: _Writer, models: dict[str, Any], term: str, labels: dict[str, str]) -> None:
    from ..report.figures import figure_theme, new_figure

    def draw():
        names = list(models)
        est = np.array([m.params[term] for m in models.values()])
        lo, hi = [], []
        for m in models.values():
            wb = m.extra.get("wild")
            ci = wb.conf_int if wb is not None else tuple(m.conf_int().loc[term])
            lo.append(ci[0])
            hi.append(ci[1])
        with figure_theme():
            fig, axes = new_figure(figsize=(6.0, 0.8 + 0.45 * len(names)))
            ax = axes[0, 0]
            y = np.arange(len(names))[::-1]
            ax.errorbar(est, y, xerr=[est - np.array(lo), np.array(hi) - est], fmt="o", capsize=3)
            ax.axvline(0, color="grey", lw=0.8)
            ax.set_yticks(y, [labels.get(n, n) for n in names])
            ax.set_xlabel("ITT with 95% confidence interval")
        return fig

    paths, notes = w.figure("itt_coefficients", draw)
    if paths:
        page.figure(w.rel(paths["png"]), w.rel(paths["pdf"]), "ITT on each outcome with 95% intervals (wild "
                    "bootstrap intervals where clusters < 30).")


def _event_study(page: Page, w: _Writer, st: dict[str, Any], labels: dict[str, str]) -> None:
    from ..report.figures import figure_theme, new_figure

    page.heading("Staggered roll-out: event study", 2, anchor="event-study")
    o = st.get("outcome", "")
    rows = []
    dyn, sa = st.get("dynamic"), st.get("sa")
    if dyn is not None:
        for nm in dyn.names:
            if nm.startswith("e="):
                rows.append({"event time": int(nm[2:]), "estimator": "Callaway-Sant'Anna", "estimate":
                             float(dyn.params[nm]), "s.e.": float(dyn.std_errors[nm])})
    if sa is not None:
        for nm in sa.event.names:
            if nm.startswith("e="):
                rows.append({"event time": int(float(nm[2:])), "estimator": "Sun-Abraham",
                             "estimate": float(sa.event.params[nm]), "s.e.": float(sa.event.std_errors[nm])})
    if not rows:
        return
    df = pd.DataFrame(rows).sort_values(["estimator", "event time"]).set_index("event time")
    _frame(page, w, "event_study", df, f"Event-study estimates for {labels.get(o, o)} (relative to the period "
           "before treatment)")
    if dyn is not None and "ATT" in dyn.names:
        _text(page, f"Callaway-Sant'Anna overall ATT (average over event times >= 0): {dyn.params['ATT']:.4f} "
              f"(s.e. {dyn.std_errors['ATT']:.4f})." + (f" Simultaneous 95% band critical value "
                                                        f"{st['band']:.3f}." if st.get("band") else ""))

    def draw():
        with figure_theme():
            fig, axes = new_figure(figsize=(6.5, 3.8))
            ax = axes[0, 0]
            for k, (est, part) in enumerate(df.groupby("estimator", sort=True)):
                x = part.index.to_numpy() + (k - 0.5) * 0.15
                ax.errorbar(x, part["estimate"], yerr=1.96 * part["s.e."], fmt="o", capsize=3, label=est)
            ax.axhline(0, color="grey", lw=0.8)
            ax.axvline(-0.5, color="grey", lw=0.8, ls="--")
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("years since training (period before training = reference)")
            ax.set_ylabel(labels.get(o, o))
            ax.legend(frameon=False, fontsize="small")
        return fig

    paths, notes = w.figure("event_study", draw)
    if paths:
        page.figure(w.rel(paths["png"]), w.rel(paths["pdf"]), "Event study: effects by years since training with "
                    "pointwise 95% intervals (Callaway-Sant'Anna and Sun-Abraham).")
