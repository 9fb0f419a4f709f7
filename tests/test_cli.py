"""The ``clusterecon`` command: exit codes 0/1/2, one readable message (never a traceback), the bundled sample."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from clusterecon import schema
from clusterecon.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_survey"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def readme_expected_warnings() -> set[tuple[str, str, int]]:
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- expected-warnings")[1].split("<!-- end expected-warnings")[0]
    rows = set()
    for line in block.splitlines():
        m = re.match(r"\| `(\w+)` \| `([\w/]+)` \| (\d+) \|", line)
        if m:
            rows.add((m.group(1), m.group(2), int(m.group(3))))
    return rows


# ------------------------------------------------------------------------------------------- help and usage
def test_help_everywhere(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name, _, _ in COMMANDS:
        assert name in out
        code, out_sub, _ = run(capsys, name, "--help")
        assert code == 0 and "--debug" in out_sub and "usage: clusterecon " + name in out_sub
    code, out, _ = run(capsys, "validate", "--help")
    assert "--mapping" in out and "--strict" in out and "--json" in out


def test_usage_errors_exit_2(capsys):
    assert run(capsys, )[0] == 2
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys, "validate", "--no-such-option")
    assert code == 2 and "unrecognized arguments" in err
    code, _, err = run(capsys, "validate")
    assert code == 2 and "give a survey FILE" in err and "Traceback" not in err


def test_import_is_light():
    code = "import sys, clusterecon.cli; print(sorted(m for m in ('pandas', 'numpy', 'clusterecon.load') " \
           "if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------- validate
def test_validate_bundled_sample_reports_exactly_the_readme_warnings(capsys):
    code, out, err = run(capsys, "validate", str(SAMPLE / "survey.dta"), "--mapping", str(SAMPLE / "mapping.toml"),
                         "--json")
    assert code == 1 and err == ""
    rep = json.loads(out)
    probs = rep["problems"]
    assert [p for p in probs if p["severity"] == "error"] == []
    got = {(p["rule"], p["column"], r) for p in probs if p["severity"] == "warning" for r in p["rows"]}
    assert got == readme_expected_warnings()
    assert len(readme_expected_warnings()) == 4
    assert [p["rule"] for p in probs if p["severity"] == "info"] == ["survivor_only"]


def test_validate_sample_text_and_strict(capsys):
    args = ["validate", str(SAMPLE / "survey.dta"), "-m", str(SAMPLE / "mapping.toml")]
    code, out, _ = run(capsys, *args)
    assert code == 1 and "0 error(s), 4 warning(s), 1 info" in out and "EG063: 1995 9700 → 2000 329700" in out
    code, out, _ = run(capsys, *args, "--strict")
    assert code == 1 and "4 error(s), 0 warning(s), 1 info" in out


def test_validate_defects_file_reports_every_error_at_once(capsys):
    code, out, err = run(capsys, "validate", str(SAMPLE / "defects.csv"), "--require", "wage_bill", "--json")
    assert code == 1 and err == ""
    probs = json.loads(out)["problems"]
    errors = {}
    for p in probs:
        if p["severity"] == "error":
            errors.setdefault((p["rule"], p["column"]), []).extend(p["rows"])
    assert {k: sorted(v) for k, v in errors.items()} == {
        ("missing_required_column", "wage_bill"): [],
        ("text_in_numeric", "sales"): [3],
        ("negative_value", "capital"): [4],
        ("negative_value", "material_cost"): [19],
        ("founding_after_year", "founding_year"): [5, 7],
        ("founding_in_future", "founding_year"): [7],
        ("schooling_out_of_range", "manager_schooling_years"): [8, 9],
        ("unknown_code", "founder_prior_occupation"): [10, 11],
        ("firm_attribute_varies", "founding_year"): [12, 13],
        ("duplicate_conflict", "firm_id/year"): [14, 15],
        ("out_of_range", "direct_sales_share"): [18],
    }


def test_validate_clean_file_exits_0(tmp_path, capsys):
    df = pd.DataFrame({"firm_id": ["a", "a", "b"], "year": [2000, 2005, 2005], "sales": [10.0, 12, 8],
                       "material_cost": [5.0, 6, 3], "employees": [2, 3, 1]})
    path = tmp_path / "clean.csv"
    df.to_csv(path, index=False)
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0 and "no problems found" in out


@pytest.mark.parametrize("make, needle", [
    (lambda d: d / "nope.csv", "does not exist"),
    (lambda d: (d / "latin.csv").write_bytes("firm_id,year,cluster\na,2000,Sé\n".encode("latin-1")) and
     d / "latin.csv", "encoding"),
    (lambda d: (d / "x.unknownext").write_text("a") and d / "x.unknownext", "x.unknownext"),
])
def test_unreadable_files_exit_2_with_one_message(tmp_path, capsys, make, needle):
    path = make(tmp_path)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    assert err.startswith("clusterecon: error:") and needle in err and "Traceback" not in err
    assert "bug in clusterecon" not in err


def test_mapping_mistake_exits_2_naming_the_key(tmp_path, capsys):
    bad = tmp_path / "m.toml"
    bad.write_text('[renam]\nid = "firm_id"\n', encoding="utf-8")
    code, _, err = run(capsys, "validate", str(SAMPLE / "survey.dta"), "--mapping", str(bad))
    assert code == 2 and "[renam]" in err and "did you mean 'rename'" in err and "Traceback" not in err


def test_debug_shows_the_exception(tmp_path):
    with pytest.raises(Exception, match="nope.csv"):
        main(["validate", str(tmp_path / "nope.csv"), "--debug"])


def test_require_unknown_column_is_usage_error(capsys):
    code, _, err = run(capsys, "validate", str(SAMPLE / "defects.csv"), "--require", "salez")
    assert code == 2 and "salez" in err


def test_console_script_subprocess_exit_codes(tmp_path):
    cmd = [sys.executable, "-c", "import sys; from clusterecon.cli import main; sys.exit(main())"]
    r = subprocess.run(cmd + ["validate", str(tmp_path / "missing.dta")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------- describe, codebook
def test_describe_and_analyse_default_to_the_same_sample(capsys):
    """With no FILE both commands use the simulated garments cluster (200 firms, 1970-2014)."""
    code, out, err = run(capsys, "describe")
    assert code == 0, err
    assert "simulated garments cluster" in out and "firms 200" in out and "1970" in out and "2014" in out


def test_describe_bundled_sample(capsys):
    code, out, err = run(capsys, "describe", "--sample", "survey")
    assert code == 0, err
    assert "firms 120, firm-years 316, years 1995, 2000, 2005" in out
    assert "firms with gaps: 1 (EG088: 2000)" in out
    assert "exit cannot be studied" in out
    for section in ("FIRMS BY YEAR", "MISSING VALUES", "SUMMARY STATISTICS BY YEAR", "BY "):
        assert section in out
    assert re.search(r"merchant\s+31\b", out)  # firms by founder's prior occupation


def test_describe_with_file_and_grouping(capsys):
    code, out, _ = run(capsys, "describe", str(SAMPLE / "survey.dta"), "--mapping", str(SAMPLE / "mapping.toml"),
                       "--by", "manager_prior_occupation")
    assert code == 0 and "(manager_prior_occupation)" in out


def test_describe_by_a_column_that_is_not_there_is_a_usage_error(capsys):
    # probe L26: --by NO_SUCH_COLUMN exited 0 and silently left the grouped table out
    code, out, err = run(capsys, "describe", "--sample", "survey", "--by", "NO_SUCH_COLUMN")
    assert code == 2 and out == ""
    assert "--by 'NO_SUCH_COLUMN': not in the panel" in err and "firm-level columns: " in err
    code, _, err = run(capsys, "describe", "--sample", "survey", "--by", "sales")
    assert code == 2 and "--by 'sales': a firm-year column, not a firm-level one" in err


def test_describe_file_with_errors_exits_1(capsys):
    code, out, _ = run(capsys, "describe", str(SAMPLE / "defects.csv"))
    assert code == 1 and "cannot be built" in out


def test_codebook_command_and_docs_file(capsys, tmp_path):
    code, out, _ = run(capsys, "codebook")
    assert code == 0 and out == schema.codebook_markdown()
    assert main(["codebook", "-o", str(tmp_path / "cb.md")]) == 0
    assert (tmp_path / "cb.md").read_text(encoding="utf-8") == schema.codebook_markdown()


def test_describe_from_installed_layout(tmp_path):
    """Installed, data/ is the package clusterecon.sample_data (pyproject); describe must find it there."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "clusterecon", site / "clusterecon", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data", site / "clusterecon" / "sample_data",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sys; from clusterecon.samples import bundled_sample; print(bundled_sample()[0]); "
            "from clusterecon.cli import main; sys.exit(main(['describe', '--sample', 'survey']))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith(str(site / "clusterecon" / "sample_data")), first
    assert "firms 120" in r.stdout


