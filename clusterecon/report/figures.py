"""Figures for papers and talks, in one seaborn/matplotlib theme, saved as PNG and PDF.

* :func:`plot_trajectories` — yearly cluster aggregates (firms, output, price, TFP, innovation share) as small
  multiples with the dated phases (initiation, quantity expansion, quality improvement) shaded;
* :func:`plot_coefficients` — coefficients with confidence intervals across models;
* :func:`plot_schooling_innovation` — innovation by the manager's schooling, one line per period/phase;
* :func:`plot_entry_by_founder` — entrants per founding year by the founder's prior occupation;
* :func:`plot_survival` — Kaplan–Meier survival by group (statsmodels ``SurvfuncRight``) with left truncation,
  refused when the survey design cannot observe exits (one recall interview holds survivors only).

Rows a figure cannot show (a missing founding year, schooling, ...) are counted in a :class:`LeftOutWarning`.
Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global figure state, nothing
left open in loops); :func:`save_figure` writes it. Sizes are fixed (constrained layout, no tight bounding box) so
that a figure is exactly ``figsize × dpi`` pixels and ``figsize × 72`` points.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Default trajectory panels and their titles.
TRAJECTORY_TITLES = {"firms": "Number of firms", "output": "Output", "price": "Price", "tfp": "TFP",
                     "innovation_share": "Innovation share"}
PHASE_COLORS = ("#e8eef7", "#f7efe1", "#e6f2e6", "#f3e6f0", "#eeeeee")
FIGSIZE = (6.4, 4.0)


@contextmanager
def figure_theme() -> Iterator[None]:
    """The clusterecon look (seaborn ``ticks`` + ``paper`` context, colour-blind palette), scoped to the block."""
    import matplotlib as mpl
    import seaborn as sns
    from cycler import cycler

    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("ticks"))
    rc.update(sns.plotting_context("paper", font_scale=1.1))
    rc.update({
        "axes.prop_cycle": cycler(color=sns.color_palette("colorblind")),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "grid.color": "#dddddd",
        "grid.linewidth": 0.6,
        "legend.frameon": False,
        "pdf.fonttype": 42,  # TrueType in PDFs: editable text, accepted by journals
        "svg.fonttype": "none",
        "font.family": "sans-serif",
        # labels are user text (variable labels, group names): a '$' must not start matplotlib mathtext, which
        # fails on unbalanced or unknown TeX and would lose the figure
        "text.parse_math": False,
    })
    with mpl.rc_context(rc):
        yield


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = FIGSIZE, **kw: Any) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def save_figure(fig: Any, path_stem: str | Path, formats: Sequence[str] = ("png", "pdf"), *, dpi: int = 200,
                ) -> dict[str, Path]:
    """Write ``path_stem.png`` / ``.pdf`` (any matplotlib format); returns ``{format: path}``."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, format=fmt, dpi=dpi, metadata={"Creator": "clusterecon"} if fmt == "pdf" else None)
        out[fmt] = path
    return out


def shade_phases(ax: Any, phases: Sequence[tuple[str, float, float]], *, label: bool = True) -> None:
    """Shade each ``(name, first year, last year)`` span (whole years: first − 0.5 to last + 0.5) and name it."""
    from matplotlib.transforms import blended_transform_factory

    from .descriptive import phase_label

    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for i, (name, start, end) in enumerate(phases):
        ax.axvspan(start - 0.5, end + 0.5, color=PHASE_COLORS[i % len(PHASE_COLORS)], zorder=0, lw=0)
        if label:
            ax.text((start + end) / 2, 1.0, phase_label(name), transform=trans, ha="center", va="bottom",
                    fontsize="small", color="#444444", clip_on=False)


def _yearly(df: pd.DataFrame, year: str) -> pd.DataFrame:
    if year in df.columns:
        df = df.set_index(year)
    return df.sort_index()


