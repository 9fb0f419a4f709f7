"""Each reader on tiny fixtures written here; encodings, sheets and unreadable files give one clear LoadError."""

from __future__ import annotations

import os
import threading

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from clusterecon.io import LoadError, read_table
from tests.survey_files import write_survey


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


def test_a_bad_byte_far_from_the_start_is_found_with_its_offset(tmp_path):
    # UTF-8 is not checked by a pass of its own: pandas decodes strictly and the failure is located afterwards
    p = tmp_path / "late.csv"
    raw = b"id,town\n" + b"".join(b"%d,Accra\n" % i for i in range(20_000)) + b"20000,K\xe9ta\n"
    p.write_bytes(raw)
    with pytest.raises(LoadError) as e:
        read_table(p)
    assert f"is not UTF-8 (byte 0xe9 at offset {raw.index(bytes([0xE9]))})" in str(e.value)


def test_a_latin1_file_whose_bytes_also_break_a_row_is_reported_as_latin1_first(tmp_path):
    p = tmp_path / "both.csv"
    p.write_bytes(b"id,town\n1,Accra\n2,K\xe9ta,extra,fields\n")
    with pytest.raises(LoadError, match="is not UTF-8"):
        read_table(p)


def test_blank_and_na_texts_are_found_in_ascii_and_non_ascii_columns(tmp_path):
    # ASCII columns are measured in bytes, others in characters: both must find the same NA texts and blanks
    p = tmp_path / "na.csv"
    p.write_text("id,town,name\n1,NA,Kéta\n2,Accra,\u3000\u3000\n3,.,NA\n4,Tema,Ho\n", encoding="utf-8")
    t = read_table(p)
    assert t.frame["town"].isna().tolist() == [True, False, True, False]
    assert t.frame["name"].isna().tolist() == [False, True, True, False]


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
    from clusterecon.io import readers_text

    text = "id,town\n1,Kéta\n2,Ho\n3,Tamale\n"
    monkeypatch.setattr(readers_text, "_CHUNK", text.encode().index("é".encode()) + 1)  # chunk ends inside 'é'
    p = tmp_path / "s.csv"
    p.write_text(text, encoding="utf-8")
    assert read_table(p).frame["town"].tolist() == ["Kéta", "Ho", "Tamale"]
    raw = b"id,town\n1,Accra\n2,Ho\n3,Tam\xe2le\n"
    p.write_bytes(raw)
    bad_at = raw.index(b"\xe2")
    with pytest.raises(LoadError, match=f"byte 0xe2 at offset {bad_at}"):
        read_table(p)


# ------------------------------------------------------------------------------------ issue 11: nothing silent
def test_utf16_with_and_without_bom_is_read_and_recorded(tmp_path):
    text = "id,town\n1,Kéta\n2,Ho\n"
    for enc, expect in (("utf-16", "utf-16"), ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be"),
                        ("utf-32", "utf-32")):
        p = tmp_path / f"{enc}.csv"
        p.write_bytes(text.encode(enc))
        t = read_table(p)
        assert t.frame["town"].tolist() == ["Kéta", "Ho"] and t.encoding == expect, enc


