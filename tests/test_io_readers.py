"""Each reader on tiny fixtures written here; encodings, sheets and unreadable files give one clear LoadError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from clusterecon.io import LoadError, read_table


def test_csv_comma_rows_numbered_from_one(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id,sales\n007,1.5\n008,2\n")
    t = read_table(p, text_columns=("id",))
    assert t.format == "csv" and t.encoding == "utf-8"
    assert t.frame["id"].tolist() == ["007", "008"]  # leading zeros kept for identifiers
    assert t.frame["sales"].tolist() == [1.5, 2.0]
    assert t.source_row.tolist() == [1, 2]


def test_csv_semicolon_is_sniffed_and_tsv_by_extension(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id;sales;year\n1;10;2000\n2;20;2000\n")
    assert list(read_table(p).frame.columns) == ["id", "sales", "year"]
    q = tmp_path / "s.tsv"
    q.write_text("id\tsales, in thousands\n1\t10\n")
    assert list(read_table(q).frame.columns) == ["id", "sales, in thousands"]


def test_csv_with_bom(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes("id,name\n1,Kumasi\n".encode("utf-8-sig"))
    t = read_table(p)
    assert list(t.frame.columns) == ["id", "name"] and t.encoding == "utf-8-sig"


def test_latin1_refused_without_encoding_and_read_with_it(tmp_path):
    p = tmp_path / "latin.csv"
    raw = "id,town\n1,Accra\n2,Kéta\n".encode("latin-1")
    p.write_bytes(raw)
    with pytest.raises(LoadError) as e:
        read_table(p)
    msg = str(e.value)
    offset = raw.index(b"\xe9")
    assert f"is not UTF-8 (byte 0xe9 at offset {offset})" in msg
    assert "encoding='latin-1'" in msg and "--encoding" in msg and str(p) in msg
    t = read_table(p, encoding="latin-1")
    assert t.frame["town"].tolist() == ["Accra", "Kéta"]


def test_unknown_encoding_name(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("a\n1\n")
    with pytest.raises(LoadError, match="unknown encoding 'latin-99'"):
        read_table(p, encoding="latin-99")


def test_excel_sheet_by_name_and_index_missing_sheet_lists_sheets(tmp_path):
    p = tmp_path / "s.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"id": [1, 2]}).to_excel(w, sheet_name="firms", index=False)
        pd.DataFrame({"id": [1], "sales": [5.0]}).to_excel(w, sheet_name="panel", index=False)
    assert read_table(p).sheet == "firms"
    t = read_table(p, sheet="panel")
    assert t.frame["sales"].tolist() == [5.0] and t.source_row.tolist() == [1]
    assert read_table(p, sheet=1).sheet == "panel"
    with pytest.raises(LoadError) as e:
        read_table(p, sheet="pannel")
    assert "no sheet 'pannel'" in str(e.value) and "'firms', 'panel'" in str(e.value)
    assert "did you mean 'panel'" in str(e.value)
    with pytest.raises(LoadError, match="no sheet number 5"):
        read_table(p, sheet=5)


def _labelled(tmp_path, ext, writer):
    df = pd.DataFrame({"id": [1.0, 2.0, 3.0], "occ": [1.0, 2.0, 1.0], "sales": [10.5, np.nan, 3.0]})
    p = tmp_path / f"s.{ext}"
    writer(df, p, column_labels={"id": "Firm id", "occ": "Founder occupation", "sales": "Sales 2005"},
           variable_value_labels={"occ": {1: "Trader", 2: "Engineer"}})
    return read_table(p)


@pytest.mark.parametrize("ext,writer", [("dta", pyreadstat.write_dta), ("sav", pyreadstat.write_sav)])
def test_stata_and_spss_value_labels_become_categories(tmp_path, ext, writer):
    t = _labelled(tmp_path, ext, writer)
    assert isinstance(t.frame["occ"].dtype, pd.CategoricalDtype)
    assert t.frame["occ"].astype(str).tolist() == ["Trader", "Engineer", "Trader"]
    assert t.variable_labels["occ"] == "Founder occupation"
    assert t.variable_labels["sales"] == "Sales 2005"
    assert t.value_labels["occ"] == {1: "Trader", 2: "Engineer"}
    assert t.source_row.tolist() == [1, 2, 3]
    assert t.format == ("stata" if ext == "dta" else "spss")


def test_parquet(tmp_path):
    p = tmp_path / "s.parquet"
    pd.DataFrame({"firm_id": ["a", "b"], "year": [2000, 2001]}).to_parquet(p)
    t = read_table(p)
    assert t.frame["year"].tolist() == [2000, 2001] and t.format == "parquet"


def test_missing_file_unknown_extension_directory_corrupt(tmp_path):
    with pytest.raises(LoadError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(LoadError, match=r"unknown file type '\.json'.*\.dta"):
        read_table(tmp_path / "a.json")
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(LoadError, match="is a directory"):
        read_table(d)
    bad = tmp_path / "bad.dta"
    bad.write_bytes(b"not a stata file")
    with pytest.raises(LoadError, match=r"bad\.dta could not be read as stata"):
        read_table(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LoadError, match="is empty"):
        read_table(empty)


def test_utf8_check_across_chunk_boundaries(tmp_path, monkeypatch):
    """A multi-byte character split between read chunks is valid; a bad byte after ASCII chunks is found."""
    from clusterecon.io import readers

    text = "id,town\n1,Kéta\n2,Ho\n3,Tamale\n"
    monkeypatch.setattr(readers, "_CHUNK", text.encode().index("é".encode()) + 1)  # chunk ends inside 'é'
    p = tmp_path / "s.csv"
    p.write_text(text, encoding="utf-8")
    assert read_table(p).frame["town"].tolist() == ["Kéta", "Ho", "Tamale"]
    raw = b"id,town\n1,Accra\n2,Ho\n3,Tam\xe2le\n"
    p.write_bytes(raw)
    bad_at = raw.index(b"\xe2")
    with pytest.raises(LoadError, match=f"byte 0xe2 at offset {bad_at}"):
        read_table(p)
