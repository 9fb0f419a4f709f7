"""The small expression language of replication specs (``[data.derive]`` and ``[data] filter``).

Parsed with :mod:`ast` and evaluated node by node on a whitelist (names are columns, calls are the functions in
:data:`FUNCTIONS`); nothing reaches Python's ``eval``. Panel functions (``lag``, ``lead``, ``diff``) look up the same
entity in the period ``k`` before/after and are missing when that period is not in the data (a gap is not a lag).
"""

from __future__ import annotations

import ast
import operator

import numpy as np
import pandas as pd

from ..formula_guard import MAX_DEPTH, MAX_FORMULA_CHARS, constant_problem, nesting_depth

#: Longest text literal accepted.
MAX_TEXT = 1_000

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv}
_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
        ast.GtE: operator.ge}


class ExpressionError(ValueError):
    """An expression that cannot be evaluated; the message names the expression and the problem."""


def _num(x):
    if isinstance(x, pd.Series):
        if pd.api.types.is_bool_dtype(x) or isinstance(x.dtype, pd.BooleanDtype):
            return x.astype("Float64").astype(float)
        return pd.to_numeric(x, errors="coerce").astype(float) if not pd.api.types.is_float_dtype(x) else x
    return x


def _positive_log(f):
    def g(x):
        x = _num(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return f(x.where(x > 0)) if isinstance(x, pd.Series) else (f(x) if x > 0 else np.nan)
    return g


def _shift(frame: pd.DataFrame, index: tuple[str, ...], x: pd.Series, k: int) -> pd.Series:
    if len(index) != 2:
        raise ExpressionError("lag/lead/diff need [data] index = [entity, time]")
    ent, time = index
    key = pd.MultiIndex.from_arrays([frame[ent], frame[time]])
    src = pd.Series(_num(x).to_numpy(), index=key)
    if not src.index.is_unique:
        raise ExpressionError(f"lag/lead/diff: ({ent}, {time}) does not identify the rows (duplicates)")
    want = pd.MultiIndex.from_arrays([frame[ent], pd.to_numeric(frame[time]) - k])
    return pd.Series(src.reindex(want).to_numpy(), index=frame.index)


def _any_of(*xs):
    block = pd.concat([_num(x) for x in xs], axis=1)
    return (block.max(axis=1) > 0).astype(float).where(block.notna().any(axis=1))


FUNCTIONS = {
    "log": _positive_log(np.log),
    "log1p": lambda x: np.log1p(_num(x)),
    "exp": lambda x: np.exp(_num(x)),
    "sqrt": lambda x: np.sqrt(_num(x).where(_num(x) >= 0)) if isinstance(x, pd.Series) else np.sqrt(x),
    "abs": lambda x: np.abs(_num(x)),
    "any_of": _any_of,
    "where": lambda c, a, b: pd.Series(np.where(_num(c).fillna(0).astype(bool), _num(a), _num(b)),
                                       index=c.index).where(_num(c).notna()),
}
PANEL_FUNCTIONS = {"lag": 1, "lead": -1, "diff": 0}
#: (fewest, most) arguments of each function
ARITY = {"log": (1, 1), "log1p": (1, 1), "exp": (1, 1), "sqrt": (1, 1), "abs": (1, 1), "any_of": (1, 10_000),
         "where": (3, 3)}


def _finite(out):
    """Arithmetic has real, finite results: infinities (``exp(1000)``, ``x / 0``) and complex numbers (``(-8) **
    (1/3)`` in Python) become missing, like the log of a non-positive number."""
    if isinstance(out, pd.Series):
        if pd.api.types.is_complex_dtype(out.dtype):
            return pd.Series(np.nan, index=out.index)
        if pd.api.types.is_float_dtype(out.dtype):
            return out.where(np.isfinite(out.to_numpy(dtype=float, na_value=np.nan)))
        return out
    if isinstance(out, complex):
        return np.nan
    if isinstance(out, float) and not np.isfinite(out):
        return np.nan
    return out


def evaluate(expr: str, frame: pd.DataFrame, index: tuple[str, ...] = ()) -> pd.Series:
    """Evaluate ``expr`` on the columns of ``frame``; returns a Series aligned with ``frame``.

    Sizes are bounded before anything is evaluated (:func:`clusterecon.formula_guard.constant_problem`): arithmetic
    on numbers alone must stay within float range with exponents within ±1000 (``9 ** 9 ** 9`` is refused), text
    takes no arithmetic (``'a' * 10**10`` is refused), and literals and the expression are of bounded length.
    """
    if len(expr) > MAX_FORMULA_CHARS or nesting_depth(expr) > MAX_DEPTH:
        raise ExpressionError(f"{expr[:80]!r}: longer than {MAX_FORMULA_CHARS} characters or nested deeper than "
                              f"{MAX_DEPTH}")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as e:
        raise ExpressionError(f"cannot parse {expr!r}: {e.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f"{expr[:80]!r}: too complex to parse") from None
    problem = constant_problem(tree)
    if problem:
        raise ExpressionError(f"{expr!r}: {problem}")

    def number(node):
        v = ev(node)
        if isinstance(v, str):
            raise ExpressionError(f"{expr!r}: text {ast.unparse(node)} cannot take part in arithmetic (text is "
                                  "only compared, e.g. region == 'north')")
        return _num(v)

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Name):
            if node.id not in frame.columns:
                import difflib

                near = difflib.get_close_matches(node.id, [str(c) for c in frame.columns], n=1)
                raise ExpressionError(f"{expr!r}: no column {node.id!r}" + (f"; did you mean {near[0]!r}?" if near
                                                                             else ""))
            return frame[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)) and not isinstance(
                node.value, bool):
            if isinstance(node.value, str) and len(node.value) > MAX_TEXT:
                raise ExpressionError(f"{expr!r}: text longer than {MAX_TEXT} characters")
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            left, right = number(node.left), number(node.right)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                try:
                    out = _BIN[type(node.op)](left, right)
                except (ZeroDivisionError, OverflowError):
                    out = np.nan
            return _finite(out)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -number(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            v = _num(ev(node.operand))
            return (v == 0).astype(float).where(v.notna()) if isinstance(v, pd.Series) else float(not v)
        if isinstance(node, ast.BoolOp):
            vals = [_num(ev(v)) for v in node.values]
            out = vals[0] != 0
            for v in vals[1:]:
                out = (out & (v != 0)) if isinstance(node.op, ast.And) else (out | (v != 0))
            return out.astype(float) if isinstance(out, pd.Series) else float(out)  # numbers alone: one bool
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
            left, right = ev(node.left), ev(node.comparators[0])
            if not isinstance(left, str) and not isinstance(right, str):
                left, right = _num(left), _num(right)
            try:
                out = _CMP[type(node.ops[0])](left, right)
            except TypeError:  # a number column against text (pandas refuses an ordering of the two)
                raise ExpressionError(f"{expr!r}: {ast.unparse(node)} compares numbers with text; compare a number "
                                      "column with a number and a text column with text") from None
            if isinstance(out, pd.Series):
                miss = left.isna() if isinstance(left, pd.Series) else pd.Series(False, index=out.index)
                return out.astype(float).where(~miss)
            return float(out)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            name = node.func.id
            args = [ev(a) for a in node.args]
            if name in PANEL_FUNCTIONS:
                if not args or len(args) > 2:
                    raise ExpressionError(f"{expr!r}: {name}(x[, k]) takes one column and an optional integer k")
                if len(args) == 2 and not (isinstance(args[1], int) and abs(args[1]) <= 1000):
                    raise ExpressionError(f"{expr!r}: {name}(x, k) needs a whole number k (at most 1000)")
                k = args[1] if len(args) == 2 else 1
                if name == "diff":
                    return _num(args[0]) - _shift(frame, index, args[0], k)
                return _shift(frame, index, args[0], k * PANEL_FUNCTIONS[name])
            if name in FUNCTIONS:
                want = ARITY[name]
                if not (want[0] <= len(args) <= want[1]):
                    n = str(want[0]) if want[0] == want[1] else f"{want[0]} or more"
                    raise ExpressionError(f"{expr!r}: {name}() takes {n} argument(s), got {len(args)}")
                if name != "where" and any(isinstance(a, str) for a in args):
                    raise ExpressionError(f"{expr!r}: {name}() takes numbers or columns, not text")
                if name in ("any_of", "where"):  # a number stands for a column holding it
                    k = len(args) if name == "any_of" else 1
                    args = [a if isinstance(a, pd.Series) or i >= k else pd.Series(a, index=frame.index)
                            for i, a in enumerate(args)]
                with np.errstate(all="ignore"):
                    try:
                        return _finite(FUNCTIONS[name](*args))
                    except (TypeError, AttributeError, ValueError) as e:
                        raise ExpressionError(f"{expr!r}: {name}(): {e}") from None
            raise ExpressionError(f"{expr!r}: unknown function {name!r}; available: "
                                  f"{', '.join([*FUNCTIONS, *PANEL_FUNCTIONS])}")
        raise ExpressionError(f"{expr!r}: {ast.unparse(node)!r} is not allowed (use column names, numbers, "
                              "strings, + - * / **, comparisons, and/or/not, and the listed functions)")

    out = ev(tree)
    if not isinstance(out, pd.Series):
        out = pd.Series(out, index=frame.index)
    return out
