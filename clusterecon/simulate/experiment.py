r"""A management-training experiment in industrial clusters, simulated with known effects.

Firms i in clusters c are surveyed at a baseline round and ``follow_ups`` annual follow-up rounds. Log sales are

.. math:: \ln s_{it} = \mu + \lambda_t + u_c + a_i + e_{it} + \tau D_{it} + \sigma S_{it} + \nu x_{it},

with cluster effects u_c ~ N(0, ``cluster_sd``²), firm effects a_i and shocks e_it giving outcome autocorrelation
``rho`` and variance ``sigma``² (McKenzie 2012's equicorrelated design), D_it = 1 once the firm attended training
(take-up), S_it = 1 for a firm not offered training in a treated cluster (spillover ``spillover``), and x_it the
share of the firm's network contacts offered training (``network_spillover``). Assignment (``assignment``):

* ``"firm"``: a share ``treated_share`` of the firms of each stratum is offered training;
* ``"cluster"``: whole clusters are offered (stratified by cluster size class);
* ``"partial"``: clusters are randomised to treatment, then ``within_share`` of the firms of treated clusters are
  offered (partial-population design: offered, not offered in treated clusters, pure control);
* ``"staggered"``: clusters are trained in the years of ``rollout_years`` (equal shares, the rest never), with an
  effect that grows by ``dynamic`` per year since training (for Callaway–Sant'Anna / Sun–Abraham).

Take-up: offered firms attend with probability ``takeup``, others with ``control_takeup``. The 26 McKenzie–Woodruff
practices are yes/no items with P(yes) = Λ(b_i + d_j + κ D_it); the practice score is their share. Attrition in
follow-ups: a firm is not interviewed with probability ``attrition`` (control) or ``attrition_treated`` (offered);
one latent draw per firm-round, shared by both potential assignments, makes attrition monotone in assignment (Lee
2009's assumption) and ``attrition_selectivity`` ∈ [0, 1) correlates it with low outcomes.

:func:`simulate_experiment` returns an :class:`Experiment`: the canonical firm-year frame, the truth (ITT, TOT,
spillover, practice-score effects as population values) and :meth:`Experiment.write` writes what fieldwork would
deliver: a raw CSV with the survey's own names and codes, the mapping TOML that loads it, and an evaluation design
TOML for ``clusterecon evaluate``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .. import schema

ASSIGNMENTS = ("firm", "cluster", "partial", "staggered")


@dataclass(frozen=True)
class ExperimentParams:
    """Knobs of the simulated training experiment (module docstring)."""

    n_clusters: int = 20
    firms_per_cluster: int = 15
    follow_ups: int = 2
    baseline_year: int = 2010
    assignment: str = "firm"
    treated_share: float = 0.5
    within_share: float = 0.5
    n_strata: int = 2
    takeup: float = 0.7
    control_takeup: float = 0.0
    effect: float = 0.2
    practice_effect: float = 0.8
    spillover: float = 0.0
    network_spillover: float = 0.0
    network_degree: int = 4
    attrition: float = 0.1
    attrition_treated: float | None = None
    attrition_selectivity: float = 0.0
    rho: float = 0.5
    sigma: float = 0.8
    cluster_sd: float = 0.3
    mean_log_sales: float = 11.0
    rollout_years: tuple[int, ...] = ()
    dynamic: float = 0.0

    def __post_init__(self) -> None:
        if self.assignment not in ASSIGNMENTS:
            raise ValueError(f"assignment must be one of {ASSIGNMENTS}, got {self.assignment!r}")
        if not 0 <= self.rho < 1:
            raise ValueError("rho must lie in [0, 1)")
        for name in ("treated_share", "within_share", "takeup", "control_takeup", "attrition"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1]")
        if not 0 <= self.attrition_selectivity < 1:
            raise ValueError("attrition_selectivity must lie in [0, 1)")
        if self.assignment == "staggered" and not self.rollout_years:
            raise ValueError("assignment='staggered' needs rollout_years, e.g. (2011, 2012)")

    @property
    def p_attrit_treated(self) -> float:
        return self.attrition if self.attrition_treated is None else self.attrition_treated

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.baseline_year, self.baseline_year + self.follow_ups + 1))

    def replace(self, **kw: Any) -> ExperimentParams:
        return replace(self, **kw)


@dataclass(frozen=True)
class Experiment:
    """A simulated experiment: ``frame`` (canonical firm-year data indexed by firm_id, year), ``params`` and
    ``truth`` (population effects: ``itt``, ``tot``, ``spillover``, ``practice_itt``, ``practice_tot``, ``itt_by_year``
    for staggered designs: {event time: effect})."""

    frame: pd.DataFrame
    params: ExperimentParams
    truth: dict[str, Any] = field(default_factory=dict)

    def write(self, out_dir: str | Path, *, name: str = "training_trial") -> dict[str, Path]:
        """Raw survey CSV + mapping TOML + evaluation design TOML in ``out_dir`` (see :func:`write_experiment`)."""
        return write_experiment(self, out_dir, name=name)


def _practice_prob(b: np.ndarray, d: np.ndarray, kappa: float, D: np.ndarray) -> np.ndarray:
    return special.expit(b[:, None] + d[None, :] + kappa * D[:, None])


def simulate_experiment(params: ExperimentParams | None = None, *, seed: Any = None, **kw: Any) -> Experiment:
    """Simulate one training experiment (module docstring); keywords override ``params`` fields."""
    p = (params or ExperimentParams()).replace(**kw) if kw else (params or ExperimentParams())
    rng = np.random.default_rng(seed)
    C, F = p.n_clusters, p.firms_per_cluster
    n = C * F
    years = np.array(p.years)
    T = len(years)
    cluster = np.repeat(np.arange(C), F)
    firm_ids = np.array([f"F{c + 1:03d}-{j + 1:02d}" for c in range(C) for j in range(F)])
    u = rng.normal(0, p.cluster_sd, C)
    a = rng.normal(0, np.sqrt(p.rho) * p.sigma, n)
    e = rng.normal(0, np.sqrt(1 - p.rho) * p.sigma, (n, T))
    lam = 0.03 * np.arange(T)
    y0 = p.mean_log_sales + lam[None, :] + (u[cluster] + a)[:, None] + e  # untreated potential log sales

    # strata: baseline size classes (within cluster for firm-level assignment, of clusters otherwise)
    size = y0[:, 0]
    if p.assignment == "firm":
        strata = np.zeros(n, dtype=int)
        for c in range(C):
            idx = np.flatnonzero(cluster == c)
            strata[idx] = c * p.n_strata + _ranks(size[idx], p.n_strata)
    else:
        cmean = pd.Series(size).groupby(cluster).mean().to_numpy()
        strata = _ranks(cmean, p.n_strata)[cluster]
    offered = np.zeros(n, dtype=bool)
    treat_cluster = np.zeros(n, dtype=bool)
    first_year = np.full(n, np.nan)
    if p.assignment == "firm":
        for s in np.unique(strata):
            idx = np.flatnonzero(strata == s)
            offered[rng.choice(idx, size=int(round(p.treated_share * len(idx))), replace=False)] = True
    else:
        cstrata = strata[np.arange(C) * F]
        tc = np.zeros(C, dtype=bool)
        for s in np.unique(cstrata):
            idx = np.flatnonzero(cstrata == s)
            tc[rng.choice(idx, size=int(round(p.treated_share * len(idx))), replace=False)] = True
        treat_cluster = tc[cluster]
        if p.assignment == "cluster":
            offered = treat_cluster.copy()
        elif p.assignment == "partial":
            for c in np.flatnonzero(tc):
                idx = np.flatnonzero(cluster == c)
                offered[rng.choice(idx, size=int(round(p.within_share * len(idx))), replace=False)] = True
        else:  # staggered: treated clusters split over the roll-out years
            order = rng.permutation(np.flatnonzero(tc))
            waves = np.array_split(order, len(p.rollout_years))
            cyear = np.full(C, np.nan)
            for yr, w in zip(p.rollout_years, waves):
                cyear[w] = yr
            first_year = cyear[cluster]
            offered = treat_cluster.copy()

    # take-up (attendance) happens between baseline and the first follow-up (or in the roll-out year)
    attends = np.where(offered, rng.random(n) < p.takeup, rng.random(n) < p.control_takeup)
    start = np.where(np.isnan(first_year), years[1], first_year) if p.assignment == "staggered" else \
        np.full(n, years[1] if T > 1 else years[0])
    D = (attends[:, None] & (years[None, :] >= start[:, None])).astype(float)
    if p.assignment == "staggered":
        D = D * (~np.isnan(first_year))[:, None]
    event = years[None, :] - start[:, None]
    tau = p.effect * (1 + p.dynamic * np.maximum(event, 0))
    post = years[None, :] >= (years[1] if T > 1 else years[0])
    S = ((treat_cluster & ~offered)[:, None] & post).astype(float)
    exposure = _network_exposure(rng, cluster, offered, p.network_degree)
    X = exposure[:, None] * post
    logs = y0 + tau * D + p.spillover * S + p.network_spillover * X

    # practices: 26 items
    b = rng.normal(-0.3, 1.0, n)
    dj = np.linspace(1.2, -1.2, len(schema.PRACTICE_ITEMS))
    items = np.empty((n, T, len(dj)), dtype=bool)
    for t in range(T):
        items[:, t, :] = rng.random((n, len(dj))) < _practice_prob(b, dj, p.practice_effect, D[:, t])

    # attrition in follow-ups: monotone in assignment, optionally selective on low outcomes
    z = (logs - logs.mean()) / logs.std()
    sel = p.attrition_selectivity
    latent = special.ndtr(-sel * z + np.sqrt(1 - sel**2) * rng.standard_normal((n, T)))
    p_att = np.where(offered, p.p_attrit_treated, p.attrition)[:, None]
    attrited = (latent < p_att) & (np.arange(T)[None, :] > 0)
    closed = attrited & (rng.random((n, T)) < 0.4)

    rows = pd.DataFrame({
        "firm_id": np.repeat(firm_ids, T), "year": np.tile(years, n),
        "cluster": np.repeat(np.array([f"C{c + 1:02d}" for c in cluster]), T),
        "strata_id": np.repeat(np.array([f"S{s + 1:02d}" for s in strata]), T),
        "treat_offered": np.repeat(offered, T), "assignment_level": np.repeat(
            "firm" if p.assignment == "firm" else "cluster", n * T),
        "treat_cluster": np.repeat(treat_cluster, T),
        "survey_round": np.tile(np.arange(1, T + 1), n),
        "round_type": np.tile(np.where(np.arange(T) == 0, "baseline", "follow_up"), n),
        "treat_attended": D.ravel().astype(bool),
        "attrited": attrited.ravel(),
        "attrition_reason": np.where(attrited.ravel(), np.where(closed.ravel(), "closed", "refused"), None),
        "sales": np.exp(logs.ravel()).round(2),
        "network_exposure": np.where(post, exposure[:, None], 0.0).ravel(),
    })
    if p.assignment == "staggered":
        rows["first_treated_year"] = np.repeat(first_year, T)
    for j, (name, _, _) in enumerate(schema.PRACTICE_ITEMS):
        rows[name] = items[:, :, j].ravel()
    miss = rows["attrited"].to_numpy()
    for col in ["sales", *(nm for nm, _, _ in schema.PRACTICE_ITEMS)]:
        rows[col] = rows[col].astype("float64").where(~miss)
    rows["mgmt_practice_score"] = rows[[nm for nm, _, _ in schema.PRACTICE_ITEMS]].mean(axis=1, skipna=False)
    for col in [nm for nm, _, _ in schema.PRACTICE_ITEMS]:
        rows[col] = rows[col].astype("boolean")
    frame = rows.set_index(["firm_id", "year"]).sort_index()
    truth = _truth(p, b, dj)
    return Experiment(frame=frame, params=p, truth=truth)


def _ranks(x: np.ndarray, k: int) -> np.ndarray:
    """0..k−1 size classes of x (equal counts)."""
    k = max(1, min(k, len(x)))
    order = np.argsort(np.argsort(x, kind="stable"), kind="stable")
    return (order * k // len(x)).astype(int)


def _network_exposure(rng: np.random.Generator, cluster: np.ndarray, offered: np.ndarray, degree: int) -> np.ndarray:
    """Share of each firm's ``degree`` random contacts in its own cluster that were offered training."""
    out = np.zeros(len(cluster))
    for c in np.unique(cluster):
        idx = np.flatnonzero(cluster == c)
        for i in idx:
            others = idx[idx != i]
            if len(others) == 0:
                continue
            k = min(degree, len(others))
            out[i] = offered[rng.choice(others, size=k, replace=False)].mean()
    return out