def test_validate_excel_sheet_choice(tmp_path, capsys):
    path = tmp_path / "s.xlsx"
    good = pd.DataFrame({"firm_id": ["a", "b"], "year": [2005, 2005], "sales": [3.0, 4.0]})
    with pd.ExcelWriter(path) as xl:
        good.assign(sales=[-1.0, 4.0]).to_excel(xl, sheet_name="raw", index=False)
        good.to_excel(xl, sheet_name="clean", index=False)
    assert run(capsys, "validate", str(path), "--sheet", "clean")[0] == 0
    assert run(capsys, "validate", str(path), "--sheet", "1")[0] == 0  # 0-based sheet number
    code, out, _ = run(capsys, "validate", str(path), "--sheet", "raw")
    assert code == 1 and "negative_value" in out
    code, _, err = run(capsys, "validate", str(path), "--sheet", "nope")
    assert code == 2 and "nope" in err


def test_bundled_sample_is_what_the_script_makes():
    """survey.dta is regenerated by data/make_sample_survey.py (fixed seed); the committed file must match it."""
    import importlib.util

    import pyreadstat

    spec = importlib.util.spec_from_file_location("make_sample_survey", ROOT / "data" / "make_sample_survey.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    made = mod.make()
    stored, meta = pyreadstat.read_dta(str(SAMPLE / "survey.dta"))
    pd.testing.assert_frame_equal(stored, made, check_dtype=False)
    assert meta.variable_value_labels["occ_founder"][3.0] == "Worker in a garment firm here"
    assert set(mod.DEFECTS) == {row for _, _, row in readme_expected_warnings()}


@pytest.mark.parametrize("command", ["validate", "describe", "analyse"])
def test_header_only_file_gives_one_clear_message_everywhere(tmp_path, capsys, command):
    p = tmp_path / "h.csv"
    p.write_text("firm_id,year,sales\n")
    extra = ["--out", str(tmp_path / "rep"), "--quiet"] if command == "analyse" else []
    code, out, err = run(capsys, command, str(p), *extra)
    assert code == 2 and "Traceback" not in err
    assert "has a header (3 column(s): firm_id, year, sales) but no records" in err
    assert len(err.strip().splitlines()) == 1


def test_forgetting_the_mapping_gives_a_hint(capsys):
    """A raw file read without --mapping: the errors are followed by a hint naming the mapping next to it."""
    for cmd in ("validate", "describe"):
        code, out, _ = run(capsys, cmd, str(SAMPLE / "survey.dta"))
        assert code == 1
        assert "hint: no --mapping was given" in out and "mapping.toml" in out, cmd
    code, out, _ = run(capsys, "validate", str(SAMPLE / "survey.dta"), "--mapping", str(SAMPLE / "mapping.toml"))
    assert "hint:" not in out


def test_analyse_help_documents_exit_codes(capsys):
    code, out, _ = run(capsys, "analyse", "--help")
    assert code == 0
    assert "exit codes:" in out and "0  the report was written" in out and "1  the data have errors" in out


def test_analyse_takes_phase_dates_known_from_the_clusters_history(capsys, tmp_path):
    # a recall survey of survivors cannot date the take-off; the dates the case study gives are taken as given
    recall = Path(__file__).resolve().parents[1] / "data" / "simulated" / "garments_recall_2005.csv"
    code, out, err = run(capsys, "analyse", str(recall), "--out", str(tmp_path / "r"), "-q",
                         "--expansion-start", "1974", "--quality-start", "1996")
    assert code == 0, err
    flat = " ".join(out.split())  # verdicts are wrapped at 100 columns
    assert ("the start of quantity expansion and of quality improvement as given (on the command line, no source "
            "stated), not estimated") in flat
    assert "Phase diagnosis [descriptive]" in flat
    code, out, err = run(capsys, "analyse", str(recall), "--out", str(tmp_path / "r2"), "-q",
                         "--expansion-start", "2010")
    # named as the user gave it, not by the Python argument
    assert code == 2 and ("the start of quantity expansion (--expansion-start or [history] expansion_start) = 2010 "
                          "must be a year between 1800 and the last year observed") in err
    assert not (tmp_path / "r2").exists()


def test_analyse_credits_command_line_dates_to_the_history_source_in_every_verdict(capsys, tmp_path):
    recall = Path(__file__).resolve().parents[1] / "data" / "simulated" / "garments_recall_2005.csv"
    code, out, err = run(capsys, "analyse", str(recall), "--out", str(tmp_path / "r"), "-q", "--expansion-start",
                         "1974", "--quality-start", "1996", "--history-source", "Sonobe & Otsuka 2006, ch. 4")
    assert code == 0, err
    md = " ".join((tmp_path / "r" / "report.md").read_text(encoding="utf-8").split())
    assert "as given (Sonobe \\& Otsuka 2006, ch. 4), not estimated" in md or \
        "as given (Sonobe & Otsuka 2006, ch. 4), not estimated" in md
    assert "from 1996 (as given: Sonobe" in md  # the schooling split and the exit risk period say where 1996 is from
    # a source without a date to credit is a usage error
    code, out, err = run(capsys, "analyse", str(recall), "--out", str(tmp_path / "r2"), "-q",
                         "--history-source", "field notes")
    assert code == 2 and "--history-source names who dates the phases" in err


def test_simulate_refuses_options_it_would_ignore_and_says_what_it_changed(capsys, tmp_path):
    # each mistake: one line on stderr in the command line's error format, exit 2, no file written
    for args, msg in ((("--survey-year", "2005", "--benchmark-years", "2010"), "are not before the survey year 2005"),
                      (("--rounds", "2000", "2000"), "--rounds [2000, 2000] repeat a year"),
                      (("--rounds", "2000", "2002", "--survey-year", "2004"), "--survey-year belongs to a recall"),
                      (("--census", "--benchmark-years", "1990"), "--benchmark-years belongs to a recall"),
                      (("--firms", "-1"), "--firms must be positive"),
                      # a new user's sweep: rounds outside the simulated years ended in pyarrow's "cannot construct
                      # ChunkedArray from empty vector", --stratify without a sample and --census --firms were
                      # ignored, and --seed -1 said "expected non-negative integer"
                      (("--rounds", "1950", "1960"), "--rounds [1950, 1960] lie outside the simulated years"),
                      (("--rounds", "2010", "2020"), "--rounds [2020] lie outside the simulated years"),
                      (("--stratify", "size"), "--stratify shapes a sample: give its size with --firms"),
                      (("--census", "--firms", "50"), "--census writes every firm"),
                      (("--seed", "-1"), "--seed must be 0 or a positive whole number")):
        out_file = tmp_path / "s.csv"
        code, out, err = run(capsys, "simulate", *args, "--out", str(out_file))
        assert code == 2 and msg in err and "clusterecon: error:" in err and not out, (args, out, err)
        assert not out_file.exists()
    code, out, err = run(capsys, "simulate", "--firms", "100000", "--out", str(tmp_path / "all.csv"))
    assert code == 0 and "note: 100000 firms requested but only" in out


def test_python_dash_m_runs_the_command_line():
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "clusterecon", "codebook"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "firm_id" in p.stdout


def test_analyse_prints_the_validation_warnings_on_stderr_unless_quiet(capsys, tmp_path):
    """README and `analyse --help` promise the warnings "listed in it and printed here"; the terminal showed only a
    count. They go to stderr as `clusterecon validate` prints them (rule, message, rows), stdout's summary is
    unchanged, and -q leaves them to the report."""
    args = ["analyse", str(SAMPLE / "survey.dta"), "--mapping", str(SAMPLE / "mapping.toml")]
    code, out, err = run(capsys, *args, "--out", str(tmp_path / "a"))
    assert code == 0
    _, validated, _ = run(capsys, "validate", str(SAMPLE / "survey.dta"), "--mapping", str(SAMPLE / "mapping.toml"))
    warnings_text = validated[validated.index("WARNINGS"):validated.index("INFO")].strip()
    assert "[WARNING] zero_employees column 'employees'" in warnings_text and "1 row(s): 17" in warnings_text
    assert warnings_text in err
    assert "[WARNING]" not in out and out.startswith("validation: ") and "the data have validation warnings" in out
    code, out_q, err_q = run(capsys, *args, "--out", str(tmp_path / "b"), "-q")
    assert code == 0 and "[WARNING]" not in err_q + out_q


def test_a_survey_of_two_clusters_is_analysed_one_cluster_at_a_time(capsys, tmp_path):
    # user sweep: a garments and a machinery census in one file were pooled silently (one take-off for both,
    # pioneers cut at the earlier date, summed output, one price index)
    import pandas as pd

    from clusterecon.samples import sample_panel

    parts = []
    for name in ("garments", "machinery"):
        f = sample_panel(name).frame.reset_index()
        f["firm_id"] = name[0] + f["firm_id"].astype(str)
        f["cluster"] = name
        parts.append(f)
    path = tmp_path / "two.csv"
    pd.concat(parts).to_csv(path, index=False)
    code, out, err = run(capsys, "analyse", str(path), "--out", str(tmp_path / "r"), "-q")
    assert code == 2 and "the survey holds 2 clusters ('garments', 'machinery')" in err and "--cluster" in err
    assert not (tmp_path / "r").exists()
    code, out, err = run(capsys, "analyse", str(path), "--out", str(tmp_path / "r"), "-q", "--cluster", "machinery")
    assert code == 0, err
    one, = [ln for ln in out.splitlines() if "firm-years" in ln][:1]
    assert f"{sample_panel('machinery').n_firms} firms" in one
    code, out, err = run(capsys, "analyse", str(path), "--out", str(tmp_path / "r3"), "-q", "--cluster", "machinry")
    assert code == 2 and "did you mean 'machinery'" in err


def test_read_options_a_file_has_no_use_for_are_refused_not_ignored(capsys, tmp_path):
    # a new user's sweep: --sheet on a CSV or the bundled sample and --encoding on Parquet were silently ignored
    from clusterecon.samples import sample_panel

    frame = sample_panel("garments").frame.reset_index()
    frame.to_csv(tmp_path / "s.csv", index=False)
    frame.to_parquet(tmp_path / "s.parquet")
    for args, msg in (((str(tmp_path / "s.csv"), "--sheet", "2"), "a csv file has no sheets; leave out --sheet"),
                      ((str(tmp_path / "s.parquet"), "--encoding", "latin-1"),
                       "parquet files declare their own; leave out --encoding"),
                      (("--sheet", "2"), "--sheet applies to a survey FILE")):
        code, out, err = run(capsys, "describe", *args)
        assert code == 2 and msg in err and "Traceback" not in err, (args, err)