def plot_trajectories(yearly: pd.DataFrame, columns: Sequence[str] | None = None, *,
                      phases: Sequence[tuple[str, float, float]] | None = None,
                      labels: Mapping[str, str] | None = None, year: str = "year", ncols: int = 2,
                      figsize: tuple[float, float] | None = None) -> Any:
    """Cluster trajectories: one panel per yearly aggregate, the dated phases shaded in every panel.

    ``yearly``: one row per year (a ``year`` column or the index); ``columns`` default to those of ``firms,
    output, price, tfp, innovation_share`` present (else every numeric column). Missing years break the line.
    """
    df = _yearly(yearly, year)
    if columns is None:
        columns = [c for c in TRAJECTORY_TITLES if c in df.columns] or list(df.select_dtypes("number").columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"columns {missing} not in the yearly aggregates; available: {list(df.columns)}")
    titles = {**TRAJECTORY_TITLES, **(labels or {})}
    n = len(columns)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    with figure_theme():
        fig, axes = new_figure(nrows, ncols, figsize or (3.2 * ncols, 2.4 * nrows + 0.3), sharex=True)
        full = pd.RangeIndex(int(df.index.min()), int(df.index.max()) + 1)
        for k, ax in enumerate(axes.flat):
            if k >= n:
                ax.set_visible(False)
                continue
            col = columns[k]
            s = pd.to_numeric(df[col], errors="coerce").reindex(full)
            if phases:
                shade_phases(ax, phases, label=False)
            ax.plot(s.index, s.to_numpy(dtype=float), marker="o", ms=3, lw=1.5, color="C0")
            ax.set_title(titles.get(col, col), loc="left", fontsize="medium")
            ax.set_xlim(full.min() - 0.5, full.max() + 0.5)
            ax.xaxis.get_major_locator().set_params(integer=True)
            if k + ncols >= n:  # bottom panel of its column: show the years even above an empty cell
                ax.xaxis.set_tick_params(labelbottom=True)
        if phases:
            # One legend for the figure: phase names written inside narrow panels would overlap.
            from matplotlib.patches import Patch

            from .descriptive import phase_label

            handles = [Patch(color=PHASE_COLORS[i % len(PHASE_COLORS)], label=f"{phase_label(name)} ({start}–{end})")
                       for i, (name, start, end) in enumerate(phases)]
            spare = axes.flat[-1] if n < axes.size else None
            if spare is not None:  # an empty grid cell holds the legend
                spare.set_visible(True)
                spare.axis("off")
                spare.legend(handles=handles, loc="center", title="Phase", fontsize="small")
            else:
                fig.legend(handles=handles, loc="outside lower center", ncols=min(len(phases), ncols),
                           fontsize="small")
    return fig


def estimand(result: Any) -> str:
    """What a result's numbers are, for choosing an axis: ``"Average marginal effect"`` (margins), the model's
    index coefficient (``"Probit coefficient (index)"``, ``"Logit coefficient (log-odds)"``, ...) or
    ``"Coefficient"`` (linear models). Numbers of different estimands never share an axis."""
    est = str(getattr(result, "estimator", "")).lower()
    model = str(getattr(result, "model", "")).lower()
    if est.startswith("margins") or "marginal effect" in model:
        return "Average marginal effect" if "average" in model or est.startswith("margins") else "Marginal effect"
    for key, text in (("probit", "Probit coefficient (index)"), ("logit", "Logit coefficient (log-odds)"),
                      ("tobit", "Tobit coefficient (latent)"), ("cox", "Cox coefficient (log hazard)"),
                      ("hazard", "Hazard coefficient"), ("heckman", "Heckman coefficient"),
                      ("poisson", "Poisson coefficient (log)")):
        if key in model or key in est:
            return text
    return "Coefficient"


