"""Formula and expression safety: what a user-supplied formula may contain before it reaches formulaic.

formulaic evaluates every term of a formula as Python (``eval``) in a namespace that by default is the caller's, so
``y ~ I(np.__builtins__['__import__']('os').system('...'))`` runs a shell command. Every formula is therefore
checked here first, on a whitelist; :func:`model_matrix` then checks again every term formulaic will evaluate, split
as formulaic splits it (:func:`check_terms_as_formulaic_reads_them`: a triple-quoted string once made the two
tokenizers disagree and hid a term from the first check); and the evaluation namespace is replaced by
:func:`formula_context` (every Python builtin shadowed, ``np`` a namespace of a few ufuncs). The namespace alone is
not enough: a data column (a pandas Series) reaches the builtins through its attributes, which only the checks
refuse.

Allowed in a formula (``lhs ~ rhs``, or ``~ rhs``):

* column names (``log_sales``; a name with other characters in backticks, ```sales (GHS)```, or ``Q("...")``),
  numbers, the formula operators ``+ - * / : ** ^ |`` and parentheses (``- 1`` or ``+ 0`` drop the constant);
* ``C(x)`` with an optional contrast (``Treatment``, ``Treatment("ref")``, ``Treatment(reference="ref")``,
  ``Sum``, ``Helmert``, ``Diff``, ``Poly``, ``contr.treatment("ref")``, ``contr.sum``...) and ``levels=[...]``;
* ``I(...)`` with arithmetic (``+ - * / // % **``, comparisons) on columns, numbers and the functions below;
* ``log`` ``log1p`` ``log10`` ``log2`` ``exp`` ``sqrt`` ``abs`` (also as ``np.log`` etc.), ``center(x)``,
  ``scale(x[, center=, scale=, ddof=])``, ``poly(x, degree)``, ``bs(x, df=...)``, and the panel transforms
  ``lag(x[, k])``, ``lead(x[, k])``, ``diff(x[, k])`` with an integer literal ``k``.

Refused: attribute access other than ``np.<function above>``/``contr.<contrast>``, subscripts, any other call,
names starting with ``__``, strings outside ``C()``/``Q()``, ``{...}`` Python blocks, constant arithmetic beyond
float range (``9 ** 9 ** 9``), more than :data:`MAX_TERMS` model terms, an expansion (``(a + ... + f)**10``)
that would make formulaic form more than :data:`MAX_EXPANSION_WORK` term products, formulas longer than
:data:`MAX_FORMULA_CHARS`. :func:`constant_problem` (the bound on constant arithmetic) is shared with the
replication-spec expressions (:mod:`clusterecon.replicate.expr`).

Written here (no formulaic or numpy import) because neither formulaic nor patsy validates formulas: both document
that formulas are trusted code.
"""

from __future__ import annotations

import ast
import builtins
import math
import re
from collections.abc import Mapping
from typing import Any

# the bound on constant arithmetic, shared with the replication-spec expressions (re-exported here)
from ._constant_bound import MAX_CONSTANT_LOG10, MAX_EXPONENT, _constant_value, constant_problem  # noqa: F401

#: Longest formula accepted (characters).
MAX_FORMULA_CHARS = 5_000
#: Deepest nesting of parentheses/brackets accepted (Python's parser recurses on nesting).
MAX_DEPTH = 40
#: Largest number of model terms a formula may expand to (``a*b*c*...`` doubles the terms with each factor).
MAX_TERMS = 5_000
#: Largest number of term products formulaic may form while expanding a formula's ``**``, ``*``, ``:`` and ``/``
#: (summed over the formula): its ``(a + b + ...)**k`` forms every one of the n**k ordered products before removing
#: repeats, so ``(6 terms)**10`` (60 million products) would hang although it yields only 63 terms. 20,000
#: products take formulaic about 0.3 s.
MAX_EXPANSION_WORK = 20_000

#: Math functions of one argument (name as written -> numpy ufunc name).
MATH_FUNCTIONS = {"log": "log", "log1p": "log1p", "log10": "log10", "log2": "log2", "exp": "exp", "sqrt": "sqrt",
                  "abs": "abs", "fabs": "fabs"}
