"""clusterecon: econometrics for enterprise surveys of industrial clusters.

The public API is small and imported lazily so that ``import clusterecon`` stays fast (heavy libraries such as
statsmodels, linearmodels and matplotlib load on first use).
"""

from __future__ import annotations

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "SurveyPanel": "clusterecon.panel",
    "SurveyDesign": "clusterecon.panel",
    "schema": "clusterecon.schema",
    "EstimationResult": "clusterecon.estimators.results",
    "estimators": "clusterecon.estimators",
    "analyse": "clusterecon.hypotheses.battery",
    "AnalysisResult": "clusterecon.hypotheses.battery",
    "load_survey": "clusterecon.load",
    "read_panel": "clusterecon.load",
    "simulate": "clusterecon.simulate",
    "survey": "clusterecon.simulate",
    "production_function": "clusterecon.productivity",
    "regression_table": "clusterecon.report",
    "summary_table": "clusterecon.report",
    "write_report": "clusterecon.report.analyse_report",
    "run_spec": "clusterecon.replicate",
    "derive_all": "clusterecon.derive",
}

from ._lazy import lazy_exports  # noqa: E402

#: subpackages and modules reachable as attributes (``import clusterecon as ce; ce.report.latex.PACKAGES``), imported
#: on first access
_SUBMODULES = ("chunked", "derive", "evaluation", "hypotheses", "io", "load", "panel", "productivity", "replicate",
               "report", "samples", "validate")

__getattr__, __dir__, _names = lazy_exports(__name__, _LAZY, submodules=_SUBMODULES)
__all__ = [*_names, "__version__"]
