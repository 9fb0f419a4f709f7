"""``clusterecon evaluate``: the design file's strict validation and a simulated trial from raw survey to report."""

from __future__ import annotations

import json

import pytest

from clusterecon.cli import main
from clusterecon.evaluation.designfile import DesignFileError, load_design_file
from clusterecon.simulate.experiment import simulate_experiment


@pytest.fixture(scope="module")
def trial_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("trial")
    e = simulate_experiment(seed=41, assignment="partial", spillover=0.1, n_clusters=16, firms_per_cluster=12,
                            attrition=0.15, attrition_treated=0.05)
    paths = e.write(d)
    text = paths["design"].read_text().replace("bootstrap_draws", "x")
    text = text.replace('[analysis]', '[analysis]\nbootstrap_draws = 999')
    paths["design"].write_text(text)
    return d, paths, e


def test_design_file_mistakes_are_listed_with_suggestions(tmp_path):
    (tmp_path / "d.csv").write_text("firm_id,year\n")
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nfile = "d.csv"\nmapingg = "x.toml"\n[design]\ntreatment = 3\nassignment = "village"\n'
                   '[rounds]\nbaseline = [true]\n[outcomes]\nprimary = ["log sales"]\n[analysis]\n'
                   'estimators = ["ancova", "lee_bound"]\nbootstrap_draws = 10\n[unknown]\n')
    with pytest.raises(DesignFileError) as err:
        load_design_file(bad)
    msg = str(err.value)
    for part in ("unknown key 'mapingg' (did you mean 'mapping'?)", "treatment must be a column name",
                 "assignment must be 'firm' or 'cluster'", "letters, digits and underscores",
                 "unknown 'lee_bound' (did you mean 'lee_bounds'?)", "bootstrap_draws must be between 99 and 99,999",
                 "unknown key 'unknown'", "baseline must list round values"):
        assert part in msg, part


@pytest.mark.parametrize("line, piece", [
    ("bootstrap_draws = 1000000000000", "bootstrap_draws must be between 99 and 99,999, got 1,000,000,000,000"),
    ("randomization_inference = 1000000000000", "randomization_inference must be 0 (off) or a number of "
                                                "re-randomisations up to 99,999"),
    ("seed = -5", "seed must be a whole number >= 0")])
def test_draw_counts_are_bounded_and_the_seed_checked_before_anything_runs(tmp_path, line, piece):
    # security re-sweep: 10**12 draws ran 88 s and wrote a report of MemoryErrors; seed = -5 exited 0 with eleven
    # steps failing "expected non-negative integer", the key never named
    (tmp_path / "d.csv").write_text("firm_id,year\n")
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nfile = "d.csv"\n[design]\ntreatment = "treat"\n[outcomes]\nprimary = ["y"]\n'
                   f'[analysis]\n{line}\n')
    with pytest.raises(DesignFileError, match=r"\[analysis\] " + piece.split()[0]) as err:
        load_design_file(bad)
    assert piece in str(err.value)


def test_paths_outside_the_design_folder_are_refused(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "secret.csv").write_text("x\n")
    f = inner / "d.toml"
    f.write_text('[data]\nfile = "../secret.csv"\n[outcomes]\nprimary = ["y"]\n')
    with pytest.raises(DesignFileError, match="leads outside its folder"):
        load_design_file(f)
    assert load_design_file(f, allow_outside_paths=True).data_file.resolve() == (tmp_path / "secret.csv").resolve()
    f.write_text('[data]\nfile = "/etc/passwd"\n[outcomes]\nprimary = ["y"]\n')
    with pytest.raises(DesignFileError, match="is an absolute path"):
        load_design_file(f)


