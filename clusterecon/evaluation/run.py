"""Run every analysis a design file asks for, from the raw survey to the results the report lays out.

:func:`run_evaluation` loads the survey through its mapping (validation and provenance as ``analyse``), adds the
derived outcomes (logs, McKenzie–Woodruff scores, the Kling–Liebman–Katz index), then estimates, per outcome, the
ITT (ANCOVA, and DiD/POST when asked), the TOT by 2SLS, randomisation-inference p-values, Lee bounds, spillovers
and the staggered-adoption event study, and across outcomes the sharpened q-values and Romano–Wolf p-values. With
fewer than 30 clusters of randomisation the wild cluster bootstrap p-value is the one used for the multiple-testing
corrections and shown first in the report. A step that cannot run is recorded in ``problems`` with the reason;
nothing is dropped silently. Lee bounds are computed for the primary outcomes (``LEE_DRAWS`` bootstrap draws).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError
from .designfile import EvaluationSpec, design_column_mistakes

#: Bootstrap draws for the standard errors of the Lee bounds (primary outcomes only).
LEE_DRAWS = 250


@dataclass(frozen=True)
class EvaluationResult:
    spec: EvaluationSpec
    frame: pd.DataFrame
    panel: Any
    validation: Any
    provenance: list
    itt: dict[str, Any] = field(default_factory=dict)
    did: dict[str, Any] = field(default_factory=dict)
    post: dict[str, Any] = field(default_factory=dict)
    tot: dict[str, Any] = field(default_factory=dict)
    spillovers: dict[str, Any] = field(default_factory=dict)
    randomization: dict[str, Any] = field(default_factory=dict)
    lee: dict[str, Any] = field(default_factory=dict)
    attrition: tuple[pd.DataFrame, pd.DataFrame] | None = None
    staggered: dict[str, Any] = field(default_factory=dict)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    tot_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    romano_wolf: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    #: steps the design file describes but does not ask for (a section whose estimator is not listed): not run,
    #: said in the report and on the terminal, not counted as problems
    not_run: tuple[str, ...] = ()
    spillover_exposure: dict[str, Any] = field(default_factory=dict)
    outcomes: tuple[str, ...] = ()
    families: dict[str, tuple[str, ...]] = field(default_factory=dict)


def load_frame(spec: EvaluationSpec) -> tuple[pd.DataFrame, Any, Any, list, list[str]]:
    """(analysis frame, panel, validation report, provenance, notes) of the design file's data."""
    from ..derive import add_logs
    from ..load import load_survey

    res = load_survey(spec.data_file, spec.mapping, sheet=spec.sheet, encoding=spec.encoding,
                      allow_outside_paths=spec.allow_outside_paths)
    if res.panel is None:
        raise ValueError(f"the survey {spec.data_file.name} cannot be loaded:\n{res.report.to_text()}")
    panel = res.panel
    _check_named_columns(spec, panel.frame)
    notes: list[str] = []
    if spec.log:
        panel = add_logs(panel, spec.log, policy="na", prefix="log_")
        notes.append("logs: " + ", ".join(f"log_{c} = ln({c}), zeros and negatives set missing" for c in spec.log))
    frame = panel.frame
    if spec.practices:
        from .practices import add_practice_scores

        frame = add_practice_scores(frame)
        notes.extend(frame.attrs.get("notes", []))
    if spec.index:
        from .multiple import kling_index

        frame = kling_index(frame, spec.index["components"], spec.design, name=spec.index["name"],
                            signs=spec.index["signs"])
        notes.append(f"{spec.index['name']}: Kling-Liebman-Katz index of {', '.join(spec.index['components'])} "
                     "(z-scores against controls in each round, averaged over available components)")
    return frame, panel, res.report, list(getattr(res, "provenance", []) or []), notes


