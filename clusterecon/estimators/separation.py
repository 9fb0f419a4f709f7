"""Binary outcomes: the 0/1 check and Stata's perfect-prediction (separation) rules, shared by logit/probit,
the RE probit and the conditional logit.

Before the fit, variable by variable as Stata does: a 0/1 (two-valued) regressor for which one value predicts the
outcome perfectly — ``separation="drop"`` (Stata's behaviour) drops those observations and the variable with a note;
``separation="raise"`` refuses. A continuous regressor that separates the outcome completely ("y = 1 exactly when
x > c") is always refused: there is no maximum-likelihood estimate. After the fit, observations whose outcome is
predicted with probability 1 (quasi-separation by a combination of regressors) are counted and reported with the
variables most responsible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import SeparationError, SpecificationError
from .results import Omitted

__all__ = ["check_binary", "handle_separation", "post_fit_separation"]


def check_binary(y: np.ndarray, depvar: str) -> np.ndarray:
    """Refuse an outcome that is not 0/1 (naming the values found) or that does not vary."""
    vals = np.unique(y)
    if not np.isin(vals, (0.0, 1.0)).all():
        shown = ", ".join(f"{v:g}" for v in vals[:12]) + (" ..." if len(vals) > 12 else "")
        raise SpecificationError(
            f"outcome {depvar!r} must be coded 0/1 for a binary model; found {len(vals)} distinct values: {shown}. "
            f"Recode it (e.g. ({depvar} > 0).astype(int)) or use a model for that outcome type")
    if len(vals) < 2:
        raise SpecificationError(f"outcome {depvar!r} is always {vals[0]:g} in the estimation sample: nothing to "
                                 "estimate")
    return y


@dataclass(frozen=True)
class _Perfect:
    variable: str
    rule: str
    rows: np.ndarray  # boolean mask of the observations perfectly predicted


def _find_perfect_prediction(y: np.ndarray, X: np.ndarray, names: Sequence[str]) -> _Perfect | None:
    """First regressor that predicts the outcome perfectly on a subset (Stata's pre-estimation check)."""
    for j, name in enumerate(names):
        if name == "Intercept":
            continue
        x = X[:, j]
        vals = np.unique(x)
        if len(vals) == 1:
            continue
        if len(vals) == 2:
            for v in vals:
                sub = x == v
                ys = np.unique(y[sub])
                if len(ys) == 1:
                    what = "success (outcome = 1)" if ys[0] == 1 else "failure (outcome = 0)"
                    return _Perfect(name, f"{name} = {v:g} predicts {what} perfectly", sub)
            continue
        x0, x1 = x[y == 0], x[y == 1]
        for lo, hi, op, side in ((x0, x1, ">", 1), (x1, x0, "<", 0)):
            if side == 1:
                c, c2 = lo.max(), hi.min()
            else:
                c, c2 = lo.min(), hi.max()
            c, c2 = float(c) + 0.0, float(c2) + 0.0  # no "-0" in messages
            if (side == 1 and c < c2) or (side == 0 and c > c2):
                return _Perfect(name, f"outcome = 1 exactly when {name} {op} {c:g} (complete separation)",
                                np.ones(len(y), bool))
            if c == c2:
                rows = x != c
                return _Perfect(name, f"outcome = 1 exactly when {name} {op} {c:g}, except for the {name} == {c:g} "
                                      "subsample (quasi-complete separation)", rows)
    return None


def handle_separation(y: np.ndarray, X: np.ndarray, names: list[str], separation: str,
                      ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, list[Omitted], list[tuple[str, str]],
                                 list[str]]:
    """Apply Stata's perfect-prediction rule repeatedly. Returns y, X, names, kept-row mask, omitted, dropped
    regressors and notes."""
    if separation not in ("drop", "raise"):
        raise SpecificationError(f"separation={separation!r}: choose 'drop' (Stata) or 'raise'")
    keep = np.ones(len(y), bool)
    omitted: list[Omitted] = []
    dropped: list[tuple[str, str]] = []
    notes: list[str] = []
    while True:
        found = _find_perfect_prediction(y[keep], X[keep], names)
        if found is None:
            break
        n = int(found.rows.sum())
        if found.rows.all():
            raise SeparationError(
                f"{found.rule}: no finite maximum-likelihood estimate exists. Remove {found.variable!r} from the "
                "model (or report the separation itself), or use a penalised (Firth) logit")
        if separation == "raise":
            raise SeparationError(
                f"{found.rule}: {n} observations. Drop those observations and the variable (what Stata does; "
                f"pass separation='drop'), or remove {found.variable!r} from the model")
        idx = np.flatnonzero(keep)[found.rows]
        keep[idx] = False
        j = names.index(found.variable)
        X = np.delete(X, j, axis=1)
        names = names[:j] + names[j + 1:]
        omitted.append(Omitted(f"perfectly predicted by {found.variable}", n))
        dropped.append((found.variable, f"{found.rule}; {n} observations not used"))
        notes.append(f"Note: {found.rule}; {found.variable} dropped and {n} observations not used.")
        if len(np.unique(y[keep])) < 2:
            raise SeparationError(f"after dropping perfectly predicted observations the outcome no longer varies "
                                  f"({found.rule})")
    return y[keep], X[keep], names, keep, omitted, dropped, notes


def post_fit_separation(y: np.ndarray, X: np.ndarray, names: Sequence[str], p: np.ndarray, beta: np.ndarray,
                         separation: str, tol: float = 1e-8) -> list[str]:
    determined = np.abs(y - p) < tol
    if not determined.any():
        return []
    sd = X.std(axis=0)
    contrib = np.abs(beta) * sd
    order = [names[j] for j in np.argsort(-contrib) if names[j] != "Intercept"][:2]
    n1, n0 = int((determined & (y == 1)).sum()), int((determined & (y == 0)).sum())
    msg = (f"{n0} failures and {n1} successes completely determined (fitted probability 0 or 1); the regressors "
           f"with the largest |coefficient × sd| are {', '.join(order)}: a linear combination of them separates "
           "these observations")
    if determined.all():
        raise SeparationError(f"complete separation: {msg}. No finite estimate exists; remove one of those variables")
    if separation == "raise":
        raise SeparationError(msg + ". Drop those observations or the variables, or pass separation='drop' to "
                              "keep them with this note")
    return [f"Note: {msg}."]