def test_binary_file_with_nul_bytes_is_not_called_latin1(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes(b"id\x00\x01\x02,\x00\x00\x00x\x00\x00\x00\n" * 20)
    with pytest.raises(LoadError) as e:
        read_table(p)
    assert "NUL bytes" in str(e.value) and "UTF-16" in str(e.value) and "latin-1" not in str(e.value)


@pytest.mark.parametrize("ext", ["csv", "tsv", "xlsx"])
def test_repeated_header_is_an_error_naming_the_column(tmp_path, ext):
    p = tmp_path / f"s.{ext}"
    if ext == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.append(["firm_id", "sales", "year", "sales"])
        wb.active.append(["a", 1, 2000, 2])
        wb.save(p)
    else:
        sep = "," if ext == "csv" else "\t"
        p.write_text(sep.join(["firm_id", "sales", "year", "sales "]) + "\n" + sep.join(["a", "1", "2000", "2"]) + "\n")
    with pytest.raises(LoadError) as e:
        read_table(p)
    assert "repeated column names: 'sales' in columns 2, 4" in str(e.value) and str(p) in str(e.value)


def _header_only(tmp_path, ext):
    p = tmp_path / f"h.{ext}"
    empty = pd.DataFrame({"firm_id": pd.Series([], dtype=str), "year": pd.Series([], dtype=float)})
    return write_survey(empty, p)


@pytest.mark.parametrize("ext", ["csv", "xlsx", "dta", "sav", "parquet"])
def test_header_only_file_is_one_clear_error(tmp_path, ext):
    p = _header_only(tmp_path, ext)
    with pytest.raises(LoadError) as e:
        read_table(p)
    assert "has a header (2 column(s): firm_id, year) but no records" in str(e.value)


def test_workbook_names_the_sheet_read_and_the_others(tmp_path):
    from clusterecon.load import load_survey

    p = tmp_path / "s.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"About this file": ["collected 2005"]}).to_excel(w, sheet_name="README", index=False)
        pd.DataFrame({"firm_id": ["a"], "year": [2000]}).to_excel(w, sheet_name="data", index=False)
    res = load_survey(p)
    assert res.report.source == f"{p} (sheet 'README'; other sheets: 'data')"
    (miss,) = [x for x in res.report.problems if x.column == "firm_id"]
    assert miss.rule == "missing_required_column" and "other sheets ('data')" in miss.fix and "--sheet" in miss.fix
    with pytest.raises(LoadError, match=r"raw column 'fid' is not in .*s\.xlsx \(sheet 'README'; other sheets: 'data'"):
        load_survey(p, {"rename": {"fid": "firm_id"}})
    assert load_survey(p, {"source": {"sheet": "data"}}, today_year=2026).ok  # [source] sheet chooses it


def _formula_workbook(p, cached: bool):
    """A workbook with the formula =2*3 in C2, as openpyxl writes it (no calculated value) or, with ``cached``, as
    Excel saves it (the value 6 stored next to the formula)."""
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["firm_id", "year", "sales", "capital"])
    ws.append(["a", 2000, "=2*3", None])
    ws.append(["b", 2000, 7, 1.5])
    wb.save(p)
    if cached:
        with zipfile.ZipFile(p) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        sheet = "xl/worksheets/sheet1.xml"
        parts[sheet] = parts[sheet].replace(b"<f>2*3</f><v></v>", b"<f>2*3</f><v>6</v>").replace(
            b"<f>2*3</f></c>", b"<f>2*3</f><v>6</v></c>")
        assert b"<v>6</v>" in parts[sheet]
        with zipfile.ZipFile(p, "w") as z:
            for n, b in parts.items():
                z.writestr(n, b)
    return p


def test_uncalculated_formula_cells_are_refused_not_read_as_empty(tmp_path):
    with pytest.raises(LoadError) as e:
        read_table(_formula_workbook(tmp_path / "f.xlsx", cached=False))
    msg = str(e.value)
    assert "1 formula cell(s) have no calculated value" in msg and "row 1 column 'sales': '=2*3'" in msg
    assert "open it in Excel or LibreOffice and save it" in msg
    t = read_table(_formula_workbook(tmp_path / "g.xlsx", cached=True))  # a saved workbook: the value, blanks too
    assert t.frame["sales"].tolist() == [6, 7] and t.frame["capital"].isna().tolist() == [True, False]


MARKERS = ["n/a", "#N/A", "NULL", "None", "NA", "5"]


def _marker_file(tmp_path, ext):
    df = pd.DataFrame({"firm_id": list("ABCDEF"), "year": [2000] * 6, "sales": MARKERS})
    p = tmp_path / f"m.{ext}"
    if ext == "xlsx":  # as a user's spreadsheet has them: #N/A an error cell, the others text, 5 a number
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(list(df.columns))
        for fid, v in zip(df["firm_id"], MARKERS):
            ws.append([fid, 2000, 5 if v == "5" else v])
        ws["C3"].data_type = "e"
        wb.save(p)
        return p
    return write_survey(df, p)


