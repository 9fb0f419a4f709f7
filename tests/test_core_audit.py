"""Regressions found by the issue-12 audit that have no better home."""

import ast
import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import clusterecon.estimators as E


def test_all_nan_covariance_gives_nan_inference_without_warnings():
    """A covariance with no information (e.g. a bootstrap with reps=0) is all NaN: standard errors, intervals and
    the summary are NaN/blank, and numpy's "All-NaN slice" RuntimeWarning no longer escapes from ``_se``."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"firm": np.repeat(np.arange(20), 3), "year": np.tile([1, 2, 3], 20),
                       "x": rng.normal(size=60)}).assign(y=lambda d: d.x + rng.normal(size=60))
    r = E.pooled_ols(df.set_index(["firm", "year"]), "y ~ x")
    nan = dataclasses.replace(r, vcov=np.full_like(r.vcov, np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nan.std_errors.isna().all() and nan.conf_int().isna().all().all()
        nan.tidy()
        str(nan.summary())


# ------------------------------------------------------------------ layout (issue 12, Build 5)
PKG = Path(__file__).resolve().parents[1] / "clusterecon"


def _imports(path: Path) -> list[str]:
    """Absolute module names imported by ``path`` (relative imports resolved against its package)."""
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = parts[:len(parts) - node.level] if node.level else []
            mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out += [mod] + [f"{mod}.{a.name}" for a in node.names]
    return out


def test_the_library_never_imports_the_command_line():
    offenders = [f"{p.relative_to(PKG.parent)} imports {m}" for p in PKG.rglob("*.py")
                 if "commands" not in p.parts and p.name not in ("cli.py", "__main__.py")  # the entry points
                 for m in _imports(p) if m.startswith(("clusterecon.commands", "clusterecon.cli"))]
    assert not offenders, offenders


def test_no_code_imports_the_old_private_estimator_modules():
    """``estimators._linear``/``_demean`` are back-compatibility aliases of ``linear``/``demean`` only."""
    old = ("clusterecon.estimators._linear", "clusterecon.estimators._demean")
    offenders = [f"{p.relative_to(PKG.parent)} imports {m}" for p in PKG.rglob("*.py")
                 for m in _imports(p) if m.startswith(old)]
    assert not offenders, offenders


def test_no_estimator_function_over_sixty_lines():
    """Build 5: no function of clusterecon.estimators over ~60 lines of code (docstrings not counted)."""
    long = []
    for p in (PKG / "estimators").glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef):
                first = node.body[0]
                doc = (first.end_lineno - first.lineno + 1) if isinstance(first, ast.Expr) and isinstance(
                    getattr(first, "value", None), ast.Constant) and isinstance(first.value.value, str) else 0
                if node.end_lineno - node.lineno + 1 - doc > 60:
                    long.append(f"{p.name}:{node.name}")
    assert not long, long
