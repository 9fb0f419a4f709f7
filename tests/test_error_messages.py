"""Crashes that became clear messages (issue 11, crashes and messages): one cluster, N <= K, non-finite data in
estimators, a figure that cannot be drawn, formula syntax errors, non-standard JSON, negative --max-examples and
Python warnings in the terminal."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from clusterecon.cli import main
from clusterecon.estimators import logit, pooled_ols, within
from clusterecon.estimators.design import SpecificationError


@pytest.fixture
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 30
    df = pd.DataFrame({"firm_id": np.repeat(np.arange(10), 3), "year": np.tile([2000, 2001, 2002], 10),
                       "y": rng.normal(size=n), "x": rng.uniform(1, 5, n), "w": rng.uniform(1, 2, n),
                       "one": 1, "d": (rng.uniform(size=n) > 0.5).astype(float)})
    return df.set_index(["firm_id", "year"])


# ---------------------------------------------------------------------------------------------------- estimators
@pytest.mark.parametrize("fit", [
    lambda p: pooled_ols(p, "y ~ x", vcov="cluster", cluster="one"),
    lambda p: within(p.loc[[0]], "y ~ x", vcov="cluster"),
    lambda p: logit(p, "d ~ x", vcov="cluster", cluster="one"),
])
def test_one_cluster_is_a_clear_error(panel, fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the few-clusters warning
        with pytest.raises(SpecificationError, match="needs at least 2 clusters; the estimation sample has 1"):
            fit(panel)


@pytest.mark.parametrize("rows, formula", [(2, "y ~ x"), (1, "y ~ x"), (3, "y ~ x + w + d")])
def test_n_not_above_k_is_a_clear_error(panel, rows, formula):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collinear regressors dropped with one row
        with pytest.raises(SpecificationError, match="N must exceed K"):
            pooled_ols(panel.iloc[:rows], formula)


@pytest.mark.parametrize("column, formula, kw, named", [
    ("y", "y ~ x", {}, "y (2 rows)"),
    ("x", "y ~ x", {}, "x (2 rows)"),
    ("x", "y ~ np.log(x) + C(d)", {}, "in x (2 rows)"),
    ("w", "y ~ x", {"weights": "w"}, "w (2 rows)"),
    ("x", "d ~ x", {"model": logit}, "x (2 rows)"),
])
def test_non_finite_data_are_refused_naming_column_and_rows(panel, column, formula, kw, named):
    bad = panel.copy()
    bad.iloc[[3, 7], bad.columns.get_loc(column)] = [np.inf, -np.inf]
    fit = kw.pop("model", pooled_ols)
    with pytest.raises(SpecificationError, match="non-finite") as e:
        fit(bad, formula, **kw)
    assert named in str(e.value)


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
def test_log_of_zero_in_a_formula_is_named(panel):
    bad = panel.assign(x=panel["x"].where(panel["x"] > 1.5, 0.0))
    n0 = int((bad["x"] == 0).sum())
    with pytest.raises(SpecificationError, match=rf"np.log\(x\) \({n0} rows?\).*clusterecon.derive"):
        pooled_ols(bad, "y ~ np.log(x)")


# ---------------------------------------------------------------------------------------------------- figures
def test_unplottable_figure_is_listed_and_leaves_no_file(tmp_path):
    from clusterecon.report.analyse_report import _Writer
    from clusterecon.report.figures import plot_trajectories

    w = _Writer(tmp_path, lambda _s: None)
    yearly = pd.DataFrame({"year": range(2000, 2010), "output": [1.0] * 8 + [1e308, -1e308], "firms": range(10)})
    paths, notes = w.figure("trajectories", lambda: plot_trajectories(yearly, ["output", "firms"]))
    assert paths is None and notes == []
    assert len(w.problems) == 1 and "figure 'trajectories' not drawn" in w.problems[0]
    assert not list((tmp_path / "figures").iterdir())


def test_dollar_signs_in_labels_do_not_break_figures(tmp_path):
    from clusterecon.report.figures import plot_trajectories, save_figure

    yearly = pd.DataFrame({"year": range(2000, 2005), "output": [1.0, 2, 3, 4, 5]})
    fig = plot_trajectories(yearly, ["output"], labels={"output": r"sales in $ \frac{unbalanced $x^"})
    assert save_figure(fig, tmp_path / "f")["png"].stat().st_size > 0


# ---------------------------------------------------------------------------------------------------- command line
def test_formula_syntax_error_is_one_clean_message(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('[data]\nsample = "survey"\n[[model]]\nname = "a"\nestimator = "pooled_ols"\n'
                    'formula = "sales ~ (employees +"\n', encoding="utf-8")
    assert main(["replicate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "\x1b[" not in err and "bug" not in err and "Traceback" not in err
    assert err.count("\n") == 1 and "cannot parse" in err


def test_json_report_is_strict_json(tmp_path, capsys):
    path = tmp_path / "s.csv"
    pd.DataFrame({"firm_id": ["a", "b", "c"], "year": [2000, 2000, 2000],
                  "sales": [1.0, -np.inf, np.nan]}).to_csv(path, index=False)
    main(["validate", str(path), "--json"])
    out = capsys.readouterr().out

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    assert json.loads(out, parse_constant=refuse)["problems"]


def test_json_writer_turns_non_finite_numbers_into_null():
    from clusterecon._json import dumps
    from clusterecon.provenance import ProvenanceEntry, to_json

    assert json.loads(dumps({"a": float("-inf"), "b": [np.float64("nan"), np.int64(3)], "c": (1.5,)}, indent=None)) \
        == {"a": None, "b": [None, 3], "c": [1.5]}
    entry = ProvenanceEntry(step="scale", action="x", detail={"factor": float("inf")})
    assert json.loads(to_json([entry]))[0]["detail"]["factor"] is None


@pytest.mark.parametrize("value", ["-1", "x", "0"])  # 0 printed "1 row(s):  (+1 more)" (sweep 11, M4)
def test_max_examples_must_be_a_count(capsys, value):
    assert main(["validate", "f.csv", "--max-examples", value]) == 2
    assert "--max-examples: expected a whole number 1 or more" in capsys.readouterr().err


def test_warnings_are_one_line_each(monkeypatch, capsys):
    import clusterecon.commands.codebook as codebook

    def noisy(_args):
        warnings.warn("only 3 clusters in ('firm_id',): cluster-robust inference is unreliable", UserWarning,
                      stacklevel=1)
        return 0

    monkeypatch.setattr(codebook, "run", noisy)
    assert main(["codebook"]) == 0
    err = capsys.readouterr().err
    assert err == "warning: only 3 clusters in ('firm_id',): cluster-robust inference is unreliable\n"
    assert warnings.showwarning is not None and warnings.showwarning.__name__ != "_show_warning"


@pytest.mark.parametrize("printed, shown", [
    ("firm a\x1b[2J\x1b]0;pwned\x07b\tok", "firm a\\x1b[2J\\x1b]0;pwned\\x07b\tok\n"),
    # bidi overrides and C1 controls too (tests/test_output_controls.py covers the report files)
    ("firm \u202eab\x9b\tok", "firm \\u202eab\\x9b\tok\n"),
])
def test_control_characters_from_the_data_do_not_reach_the_terminal(monkeypatch, capsys, printed, shown):
    import clusterecon.commands.codebook as codebook

    def show(_args):
        print(printed)
        return 0

    monkeypatch.setattr(codebook, "run", show)
    assert main(["codebook"]) == 0
    assert capsys.readouterr().out == shown


# ---------------------------------------------------------------------------------------------------- TOML files
@pytest.mark.parametrize("defect, needle", [
    ("deep", "nested too deeply"),
    ("latin1", "UTF-8"),
    ("folder", "folder"),
    ("huge", "is it the right file?"),
])
@pytest.mark.parametrize("command", ["mapping", "replicate", "evaluate"])
def test_unreadable_mapping_spec_or_design_file_is_one_clear_message(tmp_path, capsys, defect, needle, command):
    """A mapping, spec or design file nested 5000 deep (Python's recursion limit), not UTF-8, a folder, or of
    many megabytes: one line naming the file, exit code 2, never "this looks like a bug"."""
    from clusterecon.io.mapping import MAX_TOML_BYTES

    p = tmp_path / "f.toml"
    if defect == "deep":
        p.write_text("title = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    elif defect == "latin1":
        p.write_bytes('title = "Société"\n'.encode("latin-1"))
    elif defect == "folder":
        p.mkdir()
    else:
        p.write_text("# padding\n" * (MAX_TOML_BYTES // 10 + 1), encoding="utf-8")
    (tmp_path / "s.csv").write_text("firm_id,year\na,2000\n", encoding="utf-8")
    args = (["validate", str(tmp_path / "s.csv"), "--mapping", str(p)] if command == "mapping"
            else [command, str(p)])
    assert main(args) == 2
    err = capsys.readouterr().err
    if command == "mapping" and defect == "folder":
        needle = "is a directory"
    assert needle in err and str(p) in err and "bug" not in err and "Traceback" not in err


# ---------------------------------------------------------------------------------------------------- sweep 11 minors
def test_wald_restriction_errors_are_plain_text():
    from clusterecon.estimators import pooled_ols

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"firm_id": np.repeat(np.arange(10), 3), "year": np.tile([1, 2, 3], 10),
                       "x": rng.normal(size=30)}).assign(y=lambda d: d.x + rng.normal(size=30))
    r = pooled_ols(df.set_index(["firm_id", "year"]), "y ~ x")
    with pytest.raises(KeyError) as e:
        r.wald_test("x = 9**9**9")
    assert "\x1b[" not in str(e.value) and str(e.value).startswith("cannot parse restriction 'x = 9**9**9'")


@pytest.mark.parametrize("key, value", [("version", "2.0"), ("name", "5"), ("description", "true")])
def test_mapping_free_text_keys_are_checked_alike(key, value):
    from clusterecon.io import MappingError, as_mapping

    with pytest.raises(MappingError, match=f"{key} = "):
        as_mapping({key: __import__("tomllib").loads(f"{key} = {value}")[key],
                    "rename": {"fid": "firm_id", "yr": "year"}})
