"""Control characters and bidi overrides in user strings never reach an output file raw (sweep bug: a mapping
``name``/``[history] source`` with ESC, BEL and NUL was written as is into report.md, report.html and tables.tex;
``cat report.md`` ran the escape sequences and ``pdflatex tables.tex`` stopped at U+001B). Each is shown as its
escape (``\\x1b``, ``\\u202e``) by the one rule in :mod:`clusterecon._controls`, in every format, and the tables
still compile. Companion of :mod:`test_output_escaping` (markup injection)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_latex import compile_tex

from clusterecon._controls import visible_controls
from clusterecon.cli import main
from clusterecon.report.html import Page, frame_html, inline_html
from clusterecon.report.latex import escape
from clusterecon.report.render import csv_cell, html_escape, md_escape

ROOT = Path(__file__).resolve().parents[1]
#: ESC (with a clear-screen sequence), BEL, NUL, DEL, CSI (C1), RIGHT-TO-LEFT OVERRIDE, and a line break
HOSTILE = "a\x1b[2J\x07\x00\x7f\x9b[31m\u202eb\nc"
#: code points no text output may hold raw (tab and newline are the files' own layout)
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ESCAPES = ("x1b", "x07", "x00", "x7f", "x9b", "u202e")


# ---------------------------------------------------------------------------------------------------- unit level
def test_visible_controls_shows_each_code_point_as_its_escape():
    assert visible_controls(HOSTILE) == "a\\x1b[2J\\x07\\x00\\x7f\\x9b[31m\\u202eb\\x0ac"
    assert visible_controls(HOSTILE, keep="\n").endswith("b\nc")
    assert visible_controls("\u2066x\u2069 \x85", backslash="\\\\") == "\\\\u2066x\\\\u2069 \\\\x85"
    assert visible_controls("plain, é, 中, \u00a0") == "plain, é, 中, \u00a0"  # printable text is untouched


@pytest.mark.parametrize("render, backslash", [
    (escape, r"\textbackslash{}"), (md_escape, "\\\\"), (html_escape, "\\"),
    (lambda s: inline_html(md_escape(s)), "\\"), (lambda s: inline_html(s), "\\"), (csv_cell, "\\")])
def test_every_escaper_shows_controls_and_makes_line_breaks_spaces(render, backslash):
    out = render(HOSTILE)
    assert not RAW.search(out), repr(out)
    for e in ESCAPES:
        assert backslash + e in out, (e, out)
    if render in (escape, md_escape, html_escape):  # (a quoted CSV cell keeps its line break)
        assert "\n" not in out


def test_page_blocks_and_frames_in_both_formats():
    page = Page(HOSTILE)
    page.heading(HOSTILE)
    page.para("**Q.** " + md_escape(HOSTILE))
    page.para("clusterecon's own text with a stray \x1b[2J")
    page.bullets([HOSTILE])
    page.pre("line 1\x1b[2J\n\tline 2\u202e")
    page.frame(pd.DataFrame({"a": [HOSTILE], HOSTILE: [f"[{md_escape(HOSTILE)}](#x)"]}), markup=(HOSTILE,))
    page.figure("figures/a.png", "figures/a.pdf", HOSTILE)
    for text in (page.html(), page.markdown()):
        assert not RAW.search(text), RAW.findall(text)
        assert "x1b" in text and "u202e" in text
        assert "line 1\\x1b[2J\n\tline 2" in text  # a preformatted block keeps its lines and tabs
    # a line break in a frame cell is a space in HTML, as in a paragraph (pandas would print a literal \n)
    html_text = frame_html(pd.DataFrame({"source": ["first\nsecond"], "n": [1]}))
    assert "first second" in html_text and "\\n" not in html_text


# ---------------------------------------------------------------------------------------------------- end to end
def toml_string(s: str) -> str:
    """``s`` as a TOML basic string with \\uXXXX escapes for every control character."""
    return '"' + "".join(f"\\u{ord(c):04x}" if RAW.match(c) or c in '"\\\n' else c for c in s) + '"'


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> Path:
    """``analyse`` of the bundled survey from a folder whose name holds ESC and U+202E, with a mapping name and a
    ``[history] source`` holding :data:`HOSTILE` and a variable label (Stata) holding controls."""
    pyreadstat = pytest.importorskip("pyreadstat")
    base = tmp_path_factory.mktemp("c")
    folder = base / "dir\x1b[31m\u202e\x9b"
    folder.mkdir()
    src = ROOT / "data" / "sample_survey"
    df, meta = pyreadstat.read_dta(src / "survey.dta")
    labels = dict(zip(meta.column_names, meta.column_labels))
    labels["educ"] = "Schooling\x1b[2J\x07\x7f\x9b\u202e years"
    pyreadstat.write_dta(df, folder / "survey.dta", column_labels=labels,
                         variable_value_labels=meta.variable_value_labels)
    text = (src / "mapping.toml").read_text(encoding="utf-8")
    text = re.sub(r'^name = ".*"$', lambda _m: f"name = {toml_string('Eastgate ' + HOSTILE)}", text, count=1,
                  flags=re.M)
    text += f"\n[history]\nexpansion_start = 1985\nquality_start = 1996\nsource = {toml_string(HOSTILE)}\n"
    (folder / "mapping.toml").write_text(text, encoding="utf-8")
    out = base / "report"
    assert main(["analyse", "--mapping", str(folder / "mapping.toml"), "--out", str(out), "--quiet"]) == 0
    return out


def test_no_control_character_in_any_report_file(hostile_report):
    files = [f for f in hostile_report.rglob("*") if f.is_file() and f.suffix in (".md", ".html", ".tex", ".csv")]
    assert len(files) > 20
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert not RAW.search(text), (f.name, RAW.findall(text))
    md = (hostile_report / "report.md").read_text(encoding="utf-8")
    html_text = (hostile_report / "report.html").read_text(encoding="utf-8")
    tex = (hostile_report / "tables" / "tables.tex").read_text(encoding="utf-8")
    for e in ESCAPES:  # the name is in every title, the source in the phase verdict
        assert "\\\\" + e in md and "\\" + e in html_text and r"\textbackslash{}" + e in tex, e
    # the variable label reaches the summary tables in every format
    for suffix in (".tex", ".md", ".html", ".csv"):
        text = (hostile_report / "tables" / f"summary_by_is_spinoff{suffix}").read_text(encoding="utf-8")
        assert "x1b" in text and "x9b" in text and "u202e" in text, suffix
    # the source's line break is a space in the verdicts table and in the verdict paragraph alike
    assert html_text.count("[31m\\u202eb c") >= 2 and "b\\nc" not in html_text


def test_the_report_tables_compile(hostile_report, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed")
    tables = tmp_path / "tables"
    shutil.copytree(hostile_report / "tables", tables)
    compile_tex(tables, (tables / "tables.tex").read_text(encoding="utf-8"), "tables")


def test_json_output_stays_valid(tmp_path, capsys):
    # JSON escapes control characters itself (and every non-ASCII character); the terminal filter leaves it alone
    folder = tmp_path / "dir\x1b[31m\u202e\x9b"
    folder.mkdir()
    shutil.copy(ROOT / "data" / "sample_survey" / "survey.dta", folder / "survey.dta")
    shutil.copy(ROOT / "data" / "sample_survey" / "mapping.toml", folder / "mapping.toml")
    main(["validate", str(folder / "survey.dta"), "--mapping", str(folder / "mapping.toml"), "--json"])
    out = capsys.readouterr().out
    assert not RAW.search(out)
    assert json.loads(out)["source"].startswith(str(folder))
