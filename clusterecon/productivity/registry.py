"""Control-function estimators registered as :func:`~clusterecon.productivity.production_function` methods.

``production_function(panel, method="acf")`` logs output, inputs and the proxy (materials by default; OP takes
``proxy="investment"`` or any positive column) and maps them to prodest's roles: capital is the state variable,
the other inputs are free, and for gross output (materials among the inputs) ACF and GNR treat materials as the
flexible input. Priority order for a survey (:data:`PRIORITY`): ACF when materials are observed, then LP, then
OP when investment is, index numbers last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .cobb_douglas import register_method
from .pf_result import ControlFunctionResult

#: methods in the order the battery prefers them, with the column each needs beyond output, labour and capital
PRIORITY: tuple[tuple[str, str | None], ...] = (("acf", "material_cost"), ("lp", "material_cost"),
                                                 ("op", "investment"), ("wooldridge", "material_cost"))


def _roles(inputs: Sequence[str], proxy: str) -> tuple[list[str], list[str], bool]:
    state = [c for c in inputs if "capital" in c] or [inputs[-1]]
    gross = any(c == proxy for c in inputs)
    free = [c for c in inputs if c not in state and c != proxy]
    return free, state, gross


@register_method("acf", proxy="material_cost")
def _acf(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
         **kw: Any) -> ControlFunctionResult:
    from .acf import acf

    free, state, gross = _roles(inputs, proxy)
    return acf(frame, output=y, free=free, state=state, proxy=proxy, controls=controls, value_added=not gross, **kw)


@register_method("lp", proxy="material_cost")
def _lp(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
        **kw: Any) -> ControlFunctionResult:
    from .levinsohn_petrin import levinsohn_petrin

    free, state, _ = _roles(inputs, proxy)
    return levinsohn_petrin(frame, output=y, free=free, state=state, proxy=proxy, controls=controls, **kw)


@register_method("op", proxy="investment")
def _op(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
        **kw: Any) -> ControlFunctionResult:
    from .olley_pakes import olley_pakes

    free, state, _ = _roles(inputs, proxy)
    return olley_pakes(frame, output=y, free=free, state=state, proxy=proxy, controls=controls, **kw)


@register_method("wooldridge", proxy="material_cost")
def _wrdg(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, proxy: str,
          **kw: Any) -> ControlFunctionResult:
    from .wooldridge_pf import wooldridge

    free, state, _ = _roles(inputs, proxy)
    kw = {k: v for k, v in kw.items() if k not in ("reps", "seed", "n_jobs")}
    return wooldridge(frame, output=y, free=free, state=state, proxy=proxy, controls=controls, **kw)


def best_production_function(frame: pd.DataFrame, **options: Any) -> tuple[Any, list[str]]:
    """The highest-priority control-function estimator the data support (:data:`PRIORITY`), fitted by
    :func:`production_function` on value added; ``(result, notes)`` with one note per estimator tried and why it
    was passed over. Recall surveys with benchmark years (no consecutive years) use ``lag="previous"``; ACF reports
    its plausible root (:func:`~.acf.acf` ``root="plausible"``). Returns ``(None, notes)`` when none applies."""
    from ..estimators.design import SpecificationError
    from .cobb_douglas import production_function

    notes: list[str] = []
    years = pd.Index(frame.index.get_level_values(1))
    firms = pd.Index(frame.index.get_level_values(0))
    consecutive = int(((pd.Series(years).diff() == 1) & (pd.Series(firms).shift() == firms).to_numpy()).sum())
    lag = "calendar" if consecutive >= 50 else "previous"
    for method, column in PRIORITY:
        if column not in frame.columns or pd.to_numeric(frame[column], errors="coerce").gt(0).sum() < 30:
            notes.append(f"{method.upper()}: no usable {column}")
            continue
        kw = {"lag": lag, **({"root": "plausible"} if method == "acf" else {}),
              **({"reps": 0} if method != "wooldridge" else {}), **options}
        try:
            return production_function(frame, method=method, **kw), notes
        except (SpecificationError, np.linalg.LinAlgError, ValueError) as e:
            notes.append(f"{method.upper()} not estimated: {e}")
    return None, notes
