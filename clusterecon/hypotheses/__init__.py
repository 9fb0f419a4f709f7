"""The phase-hypothesis battery: each hypothesis is a function SurveyPanel -> HypothesisResult with one
:class:`Claim` per claim (the verdict contract: ``docs/hypotheses.md``), and :func:`analyse` runs them all. Imports
are light: estimators load when a hypothesis runs."""

from .battery import AnalysisResult, analyse
from .evidence import RULES, EvidenceRules
from .exit import innovation_exit
from .founders import founder_origins
from .innovation import education_innovation
from .performance import innovation_performance
from .phases import diagnose_phases, trajectories
from .result import Claim, HypothesisResult, SkipHypothesis, combine_status
from .spinoffs import spinoff_imitation
from .stagnation import productivity_stagnation

__all__ = ["RULES", "AnalysisResult", "Claim", "EvidenceRules", "HypothesisResult", "SkipHypothesis", "analyse",
           "combine_status", "diagnose_phases", "education_innovation", "founder_origins", "innovation_exit",
           "innovation_performance", "productivity_stagnation", "spinoff_imitation", "trajectories"]