#: Panel transforms (their panel-aware meaning is in :mod:`clusterecon.estimators.design`).
PANEL_TRANSFORMS = ("lag", "lead", "diff")
#: Contrast codings accepted as the second argument of ``C()``.
CONTRASTS = ("Treatment", "Sum", "Helmert", "Diff", "Poly")
CONTR_ATTRS = ("treatment", "sum", "helmert", "diff", "poly")

ALLOWED_TEXT = ("column names, numbers, + - * / : ** ^ | ( ), - 1 or + 0, C(x[, Treatment(\"ref\")]), I(arithmetic), "
                "log/log1p/log10/log2/exp/sqrt/abs (or np.log etc.), center, scale, poly(x, k), bs(x, df=k), "
                "lag/lead/diff(x[, k])")


class FormulaError(ValueError):
    """A formula that uses something outside the whitelist, or that cannot be parsed; the message names the
    offending piece and what is allowed."""


# ------------------------------------------------------------------------------------------------- tokenizer
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<bq>`[^`]*`)
  | (?P<str>'[^'\\\n]*'|"[^"\\\n]*")
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>\*\*|//|==|!=|<=|>=|[-+*/:|^()\[\],=~<>.%])
""", re.X)


def _tokens(text: str, formula: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = " (use I(...) for arithmetic)" if ch in "{}" else ""
            raise FormulaError(f"formula {formula!r}: character {ch!r} at position {pos + 1} is not allowed{hint}; "
                               f"allowed: {ALLOWED_TEXT}")
        if m.lastgroup != "ws":
            if m.lastgroup == "str" and out and out[-1][0] == "str":
                # Python joins adjacent strings and reads three quotes as one triple-quoted string, where this
                # tokenizer sees several: a formula's strings must mean the same to both (security audit)
                raise FormulaError(f"formula {formula!r}: two strings next to each other at position {pos + 1} "
                                   "(or a triple quote); write each level or name as one quoted string")
            out.append((m.lastgroup, m.group()))
        pos = m.end()
    return out


def _to_python(tokens: list[tuple[str, str]], quoted: dict[str, str]) -> str:
    """Python source for ``ast``: ``:`` becomes ``&`` (no other meaning in a formula), backticked names become
    placeholder identifiers (recorded in ``quoted``)."""
    parts = []
    for kind, text in tokens:
        if kind == "bq":
            ident = f"_clusterecon_quoted_{len(quoted)}"
            quoted[ident] = text[1:-1]
            parts.append(ident)
        elif kind == "op" and text == ":":
            parts.append("&")
        else:
            parts.append(text)
    return " ".join(parts)


# ------------------------------------------------------------------------------------------------- checks
class _Check:
    def __init__(self, formula: str, quoted: dict[str, str]) -> None:
        self.formula = formula
        self.quoted = quoted
        self.work = 0  # term products formulaic forms while expanding (see MAX_EXPANSION_WORK)

    def fail(self, node: ast.AST | None, why: str = "") -> FormulaError:
        piece = self.show(node) if node is not None else ""
        what = f"{piece!r} is not allowed" if piece else "not allowed"
        return FormulaError(f"formula {self.formula!r}: {what}{(' (' + why + ')') if why else ''}; "
                            f"allowed: {ALLOWED_TEXT}")

    def show(self, node: ast.AST) -> str:
        text = ast.unparse(node).replace(" & ", ":").replace("&", ":")
        for ident, name in self.quoted.items():
            text = text.replace(ident, f"`{name}`")
        return text

    def name(self, node: ast.Name) -> None:
        real = self.quoted.get(node.id, node.id)
        if real.startswith("__"):
            raise self.fail(node, "names starting with '__' are Python internals")

    # formula level: terms joined by formula operators -------------------------------------------------
    def terms(self, node: ast.AST) -> int:
        """Check a formula side; return an upper bound on the number of terms it expands to."""
        if isinstance(node, ast.Name):
            self.name(node)
            return 1
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            self.number(node)
            return 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return self.terms(node.operand)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow) or isinstance(node.op, ast.BitXor):
                n = self.terms(node.left)
                k = node.right
                if not (isinstance(k, ast.Constant) and type(k.value) is int and 1 <= k.value <= 10):
                    raise self.fail(node, "a formula power needs a whole number 1-10, e.g. (a + b)**2")
                self.expand(n ** k.value, node, f"{n}**{k.value} = {n ** k.value:,}",
                            f"; a power above the number of terms inside ({n}) adds nothing" if k.value > n else "")
                return self.bound(sum(math.comb(n, i) for i in range(1, min(k.value, n) + 1)), node)
            a, b = self.terms(node.left), self.terms(node.right)
            if isinstance(node.op, (ast.Add, ast.Sub, ast.BitOr)):
                return self.bound(a + b, node)
            self.expand(a * b, node, f"{a} x {b} = {a * b:,}")
            if isinstance(node.op, ast.BitAnd):  # a:b
                return self.bound(a * b, node)
            if isinstance(node.op, (ast.Mult, ast.Div)):  # a*b = a + b + a:b; a/b = a + a:b
                return self.bound(a + b + a * b, node)
            raise self.fail(node, "not a formula operator")
        if isinstance(node, ast.Call):
            self.transform(node)
            return 1
        raise self.fail(node)

    def expand(self, products: int, node: ast.AST, what: str, hint: str = "") -> None:
        """Count the term products formulaic forms for ``node``; refuse once the formula's total passes
        :data:`MAX_EXPANSION_WORK` (checked before formulaic runs: its expansion is what would hang)."""
        self.work += products
        if self.work > MAX_EXPANSION_WORK:
            raise self.fail(node, f"expanding it makes formulaic form {what} term products, {self.work:,} in the "
                                  f"formula so far, more than the {MAX_EXPANSION_WORK:,} allowed{hint}; use a lower "
                                  "power or fewer interactions")

    def bound(self, n: int, node: ast.AST) -> int:
        if n > MAX_TERMS:
            raise self.fail(node, f"it expands to more than {MAX_TERMS} terms")
        return n

    def number(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, float) and not math.isfinite(v) or abs(v) > 10.0 ** MAX_CONSTANT_LOG10:
            raise self.fail(node, "number out of range")

    # transforms (calls at formula level) ----------------------------------------------------------------
    def func_name(self, func: ast.AST) -> str | None:
        if isinstance(func, ast.Name):
            return func.id
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("np", "numpy")
                and func.attr in MATH_FUNCTIONS):
            return func.attr
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "contr"
                and func.attr in CONTR_ATTRS):
            return "contr." + func.attr
        return None

    def transform(self, node: ast.Call) -> None:
        name = self.func_name(node.func)
        args, kw = node.args, {k.arg: k.value for k in node.keywords}
        if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in args):
            raise self.fail(node, "no * or ** argument unpacking")
        if name in MATH_FUNCTIONS or name == "I":
            self.arity(node, 1, 1, ())
            self.arithmetic(args[0])
        elif name == "C":
            self.arity(node, 1, 2, ("contr", "levels", "spans_intercept"))
            self.arithmetic(args[0])
            if len(args) == 2:
                self.contrast(args[1])
            if "contr" in kw:
                self.contrast(kw["contr"])
            if "levels" in kw:
                self.literal_list(kw["levels"], strings=True)
            if "spans_intercept" in kw:
                self.literal(kw["spans_intercept"], bool)
        elif name == "Q":
            self.arity(node, 1, 1, ())
            a = args[0]
            if not (isinstance(a, ast.Constant) and isinstance(a.value, str)) or a.value.startswith("__"):
                raise self.fail(node, 'Q takes a column name in quotes, e.g. Q("sales (GHS)")')
        elif name in ("center", "scale"):  # formulaic's center(x) takes no options
            self.arity(node, 1, 1, ("center", "scale", "ddof") if name == "scale" else ())
            self.arithmetic(args[0])
            for v in kw.values():
                self.literal(v, (bool, int, float))
        elif name == "poly":
            self.arity(node, 1, 2, ("degree", "raw"))
            self.arithmetic(args[0])
            for v in [*args[1:], kw.get("degree")]:
                if v is not None:
                    self.literal(v, int, low=1, high=20)
            if "raw" in kw:
                self.literal(kw["raw"], bool)
        elif name == "bs":
            self.arity(node, 1, 1, ("df", "degree", "knots", "lower_bound", "upper_bound", "include_intercept"))
            self.arithmetic(args[0])
            for k, v in kw.items():
                if k == "knots":
                    self.literal_list(v)
                elif k == "include_intercept":
                    self.literal(v, bool)
                else:
                    self.literal(v, (int, float), low=-1e300, high=1e300 if "bound" in k else 50)
        elif name in PANEL_TRANSFORMS:
            self.arity(node, 1, 2, ())
            self.arithmetic(args[0])
            if len(args) == 2:
                self.literal(args[1], int, low=-MAX_EXPONENT, high=MAX_EXPONENT)
        else:
            raise self.fail(node, "not a known transform" if name is None or name in ("np", "numpy") else
                            f"{name}() is not a whitelisted function")

    def arity(self, node: ast.Call, lo: int, hi: int, keywords: tuple[str, ...]) -> None:
        if not lo <= len(node.args) <= hi:
            raise self.fail(node, f"takes {lo}{'' if lo == hi else f'-{hi}'} argument(s)")
        bad = [k.arg for k in node.keywords if k.arg not in keywords]
        if bad:
            raise self.fail(node, f"keyword {bad[0]!r} is not accepted here" + (
                f"; accepted: {', '.join(keywords)}" if keywords else ""))

    def literal(self, node: ast.AST, types: type | tuple[type, ...], low: float | None = None,
                high: float | None = None) -> None:
        types = types if isinstance(types, tuple) else (types,)
        v = _constant_value(node) if isinstance(node, ast.UnaryOp) else getattr(node, "value", None)
        if isinstance(node, ast.UnaryOp) and v is not None and float(v).is_integer() and int in types:
            v = int(v)
        ok = isinstance(node, (ast.Constant, ast.UnaryOp)) and isinstance(v, types) and (
            bool in types or not isinstance(v, bool))
        if not ok:
            raise self.fail(node, "a literal value is needed here")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and (
                not math.isfinite(v) or (low is not None and v < low) or (high is not None and v > high)):
            raise self.fail(node, f"value out of range [{low:g}, {high:g}]")

    def literal_list(self, node: ast.AST, strings: bool = False) -> None:
        if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) > 10_000:
            raise self.fail(node, "a list of literal values is needed here")
        for e in node.elts:
            self.literal(e, (str, int, float, bool) if strings else (int, float))
            if isinstance(e, ast.Constant) and isinstance(e.value, str) and len(e.value) > 1_000:
                raise self.fail(e, "string too long")

    def contrast(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name) and node.id in CONTRASTS:
            return
        if isinstance(node, ast.Attribute) and self.func_name(node) in {f"contr.{a}" for a in CONTR_ATTRS}:
            return
        if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id in CONTRASTS)
                or self.func_name(node.func) in {f"contr.{a}" for a in CONTR_ATTRS}):
            if len(node.args) > 1 or any(k.arg not in ("reference", "base", "drop", "scores") for k in node.keywords):
                raise self.fail(node, "a contrast takes one reference level, e.g. Treatment(\"ref\")")
            for v in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(v, (ast.List, ast.Tuple)):
                    self.literal_list(v, strings=True)
                else:
                    self.literal(v, (str, int, float, bool))
            return
        raise self.fail(node, f"contrast must be one of {', '.join(CONTRASTS)} or contr.treatment(...)")

    # arithmetic inside transforms ------------------------------------------------------------------------
    def arithmetic(self, node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                self.name(sub)
            elif isinstance(sub, ast.Constant):
                if type(sub.value) not in (int, float):
                    raise self.fail(sub, "only numbers here (strings belong in C() contrasts)")
                self.number(sub)
            elif isinstance(sub, ast.Call):
                name = self.func_name(sub.func)
                if name not in MATH_FUNCTIONS or sub.keywords or len(sub.args) != 1:
                    raise self.fail(sub, "inside a transform only log/log1p/log10/log2/exp/sqrt/abs(x) may be "
                                         "called")
            elif isinstance(sub, ast.Attribute):
                if not any(isinstance(p, ast.Call) and p.func is sub for p in ast.walk(node)):
                    raise self.fail(sub, "attribute access")
            elif isinstance(sub, ast.BinOp):
                if not isinstance(sub.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)):
                    raise self.fail(sub, "not arithmetic")
            elif isinstance(sub, ast.UnaryOp):
                if not isinstance(sub.op, (ast.USub, ast.UAdd)):
                    raise self.fail(sub, "not arithmetic")
            elif isinstance(sub, ast.Compare):
                if not all(isinstance(o, (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for o in sub.ops):
                    raise self.fail(sub, "not a comparison")
            elif not isinstance(sub, (ast.operator, ast.unaryop, ast.cmpop, ast.Load)):
                raise self.fail(sub)
        problem = constant_problem(node)
        if problem:
            raise self.fail(node, problem)


def nesting_depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def check_formula(formula: object, *, require_lhs: bool = False) -> str:
    """Check ``formula`` against the whitelist; return it unchanged or raise :class:`FormulaError`.

    ``require_lhs``: the formula must have ``lhs ~ rhs`` (an estimation formula); otherwise ``~ rhs`` (a
    selection equation or a right-hand side) passes too.
    """
    if not isinstance(formula, str):
        raise FormulaError(f"a formula must be a string like 'y ~ x1 + x2', got {type(formula).__name__}")
    if len(formula) > MAX_FORMULA_CHARS:
        raise FormulaError(f"formula of {len(formula)} characters is longer than the {MAX_FORMULA_CHARS} allowed")
    if nesting_depth(formula) > MAX_DEPTH:
        raise FormulaError(f"formula {formula[:80]!r}...: parentheses nested deeper than {MAX_DEPTH}")
    tokens = _tokens(formula, formula)
    tildes = [i for i, (k, t) in enumerate(tokens) if (k, t) == ("op", "~")]
    if len(tildes) > 1:
        raise FormulaError(f"formula {formula!r} has more than one '~'")
    if require_lhs and not tildes:
        raise FormulaError(f"formula {formula!r} needs a '~' between the dependent variable and the regressors, "
                           "e.g. 'log_sales ~ schooling + C(year)'")
    _parse(formula, tokens, tildes, require_lhs)
    return formula


def formula_columns(formula: str, *, bare: bool = False) -> list[str]:
    """The column names ``formula`` uses on both sides (after :func:`check_formula`), in order of appearance:
    every name that is not a function or a contrast, backticked names and ``Q("...")``. Unlike formulaic's
    ``required_variables``, this includes the arguments of its stateful transforms (``center(x)``, ``scale(x)``,
    ``poly(x, 2)``, ``bs(x, df=4)``), which formulaic leaves out. ``bare``: only the columns used as they are
    (``x``, ``a:b``), not inside a transform (``C(x)``, ``I(x - 1)``)."""
    check_formula(formula)
    tokens = _tokens(formula, formula)
    trees, quoted = _parse(formula, tokens, [i for i, (k, t) in enumerate(tokens) if (k, t) == ("op", "~")], False)
    found: list[str] = []
    check = _Check(formula, quoted)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            found.append(quoted.get(node.id, node.id))
        elif isinstance(node, ast.Call):
            if check.func_name(node.func) == "Q":
                found.append(node.args[0].value)  # type: ignore[attr-defined]
            elif node.args and not bare:  # the data argument; the others are literals, contrasts or levels
                visit(node.args[0])
        elif isinstance(node, ast.BinOp):
            visit(node.left)
            visit(node.right)
        elif isinstance(node, ast.UnaryOp):
            visit(node.operand)
        elif isinstance(node, ast.Compare):
            for v in (node.left, *node.comparators):
                visit(v)

    for tree in trees:
        visit(tree.body)
    return list(dict.fromkeys(found))


def level_lists(formula: str) -> list[tuple[str | None, list[Any], str]]:
    """Every ``C(x, levels=[...])`` of ``formula`` (after :func:`check_formula`): (the column ``x``, or ``None``
    when ``x`` is an expression; the levels; the piece as written). formulaic codes a value outside the levels as
    the reference level with only a warning; the estimators leave those rows out instead
    (:func:`clusterecon.estimators.design.build_design`)."""
    check_formula(formula)
    tokens = _tokens(formula, formula)
    trees, quoted = _parse(formula, tokens, [i for i, (k, t) in enumerate(tokens) if (k, t) == ("op", "~")], False)
    check = _Check(formula, quoted)
    found = []
    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and check.func_name(node.func) == "C"):
                continue
            levels = next((k.value for k in node.keywords if k.arg == "levels"), None)
            if levels is None:
                continue
            a = node.args[0]
            col = (quoted.get(a.id, a.id) if isinstance(a, ast.Name) else a.args[0].value
                   if isinstance(a, ast.Call) and check.func_name(a.func) == "Q" else None)
            found.append((col, list(ast.literal_eval(levels)), check.show(node)))
    return found


def _parse(formula: str, tokens: list[tuple[str, str]], tildes: list[int], require_lhs: bool,
           ) -> tuple[list[ast.Expression], dict[str, str]]:
    """The checked sides of ``formula`` as Python expressions and the backticked names they stand for."""
    sides = [tokens[:tildes[0]], tokens[tildes[0] + 1:]] if tildes else [tokens]
    quoted: dict[str, str] = {}
    trees: list[ast.Expression] = []
    check = _Check(formula, quoted)
    for i, side in enumerate(sides):
        if not side:
            if i == 0 and tildes and not require_lhs:
                continue
            raise FormulaError(f"formula {formula!r}: the {'left' if i == 0 and tildes else 'right'}-hand side of "
                               "'~' is empty")
        if any(k == "op" and t == "~" for k, t in side):  # pragma: no cover - split above
            raise FormulaError(f"formula {formula!r} has more than one '~'")
        source = _to_python(side, quoted)
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as e:
            raise FormulaError(f"formula {formula!r}: cannot parse {' '.join(t for _, t in side)!r} ({e.msg}); "
                               "check the parentheses and operators (a column name that is not a plain name, or is "
                               "a Python word such as 'class', goes in backticks: `class`)") from None
        except (RecursionError, MemoryError, ValueError):
            raise FormulaError(f"formula {formula[:80]!r}: too complex to parse") from None
        _internals(tree, check)
        check.terms(tree.body)
        trees.append(tree)
    return trees, quoted


def _internals(tree: ast.AST, check: _Check) -> None:
    """Name the most telling piece first: a subscript or an attribute that reaches Python internals."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise check.fail(node, "attribute access to Python internals")
        if isinstance(node, ast.Subscript):
            raise check.fail(node, "subscripts")
        if isinstance(node, ast.Name) and node.id in ("np", "numpy", "contr"):
            parent_ok = any(isinstance(p, ast.Attribute) and p.value is node for p in ast.walk(tree))
            if not parent_ok:
                raise check.fail(node, f"{node.id} is a namespace of functions, not a column")


# ------------------------------------------------------------------------------------------------- namespace
class _Blocked:
    """Stands in for every Python builtin in a formula's namespace: calling or using it fails clearly."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *a: Any, **k: Any) -> Any:
        raise FormulaError(f"{self._name!r} is not available in formulas; allowed: {ALLOWED_TEXT}")

    def __getattr__(self, attr: str) -> Any:
        raise FormulaError(f"{self._name!r} is not available in formulas; allowed: {ALLOWED_TEXT}")

    def __repr__(self) -> str:
        return f"<not available in formulas: {self._name}>"


class _Numpy:
    """The ``np`` of a formula: a few ufuncs, nothing else (no module, no ``__builtins__``)."""

    __slots__ = tuple(MATH_FUNCTIONS)

    def __init__(self) -> None:
        import numpy as np

        for name, ufunc in MATH_FUNCTIONS.items():
            object.__setattr__(self, name, getattr(np, ufunc))

    def __setattr__(self, *_: Any) -> None:  # pragma: no cover - read-only
        raise AttributeError("read-only")


def formula_context(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The namespace formulaic evaluates terms in (its ``context=``): every builtin name shadowed by a blocker,
    ``np``/``numpy`` the ufuncs of :data:`MATH_FUNCTIONS`, the math functions by name, and ``extra`` (e.g. the
    panel transforms) on top. formulaic's own transforms (``C``, ``I``, ``center``, ...) sit below this layer."""
    import numpy as np

    ctx: dict[str, Any] = {n: _Blocked(n) for n in dir(builtins)}
    ctx.update({n: _Blocked(n) for n in ("__builtins__", "__import__", "__loader__", "__spec__", "os", "sys",
                                         "subprocess", "importlib")})
    safe_np = _Numpy()
    ctx.update(np=safe_np, numpy=safe_np)
    ctx.update({n: getattr(np, u) for n, u in MATH_FUNCTIONS.items()})
    if extra:
        ctx.update(extra)
    return ctx


def model_matrix(formula: str, data: Any, context: Mapping[str, Any] | None = None) -> Any:
    """formulaic's ``model_matrix(formula, data, na_action="raise")`` after :func:`check_formula`, evaluated in
    :func:`formula_context` (never the caller's namespace) with ``context`` on top (e.g. panel-aware
    ``lag``/``lead``/``diff``); formulaic's errors become one :class:`FormulaError` without its terminal colour
    codes."""
    from formulaic import model_matrix as _mm
    from formulaic.errors import FormulaicError

    check_formula(formula)
    check_terms_as_formulaic_reads_them(formula)
    try:
        return _mm(formula, data, na_action="raise", context=formula_context(context))
    except (FormulaicError, ValueError, SyntaxError) as e:
        text = plain_text(str(e))
        if "null values after evaluation" in text:
            text += (" A transform gave missing values (e.g. the log of a negative number or of zero): drop those "
                     "rows first, or derive the column with clusterecon.derive, which leaves them missing and "
                     "records them")
        raise FormulaError(f"formula {formula!r}: {text}") from None


def check_terms_as_formulaic_reads_them(formula: str) -> None:
    """Check every term formulaic will evaluate as Python, split as formulaic itself splits the formula (its parser
    evaluates nothing). :func:`check_formula` reads the formula with its own tokenizer; should the two ever split a
    formula differently (formulaic's tokenizer does not track quotes inside parentheses, and a triple-quoted string
    once made a term look like part of a string to the check), what formulaic evaluates has still passed the
    whitelist."""
    from formulaic import Formula

    try:
        parsed = Formula(formula)
    except Exception as e:  # noqa: BLE001 (any parser failure is a formula the user must fix)
        raise FormulaError(f"formula {formula!r}: cannot parse it ({plain_text(str(e))})") from None
    for side in ([parsed.lhs, parsed.rhs] if hasattr(parsed, "rhs") else [parsed]):
        for term in side:
            for factor in getattr(term, "factors", None) or [None]:
                if factor is None:
                    raise FormulaError(f"formula {formula!r}: a structure other than 'lhs ~ rhs' is not supported")
                if str(getattr(factor.eval_method, "value", factor.eval_method)) != "python":
                    continue  # a column lookup or a literal: nothing is evaluated
                try:
                    check_formula(factor.expr)
                except FormulaError as e:
                    raise FormulaError(f"formula {formula!r}: formulaic reads the term {factor.expr!r} from it, "
                                       f"which is not allowed ({e})") from None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def plain_text(message: str) -> str:
    """``message`` without ANSI terminal escape codes (formulaic colours the offending part of a formula)."""
    return _ANSI.sub("", message).strip()