def plot_coefficients(results: Any, *, terms: Sequence[str] | None = None, model_names: Sequence[str] | None = None,
                      labels: Mapping[str, str] | None = None, rename: Mapping[str, str] | None = None,
                      level: float = 0.95, drop_intercept: bool = True,
                      figsize: tuple[float, float] | None = None) -> Any:
    """Coefficient plot: point estimates with ``level`` confidence intervals, models dodged within each term.

    One panel per estimand and dependent variable (:func:`estimand`): probit coefficients, average marginal
    effects, linear-model coefficients and effects on another outcome are never put on one axis. ``results`` as in
    :func:`~clusterecon.report.tables.regression_table` (a sequence or a mapping name → result); ``terms`` selects
    and orders terms (names or patterns); ``labels``/``rename`` as in tables (terms renamed to one name share a
    row). The legend sits below each panel, never over an interval.
    """
    from .tables import INTERCEPT, result_blocks, term_label, term_rows

    models = result_blocks(results, None)[""]
    names = list(model_names or (list(results) if isinstance(results, Mapping) else
                                 [f"({i + 1})" for i in range(len(models))]))
    lab = dict(labels or {})
    ren = dict(rename or {})
    facets: dict[tuple[str, str], list[int]] = {}
    for j, res in enumerate(models):
        if res is not None:
            dv = term_label(res.depvar, {}, lab, {}) if getattr(res, "depvar", None) else ""
            facets.setdefault((dv, estimand(res)), []).append(j)
    panels = []
    for (dv, what), idx in facets.items():
        sub = [models[j] for j in idx]
        rows = term_rows(sub, ren, terms, terms, [INTERCEPT] if drop_intercept and terms is None else None)
        if rows:
            panels.append((dv, what, idx, rows))
    if not panels:
        raise ValueError("no coefficients to plot (check terms=)")
    heights = [0.6 + 0.42 * len(rows) * max(1.0, len(idx) / 2) + (0.35 if len(idx) > 1 else 0)
               for _, _, idx, rows in panels]
    with figure_theme():
        fig, axes = new_figure(nrows=len(panels), figsize=figsize or (FIGSIZE[0], 0.5 + sum(heights) + 0.35 *
                                                                   len(panels)),
                            gridspec_kw={"height_ratios": heights})
        for ax, (dv, what, idx, rows) in zip(axes[:, 0], panels):
            m, k = len(idx), len(rows)
            for pos, j in enumerate(idx):
                res = models[j]
                ci = res.conf_int(level)
                ys, xs, lo, hi = [], [], [], []
                for i, (_, raw) in enumerate(rows):
                    t = raw.get(pos)
                    if t is None:
                        continue
                    present = [q for q in range(m) if q in raw]  # dodge among the models that have this term
                    off = (present.index(pos) - (len(present) - 1) / 2) * (0.6 / max(len(present), 1))
                    ys.append(i + off)
                    xs.append(float(res.params[t]))
                    lo.append(float(ci.loc[t, "lower"]))
                    hi.append(float(ci.loc[t, "upper"]))
                xs_a = np.asarray(xs)
                ax.errorbar(xs_a, ys, xerr=[xs_a - np.asarray(lo), np.asarray(hi) - xs_a], fmt="o", ms=4,
                            capsize=2, lw=1.2, color=f"C{j}", label=names[j])
            ax.axvline(0, color="#666666", lw=0.8, ls="--", zorder=0)
            ax.set_yticks(range(k), [term_label(key, raw, lab, ren) for key, raw in rows])
            ax.set_ylim(k - 0.5, -0.5)
            ax.grid(axis="y", visible=False)
            ax.grid(axis="x", visible=True)
            title = f"{dv}: {what.lower()}" if dv else what
            ax.set_title(title + (f" ({names[idx[0]]})" if m == 1 else ""), loc="left", fontsize="medium")
            ax.set_xlabel(f"{what} with {level:.0%} confidence interval", fontsize="small")
            if m > 1:
                ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32 - 0.05 * (k < 3)), ncols=min(m, 3),
                          fontsize="small", frameon=False)
    return fig


class LeftOutWarning(UserWarning):
    """Rows a figure could not show (missing values); the message says how many and why."""


def _left_out(n: int, what: str) -> None:
    if n:
        warnings.warn(f"{n} {what} are not shown", LeftOutWarning, stacklevel=3)


