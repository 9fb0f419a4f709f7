"""The evaluation design file (TOML) behind ``clusterecon evaluate DESIGN.toml``, validated strictly.

.. code-block:: toml

    title = "Kaizen training in the Dar es Salaam garment cluster"

    [data]
    file = "trial_raw.csv"              # relative to this file's folder; paths outside it are refused
    mapping = "trial_mapping.toml"      # optional: how the raw file maps to the canonical schema
    log = ["sales"]                     # optional: add log_<column> (zeros/negatives set missing, recorded)
    # sheet = "data"; encoding = "latin-1"

    [design]
    treatment = "treat_offered"         # 0/1 offer (ITT assignment)
    strata = "strata_id"                # randomisation strata (dummies in every regression)
    assignment = "firm"                 # "firm" or "cluster": the unit of randomisation and of clustering
    cluster = "cluster"                 # the industrial-cluster column
    takeup = "treat_attended"           # attendance (TOT); optional
    attrition = "attrited"              # attrition flag; optional (a missing outcome also counts)
    controls = []                       # extra baseline controls

    [rounds]
    column = "year"                     # or "survey_round"
    baseline = [2010]
    follow_up = [2011, 2012]

    [outcomes]
    primary = ["log_sales", "practice_score"]
    secondary = []
    practices = true                    # compute the McKenzie-Woodruff scores from the mw_* items
    labels = { log_sales = "log(sales)" }
    [outcomes.index]                    # optional Kling-Liebman-Katz index
    name = "business_index"
    components = ["log_sales", "practice_score"]
    signs = {}                          # component = -1 where lower is better

    [analysis]
    estimators = ["ancova", "did", "tot", "attrition", "lee_bounds"]
    wild = "auto"                       # wild cluster bootstrap when clusters < 30 (true / false to force)
    bootstrap_draws = 9999
    romano_wolf = true
    randomization_inference = 999       # re-randomisations (0 = off)
    lee_tighten = "baseline"            # or a covariate column, or "" for none
    seed = 1

    [spillovers]                        # partial-population design (optional)
    treated_cluster = "treat_cluster"
    exposure = "network_exposure"

    [staggered]                         # staggered roll-out (optional)
    first_treated = "first_treated_year"
    control = "never"                   # or "notyet"

Every key is type-checked; an unknown key is refused with the closest known one suggested; column names must be
plain identifiers (they go into regression formulas); all mistakes found are reported at once with the file.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .design import ExperimentDesign

ESTIMATORS = ("ancova", "did", "post", "tot", "attrition", "lee_bounds", "randomization", "spillovers",
              "staggered")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Most bootstrap draws or re-randomisations a design file may ask for: each is one pass over the sample, and the
#: draws are held as one (observations x draws) array, so 10**8 would need tens of GB (99,999 gives a p-value
#: resolution of 1e-5, beyond any use in a trial of a few hundred firms)
MAX_DRAWS = 99_999


class DesignFileError(ValueError):
    """A design file that cannot be used; the message lists every mistake with its key and the fix."""

    def __init__(self, path: Any, mistakes: list[str]) -> None:
        self.mistakes = tuple(mistakes)
        super().__init__(f"design file {path}: {len(mistakes)} mistake(s)\n" + "\n".join(f"  - {m}" for m in mistakes))


@dataclass(frozen=True)
class EvaluationSpec:
    """A parsed, validated design file."""

    title: str
    data_file: Path
    mapping: Path | None
    log: tuple[str, ...]
    design: ExperimentDesign
    primary: tuple[str, ...]
    secondary: tuple[str, ...] = ()
    practices: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    index: dict[str, Any] | None = None
    estimators: tuple[str, ...] = ("ancova", "did", "tot", "attrition", "lee_bounds")
    wild: str | bool = "auto"
    bootstrap_draws: int = 9999
    romano_wolf: bool = True
    randomization_inference: int = 0
    lee_tighten: str | None = "baseline"
    seed: int = 1
    staggered_control: str = "never"
    sheet: str | int | None = None
    encoding: str | None = None
    path: Path | None = None
    allow_outside_paths: bool = False
    #: (design-file key, column) for every column the file names, checked against the data before any estimate
    #: (:func:`design_column_mistakes`)
    named_columns: tuple[tuple[str, str], ...] = ()
    #: sections given whose estimator is not in [analysis] estimators (not run; the report says so)
    unused_sections: tuple[str, ...] = ()

    @property
    def outcomes(self) -> tuple[str, ...]:
        extra = (self.index["name"],) if self.index else ()
        return tuple(dict.fromkeys((*self.primary, *self.secondary, *extra)))


# key: (type(s), description) per section
_SCHEMA: dict[str, dict[str, tuple[Any, str]]] = {
    "": {"title": (str, "a string"), "description": (str, "a string"), "data": (dict, "a table"),
         "design": (dict, "a table"), "rounds": (dict, "a table"), "outcomes": (dict, "a table"),
         "analysis": (dict, "a table"), "spillovers": (dict, "a table"), "staggered": (dict, "a table")},
    "data": {"file": (str, "a path"), "mapping": (str, "a path"), "log": (list, "a list of column names"),
             "sheet": ((str, int), "a sheet name or index"), "encoding": (str, "an encoding name")},
    "design": {"treatment": (str, "a column name"), "strata": (str, "a column name ('' for none)"),
               "assignment": (str, "'firm' or 'cluster'"), "cluster": (str, "a column name"),
               "takeup": (str, "a column name"), "attrition": (str, "a column name"),
               "controls": (list, "a list of column names")},
    "rounds": {"column": (str, "a column name"), "baseline": (list, "a list of round values"),
               "follow_up": (list, "a list of round values")},
    "outcomes": {"primary": (list, "a list of column names"), "secondary": (list, "a list of column names"),
                 "practices": (bool, "true or false"), "labels": (dict, "a table column = \"label\""),
                 "index": (dict, "a table with name, components, signs")},
    "analysis": {"estimators": (list, f"a list drawn from {', '.join(ESTIMATORS)}"),
                 "wild": ((str, bool), "'auto', true or false"), "bootstrap_draws": (int, "an integer >= 99"),
                 "romano_wolf": (bool, "true or false"), "randomization_inference": (int, "an integer (0 = off)"),
                 "lee_tighten": (str, "'baseline', a column name or '' for none"),
                 "seed": (int, "an integer >= 0")},
    "spillovers": {"treated_cluster": (str, "a column name"), "exposure": (str, "a column name")},
    "staggered": {"first_treated": (str, "a column name"), "control": (str, "'never' or 'notyet'")},
    "index": {"name": (str, "a column name"), "components": (list, "a list of column names"),
              "signs": (dict, "a table column = 1 or -1")},
}


def _unknown(keys: Any, allowed: dict, where: str, bad: list[str]) -> None:
    for k in keys:
        if k not in allowed:
            near = difflib.get_close_matches(str(k), list(allowed), n=1)
            bad.append(f"{where}: unknown key {k!r}" + (f" (did you mean {near[0]!r}?)" if near else
                                                         f"; known keys: {', '.join(allowed)}"))


def _typed(section: dict, name: str, where: str, bad: list[str]) -> dict:
    out = {}
    schema = _SCHEMA[name]
    _unknown(section, schema, where, bad)
    for k, v in section.items():
        if k not in schema:
            continue
        types, what = schema[k]
        if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            bad.append(f"{where} {k} must be {what}, got {v!r}")
            continue
        if not isinstance(v, types):
            bad.append(f"{where} {k} must be {what}, got {type(v).__name__} {v!r}")
            continue
        out[k] = v
    return out


def _ident(value: Any, where: str, bad: list[str], *, empty_ok: bool = False) -> str | None:
    if value == "" and empty_ok:
        return None
    if not isinstance(value, str) or not _IDENT.match(value):
        bad.append(f"{where} = {value!r}: column names must be letters, digits and underscores (rename the column "
                   "in the mapping)")
        return None
    return value


def _path(value: str, base: Path, where: str, bad: list[str], owner: str, allow_outside: bool) -> Path | None:
    """The file ``value`` relative to the design file's folder, refused outside it (one rule for mappings, specs
    and design files: :func:`clusterecon.io.paths.resolve_inside`)."""
    from ..io.paths import OutsideFolderError, resolve_inside

    try:
        full = resolve_inside(base, value, key=where, owner=owner, allow_outside=allow_outside)
    except OutsideFolderError as e:
        bad.append(str(e))
        return None
    if not full.exists():
        bad.append(f"{where} = {value!r}: file not found ({full})")
        return None
    return full


def load_design_file(path: str | Path, *, allow_outside_paths: bool = False) -> EvaluationSpec:
    """Read and validate a design file (module docstring); raises :class:`DesignFileError` listing all mistakes.
    ``allow_outside_paths`` lets it name files outside its folder (``--allow-outside-paths``)."""
    path = Path(path)
    if not path.exists():
        raise DesignFileError(path, [f"file not found: {path}"])
    from ..io.mapping import MAX_TOML_BYTES

    if path.is_dir():
        raise DesignFileError(path, ["is a folder; give the path of a .toml design file"])
    if path.stat().st_size > MAX_TOML_BYTES:
        raise DesignFileError(path, [f"{path.stat().st_size:,} bytes; a design file is a small text file (at most "
                                     f"{MAX_TOML_BYTES:,} bytes): is it the right file?"])
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise DesignFileError(path, [f"not valid TOML: {e}"]) from None
    except UnicodeDecodeError as e:
        raise DesignFileError(path, [f"not UTF-8 (offset {e.start}); save it as UTF-8"]) from None
    except RecursionError:
        raise DesignFileError(path, ["arrays or tables nested too deeply to read"]) from None
    return parse_design(raw, path, allow_outside_paths=allow_outside_paths)


def parse_design(raw: dict, path: Path, *, allow_outside_paths: bool = False) -> EvaluationSpec:
    bad: list[str] = []
    base = path.parent
    top = _typed(raw, "", "top level", bad)
    sec = {name: _typed(top.get(name, {}), name, f"[{name}]", bad)
           for name in ("data", "design", "rounds", "outcomes", "analysis", "spillovers", "staggered")}
    data = sec["data"]
    data_file = None
    if "file" not in data:
        bad.append("[data] file is required (the survey file, relative to the design file)")
    else:
        data_file = _path(data["file"], base, "[data] file", bad, f"design file {path.name}", allow_outside_paths)
    mapping = _path(data["mapping"], base, "[data] mapping", bad, f"design file {path.name}",
                    allow_outside_paths) if "mapping" in data else None
    log = tuple(x for i, v in enumerate(data.get("log", [])) if (x := _ident(v, f"[data] log[{i}]", bad)))

    d = sec["design"]
    kw: dict[str, Any] = {}
    for key in ("treatment", "cluster", "takeup", "attrition"):
        if key in d:
            kw[key] = _ident(d[key], f"[design] {key}", bad, empty_ok=key != "treatment")
    if "strata" in d:
        kw["strata"] = _ident(d["strata"], "[design] strata", bad, empty_ok=True)
    if "assignment" in d:
        if d["assignment"] not in ("firm", "cluster"):
            bad.append(f"[design] assignment must be 'firm' or 'cluster', got {d['assignment']!r}")
        else:
            kw["assignment"] = d["assignment"]
    if "controls" in d:
        kw["controls"] = tuple(x for i, v in enumerate(d["controls"])
                               if (x := _ident(v, f"[design] controls[{i}]", bad)))
    r = sec["rounds"]
    if "column" in r:
        kw["round_column"] = _ident(r["column"], "[rounds] column", bad)
    for key in ("baseline", "follow_up"):
        vals = r.get(key, [])
        if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in vals):
            bad.append(f"[rounds] {key} must list round values (integers or strings), got {vals!r}")
        kw[key] = tuple(vals)
    sp = sec["spillovers"]
    if "treated_cluster" in sp:
        kw["treated_cluster"] = _ident(sp["treated_cluster"], "[spillovers] treated_cluster", bad)
    if "exposure" in sp:
        kw["exposure"] = _ident(sp["exposure"], "[spillovers] exposure", bad)
    st = sec["staggered"]
    if "first_treated" in st:
        kw["first_treated"] = _ident(st["first_treated"], "[staggered] first_treated", bad)
    control = st.get("control", "never")
    if control not in ("never", "notyet"):
        bad.append(f"[staggered] control must be 'never' or 'notyet', got {control!r}")

    o = sec["outcomes"]
    primary = tuple(x for i, v in enumerate(o.get("primary", [])) if (x := _ident(v, f"[outcomes] primary[{i}]", bad)))
    secondary = tuple(x for i, v in enumerate(o.get("secondary", []))
                      if (x := _ident(v, f"[outcomes] secondary[{i}]", bad)))
    if not primary and not o.get("practices"):
        bad.append("[outcomes] primary must name at least one outcome (or set practices = true)")
    labels = {}
    for k, v in o.get("labels", {}).items():
        if not isinstance(v, str):
            bad.append(f"[outcomes.labels] {k} must be a string label")
        else:
            labels[str(k)] = v
    index = None
    if "index" in o:
        ix = _typed(o["index"], "index", "[outcomes.index]", bad)
        name = _ident(ix.get("name", ""), "[outcomes.index] name", bad)
        comps = [x for i, v in enumerate(ix.get("components", []))
                 if (x := _ident(v, f"[outcomes.index] components[{i}]", bad))]
        signs = {}
        for k, v in ix.get("signs", {}).items():
            if v not in (1, -1) or isinstance(v, bool):
                bad.append(f"[outcomes.index.signs] {k} must be 1 or -1, got {v!r}")
            else:
                signs[k] = int(v)
        if len(comps) < 2:
            bad.append("[outcomes.index] components must list at least two outcomes")
        index = {"name": name, "components": comps, "signs": signs}

    a = sec["analysis"]
    ests = tuple(a.get("estimators", EvaluationSpec.estimators))
    for e in ests:
        if e not in ESTIMATORS:
            near = difflib.get_close_matches(str(e), ESTIMATORS, n=1)
            bad.append(f"[analysis] estimators: unknown {e!r}" + (f" (did you mean {near[0]!r}?)" if near else
                                                                  f"; choose from {', '.join(ESTIMATORS)}"))
    wild = a.get("wild", "auto")
    if isinstance(wild, str) and wild != "auto":
        bad.append(f"[analysis] wild must be 'auto', true or false, got {wild!r}")
    draws = a.get("bootstrap_draws", 9999)
    if not 99 <= draws <= MAX_DRAWS:
        bad.append(f"[analysis] bootstrap_draws must be between 99 and {MAX_DRAWS:,}, got {draws:,}")
    ri = a.get("randomization_inference", 0)
    if not 0 <= ri <= MAX_DRAWS:
        bad.append(f"[analysis] randomization_inference must be 0 (off) or a number of re-randomisations up to "
                   f"{MAX_DRAWS:,}, got {ri:,}")
    if a.get("seed", 1) < 0:
        bad.append(f"[analysis] seed must be a whole number >= 0 (numpy's generators take no negative seed), got "
                   f"{a['seed']}")
    tighten = a.get("lee_tighten", "baseline")
    tighten = None if tighten == "" else tighten if tighten == "baseline" else _ident(tighten, "[analysis] lee_tighten",
                                                                                      bad)
    for est, key, section in (("staggered", "first_treated", "staggered"), ("spillovers", "treated_cluster",
                                                                           "spillovers")):
        if est in ests and not sec[section].get(key):
            example = "first_treated_year" if est == "staggered" else "treat_cluster"
            bad.append(f"[analysis] estimators lists {est!r} but [{section}] {key} is not set: name the column "
                       f"([{section}] {key} = \"{example}\") or remove {est!r} from estimators")
    if "randomization" in ests and ri == 0:
        bad.append("[analysis] estimators lists 'randomization' but randomization_inference = 0 (off): set it to a "
                   "number of re-randomisations (e.g. 999) or remove 'randomization' from estimators")
    unused = tuple(f"[{section}]" for section in ("spillovers", "staggered") if sec[section] and section not in ests)
    named = _named_columns(data, d, r, o, sec["spillovers"], sec["staggered"], tighten, ests)
    design = None
    if not bad:
        try:
            design = ExperimentDesign(**kw)
        except ValueError as e:
            bad.append(str(e))
    if bad:
        raise DesignFileError(path, bad)
    return EvaluationSpec(
        title=top.get("title", path.stem), data_file=data_file, mapping=mapping, log=log, design=design,
        primary=primary, secondary=secondary, practices=bool(o.get("practices", False)), labels=labels,
        index=index, estimators=ests, wild=wild, bootstrap_draws=draws, romano_wolf=a.get("romano_wolf", True),
        randomization_inference=ri, lee_tighten=tighten, seed=a.get("seed", 1), staggered_control=control,
        sheet=data.get("sheet"), encoding=data.get("encoding"), path=path, allow_outside_paths=allow_outside_paths,
        named_columns=named, unused_sections=unused)


def _named_columns(data: dict, d: dict, r: dict, o: dict, sp: dict, st: dict, tighten: str | None,
                   ests: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(key, column) of every column the design file names for a step that runs (a section whose estimator is not
    listed names no column that must exist)."""
    out: list[tuple[str, str]] = []

    def add(key: str, v: Any) -> None:
        if isinstance(v, str) and _IDENT.match(v):
            out.append((key, v))

    for i, v in enumerate(data.get("log", [])):
        add(f"[data] log[{i}]", v)
    add("[design] treatment", d.get("treatment", "treat_offered"))
    for key in ("strata", "takeup", "attrition"):
        add(f"[design] {key}", d.get(key))
    add("[design] cluster", d.get("cluster", "cluster" if d.get("assignment") == "cluster" else None))
    for i, v in enumerate(d.get("controls", [])):
        add(f"[design] controls[{i}]", v)
    add("[rounds] column", r.get("column", "year"))
    for key in ("primary", "secondary"):
        for i, v in enumerate(o.get(key, [])):
            add(f"[outcomes] {key}[{i}]", v)
    ix = o.get("index")
    if isinstance(ix, dict):
        for i, v in enumerate(ix.get("components", []) if isinstance(ix.get("components"), list) else []):
            add(f"[outcomes.index] components[{i}]", v)
    if "lee_bounds" in ests and tighten not in (None, "baseline"):
        add("[analysis] lee_tighten", tighten)
    if "spillovers" in ests:
        for key in ("treated_cluster", "exposure"):
            add(f"[spillovers] {key}", sp.get(key))
    if "staggered" in ests:
        add("[staggered] first_treated", st.get("first_treated"))
    return tuple(out)


def design_column_mistakes(spec: EvaluationSpec, raw: Any, derived: Any = ()) -> list[str]:
    """One line per column the design file names that is not in the data: ``raw`` the survey's columns after
    the mapping (index levels included), ``derived`` the columns the design file adds (logs, practice scores,
    the index). Logs must name a raw column; everything else may name a derived one."""
    raw = [str(c) for c in raw]
    have = set(raw) | {str(c) for c in derived}
    src = spec.data_file.name if spec.data_file is not None else "the survey"
    where = f"{src} (after the mapping {spec.mapping.name})" if spec.mapping is not None else src
    fix = (f"correct the design file, or map the column in {spec.mapping.name}" if spec.mapping is not None else
           "correct the design file, or rename the column with a mapping ([data] mapping)")
    bad = []
    for key, col in spec.named_columns:
        pool = set(raw) if key.startswith("[data] log") else have
        if col not in pool:
            from ..io.errors import suggest

            bad.append(f"{key} = {col!r}: no such column in {where}{suggest(col, pool)}; {fix}")
    return bad
