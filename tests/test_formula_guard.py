"""No formula or spec expression runs code: the formula whitelist (clusterecon.formula_guard), the restricted
namespace formulaic evaluates in, and the size bounds of replication-spec expressions (issue 11, security)."""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from clusterecon.cli import main
from clusterecon.estimators import pooled_ols
from clusterecon.formula_guard import FormulaError, check_formula, formula_context, model_matrix
from clusterecon.replicate.expr import ExpressionError, evaluate

SHELL = "I(np.__builtins__['__import__']('os').system('touch {marker}'))"


@pytest.fixture
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    df = pd.DataFrame({"firm_id": np.repeat(np.arange(10), 4), "year": np.tile([2000, 2001, 2002, 2003], 10),
                       "sales": rng.uniform(1, 10, n), "employees": rng.uniform(1, 50, n),
                       "occ": rng.choice(["merchant", "engineer", "worker"], n)})
    return df.set_index(["firm_id", "year"])


@pytest.mark.parametrize("formula", [
    "y ~ x", "y ~ x + C(year)", "np.log(sales) ~ np.log(employees) + np.log(capital) + innovator",
    "inv ~ np.log(np.exp(value / 1000)) + capital", "y ~ x1 + x2 | firm", "y ~ x - 1", "y ~ 0 + x", "y ~ -1 + x",
    "y ~ a:b + a*b + a/b", "y ~ (a + b)**2", "y ~ I(x**2) + I(x > 0) + I((a + b) / 2)",
    "y ~ C(occ, Treatment('blue'))", "y ~ C(occ, Treatment(reference='b'))", "y ~ C(occ, contr.treatment('b'))",
    "y ~ C(occ, Sum)", "y ~ C(occ, levels=['a', 'b'])", "y ~ lag(x) + lag(x, 2) + diff(x) + lead(x, -1)",
    "y ~ `sales (GHS)` + Q('a b')", "~ z1 + z2", "y ~ center(x) + scale(x) + poly(x, 2) + bs(x, df=4)",
    "y ~ log1p(x) + abs(x) + sqrt(x) + exp(x) + np.sqrt(x)", "y ~ sales__2019", "y ~ x + exp",
])
def test_ordinary_formulas_pass(formula):
    assert check_formula(formula) == formula


@pytest.mark.parametrize("formula, piece", [
    ("y ~ " + SHELL.format(marker="x"), "np.__builtins__"),
    ("y ~ I(__import__('os').system('id'))", "__import__"),
    ("y ~ __import__('os')", "__import__"),
    ("y ~ open('/etc/passwd')", "open()"),
    ("y ~ I(open('/etc/passwd'))", "open('/etc/passwd')"),
    ("y ~ x.values", "x.values"),
    ("y ~ x[0]", "x[0]"),
    ("y ~ np.sum(x)", "np.sum(x)"),
    ("y ~ C(x, eval('1'))", "eval('1')"),
    ("y ~ lag(x, k)", "'k'"),
    ("y ~ {x + 1}", "'{'"),
    ("y ~ I('a' * 10)", "'a'"),
    ("y ~ `__class__`", "__class__"),
    ("y ~ np", "np"),
    ("y ~ I(lambda: 1)", "cannot parse"),
    ("y ~ I(x if z else w)", "x if z else w"),
    ("y ~ x & z", "'&'"),
    ("y ~ x ~ z", "more than one '~'"),
    ("y ~ (x", "cannot parse"),
    ("y ~ I(9 ** 9 ** 9)", "exponent"),
    ("y ~ I((10 ** 100) ** 100)", "larger than 1e300"),
    ("y ~ " + "*".join(f"x{i}" for i in range(20)), "more than 5000 terms"),
    ("y ~ " + "(" * 60 + "x" + ")" * 60, "nested deeper"),
])
def test_refused_formulas_name_the_piece_and_what_is_allowed(formula, piece):
    with pytest.raises(FormulaError) as e:
        check_formula(formula)
    assert piece in str(e.value)
    assert isinstance(e.value, ValueError)
    if "cannot parse" not in piece and "'~'" not in piece and "nested" not in piece:
        assert "allowed: column names" in str(e.value)


def test_formula_needs_a_tilde_for_estimation():
    with pytest.raises(FormulaError, match="needs a '~'"):
        check_formula("y + x", require_lhs=True)
    with pytest.raises(FormulaError, match="empty"):
        check_formula("y ~ ")


