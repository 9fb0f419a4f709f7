"""JSON text that every parser accepts: non-finite floats (NaN, ±inf, which :func:`json.dumps` writes as the
non-standard ``NaN``/``Infinity``) become ``null``; numpy scalars become Python numbers; anything else unknown is
written as its text."""

from __future__ import annotations

import json
import math
from typing import Any


def _clean(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", None) == 0:  # numpy scalar
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def dumps(obj: Any, indent: int | None = 2) -> str:
    """``json.dumps`` with non-finite numbers as ``null`` (``allow_nan=False`` guarantees valid JSON)."""
    return json.dumps(_clean(obj), indent=indent, default=str, allow_nan=False)
