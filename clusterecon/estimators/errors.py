"""The errors every estimator raises, in one place (model modules re-export them for old imports).

``SpecificationError``: the model cannot be estimated as specified (the message says what to change);
``SeparationError``: a regressor or a combination predicts the outcome perfectly, no finite ML estimate;
``ConvergenceError``: the maximiser stopped without meeting its convergence test on the step and the score.
"""

from __future__ import annotations


class SpecificationError(ValueError):
    """The model cannot be estimated as specified; the message says what to change."""


class SeparationError(SpecificationError):
    """A regressor (or a combination) predicts the outcome perfectly; no finite ML estimate exists."""


class ConvergenceError(RuntimeError):
    """The optimiser did not converge; the message carries the optimiser's report and what to try."""


__all__ = ["ConvergenceError", "SeparationError", "SpecificationError"]
