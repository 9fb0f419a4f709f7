"""``analyse --out DIR`` replaces DIR whole (issue 11): written into a fresh folder and swapped in at the end, an
earlier clusterecon report replaced without stale files, a folder clusterecon did not write refused unless --force,
and a failed run leaves the earlier report as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clusterecon.cli import main
from clusterecon.report.folder import MARKER, ReportFolderError, check_out_folder, replaced_folder


def _earlier_report(out: Path) -> None:
    (out / "tables").mkdir(parents=True)
    (out / MARKER).write_text("{}", encoding="utf-8")
    (out / "report.html").write_text("old", encoding="utf-8")
    (out / "tables" / "stale_table.csv").write_text("old", encoding="utf-8")


def test_earlier_report_is_replaced_without_stale_files(tmp_path):
    out = tmp_path / "report"
    _earlier_report(out)
    with replaced_folder(out) as tmp:
        assert tmp.parent == out.parent and tmp != out
        assert (out / "report.html").read_text() == "old"  # untouched while the new one is written
        (tmp / "report.html").write_text("new", encoding="utf-8")
    assert (out / "report.html").read_text() == "new"
    assert not (out / "tables").exists()
    assert (out / MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temporary folder left
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def test_failed_run_leaves_the_earlier_report(tmp_path):
    out = tmp_path / "report"
    _earlier_report(out)
    with pytest.raises(RuntimeError), replaced_folder(out) as tmp:
        (tmp / "report.html").write_text("half", encoding="utf-8")
        raise RuntimeError("figure failed")
    assert (out / "report.html").read_text() == "old" and (out / "tables" / "stale_table.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_new_and_empty_folders_are_fine(tmp_path):
    for out in (tmp_path / "a" / "b", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        with replaced_folder(out) as tmp:
            (tmp / "x").write_text("1")
        assert (out / "x").is_file() and (out / MARKER).is_file()


def test_foreign_folder_is_refused_unless_force(tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("my work", encoding="utf-8")
    with pytest.raises(ReportFolderError, match=r"not empty and was not written by clusterecon.*--force"):
        check_out_folder(out)
    with replaced_folder(out, force=True) as tmp:
        (tmp / "report.html").write_text("new")
    assert not (out / "chapter1.tex").exists()


def test_working_folder_home_and_files_are_refused_even_with_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("x")
    for out in (".", str(tmp_path), str(Path.home()), "data.csv"):
        with pytest.raises(ReportFolderError):
            check_out_folder(out, force=True)


def test_analyse_refuses_a_foreign_folder_before_the_analysis(tmp_path, capsys):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("my work", encoding="utf-8")
    assert main(["analyse", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "bug" not in err
    assert (out / "chapter1.tex").read_text() == "my work"


@pytest.mark.parametrize("earlier_report", [False, True])
def test_a_folder_holding_the_survey_or_mapping_is_refused_even_with_force(tmp_path, capsys, earlier_report):
    """--out data --force (or an earlier report folder the survey was saved into) would delete the input files."""
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    if earlier_report:
        (data / MARKER).write_text("{}", encoding="utf-8")
    survey = data / "raw" / "s.csv"
    survey.write_text("firm_id,year,sales\na,2000,1\n", encoding="utf-8")
    (tmp_path / "m.toml").write_text('[source]\nfile = "data/raw/s.csv"\n', encoding="utf-8")
    with pytest.raises(ReportFolderError, match=r"holds the input file .*s\.csv; replacing the folder would delete"):
        check_out_folder(data, force=True, inputs=[survey])
    for args in ([str(survey)], ["--mapping", str(tmp_path / "m.toml")]):  # the file named in the mapping too
        assert main(["analyse", *args, "--out", str(data), "--force", "--quiet"]) == 2
        assert "holds the input file" in capsys.readouterr().err
        assert survey.read_text(encoding="utf-8").startswith("firm_id")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
