"""Lazy re-exports for package ``__init__`` modules, so ``import clusterecon`` does not import statsmodels,
linearmodels, formulaic or matplotlib (measured by benchmarks/bench_analyse.py: import ≤ 1 s)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str], aliases: Mapping[str, str] | None = None,
                 submodules: Iterable[str] = (),
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``: ``names`` maps a public name to the module defining it
    (absolute, or relative to ``package`` when it starts with a dot); ``aliases`` maps a public name to the name it
    has in that module. A name equal to its module's last component and absent from it resolves to the module.
    ``submodules``: modules of ``package`` reachable as attributes (``clusterecon.report.latex.PACKAGES`` after
    ``from clusterecon import report``), imported on first access; they are in ``dir()`` but not ``__all__``, so
    ``from package import *`` does not import them."""
    aliases = dict(aliases or {})
    subs = {s: f"{package}.{s}" for s in submodules}
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        if name in subs and name not in names:
            value = importlib.import_module(subs[name])
            namespace[name] = value
            return value
        try:
            target = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        mod = importlib.import_module(target, package if target.startswith(".") else None)
        attr = aliases.get(name, name)
        value = getattr(mod, attr) if hasattr(mod, attr) or not mod.__name__.endswith("." + name) else mod
        namespace[name] = value
        return value

    all_names = sorted(names)
    listed = sorted({*names, *subs})
    return __getattr__, lambda: listed, all_names
