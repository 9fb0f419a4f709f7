r"""Multinomial logit for unordered categories (founders' prior occupations, sales channels), Stata ``mlogit``.

Model: :math:`P(y_i = j \mid x_i) = \exp(x_i'\beta_j) / \sum_{m} \exp(x_i'\beta_m)` with :math:`\beta_b = 0` for the
base outcome b. Fitted by statsmodels ``MNLogit`` (Newton); this module adds Stata's conventions and bookkeeping:

* the base outcome defaults to the most frequent category (Stata's default; statsmodels uses the lowest code);
  ``base=`` chooses another;
* parameters are named ``"<outcome>:<regressor>"``;
* variance ``"oim"`` (default) :math:`-H^{-1}`; ``"robust"`` :math:`\frac{N}{N-1}H^{-1}(\sum s_is_i')H^{-1}`;
  ``"cluster"`` :math:`\frac{G}{G-1}H^{-1}(\sum_g S_gS_g')H^{-1}` (by firm unless ``cluster=`` names a column);
* the outcome may be strings, a categorical or integer codes (categories in sorted or categorical order);
* empty cells (an outcome never observed at one value of a 0/1 regressor: its coefficient diverges) are reported by
  variable and outcome, and refused with ``separation="raise"``.

Marginal effects: ``margins(result)`` gives, for every outcome j (base included), the average of
:math:`\partial p_j/\partial x = p_j(\beta_j - \sum_m p_m\beta_m)` (discrete changes for 0/1 regressors), with
delta-method SEs; they sum to zero across outcomes.

Reference: Stata [R] mlogit; Wooldridge (2010) §16.2; Cameron & Trivedi (2005) §15.4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from .design import SpecificationError, as_panel_frame, build_design, panel_shape
from .errors import ConvergenceError, SeparationError
from .linear import cluster_columns, drop_collinear
from .margins import MarginsSpec
from .ml import maximize, ml_fit, ml_weighted_spec, positive_weights
from .predict import Terms
from .results import EstimationResult, TestResult, build_result


def _outcome_codes(values: pd.Series, base: Any) -> tuple[pd.Series, list[Any]]:
    """Integer codes with the base outcome coded 0 and the others in their natural order."""
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.dropna(), 1) == 0):
        values = values.astype("Int64")  # codes stored as floats (e.g. after a merge): label them 1, not 1.0
    present = values.dropna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = [c for c in values.cat.categories if (present == c).any()]
    else:
        cats = sorted(present.unique().tolist(), key=lambda v: (str(type(v)), v))
    if len(cats) < 2:
        raise SpecificationError(f"outcome {values.name!r} has {len(cats)} category in the sample: nothing to model")
    if len(cats) > 30:
        raise SpecificationError(f"outcome {values.name!r} has {len(cats)} distinct values: it looks continuous or an "
                                 "identifier, not a set of categories; recode it into a few groups first")
    counts = present.value_counts()
    if base is None:
        base = max(cats, key=lambda c: (counts[c], -cats.index(c)))  # most frequent; first on ties (Stata)
    elif base not in cats and not (isinstance(base, float) and base.is_integer() and int(base) in cats):
        raise SpecificationError(f"base={base!r} is not an outcome of {values.name!r}; outcomes: {cats}")
    if base not in cats:
        base = int(base)
    order = [base] + [c for c in cats if c != base]
    mapping = {c: i for i, c in enumerate(order)}
    codes = values.map(mapping).astype("float64")
    return codes, order


def _softmax_probs(params: np.ndarray, X: np.ndarray, k: int) -> np.ndarray:
    B = np.column_stack([np.zeros(k), params.reshape(-1, k).T])  # (k, J), base first
    eta = X @ B
    eta -= eta.max(axis=1, keepdims=True)
    e = np.exp(eta)
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxMean:
    """Outcome probabilities P(y = j | x) (n, J), base first, and their derivatives in x (n, J, k): a class, not a
    closure, so that results pickle."""

    def __init__(self, k: int):
        self.k = k

    def __call__(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        return _softmax_probs(np.asarray(params), X, self.k)

    def dydx(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        k = self.k
        P = _softmax_probs(np.asarray(params), X, k)  # (n, J)
        B = np.column_stack([np.zeros(k), np.asarray(params).reshape(-1, k).T])  # (k, J)
        bbar = P @ B.T  # (n, k)
        return P[:, :, None] * (B.T[None, :, :] - bbar[:, None, :])  # (n, J, k)


def _mn_margins_spec(X: np.ndarray, names: Sequence[str], outcomes: Sequence[Any],
                     weights: np.ndarray | None = None) -> MarginsSpec:
    mean = SoftmaxMean(len(names))
    return MarginsSpec(predict=mean, dydx=mean.dydx, X=np.array(X, dtype=float), names=tuple(names),
                       outcomes=tuple(str(o) for o in outcomes), label="Pr(outcome)", weights=weights)


def _empty_cells(codes: np.ndarray, X: np.ndarray, names: Sequence[str], outcomes: Sequence[Any]) -> list[str]:
    found = []
    for j, nm in enumerate(names):
        vals = np.unique(X[:, j])
        if nm == "Intercept" or len(vals) != 2:
            continue
        for v in vals:
            seen = np.unique(codes[X[:, j] == v]).astype(int)
            missing = [outcomes[c] for c in range(len(outcomes)) if c not in seen]
            if missing:
                found.append(f"{nm} = {v:g} never occurs with outcome(s) {', '.join(map(str, missing))} "
                             f"({int((X[:, j] == v).sum())} observations)")
    return found


def _choose_level(frame: pd.DataFrame, formula: str, depvar: str, level: str, cluster: Sequence[str],
                  ) -> tuple[pd.DataFrame, str]:
    """One row per firm for a firm-level outcome (founder's occupation) with firm-level regressors.

    A SurveyPanel frame repeats firm attributes on every firm-year; pooling those rows would count each founder T
    times and understate the SEs.
    """
    if level not in ("auto", "firm", "row"):
        raise SpecificationError(f"level={level!r}: choose 'auto', 'firm' or 'row'")
    if level == "row":
        return frame, ""
    from .design import required_variables

    idx_names = [n for n in frame.index.names if n is not None]
    cols = [c for c in dict.fromkeys([depvar, *required_variables(formula), *cluster])
            if c in frame.columns and c not in idx_names]
    firm = frame.index.get_level_values(0)
    varies = [c for c in cols if (frame[c].groupby(firm, observed=True).nunique(dropna=False) > 1).any()]
    if level == "firm" and varies:
        raise SpecificationError(f"level='firm' but {varies} vary within firms; choose one row per firm first (e.g. "
                                 "the founding or first survey year) or use level='row' with vcov='cluster'")
    if varies:
        if depvar not in varies:
            return frame, (f"Note: {depvar} is constant within firms but {', '.join(varies)} vary: each firm counts "
                           "once per year; consider one row per firm or vcov='cluster'.")
        return frame, ""
    one = frame[~firm.duplicated()]
    if len(one) == len(frame):
        return frame, ""
    return one, (f"Firm-level model: one row per firm ({len(one):,} firms) instead of {len(frame):,} firm-years "
                 "(outcome and regressors are constant within firms).")


def mnlogit(data: SurveyPanel | pd.DataFrame, formula: str, *, base: Any = None, vcov: str | None = None,
            cluster: str | Sequence[str] | None = None, separation: str = "warn", maxiter: int = 100,
            level: str = "auto", entity: str | None = None, time: str | None = None, weights: str | None = None,
            weights_type: str = "pweight") -> EstimationResult:
    """Multinomial logit of an unordered categorical outcome.

    Parameters
    ----------
    data : SurveyPanel, (firm, year)-indexed DataFrame (a firm-level cross-section indexed (firm, survey year)
        works too), or a plain DataFrame (a cross-section; ``entity=``/``time=`` name panel columns).
    formula : ``"prior_occupation ~ schooling + cohort"``; the outcome may hold strings or codes.
    base : base outcome; default the most frequent (Stata ``mlogit``'s default).
    vcov, cluster : ``"oim"`` (default), ``"opg"``, ``"robust"`` (= ``"hc1"``, N/(N−1)), ``"hc0"`` or
        ``"cluster"`` (G/(G−1); by firm unless ``cluster`` names one or two variables).
    separation : ``"warn"`` (note empty outcome × dummy cells) or ``"raise"``.
    weights, weights_type : a column of sampling weights (``"pweight"``, Stata ``mlogit [pw=w]``): maximises
        Σ wᵢℓᵢ with the robust variance c·H⁻¹(Σ wᵢ²sᵢsᵢ')H⁻¹ (c = N/(N−1); cluster if ``cluster`` is named), as
        Stata forces for pweights; the LR test gives way to a Wald test and margins average with the weights.
        Zero weights are left out and counted.
    level : ``"auto"`` uses one row per firm when the outcome and all regressors are constant within firms (a
        founder's occupation on firm attributes: a SurveyPanel repeats them every year); ``"firm"`` insists on
        that; ``"row"`` uses every row as given.

    Returns
    -------
    EstimationResult with parameters ``"<outcome>:<regressor>"`` for every non-base outcome, ``extra["outcomes"]``
    (base first), ``extra["base"]``, ``extra["margins"]`` for per-outcome marginal effects, ``fitted`` the
    probability of the observed outcome and ``predict(newdata)`` the (n, J) outcome probabilities.

    References
    ----------
    StataCorp, [R] mlogit; Wooldridge (2010), §16.2; Cameron and Trivedi (2005), §15.4.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(11)
    >>> df = pd.DataFrame({"school": rng.integers(6, 17, 600).astype(float)})
    >>> u = rng.gumbel(size=(600, 3)) + np.column_stack([0 * df.school, 0.2 * df.school - 2, 0.4 * df.school - 4])
    >>> df["occ"] = np.array(["merchant", "engineer", "worker"])[u.argmax(axis=1)]
    >>> r = mnlogit(df, "occ ~ school", base="merchant")
    >>> r.extra["outcomes"], r.predict(df.head(2)).shape
    (('merchant', 'engineer', 'worker'), (2, 3))
    """
    spec, wnotes = ml_weighted_spec(vcov, cluster, weights=weights, weights_type=weights_type, estimator="mnlogit")
    if separation not in ("warn", "raise"):
        raise SpecificationError(f"separation={separation!r}: choose 'warn' or 'raise'")
    frame = as_panel_frame(data, entity=entity, time=time, cross_section=True)
    depvar = formula.split("~", 1)[0].strip()
    if depvar not in frame.columns:
        raise SpecificationError(f"outcome {depvar!r} not found; available: {list(frame.columns)[:40]}")
    frame, level_note = _choose_level(frame, formula, depvar, level, (*spec.clusters, *([weights] if weights else [])))
    codes, outcomes = _outcome_codes(frame[depvar], base)
    design = build_design(frame.assign(**{depvar: codes}), formula,
                          extra=(*cluster_columns(frame, spec.clusters), *([weights] if weights else [])))
    design, w, _ = positive_weights(design, weights)
    X, names, collinear = drop_collinear(design.X, list(design.names))
    y = design.y.astype(int)
    lost = [outcomes[c] for c in range(len(outcomes)) if c not in np.unique(y)]
    if lost:
        raise SpecificationError(f"outcome(s) {lost} of {depvar!r} occur only in rows dropped for missing values; "
                                 "recode or drop those categories")
    notes = [*wnotes, level_note] if level_note else list(wnotes)
    notes += _separation_notes(y, X, names, outcomes, separation)
    wn = np.ones(len(y)) if w is None else w
    params, H, model = _fit(y, X, maxiter, cells=_empty_cells(y, X, names, outcomes), w=w)
    ll = float(wn @ np.asarray(model.loglikeobs(params)).reshape(len(y), -1).sum(axis=1))
    k, J = X.shape[1], len(outcomes)
    freq = np.bincount(y, weights=wn, minlength=J) / wn.sum()
    ll0 = float(wn.sum() * (freq * np.log(freq)).sum())
    pnames = [f"{o}:{v}" for o in outcomes[1:] for v in names]
    slopes = [i for i, n in enumerate(pnames) if not n.endswith(":Intercept")]
    q = (J - 1) * (k - (1 if "Intercept" in names else 0))
    oim = spec.kind == "oim"
    counts = {str(o): int((y == i).sum()) for i, o in enumerate(outcomes)}
    notes.append(f"Base outcome: {outcomes[0]}. Outcome counts: " + ", ".join(f"{o} {n}" for o, n in counts.items())
                 + ".")
    P = SoftmaxMean(k)(params, X)
    return build_result(
        ml_fit(design, spec, H, wn[:, None] * model.score_obs(params)), spec, wald_terms=None if oim else slopes,
        wald_null="all slopes = 0", wald_key="model", model="Multinomial logit",
        estimator="ML (Newton)" + (f", sampling weights {weights}" if w is not None else ""),
        depvar=design.depvar,
        names=pnames, coef=params, nobs=len(y), df_resid=float(len(y) - len(params)), formula=formula,
        **panel_shape(design.index), rsquared={"pseudo": 1 - ll / ll0}, loglik=ll, omitted=design.omitted,
        dropped_regressors=tuple((c, "collinear with earlier regressors (omitted)") for c in collinear),
        stats={"Log-likelihood (constant only)": ll0, "Outcomes": J},
        tests={"model": TestResult("LR", 2 * (ll - ll0), float(stats.chi2.sf(2 * (ll - ll0), q)), q, "chi2",
                                   "all slopes = 0")} if oim else {},
        notes=tuple(notes), index=design.index, fitted_values=P[np.arange(len(y)), y],
        predictor=_MNPredictor(design.terms, tuple(names), tuple(str(o) for o in outcomes)),
        extra={"outcomes": tuple(outcomes), "base": outcomes[0], "counts": counts,
               "margins": _mn_margins_spec(X, names, outcomes, w), "index": design.index, "weights": weights})


def _separation_notes(y: np.ndarray, X: np.ndarray, names: Sequence[str], outcomes: Sequence[Any],
                      separation: str) -> list[str]:
    cells = _empty_cells(y, X, names, outcomes)
    if not cells:
        return []
    msg = ("perfect prediction: " + "; ".join(cells) + ". The coefficients of those outcomes on those variables "
           "diverge; merge sparse categories, drop the variable, or drop those observations")
    if separation == "raise":
        raise SeparationError(msg)
    return ["Warning: " + msg + "."]


def _fit(y: np.ndarray, X: np.ndarray, maxiter: int, cells: list[str],
         w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """statsmodels ``MNLogit`` supplies the likelihood, score and Hessian; :func:`.ml.maximize` runs Newton from 0
    (parameters outcome-major: all of outcome 1, then outcome 2, ...). With sampling weights ``w`` the
    pseudo-likelihood Σ wᵢℓᵢ, its score and Hessian are weighted here (statsmodels' MNLogit takes no weights)."""
    from statsmodels.discrete.discrete_model import MNLogit

    model = MNLogit(y, X)
    start = np.zeros(X.shape[1] * (len(np.unique(y)) - 1))
    if w is None:
        loglike, score, hessian = model.loglike, model.score, model.hessian
    else:
        def loglike(b: np.ndarray) -> float:
            return float(w @ np.asarray(model.loglikeobs(b)).reshape(len(w), -1).sum(axis=1))

        def score(b: np.ndarray) -> np.ndarray:
            return w @ model.score_obs(b)

        def hessian(b: np.ndarray) -> np.ndarray:
            return _weighted_hessian(b, X, w)
    try:
        fit = maximize(loglike, score, start, hessian=hessian, maxiter=maxiter,
                       what="multinomial logit",
                       advice="Try: merging rare outcome categories, rescaling regressors, removing variables that "
                              "perfectly predict an outcome, or raising maxiter.")
    except ConvergenceError as exc:
        if cells:
            raise SeparationError("multinomial logit did not converge: perfect prediction: " + "; ".join(cells)
                                  + f" ({exc})") from None
        raise
    return fit.theta, fit.hessian, model


def _weighted_hessian(params: np.ndarray, X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ wᵢ ∂²ℓᵢ/∂β∂β': block (j, l) = −X' diag(wᵢ pᵢⱼ(δⱼₗ − pᵢₗ)) X over the non-base outcomes."""
    k = X.shape[1]
    P = _softmax_probs(params, X, k)[:, 1:]
    J1 = P.shape[1]
    H = np.empty((k * J1, k * J1))
    for j in range(J1):
        for m in range(j, J1):
            c = w * P[:, j] * ((j == m) - P[:, m])
            H[j * k:(j + 1) * k, m * k:(m + 1) * k] = H[m * k:(m + 1) * k, j * k:(j + 1) * k] = -(X.T * c) @ X
    return H


@dataclass(frozen=True)
class _MNPredictor:
    """Outcome probabilities on new data, one column per outcome (base first)."""

    terms: Terms
    names: tuple[str, ...]
    outcomes: tuple[str, ...]

    def predict(self, res: Any, newdata: Any, kind: str | None) -> pd.DataFrame | pd.Series:
        if kind not in (None, "pr"):
            raise SpecificationError(f"kind={kind!r}: mnlogit predicts 'pr' (outcome probabilities)")
        if newdata is None:
            return res.fitted
        X, idx = self.terms.matrix(newdata, self.names)
        return pd.DataFrame(SoftmaxMean(len(self.names))(res.coef, X), index=idx, columns=list(self.outcomes))
