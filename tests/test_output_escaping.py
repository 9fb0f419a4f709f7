"""Hostile strings (titles, labels, variable and model names, notes, spec file names) are text in every output format
(issue 11, injection into outputs): Markdown renders no link, tag or heading from them (checked by rendering with
a CommonMark parser), HTML has no script, no event attribute and no link outside the report folder, LaTeX has no
command from them (``\\input``) and compiles with ``-no-shell-escape``; labels are sanitised keys."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from test_latex import compile_tex
from test_tables import make_result

from clusterecon.cli import main
from clusterecon.report.html import Page, inline_html, md_escape, safe_href
from clusterecon.report.latex import document, label_key
from clusterecon.report.tables import regression_table

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ["</script><script>alert(1)</script>", "[x](javascript:alert(1))", r"\input{/etc/passwd}", "$", "%",
           "_", "{}", "<img src=x onerror=alert(1)>", "# heading\n\n- item", "`code` ``` **b** ![i](x.png)",
           "&amp; &#106;avascript"]
ALL = " ".join(HOSTILE)


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []
        self.events: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("href", "src") and v is not None:
                self.refs.append(v)
            if k.startswith("on"):
                self.events.append(k)


def check_html(text: str) -> _Html:
    p = _Html()
    p.feed(text)
    assert "script" not in p.tags
    assert not p.events, p.events
    for ref in p.refs:
        assert safe_href(ref), f"unsafe link {ref!r}"
    return p


HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def check_markdown(text: str, headings: int = 0) -> _Html:
    """Render with CommonMark (+ tables) and check the HTML it makes: the only links are the report's own and there
    are exactly ``headings`` headings (a user string never opens one)."""
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    p = check_html(rendered)
    assert sum(p.tags.count(h) for h in HEADINGS) == headings, rendered[:2000]
    return p


def check_latex(text: str) -> None:
    assert r"\input" not in text and r"\include" not in text and r"\write" not in text
    for key in re.findall(r"\\label\{([^}]*)\}", text):
        assert re.fullmatch(r"[A-Za-z0-9:-]+", key), key


def check_files(folder: Path) -> None:
    """Every table file of a folder, by format."""
    for f in folder.iterdir():
        text = f.read_text(encoding="utf-8")
        if f.name == "tables.tex":  # the report's all-tables document: \input only of the folder's own tables
            inputs = re.findall(r"\\input\{([^}]*)\}", text)
            assert inputs and all(re.fullmatch(r"[a-z0-9_]+\.tex", i) and (folder / i).is_file() for i in inputs)
            check_latex(re.sub(r"\\input\{[a-z0-9_]+\.tex\}", "", text))
        elif f.suffix == ".tex":
            check_latex(text)
        elif f.suffix == ".html":
            check_html(text)
        elif f.suffix == ".md":
            check_markdown(text)
        elif f.suffix == ".csv":
            check_csv(text)


#: cells a spreadsheet would run as formulas when it opens a CSV (OWASP "CSV injection")
CSV_HOSTILE = ['=HYPERLINK("http://evil.example","x")', "-2+3+cmd|' /C calc'!A0", "+cmd|' /C calc'!A0",
               "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", " =1+1"]
_SIGNED = re.compile(r"[+-](?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:\*{1,3}|[%†‡§])*")


def check_csv(text: str) -> None:
    """No cell of a CSV file starts like a spreadsheet formula, except plain signed numbers."""
    import csv
    import io

    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            head = cell.lstrip(" \t\r\n")
            assert not (head[:1] in ("=", "+", "-", "@") or cell[:1] in ("\t", "\r")) or _SIGNED.fullmatch(
                cell.strip()), f"CSV cell would run as a formula: {cell!r}"


# ---------------------------------------------------------------------------------------------------- unit level
def test_md_escape_and_inline_html_keep_hostile_text_as_text():
    for s in HOSTILE:
        html_text = inline_html(md_escape(s))
        check_html(f"<p>{html_text}</p>")
        p = check_markdown(md_escape(s))
        assert "a" not in p.tags and "img" not in p.tags and "code" not in p.tags and "strong" not in p.tags
    # clusterecon's own markup still works next to escaped text
    html_text = inline_html("**Verdict.** " + md_escape("[x](javascript:alert(1))") + " [CSV](tables/a.csv)")
    assert '<a href="tables/a.csv">CSV</a>' in html_text and "<strong>Verdict.</strong>" in html_text
    assert "javascript:alert(1)" in html_text and 'href="javascript' not in html_text


@pytest.mark.parametrize("href, ok", [("tables/a.csv", True), ("#phases", True), ("figures/x.png", True),
                                      ("javascript:alert(1)", False), ("http://x", False), ("/etc/passwd", False),
                                      ("../secret.csv", False), ("a/../../b", False), ("//evil", False),
                                      ("JaVaScRiPt:x", False), ("data:text/html,x", False)])
def test_safe_href(href, ok):
    assert safe_href(href) is ok


def test_page_escapes_titles_headings_frames_and_captions():
    page = Page(ALL)
    page.heading(ALL, 2, anchor='x" onclick="alert(1)')
    page.para("**Q.** " + md_escape(ALL))
    page.bullets([md_escape(s) for s in HOSTILE])
    page.frame(pd.DataFrame({"a": HOSTILE, "b": [f"[{md_escape(s)}](#ok)" for s in HOSTILE]}), markup=("b",))
    page.frame(pd.DataFrame({ALL: HOSTILE}))
    page.pre("```\n" + ALL)
    page.figure("figures/a.png", "figures/a.pdf", ALL)
    page.raw_table("", "", [(ALL, "tables/a.md"), ("evil", "javascript:alert(1)")])
    html_text, md = page.html(), page.markdown()
    p = check_html(html_text)
    assert p.tags.count("a") == len(HOSTILE) + 2  # the #ok links, the PDF link and tables/a.md: nothing else
    check_markdown(md, headings=2)
    assert "javascript:alert(1)</a>" not in html_text
    with pytest.raises(ValueError, match="relative paths"):
        page.figure("javascript:alert(1)", "a.pdf", "x")


def test_regression_table_every_format(tmp_path):
    r = make_result(["x", "z"], [0.5, -0.25], [0.1, 0.2], depvar=HOSTILE[0])
    t = regression_table({ALL: r, "m2": r}, labels={"x": HOSTILE[1], "z": HOSTILE[2]}, caption=ALL,
                         notes=HOSTILE)
    check_markdown(t.to_markdown())
    check_html(t.to_html(standalone=True))
    tex = t.to_latex(label=r"tab:x}\input{/etc/passwd}")
    check_latex(tex)
    check_latex(t.to_latex(float=False))
    paths = t.save(tmp_path / "t", label="tab:../../x}")
    check_latex(paths["tex"].read_text(encoding="utf-8"))
    compile_tex(tmp_path, document(tex), "hostile")


def test_csv_cells_that_look_like_formulas_are_quoted(tmp_path):
    from clusterecon.report.render import csv_cell

    for s in CSV_HOSTILE:
        assert csv_cell(s) == "'" + s
    for s in ("-0.295***", "+1.5e3", "-12%", "(0.380)", "0.5", "north", "-", "a=b"):
        assert csv_cell(s) == (s if s != "-" else "'-")
    assert csv_cell(-1.5) == -1.5
    r = make_result(["x", "z"], [-0.5, -0.25], [0.1, 0.2], depvar=CSV_HOSTILE[0])
    t = regression_table({CSV_HOSTILE[1]: r, CSV_HOSTILE[2]: r}, labels={"x": CSV_HOSTILE[3], "z": CSV_HOSTILE[4]})
    text = t.to_csv()
    check_csv(text)
    assert "'-2+3+cmd" in text and "-0.500" in text  # quoted text, numbers untouched
    check_csv(t.save(tmp_path / "t", formats=("csv",))["csv"].read_text(encoding="utf-8"))


def test_label_keys_and_latex_options_are_sanitised():
    assert label_key(r"tab:a b}\input{/etc/passwd}") == "tab:a-b-input-etc-passwd"
    assert label_key("}{") == "table"
    t = regression_table([make_result(["x"], [1.0], [0.5])])
    for kw in ({"font_size": r"small\input{x}"}, {"placement": "h]\\input{x}"}, {"notes_width": r"1cm}\input{x}"}):
        with pytest.raises(ValueError):
            t.to_latex(**kw)


# ---------------------------------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def hostile_survey(tmp_path_factory) -> Path:
    """The bundled raw survey in a folder with a hostile name, its mapping named with every hostile string."""
    pyreadstat = pytest.importorskip("pyreadstat")
    folder = tmp_path_factory.mktemp("s") / "x<script>$%_{}[x](javascript:alert(1))"
    folder.mkdir()
    src = ROOT / "data" / "sample_survey"
    df, meta = pyreadstat.read_dta(src / "survey.dta")
    labels = dict(zip(meta.column_names, meta.column_labels))
    labels["educ"] = " ".join(HOSTILE).replace("\n", " ")[:80]
    pyreadstat.write_dta(df, folder / "survey.dta", column_labels=labels,
                         variable_value_labels=meta.variable_value_labels)
    text = (src / "mapping.toml").read_text(encoding="utf-8")
    name = ALL.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    text = re.sub(r'^name = ".*"$', lambda _m: f'name = "{name}"', text, count=1, flags=re.M)
    (folder / "mapping.toml").write_text(text, encoding="utf-8")
    return folder


def test_analyse_report_with_hostile_names(hostile_survey, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["analyse", "--mapping", str(hostile_survey / "mapping.toml"), "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    html_text = (out / "report.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    p = check_html(html_text)
    check_markdown(md, headings=sum(p.tags.count(h) for h in HEADINGS))
    assert "&lt;/script&gt;" in html_text  # the title is there, as text
    assert "Observations used and left out" in md and "missing" in md  # rows left out, per model
    check_files(out / "tables")


def test_a_hostile_history_source_is_text_in_every_report_format(tmp_path, capsys):
    # the mapping's [history] source is printed next to the phase dates in every verdict that uses them
    src = Path(__file__).resolve().parents[1] / "data" / "simulated" / "garments_recall_2005.csv"
    shutil.copy(src, tmp_path / "survey.csv")
    (tmp_path / "m.toml").write_text(
        '[history]\nexpansion_start = 1974\nquality_start = 1996\nsource = "</script><b>x</b> \\\\input{/etc/passwd} '
        '[l](javascript:alert(1)) | =HYPERLINK()"\n', encoding="utf-8")
    out = tmp_path / "report"
    code = main(["analyse", str(tmp_path / "survey.csv"), "--mapping", str(tmp_path / "m.toml"), "--out", str(out),
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    html_text = (out / "report.html").read_text(encoding="utf-8")
    md = (out / "report.md").read_text(encoding="utf-8")
    p = check_html(html_text)
    check_markdown(md, headings=sum(p.tags.count(h) for h in HEADINGS))
    assert "as given (&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in html_text
    check_files(out / "tables")


def test_replicate_spec_with_hostile_file_name_and_labels(tmp_path, capsys):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed")
    spec = tmp_path / "t}\\input{x}%$_.toml"
    spec.write_text('title = "</script> \\\\input{/etc/passwd} $ % _ {}"\n[data]\nsample = "survey"\n'
                    '[[model]]\nname = "=HYPERLINK() [x](javascript:alert(1))"\nestimator = "pooled_ols"\n'
                    'formula = "sales ~ employees"\n[table]\nlabels = { employees = "\\\\input{/etc/passwd} <b>" }\n'
                    'notes = ["$ % _ {} </script>"]\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["replicate", str(spec), "--out", str(out)]) == 0, capsys.readouterr().err
    check_files(out)
    float_tex = next(f for f in out.glob("*.tex") if not f.stem.endswith("_tabular"))
    compile_tex(tmp_path, document(float_tex.read_text(encoding="utf-8")), "spec")


# ------------------------------------------------------------------------------------ output names
def test_names_with_the_same_slug_get_their_own_files_and_labels(tmp_path):
    # "Log sales: FE" and "log sales (FE)" both slug to log_sales_fe: the second table overwrote the first's files
    # and tables.tex input one file twice, with one \label for two tables
    from clusterecon.report.analyse_report import _Writer

    w = _Writer(tmp_path, lambda _s: None)
    table = regression_table({"(1)": make_result(["x1"], [0.5], [0.1])})
    names = [next(iter(w.table(n, table, n).values())).stem for n in ("Log sales: FE", "log sales (FE)", "x")]
    frames = [w.frame(n, pd.DataFrame({"a": [1]}))["csv"].stem for n in ("x_tabular", "log_sales_fe")]
    assert names == ["log_sales_fe", "log_sales_fe_2", "x"] and frames == ["x_tabular_2", "log_sales_fe_3"]
    tex = w.latex_document("t").read_text(encoding="utf-8")
    assert tex.count(r"\input{log_sales_fe.tex}") == 1 and r"\input{log_sales_fe_2.tex}" in tex
    labels = re.findall(r"\\label\{([^}]*)\}", "".join(
        (tmp_path / "tables" / f"{n}.tex").read_text(encoding="utf-8") for n in names))
    assert len(labels) == len(set(labels)) == 3
    assert not [p.name for p in tmp_path.rglob(".*")]


@pytest.mark.parametrize("spec_name, stem", [("..x", "x"), (".hidden", "hidden"),
                                             ("\u202eabc\u200bx", "abcx")])  # re-sweep S09: a spoofed listing
def test_a_spec_named_like_a_dot_file_writes_visible_files(tmp_path, spec_name, stem):
    spec = tmp_path / f"{spec_name}.toml"
    assert main(["replicate", "--init", str(spec)]) == 0
    out = tmp_path / "out"
    assert main(["replicate", str(spec), "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir() if p.name != ".clusterecon-files")
    assert written and not [n for n in written if n.startswith(".") or not n.isprintable()]
    assert rf"\label{{tab:{stem}}}" in (out / f"{stem}.tex").read_text()
