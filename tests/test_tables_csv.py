"""CSV table output: the table as the LaTeX, Markdown and HTML outputs show it (the same row labels, stars, panel
titles and notes), readable in a spreadsheet and safe to open there (user sweep: the CSV had raw term names
``x``, ``uni_var``, ``Intercept`` and no notes)."""

from __future__ import annotations

import csv
import io

from test_output_escaping import CSV_HOSTILE, check_csv
from test_tables import make_result

from clusterecon.report import regression_table, summary_table


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _table():
    r1 = make_result(["x", "uni_var", "Intercept"], [1.024, 0.123, 0.02], [0.137, 0.146, 0.138])
    r2 = make_result(["x"], [0.9], [0.1], kind="robust")
    return regression_table({"OLS": r1, "Robust": r2}, labels={"x": "Price (log)", "uni_var": "University degree"},
                            notes="Sample: all firms, 2000.")


def test_csv_uses_the_labels_of_the_other_formats():
    t = _table()
    rows = _rows(t.to_csv())
    stubs = [r[0] for r in rows]
    assert {"Price (log)", "University degree", "Constant"} <= set(stubs)
    assert not {"x", "uni_var", "Intercept"} & set(stubs)
    md_stubs = [line.split("|")[1].strip() for line in t.to_markdown().splitlines() if line.startswith("|")]
    assert [s for s in stubs if s and s in md_stubs] == [s for s in md_stubs if s and s in stubs]  # same order
    assert ["", "OLS", "Robust"] in rows
    price = next(r for r in rows if r[0] == "Price (log)")
    assert price[1].endswith("***")  # stars after the number, as in Markdown
    assert len({len(r) for r in rows}) == 1  # rectangular: every row has the table's columns


def test_csv_has_the_notes_as_rows_after_an_empty_row():
    t = _table()
    rows = _rows(t.to_csv())
    first_note = next(i for i, r in enumerate(rows) if r[0] == "Sample: all firms, 2000.")
    assert rows[first_note - 1] == [""] * len(rows[0])
    notes = [r[0] for r in rows[first_note:]]
    assert notes == list(t.layout.notes)  # your note, what is in parentheses, the star legend, the variance lines
    assert any(n.startswith("Variance") for n in notes) and any("p<0.1" in n for n in notes)
    assert all(r[1:] == [""] * (len(r) - 1) for r in rows[first_note:])


def test_saved_csv_is_the_same_text(tmp_path):
    t = _table()
    path = t.save(tmp_path / "t", formats=("csv",))["csv"]
    assert path.read_text(encoding="utf-8") == t.to_csv()
    assert t.to_csv(tmp_path / "u.csv") is None and (tmp_path / "u.csv").read_text(encoding="utf-8") == t.to_csv()


def test_csv_labels_and_notes_that_look_like_formulas_are_quoted():
    r = make_result(["x", "z"], [-0.5, -0.25], [0.1, 0.2])
    t = regression_table([r], labels={"x": CSV_HOSTILE[0], "z": CSV_HOSTILE[1]}, notes=[CSV_HOSTILE[2], "-1+1"])
    text = t.to_csv()
    check_csv(text)
    cells = [c for row in _rows(text) for c in row]
    assert "'" + CSV_HOSTILE[0] in cells and "'" + CSV_HOSTILE[2] in cells and "'-1+1" in cells
    assert "-0.500***" in cells  # numbers untouched


def test_descriptive_table_csv_has_labels_panels_and_notes():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sales": rng.lognormal(size=40), "year": np.repeat([2000, 2005], 20)})
    df.loc[3, "year"] = np.nan
    t = summary_table(df, ["sales"], by="year")
    rows = _rows(t.to_csv())
    assert rows[0] == ["", "2000", "", "2005", ""]  # a spanning header in its first column
    assert [r[0] for r in rows[2:4]] == ["sales", "Observations"]
    assert [r[0] for r in rows if r[0] in t.layout.notes] == list(t.layout.notes)
    assert "Observations" in [r[0] for r in rows]


def test_a_carriage_return_in_a_label_keeps_the_csv_readable():
    import csv
    import io

    from clusterecon.report.render import csv_cell

    assert csv_cell("a\rb") == "a\nb" and csv_cell("a\r\nb") == "a\nb"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([csv_cell("\r=3+3"), "x"])
    assert list(csv.reader(io.StringIO(buf.getvalue()))) == [["'\n=3+3", "x"]]
