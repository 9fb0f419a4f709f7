"""Estimators, one module per family, re-exported here.

Linear panel: pooled_ols, within, between, first_difference, random_effects, correlated_re, hausman_taylor;
dynamic panel GMM: arellano_bond (difference), blundell_bond (system) with instrument specs gmm(), iv();
specification tests: hausman, robust_hausman, breusch_pagan_lm; limited dependent: logit, probit, margins,
conditional_logit, re_probit, cre_probit, mnlogit, tobit, heckman; duration: risk_set, discrete_hazard, cox;
structural breaks: chow_test, sup_f_test, sequential_breaks; few clusters: wild_bootstrap (of a fitted linear
result), wild_cluster_bootstrap (arrays).

The names are imported eagerly (about 0.6 s: pandas and scipy; statsmodels and formulaic load on first use):
several functions share their module's name (``within``, ``random_effects``, ``hausman_taylor``, ``margins``,
``mnlogit``, ``tobit``, ``heckman``, ``cox``), and a lazy attribute would be replaced by the submodule as soon as
anything imported it. ``import clusterecon`` itself does not import this package.
"""

from .between import between
from .binary import logit, probit
from .breaks import chow_test, sequential_breaks, sup_f_test
from .clogit import conditional_logit
from .cox import cox
from .cre import correlated_re
from .design import SpecificationError
from .dynamic_gmm import arellano_bond, blundell_bond
from .firstdiff import first_difference
from .gmm_instruments import gmm, iv
from .hausman_taylor import hausman_taylor
from .hazard import discrete_hazard, risk_set
from .heckman import heckman
from .margins import margins
from .mnlogit import mnlogit
from .pooled import pooled_ols
from .random_effects import random_effects
from .re_probit import cre_probit, re_probit
from .results import EstimationResult, TestResult, VarianceInfo
from .spectests import breusch_pagan_lm, hausman, robust_hausman
from .tobit import tobit
from .wild_bootstrap import wild_bootstrap, wild_cluster_bootstrap
from .within import within

__all__ = [
    "EstimationResult", "SpecificationError", "TestResult", "VarianceInfo", "arellano_bond", "between",
    "blundell_bond", "breusch_pagan_lm", "chow_test", "conditional_logit", "correlated_re", "cox", "cre_probit",
    "discrete_hazard", "first_difference", "gmm", "hausman", "hausman_taylor", "heckman", "iv", "logit", "margins",
    "mnlogit", "pooled_ols", "probit", "random_effects", "re_probit", "risk_set", "robust_hausman",
    "sequential_breaks", "sup_f_test", "tobit", "wild_bootstrap", "wild_cluster_bootstrap", "within",
]
