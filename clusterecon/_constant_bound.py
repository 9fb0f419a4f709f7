"""The bound on constant arithmetic shared by formulas (:mod:`clusterecon.formula_guard`) and replication-spec
expressions (:mod:`clusterecon.replicate.expr`): evaluating the number-only parts of an expression must not hang or
exhaust memory (``9 ** 9 ** 9``). Pure ``ast``, no numpy."""

from __future__ import annotations

import ast
import math

#: Largest absolute value of an exponent written as a number.
MAX_EXPONENT = 1_000
#: Largest constant (absolute value, base 10 logarithm) that arithmetic on numbers may produce: float range.
MAX_CONSTANT_LOG10 = 300


def constant_problem(node: ast.AST) -> str | None:
    """Why evaluating the number-only parts of ``node`` would hang or exhaust memory, or ``None``.

    Bounds the size (base 10 logarithm) of every sub-expression made of numbers only: it must stay within float
    range (1e300), and an exponent written as a number within ±:data:`MAX_EXPONENT`. ``9 ** 9 ** 9`` fails;
    ``x ** 2`` with ``x`` a column passes (numpy float arithmetic cannot hang).
    """
    try:
        _log10_bound(node)
    except _TooBig as e:
        return str(e)
    return None


class _TooBig(Exception):
    pass


def _log10_bound(node: ast.AST) -> float | None:
    """Upper bound of log10|value| of a constant sub-expression; ``None`` when it involves a column or call."""
    if isinstance(node, ast.Expression):
        return _log10_bound(node.body)
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        if isinstance(v, float) and not math.isfinite(v):
            raise _TooBig("non-finite number")
        size = math.log10(abs(v)) if v else 0.0
        if size > MAX_CONSTANT_LOG10:
            raise _TooBig(f"number {str(v)[:20]}... larger than 1e{MAX_CONSTANT_LOG10}")
        return max(size, 0.0)
    if isinstance(node, ast.UnaryOp):
        return _log10_bound(node.operand)
    if isinstance(node, ast.BinOp):
        a, b = _log10_bound(node.left), _log10_bound(node.right)
        if isinstance(node.op, ast.Pow):
            if b is not None:
                e = _constant_value(node.right)
                if (e is not None and abs(e) > MAX_EXPONENT) or b > math.log10(MAX_EXPONENT) + 1e-9:
                    raise _TooBig(f"exponent {ast.unparse(node.right)[:40]} beyond ±{MAX_EXPONENT}")
            if a is None or b is None:  # a column is involved: numpy float arithmetic, cannot hang
                return None
            size = a * 10.0 ** b
        elif a is None or b is None:
            return None
        elif isinstance(node.op, ast.Mult):
            size = a + b
        elif isinstance(node.op, (ast.Add, ast.Sub)):
            size = max(a, b) + 1
        else:  # / // %: no larger than the left operand (or a float)
            size = a
        if size > MAX_CONSTANT_LOG10:
            raise _TooBig(f"{ast.unparse(node)[:60]} is larger than 1e{MAX_CONSTANT_LOG10}")
        return size
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _log10_bound(v)
        return None
    if isinstance(node, ast.Compare):
        for v in (node.left, *node.comparators):
            _log10_bound(v)
        return None
    if isinstance(node, ast.Call):
        for v in node.args:
            _log10_bound(v)
        return None
    return None


def _constant_value(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _constant_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    return None