def _truth(p: ExperimentParams, b: np.ndarray, dj: np.ndarray) -> dict[str, Any]:
    """Population effects implied by the parameters (practice effects averaged over this sample's firm draws)."""
    first = p.effect
    pr1 = _practice_prob(b, dj, p.practice_effect, np.ones(len(b))).mean(axis=1)
    pr0 = _practice_prob(b, dj, p.practice_effect, np.zeros(len(b))).mean(axis=1)
    practice_tot = float((pr1 - pr0).mean())
    complier = p.takeup - p.control_takeup
    truth: dict[str, Any] = {
        "tot": first, "late": first, "itt": first * complier, "first_stage": complier,
        "spillover": p.spillover, "network_spillover": p.network_spillover,
        "practice_tot": practice_tot, "practice_itt": practice_tot * complier,
        "attrition_control": p.attrition, "attrition_treated": p.p_attrit_treated,
        "params": asdict(p),
    }
    if p.assignment == "staggered":
        horizon = p.follow_ups
        truth["event_effects"] = {e: p.effect * p.takeup * (1 + p.dynamic * e) for e in range(horizon + 1)}
        truth["itt"] = None
    if p.assignment == "partial":
        truth["itt"] = first * complier  # offered vs pure control
    return truth


# ------------------------------------------------------------------------------------------------ raw files
#: canonical → raw names of the experiment survey (the survey's own codebook)
RAW_NAMES = {
    "firm_id": "fid", "year": "yr", "cluster": "clus", "strata_id": "stratum", "treat_offered": "offer",
    "assignment_level": "randlevel", "treat_cluster": "tclus", "survey_round": "wave", "round_type": "wavetype",
    "treat_attended": "attend", "attrited": "notfound", "attrition_reason": "whynot", "sales": "sales_k",
    "network_exposure": "netshare", "first_treated_year": "yrtrained",
}
_YESNO = ("treat_offered", "treat_cluster", "treat_attended", "attrited")