def _check_named_columns(spec: EvaluationSpec, frame: pd.DataFrame) -> None:
    """Every column the design file names, found before any derivation or estimate; all missing ones are listed
    at once as design-file mistakes (a missing column would otherwise stop one step half-way through)."""
    from .designfile import DesignFileError
    from .practices import SCORE

    derived = [f"log_{c}" for c in spec.log]
    if spec.practices:
        from .. import schema

        derived += [SCORE, *(f"practice_{a}" for a in schema.PRACTICE_AREAS)]
    if spec.index:
        derived.append(spec.index["name"])
    raw = [*frame.columns, *(n for n in frame.index.names if n is not None)]
    bad = design_column_mistakes(spec, raw, derived)
    if bad:
        raise DesignFileError(spec.path or spec.data_file, bad)


def run_evaluation(spec: EvaluationSpec, *, progress: Callable[[str], None] | None = None) -> EvaluationResult:
    """Every estimate the design file asks for (module docstring)."""
    from .attrition import attrition_table, lee_bounds
    from .itt import itt, tot
    from .multiple import romano_wolf_itt, sharpened_qvalues
    from .randomization import randomization_inference

    say = progress or (lambda _s: None)
    say(f"loading {spec.data_file.name}")
    frame, panel, validation, provenance, notes = load_frame(spec)
    design = spec.design.with_rounds(frame)
    _check_rounds(spec, frame, design)
    _require_comparison(spec, frame, design)
    problems: list[str] = []
    primary = list(spec.primary)
    secondary = list(spec.secondary)
    if spec.practices:
        if "practice_score" not in primary + secondary:
            primary.append("practice_score")
        secondary += [c for c in ("practice_marketing", "practice_stock", "practice_records", "practice_planning")
                      if c not in primary + secondary]
    if spec.index and spec.index["name"] not in primary + secondary:
        primary.append(spec.index["name"])
    outcomes = tuple(dict.fromkeys(primary + secondary))
    boot = {"B": spec.bootstrap_draws, "seed": spec.seed, "wild": spec.wild}
    ests = set(spec.estimators)

    def attempt(what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except SpecificationError as e:  # the data cannot support this step: the message says why and what to do
            problems.append(f"{what}: {e}")
            return None
        except Exception as e:  # noqa: BLE001 - a step the data cannot support is reported, the rest goes on
            problems.append(f"{what}: {type(e).__name__}: {e}")
            return None

    out: dict[str, dict[str, Any]] = {k: {} for k in ("itt", "did", "post", "tot", "spillovers", "randomization",
                                                       "lee", "spillover_exposure")}
    not_run = [f"{sec}: {sec.strip('[]')!r} is not in [analysis] estimators (add it to run "
               f"{'the spillover estimates' if sec == '[spillovers]' else 'the staggered-adoption event study'})"
               for sec in spec.unused_sections]
    if spec.randomization_inference and design.treated_cluster is not None:
        not_run.append("randomisation inference: the design is partial-population ([spillovers] treated_cluster), "
                       "whose two-stage assignment re-randomising the offer within strata would not reproduce")
    for o in outcomes:
        if o not in frame.columns:
            problems.append(f"outcome {o!r} is not in the data (after derivations); left out")
            continue
        say(f"ITT for {o}")
        if "ancova" in ests:
            r = attempt(f"ITT (ANCOVA) of {o}", lambda o=o: itt(frame, o, design, method="ancova", **boot))
            if r is not None:
                out["itt"][o] = r
        for method in ("did", "post"):
            if method in ests:
                r = attempt(f"ITT ({method}) of {o}", lambda o=o, m=method: itt(frame, o, design, method=m, **boot))
                if r is not None:
                    out[method][o] = r
        if "tot" in ests and design.takeup:
            r = attempt(f"TOT of {o}", lambda o=o: tot(frame, o, design, **boot))
            if r is not None:
                out["tot"][o] = r
        if "spillovers" in ests and design.treated_cluster:
            from .spillovers import spillover_effects, spillover_exposure

            r = attempt(f"spillovers on {o}", lambda o=o: spillover_effects(frame, o, design, **boot))
            if r is not None:
                out["spillovers"][o] = r
            if design.exposure:
                r = attempt(f"spillover per unit of exposure on {o}",
                            lambda o=o: spillover_exposure(frame, o, design, **boot))
                if r is not None:
                    out["spillover_exposure"][o] = r
        if spec.randomization_inference and design.treated_cluster is None:
            r = attempt(f"randomisation inference for {o}", lambda o=o: randomization_inference(
                frame, o, design, R=spec.randomization_inference, seed=spec.seed))
            if r is not None:
                out["randomization"][o] = r
        if "lee_bounds" in ests and o in primary:
            say(f"Lee bounds for {o}")
            plain = attempt(f"Lee bounds for {o}", lambda o=o: lee_bounds(frame, o, design, seed=spec.seed,
                                                                          B=LEE_DRAWS))
            tight = attempt(f"tightened Lee bounds for {o}", lambda o=o: lee_bounds(
                frame, o, design, tighten=spec.lee_tighten, seed=spec.seed, B=LEE_DRAWS)) if spec.lee_tighten else None
            if plain is not None:
                out["lee"][o] = (plain, tight)

    attrition = None
    if "attrition" in ests:
        say("attrition")
        attrition = attempt("attrition tables", lambda: attrition_table(
            frame, design, outcome=primary[0] if primary and primary[0] in frame.columns else None,
            covariates=tuple(c for c in outcomes[1:] if c in frame.columns)))

    rw = None
    fam_p = [o for o in primary if o in out["itt"]]
    if spec.romano_wolf and len(fam_p) > 1:
        say("Romano-Wolf")
        rw = attempt("Romano-Wolf p-values", lambda: romano_wolf_itt(frame, fam_p, design, B=min(
            spec.bootstrap_draws, 1999), seed=spec.seed))

    staggered: dict[str, Any] = {}
    if "staggered" in ests and design.first_treated:
        from .staggered import callaway_santanna, sun_abraham

        o = primary[0] if primary else outcomes[0]
        say(f"staggered adoption ({o})")
        cs = attempt("Callaway-Sant'Anna", lambda: callaway_santanna(
            frame, o, design.first_treated, control=spec.staggered_control,
            cluster=design.cluster if design.cluster in frame.columns else None))
        if cs is not None:
            staggered["cs"] = cs
            staggered["dynamic"] = cs.aggregate("dynamic")
            staggered["group"] = cs.aggregate("group")
            staggered["band"] = attempt("uniform band", lambda: cs.uniform_critical_value(
                staggered["dynamic"], seed=spec.seed))
        g = frame.copy()
        g[design.first_treated] = pd.to_numeric(g[design.first_treated], errors="coerce").fillna(0)
        sa = attempt("Sun-Abraham", lambda: sun_abraham(
            g, o, design.first_treated, cluster=design.cluster if design.cluster in frame.columns else None))
        if sa is not None:
            staggered["sa"] = sa
        staggered["outcome"] = o

    summary = _summary(out, rw, fam_p, [o for o in secondary if o in out["itt"]], design, sharpened_qvalues)
    tot_summary = _tot_summary(out["tot"])
    return EvaluationResult(
        spec=spec, frame=frame, panel=panel, validation=validation, provenance=provenance, **out,
        attrition=attrition, staggered=staggered, summary=summary, tot_summary=tot_summary, romano_wolf=rw,
        notes=tuple(notes), problems=tuple(problems), not_run=tuple(not_run), outcomes=outcomes,
        families={"primary": tuple(fam_p), "secondary": tuple(o for o in secondary if o in out["itt"])})


def _check_rounds(spec: EvaluationSpec, frame: pd.DataFrame, design: Any) -> None:
    """The rounds the design file names must be in the data: a baseline the survey does not have ran every step
    and listed each as failed (13 of them) instead of one design-file mistake."""
    from .design import round_values
    from .designfile import DesignFileError

    have = pd.unique(round_values(frame, design.round_column)).tolist()
    bad = [f"[rounds] {key} = {list(named)}: round(s) {', '.join(map(str, gone))} not in the data's "
           f"{design.round_column!r} (its rounds: {', '.join(map(str, sorted(have)))})"
           for key, named in (("baseline", design.baseline), ("follow_up", design.follow_up))
           if (gone := [r for r in named if r not in have])]
    if bad:
        raise DesignFileError(spec.path or spec.data_file, bad)


def _require_comparison(spec: EvaluationSpec, frame: pd.DataFrame, design: Any) -> None:
    """Stop before any step when the follow-up rounds have no control group or no offered firm: every estimate of
    the evaluation compares the two arms, so a report would only list the same failure for each step."""
    from .design import as_binary, require, require_both_arms, round_values

    require(frame, design.treatment)
    rows = np.isin(round_values(frame, design.round_column), design.follow_up)
    try:
        offer = as_binary(frame.loc[rows, design.treatment], design.treatment)
    except SpecificationError as e:  # a design-file mistake, named by its key: the column may be the wrong one
        from .designfile import DesignFileError

        raise DesignFileError(spec.path or spec.data_file, [f"[design] treatment = {design.treatment!r}: {e}"]) \
            from None
    require_both_arms(offer, design.treatment, "the effect of the offer")


def inference_pvalue(res: Any) -> tuple[float, str]:
    """The p-value the report uses for the treatment coefficient: the wild bootstrap's when one was run."""
    wb = res.extra.get("wild") if res.extra else None
    if wb is not None:
        return wb.pvalue, "wild bootstrap"
    name = next(n for n in res.names if n not in ("Intercept",))
    return float(res.pvalues[name]), "analytic"


def _summary(out: dict, rw: pd.DataFrame | None, primary: list[str], secondary: list[str], design: Any,
             qvalues: Callable) -> pd.DataFrame:
    rows = []
    T = design.treatment
    for fam, names in (("primary", primary), ("secondary", secondary)):
        ps = {}
        for o in names:
            r = out["itt"][o]
            wb = r.extra.get("wild")
            p_used = wb.pvalue if wb is not None else float(r.pvalues[T])
            ps[o] = p_used
            ci = wb.conf_int if wb is not None else tuple(r.conf_int().loc[T])
            ri = out["randomization"].get(o)
            rows.append({"family": fam, "outcome": o, "ITT": float(r.params[T]), "s.e.": float(r.std_errors[T]),
                         "p": float(r.pvalues[T]), "p (wild bootstrap)": wb.pvalue if wb is not None else np.nan,
                         "CI lower": ci[0], "CI upper": ci[1], "CI from": "wild bootstrap" if wb else "t",
                         "p (randomisation)": ri.pvalue if ri is not None else np.nan,
                         "p used": p_used, "N": r.nobs, "clusters": (r.variance.n_clusters or (np.nan,))[0]})
        if len(ps) > 0:
            q = qvalues(pd.Series(ps))
            for row in rows:
                if row["family"] == fam:
                    row["q (sharpened)"] = float(q[row["outcome"]])
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["p (Romano-Wolf)"] = df["outcome"].map(rw["p_romano_wolf"]) if rw is not None else np.nan
    return df.set_index("outcome")


def _tot_summary(tots: dict) -> pd.DataFrame:
    rows = []
    for o, r in tots.items():
        d = r.names[-1]
        ar = r.extra.get("ar_set")
        fs = next((v for k, v in r.stats.items() if k.startswith("First-stage F")), np.nan)
        rows.append({"outcome": o, "TOT": float(r.params[d]), "s.e.": float(r.std_errors[d]),
                     "p": float(r.pvalues[d]), "first-stage F": fs, "Anderson-Rubin set": str(ar) if ar else "",
                     "N": r.nobs})
    return pd.DataFrame(rows).set_index("outcome") if rows else pd.DataFrame()
