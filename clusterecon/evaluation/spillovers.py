r"""Spillovers of training to untrained firms in the same cluster.

**Partial-population design** (Duflo and Saez 2003; Crépon et al. 2013): clusters are randomised to treatment and,
within treated clusters, some firms are offered training. With T_i = 1 for offered firms and S_i = 1 for firms not
offered in treated clusters (pure-control clusters: both 0),

.. math:: y_{ir} = α_r + γ_T T_i + γ_S S_i + θ ȳ_{i0} + δ_{s(i)} + ε_{ir}

(ANCOVA as :func:`.itt.itt`): γ_T is the ITT on offered firms and γ_S the spillover on untreated firms, both relative
to pure controls; the variance is clustered by cluster (the unit of the first randomisation) and with fewer than 30
clusters the wild cluster bootstrap p-value and interval of γ_S are attached. The test of no spillover is the test
of γ_S = 0; γ_T − γ_S is the within-cluster comparison an ordinary firm-level trial would report.

**Exposure** (when the survey records networks or distances): y on the offer and an exposure measure x_i (share of
the firm's network contacts offered training, or proximity to treated firms), ``spillover_exposure``; the exposure
coefficient is the spillover per unit of exposure. Its interpretation as causal needs exposure to be random given
the design (true when the offer is random and the network predates it; condition on the number of contacts
otherwise).

References: Crépon, Duflo, Gurgand, Rathelot and Zamora (2013), QJE 128(2); Baird, Bohren, McIntosh and Özler
(2018), REStat 100(5); Cai and Szeidl (2018), QJE 133(3) (business networks of Chinese firms).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..estimators.design import SpecificationError
from ..estimators.pooled import pooled_ols
from ..estimators.results import EstimationResult
from .design import ExperimentDesign, as_binary
from .itt import _attach_wild, _check_name, _effects, itt_setup, require_coef

SPILL = "untreated_in_treated_cluster"


def spillover_effects(data: Any, outcome: str, design: ExperimentDesign | None = None, *, method: str = "ancova",
                      vcov: str | None = None, wild: Any = "auto", B: int = 9999, seed: Any = 0,
                      weights: str | None = None, **kw: Any) -> EstimationResult:
    """ITT on offered firms and spillover on untreated firms in treated clusters (partial-population design).
    ``design.treated_cluster`` names the column marking firms of treated clusters."""
    design = design or ExperimentDesign()
    if not design.treated_cluster:
        raise SpecificationError("the partial-population design needs the treated-cluster column "
                                 "(design treated_cluster = ..., canonical name 'treat_cluster')")
    if not design.cluster:
        raise SpecificationError("spillover estimation clusters by cluster: name the cluster column")
    d = design.replace(assignment="cluster")
    frame, formula, kind, clus, notes = itt_setup(data, outcome, d, method=method, vcov=vcov,
                                                  extra=(design.treated_cluster,), extra_terms=(SPILL,), **kw)
    tc = as_binary(frame[design.treated_cluster], design.treated_cluster).to_numpy()
    T = frame[design.treatment].to_numpy()
    if np.any((T == 1) & (tc == 0)):
        raise SpecificationError(f"offered firms outside treated clusters: check {design.treated_cluster!r}")
    frame[SPILL] = ((tc == 1) & (T == 0)).astype(float)
    if frame[SPILL].sum() == 0 or ((tc == 0).sum() == 0):
        raise SpecificationError("the design has no untreated firms in treated clusters or no pure-control "
                                 "clusters: spillovers are not identified")
    res = pooled_ols(frame, formula, vcov=kind, cluster=clus)
    for name in (design.treatment, SPILL):
        res = require_coef(res, name, "the ITT and spillover", design)
    diff = res.wald_test(f"{design.treatment} = {SPILL}")
    res = replace(res, model="Partial-population ITT and spillover", tests={**res.tests, "treated_vs_spillover":
                                                                          diff}, notes=(*res.notes, *notes),
                  effects=_effects(res, design))
    res = _attach_wild(res, SPILL, frame, wild=wild, B=B, seed=seed, weights=weights)
    return res


def spillover_exposure(data: Any, outcome: str, design: ExperimentDesign | None = None, *, exposure: str | None = None,
                       method: str = "ancova", vcov: str | None = None, wild: Any = "auto", B: int = 9999,
                       seed: Any = 0, weights: str | None = None, **kw: Any) -> EstimationResult:
    """Spillover per unit of exposure (``exposure`` column, default ``design.exposure``), controlling for the
    firm's own offer; clustered by cluster."""
    design = design or ExperimentDesign()
    x = _check_name(exposure or design.exposure or "", "exposure column")
    d = design.replace(assignment="cluster") if design.cluster else design
    frame, formula, kind, clus, notes = itt_setup(data, outcome, d, method=method, vcov=vcov, extra=(x,),
                                                  extra_terms=(x,), **kw)
    res = require_coef(pooled_ols(frame, formula, vcov=kind, cluster=clus), x, "the spillover per unit of exposure",
                       design)
    res = replace(res, model="ITT with spillover exposure", notes=(*res.notes, *notes), effects=_effects(res, design))
    return _attach_wild(res, x, frame, wild=wild, B=B, seed=seed, weights=weights)