def raw_frame(exp: Experiment) -> pd.DataFrame:
    """The experiment as fieldwork delivers it: survey names, yes = 1 / no = 2, sales in thousands, −9 for missing
    answers of interviewed firms, practice items as q1..q26 (1 yes, 2 no)."""
    df = exp.frame.reset_index()
    out = pd.DataFrame()
    for canon, raw in RAW_NAMES.items():
        if canon not in df.columns:
            continue
        s = df[canon]
        if canon in _YESNO:
            out[raw] = np.where(s.astype(bool), 1, 2)
        elif canon == "sales":
            out[raw] = (s / 1000).round(5).where(s.notna(), -9.0)
        else:
            out[raw] = s
    for j, (name, _, _) in enumerate(schema.PRACTICE_ITEMS):
        s = df[name]
        out[f"q{j + 1}"] = np.where(s.isna(), -9, np.where(s.fillna(False).astype(bool), 1, 2))
    return out


def mapping_toml(source: str, name: str, columns: list[str]) -> str:
    """Mapping of :func:`raw_frame` (its raw ``columns``) onto the canonical schema (format: docs/mapping.md)."""
    lines = [f"# Mapping of {source} (simulated training experiment) onto clusterecon's canonical schema.",
             f'name = "{name}"', "", "[source]", f'file = "{source}"', "", "[survey]", 'design = "rounds"',
             "exits_observable = false", "", "[rename]"]
    back = {raw: canon for canon, raw in RAW_NAMES.items()}
    back.update({f"q{j + 1}": nm for j, (nm, _, _) in enumerate(schema.PRACTICE_ITEMS)})
    lines += [f'{raw} = "{back[raw]}"' for raw in columns]
    for col in (*_YESNO, *(nm for nm, _, _ in schema.PRACTICE_ITEMS)):
        lines += ["", f"[codes.{col}]", "1 = true", "2 = false"]
    lines += ["", "[missing.codes]", '"-9" = "no answer (firm not interviewed)"', "", "[scale]",
              'sales = "thousands"']
    return "\n".join(lines) + "\n"


