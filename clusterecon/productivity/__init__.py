"""Productivity: production functions (Cobb–Douglas OLS/FE; control-function estimators OP, LP, ACF, Wooldridge,
GNR), TFP by firm-year, markups, and index-number TFP.

The control-function estimators are also methods of :func:`production_function` (``method="acf"``, ...), registered
through :func:`register_method` in :mod:`.registry`.
"""

from . import registry as _registry  # noqa: F401  (registers op/lp/acf/wooldridge)
from .acf import acf
from .cobb_douglas import METHODS, ProductionFunctionResult, production_function, register_method
from .index_numbers import IndexTFP, ccd_tfp, cost_share_tfp
from .levinsohn_petrin import levinsohn_petrin
from .markups import markups
from .olley_pakes import olley_pakes
from .pf_result import ControlFunctionResult
from .wooldridge_pf import wooldridge

__all__ = ["METHODS", "ControlFunctionResult", "IndexTFP", "ProductionFunctionResult", "acf", "ccd_tfp",
           "cost_share_tfp", "levinsohn_petrin", "markups", "olley_pakes", "production_function",
           "register_method", "wooldridge"]
