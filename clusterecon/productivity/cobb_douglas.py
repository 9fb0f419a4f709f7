r"""Cobb–Douglas production functions with TFP as the residual.

.. math::  \ln Y_{it} = \beta_0 + \sum_k \beta_k \ln X_{kit} + \gamma' z_{it} + \alpha_i + \lambda_t + u_{it}

with :math:`Y` value added (sales − material cost) or gross output (sales, with materials among the inputs),
inputs :math:`X` (capital, employees[, material cost]) and optional controls :math:`z` entered in levels.
``method`` picks the estimator from :data:`METHODS`: ``"ols"`` (pooled, year dummies optional), ``"fe"`` (firm
fixed effects), ``"twoway"`` (firm and year effects). Log TFP is :math:`\hat\omega_{it} = \ln Y_{it} - \sum_k
\hat\beta_k \ln X_{kit}` (it includes the firm effect, the constant and the residual, as in the case-study
literature). Returns to scale :math:`\sum_k \hat\beta_k` are reported with their standard error and the Wald test of
constant returns.

Variance: whatever the underlying linear estimator reports (default: clustered by firm with Stata's xtreg rule).
Observations whose output or an input is not positive cannot be logged: they are left out and counted
(``Omitted``), never silently.

Proxy-variable estimators (Olley–Pakes, Levinsohn–Petrin, Ackerberg–Caves–Frazer) slot in by registering a method
with :func:`register_method`: a function ``(frame, y, inputs, controls, **options) -> EstimationResult`` fitted on the
logged frame. Reference: Sonobe & Otsuka (2006) use Cobb–Douglas residuals; Munnell (1990) / Baltagi (2013) for the
public Produc panel used in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from ..estimators.design import as_panel_frame
from ..estimators.results import EstimationResult, Omitted, TestResult
from ..panel import SurveyPanel

Method = Callable[..., EstimationResult]
METHODS: dict[str, Method] = {}
#: the proxy column a registered control-function method uses unless ``proxy=`` is given
PROXIES: dict[str, str] = {}
#: method -> (zero-argument callable returning the estimator function(s) its options go to, the arguments the
#: method itself sets, the options it handles itself); :func:`method_options` reads the signatures
_TARGETS: dict[str, tuple[Callable[[], Sequence[Callable]], tuple[str, ...], tuple[str, ...]]] = {}
#: options of the bootstrap standard errors: a method without a bootstrap ignores them and its result says so
BOOTSTRAP_OPTIONS = ("reps", "seed", "n_jobs")


def register_method(name: str, *, proxy: str | None = None, target: Callable[[], Sequence[Callable]] | None = None,
                    fixed: Sequence[str] = (), own: Sequence[str] = ()) -> Callable[[Method], Method]:
    """Register a production-function estimator under ``name`` (how OP/LP/ACF plug in); ``proxy``: the level
    column it takes as proxy by default (logged like the inputs). ``target`` returns the function(s) the method
    passes its options to, ``fixed`` the arguments it sets itself and ``own`` the options it takes itself: from
    them :func:`production_function` tells a user which options a method takes (without ``target``, any)."""

    def deco(fn: Method) -> Method:
        METHODS[name] = fn
        if proxy is not None:
            PROXIES[name] = proxy
        if target is not None:
            _TARGETS[name] = (target, tuple(fixed), tuple(own))
        return fn

    return deco


def lazy_targets(module: str, *names: str) -> Callable[[], tuple[Callable, ...]]:
    """A ``target`` for :func:`register_method`: the estimator functions a method calls, imported when first needed
    (their signatures say which options the method takes); ``module`` is relative to this package."""
    import importlib

    return lambda: tuple(getattr(importlib.import_module(module, __package__), n) for n in names)


def method_options(method: str) -> tuple[str, ...] | None:
    """The options ``production_function(method=method, ...)`` takes (sorted), or None when the method does not
    declare them. ``proxy`` is among them for the control-function methods."""
    import inspect

    if method not in _TARGETS:
        return None
    target, fixed, own = _TARGETS[method]
    names = set(own) | ({"proxy"} if method in PROXIES else set())
    for fn in target():
        for p in inspect.signature(fn).parameters.values():
            if p.kind is p.KEYWORD_ONLY and p.name not in fixed:
                names.add(p.name)
    return tuple(sorted(names - {"data", "formula"}))


def _check_options(method: str, options: dict[str, Any]) -> list[str]:
    """Refuse options ``method`` does not take (naming the ones it does); bootstrap options given to a method
    without a bootstrap are removed from ``options`` and returned as a note."""
    takes = method_options(method)
    if takes is None:
        return []
    notes = []
    unused = [k for k in BOOTSTRAP_OPTIONS if k in options and k not in takes]
    if unused:
        given = ", ".join(f"{k}={options.pop(k)!r}" for k in unused)
        booted = ", ".join(m for m in METHODS if "reps" in (method_options(m) or ()))
        notes.append(f"{given} not used: method {method!r} has no bootstrap (its standard errors are analytic); the "
                     f"bootstrap options apply to {booted}")
    unknown = [k for k in options if k not in takes]
    if unknown:
        import difflib

        from ..estimators.design import SpecificationError

        near = {k: difflib.get_close_matches(k, takes, n=1) for k in unknown}
        hints = "; ".join(f"{k!r}" + (f" (did you mean {near[k][0]!r}?)" if near[k] else "") for k in unknown)
        raise SpecificationError(f"production_function(method={method!r}) does not take {hints}; it takes "
                                 f"{', '.join(takes)}")
    return notes


def _formula(y: str, inputs: Sequence[str], controls: Sequence[str], year_dummies: bool) -> str:
    rhs = [*inputs, *controls] + (["C(year)"] if year_dummies else [])
    return f"{y} ~ " + " + ".join(rhs)


_POOLED, _WITHIN = lazy_targets("..estimators.pooled", "pooled_ols"), lazy_targets("..estimators.within", "within")


@register_method("ols", target=_POOLED, own=("year_dummies",))
def _ols(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, year_dummies: bool = True,
         **kw: Any) -> EstimationResult:
    from ..estimators.pooled import pooled_ols

    return pooled_ols(frame, _formula(y, inputs, controls, year_dummies), **kw)


@register_method("fe", target=_WITHIN, fixed=("effects",), own=("year_dummies",))
def _fe(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], *, year_dummies: bool = False,
        **kw: Any) -> EstimationResult:
    from ..estimators.within import within

    return within(frame, _formula(y, inputs, controls, year_dummies), effects="firm", **kw)


@register_method("twoway", target=_WITHIN, fixed=("effects",), own=("year_dummies",))
def _twoway(frame: pd.DataFrame, y: str, inputs: Sequence[str], controls: Sequence[str], **kw: Any,
            ) -> EstimationResult:
    from ..estimators.within import within

    kw.pop("year_dummies", None)
    return within(frame, _formula(y, inputs, controls, False), effects="twoway", **kw)


@dataclass(frozen=True, kw_only=True)
class ProductionFunctionResult(EstimationResult):
    """An :class:`EstimationResult` plus the elasticities, returns to scale and log TFP by firm-year."""

    inputs: tuple[str, ...] = ()
    output: str = ""
    method: str = ""
    tfp: pd.Series | None = None

    @property
    def elasticities(self) -> pd.Series:
        return self.params[list(self.inputs)]

    @property
    def returns_to_scale(self) -> float:
        return float(self.elasticities.sum())

    @property
    def returns_to_scale_se(self) -> float:
        v = self.cov.loc[list(self.inputs), list(self.inputs)].to_numpy()
        return float(np.sqrt(v.sum()))

    def constant_returns_test(self) -> TestResult:
        return self.tests["CRS"]


def _log_positive(frame: pd.DataFrame, cols: dict[str, pd.Series], source: pd.DataFrame | None = None,
                  ) -> tuple[pd.DataFrame, list[Omitted]]:
    """Add ln(col) columns; rows with a non-positive (or missing) value are dropped and counted per column (a
    missing derived column by its cause when ``source``, the data it was taken from, records why)."""
    from ..estimators.design import _omissions
    from ..panel import MISSING_WHY

    why = source.attrs.get(MISSING_WHY, {}) if source is not None else {}
    keep = pd.Series(True, index=frame.index)
    omitted: list[Omitted] = []
    out = frame.copy()
    for name, s in cols.items():
        s = pd.to_numeric(s, errors="coerce").astype("float64")
        miss = s.isna() & keep
        if miss.any():
            col = name.removeprefix("ln_")
            omitted += _omissions(source if source is not None else frame, miss.to_numpy(), f"missing {col}", col,
                                  why)
        keep &= ~miss
        bad = (s <= 0) & keep
        if bad.any():
            omitted.append(Omitted(f"{name.removeprefix('ln_')} <= 0 (log undefined)", int(bad.sum())))
        keep &= ~bad
        out[name] = np.log(s.where(s > 0))
    return out.loc[keep], omitted


def production_function(
    data: SurveyPanel | pd.DataFrame,
    *,
    output: str = "value_added",
    inputs: Sequence[str] | None = None,
    controls: Sequence[str] = (),
    method: str = "fe",
    **options: Any,
) -> ProductionFunctionResult:
    """Estimate a Cobb–Douglas production function and return elasticities, returns to scale and log TFP.

    Parameters
    ----------
    output : ``"value_added"`` (sales − material_cost), ``"gross"`` (sales; material_cost joins the inputs by
        default), or the name of any positive column.
    inputs : columns entered in logs (default capital and employees; plus material_cost for gross output).
    controls : columns entered in levels (e.g. ``unemp``, dummies).
    method : a key of :data:`METHODS` (``"ols"``, ``"fe"``, ``"twoway"``, or a control-function estimator:
        ``"op"``, ``"lp"``, ``"acf"``, ``"wooldridge"``, ``"gnr"``).
    options : passed to the estimator (``vcov=``, ``cluster=``, ``dof=``, ``year_dummies=``; for control-function
        methods ``proxy=`` a level column to log and use as proxy, ``reps=``, ``seed=``, ``lag=``, ...).
    """
    if method not in METHODS:
        raise ValueError(f"unknown production-function method {method!r}; available: {sorted(METHODS)}")
    options = dict(options)
    option_notes = _check_options(method, options)
    frame = as_panel_frame(data)
    if output == "value_added":
        y = frame["sales"] - frame["material_cost"]
        out_name = "value_added"
    elif output == "gross":
        y = frame["sales"]
        out_name = "sales"
    else:
        y = frame[output]
        out_name = output
    if inputs is None:
        inputs = ["capital", "employees"] + (["material_cost"] if output == "gross" else [])
    proxy = options.pop("proxy", PROXIES.get(method))
    missing = [c for c in [*inputs, *controls, *([proxy] if proxy else [])] if c not in frame.columns]
    if missing:
        from ..estimators.design import SpecificationError
        from ..io.errors import suggest

        raise SpecificationError("production function inputs/controls/proxy not in the data: " + "; ".join(
            f"{c!r}{suggest(c, frame.columns)}" for c in missing) + " (name a column of the panel, or derive it first)")
    logs = {f"ln_{out_name}": y, **{f"ln_{c}": frame[c] for c in [*inputs, *([proxy] if proxy else [])]}}
    shifters = list(options.get("motion_controls", ()))  # law-of-motion shifters, passed in levels
    source = frame
    if output == "value_added":
        # value added is formed here: a firm-year without it is listed by the input it lacks ("missing sales"), as
        # derive.add_value_added records it, rather than as "missing value_added"
        from ..panel import MISSING_WHY

        why = frame.attrs.get(MISSING_WHY, {})
        source = frame.copy(deep=False)
        source.attrs = {**frame.attrs, MISSING_WHY: {
            **why, "value_added": why.get("value_added", [{"source": "sales"}, {"source": "material_cost"}])}}
    work, omitted = _log_positive(frame[list(dict.fromkeys([*controls, *shifters]))], logs, source)
    ln_inputs = [f"ln_{c}" for c in inputs]
    if proxy:
        options["proxy"] = f"ln_{proxy}"
    fit = METHODS[method](work, f"ln_{out_name}", ln_inputs, list(controls), **options)
    if isinstance(fit, ProductionFunctionResult):  # control-function estimators build their own result
        return replace(fit, omitted=tuple(omitted) + tuple(fit.omitted), notes=(*fit.notes, *option_notes))
    b = fit.params[ln_inputs].to_numpy()
    tfp = pd.Series(work[f"ln_{out_name}"].to_numpy() - work[ln_inputs].to_numpy() @ b, index=work.index,
                    name="ln_tfp")
    base = {f.name: getattr(fit, f.name) for f in fields(EstimationResult)}
    crs = fit.wald_test(" + ".join(ln_inputs) + " = 1")
    crs = TestResult("Constant returns to scale", crs.stat, crs.pvalue, crs.df, crs.dist,
                     "sum of input elasticities = 1")
    v = fit.cov.loc[ln_inputs, ln_inputs].to_numpy()
    base.update(
        omitted=tuple(omitted) + tuple(fit.omitted),
        model=f"Cobb-Douglas production function ({out_name}, {method})",
        stats={**fit.stats, "Returns to scale": float(b.sum()), "Returns to scale (s.e.)": float(np.sqrt(v.sum()))},
        tests={**fit.tests, "CRS": crs},
        notes=(*fit.notes, *option_notes),
    )
    return ProductionFunctionResult(**base, inputs=tuple(ln_inputs), output=out_name, method=method, tfp=tfp)