def test_evaluate_writes_the_report_and_recovers_the_truth(trial_dir, tmp_path, capsys):
    d, paths, e = trial_dir
    out = tmp_path / "report"
    code = main(["evaluate", str(paths["design"]), "--out", str(out), "-q"])
    captured = capsys.readouterr()
    text = captured.out
    assert code in (0, 1), text + captured.err
    assert "ITT log_sales" in text and "Lee bounds log_sales" in text and "spillover log_sales" in text
    html = (out / "report.html").read_text()
    for section in ("Baseline balance", "Attrition", "Intention-to-treat effects", "Treatment on the treated",
                    "Spillovers", "Lee (2009) bounds", "sharpened q-values"):
        assert section in html, section
    for table in ("itt_summary.csv", "attrition.csv", "lee_bounds.csv", "tot.tex", "itt_ancova.tex", "balance.tex",
                  "spillovers.tex"):
        assert (out / "tables" / table).exists(), table
    import pandas as pd

    summ = pd.read_csv(out / "tables" / "itt_summary.csv", index_col=0)
    assert {"q (sharpened)", "p (Romano-Wolf)", "p (wild bootstrap)"} <= set(summ.columns)
    assert summ.loc["log_sales", "CI from"] == "wild bootstrap"  # 16 clusters < 30
    truth = json.loads(paths["truth"].read_text())
    assert summ.loc["log_sales", "CI lower"] < truth["itt"] < summ.loc["log_sales", "CI upper"]
    tex = (out / "tables" / "tot.tex").read_text()
    assert "\\begin{table}" in tex


def test_evaluate_staggered_design_draws_the_event_study(tmp_path, capsys):
    e = simulate_experiment(seed=42, assignment="staggered", rollout_years=(2011, 2012), follow_ups=3,
                            n_clusters=24, firms_per_cluster=8, attrition=0.0)
    paths = e.write(tmp_path / "stag")
    out = tmp_path / "rep"
    code = main(["evaluate", str(paths["design"]), "--out", str(out), "-q"])
    capsys.readouterr()
    assert code in (0, 1)
    assert (out / "figures" / "event_study.png").exists()
    assert (out / "tables" / "event_study.csv").exists()


def test_hostile_labels_are_escaped(trial_dir, tmp_path, capsys):
    d, paths, _ = trial_dir
    text = paths["design"].read_text().replace(
        'title = "', 'title = "<script>alert(1)</script> & $\\\\frac{x}{y}$ ')
    text = text.replace("[outcomes]", '[outcomes]\nlabels = { log_sales = "<b>log</b> sales_$ %" }')
    text = text.replace("practices = true", "practices = false").replace("romano_wolf = true", "romano_wolf = false")
    text = text.replace('"ancova", "did", "tot", "attrition", "lee_bounds"', '"ancova"')
    evil = d / "evil_design.toml"
    evil.write_text(text)
    out = tmp_path / "evil"
    main(["evaluate", str(evil), "--out", str(out), "-q", ])
    capsys.readouterr()
    html = (out / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>log</b>" not in html
    tex = (out / "tables" / "itt_ancova.tex").read_text()
    assert "sales\\_\\$ \\%" in tex


def test_evaluate_out_folder_is_checked_before_the_analysis(trial_dir, tmp_path, capsys):
    """evaluate wrote straight into --out (stale files stayed, any folder's report.html was overwritten); it now
    shares analyse's swap: a foreign folder needs --force, the folder holding the design and survey never."""
    d, paths, _ = trial_dir
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "report.html").write_text("my work", encoding="utf-8")
    assert main(["evaluate", str(paths["design"]), "--out", str(thesis), "-q"]) == 2
    assert "--force" in capsys.readouterr().err and (thesis / "report.html").read_text() == "my work"
    assert main(["evaluate", str(paths["design"]), "--out", str(d), "--force", "-q"]) == 2
    assert "holds the input file" in capsys.readouterr().err and paths["design"].exists()


