"""The phase-hypothesis battery: each hypothesis is a function SurveyPanel -> HypothesisResult, and
:func:`analyse` runs them all. Imports are light: estimators load when a hypothesis runs."""

from .battery import AnalysisResult, analyse
from .exit import innovation_performance_exit
from .founders import founder_origins
from .innovation import education_innovation
from .phases import diagnose_phases, trajectories
from .result import HypothesisResult, SkipHypothesis
from .spinoffs import spinoff_imitation
from .stagnation import productivity_stagnation

__all__ = ["AnalysisResult", "HypothesisResult", "SkipHypothesis", "analyse", "diagnose_phases",
           "education_innovation", "founder_origins", "innovation_performance_exit", "productivity_stagnation",
           "spinoff_imitation", "trajectories"]