def test_python_api_does_not_run_the_shell(panel, tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(FormulaError, match="np.__builtins__"):
        pooled_ols(panel, "sales ~ " + SHELL.format(marker=marker) + " + employees")
    assert not marker.exists()


def test_namespace_blocks_code_even_without_the_check(panel, tmp_path):
    """Defence in depth: formulaic evaluating in formula_context() cannot reach os or the builtins."""
    from formulaic import model_matrix as formulaic_mm

    marker = tmp_path / "pwned"
    work = panel.reset_index()
    for f in ("sales ~ " + SHELL.format(marker=marker), f"sales ~ I(__import__('os').system('touch {marker}'))",
              f"sales ~ I(open('{marker}', 'w'))", "sales ~ I(eval('1'))"):
        with pytest.raises(Exception):  # noqa: B017 - formulaic wraps the blocker's error in its own
            formulaic_mm(f, work, context=formula_context())
    assert not marker.exists()


def test_transforms_still_work_in_the_restricted_namespace(panel):
    m = model_matrix("sales ~ np.log(employees) + I(employees ** 2) + C(occ, Treatment('worker')) + sqrt(sales)",
                     panel.reset_index())
    assert list(m.rhs.columns)[:3] == ["Intercept", "np.log(employees)", "I(employees ** 2)"]
    np.testing.assert_allclose(m.rhs["np.log(employees)"], np.log(panel["employees"].to_numpy()))


def test_formulaic_syntax_errors_are_one_clean_message(panel):
    with pytest.raises(ValueError) as e:
        pooled_ols(panel, "sales ~ employees +")
    assert "\x1b[" not in str(e.value)


def test_replicate_spec_with_a_shell_formula_is_refused(tmp_path, capsys):
    marker = tmp_path / "pwned"
    spec = tmp_path / "evil.toml"
    formula = "sales ~ " + SHELL.format(marker=marker).replace("'", "\\\"")
    spec.write_text('[data]\nsample = "garments"\n[[model]]\nname = "a"\nestimator = "pooled_ols"\n'
                    f'formula = "{formula}"\n', encoding="utf-8")
    assert main(["replicate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "[[model]] #1 ('a') formula" in err and "np.__builtins__" in err
    assert "bug" not in err and "Traceback" not in err
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------------- expressions
@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 1, 2], "t": [1, 2, 1], "x": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]})


@pytest.mark.parametrize("expr, message", [
    ("9 ** 9 ** 9", "exponent"),
    ("'a' * 10**10", "text 'a' cannot take part in arithmetic"),
    ("s * 10**10", None),  # a text column: not numbers (missing), not repeated
    ("2 ** 100000", "exponent 100000"),
    ("(10 ** 200) * (10 ** 200)", "larger than 1e300"),
    ("x ** 10 ** 10", "exponent"),
    ("1" + "0" * 400, "larger than 1e300"),
    ("'" + "a" * 2000 + "'", "text longer"),
    ("-'a'", "cannot take part in arithmetic"),
    ("lag(x, x)", "whole number"),
    ("(" * 100 + "x" + ")" * 100, "nested deeper"),
    ("x > 'a'", "compares numbers with text"),  # re-sweep S02: pandas' TypeError read "this looks like a bug"
])
def test_expressions_are_bounded_before_evaluation(small, expr, message):
    t0 = time.perf_counter()
    if message is None:
        assert evaluate(expr, small).isna().all()
    else:
        with pytest.raises(ExpressionError, match=message):
            evaluate(expr, small, ("id", "t"))
    assert time.perf_counter() - t0 < 1.0


def test_bounded_expressions_still_compute(small):
    np.testing.assert_allclose(evaluate("x ** 2 + 2 ** 10", small).to_numpy(), [1025, 1028, 1033])
    np.testing.assert_allclose(evaluate("x * 1e300 / 1e300", small).to_numpy(), [1, 2, 3])
    np.testing.assert_allclose(evaluate("2 ** x", small).to_numpy(), [2, 4, 8])  # a column exponent: numpy floats
    assert evaluate("s == 'b'", small).tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("expr", ["exp(1000)", "exp(x * 1000)", "x / 0", "(-8) ** (1/3)", "(0 - x) ** 0.5",
                                  "exp(exp(exp(1000)))"])
