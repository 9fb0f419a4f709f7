r"""Levinsohn–Petrin (2003): the Olley–Pakes two-step estimator with an intermediate input (materials,
electricity) as the proxy, which is positive for almost every firm-year where investment is often zero.

Same first stage, second stage, starting values and bootstrap as :mod:`.olley_pakes` (prodest's ``prodestLP``
shares ``finalOPLP`` with ``prodestOP``). Reference: Levinsohn, J. & A. Petrin (2003), "Estimating production
functions using inputs to control for unobservables", *Review of Economic Studies* 70(2):317–341.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..panel import SurveyPanel
from .olley_pakes import control_function_two_step
from .pf_result import ControlFunctionResult


def levinsohn_petrin(data: SurveyPanel | pd.DataFrame, *, output: str, free: str | Sequence[str],
                     state: str | Sequence[str], proxy: str, controls: str | Sequence[str] = (),
                     exit: bool | str = False, **options) -> ControlFunctionResult:
    """Levinsohn–Petrin: ``proxy`` is (log) materials. Options as :func:`~.olley_pakes.olley_pakes`."""
    return control_function_two_step(data, label="LP", output=output, free=free, state=state, proxy=proxy,
                                      controls=controls, exit=exit, **options)