def _frame(data: Any) -> pd.DataFrame:
    df = data.frame if hasattr(data, "frame") and hasattr(data, "design") else data
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a SurveyPanel or DataFrame, got {type(data).__name__}")
    return df.reset_index() if any(n is not None for n in df.index.names) else df


def plot_schooling_innovation(data: Any, *, schooling: str = "manager_schooling_years",
                              innovation: str = "own_brand", period: str = "phase",
                              phases: Sequence[tuple[str, int, int]] | None = None,
                              labels: Mapping[str, str] | None = None,
                              figsize: tuple[float, float] = FIGSIZE) -> Any:
    """Mean innovation (e.g. share with an own brand) by years of schooling, one line per period, with 95% CIs.

    ``period="phase"`` uses ``phases=[(name, first year, last year), ...]``; any other column (e.g. ``"year"``)
    groups directly. Rows with a missing schooling, innovation or period are left out.
    """
    import seaborn as sns

    from .descriptive import assign_phases

    df = _frame(data)
    if period == "phase":
        if not phases:
            raise ValueError("period='phase' needs phases=[(name, first year, last year), ...]")
        df = df.assign(phase=assign_phases(df["year"], phases))
    for c in (schooling, innovation, period):
        if c not in df.columns:
            raise KeyError(f"column {c!r} not in the data")
    d = df[[schooling, innovation, period]].dropna()
    _left_out(len(df) - len(d), f"observations with a missing {schooling}, {innovation} or {period}")
    d = d.assign(**{innovation: d[innovation].astype(float), schooling: d[schooling].astype(float)})
    lab = {**(getattr(data, "labels", None) or {}), **(labels or {})}
    with figure_theme():
        fig, axes = new_figure(figsize=figsize)
        ax = axes[0, 0]
        sns.lineplot(data=d, x=schooling, y=innovation, hue=period, marker="o", errorbar=("ci", 95),
                     n_boot=200, seed=0, ax=ax, palette="colorblind", err_style="band")
        ax.set_xlabel(lab.get(schooling, schooling))
        ax.set_ylabel(lab.get(innovation, innovation) + " (share)")
        ax.legend(title=lab.get(period, period.capitalize()))
    return fig


def plot_entry_by_founder(data: Any, *, founding: str = "founding_year", by: str = "founder_prior_occupation",
                          phases: Sequence[tuple[str, int, int]] | None = None,
                          labels: Mapping[str, str] | None = None, figsize: tuple[float, float] = FIGSIZE) -> Any:
    """Entrants per founding year, stacked by founder type (one firm counted once), phases shaded."""
    if hasattr(data, "firms") and hasattr(data, "design"):
        firms = data.firms.reset_index()
    else:
        firms = _frame(data)
        if "firm_id" in firms.columns:
            firms = firms.drop_duplicates("firm_id")
    for c in (founding, by):
        if c not in firms.columns:
            raise KeyError(f"column {c!r} not in the data")
    known = firms[founding].notna()
    _left_out(int((~known).sum()), f"firms without {founding}")
    firms = firms[known]
    counts = pd.crosstab(firms[founding].astype("Int64"), firms[by].astype("object").fillna("unknown"))
    counts = counts.reindex(range(int(counts.index.min()), int(counts.index.max()) + 1), fill_value=0)
    lab = {**(getattr(data, "labels", None) or {}), **(labels or {})}
    with figure_theme():
        fig, axes = new_figure(figsize=figsize)
        ax = axes[0, 0]
        if phases:
            shade_phases(ax, phases)
        bottom = np.zeros(len(counts))
        for j, col in enumerate(counts.columns):
            ax.bar(counts.index, counts[col], bottom=bottom, width=0.8, color=f"C{j}", label=str(col))
            bottom += counts[col].to_numpy()
        ax.set_xlabel(lab.get(founding, founding))
        ax.set_ylabel("Entrants (firms)")
        ax.legend(title=lab.get(by, by), fontsize="small", ncols=2)
    return fig


