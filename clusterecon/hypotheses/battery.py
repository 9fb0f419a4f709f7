"""``analyse(panel)``: the whole phase-hypothesis battery in one structured result.

Order: phase diagnosis first (its dates define the pioneers, the quantity-expansion years and the later period used
by the other tests, which receive the diagnosis instead of re-running it), then founders, spin-offs, stagnation,
education-driven innovation, innovation → performance, and the exit of non-innovators. Each hypothesis reports one
status per claim (the verdict contract of :mod:`.result`); a hypothesis the design cannot answer (T = 1, no spin-off
information, exits not observable) is skipped with its reason; an unexpected error — a bug — is recorded as
``failed`` with the message and the run continues.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from ..derive import deflate_money, designed_deflation
from ..panel import SurveyPanel
from ..provenance import ProvenanceEntry, ProvenanceLog
from ._common import SHORT_NAMES, derived_panel, run_hypothesis
from .exit import innovation_exit
from .founders import founder_origins
from .innovation import education_innovation
from .performance import innovation_performance
from .phases import date_origin, diagnose_phases, given_dates
from .result import HypothesisResult
from .spinoffs import spinoff_imitation
from .stagnation import productivity_stagnation


def one_cluster(panel: SurveyPanel, cluster: str | None) -> SurveyPanel:
    """``panel`` restricted to the firms of ``cluster`` (the firm column ``cluster``); the panel itself when it holds
    one cluster and none is named. Several clusters and no choice is a :class:`ValueError` listing them."""
    col = panel.firms["cluster"] if "cluster" in panel.firms.columns else None
    names = sorted(str(v) for v in col.dropna().unique()) if col is not None else []
    if cluster is None:
        if len(names) > 1:
            shown = ", ".join(map(repr, names[:10])) + (", …" if len(names) > 10 else "")
            raise ValueError(f"the survey holds {len(names)} clusters ({shown}); the battery dates the phases, sums "
                             "output and builds the price index of one cluster, so it analyses one at a time: "
                             f"choose one with --cluster {names[0]!r} (Python: analyse(panel, cluster=...))")
        return panel
    if str(cluster) not in names:
        near = difflib.get_close_matches(str(cluster), names, n=1)
        raise ValueError(f"cluster {cluster!r} is not in the survey" + (f" (did you mean {near[0]!r}?)" if near
                                                                       else "") + f"; its clusters: {names}")
    keep = col.index[col.astype("string") == str(cluster)]
    fid = panel.data.index.get_level_values("firm_id")
    return panel.replace(data=panel.data[fid.isin(keep)], firms=panel.firms.loc[keep])


class VerdictFrame(pd.DataFrame):
    """A DataFrame of verdicts whose text and HTML displays show every verdict in full (the research answer must
    never be cut with "…"); any operation on it gives a plain DataFrame."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def __repr__(self) -> str:
        import textwrap

        if not {"hypothesis", "status", "verdict"} <= set(self.columns):
            return pd.DataFrame(self).__repr__()
        blocks = []
        for key, row in self.iterrows():
            wrapped = textwrap.fill(str(row["verdict"]), width=100, initial_indent="    ",
                                    subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
            blocks.append(f"{key}: {row['hypothesis']} [{row['status']}]\n{wrapped}")
        return "\n".join(blocks)

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return pd.DataFrame(self).to_html(notebook=True)


@dataclass(frozen=True)
class AnalysisResult:
    """Every HypothesisResult of the battery, keyed in run order, plus the panel's structure and ``provenance``:
    the steps the battery took on the panel it was given (the cluster kept, the derived columns, TFP), which the
    report lists after the loader's."""

    structure: Mapping[str, Any]
    results: Mapping[str, HypothesisResult]
    options: Mapping[str, Any] = field(default_factory=dict)
    provenance: tuple[ProvenanceEntry, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", MappingProxyType(dict(self.results)))
        object.__setattr__(self, "structure", MappingProxyType(dict(self.structure)))

    @property
    def phases(self) -> HypothesisResult:
        return self.results["phases"]

    def __getitem__(self, key: str) -> HypothesisResult:
        return self.results[key]

    def verdicts(self) -> pd.DataFrame:
        """One row per hypothesis: title, status and the full verdict. Printed (``print(result.verdicts())``, a
        notebook) the verdict text is never cut: pandas' 50-character column limit does not apply."""
        return VerdictFrame([{"hypothesis": r.title, "status": r.status, "verdict": r.verdict}
                             for r in self.results.values()], index=list(self.results))

    def claims(self) -> pd.DataFrame:
        """One row per claim of every hypothesis: status, test, estimate, s.e., p, N (and what it counts), df, the
        evidence rule and the reason."""
        rows = [{"hypothesis": k, **c.row()} for k, r in self.results.items() for c in r.claims]
        return pd.DataFrame(rows)

    def summary(self) -> str:
        s = self.structure
        head = (f"clusterecon analysis: {s.get('firms')} firms, {s.get('firm_years')} firm-years, years "
                f"{s.get('years', [None])[0]}–{s.get('years', [None])[-1]}, design: {s.get('design')}")
        return "\n\n".join([head, *(r.summary() for r in self.results.values())])

    def __str__(self) -> str:
        return self.summary()


def analyse(panel: SurveyPanel, *, progress: Callable[[str], None] | None = None, vcov: str = "cluster",
            split_year: int | None = None, detail: bool = True, reps: int | None = None,
            expansion_start: int | None = None, quality_start: int | None = None,
            history_source: str | None = None, cluster: str | None = None,
            deflator: pd.DataFrame | str | Path | None = None, base_year: int | None = None) -> AnalysisResult:
    """Run the battery on ``panel``. ``progress`` is called with the name of each step as it starts;
    ``detail=False`` fits only the models the verdicts rest on (for Monte Carlo work); ``reps``: bootstrap draws of
    the phase dating (default 199). ``expansion_start`` / ``quality_start``: phase dates known from the cluster's
    history, used instead of dated ones (default: those ``panel.design`` carries, e.g. from a mapping's
    ``[history]``); a survey of survivors cannot date the take-off itself. ``history_source``: who gives the dates
    passed here (quoted, with the date, in every verdict that uses it). ``cluster``: the cluster to analyse when
    the survey holds several (the ``cluster`` column): phases, entry, the cluster's output and its price index are
    one cluster's, so several are never pooled — without ``cluster`` such a survey is a :class:`ValueError`, as is
    an impossible date, before anything runs. ``deflator``: a price index (a table or CSV file with ``year``,
    ``deflator`` and optionally ``industry``, e.g. the CPI) by which every money value is made real, in prices of
    ``base_year`` (default: the year whose index is 100 or 1), before anything is estimated
    (:func:`clusterecon.derive.deflate_money`): without it productivity, prices and profits are nominal, and a
    general inflation or deflation reads as a productivity or price trend. Default: the index the mapping's
    ``[deflator]`` names (``panel.design.deflator``), unless the panel is real already."""
    step = progress or (lambda _name: None)
    results: dict[str, HypothesisResult] = {}
    given_panel, panel = panel, one_cluster(panel, cluster)
    given_dates(panel, expansion_start, quality_start)  # a wrong date is the caller's mistake, not a failed test
    # before anything runs: a table that does not cover the survey is the caller's mistake
    if deflator is None:
        panel = designed_deflation(panel)  # the mapping's [deflator], if any
    else:
        panel = deflate_money(panel, deflator, base_year=base_year)
        if not isinstance(deflator, pd.DataFrame):
            panel = panel.replace(design=dataclasses.replace(panel.design, deflator=Path(deflator)))
    step("phase diagnosis")
    phases = run_hypothesis(lambda: diagnose_phases(panel, reps=reps, expansion_start=expansion_start,
                                                    quality_start=quality_start, history_source=history_source),
                            "phases", "Phase diagnosis", "Which phase is the cluster in?")
    results["phases"] = phases
    step("founders")
    results["founders"] = founder_origins(panel, phases=phases, detail=detail)
    step("spin-offs")
    results["spinoffs"] = spinoff_imitation(panel, phases=phases)
    step("productivity stagnation")
    results["stagnation"] = productivity_stagnation(panel, vcov=vcov, phases=phases)
    step("education and innovation")
    split = split_year if split_year is not None else phases.extra.get("quality_start")
    if split is None and split_year is None and phases.extra.get("quality_before_observed"):
        split = min(panel.years)  # every year observed is in quality improvement: the later period is all of them
    if split is not None and not any(y >= split for y in panel.years):
        split = None
    origin = date_origin(phases.extra, "quality") if split_year is None and split is not None else ""
    results["innovation"] = education_innovation(panel, split_year=split, vcov=vcov, detail=detail,
                                                 split_origin=origin)
    step("innovation and performance")
    results["performance"] = innovation_performance(panel, vcov=vcov)
    step("exit of non-innovators")
    results["exit"] = innovation_exit(panel, phases=phases)
    given = {k: phases.extra.get(k) if phases.extra.get(g) else None
             for k, g in (("expansion_start", "expansion_given"), ("quality_start", "quality_given"))}
    return AnalysisResult(structure=panel.structure(), results=results,
                          options={"vcov": vcov, "split_year": split, **given,
                                   "deflated_to": panel.design.deflated_to},
                          provenance=_steps(given_panel, panel, cluster, results.get("stagnation")))


def _steps(given: SurveyPanel, panel: SurveyPanel, cluster: str | None,
           stagnation: HypothesisResult | None) -> tuple[ProvenanceEntry, ...]:
    """What the battery did to the panel: the firm-years of other clusters left out, the columns it derived (the
    entries clusterecon.derive records) and the TFP it estimated."""
    log = ProvenanceLog()
    out = []
    if len(panel.data) < len(given.data):
        out.append(log.add("drop", f"kept cluster {cluster!r}: firm-years of the other clusters left out",
                           column="cluster", n_rows=len(given.data) - len(panel.data)))
    out += panel.provenance[len(given.provenance):]  # the deflation, when asked for
    # under the names the models' formulas use (log_va, not log_value_added): the steps explain the formulas
    out += [dataclasses.replace(e, column=SHORT_NAMES.get(e.column, e.column),
                                action=e.action.replace(e.column, SHORT_NAMES[e.column], 1))
            if e.column in SHORT_NAMES else e for e in derived_panel(panel).provenance[len(panel.provenance):]]
    measure = stagnation.extra.get("productivity_measure", "") if stagnation is not None else ""
    if measure.startswith("TFP"):
        src = stagnation.tables.get("TFP source")
        n = int(src["observations"].iloc[0]) if src is not None and "observations" in src else 0
        out.append(log.add("derive", f"log_tfp = {measure} (productivity stagnation)", column="log_tfp", n_rows=n))
    return tuple(out)
