"""Productivity: Cobb–Douglas production functions (TFP as the residual) and index-number TFP.

Proxy-variable estimators (Olley–Pakes, Levinsohn–Petrin, ACF) plug in through
:func:`clusterecon.productivity.cobb_douglas.register_method`.
"""

from .cobb_douglas import METHODS, ProductionFunctionResult, production_function, register_method
from .index_numbers import IndexTFP, ccd_tfp, cost_share_tfp

__all__ = ["METHODS", "IndexTFP", "ProductionFunctionResult", "ccd_tfp", "cost_share_tfp", "production_function",
           "register_method"]
