"""Every table clusterecon can produce fits the page: compiled with pdflatex in a plain 10pt ``article`` (345pt
line), the log must not contain a single ``Overfull \\hbox``.

Covered: regression tables of each estimator family (linear panel, dynamic GMM, binary with marginal-effects
panels, multinomial and Heckman equations, censored, duration, production functions), descriptive and balance
tables, the evaluation report's tables and the ``analyse`` report's tables (the report tests compile those with
the same check, ``test_analyse_report.compile_all``). A table a user builds is rendered with its defaults plus
:meth:`~clusterecon.report.render.Table.fitting_latex_options` where the defaults are too wide for 345pt, which
is what the report does. pdflatex may skip only outside CI (``test_latex.pdflatex``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from test_latex import compile_tex

from clusterecon.report.latex import document

OVERFULL = re.compile(r"^Overfull \\hbox \((?P<pt>[\d.]+)pt too wide\).*$", re.M)


def assert_fits(tmp: Path, body: str, name: str, packages: tuple[str, ...] = ()) -> str:
    """Compile ``body`` in a plain article; fail naming every overfull line and the table it comes from."""
    log = compile_tex(tmp, document(body, packages=packages), name)
    bad = [(m.group(0), log[m.end():m.end() + 200].strip().splitlines()[:2]) for m in OVERFULL.finditer(log)]
    assert not bad, "tables wider than the page:\n" + "\n".join(f"{b[0]}\n    {b[1]}" for b in bad)
    return log


def bare(tex: str) -> str:
    """A bare table as users place it: ``\\input`` into their own float."""
    return "\\begin{table}[htbp]\\centering\n" + tex + "\\end{table}\n"


@pytest.fixture(scope="module")
def panel():
    from clusterecon.derive import derive_all
    from clusterecon.samples import sample_panel

    p = derive_all(sample_panel("garments"))
    keep = p.data.index.get_level_values("year") >= 1996  # the quality-improvement years: fast, and all variables vary
    data = p.data[keep]
    firms = p.firms.loc[p.firms.index.isin(data.index.get_level_values("firm_id"))]
    return p.replace(data=data, firms=firms)


def _fits(panel) -> dict[str, object]:
    """One regression table per estimator family, as the user would build it (codebook labels)."""
    import clusterecon.estimators as e
    from clusterecon.report import regression_table, split_equations

    lab = panel.labels
    x = "own_brand + exporter + ln_employees"
    f = panel.frame
    out: dict[str, object] = {}
    warnings.simplefilter("ignore")
    out["linear panel"] = regression_table({
        "Pooled": e.pooled_ols(panel, f"ln_sales ~ {x}", vcov="cluster"),
        "FE": e.within(panel, f"ln_sales ~ {x}", effects="twoway", vcov="cluster"),
        "BE": e.between(panel, f"ln_sales ~ {x}"),
        "FD": e.first_difference(panel, f"ln_sales ~ {x}", vcov="cluster"),
        "RE": e.random_effects(panel, f"ln_sales ~ {x} + manager_schooling_years", vcov="cluster"),
    }, labels=lab, caption="Linear panel estimators")
    out["fe re"] = regression_table([e.within(panel, "ln_sales ~ own_brand"),
                                     e.random_effects(panel, "ln_sales ~ own_brand")], labels=lab)
    out["cre ht"] = regression_table({
        "CRE": e.correlated_re(panel, f"ln_sales ~ {x}", vcov="cluster"),
        "HT": e.hausman_taylor(panel, "ln_sales ~ own_brand + ln_employees + manager_schooling_years",
                               endog_varying=["own_brand"], endog_invariant=["manager_schooling_years"]),
    }, labels=lab)
    out["dynamic gmm"] = regression_table(
        [e.arellano_bond(panel, "ln_sales ~ lag(ln_sales, 1) + ln_employees", gmm=e.gmm("ln_sales", lags=(2, 3)))],
        labels=lab)
    pr = e.probit(panel, "exporter ~ manager_schooling_years + own_brand + ln_employees", vcov="cluster")
    lo = e.logit(panel, "exporter ~ manager_schooling_years + own_brand + ln_employees", vcov="cluster")
    out["binary with margins"] = regression_table(panels={"Coefficients": [pr, lo],
                                                          "Average marginal effects": [e.margins(pr), e.margins(lo)]},
                                                  model_names=["Probit", "Logit"], labels=lab)
    occ = f.assign(occ=f["manager_prior_occupation"].astype(str).where(
        f["manager_prior_occupation"].isin(["merchant", "engineer", "worker_same_industry"]), "other"))
    mn = e.mnlogit(occ.loc[~occ.index.duplicated()], "occ ~ manager_schooling_years + ln_employees")
    out["multinomial"] = regression_table(split_equations(mn), labels=lab)
    hk = e.heckman(f.assign(y=f["ln_sales"].where(f["exporter"].astype(bool))),
                   "y ~ ln_employees + own_brand", select="exporter ~ ln_employees + own_brand + "
                                                          "manager_schooling_years")
    out["heckman"] = regression_table(panels=split_equations(hk), labels=lab)
    out["tobit"] = regression_table([e.tobit(f.assign(y=f["ln_sales"].clip(lower=5)), "y ~ ln_employees + own_brand",
                                             lower=5)], labels=lab)
    return out


def test_every_regression_table_fits_the_page(panel, tmp_path):
    tables = _fits(panel)
    body = []
    for name, t in tables.items():
        opts = t.fitting_latex_options()
        body.append(t.to_latex(caption=name, **opts))
        body.append(bare(t.to_latex(float=False, **opts)))
    assert_fits(tmp_path, "\n".join(body), "regression", packages=("graphicx",))


def test_plain_two_column_table_fits_without_options(panel, tmp_path):
    """A fixed-effects vs random-effects table with the default options (the issue's 248pt-too-wide example)."""
    import clusterecon.estimators as e
    from clusterecon.report import regression_table

    t = regression_table({"FE": e.within(panel, "ln_sales ~ own_brand + exporter", vcov="cluster"),
                          "RE": e.random_effects(panel, "ln_sales ~ own_brand + exporter", vcov="cluster")},
                         labels=panel.labels)
    assert t.fitting_latex_options() == {}
    log = assert_fits(tmp_path, t.to_latex() + t.to_latex(float=False) + t.to_latex(siunitx=True), "fere",
                      packages=("siunitx",))
    assert "Underfull" not in log or "tablenotes" not in log


def test_descriptive_and_balance_tables_fit(panel, tmp_path):
    from clusterecon.report import balance_table, summary_table

    spans = [("initiation", 1996, 2000), ("quantity_expansion", 2001, 2007), ("quality_improvement", 2008, 2014)]
    variables = ["sales", "employees", "capital", "product_price", "manager_schooling_years", "own_brand", "exporter",
                 "founder_prior_occupation"]
    tables = [summary_table(panel, variables), summary_table(panel, variables, by="phase", phases=spans),
              summary_table(panel, variables, by="is_spinoff"),
              summary_table(panel, variables[:4], by="founder_prior_occupation")]
    f = panel.frame.reset_index()
    base = f[f["year"] == 2000].assign(treat_offered=np.arange((f["year"] == 2000).sum()) % 2 == 0)
    tables.append(balance_table(base, ["sales", "employees", "manager_schooling_years", "own_brand"],
                                labels=panel.labels))
    body = []
    for t in tables:
        opts = t.fitting_latex_options()
        body += [t.to_latex(**opts), bare(t.to_latex(float=False, **opts))]
    assert_fits(tmp_path, "\n".join(body), "descriptive", packages=("graphicx",))


def test_wide_table_options_compile_and_fit(panel, tmp_path):
    """fit="resize" and fit="tabularx" are there on request, and fit what would not."""
    import clusterecon.estimators as e
    from clusterecon.report import regression_table

    x = "own_brand + exporter + ln_employees + ln_capital"
    wide = regression_table([e.within(panel, f"ln_sales ~ {x}")] * 9, labels=panel.labels)
    assert wide.fitting_latex_options().get("fit") == "resize"
    five = regression_table([e.within(panel, f"ln_sales ~ {x}")] * 5, labels=panel.labels)
    body = "\n".join([wide.to_latex(fit="resize"), bare(wide.to_latex(float=False, fit="resize")),
                      five.to_latex(fit="tabularx", font_size="footnotesize"),
                      bare(wide.to_latex(float=False, **wide.fitting_latex_options()))])
    assert_fits(tmp_path, body, "wide", packages=("graphicx", "tabularx"))


def test_overfull_check_catches_a_wide_table(tmp_path):
    """The check is not vacuous: the old one-cell note row is reported."""
    from test_tables import make_result

    from clusterecon.report import regression_table

    t = regression_table([make_result(["x"], [1.0], [0.5])], notes="a long note " * 20)
    with pytest.raises(AssertionError, match="Overfull"):
        assert_fits(tmp_path, t.to_latex(notes_width="20cm"), "wide")


def test_evaluation_report_tables_fit(tmp_path):
    from clusterecon.cli import main
    from clusterecon.simulate.experiment import simulate_experiment

    e = simulate_experiment(seed=41, assignment="partial", spillover=0.1, n_clusters=12, firms_per_cluster=10)
    paths = e.write(tmp_path / "trial")
    out = tmp_path / "report"
    assert main(["evaluate", str(paths["design"]), "--out", str(out), "-q"]) in (0, 1)
    tex = sorted((out / "tables").glob("*.tex"))
    assert tex, "the evaluation report wrote no LaTeX table"
    body = "\n".join(rf"\input{{{p.as_posix()}}}" if not p.stem.endswith("_tabular") else
                     bare(rf"\input{{{p.as_posix()}}}") for p in tex)
    assert_fits(tmp_path, body, "evaluation", packages=("graphicx",))


def _tutorial_preamble() -> str:
    """The ``\\usepackage`` lines docs/tutorial.md step 4 tells a user to add to a paper's preamble."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "tutorial.md").read_text(encoding="utf-8")
    step = text[text.index("## 4. The tables as a PDF"):text.index("## 5.")]
    lines = re.findall(r"\\usepackage\{[^}]+\}", step)
    assert lines, "docs/tutorial.md step 4 no longer states a preamble"
    return "\n".join(dict.fromkeys(lines))


def test_tutorial_preamble_compiles_a_resized_table(tmp_path):
    """fitting_latex_options() may choose fit="resize" (as the analyse report does for a wide table): the preamble
    the tutorial gives must compile that table \\input into a paper (user sweep R6)."""
    from test_tables import make_result

    from clusterecon.report import regression_table

    fit = make_result(["x", "z"], [1.0, 0.5], [0.1, 0.2])
    wide = regression_table({f"Specification {i}": fit for i in range(8)})
    opts = wide.fitting_latex_options()
    assert opts.get("fit") == "resize"
    (tmp_path / "table.tex").write_text(wide.to_latex(**opts), encoding="utf-8")
    (tmp_path / "table_tabular.tex").write_text(wide.to_latex(float=False, **opts), encoding="utf-8")
    paper = ("\\documentclass{article}\n" + _tutorial_preamble() + "\n\\begin{document}\n\\input{table.tex}\n"
             "\\begin{table}[htbp]\\centering\n\\input{table_tabular.tex}\n\\end{table}\n\\end{document}\n")
    compile_tex(tmp_path, paper, "paper")


def test_a_table_that_needs_more_packages_names_them_in_its_first_line():
    from test_tables import make_result

    from clusterecon.report import regression_table
    from clusterecon.report.latex import latex_packages

    t = regression_table([make_result(["x"], [1.0], [0.5])])
    for opts in ({"fit": "resize"}, {"fit": "resize", "float": False}, {"fit": "tabularx"}, {"siunitx": True}):
        first = t.to_latex(**opts).splitlines()[0]
        need = latex_packages(siunitx=bool(opts.get("siunitx")), fit=opts.get("fit"))
        assert first == "% clusterecon table; needs \\usepackage{" + ",".join(need) + "}", (opts, first)
    assert t.to_latex(float=False).startswith("\\begin{threeparttable}")  # the base packages: no comment


def test_report_tables_that_are_resized_say_they_need_graphicx(tmp_path):
    """The files the analyse report writes with \\resizebox carry the package comment (the report chooses
    fit="resize" through fitting_latex_options)."""
    from test_tables import make_result

    from clusterecon.report import regression_table
    from clusterecon.report.analyse_report import _Writer

    fit = make_result(["x", "z"], [1.0, 0.5], [0.1, 0.2])
    w = _Writer(tmp_path, lambda _s: None)
    paths = w.table("wide_models", regression_table({f"Specification {i}": fit for i in range(8)}), "Wide")
    for key in ("tex", "tabular"):
        text = paths[key].read_text(encoding="utf-8")
        assert "\\resizebox" in text
        assert text.splitlines()[0] == "% clusterecon table; needs \\usepackage{booktabs,array,threeparttable,graphicx}"


def test_docs_notes_width_example_fits_a_default_article(tmp_path):
    """docs/tables.md's ``to_latex(notes_width="12cm")``: the note row, padding included, is 12cm (< 345pt), so no
    Overfull \\hbox (it was 8.43pt too wide: user sweep); ``notes_width=r"\\linewidth"`` fits exactly."""
    from test_tables import make_result

    from clusterecon.report import regression_table

    t = regression_table([make_result(["x"], [1.0], [0.5])], notes="a long note that wraps " * 12)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "tables.md").read_text(encoding="utf-8")
    assert 't.to_latex(notes_width="12cm")' in docs
    assert_fits(tmp_path, "\n".join([t.to_latex(notes_width="12cm"), t.to_latex(notes_width=r"\linewidth"),
                                     bare(t.to_latex(float=False, notes_width="12cm"))]), "notes_width")
