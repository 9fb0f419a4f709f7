"""Declarative replications: a TOML spec names the data, the models, the table layout and the published numbers;
:func:`run_spec` runs it and says whether the numbers were reproduced (``clusterecon replicate SPEC``)."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"run_spec": "run", "Replication": "run", "prepare_data": "run", "compare": "run", "load_spec": "spec",
         "parse_spec": "spec", "Spec": "spec", "SpecError": "spec", "load_dataset": "datasets", "evaluate": "expr",
         "ExpressionError": "expr"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        mod = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'clusterecon.replicate' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value
