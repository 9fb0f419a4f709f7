"""Evaluating management-training experiments in clusters: from the raw survey to the paper's tables.

ITT by ANCOVA/DiD/POST and TOT by 2SLS (:mod:`.itt`, :mod:`.iv`), staggered roll-outs (:mod:`.staggered`),
randomisation inference (:mod:`.randomization`), spillovers (:mod:`.spillovers`), attrition and Lee bounds
(:mod:`.attrition`), many outcomes (:mod:`.multiple`), business-practice indices (:mod:`.practices`) and the
``clusterecon evaluate`` report (:mod:`.report`). The wild cluster bootstrap lives with the estimators
(:mod:`clusterecon.estimators.wild_bootstrap`).

Imported eagerly (as :mod:`clusterecon.estimators`): ``itt`` is both a function and its module's name, and a lazy
attribute would be replaced by the submodule as soon as anything imported ``clusterecon.evaluation.itt``.
"""

from __future__ import annotations

from .design import ExperimentDesign
from .itt import analysis_frame, ancova, did, itt, tot
from .iv import ARSet, iv2sls
from .staggered import CallawaySantAnna, SunAbraham, callaway_santanna, sun_abraham

__all__ = ["ARSet", "CallawaySantAnna", "ExperimentDesign", "SunAbraham", "analysis_frame", "ancova",
           "callaway_santanna", "did", "itt", "iv2sls", "sun_abraham", "tot"]