def test_expression_results_are_real_and_finite_or_missing(small, expr):
    """exp overflow, division by zero and Python's complex powers of negative numbers give missing values (like the
    log of zero), never inf or complex numbers that would reach an estimator, and no RuntimeWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = evaluate(expr, small, ("id", "t"))
    assert not pd.api.types.is_complex_dtype(out.dtype)
    assert out.isna().all()


@pytest.mark.parametrize("expr, message", [
    ("log(x, 2)", "log() takes 1 argument(s), got 2"),
    ("where(x > 1, 2)", "where() takes 3 argument(s), got 2"),
    ("any_of()", "any_of() takes 1 or more"),
    ("log('a')", "log() takes numbers or columns, not text"),
])
def test_function_misuse_is_named_in_the_spec_language(small, expr, message):
    with pytest.raises(ExpressionError, match=re.escape(message)) as e:
        evaluate(expr, small, ("id", "t"))
    assert "lambda" not in str(e.value) and "locals" not in str(e.value)


def test_numbers_stand_for_columns_in_where_and_any_of(small):
    assert evaluate("where(1, x, 0)", small).tolist() == [1.0, 2.0, 3.0]
    assert evaluate("any_of(0, x - 2)", small).tolist() == [0.0, 0.0, 1.0]
    assert evaluate("where(x > 1, 'big', 'small')", small).tolist() == ["small", "big", "big"]


# ---------------------------------------------------------------------------------------------------- expansion work
SIX = "employees + capital + wage_bill + material_cost + product_price + manager_schooling_years"


@pytest.mark.parametrize("formula, piece", [
    (f"sales ~ ({SIX})**10", "6**10 = 60,466,176"),  # the sweep-11 hang: 63 terms, but 60 million products
    ("y ~ (a + b + c)**10", "a power above the number of terms inside (3) adds nothing"),
    ("y ~ ((a + b + c + d)**4)**4", "15**4"),  # nested powers: the inner power's terms are the outer's
    (f"y ~ ({SIX})**5 * (a + b + c + d + e + f)**5 * (g + h)**2", "in the formula so far"),  # summed over powers
    ("y ~ (a + b + c + d + e + f + g)**5 / (h + i + j)**3 / (k + l + m)**4", "in the formula so far"),
    ("y ~ (" + " + ".join(f"x{i}" for i in range(12)) + ")**4", "12**4"),
])
def test_formula_expansions_are_bounded_before_formulaic(formula, piece):
    t0 = time.perf_counter()
    with pytest.raises(FormulaError) as e:
        check_formula(formula)
    assert time.perf_counter() - t0 < 0.5
    assert piece in str(e.value) and "more than the 20,000 allowed" in str(e.value), str(e.value)


@pytest.mark.parametrize("formula", [
    "y ~ (a + b + c + d + e)**5", "y ~ ((a + b + c)**3)**3", "y ~ (a + b + c + d)**4 * (e + f + g + h)**4",
    "y ~ a / (b / (c / (d / e)))", "y ~ (a + b + c + d)**7 / (e + f + g)**5", "y ~ ((a + b + c + d)**4)**3",
    f"y ~ ({SIX})**5 * (a + b + c + d + e + f)**5", "y ~ (a + b + c + d + e + f + g)**5 / (h + i + j)**3",
])
def test_accepted_expansions_finish_quickly(formula):
    from formulaic import Formula

    check_formula(formula)
    t0 = time.perf_counter()
    Formula(formula)
    assert time.perf_counter() - t0 < 2.0


def test_replicate_spec_with_a_formula_power_is_refused_at_once(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('[data]\nsample = "garments"\n[[model]]\nname = "M"\nestimator = "pooled_ols"\n'
                    f'formula = "sales ~ ({SIX})**10"\n', encoding="utf-8")
    t0 = time.perf_counter()
    assert main(["replicate", str(spec)]) == 2
    assert time.perf_counter() - t0 < 10
    err = capsys.readouterr().err
    assert "6**10" in err and "bug" not in err


#: a term hidden from a tokenizer that reads three quotes as strings of one quote (security re-sweep, probe X01):
#: formulaic reads '''A' ''' as one string and evaluates the I(...) between the two C() terms
_Q3 = "'" * 3
HIDDEN = ("sales ~ C(occ, Treatment(" + _Q3 + "A' " + _Q3 + ")) + I(sales.__class__.__init__.__globals__"
          "['__builtins__']['__import__']('os').system('touch {marker}')) - C(occ, Treatment(" + _Q3 + " 'A" + _Q3
          + "))")
#: the same trick with Q('...'): the check saw one column name, formulaic an unterminated string (probe F19)
HIDDEN_Q = ("sales ~ Q(') + I(employees.__class__.__init__.__globals__['__builtins__']['__import__']('os')"
            ".system('touch {marker}')) - Q(')")


@pytest.mark.parametrize("template", [HIDDEN, HIDDEN_Q])
def test_a_term_hidden_in_quotes_is_refused_and_never_runs(panel, tmp_path, template):
    from clusterecon.formula_guard import check_terms_as_formulaic_reads_them

    marker = tmp_path / "pwned"
    formula = template.format(marker=marker)
    with pytest.raises(FormulaError):
        pooled_ols(panel, formula)
    with pytest.raises(FormulaError):  # the second layer alone: the terms as formulaic splits them
        check_terms_as_formulaic_reads_them(formula)
    assert not marker.exists()


def test_adjacent_strings_are_refused_by_the_check():
    with pytest.raises(FormulaError, match="two strings next to each other"):
        check_formula("y ~ C(g, Treatment('a' 'b'))")
    check_formula("y ~ C(g, Treatment('a')) + Q('b c')")


def test_a_condition_of_numbers_alone_is_a_constant_condition(small):
    # re-sweep S01: "1 and 2" crashed ('bool' object has no attribute 'astype')
    assert evaluate("1 and 2", small).eq(1.0).all() and evaluate("1 and 0", small).eq(0.0).all()