@pytest.mark.parametrize("ext", ["csv", "xlsx", "dta", "sav", "parquet"])
def test_one_na_policy_for_every_reader(tmp_path, ext):
    """The same cells give the same report in every format: only NA (and blanks) is missing, recorded in the
    provenance; n/a, #N/A, NULL, None are text in a numeric column (declare them under [missing])."""
    from clusterecon.load import load_survey

    res = load_survey(_marker_file(tmp_path, ext), today_year=2026)
    (p,) = res.report.by_rule("text_in_numeric")
    assert p.rows == (1, 2, 3, 4) and list(p.values) == ["n/a", "#N/A", "NULL", "None"]
    (na,) = [e for e in res.provenance if e.step == "read" and e.detail.get("marker") == "NA"]
    assert na.column == "sales" and na.rows == (5,)
    declared = {"missing": {"codes": {"n/a": "not applicable", "#N/A": "not asked", "NULL": "no answer",
                                      "None": "none"}}}
    res = load_survey(_marker_file(tmp_path, ext), declared, today_year=2026)
    assert res.ok and res.missing_reasons["reason"].tolist() == ["not applicable", "not asked", "no answer", "none"]


def test_stata_extended_missing_values_keep_their_reason(tmp_path):
    from clusterecon.load import load_survey

    df = pd.DataFrame({"firm_id": [1.0, 2.0, 3.0, 4.0], "year": [2000.0] * 4,
                       "sales": pd.Series([10.0, "a", 30.0, "b"], dtype=object)})
    p = tmp_path / "s.dta"
    pyreadstat.write_dta(df, p, missing_user_values={"sales": ["a", "b"]})
    res = load_survey(p, today_year=2026)
    assert res.ok, res.report.to_text()
    assert res.panel.data["sales"].isna().tolist() == [False, True, False, True]
    r = res.missing_reasons
    assert list(zip(r["source_row"], r["column"], r["code"], r["reason"])) == [
        (2, "sales", ".a", "Stata extended missing value .a"), (4, "sales", ".b", "Stata extended missing value .b")]
    codes = {e.detail["code"]: e.rows for e in res.provenance if e.step == "missing_code"}
    assert codes == {".a": (2,), ".b": (4,)}


def test_spss_missing_ranges_are_honoured_with_their_reason(tmp_path):
    """9999 "refused" and 9998 (unlabelled) lie in the declared range 9990-9999: both missing, neither used as a
    number of employees."""
    from clusterecon.load import load_survey

    df = pd.DataFrame({"firm_id": [1.0, 2.0, 3.0, 4.0], "year": [2000.0] * 4, "employees": [5.0, 9999, 9998, 7]})
    p = tmp_path / "s.sav"
    pyreadstat.write_sav(df, p, missing_ranges={"employees": [{"lo": 9990.0, "hi": 9999.0}]},
                         variable_value_labels={"employees": {9999.0: "refused"}})
    res = load_survey(p, today_year=2026)
    assert res.ok, res.report.to_text()
    assert res.panel.data["employees"].isna().tolist() == [False, True, True, False]
    r = res.missing_reasons
    assert list(zip(r["source_row"], r["code"], r["reason"])) == [
        (2, "9999", "refused"), (3, "9998", "declared missing in the file (range 9990 to 9999)")]
    assert {e.rows for e in res.provenance if e.step == "missing_code"} == {(2,), (3,)}