def _small_trial(tmp_path, column, value, estimators='"ancova", "tot"'):
    """A small simulated trial whose raw column ``column`` is set to ``value`` for every firm-round (raw codes of
    the mapping: 1 = true, 2 = false), analysed with ``estimators`` only."""
    import pandas as pd

    paths = simulate_experiment(seed=7, n_clusters=10, firms_per_cluster=10).write(tmp_path / "trial")
    raw = pd.read_csv(paths["raw"])
    raw[column] = value
    raw.to_csv(paths["raw"], index=False)
    text = paths["design"].read_text()
    text = text.replace('"ancova", "did", "tot", "attrition", "lee_bounds"', estimators)
    text = text.replace("practices = true", "practices = false").replace("romano_wolf = true", "romano_wolf = false")
    text = text.replace("randomization_inference = 999", "randomization_inference = 0")
    paths["design"].write_text(text)
    return paths["design"]


@pytest.mark.parametrize("code, arm", [(1, "every firm was offered"), (2, "no firm was offered")])
def test_evaluate_all_or_no_firms_offered_is_one_clear_error(tmp_path, capsys, code, arm):
    """User sweep R7: with every firm offered, evaluate ended with "clusterecon: error: 'treat_offered'" (a KeyError
    from the summary of an ITT whose offer had been dropped) after warning about an internal column "_T". Without a
    control group (or without offered firms) nothing can be estimated: one message naming the column, exit 2 (the
    data cannot be used), and no internal names."""
    design = _small_trial(tmp_path, "offer", code)
    rc = main(["evaluate", str(design), "--out", str(tmp_path / "rep"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"clusterecon: error: {arm} the treatment (treat_offered is" in err
    assert "cannot be identified" in err and "check the treat_offered column" in err
    assert "_T" not in err and "'treat_offered'\n" not in err and "bug" not in err
    assert not (tmp_path / "rep").exists()


def test_evaluate_tot_without_compliers_reports_why(tmp_path, capsys):
    """User sweep R4: with take-up 0 for every firm the report listed "TOT of log_sales: LinAlgError: Singular
    matrix". The ITT still runs; the TOT step says the first stage is not identified."""
    design = _small_trial(tmp_path, "attend", 2)
    out = tmp_path / "rep"
    rc = main(["evaluate", str(design), "--out", str(out), "-q"])
    text = capsys.readouterr().out
    assert rc == 1 and "ITT log_sales" in text and "TOT log_sales" not in text
    md = (out / "report.md").read_text().replace("\\_", "_")  # markdown escapes underscores
    assert ("TOT of log_sales: no firm took up the training (treat_attended is 0 for all" in md
            and "the first stage is not identified, so the TOT cannot be estimated; the ITT stands" in md)
    assert "LinAlgError" not in md and "Singular matrix" not in md and "SpecificationError" not in md


_DOC_DESIGN = """title = "Kaizen training"
[data]
file = "training_trial_raw.csv"
mapping = "training_trial_mapping.toml"
log = ["sales"]
[design]
treatment = "treat_offered"
strata = "strata_id"
assignment = "firm"
cluster = "cluster"
takeup = "treat_attended"
attrition = "attrited"
[rounds]
column = "year"
baseline = [2010]
follow_up = [2011, 2012]
[outcomes]
primary = ["log_sales"]
practices = true
[analysis]
estimators = ESTIMATORS
bootstrap_draws = 999
randomization_inference = 99
seed = 1
[spillovers]
treated_cluster = "treat_cluster"
exposure = "network_exposure"
[staggered]
first_treated = "first_treated_year"
control = "never"
"""


@pytest.fixture(scope="module")
def firm_trial(tmp_path_factory):
    d = tmp_path_factory.mktemp("firmtrial")
    simulate_experiment(seed=1).write(d)
    return d


def test_evaluate_sections_not_in_estimators_are_not_run_but_said(firm_trial, tmp_path, capsys):
    """docs/evaluation.md's design file on a firm-level trial: [staggered] names a column the data do not have, but
    'staggered' is not in estimators, so the event study is not attempted (was a raw KeyError 'first_treated_year'
    after every other step) and the report and terminal say the section was not run."""
    f = firm_trial / "doc_design.toml"
    f.write_text(_DOC_DESIGN.replace("ESTIMATORS", '["ancova", "tot", "lee_bounds"]'))
    out = tmp_path / "rep"
    code = main(["evaluate", str(f), "--out", str(out), "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert "not run: [staggered]: 'staggered' is not in [analysis] estimators" in captured.out
    assert "not run: [spillovers]: 'spillovers' is not in [analysis] estimators" in captured.out
    assert "spillover log_sales" not in captured.out
    md = (out / "report.md").read_text()
    assert "Left out of this report" in md and "staggered-adoption event study" in md
    assert not (out / "tables" / "event_study.csv").exists()


def test_evaluate_columns_missing_from_the_data_are_design_mistakes_listed_at_once(firm_trial, tmp_path, capsys):
    f = firm_trial / "bad_columns.toml"
    f.write_text(_DOC_DESIGN.replace("ESTIMATORS", '["ancova", "tot", "staggered", "spillovers"]')
                 .replace('takeup = "treat_attended"', 'takeup = "treat_attend"')
                 .replace('primary = ["log_sales"]', 'primary = ["log_sales", "profit"]'))
    out = tmp_path / "rep"
    code = main(["evaluate", str(f), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert "3 mistake(s)" in err and "KeyError" not in err and "bug in clusterecon" not in err
    assert "[design] takeup = 'treat_attend': no such column" in err and "did you mean 'treat_attended'" in err
    assert "[outcomes] primary[1] = 'profit': no such column" in err
    assert "[staggered] first_treated = 'first_treated_year': no such column" in err
    assert "map the column in training_trial_mapping.toml" in err
    assert not out.exists()  # found before any estimate


def test_estimator_listed_without_its_section_is_a_design_mistake(tmp_path):
    (tmp_path / "d.csv").write_text("firm_id,year\n")
    f = tmp_path / "d.toml"
    f.write_text('[data]\nfile = "d.csv"\n[outcomes]\nprimary = ["y"]\n[analysis]\n'
                 'estimators = ["staggered", "spillovers", "randomization"]\nrandomization_inference = 0\n')
    with pytest.raises(DesignFileError) as err:
        load_design_file(f)
    msg = str(err.value)
    assert "3 mistake(s)" in msg
    assert "lists 'staggered' but [staggered] first_treated is not set" in msg
    assert "lists 'spillovers' but [spillovers] treated_cluster is not set" in msg
    assert "lists 'randomization' but randomization_inference = 0" in msg


@pytest.mark.parametrize("old, new, message", [
    # a baseline the survey does not have ran every step and listed 13 of them as failed
    ("baseline = [2010]", "baseline = [2030]",
     "[rounds] baseline = [2030]: round(s) 2030 not in the data's 'year' (its rounds: 2010, 2011, 2012)"),
    ("follow_up = [2011, 2012]", "follow_up = [2011, 2019]", "[rounds] follow_up = [2011, 2019]: round(s) 2019 not"),
    # a money column named as the offer: numpy's repr (np.float64(6937.62)) and no design-file key
    ('treatment = "treat_offered"', 'treatment = "sales"',
     "[design] treatment = 'sales': sales must be 0/1 or true/false; found 6937.62, 9513.9"),
])
def test_evaluate_design_values_the_data_cannot_hold_are_design_mistakes(firm_trial, tmp_path, capsys, old, new,
                                                                          message):
    design = firm_trial / "training_trial_design.toml"
    f = firm_trial / "wrong_value.toml"
    text = design.read_text()
    assert old in text
    f.write_text(text.replace(old, new))
    out = tmp_path / "rep"
    code = main(["evaluate", str(f), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "wrong_value.toml: 1 mistake(s)" in err and message in err, err
    assert "np." not in err and not out.exists()
