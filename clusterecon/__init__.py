"""clusterecon: econometrics for enterprise surveys of industrial clusters.

The public API is small and imported lazily so that ``import clusterecon`` stays fast (heavy libraries such as
statsmodels, linearmodels and matplotlib load on first use).
"""

from __future__ import annotations

import importlib
from typing import Any

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
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'clusterecon' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if module.endswith("." + name) and not hasattr(mod, name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