def survival_frame(data: Any, *, founding: str = "founding_year", exit_year: str = "exit_year",
                   by: str | None = None) -> pd.DataFrame:
    """Firm-level durations for survival analysis from a firm-year panel.

    ``age_out`` = (exit year, or the last year observed) − founding year + 1 (years survived, counting the year
    of founding); ``age_in`` = first year observed − founding year (delayed entry: a firm founded before the
    panel starts is at risk only from its first observation, which corrects the left truncation); ``exited``.
    A :class:`~clusterecon.panel.SurveyPanel` whose design cannot observe exits is refused with the reason.
    """
    design = getattr(data, "design", None)
    if design is not None and not design.can_study_exit:
        raise ValueError(f"survival curves need observable exits: {design.explain_exit()}")
    df = _frame(data)
    for c in ("firm_id", "year", founding):
        if c not in df.columns:
            raise KeyError(f"column {c!r} not in the data; survival needs firm_id, year and {founding}")
    g = df.groupby("firm_id", sort=True)
    out = pd.DataFrame({"founded": g[founding].first(), "first": g["year"].min(), "last": g["year"].max()})
    known = out["founded"].notna()
    _left_out(int((~known).sum()), f"firms without {founding}")
    ex = g[exit_year].first() if exit_year in df.columns else pd.Series(pd.NA, index=out.index)
    out["exited"] = ex.notna().to_numpy()
    end = ex.astype("Float64").fillna(out["last"].astype("Float64")).astype(float)
    out["age_out"] = end - out["founded"] + 1
    out["age_in"] = np.maximum(out["first"] - out["founded"], 0)
    if by is not None:
        out[by] = g[by].first()
    out = out[known.to_numpy()].astype({"age_out": float, "age_in": float})
    bad = out["age_out"] <= out["age_in"]
    if bad.any():
        raise ValueError(f"{int(bad.sum())} firms exit before they are first observed, e.g. "
                         f"{list(out.index[bad][:5])}; check exit_year and year")
    return out


def plot_survival(data: Any, *, by: str | None = "is_spinoff", founding: str = "founding_year",
                  exit_year: str = "exit_year", labels: Mapping[str, str] | None = None, ci: bool = True,
                  figsize: tuple[float, float] = FIGSIZE) -> Any:
    """Kaplan–Meier survival by firm age, one curve per group of ``by`` (``None`` for one curve).

    Durations and delayed entry from :func:`survival_frame`; the estimator and Greenwood standard errors are
    statsmodels' ``SurvfuncRight`` (bands: ±1.96 SE, pointwise).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    from .descriptive import group_name

    if by is not None and by not in _frame(data).columns:
        by = None
    sv = survival_frame(data, founding=founding, exit_year=exit_year, by=by)
    groups = [(None, sv)] if by is None else [(k, d) for k, d in sv.groupby(by, sort=True)]
    lab = {**(getattr(data, "labels", None) or {}), **(labels or {})}
    with figure_theme():
        fig, axes = new_figure(figsize=figsize)
        ax = axes[0, 0]
        for j, (key, d) in enumerate(groups):
            sf = SurvfuncRight(d["age_out"].to_numpy(float), d["exited"].to_numpy(int),
                               entry=d["age_in"].to_numpy(float))
            t = np.r_[0.0, sf.surv_times]
            s = np.r_[1.0, sf.surv_prob]
            name = "All firms" if key is None else group_name(key, by or "")
            ax.step(t, s, where="post", color=f"C{j}", lw=1.5, label=f"{name} (n={len(d)})")
            if ci and len(sf.surv_times):
                se = np.r_[0.0, sf.surv_prob_se]
                ax.fill_between(t, np.clip(s - 1.96 * se, 0, 1), np.clip(s + 1.96 * se, 0, 1), step="post",
                                color=f"C{j}", alpha=0.15, lw=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel("Firm age (years)")
        ax.set_ylabel("Share surviving")
        ax.legend(title=lab.get(by, by) if by else None)
    return fig

