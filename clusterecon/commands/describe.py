"""``clusterecon describe [FILE]``: the panel's structure and summary statistics (the bundled sample by default).

Prints firms, firm-years, years, observations per firm, balance, gaps, the survey design (and whether exits can be
studied), missingness by column, summary statistics by year, and firm characteristics and performance by prior
occupation of the founder (``--by`` another column).
"""

from __future__ import annotations

import argparse

from .validate import add_load_arguments, sheet_arg

SUMMARY_COLUMNS = ("sales", "value_added", "employees", "capital", "va_per_worker", "wage_bill")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .analyse import add_sample_argument

    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="survey file (default: the bundled sample chosen by --sample, as 'analyse')")
    add_load_arguments(parser)
    add_sample_argument(parser)
    parser.add_argument("--by", default=None, metavar="COL",
                        help="firm-level column to group the firm table by (default founder_prior_occupation, left "
                             "out when the survey lacks it)")


def run(args: argparse.Namespace) -> int:
    from ..load import load_survey
    from .analyse import input_source

    path, mapping, sim = input_source(args)  # the same default sample as 'analyse'
    title = None
    if args.file is None and args.mapping is None:
        title = "bundled sample survey" if sim is None else sim.design.source
    res = load_survey(path, mapping, sheet=sheet_arg(args.sheet), encoding=args.encoding,
                      allow_outside_paths=args.allow_outside_paths)
    if res.panel is None:
        print(res.report.to_text())
        print("\nthe panel cannot be built until the errors above are fixed (clusterecon validate shows them too)")
        from .validate import mapping_hint

        hint = mapping_hint(args, res.report)
        if hint:
            print(hint)
        return 1
    panel = res.panel
    if sim is not None:  # the simulated sample's design (annual rounds, exits observable) and labels
        panel = panel.replace(design=sim.design, labels={**sim.labels, **panel.labels})
    from ..derive import designed_deflation

    panel = designed_deflation(panel)  # the mapping's [deflator]: the statistics in the analysis's real values
    if args.by is not None and args.by not in panel.firms.columns:  # named by the user: leaving it out would hide it
        from ..io.errors import suggest, visible

        kind = "a firm-year column, not a firm-level one" if args.by in panel.data.columns else "not in the panel"
        raise ValueError(f"--by {visible(args.by)}: {kind}{suggest(args.by, panel.firms.columns)}; firm-level "
                         f"columns: {', '.join(map(str, panel.firms.columns))}")
    name = " — ".join(x for x in (res.mapping.name, title) if x) or res.report.source
    print(describe_text(panel, title=name,
                        validation=res.report.summary_line(), by=args.by or "founder_prior_occupation"))
    return 0


def describe_text(panel, *, title: str = "", validation: str = "", by: str = "founder_prior_occupation") -> str:
    """The text ``clusterecon describe`` prints, for any SurveyPanel."""

    from .. import derive

    p = panel
    if {"sales", "material_cost"} <= set(p.data.columns):
        p = derive.add_value_added(p)
        if "employees" in p.data.columns:
            p = derive.add_labour_productivity(p)
    if "founding_year" in p.firms.columns:
        p = derive.add_age(p)
    s = p.structure()
    gaps = p.gaps()
    out = []
    if title:
        out += [title, "=" * len(title)]
    if validation:
        out.append(f"validation: {validation}")
    t = s["T_mean"]
    out += ["", "STRUCTURE",
            f"  firms {s['firms']}, firm-years {s['firm_years']}, years {', '.join(map(str, s['years']))}",
            f"  observations per firm: min {s['T_min']}, mean {t:.2f}, max {s['T_max']}; balanced: "
            f"{'yes' if s['balanced'] else 'no'} ({int((p.obs_per_firm == len(s['years'])).sum())} firms observed "
            "in every year)",
            f"  firms with gaps: {len(gaps)}"
            + (" (" + "; ".join(f"{r.firm_id}: {', '.join(map(str, r.missing_years))}"
                                for r in gaps.head(5).itertuples()) + (" …" if len(gaps) > 5 else "") + ")"
               if len(gaps) else ""),
            f"  design: {s['design']}; {p.design.explain_exit()}"]
    if p.design.deflated_to is not None:
        by = p.design.deflator or "a price index"
        out.append(f"  money values: real, in {p.design.deflated_to} prices (deflated by {by})")
    per_year = p.data.groupby(level="year").size().rename("firms")
    out += ["", "FIRMS BY YEAR", _indent(per_year.to_frame().T.to_string())]
    miss = _missingness(p)
    out += ["", "MISSING VALUES (% of rows; firm-level columns: % of firms)",
            _indent(miss.to_string()) if len(miss) else "  none"]
    cols = [c for c in SUMMARY_COLUMNS if c in p.data.columns]
    if cols:
        stats = p.data[cols].astype("float64").groupby(level="year").agg(["count", "mean", "median"])
        stats.columns = [f"{c} {stat}" if stat != "count" else f"{c} N" for c, stat in stats.columns]
        out += ["", "SUMMARY STATISTICS BY YEAR (monetary values in the survey's currency units)",
                _indent(_fmt(stats.T, axis=1).to_string())]
    if by in p.firms.columns:
        out += ["", f"BY {p.label(by).upper()} ({by})", _indent(_by_group(p, by).to_string())]
    return "\n".join(out) + "\n"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _num(v: float, whole: bool = False) -> str:
    if v != v:
        return ""
    if whole:
        return f"{v:.0f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def _fmt(df, axis: int = 0):
    """Thousands separators for large values, 2 decimals for small ones; counts and years as whole numbers."""
    def whole(name: str) -> bool:
        return name.endswith(" N") or name in ("firms",) or name.startswith("founded")

    if axis == 0:
        return df.apply(lambda col: col.map(lambda v: _num(v, whole(str(col.name)))))
    return df.apply(lambda row: row.map(lambda v: _num(v, whole(str(row.name)))), axis=1)


def _missingness(p):
    import pandas as pd

    fy = p.data.drop(columns=[c for c in ("source_row",) if c in p.data.columns])
    rows = {c: 100 * fy[c].isna().mean() for c in fy.columns}
    rows.update({c: 100 * p.firms[c].isna().mean() for c in p.firms.columns})
    miss = pd.Series(rows, name="% missing")
    miss = miss[miss > 0].sort_values(ascending=False)
    return miss.map(lambda v: f"{v:.1f}").to_frame()


def _by_group(p, by: str):
    import pandas as pd

    firms = p.firms
    g = firms[by].astype("object").fillna("(missing)")
    last = p.data.groupby(level="firm_id").tail(1).reset_index(level="year").reindex(firms.index)
    tab = pd.DataFrame({"firms": g.value_counts()})
    if "manager_schooling_years" in firms.columns:
        tab["schooling (mean)"] = firms["manager_schooling_years"].astype("float64").groupby(g).mean()
    if "founding_year" in firms.columns:
        tab["founded (median)"] = firms["founding_year"].astype("float64").groupby(g).median()
    for c in ("employees", "sales", "va_per_worker"):
        if c in last.columns:
            tab[f"{c}, last year (mean)"] = last[c].astype("float64").groupby(g).mean()
    for c in ("own_brand", "exporter", "is_spinoff"):
        src = firms if c in firms.columns else last if c in last.columns else None
        if src is not None:
            tab[f"{c} (%)"] = 100 * src[c].astype("float64").groupby(g).mean()
    return _fmt(tab.sort_values("firms", ascending=False).astype("float64"))
