"""Convert statsmodels, linearmodels and pyfixest results into :class:`EstimationResult` so that tables take them too.

Only what a table needs is carried over: names, coefficients, covariance, N, entities, R² variants,
log-likelihood, the variance convention (kind, clusters, G) and absorbed effects. Inference follows the source:
a Student-t with the source's residual degrees of freedom where the source uses t (statsmodels ``use_t``,
linearmodels ``debiased``, pyfixest always), the normal otherwise, so stars match the source's p-values.

Absorbed effects become indicator rows: linearmodels' entity/time effects as ``Firm FE``/``Year FE``; each pyfixest
fixed effect (``y ~ x | f1 + f2``, spaces or not: maketables splits on ``"+"`` and marked effects written with
spaces as "-") as ``<name> FE`` (``firm_id`` → ``Firm FE``, ``year`` → ``Year FE``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..estimators.results import EstimationResult, VarianceInfo

_SM_KINDS = {"nonrobust": "classical", "fixed scale": "classical", "HC0": "robust", "HC1": "robust",
             "HC2": "robust", "HC3": "robust", "cluster": "cluster", "hac-panel": "driscoll-kraay",
             "hac-groupsum": "driscoll-kraay", "HAC": "hac", "OIM": "oim", "opg": "opg"}
_LM_KINDS = {"unadjusted": "classical", "homoskedastic": "classical", "robust": "robust",
             "heteroskedastic": "robust", "clustered": "cluster", "driscoll-kraay": "driscoll-kraay",
             "kernel": "kernel"}


def as_result(res: Any, *, depvar: str | None = None, cluster_names: tuple[str, ...] | None = None,
              ) -> EstimationResult:
    """An :class:`EstimationResult` view of a fitted statsmodels or linearmodels model.

    ``cluster_names`` names the clustering variable(s) (neither library records the column name);
    defaults to ``("firm_id",)`` for linearmodels clustered covariance (pass ``("year",)`` or
    ``("firm_id", "year")`` when clustering was by time or two-way) and ``("cluster",)`` for statsmodels.
    Raises ``TypeError`` for any other object.
    """
    if isinstance(res, EstimationResult):
        return res
    mod = type(res).__module__
    if mod.startswith("linearmodels"):
        return _from_linearmodels(res, depvar, cluster_names)
    if mod.startswith("statsmodels"):
        return _from_statsmodels(res, depvar, cluster_names)
    if mod.startswith("pyfixest"):
        return _from_pyfixest(res, depvar)
    raise TypeError(f"cannot make a table column from {type(res).__name__}; pass a clusterecon EstimationResult "
                    "or a fitted statsmodels/linearmodels/pyfixest result")


def _from_statsmodels(res: Any, depvar: str | None, cluster_names: tuple[str, ...] | None) -> EstimationResult:
    params = res.params
    names = [str(n) for n in getattr(params, "index", [f"x{i}" for i in range(len(params))])]
    cov = np.asarray(res.cov_params())
    cov_type = getattr(res, "cov_type", "nonrobust")
    kind = _SM_KINDS.get(cov_type, str(cov_type).lower())
    clusters: tuple[str, ...] = ()
    n_clusters: tuple[int, ...] = ()
    if kind == "cluster":
        g = getattr(res, "n_groups", None)
        g = g if isinstance(g, tuple) else (g,) if g is not None else ()
        clusters = cluster_names or (("cluster",) if len(g) < 2 else ("cluster 1", "cluster 2"))
        kind = "cluster2" if len(g) == 2 else kind
        n_clusters = tuple(int(x) for x in g)
    use_t = bool(getattr(res, "use_t", False))
    df = getattr(res, "df_resid_inference", None) or getattr(res, "df_resid", None)
    rsq: dict[str, float] = {}
    if hasattr(res, "rsquared"):
        rsq["r2"] = float(res.rsquared)
        if hasattr(res, "rsquared_adj"):
            rsq["adj"] = float(res.rsquared_adj)
    elif hasattr(res, "prsquared"):
        rsq["pseudo"] = float(res.prsquared)
    model = res.model
    endog = depvar or getattr(model, "endog_names", None) or "y"
    llf = getattr(res, "llf", None)
    return EstimationResult(
        model=type(model).__name__, estimator=f"statsmodels {type(model).__name__}", depvar=str(endog),
        names=tuple(names), coef=np.asarray(params, dtype=float), vcov=cov,
        variance=VarianceInfo(kind, clusters, n_clusters),
        nobs=int(res.nobs), df_resid=float(df) if use_t and df is not None else None,
        rsquared=rsq, loglik=float(llf) if llf is not None and np.isfinite(llf) else None,
        extra={"source": res},
    )


def _from_linearmodels(res: Any, depvar: str | None, cluster_names: tuple[str, ...] | None) -> EstimationResult:
    params = res.params
    names = [str(n) for n in params.index]
    cov_type = str(getattr(res, "_cov_type", getattr(res, "cov_type", "unadjusted"))).lower()
    kind = _LM_KINDS.get(cov_type, cov_type)
    model = res.model
    effects: dict[str, str] = {}
    if getattr(model, "entity_effects", False):
        effects["Firm FE"] = "Yes"
    if getattr(model, "time_effects", False):
        effects["Year FE"] = "Yes"
    clusters: tuple[str, ...] = ()
    n_clusters: tuple[int, ...] = ()
    if kind == "cluster":
        # linearmodels keeps no record of what was clustered on; entity clustering is by far the common case.
        clusters = tuple(cluster_names) if cluster_names else ("firm_id",)
        ent = getattr(res, "entity_info", None)
        tim = getattr(res, "time_info", None)
        g = {"firm_id": ent["total"] if ent is not None else None, "year": tim["total"] if tim is not None else None}
        n_clusters = tuple(int(g[c]) for c in clusters if g.get(c) is not None)
        if len(clusters) == 2:
            kind = "cluster2"
    rsq: dict[str, float] = {}
    for key, attr in (("r2", "rsquared"), ("within", "rsquared_within"), ("between", "rsquared_between"),
                      ("overall", "rsquared_overall")):
        v = getattr(res, attr, None)
        if v is not None and np.isfinite(v):
            rsq[key] = float(v)
    ent = getattr(res, "entity_info", None)
    llf = getattr(res, "loglik", None)
    endog = depvar or getattr(getattr(model, "dependent", None), "vars", ["y"])[0]
    debiased = bool(getattr(res, "_debiased", False))
    return EstimationResult(
        model=type(model).__name__, estimator=f"linearmodels {type(model).__name__}", depvar=str(endog),
        names=tuple(names), coef=np.asarray(params, dtype=float), vcov=np.asarray(res.cov),
        variance=VarianceInfo(kind, clusters, n_clusters),
        nobs=int(res.nobs), df_resid=float(res.df_resid) if debiased else None,
        n_entities=int(ent["total"]) if ent is not None else None, rsquared=rsq,
        loglik=float(llf) if llf is not None and np.isfinite(llf) else None, effects=effects,
        extra={"source": res},
    )


_PF_KINDS = {"iid": "classical", "hetero": "robust", "CRV": "cluster", "HAC": "hac", "NW": "hac",
             "DK": "driscoll-kraay"}
_FE_NAMES = {"firm_id": "Firm FE", "year": "Year FE"}


def _from_pyfixest(res: Any, depvar: str | None) -> EstimationResult:
    coef = res.coef()
    names = [str(n) for n in coef.index]
    kind = _PF_KINDS.get(str(res._vcov_type), str(res._vcov_type).lower())
    clusters: tuple[str, ...] = ()
    n_clusters: tuple[int, ...] = ()
    if kind == "cluster":
        clusters = tuple(str(c) for c in (res._clustervar or ()))
        g = list(np.atleast_1d(res._G))[: len(clusters)]
        n_clusters = tuple(int(x) for x in g)
        if len(clusters) == 2:
            kind = "cluster2"
    effects: dict[str, str] = {}
    fixef = getattr(res, "_fixef", None)
    if fixef and fixef != "0":
        for fe in str(fixef).split("+"):
            fe = fe.strip()
            if fe:
                effects[_FE_NAMES.get(fe, fe.replace("^", " × ") + " FE")] = "Yes"
    rsq = {k: float(v) for k, v in (("r2", getattr(res, "_r2", None)), ("within", getattr(res, "_r2_within", None)),
                                    ("adj", getattr(res, "_adj_r2", None))) if v is not None and np.isfinite(v)}
    return EstimationResult(
        model="pyfixest " + str(getattr(res, "_method", "feols")), estimator="pyfixest",
        depvar=depvar or str(res._depvar), names=tuple(names), coef=np.asarray(coef, dtype=float),
        vcov=np.asarray(res._vcov, dtype=float), variance=VarianceInfo(kind, clusters, n_clusters,
                                                                       str(getattr(res, "_vcov_type_detail", ""))),
        nobs=int(res._N), df_resid=float(res._df_t), rsquared=rsq, effects=effects, extra={"source": res},
    )
