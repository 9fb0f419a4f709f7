"""LaTeX escaping and compile tests: every kind of generated LaTeX is run through pdflatex.

A compile test may skip only when pdflatex is absent AND the environment variable CI is not "true"; under CI a
missing pdflatex fails. Several tables share one document so that the file stays fast (~0.5 s per pdflatex run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tables import make_result

from clusterecon.estimators import results as er
from clusterecon.report.latex import Raw, document, escape
from clusterecon.report.render import Cell, Layout, Section, Table, render_markdown
from clusterecon.report.tables import regression_table

NASTY = r"profit_%_of sales & #2 {x}^2 ~ $5 \path"


def pdflatex() -> str:
    exe = shutil.which("pdflatex")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdflatex is required under CI=true (install texlive-latex-recommended)")
        pytest.skip("pdflatex not installed")
    return exe


def compile_tex(tmp: Path, source: str, name: str = "doc") -> str:
    """Compile ``source`` in ``tmp``; fail with the end of the log unless pdflatex succeeds cleanly."""
    tex = tmp / f"{name}.tex"
    tex.write_text(source, encoding="utf-8")
    proc = subprocess.run([pdflatex(), "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
                          cwd=tmp, capture_output=True, text=True, timeout=120)
    log = (tmp / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, f"pdflatex failed:\n{log[-3000:]}"
    assert (tmp / f"{name}.pdf").stat().st_size > 1000
    # A glyph the font lacks is only a warning in the log, but prints nothing: treat it as a failure.
    assert "Missing character" not in log, log[-3000:]
    return log


def test_escape_every_special_character():
    assert escape("a_b") == r"a\_b"
    assert escape("50% & #1 $x$ {y}") == r"50\% \& \#1 \$x\$ \{y\}"
    assert escape("~^\\") == r"\textasciitilde{}\textasciicircum{}\textbackslash{}"
    assert escape("a<b>c|d") == r"a$<$b$>$c$|$d"
    assert escape("R² × σ − 1") == r"R\textsuperscript{2} $\times$ $\sigma$ $-$ 1"
    assert escape(Raw(r"$\beta_1$")) == r"$\beta_1$"
    # No special character survives unescaped: every one is preceded by a backslash or inside a macro/math.
    out = escape(NASTY)
    for ch in "_%&#$":
        assert out.count("\\" + ch) == NASTY.count(ch)


def test_markdown_escapes_pipes_and_emphasis():
    lay = Layout(header=((Cell("a|b"), Cell("x_1*")),), sections=(Section(((Cell("#1"), Cell("2", sup="**")),)),))
    md = render_markdown(lay)
    assert r"a\|b" in md and r"x\_1\*" in md and r"\#1" in md and r"2\*\*" in md


def _nasty_table():
    r1 = make_result([NASTY, "x^2", "const"], [0.5, -1.25, 3.0], [0.1, 0.5, 1.0], depvar="y_{it} (100%)",
                     effects={"Firm FE": "Yes", "Year_FE #": "Yes"}, cluster=("firm_id",), model="FE & co",
                     tests={"model": er.TestResult("Wald_%", 3.5, 0.06, (2, 30.0), "F", "b = 0")})
    r2 = make_result(["x^2", "z~w"], [12345.678, 0.001], [100.0, 0.0005], depvar="y_{it} (100%)",
                     kind="robust", rsquared={"r2": 0.5}, loglik=-12.5)
    ame = make_result(["x^2"], [-0.2], [0.05], df_resid=None)
    labels = {"z~w": "Δ log price ≤ σ & more", "x^2": Raw(r"$x^2$ (raw LaTeX)")}
    return regression_table(panels={"Panel #1: 50% coefficients": [r1, r2], "AME_{i}": [ame, None]},
                            labels=labels, model_names=["A&B", "C_D"], notes=["Note: 50% of firms in #1; cost_$"],
                            indicators={"Controls & more": ["Yes", "No"]}, tests=["model"])


def test_nasty_names_escaped_in_every_format():
    t = _nasty_table()
    tex = t.to_latex(caption="Table_1: 100% & more", label="tab:nasty")
    assert r"profit\_\%\_of sales \& \#2 \{x\}\textasciicircum{}2 \textasciitilde{} \$5 \textbackslash{}path" in tex
    assert r"$x^2$ (raw LaTeX)" in tex and r"A\&B" in tex and r"C\_D" in tex
    assert r"Table\_1: 100\% \& more" in tex and r"Year\_FE \#" in tex
    html = t.to_html()
    assert "A&amp;B" in html and "<sup>***</sup>" in html and "Panel #1: 50% coefficients" in html
    md = t.to_markdown()
    assert r"profit\_%\_of sales & \#2" in md


def _fuzz_table() -> Table:
    """150 random strings over every special character and the Unicode the escaper maps, as labels and cells."""
    alphabet = list("\\&%$#_{}~^<>|\"'`-*!?.,;:()[]/@=+ aZ09") + list("²³×−–—≤≥±·αβγδεθλμρσχΔé\n\t")
    rand = np.random.default_rng(42)
    junk = ["".join(rand.choice(alphabet, size=rand.integers(1, 25))) for _ in range(150)]
    rows = tuple((Cell(a), Cell(b), Cell(c, number=True)) for a, b, c in zip(junk[::3], junk[1::3], junk[2::3]))
    numeric = ["-1.234", "(0.500)", "[-1.0, 2.0]", "1,234", "nan", "-inf", "1e-05", "(-0.25)", "12345.6789", ""]
    rows += tuple((Cell(f"num {i}"), Cell(v, sup="**", number=True), Cell(v, number=True))
                  for i, v in enumerate(numeric))
    fuzz = Table()
    fuzz.layout = Layout(header=((Cell("a_%"), Cell("b&#"), Cell("c$~")),), sections=(Section(rows),),
                         notes=tuple(junk[:5]))
    return fuzz


def test_generated_latex_compiles(tmp_path):
    """Float tables, a bare tabular \\input into a document, nasty names and a descriptive table in one run."""
    from clusterecon.report.descriptive import balance_table, summary_table

    t = _nasty_table()
    (tmp_path / "bare.tex").write_text(t.to_latex(float=False), encoding="utf-8")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sales_%": rng.lognormal(size=60), "is_spinoff": rng.random(60) < 0.4,
                       "year": np.repeat([1995, 2000, 2005], 20), "treat_offered": np.tile([True, False], 30)})
    desc = summary_table(df, ["sales_%", "is_spinoff"], by="year")
    bal = balance_table(df, ["sales_%"], treatment="treat_offered")
    body = "\n".join([
        _fuzz_table().to_latex(float=False),
        t.to_latex(caption="Table_1: 100% & more", label="tab:nasty"),
        r"\begin{table}[h]\centering\caption{Bare tabular via input}\input{bare.tex}\end{table}",
        desc.to_latex(caption="Summary_stats", font_size="small"),
        bal.to_latex(float=False, notes_width="10cm"),
    ])
    compile_tex(tmp_path, document(body))


def test_siunitx_output_compiles(tmp_path):
    exe = shutil.which("kpsewhich")
    if exe and not subprocess.run([exe, "siunitx.sty"], capture_output=True, text=True).stdout.strip():
        pytest.skip("siunitx.sty not installed (Debian: texlive-science)")
    t = _nasty_table()
    fits = [make_result(["a", "b"], [-12.3456, 0.5], [1.0, 0.01], nobs=12345, loglik=-1234.5)]
    body = "\n".join([t.to_latex(siunitx=True), regression_table(fits, stat="ci").to_latex(siunitx=True, float=False),
                      _fuzz_table().to_latex(siunitx=True)])
    compile_tex(tmp_path, document(body, packages=("booktabs", "siunitx")))


def _unescaped_pipes(line: str) -> int:
    n, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        n += line[i] == "|"
        i += 1
    return n


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20), min_size=3, max_size=3))
def test_markdown_rows_keep_their_cells_for_any_text(texts):
    lay = Layout(header=((Cell(), Cell("a"), Cell("b")),), sections=(Section((tuple(Cell(t) for t in texts),)),))
    lines = render_markdown(lay).splitlines()
    assert len(lines) == 3  # newlines inside a cell never split a row
    assert all(_unescaped_pipes(line) == 4 for line in lines if not line.startswith("|:"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\xa0\u2007", blacklist_categories=("Cs",)), max_size=40))
def test_escaped_latex_has_no_bare_special_characters(text):
    out = escape(text)
    # Remove what the escaper emits (escaped specials, argument-free macros with {}, math snippets); nothing special
    # may remain.
    rest = re.sub(r"\$[^$]*\$", "", re.sub(
        r"\\[&%$#_{},]|\\[a-zA-Z]+\{\}|\\text(?:super|sub)script\{(?:[^{}$\\]|\$-\$)\}", "", out))
    assert not set(rest) & set("&%$#_{}~^\\"), (text, out, rest)


def test_missing_pdflatex_fails_under_ci_and_skips_locally(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        pdflatex()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        pdflatex()


def test_html_of_any_text_is_well_formed():
    import xml.etree.ElementTree as ET

    fuzz = _fuzz_table()
    root = ET.fromstring(fuzz.to_html(caption="a<b & c"))  # fails on any unescaped < & or unclosed tag
    body_rows = [tr for tb in root.findall("tbody") for tr in tb.findall("tr")]
    assert len(body_rows) == len(fuzz.layout.sections[0].rows)
    assert root.find("caption").text == "a<b & c"
    # the text of each note, with its line breaks and tabs shown as spaces (as everywhere in the HTML outputs)
    assert [td.text for td in root.find("tfoot").iter("td")] == [re.sub("[\n\t]", " ", n) for n in fuzz.layout.notes]


def test_report_latex_is_reachable_as_documented_without_importing_it_first():
    """docs/tables.md names ``report.latex.PACKAGES`` and ``report.latex.document(body)`` after
    ``from clusterecon import report``, and ``ce.report`` after ``import clusterecon as ce``: both raised
    AttributeError unless ``clusterecon.report.latex`` had been imported. Checked in a fresh interpreter (this test
    session has long imported the module), which must also not import matplotlib or statsmodels for it."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom clusterecon import report\nimport clusterecon as ce\n"
            "assert ce.report is report and 'booktabs' in report.latex.PACKAGES\n"
            "assert report.latex.document('x').count('\\\\begin{document}') == 1\n"
            "assert ce.productivity.__name__ == 'clusterecon.productivity'\n"
            "assert 'latex' in dir(report) and 'latex' not in report.__all__\n"
            "assert not {'matplotlib', 'statsmodels'} & set(sys.modules), sorted(sys.modules)\n")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
