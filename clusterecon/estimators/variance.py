"""The variance vocabulary of every clusterecon estimator, parsed once into a :class:`VarianceSpec`.

One set of words means the same thing in every estimator (the pyfixest ``literals.py`` idea; linearmodels'
``CovarianceManager`` refuses what a model cannot compute, and so do we):

==================  =====================================================================================
``vcov=``           meaning
==================  =====================================================================================
``"classical"``     homoskedastic: s²(X'X)⁻¹ for least squares; for ML estimators the same as ``"oim"``
``"hc0"``           heteroskedasticity-robust sandwich, no small-sample factor (White 1980)
``"hc1"``           HC0 × N/(N − K) (Stata ``vce(robust)``; for ML N/(N − 1)); **``"robust"`` = ``"hc1"``**
``"hc2"``/``"hc3"`` leverage-adjusted sandwiches (MacKinnon and White 1985); least squares without absorbed
                    effects only (pyfixest refuses them with fixed effects too)
``"cluster"``       cluster-robust; ``cluster=None`` clusters by the entity (firm), one name clusters by that
                    variable, two names give Cameron–Gelbach–Miller two-way clustering: the number of names
                    decides (``"cluster2"`` is accepted as a synonym that requires two names, default firm and
                    year)
``"driscoll-kraay"`` Driscoll–Kraay (1998) cross-sectional and serial correlation (``bandwidth=``)
``"oim"``           ML: inverse of the observed information (Stata's default)
``"opg"``           ML: inverse of the outer product of the scores (BHHH)
==================  =====================================================================================

Small-sample rules (``dof=``): ``"stata"`` (default), ``"areg"``, ``"reghdfe"``, ``"plm"``, ``"none"``; each
estimator states which apply (see :func:`~clusterecon.estimators.covariance.ols_covariance`). Under ``"plm"`` and
``"none"`` there is no small-sample factor, so ``"hc1"`` equals ``"hc0"`` there (R plm's ``vcovHC`` default).

An option an estimator cannot honour is a :class:`~clusterecon.estimators.design.SpecificationError` before any
fitting, never silently ignored: a ``cluster=`` with a non-cluster ``vcov``, three cluster variables, ``hc3`` with
absorbed fixed effects, a ``bandwidth`` without Driscoll–Kraay, ``opg`` for least squares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .design import SpecificationError

Kind = Literal["classical", "hc0", "hc1", "hc2", "hc3", "cluster", "driscoll-kraay", "oim", "opg"]
DofRule = Literal["stata", "areg", "reghdfe", "plm", "none"]

KINDS: tuple[str, ...] = ("classical", "hc0", "hc1", "hc2", "hc3", "cluster", "driscoll-kraay", "oim", "opg")
DOF_RULES: tuple[str, ...] = ("stata", "areg", "reghdfe", "plm", "none")
#: What least-squares estimators compute, and what ML estimators compute.
LS_KINDS: tuple[str, ...] = ("classical", "hc0", "hc1", "hc2", "hc3", "cluster", "driscoll-kraay")
ML_KINDS: tuple[str, ...] = ("oim", "opg", "hc0", "hc1", "cluster")

_ALIASES = {"robust": "hc1", "cluster2": "cluster", "dk": "driscoll-kraay", "iid": "classical",
            "homoskedastic": "classical", "unadjusted": "classical"}


@dataclass(frozen=True)
class VarianceSpec:
    """A parsed variance request. ``clusters`` are the cluster variable names (``()`` with ``kind="cluster"``
    means the entity, resolved by the estimator); ``dof`` the small-sample rule; ``bandwidth`` the Driscoll–Kraay
    lag truncation (None = the default rule)."""

    kind: Kind
    clusters: tuple[str, ...] = ()
    dof: DofRule = "stata"
    bandwidth: int | None = None
    requested: str = ""  # the word the user wrote (for messages)

    @property
    def two_way(self) -> bool:
        return len(self.clusters) == 2

    @property
    def is_sandwich(self) -> bool:
        return self.kind not in ("classical", "oim")

    def with_entity(self, entity: str, time: str | None = None) -> VarianceSpec:
        """The spec with the default cluster filled in: the entity (firm), or (entity, time) for ``"cluster2"``."""
        if self.kind != "cluster" or self.clusters:
            return self
        if self.requested == "cluster2":
            if time is None:
                raise SpecificationError("vcov='cluster2' needs two cluster variables, e.g. cluster=('firm_id', "
                                         "'year')")
            return VarianceSpec("cluster", (entity, time), self.dof, self.bandwidth, self.requested)
        return VarianceSpec("cluster", (entity,), self.dof, self.bandwidth, self.requested)


def parse_vcov(vcov: str | VarianceSpec = "classical", cluster: str | Sequence[str] | None = None, *,
               dof: str = "stata", bandwidth: int | None = None, supported: Sequence[str] = LS_KINDS,
               dof_rules: Sequence[str] = DOF_RULES, estimator: str = "this estimator",
               ml: bool = False) -> VarianceSpec:
    """Parse ``vcov``/``cluster``/``dof``/``bandwidth`` into a :class:`VarianceSpec`, refusing what ``estimator``
    cannot compute (``supported`` kinds, ``dof_rules``) with one message that lists the choices.

    With ``ml=True`` ``"classical"`` means ``"oim"`` (Stata's ML default).
    """
    if isinstance(vcov, VarianceSpec):
        spec = vcov
        if cluster is not None or bandwidth is not None:
            raise SpecificationError("pass cluster=/bandwidth= inside the VarianceSpec, not next to it")
        word = spec.kind
    else:
        if not isinstance(vcov, str):
            raise SpecificationError(f"vcov must be a string such as 'classical', 'robust' or 'cluster', got "
                                     f"{type(vcov).__name__}")
        word = vcov.strip().lower()
        kind = _ALIASES.get(word, word)
        if ml and kind == "classical":
            kind = "oim"
        if kind not in KINDS:
            raise SpecificationError(f"vcov={vcov!r} is not a variance estimator; choose one of "
                                     f"{_choices(supported)}")
        names = _cluster_names(cluster)
        if names and kind != "cluster":
            raise SpecificationError(f"cluster={cluster!r} given but vcov={vcov!r} does not cluster; use "
                                     "vcov='cluster' (or drop cluster=)")
        if word == "cluster2" and len(names) == 1:
            raise SpecificationError(f"vcov='cluster2' needs two cluster variables, got {names}; with one name "
                                     "use vcov='cluster'")
        if bandwidth is not None and kind != "driscoll-kraay":
            raise SpecificationError(f"bandwidth={bandwidth!r} applies to vcov='driscoll-kraay' only")
        spec = VarianceSpec(kind, names, dof, bandwidth, word)  # type: ignore[arg-type]
    if spec.dof not in DOF_RULES:
        raise SpecificationError(f"dof={spec.dof!r} is not a small-sample rule; choose one of {DOF_RULES}")
    if spec.dof not in dof_rules:
        raise SpecificationError(f"dof={spec.dof!r} is not available for {estimator}; choose one of "
                                 f"{tuple(dof_rules)}")
    if spec.kind not in supported:
        raise SpecificationError(f"vcov={word!r} is not available for {estimator}; choose one of "
                                 f"{_choices(supported)}")
    return spec


def _cluster_names(cluster: str | Sequence[str] | None) -> tuple[str, ...]:
    if cluster is None:
        return ()
    names = (cluster,) if isinstance(cluster, str) else tuple(cluster)
    if not all(isinstance(c, str) and c for c in names):
        raise SpecificationError(f"cluster= takes one or two column names, got {cluster!r}")
    if len(names) > 2:
        raise SpecificationError(f"at most two-way clustering is supported, got {len(names)} variables {names}")
    if len(names) == 2 and names[0] == names[1]:
        raise SpecificationError(f"the two cluster variables are the same ({names[0]!r})")
    return names


def _choices(supported: Sequence[str]) -> tuple[str, ...]:
    out = list(supported)
    if "hc1" in out:
        out.insert(out.index("hc1"), "robust")
    if "oim" in out and "classical" not in out:
        out.insert(0, "classical")
    return tuple(out)