def design_toml(exp: Experiment, *, data: str, mapping: str, title: str) -> str:
    """Evaluation design (``clusterecon evaluate``) for the simulated experiment."""
    p = exp.params
    yrs = p.years
    level = "firm" if p.assignment == "firm" else "cluster"
    lines = [f'title = "{title}"', "", "[data]", f'file = "{data}"', f'mapping = "{mapping}"',
             'log = ["sales"]', "", "[design]", 'treatment = "treat_offered"', 'takeup = "treat_attended"',
             'strata = "strata_id"', f'assignment = "{level}"', 'cluster = "cluster"', 'attrition = "attrited"',
             "", "[rounds]", 'column = "year"', f"baseline = [{yrs[0]}]",
             "follow_up = [" + ", ".join(str(y) for y in yrs[1:]) + "]", "", "[outcomes]",
             'primary = ["log_sales"]', 'practices = true', "", "[analysis]",
             'estimators = ["ancova", "did", "tot", "attrition", "lee_bounds"]', "romano_wolf = true",
             f"randomization_inference = {0 if p.assignment == 'partial' else 999}", "seed = 1"]
    if p.assignment == "partial":
        lines += ["", "[spillovers]", 'treated_cluster = "treat_cluster"', 'exposure = "network_exposure"']
        lines[lines.index('estimators = ["ancova", "did", "tot", "attrition", "lee_bounds"]')] = \
            'estimators = ["ancova", "did", "tot", "attrition", "lee_bounds", "spillovers"]'
    if p.assignment == "staggered":
        lines += ["", "[staggered]", 'first_treated = "first_treated_year"']
        lines[lines.index('estimators = ["ancova", "did", "tot", "attrition", "lee_bounds"]')] = \
            'estimators = ["staggered", "attrition"]'
    return "\n".join(lines) + "\n"


def write_experiment(exp: Experiment, out_dir: str | Path, *, name: str = "training_trial") -> dict[str, Path]:
    """Write ``<name>_raw.csv``, ``<name>_mapping.toml``, ``<name>_design.toml`` and ``<name>_truth.json``."""
    import json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"raw": out / f"{name}_raw.csv", "mapping": out / f"{name}_mapping.toml",
             "design": out / f"{name}_design.toml", "truth": out / f"{name}_truth.json"}
    raw = raw_frame(exp)
    raw.to_csv(paths["raw"], index=False)
    paths["mapping"].write_text(mapping_toml(paths["raw"].name, name, list(raw.columns)), encoding="utf-8")
    paths["design"].write_text(design_toml(exp, data=paths["raw"].name, mapping=paths["mapping"].name,
                                           title=f"Simulated management-training trial ({name})"),
                               encoding="utf-8")
    paths["truth"].write_text(json.dumps(exp.truth, indent=2, default=str), encoding="utf-8")
    return paths
