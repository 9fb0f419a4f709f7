"""Evaluating management-training experiments in clusters: from the raw survey to the paper's tables.

ITT by ANCOVA/DiD/POST and TOT by 2SLS (:mod:`.itt`, :mod:`.iv`), staggered roll-outs (:mod:`.staggered`),
randomisation inference (:mod:`.randomization`), spillovers (:mod:`.spillovers`), attrition and Lee bounds
(:mod:`.attrition`), many outcomes (:mod:`.multiple`), business-practice indices (:mod:`.practices`), the design
file (:mod:`.designfile`) and the ``clusterecon evaluate`` report (:mod:`.run`, :mod:`.report`). The wild cluster
bootstrap lives with the estimators (:mod:`clusterecon.estimators.wild_bootstrap`). Guide: ``docs/evaluation.md``.

Imported eagerly (as :mod:`clusterecon.estimators`): ``itt`` is both a function and its module's name, and a lazy
attribute would be replaced by the submodule as soon as anything imported ``clusterecon.evaluation.itt``.
"""

from __future__ import annotations

from .attrition import LeeBounds, attrition_table, lee_bounds
from .design import ExperimentDesign
from .designfile import DesignFileError, load_design_file
from .itt import analysis_frame, ancova, did, itt, tot
from .iv import ARSet, iv2sls
from .multiple import kling_index, romano_wolf, romano_wolf_itt, sharpened_qvalues
from .practices import add_practice_scores, practice_scores
from .randomization import randomization_inference
from .spillovers import spillover_effects, spillover_exposure
from .staggered import CallawaySantAnna, SunAbraham, callaway_santanna, sun_abraham

__all__ = [
    "ARSet", "CallawaySantAnna", "DesignFileError", "ExperimentDesign", "LeeBounds", "SunAbraham",
    "add_practice_scores", "analysis_frame", "ancova", "attrition_table", "callaway_santanna", "did", "itt",
    "iv2sls", "kling_index", "lee_bounds", "load_design_file", "practice_scores", "randomization_inference",
    "romano_wolf", "romano_wolf_itt", "sharpened_qvalues", "spillover_effects", "spillover_exposure",
    "sun_abraham", "tot",
]
