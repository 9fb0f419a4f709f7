"""The endogenous cluster model as a simulator: synthetic censuses and surveys with known truth, Monte Carlo and
power analysis (``docs/simulator.md``).

>>> from clusterecon.simulate import simulate, survey
>>> census = simulate("garments", seed=1)                      # SurveyPanel, design "census", .truth
>>> panel = survey(census, kind="recall", survey_year=2005, benchmark_years=(1995, 2000), n_firms=300, seed=2)

The names are imported eagerly (numpy and pandas only; scipy, joblib, matplotlib load on use): three functions
share their submodule's name (``survey``, ``montecarlo``, ``power``), and a lazy attribute would be replaced by the
submodule as soon as anything imports ``clusterecon.simulate.survey``.
"""

from __future__ import annotations

from .model import simulate, simulate_frame
from .montecarlo import MonteCarloResult, fe_production, innovation_probit, montecarlo
from .params import ClusterParams, Truth, garments, machinery, preset, true_effects
from .power import plot_power, power, power_schooling, power_training, simulate_training, training_variance
from .raw import write_raw
from .survey import Fieldwork, draw_sample, survey, survey_frame

__all__ = [
    "ClusterParams", "Fieldwork", "MonteCarloResult", "Truth", "draw_sample", "fe_production", "garments",
    "innovation_probit", "machinery", "montecarlo", "plot_power", "power", "power_schooling", "power_training",
    "preset", "simulate", "simulate_frame", "simulate_training", "survey", "survey_frame", "training_variance",
    "true_effects", "write_raw",
]