@pytest.mark.parametrize("ext", ["dta", "sav"])
def test_id_value_labels_that_would_merge_firms_are_not_applied(tmp_path, ext):
    """Two firm codes labelled "Acme" (or a label that is another code's number) used to become one firm with no
    trace; the codes are used as the ids then, with a warning and a provenance entry. Unique labels stay names."""
    from clusterecon.load import load_survey

    df = pd.DataFrame({"firm_id": [1.0, 2.0, 3.0, 4.0], "year": [2000.0, 2001, 2000, 2000], "sales": [1.0, 2, 3, 4]})
    p = tmp_path / f"s.{ext}"
    writer = pyreadstat.write_dta if ext == "dta" else pyreadstat.write_sav
    writer(df, p, variable_value_labels={"firm_id": {1.0: "Acme", 2.0: "Acme", 3.0: "4"}})
    res = load_survey(p, today_year=2026)
    assert res.panel.firms.index.tolist() == ["1", "2", "3", "4"]
    (w,) = res.report.by_rule("id_labels_not_unique")
    assert w.severity == "warning" and w.rows == (1, 2, 3, 4) and set(w.values) == {"'Acme' ← 1, 2", "'4' ← 3, 4"}
    assert [e.rows for e in res.provenance if e.step == "read" and "value labels" in e.action] == [(1, 2, 3, 4)]
    writer(df, p, variable_value_labels={"firm_id": {1.0: "Acme", 2.0: "Best", 3.0: "Coop", 4.0: "Dyn"}})
    res = load_survey(p, today_year=2026)
    assert res.panel.firms.index.tolist() == ["Acme", "Best", "Coop", "Dyn"] and not res.report.problems


def test_stata_encoding_latin1_reads_a_stata13_file_and_is_not_used_for_stata14(tmp_path):
    """``--encoding latin-1`` on a Stata 14+ file failed with ReadStat's "unsupported character set" and advice to
    re-export the file; Stata 14+ text is UTF-8 by definition, so the encoding is not used (applying it would turn
    'Café' into 'CafÃ©') and the table says so. ReadStat's iconv does not know Python's spelling 'latin-1', so the
    name is translated; a Stata 13-or-earlier file is decoded with it."""
    from clusterecon.io.readers import stata_release

    df = pd.DataFrame({"name": ["Café", "Zoë"], "x": [1, 2]})
    old, new = tmp_path / "old.dta", tmp_path / "new.dta"
    df.to_stata(old, version=114, write_index=False)
    df.to_stata(new, version=118, write_index=False)
    assert (stata_release(old), stata_release(new)) == (114, 118)
    t = read_table(old, encoding="latin-1")
    assert t.frame["name"].tolist() == ["Café", "Zoë"] and t.notes == ()
    t = read_table(new, encoding="latin-1")
    assert t.frame["name"].tolist() == ["Café", "Zoë"]
    assert len(t.notes) == 1 and "Stata 14 or later (format 118)" in t.notes[0] and "UTF-8" in t.notes[0]
    with pytest.raises(LoadError, match="unknown encoding 'klingon'"):
        read_table(old, encoding="klingon")


def test_validate_stata15_sample_with_encoding_notes_it_instead_of_failing(capsys):
    from pathlib import Path

    from clusterecon.cli import main

    sample = Path(__file__).resolve().parents[1] / "data" / "sample_survey"
    code = main(["validate", str(sample / "survey.dta"), "--mapping", str(sample / "mapping.toml"),
                 "--encoding", "latin-1"])
    out = capsys.readouterr()
    assert code == 1, out.err  # the sample's own warnings, as without --encoding
    assert "could not be read" not in out.err and "re-export" not in out.err
    assert "[INFO] encoding_not_used: encoding 'latin-1' not used: survey.dta was written by Stata 14 or later" \
        in out.out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_named_pipe_is_refused_not_read(tmp_path):
    """Probe L19: opening a FIFO blocks until a writer appears, so `validate` hung; it must be refused up front."""
    fifo = tmp_path / "s.csv"
    os.mkfifo(fifo)
    outcome = []

    def attempt():
        try:
            read_table(fifo)
        except LoadError as e:
            outcome.append(str(e))

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():  # unblock the reader so the thread ends: a writer that closes at once gives it end-of-file
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        t.join(5)  # pandas may open it again after the sniffing read; the daemon thread is then abandoned
        pytest.fail("read_table blocked on a named pipe")
    assert outcome and str(fifo) in outcome[0] and "not a regular file (a named pipe)" in outcome[0]
