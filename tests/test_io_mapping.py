"""Each mapping feature on a tiny survey, and mapping mistakes that name the file, the key and the column."""

from __future__ import annotations

import textwrap

import pandas as pd
import pyreadstat
import pytest

from clusterecon.io import LoadError, MappingError, load_mapping
from clusterecon.load import load_survey, read_panel


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def _csv(tmp_path, df, name="s.csv"):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def _steps(res, step, column=None):
    return [e for e in res.provenance if e.step == step and (column is None or e.column == column)]


BASE = pd.DataFrame({"fid": ["A", "A", "B", "C"], "yr": [2000, 2001, 2000, 2000], "rev": [10.0, 12.0, 5.0, 7.0]})


def test_rename_logged_and_labels_kept(tmp_path):
    res = load_survey(BASE, {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"}}, today_year=2026)
    assert res.ok and res.panel is not None
    assert res.panel.data["sales"].tolist() == [10.0, 12.0, 5.0, 7.0]
    assert {e.detail["raw"] for e in _steps(res, "rename")} == {"fid", "yr", "rev"}
    assert all(e.n_rows == 4 for e in _steps(res, "rename"))
    assert res.panel.data["source_row"].tolist() == [1, 2, 3, 4]


def test_codes_numeric_and_free_text_case_insensitive_unknown_policy(tmp_path):
    df = BASE.assign(occ=[1, 1, "  TRADER ", "astronaut"])
    m = {"rename": {"fid": "firm_id", "yr": "year", "occ": "founder_prior_occupation"},
         "codes": {"founder_prior_occupation": {"1": "engineer", "trader": "merchant", "unknown_policy": "unknown"}}}
    res = load_survey(df, m, today_year=2026)
    assert res.ok
    assert res.panel.firms["founder_prior_occupation"].astype(str).tolist() == ["engineer", "merchant", "unknown"]
    (w,) = res.report.by_rule("unknown_code")
    assert w.severity == "warning" and w.rows == (4,) and w.values == ("astronaut",)
    (rec,) = _steps(res, "recode", "founder_prior_occupation")
    assert rec.n_rows == 4 and rec.detail["map"]["astronaut"] == "unknown"
    # policy "error": the code is left for the validator, which reports it with its row
    m["codes"]["founder_prior_occupation"]["unknown_policy"] = "error"
    res = load_survey(df, m, today_year=2026)
    assert not res.ok and res.panel is None
    errs = [p for p in res.report.errors if p.rule == "unknown_code"]
    assert errs and 4 in errs[0].rows


def test_numeric_code_map_applies_to_stata_value_labels(tmp_path):
    p = tmp_path / "s.dta"
    df = pd.DataFrame({"fid": [1.0, 2.0], "yr": [2000.0, 2000.0], "occ": [1.0, 2.0]})
    pyreadstat.write_dta(df, p, variable_value_labels={"occ": {1: "Trader", 2: "Tailor"}})
    m = {"rename": {"fid": "firm_id", "yr": "year", "occ": "founder_prior_occupation"},
         "codes": {"founder_prior_occupation": {"1": "merchant", "2": "artisan"}}}
    res = load_survey(p, m, today_year=2026)
    assert res.ok, res.report.to_text()
    assert res.panel.firms["founder_prior_occupation"].astype(str).tolist() == ["merchant", "artisan"]
    assert res.panel.firms.index.tolist() == ["1", "2"]  # Stata stores ids as doubles; no '1.0'


def test_bool_codes(tmp_path):
    df = BASE.assign(exp=["Yes", "no", 2, 1])
    m = {"rename": {"fid": "firm_id", "yr": "year", "exp": "exporter"}, "codes": {"exporter": {"2": False}}}
    res = load_survey(df, m, today_year=2026)
    assert res.ok, res.report.to_text()
    assert res.panel.data["exporter"].tolist() == [True, False, False, True]


def test_missing_codes_global_and_per_column_with_reasons(tmp_path):
    df = BASE.assign(rev=[-9.0, 12.0, -8.0, 99.0], emp=[99.0, -7.0, 3.0, 4.0])
    m = {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales", "emp": "employees"},
         "missing": {"codes": {"-9": "don't know", "-8": "refused", "-7": "not applicable"},
                     "columns": {"employees": {"99": "not reported"}}}}
    res = load_survey(df, m, today_year=2026)
    assert res.ok, res.report.to_text()
    d = res.panel.data
    assert d["sales"].isna().tolist() == [True, False, True, False]  # 99 is a real value for sales
    assert d["employees"].isna().tolist() == [True, True, False, False]
    r = res.missing_reasons
    assert list(zip(r["source_row"], r["column"], r["code"], r["reason"])) == [
        (1, "employees", "99", "not reported"), (1, "sales", "-9", "don't know"),
        (2, "employees", "-7", "not applicable"), (3, "sales", "-8", "refused")]
    assert r.loc[0, "firm_id"] == "A" and r.loc[0, "year"] == 2000
    entries = {(e.column, e.detail["code"]): e for e in _steps(res, "missing_code")}
    assert entries[("sales", "-9")].rows == (1,) and entries[("sales", "-9")].detail["reason"] == "don't know"
    assert entries[("employees", "99")].n_rows == 1


def test_missing_exclude(tmp_path):
    df = BASE.assign(rev=[-9.0, 12.0, 5.0, 7.0])
    m = {"rename": {"fid": "firm_id", "yr": "year", "rev": "profit"},
         "missing": {"codes": {"-9": "don't know"}, "exclude": ["profit"]}}
    res = load_survey(df, m, today_year=2026)
    assert res.panel.data["profit"].tolist()[0] == -9.0 and len(res.missing_reasons) == 0


def test_text_in_numeric_is_an_error_not_nan(tmp_path):
    df = BASE.assign(rev=["10", "n/a", "1,234", "7"])
    res = load_survey(_csv(tmp_path, df), {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"}},
                      today_year=2026)
    assert res.panel is None
    (p,) = [p for p in res.report.errors if p.rule == "text_in_numeric"]
    assert p.column == "sales" and p.rows == (2, 3) and set(p.values) == {"n/a", "1,234"}
    assert "[missing]" in p.fix
    # declared as a survey code, "n/a" becomes NA with its reason kept
    m = {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"}, "missing": {"codes": {"N/A": "not applicable"}}}
    res = load_survey(_csv(tmp_path, df.assign(rev=["10", "n/a", "12", "7"])), m, today_year=2026)
    assert res.ok and res.missing_reasons["reason"].tolist() == ["not applicable"]


def test_not_integer(tmp_path):
    df = BASE.assign(fy=[1990.5, 1990.5, 1980, 1985])
    res = load_survey(df, {"rename": {"fid": "firm_id", "yr": "year", "fy": "founding_year"}}, today_year=2026)
    (p,) = res.report.by_rule("not_integer")
    assert p.rows == (1, 2)


def test_scale_thousands(tmp_path):
    m = {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"}, "scale": {"sales": "thousands"}}
    res = load_survey(BASE, m, today_year=2026)
    assert res.panel.data["sales"].tolist() == [10000.0, 12000.0, 5000.0, 7000.0]
    (e,) = _steps(res, "scale")
    assert e.detail["factor"] == 1000 and e.n_rows == 4


def test_currency_redenomination_by_year_and_conversion(tmp_path):
    df = pd.DataFrame({"fid": ["A", "A", "B"], "yr": [2005, 2008, 2008], "rev": [25_000_000.0, 3000.0, 100.0],
                       "cur": ["cedi", "cedi", "USD"]})
    m = {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"},
         "codes": {}, "currency": {"column": "cur", "target": "GHS", "rates": {"USD": {"2008": 1.2}},
                                   "redenomination": [{"old": "GHC", "new": "GHS", "ratio": 10000, "year": 2007,
                                                       "by_year": True}]}}
    df["cur"] = df["cur"].replace({"cedi": "GHS"})
    res = load_survey(df, m, today_year=2026)
    assert res.ok, res.report.to_text()
    d = res.panel.data
    assert d["sales"].tolist() == pytest.approx([2500.0, 3000.0, 120.0])
    assert d["currency"].tolist() == ["GHS", "GHS", "GHS"]
    red = [e for e in _steps(res, "currency") if "redenominated" in e.action]
    assert red[0].rows == (1,) and red[0].detail["ratio"] == 10000
    conv = [e for e in _steps(res, "currency") if "converted USD" in e.action]
    assert conv[0].rows == (3,)


def test_currency_missing_rate_is_an_error(tmp_path):
    df = BASE.assign(cur=["GHS", "GHS", "KES", "GHS"])
    m = {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"},
         "currency": {"column": "cur", "target": "GHS"}}
    res = load_survey(df, m, today_year=2026)
    (p,) = res.report.by_rule("currency_rate_missing")
    assert p.rows == (3,) and p.values == ("KES 2000",)


def test_firm_table_join_paths_relative_to_mapping(tmp_path):
    sub = tmp_path / "survey"
    sub.mkdir()
    _csv(sub, pd.DataFrame({"fid": ["A", "A", "B", "Z"], "yr": [2000, 2001, 2000, 2000]}), "panel.csv")
    _csv(sub, pd.DataFrame({"id": ["A", "B", "C"], "clus": ["Suame", "Suame", "Suame"],
                            "founded": [1990, 1995, 1999]}), "firms.csv")
    mp = _write(sub, "map.toml", """
        [source]
        file = "panel.csv"
        [firms]
        file = "firms.csv"
        key = { firm_years = "fid", firms = "id" }
        [rename]
        fid = "firm_id"
        yr = "year"
        clus = "cluster"
        founded = "founding_year"
    """)
    res = load_survey(None, mp, today_year=2026)
    (w,) = res.report.by_rule("firm_not_in_firm_table")
    assert w.rows == (4,) and w.values == ("Z",)
    (i,) = res.report.by_rule("firm_without_firm_years")
    assert i.rows == (3,) and i.values == ("C",)
    assert res.ok
    assert res.panel.firms.loc["B", "founding_year"] == 1995
    (j,) = _steps(res, "join")
    assert j.detail["orphan_firm_rows"] == [3] and j.detail["unmatched_rows"] == [4]


def test_duplicate_firm_in_firm_table(tmp_path):
    _csv(tmp_path, pd.DataFrame({"fid": ["A"], "yr": [2000]}), "panel.csv")
    _csv(tmp_path, pd.DataFrame({"fid": ["A", "A"], "clus": ["x", "y"]}), "firms.csv")
    mp = _write(tmp_path, "m.toml", """
        [firms]
        file = "firms.csv"
        key = "fid"
        [rename]
        fid = "firm_id"
        yr = "year"
    """)
    res = load_survey(tmp_path / "panel.csv", mp)
    (p,) = res.report.by_rule("duplicate_firm_record")
    assert p.rows == (1, 2) and p.severity == "error"


@pytest.mark.parametrize("policy,kept", [("first", 10.0), ("last", 99.0)])
def test_duplicate_policy(policy, kept):
    df = pd.DataFrame({"fid": ["A", "A", "A", "B"], "yr": [2000, 2000, 2000, 2000], "rev": [10.0, 10.0, 99.0, 1.0]})
    m = {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"}, "duplicates": {"policy": policy}}
    res = load_survey(df, m, today_year=2026)
    assert res.ok
    assert res.panel.data.loc[("A", 2000), "sales"] == kept
    drops = _steps(res, "drop")
    assert drops[0].rows == (2,)  # the exact duplicate first
    assert drops[1].rows == ((3,) if policy == "first" else (1,))
    m["duplicates"]["policy"] = "error"
    res = load_survey(df, m, today_year=2026)
    assert res.report.by_rule("duplicate_conflict") and res.panel is None


def test_survey_round_and_design_from_mapping():
    res = load_survey(BASE, {"rename": {"fid": "firm_id", "yr": "year"},
                             "survey": {"design": "rounds", "round": 2}}, today_year=2026)
    assert res.panel.design.kind == "rounds" and res.panel.design.can_study_exit
    assert set(res.panel.data["survey_round"]) == {2}


# ---------------------------------------------------------------------------------------------------- mistakes
def test_rename_of_missing_column_names_file_key_column_and_suggests(tmp_path):
    mp = _write(tmp_path, "m.toml", """
        [rename]
        firmid = "firm_id"
        yr = "year"
    """)
    with pytest.raises(MappingError) as e:
        load_survey(BASE, mp)
    msg = str(e.value)
    assert str(mp) in msg and "[rename] 'firmid' = 'firm_id'" in msg and "raw column 'firmid'" in msg
    assert "did you mean 'fid'" in msg


def test_structural_mistakes_all_reported_at_once(tmp_path):
    mp = _write(tmp_path, "m.toml", """
        [renames]
        a = "b"
        [survey]
        desing = "recall"
        [codes.sales]
        "1" = "x"
        [codes.founder_prior_occupation]
        "1" = "merchnt"
        [scale]
        sales = "thousandz"
        [duplicates]
        policy = "mean"
    """)
    with pytest.raises(MappingError) as e:
        load_mapping(mp)
    msg = str(e.value)
    assert str(mp) in msg and "6 mistake(s)" in msg
    assert "unknown section [renames] (did you mean 'rename'" in msg
    assert "[survey] unknown key 'desing' (did you mean 'design'?)" in msg
    assert "[codes.sales]: column 'sales' is float, not a category/bool/text column" in msg
    assert "'merchnt' is not a code of 'founder_prior_occupation' (did you mean 'merchant'?)" in msg
    assert "[scale] sales = 'thousandz'" in msg
    assert '[duplicates] policy = "mean": must be one of "error", "first"' in msg


def test_unknown_canonical_column_and_recall_pattern(tmp_path):
    with pytest.raises(MappingError, match=r"\[codes.founder_occupation\].*did you mean 'founder_prior_occupation'"):
        load_survey(BASE, {"codes": {"founder_occupation": {"1": "merchant"}}})
    with pytest.raises(MappingError, match=r"\[recall.wide\] sales = 'sales\{year\}'.*no column.*matches"):
        load_survey(BASE, {"recall": {"wide": {"sales": "sales{year}"}}})
    with pytest.raises(MappingError, match=r"must contain \{year\}"):
        load_survey(BASE, {"recall": {"wide": {"sales": "sales_"}}})
    with pytest.raises(MappingError, match=r"\[codes.technology\] unknown_policy = \"unknown\""):
        load_survey(BASE, {"codes": {"technology": {"unknown_policy": "unknown"}}})


def test_bad_toml_and_missing_mapping(tmp_path):
    mp = _write(tmp_path, "m.toml", "[rename\nx = 1\n")
    with pytest.raises(LoadError, match="not valid TOML"):
        load_mapping(mp)
    with pytest.raises(LoadError, match="mapping file .*nope.toml does not exist"):
        load_mapping(tmp_path / "nope.toml")


def test_rename_to_noncanonical_near_miss_warns():
    res = load_survey(BASE, {"rename": {"fid": "firm_id", "yr": "year", "rev": "slaes"}}, today_year=2026)
    (w,) = res.report.by_rule("not_canonical")
    assert "did you mean 'sales'" in w.message


def test_read_panel_raises_with_report_text(tmp_path):
    df = BASE.assign(rev=[-1.0, 2.0, 3.0, 4.0])
    with pytest.raises(LoadError) as e:
        read_panel(df, {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"}}, today_year=2026)
    assert "negative_value" in str(e.value) and "1 row(s): 1" in str(e.value)


def test_docs_example_is_a_valid_mapping_and_loads(tmp_path):
    """The complete example in docs/mapping.md parses, and loads a survey laid out as it describes."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "mapping.md").read_text()
    toml = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    mp = _write(tmp_path, "mapping.toml", toml)
    m = load_mapping(mp)
    assert m.design == "recall" and m.survey_year == 2005 and m.firms.key_firms == "firmno"
    assert m.currency.redenomination[0].ratio == 10000 and m.scale["sales"] == 1000
    pyreadstat.write_dta(pd.DataFrame({
        "fid": [1.0, 2.0], "occ_m": ["Trader", "technician"], "brand": [1.0, 2.0], "wages": [5.0, 6.0],
        "cur": ["GHS", "USD"], "sales_2000": [20_000_000.0, 3.0], "sales_2005": [3.0, 4.0],
        "matl_2000": [1e6, 1.0], "matl_2005": [1.0, 1.0], "wrk2000": [3.0, 2.0], "wrk2005": [4.0, -9.0],
        "profit": [-9.0, 1.0]}), tmp_path / "suame2005.dta")
    pd.DataFrame({"firmno": [1, 2], "yrfound": [1990, 1999], "occ_f": [1, 7], "educ": [12, 99]}).to_csv(
        tmp_path / "suame2005_firms.csv", index=False)
    res = load_survey(None, mp, today_year=2026)
    assert res.ok, res.report.to_text()
    d = res.panel.frame
    assert d.loc[("1", 2000), "sales"] == pytest.approx(20_000_000 * 1000 / 10_000)  # old cedis before 2007
    assert d.loc[("1", 2005), "sales"] == pytest.approx(3.0 * 1000 / 10_000)
    assert d.loc[("2", 2005), "sales"] == pytest.approx(4.0 * 1000 * 1.45)
    assert d["currency"].tolist() == ["GHS"] * 4
    assert d["own_brand"].tolist()[1::2] == [True, False] and d["own_brand"].isna().tolist()[::2] == [True, True]
    assert d.loc[("2", 2005), "manager_schooling_years"] is pd.NA
    # -9 is a real profit here ([missing] exclude); it is money, so it is redenominated too
    assert pd.isna(d.loc[("2", 2005), "employees"]) and d.loc[("1", 2005), "profit"] == pytest.approx(-9.0 / 10_000)
    assert d["founder_prior_occupation"].astype(str).tolist() == ["merchant"] * 2 + ["unknown"] * 2
    assert d["manager_prior_occupation"].astype(str).tolist() == ["merchant"] * 2 + ["engineer"] * 2


def test_labelled_missing_codes_in_numeric_columns_stata_and_spss(tmp_path):
    """WBES-style files label -9 "Don't know" on numeric questions; SPSS files may declare user-missing values."""
    df = pd.DataFrame({"fid": [1.0, 2.0, 3.0], "yr": [2005.0] * 3, "d2": [100.0, -9.0, 50.0],
                       "occ": [1.0, -8.0, 2.0]})
    labels = {"d2": {-9: "Don't know"}, "occ": {1: "Trader", 2: "Engineer", -8: "Refused"}}
    m = {"rename": {"fid": "firm_id", "yr": "year", "d2": "sales", "occ": "founder_prior_occupation"},
         "codes": {"founder_prior_occupation": {"trader": "merchant", "engineer": "engineer"}},
         "missing": {"codes": {"-9": "don't know", "-8": "refused"}}}
    dta = tmp_path / "s.dta"
    pyreadstat.write_dta(df, dta, variable_value_labels=labels)
    res = load_survey(dta, m, today_year=2026)
    assert res.ok, res.report.to_text()
    assert res.panel.data["sales"].isna().tolist() == [False, True, False]
    assert res.panel.firms["founder_prior_occupation"].isna().tolist() == [False, True, False]
    assert sorted(res.missing_reasons["reason"]) == ["don't know", "refused"]
    # SPSS: the file itself declares -9 missing; no [missing] section needed, the label is the reason
    sav = tmp_path / "s.sav"
    pyreadstat.write_sav(df.drop(columns=["occ"]), sav, missing_ranges={"d2": [-9]},
                         variable_value_labels={"d2": {-9: "Don't know"}})
    res = load_survey(sav, {"rename": {"fid": "firm_id", "yr": "year", "d2": "sales"}}, today_year=2026)
    assert res.ok, res.report.to_text()
    assert res.panel.data["sales"].isna().tolist() == [False, True, False]
    assert res.missing_reasons[["source_row", "column", "reason"]].values.tolist() == [[2, "sales", "Don't know"]]
    assert any(e.step == "missing_code" and e.rows == (2,) for e in res.provenance)


def test_sections_naming_absent_columns_are_mistakes():
    with pytest.raises(MappingError) as e:
        load_survey(BASE, {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"},
                           "scale": {"capital": 1000}, "missing": {"columns": {"employees": {"99": "n.r."}}}})
    msg = str(e.value)
    assert "[scale] capital: column 'capital' is not in <DataFrame>" in msg
    assert "[missing.columns.employees]: column 'employees'" in msg


def test_survey_year_naming_an_absent_column_is_a_mistake():
    """Without a recall layout a [survey] survey_year column that is not in the file used to be ignored."""
    with pytest.raises(MappingError) as e:
        load_survey(BASE, {"rename": {"fid": "firm_id", "yr": "year"}, "survey": {"survey_year": "interview_yr"}})
    assert "[survey] survey_year = 'interview_yr': column 'interview_yr' is not in <DataFrame>" in str(e.value)


# ------------------------------------------------------------------------------------ issue 11: typed keys
@pytest.mark.parametrize("toml, needle", [
    ('[survey]\nexits_observable = "no"', '[survey] exits_observable = "no": must be true or false'
                                         ' (a TOML boolean, without quotes); write exits_observable = false'),
    ("[survey]\nround = true", "[survey] round = true: must be a whole number ≥ 1"),
    ("[survey]\nsurvey_year = 20050", "[survey] survey_year = 20050: give a year"),
    ('[source]\nencoding = "latin-99"', '[source] encoding = "latin-99": must be an encoding name'),
    ("[source]\nsheet = -1", "[source] sheet = -1: must be a sheet name in quotes or a sheet number"),
    ('[codes.exporter]\n"y" = "yes"', '[codes.exporter] y = "yes": must be true or false'),
    ("[scale]\nsales = 0", "[scale] sales = 0: the factor must be a positive number (0 is zero or negative)"),
    ("[scale]\ncapital = inf", "[scale] capital = inf: the factor must be a positive number (inf is not finite)"),
    ('[currency]\nunit = "GHS"\n[[currency.redenomination]]\nold = "GHC"\nnew = "GHS"\nratio = 0\nyear = 2007',
     "[[currency.redenomination]] #1 ratio = 0: the ratio (old units per new unit) must be a positive number"),
    ('[currency]\nunit = "GHS"\n[currency.rates]\nUSD = -1.5',
     "[currency.rates] USD = -1.5: the rate (target units per USD, or a table of year = rate) must be a positive"),
    ('[currency]\nunit = "GHS"\n[currency.rates.EUR]\n2005 = nan\n2006 = -0.9',
     "[currency.rates.EUR] 2005 = nan: the rate (target units per EUR) must be a positive number (nan is not finite)"),
    ('[currency]\nunit = "GHS"\n[[currency.redenomination]]\nold = "GHC"\nnew = "GHS"\nratio = 1e4\nyear = 2007\n'
     'by_year = "yes"', '#1 by_year = "yes": must be true or false'),
    ('[missing]\nexclude = "profit"', '[missing] exclude = "profit": must be a list of column names'),
    ('[duplicates]\npolicy = 1', '[duplicates] policy = 1: must be one of "error", "first", "last"'),
    ('rename = "fid"', '[rename] must be a table'),
])
def test_every_key_is_type_checked(tmp_path, toml, needle):
    mp = _write(tmp_path, "m.toml", toml)
    with pytest.raises(MappingError) as e:
        load_mapping(mp)
    assert needle in str(e.value) and str(mp) in str(e.value)


def test_a_quoted_no_is_never_read_as_true():
    m = load_mapping_dict({"survey": {"exits_observable": False}})
    assert m.exits_observable is False
    with pytest.raises(MappingError):
        load_mapping_dict({"survey": {"exits_observable": "no"}})


def load_mapping_dict(d):
    from clusterecon.io import Mapping

    return Mapping.from_dict(d)


def test_negative_per_year_rate_names_the_key_among_all_mistakes(tmp_path):
    mp = _write(tmp_path, "m.toml", """
        [currency]
        unit = "GHS"
        [currency.rates.EUR]
        2005 = 1.61
        2006 = -0.9
        2007 = inf
    """)
    with pytest.raises(MappingError) as e:
        load_mapping(mp)
    assert "2 mistake(s)" in str(e.value)
    assert "[currency.rates.EUR] 2006 = -0.9" in str(e.value) and "[currency.rates.EUR] 2007 = inf" in str(e.value)


def test_structural_and_column_mistakes_are_reported_together(tmp_path):
    """docs/mapping.md promises all mistakes at once: type errors found when parsing and columns missing from the
    file come in one MappingError."""
    p = _csv(tmp_path, BASE)
    mp = _write(tmp_path, "m.toml", """
        [survey]
        exits_observable = "no"
        [rename]
        firmid = "firm_id"
        yr = "year"
        fid = "rev"
        [scale]
        capital = 1000
    """)
    with pytest.raises(MappingError) as e:
        load_survey(p, mp)
    msg = str(e.value)
    assert "4 mistake(s)" in msg
    assert "exits_observable" in msg and "raw column 'firmid' is not in" in msg and "did you mean 'fid'" in msg
    assert "[rename] 'fid' = 'rev':" in msg and "already has a column 'rev'" in msg
    assert "[scale] capital: column 'capital' is not in" in msg


def test_mapping_mistakes_survive_an_unreadable_survey(tmp_path):
    mp = _write(tmp_path, "m.toml", '[survey]\nround = "2"\n')
    with pytest.raises(MappingError) as e:
        load_survey(tmp_path / "missing.csv", mp)
    assert "[survey] round = \"2\"" in str(e.value) and "missing.csv does not exist" in str(e.value)


def test_history_dates_reach_the_design_and_every_mistake_is_named(tmp_path):
    import pandas as pd

    csv = tmp_path / "s.csv"
    pd.DataFrame({"firm_id": ["a", "a", "b"], "year": [2000, 2001, 2000], "sales": [1.0, 2.0, 3.0]}).to_csv(
        csv, index=False)
    good = tmp_path / "m.toml"
    good.write_text('[history]\nexpansion_start = 1985\nquality_start = 1996\nsource = "Sonobe & Otsuka 2006, ch. 4"\n')
    d = load_survey(csv, good).design
    assert (d.expansion_start, d.quality_start, d.history_source) == (1985, 1996, "Sonobe & Otsuka 2006, ch. 4")
    bad = tmp_path / "bad.toml"
    bad.write_text('[history]\nexpansion_start = "1985"\nquality_start = 1980.5\nsourc = "x"\n')
    with pytest.raises(MappingError) as e:
        load_mapping(bad)
    text = str(e.value)
    assert "[history] expansion_start = \"1985\"" in text and "quality_start = 1980.5" in text
    assert "sourc" in text and "source" in text  # the unknown key, with the close match
    order = tmp_path / "order.toml"
    order.write_text('[history]\nexpansion_start = 1996\nquality_start = 1985\n')
    with pytest.raises(MappingError) as e:
        load_mapping(order)
    assert "not after expansion_start = 1996" in str(e.value) and "without their source" in str(e.value)
    # a TOML date is quoted as written, not as a Python repr
    dated = tmp_path / "dated.toml"
    dated.write_text('[history]\nexpansion_start = 1985-01-01\nsource = "x"\n')
    with pytest.raises(MappingError) as e:
        load_mapping(dated)
    assert "expansion_start = 1985-01-01: must be" in str(e.value) and "datetime" not in str(e.value)


def test_history_dates_outside_the_data_are_a_validation_error_not_a_later_crash(tmp_path):
    # before: validate passed and analyse stopped with a usage error; the check needs the data's years, so the
    # loader makes it, with the mapping's name and the fix
    import pandas as pd

    csv = tmp_path / "s.csv"
    pd.DataFrame({"firm_id": ["a", "a", "b"], "year": [2000, 2001, 2000], "sales": [1.0, 2.0, 3.0]}).to_csv(
        csv, index=False)
    for body, said in (("quality_start = 2150", "quality_start = 2150 must be a year between 1800 and 2101"),
                       ("expansion_start = 2003", "expansion_start = 2003 must be a year between 1800 and the last")):
        m = tmp_path / "m.toml"
        m.write_text(f'[history]\n{body}\nsource = "notes"\n')
        res = load_survey(csv, m)
        assert res.panel is None and not res.report.ok
        (p,) = res.report.by_rule("history_dates")
        assert said in p.message and "[history]" in p.fix and p.source == str(m)
