"""The ``analyse`` report folder and command: end to end on the bundled samples, links that resolve, LaTeX that
compiles, exit codes and readable errors.

The raw sample survey (recall design, validation warnings, ~4 s) runs in the fast suite; the simulated garments
sample (45 years, all three phases, exits observable, ~20 s) is marked slow.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from test_latex import compile_tex

from clusterecon.cli import main

ROOT = Path(__file__).resolve().parents[1]


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.refs.append(v)
            if k == "id" and v:
                self.ids.add(v)


def check_links(root: Path) -> list[str]:
    """Every src/href of report.html and every Markdown link of report.md points to an existing file (or anchor)."""
    p = _Refs()
    p.feed((root / "report.html").read_text(encoding="utf-8"))
    assert p.refs, "the report links to nothing"
    for ref in p.refs:
        u = urlparse(ref)
        assert not u.scheme and not u.netloc, f"external reference {ref}"
        if not u.path:
            assert u.fragment in p.ids, f"anchor #{u.fragment} missing"
            continue
        assert not Path(u.path).is_absolute()
        assert (root / unquote(u.path)).is_file(), f"report.html references missing file {ref}"
    md = (root / "report.md").read_text(encoding="utf-8")
    for ref in re.findall(r"\]\(([^)#\s]+)\)", md):
        assert (root / ref).is_file(), f"report.md references missing file {ref}"
    return p.refs


def compile_all(root: Path, tmp: Path) -> int:
    """Compile the folder's ``tables/tables.tex`` (every table float, as the report tells users to) and every bare
    tabular \\input into a float, in a plain 10pt article: pdflatex must succeed and no table may be wider than
    the page (no ``Overfull \\hbox`` in the log)."""
    from test_tables_fit import assert_fits

    tex = sorted((root / "tables").glob("*.tex"))
    assert (root / "tables" / "tables.tex") in tex
    doc = (root / "tables" / "tables.tex").read_text(encoding="utf-8")
    floats = [f for f in tex if not f.stem.endswith("_tabular") and f.stem != "tables"]
    assert floats and all(rf"\input{{{f.stem}.tex}}" in doc for f in floats)
    log = compile_tex(root / "tables", doc, "tables_check")
    assert "Overfull \\hbox" not in log, log[log.index("Overfull"):][:600]
    bare = [rf"\begin{{table}}[htbp]\centering\input{{{f.as_posix()}}}\end{{table}}"
            for f in tex if f.stem.endswith("_tabular")]
    assert_fits(tmp, "\n".join(bare), "report_tabulars", packages=("graphicx",))
    return len(tex)


@pytest.fixture(scope="module")
def survey_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("survey") / "report"
    return out, main(["analyse", "--sample", "survey", "--out", str(out), "--quiet"])


def test_provenance_lists_the_battery_derivations_after_the_loader(survey_report):
    # the provenance table stopped at the loader's steps: the logs, value added per worker and the rows each left
    # missing (record numbers of the original file) were not reported
    out, _ = survey_report
    md = (out / "report.md").read_text(encoding="utf-8")
    prov = md[md.index("## Provenance"):]
    assert prov.index("| scale |") < prov.index("| derive | value\\_added = sales - material\\_cost")
    assert ("| derive | va\\_per\\_worker missing where employees is zero or missing | va\\_per\\_worker | 1 | 17 |"
            in prov)
    assert "| derive | log\\_sales = ln(sales) (policy='na') |" in prov
    # under the names the models' formulas use (log_va ~ ..., not log_value_added)
    assert "| derive | log\\_va = ln(value\\_added) (policy='na') |" in prov and "log\\_value\\_added" not in prov


def test_battery_steps_name_the_cluster_kept():
    from clusterecon.hypotheses.battery import _steps, one_cluster
    from clusterecon.samples import sample_panel

    panel = sample_panel("garments")
    firms = panel.firms.assign(cluster=["A" if i % 3 else "B" for i in range(len(panel.firms))])
    given = panel.replace(firms=firms)
    kept = one_cluster(given, "A")
    steps = _steps(given, kept, "A", None)
    assert steps[0].step == "drop" and steps[0].n_rows == len(given.data) - len(kept.data) > 0
    assert {"value_added", "va_per_worker", "log_va_per_worker"} <= {e.column for e in steps}


def test_survey_sample_end_to_end(survey_report, capsys):
    out, code = survey_report
    # the raw sample has validation warnings (deliberate defects): the report is written and lists them, exit 0
    assert code == 0
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    md = (out / "report.md").read_text(encoding="utf-8")
    for section in ("## Verdicts", "## Phase diagnosis", "## Validation report", "## Provenance",
                    "## Descriptive statistics"):
        assert section in md
    # a recall survey cannot observe exits: no survival figure, and the report says why
    assert not (out / "figures" / "survival.png").exists()
    assert "No survival curves" in md and "survivors only" in md
    # the validation report is the loader's, with its warnings
    assert "warning" in md.lower()
    # every regression table exists in every format, float and bare tabular
    models = sorted((out / "tables").glob("*_models.tex"))
    assert models
    for t in models:
        for suffix in (".md", ".html", ".csv"):
            assert t.with_suffix(suffix).is_file()
        assert t.with_name(t.stem + "_tabular.tex").is_file()
        assert r"\begin{table}" in t.read_text() and r"\begin{table}" not in t.with_name(
            t.stem + "_tabular.tex").read_text()


def test_survey_report_links_resolve(survey_report):
    out, _ = survey_report
    refs = check_links(out)
    assert any(r.startswith("figures/") and r.endswith(".png") for r in refs)
    assert any(r.startswith("tables/") and r.endswith(".tex") for r in refs)


def test_survey_report_latex_compiles(survey_report, tmp_path):
    out, _ = survey_report
    assert compile_all(out, tmp_path) >= 4


def test_check_links_catches_a_missing_file(survey_report, tmp_path):
    import shutil

    out, _ = survey_report
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    next((copy / "figures").glob("*.png")).unlink()
    with pytest.raises(AssertionError, match="missing file"):
        check_links(copy)


@pytest.mark.slow
def test_garments_sample_end_to_end(tmp_path, capsys):
    """Default sample: 45 simulated years, all three phases dated, exits observable (survival curves)."""
    out = tmp_path / "report"
    code = main(["analyse", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # progress on stderr, summary on stdout: one line per hypothesis and where the report is
    assert "hypothesis: education and innovation" in captured.err
    assert "report:" in captured.out and str(out / "report.html") in captured.out
    assert captured.out.count("[") >= 6
    assert "Traceback" not in captured.err
    md = (out / "report.md").read_text(encoding="utf-8")
    # the simulated truth: quantity expansion from 1974, quality improvement from 1997
    assert "quantity expansion from 1974" in md and "quality improvement from 1997" in md
    for fig in ("trajectories", "schooling_innovation", "entry_by_founder", "survival"):
        assert (out / "figures" / f"{fig}.png").is_file() and (out / "figures" / f"{fig}.pdf").is_file()
    assert any((out / "figures").glob("*_coefficients.png"))
    assert (out / "tables" / "summary_by_phase.tex").is_file()
    assert "validation: " in captured.out and "no problems found" in md  # the simulated panel is validated too
    check_links(out)
    compile_all(out, tmp_path)


def test_bundled_raw_simulated_survey_through_its_mapping(tmp_path, capsys):
    """data/simulated/garments_raw.dta: wide recall columns, codes and missing codes cleaned by the mapping."""
    sim = ROOT / "data" / "simulated"
    out = tmp_path / "report"
    code = main(["analyse", str(sim / "garments_raw.dta"), "--mapping", str(sim / "garments_raw_mapping.toml"),
                 "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0  # warnings or not, the report is written
    assert "validation:" in printed and "300 firms" in printed
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Provenance" in md and "garments_raw" in md
    check_links(out)


def test_unreadable_file_is_one_error_without_traceback(tmp_path, capsys):
    code = main(["analyse", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert "nope.csv" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "report.html").exists()


def test_file_and_sample_together_is_a_usage_error(tmp_path, capsys):
    code = main(["analyse", "x.csv", "--sample", "garments", "--out", str(tmp_path)])
    assert code == 2
    assert "either" in capsys.readouterr().err


def test_data_with_errors_writes_no_report(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("firm_id,year,sales\n1,2000,10\n1,2000,11\n2,1800,5\n", encoding="utf-8")
    code = main(["analyse", str(bad), "--out", str(tmp_path / "r"), "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert "no report written" in out.err
    assert not (tmp_path / "r").exists()


def test_write_report_lists_what_it_could_not_draw(tmp_path):
    """A figure or table the data cannot support is named in the report with the reason, and the rest is written."""
    import pandas as pd

    from clusterecon.hypotheses import AnalysisResult, HypothesisResult
    from clusterecon.load import load_survey
    from clusterecon.report.analyse_report import write_report
    from clusterecon.samples import bundled_sample

    panel = load_survey(*bundled_sample()).panel
    broken = HypothesisResult(key="innovation", title="Broken", question="?", status="supported", verdict="v",
                              figures={"schooling_innovation": pd.DataFrame({"schooling": [1.0], "late": [0.0]})},
                              tables={"t": pd.DataFrame({"a": [1, 2]})}, limitations=("x",))
    skipped = HypothesisResult.skipped("exit", "Exit", "?", "a single survey year")
    result = AnalysisResult(structure=panel.structure(), results={"innovation": broken, "exit": skipped})
    paths = write_report(result, tmp_path / "r", panel=panel)
    assert any("schooling_innovation" in p and "any_innovation" in p for p in paths.problems)
    md = paths.markdown.read_text(encoding="utf-8")
    assert "## Left out of this report" in md and "Not tested: a single survey year" in md
    assert all(p.is_file() for p in paths.files())
    assert (tmp_path / "r" / "tables" / "innovation_t.csv").is_file()
    check_links(tmp_path / "r")


def test_a_survey_without_founding_years_says_why_there_are_no_survival_curves(tmp_path):
    # user sweep: the survival figure failed with a raw KeyError('founding_year') printed in the report
    from clusterecon.samples import sample_panel

    f = sample_panel("garments").frame.reset_index().drop(columns="founding_year")
    path = tmp_path / "nofy.csv"
    f.to_csv(path, index=False)
    (tmp_path / "m.toml").write_text('[survey]\ndesign = "rounds"\nexits_observable = true\n')
    out = tmp_path / "r"
    assert main(["analyse", str(path), "--mapping", str(tmp_path / "m.toml"), "--out", str(out), "--quiet"]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "No survival curves: the survey has no founding years" in md and "KeyError" not in md
