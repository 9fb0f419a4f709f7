"""Predictions on new data for every estimator: rebuild the design's columns, apply the model's mean function.

:class:`Terms` rebuilds the model matrix of new rows exactly as the estimation sample's was built (formulaic's
``ModelSpec`` keeps factor levels and stateful transforms such as ``center(x)``; plain column names are read
directly). A factor level that was not in the estimation sample is refused (formulaic would code it as the base
level with a warning). :class:`Predictor` applies a named mean function to x'b: the names, not closures, are
stored so that results pickle.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from .errors import SpecificationError

__all__ = ["Predictor", "Terms", "MEANS"]


@dataclass(frozen=True)
class Terms:
    """The model-matrix columns ``names`` of a design and how to rebuild them: a formulaic ``ModelSpec`` of the
    right-hand side, or None when every column is a plain data column (or ``Intercept``)."""

    names: tuple[str, ...]
    spec: Any = None

    def matrix(self, data: Any, columns: Sequence[str] | None = None) -> tuple[np.ndarray, pd.Index]:
        """(X, index) of ``data`` for the columns ``columns`` (default all); rows with missing inputs give NaN."""
        frame = getattr(data, "frame", data)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"newdata must be a DataFrame or SurveyPanel, got {type(data).__name__}")
        cols = list(self.names if columns is None else columns)
        if self.spec is None:
            missing = [c for c in cols if c != "Intercept" and c not in frame.columns]
            if missing:
                raise SpecificationError(f"newdata lacks column(s) {missing} that the model uses")
            X = np.column_stack([np.ones(len(frame)) if c == "Intercept" else
                                 pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                                 for c in cols]) if cols else np.empty((len(frame), 0))
            return X, frame.index
        from formulaic.errors import FormulaicError

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                mm = self.spec.get_model_matrix(frame, na_action="ignore")
            except Warning as w:
                raise SpecificationError(f"newdata does not fit the estimation sample's terms: {w}") from None
            except (FormulaicError, KeyError, NameError) as exc:
                raise SpecificationError(f"cannot build the model's terms on newdata: {exc}") from None
        have = [str(c) for c in mm.columns]
        out = []
        for c in cols:
            if c in have:
                out.append(np.asarray(mm.iloc[:, have.index(c)], dtype=float))
            elif c == "Intercept":
                out.append(np.ones(len(mm)))
            else:
                raise SpecificationError(f"term {c!r} cannot be built on newdata (have {have})")
        return (np.column_stack(out) if out else np.empty((len(mm), 0))), frame.index


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return stats.norm.cdf(z)


def _cloglog(z: np.ndarray) -> np.ndarray:
    return -np.expm1(-np.exp(z))


#: Mean functions of the linear index, by name (stored by name so results pickle).
MEANS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda z: z, "logit": expit, "probit": _normal_cdf, "cloglog": _cloglog, "exp": np.exp,
}


@dataclass(frozen=True)
class Predictor:
    """Prediction rule of a result: x'b on the columns ``columns`` (default: the result's terms that are design
    columns), mapped by ``MEANS[link]`` for the default kind (``kinds[0]``); ``"xb"`` is always the index.

    ``scale`` names a parameter dividing the index, as ln σ²_u in the population-averaged RE probit
    Φ(x'b/√(1 + σ²_u)) (``kind="pr"``; ``"pu0"`` is Φ(x'b) at u = 0).
    """

    terms: Terms
    link: str = "identity"
    kinds: tuple[str, ...] = ("xb",)
    columns: tuple[str, ...] | None = None
    scale: str | None = None

    def index(self, res: Any, newdata: Any) -> tuple[np.ndarray, pd.Index]:
        cols = self.columns or tuple(n for n in res.names if n in self.terms.names)
        X, idx = self.terms.matrix(newdata, cols)
        pos = [res.names.index(c) for c in cols]
        return X @ res.coef[pos], idx

    def predict(self, res: Any, newdata: Any, kind: str | None) -> pd.Series:
        kind = kind or self.kinds[0]
        if kind not in self.kinds and kind != "xb":
            raise SpecificationError(f"kind={kind!r}: {res.model} predicts {self.kinds + ('xb',)}")
        if newdata is None:
            if kind != self.kinds[0]:
                raise SpecificationError(f"kind={kind!r} needs newdata (the fitted values are kind "
                                         f"{self.kinds[0]!r}); pass the estimation data to get it in-sample")
            return res.fitted
        xb, idx = self.index(res, newdata)
        if kind == "xb":
            return pd.Series(xb, index=idx, name="xb")
        if kind == "pu0":
            return pd.Series(MEANS[self.link](xb), index=idx, name=kind)
        if self.scale is not None:
            xb = xb / np.sqrt(1.0 + np.exp(res.coef[res.names.index(self.scale)]))
        return pd.Series(MEANS[self.link](xb), index=idx, name=kind)
