"""Estimators, one module per family; the public functions are re-exported here lazily (importing this package
does not import statsmodels, linearmodels or formulaic).

Linear panel: pooled_ols, within, between, first_difference, random_effects, correlated_re, hausman_taylor;
specification tests: hausman, robust_hausman, breusch_pagan_lm; limited dependent: logit, probit, margins,
conditional_logit, re_probit, cre_probit, mnlogit, tobit, heckman; duration: risk_set, discrete_hazard, cox;
structural breaks: chow_test, sup_f_test, sequential_breaks.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "pooled_ols": "pooled",
    "within": "within",
    "between": "between",
    "first_difference": "firstdiff",
    "random_effects": "random_effects",
    "correlated_re": "cre",
    "hausman_taylor": "hausman_taylor",
    "hausman": "spectests",
    "robust_hausman": "spectests",
    "breusch_pagan_lm": "spectests",
    "logit": "binary",
    "probit": "binary",
    "margins": "margins",
    "conditional_logit": "clogit",
    "re_probit": "re_probit",
    "cre_probit": "re_probit",
    "mnlogit": "mnlogit",
    "tobit": "tobit",
    "heckman": "heckman",
    "risk_set": "hazard",
    "discrete_hazard": "hazard",
    "cox": "cox",
    "chow_test": "breaks",
    "sup_f_test": "breaks",
    "sequential_breaks": "breaks",
    "EstimationResult": "results",
    "TestResult": "results",
    "VarianceInfo": "results",
    "SpecificationError": "design",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, {k: f".{v}" for k, v in _LAZY.items()})
