"""Run a replication spec: data → derived columns → models → table → comparison with the published numbers."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .spec import Spec, SpecError, estimator_function, load_spec


@dataclass(frozen=True)
class Replication:
    """What :func:`run_spec` produced. ``checks``: one row per published number (model, quantity, term,
    published, reproduced, difference, tolerance, ok); ``ok`` is ``None`` when the spec has no ``[expected]``."""

    spec: Spec
    results: dict[str, Any]
    table: Any
    checks: pd.DataFrame
    paths: dict[str, Path]
    data_note: str = ""

    @property
    def ok(self) -> bool | None:
        return None if self.checks.empty else bool(self.checks["ok"].all())

    def summary(self) -> str:
        lines = [self.spec.title]
        if self.data_note:
            lines.append(f"  data: {self.data_note}")
        for name, r in self.results.items():
            lines.append(f"  {name}: {r.model}, N = {r.nobs}" + (f", {r.n_entities} entities"
                                                                   if getattr(r, "n_entities", None) else ""))
        if self.checks.empty:
            lines.append("  no published numbers given ([expected]); nothing to compare")
        else:
            bad = self.checks[~self.checks["ok"]]
            src = "; ".join(sorted({s for s in self.checks["source"] if s}))
            lines.append(f"  published numbers: {len(self.checks)} compared, {len(bad)} outside tolerance"
                         + (f" (source: {src})" if src else ""))
            for r in bad.itertuples():
                if r.missing:  # a published term the model does not have: say so, not "got nan"
                    lines.append(f"    NOT REPRODUCED {r.model} {r.quantity} {r.term}: published {r.published:g}, "
                                 f"but {r.missing}")
                    continue
                lines.append(f"    NOT REPRODUCED {r.model} {r.quantity} {r.term}: published {r.published:g}, got "
                             f"{r.reproduced:.6g} (difference {r.difference:.3g}, tolerance {r.tolerance:.3g})")
            lines.append("  REPRODUCED" if bad.empty else "  NOT REPRODUCED")
        if self.paths:
            lines.append("  table: " + ", ".join(str(p) for p in self.paths.values()))
        return "\n".join(lines)


def prepare_data(spec: Spec, *, file: str | os.PathLike | None = None,
                 mapping: str | os.PathLike | None = None, allow_outside_paths: bool = False,
                 ) -> tuple[pd.DataFrame, str]:
    """The estimation frame of ``spec`` (indexed by the spec's (entity, time)) and a one-line description.

    ``file``/``mapping`` override the spec's data (run a template on your own survey)."""
    from .expr import ExpressionError, evaluate

    d = spec.data
    index = d.index
    if file is not None or mapping is not None or d.file is not None or d.sample is not None:
        frame, note = _survey_frame(spec, file, mapping, allow_outside_paths)
        # a survey read through a mapping is a panel of (firm_id, year), whatever the spec's own data called them
        index = ("firm_id", "year")
    else:
        from .datasets import load_dataset

        frame, note = load_dataset(d.dataset), f"dataset {d.dataset}"
    missing = [c for c in d.rename if c not in frame.columns]
    if missing:
        raise SpecError(f"{_src(spec)}[data.rename]: no column(s) {missing} in the data")
    after = [d.rename.get(c, c) for c in frame.columns]
    clash = sorted({c for c in after if after.count(c) > 1})
    if clash:
        raise SpecError(f"{_src(spec)}[data.rename]: the renamed data would have two columns called "
                        f"{', '.join(repr(c) for c in clash)}; rename the existing column too or choose another name")
    frame = frame.rename(columns=d.rename)
    for name, expr in d.derive.items():
        try:
            frame[name] = evaluate(expr, frame, index)
        except ExpressionError as e:
            raise SpecError(f"{_src(spec)}[data.derive] {name}: {e}") from None
    if d.filter:
        try:
            keep = evaluate(d.filter, frame, index)
        except ExpressionError as e:
            raise SpecError(f"{_src(spec)}[data] filter: {e}") from None
        n0 = len(frame)
        frame = frame[keep.fillna(0).astype(bool).to_numpy()]
        if n0 and not len(frame):
            raise SpecError(f"{_src(spec)}[data] filter {d.filter!r} keeps none of the {n0:,} rows; check the "
                            "condition (and the units of the columns it uses)")
        note += f"; filter {d.filter!r} keeps {len(frame)} of {n0} rows"
    if not index:
        raise SpecError(f"{_src(spec)}[data] index = [entity, time] is needed for dataset {d.dataset!r}")
    absent = [c for c in index if c not in frame.columns]
    if absent:
        raise SpecError(f"{_src(spec)}[data] index: no column(s) {absent}; columns: {list(frame.columns)[:30]}")
    return frame.set_index(list(index)).sort_index(), note


def _survey_frame(spec: Spec, file, mapping, allow_outside_paths: bool) -> tuple[pd.DataFrame, str]:
    d = spec.data
    if file is None and mapping is None and d.sample in ("garments", "machinery"):
        from ..samples import sample_panel

        panel = sample_panel(d.sample)
        return panel.frame.reset_index(), f"bundled sample: {panel.design.source}"
    from ..load import load_survey

    if file is None and mapping is None:
        if d.sample == "survey":
            from ..samples import bundled_sample

            file, mapping = bundled_sample()
        elif d.sample is not None:
            raise SpecError(f"{_src(spec)}[data] sample = {d.sample!r}: choose garments, machinery or survey")
        else:
            file, mapping = d.file, d.mapping
    res = load_survey(file, mapping, sheet=d.sheet, encoding=d.encoding, allow_outside_paths=allow_outside_paths)
    if res.panel is None:
        raise SpecError(f"the survey {file} has validation errors; run 'clusterecon validate' on it:\n"
                        + res.report.to_text())
    return res.panel.frame.reset_index(), f"survey {file} ({res.report.summary_line()})"


_NAME = re.compile(r"(?<![\w.\"'])[A-Za-z_]\w*(?![\w\"'])(?!\s*\()")


def _rename_names(text: str, rename: dict[str, str]) -> str:
    """``text`` (a formula or expression) with every column name in ``rename`` replaced (functions are not)."""
    return _NAME.sub(lambda m: rename.get(m.group(0), m.group(0)), text)


def translate_spec(spec: Spec, rename: dict[str, str]) -> Spec:
    """``spec`` with its column names translated by a mapping's ``[rename]`` (raw name → canonical name): the index,
    ``[data]`` rename/derive/filter, model formulas and column options (cluster, entity, time, margins' dydx),
    ``[table]`` labels/order/keep/drop and the ``[expected]`` term names. So a spec written with one survey's raw
    names (``fcode``, ``scrap``) runs on any file whose mapping renames those names (``fcode = "firm_id"``)."""
    import dataclasses

    if not rename:
        return spec

    def name(x: Any) -> Any:
        return rename.get(x, x) if isinstance(x, str) else x

    def names(xs: Any) -> Any:
        return [name(x) for x in xs] if isinstance(xs, (list, tuple)) else name(xs)

    d = spec.data
    data = dataclasses.replace(
        d, index=tuple(names(d.index)), rename={name(k): v for k, v in d.rename.items()},
        derive={k: _rename_names(v, rename) for k, v in d.derive.items()},
        filter=_rename_names(d.filter, rename) if d.filter else d.filter)
    models = []
    for m in spec.models:
        opts = {k: (names(v) if k in ("cluster", "entity", "time") else v) for k, v in m.options.items()}
        marg = dict(m.margins) if m.margins is not None else None
        if marg and "dydx" in marg:
            marg["dydx"] = names(marg["dydx"])
        models.append(dataclasses.replace(m, formula=_rename_names(m.formula, rename), options=opts, margins=marg))
    table = dict(spec.table)
    for key in ("order", "keep", "drop"):
        if key in table:
            table[key] = names(table[key])
    if "labels" in table:
        table["labels"] = {name(k): v for k, v in table["labels"].items()}
    expected = {}
    for k, e in spec.expected.items():
        fields = {f.name for f in dataclasses.fields(e)}
        upd = {q: {name(t): v for t, v in getattr(e, q).items()} for q in ("coef", "se") if q in fields}
        expected[k] = dataclasses.replace(e, **upd)
    return dataclasses.replace(spec, data=data, models=tuple(models) if isinstance(spec.models, tuple) else models,
                               table=table, expected=expected)


def _src(spec: Spec) -> str:
    return f"{spec.path}: " if spec.path else ""


def run_spec(spec: Spec | str | os.PathLike | dict, out_dir: str | os.PathLike | None = None, *,
             file: str | os.PathLike | None = None, mapping: str | os.PathLike | None = None,
             allow_outside_paths: bool = False) -> Replication:
    """Run every model of ``spec``, build the table, compare with ``[expected]``, and (with ``out_dir``) write
    ``<stem>.tex`` (table float), ``<stem>_tabular.tex`` (bare tabular for ``\\input``), ``.md``, ``.html``,
    ``.csv`` and ``<stem>_checks.csv``.

    Files named in the spec (and in its mapping) must be inside the spec's (mapping's) folder unless
    ``allow_outside_paths`` (:mod:`clusterecon.io.paths`)."""
    from ..report.tables import regression_table

    if not isinstance(spec, Spec):
        spec = load_spec(spec, allow_outside_paths=allow_outside_paths)
    translated = ""
    if mapping is not None:  # the user's survey: the spec's names go through the user's mapping
        from ..io import as_mapping

        ren = dict(as_mapping(mapping, lenient=True, allow_outside_paths=allow_outside_paths).rename)
        used = {k: v for k, v in ren.items() if k != v and _mentions(spec, k)}
        spec = translate_spec(spec, used)
        if used:
            translated = "; spec names translated by the mapping: " + ", ".join(f"{k} → {v}" for k, v in used.items())
    from ..report.folder import visible_stem

    stem_name = visible_stem(spec.path.stem, "replication") if spec.path else "replication"
    if out_dir is not None:  # before the slow work; never over the inputs or a file clusterecon did not write
        from ..report.folder import check_out_files

        check_out_files(out_dir, [*(f"{stem_name}.{x}" for x in ("tex", "md", "html", "csv")),
                                  f"{stem_name}_tabular.tex", f"{stem_name}_checks.csv"],
                        inputs=_input_files(spec, file, mapping, allow_outside_paths))
    frame, note = prepare_data(spec, file=file, mapping=mapping, allow_outside_paths=allow_outside_paths)
    note += translated
    results: dict[str, Any] = {}
    for m in spec.models:
        fn = estimator_function(m.estimator)
        try:
            r = fn(frame, m.formula, **m.options)
        except Exception as e:
            raise type(e)(f"model {m.name!r} ({m.estimator} {m.formula!r}): {e}") from e
        if m.margins is not None:
            from ..estimators.margins import margins

            r = margins(r, **m.margins)
        results[m.name] = r
    t = dict(spec.table)
    title = t.pop("title", spec.title)
    if "stars" in t:
        t["stars"] = tuple(t["stars"])
    names = t.pop("model_names", list(results))
    notes = list(t.pop("notes", []))
    if spec.source:
        notes.append(f"Source: {spec.source}")
    if note.startswith(("bundled sample", "survey")):  # canonical survey columns: the codebook's labels by default
        from ..schema import LABELS

        t["labels"] = {**LABELS, **t.get("labels", {})}
    table = regression_table(results, model_names=names, caption=title, notes=notes, **t)
    checks = compare(spec, results)
    paths: dict[str, Path] = {}
    if out_dir is not None:
        from ..report.folder import record_written_files

        out = Path(out_dir)
        stem = out / stem_name
        fit = table.fitting_latex_options()  # fits a 10pt article's line (see report.latex.fitting_options)
        paths = dict(table.save(stem, label=f"tab:{stem.name}", **fit))
        bare = stem.with_name(stem.name + "_tabular.tex")
        bare.write_text(table.to_latex(float=False, **fit), encoding="utf-8")
        paths["tabular"] = bare
        if not checks.empty:
            paths["checks"] = stem.with_name(stem.name + "_checks.csv")
            from ..report.render import csv_safe

            csv_safe(checks).to_csv(paths["checks"], index=False)
        record_written_files(out, paths.values())
    return Replication(spec, results, table, checks, paths, note)


def _input_files(spec: Spec, file: str | os.PathLike | None, mapping: str | os.PathLike | None,
                 allow_outside_paths: bool) -> list[Path | str | os.PathLike | None]:
    """The files a run of ``spec`` reads: the spec, its data and mapping (or ``file``/``mapping``) and the mapping's
    firm table."""
    m = mapping if mapping is not None else (spec.data.mapping if file is None else None)
    found: list[Path | str | os.PathLike | None] = [spec.path, file if file is not None else spec.data.file, m]
    if m is not None:
        try:
            from ..io import as_mapping

            firms = as_mapping(m, lenient=True, allow_outside_paths=allow_outside_paths).firms
            found.append(firms.file if firms is not None else None)
        except Exception:  # noqa: BLE001 - a mapping that cannot be read is reported when the data are loaded
            pass
    return found


def _mentions(spec: Spec, name: str) -> bool:
    """Whether ``name`` occurs as a column name anywhere in ``spec``."""
    texts = [spec.data.filter or "", *spec.data.derive.values(), *spec.data.index, *spec.data.rename,
             *(m.formula for m in spec.models), *(str(v) for m in spec.models for v in m.options.values()),
             *(str(m.margins) for m in spec.models if m.margins), str(spec.table)]
    texts += [t for e in spec.expected.values() for q in ("coef", "se") for t in getattr(e, q, {})]
    return any(name in _NAME.findall(t) or t == name for t in texts)


def compare(spec: Spec, results: dict[str, Any]) -> pd.DataFrame:
    """One row per published number of ``spec.expected`` with the reproduced value and whether it is within
    tolerance. A published term the model does not have is a failed check (never skipped), and ``missing`` says
    so, with the closest term the model has."""
    import difflib

    rows = []
    for name, exp in spec.expected.items():
        r = results[name]
        tol = exp.tolerance
        items: list[tuple[str, str, float, float]] = []
        for q, table, series in (("coef", exp.coef, r.params), ("se", exp.se, r.std_errors)):
            for term, v in table.items():  # v as read (its printed digits set a `printed` tolerance)
                items.append((q, term, v, float(series[term]) if term in series.index else float("nan")))
        for term, v in exp.stats.items():
            got = r.stats.get(term, r.glance().get(term)) if hasattr(r, "glance") else r.stats.get(term)
            items.append(("stat", term, v, float(got) if got is not None else float("nan")))
        for q, v in (("nobs", exp.nobs), ("n_entities", exp.n_entities)):
            if v is not None:
                got = getattr(r, q, None)
                rows.append({"model": name, "quantity": q, "term": "", "published": float(v),
                             "reproduced": float(got) if got is not None else float("nan"),
                             "difference": (float(got) - v) if got is not None else float("nan"), "tolerance": 0.0,
                             "ok": got is not None and int(got) == int(v), "source": exp.source, "missing": ""})
        for q, term, written, got in items:
            pub = float(written)
            diff = got - pub
            t = tol.of(written)
            have = list(r.params.index) if q != "stat" else sorted({*r.stats, *(r.glance() if hasattr(r, "glance")
                                                                                else {})})
            missing = ""
            if term not in have:
                near = difflib.get_close_matches(term, [str(h) for h in have], n=1)
                missing = (f"the model has no {'statistic' if q == 'stat' else 'term'} {term!r}"
                           + (f" (did you mean {near[0]!r}?)" if near else ""))
            rows.append({"model": name, "quantity": q, "term": term, "published": pub, "reproduced": got,
                         "difference": diff, "tolerance": t, "ok": bool(abs(diff) <= t), "source": exp.source,
                         "missing": missing})
    return pd.DataFrame(rows, columns=["model", "quantity", "term", "published", "reproduced", "difference",
                                       "tolerance", "ok", "source", "missing"]).fillna({"missing": ""})
