"""Publication output: regression and descriptive tables (LaTeX, Markdown, HTML, CSV) and figures.

Tables share one rendering engine (``render``/``latex``); figures use one seaborn theme (``figures``). Names are
loaded lazily so that importing this package does not import matplotlib.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "regression_table": "clusterecon.report.tables",
    "RegressionTable": "clusterecon.report.tables",
    "TableError": "clusterecon.report.tables",
    "split_equations": "clusterecon.report.tables",
    "summary_table": "clusterecon.report.descriptive",
    "balance_table": "clusterecon.report.descriptive",
    "assign_phases": "clusterecon.report.descriptive",
    "yearly_aggregates": "clusterecon.report.descriptive",
    "phase_spans": "clusterecon.report.descriptive",
    "phase_label": "clusterecon.report.descriptive",
    "DescriptiveTable": "clusterecon.report.descriptive",
    "DescriptiveError": "clusterecon.report.descriptive",
    "as_result": "clusterecon.report.adapters",
    "escape_latex": "clusterecon.report.latex",
    "Raw": "clusterecon.report.latex",
    "Layout": "clusterecon.report.render",
    "Table": "clusterecon.report.render",
    "TABLE_CSS": "clusterecon.report.render",
    "figure_theme": "clusterecon.report.figures",
    "save_figure": "clusterecon.report.figures",
    "plot_trajectories": "clusterecon.report.figures",
    "plot_coefficients": "clusterecon.report.figures",
    "plot_schooling_innovation": "clusterecon.report.figures",
    "plot_entry_by_founder": "clusterecon.report.figures",
    "plot_survival": "clusterecon.report.figures",
    "survival_frame": "clusterecon.report.figures",
    "LeftOutWarning": "clusterecon.report.figures",
    "shade_phases": "clusterecon.report.figures",
}
_ALIASES = {"escape_latex": "escape"}

#: modules reachable as attributes (``report.latex.PACKAGES``, ``report.latex.document(body)``: docs/tables.md)
_SUBMODULES = ("adapters", "analyse_report", "descriptive", "figures", "folder", "html", "labels", "latex", "render",
               "tables")

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY, _ALIASES, _SUBMODULES)
