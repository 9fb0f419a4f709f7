"""Files named inside a mapping or a replication spec stay inside that file's folder (issue 11, security):
``[source] file``, ``[firms] file``, a spec's ``[data] file``/``mapping``; ``--allow-outside-paths`` lifts it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from clusterecon.cli import main
from clusterecon.io import LoadError
from clusterecon.io.paths import OutsideFolderError, resolve_inside
from clusterecon.load import load_survey
from clusterecon.replicate.spec import SpecError, load_spec

SECRET_VALUE = 987654321.0


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """tmp/secret.csv (a survey outside the folder) and tmp/sent/ (the folder a mapping or spec was sent in)."""
    pd.DataFrame({"firm_id": ["A", "B"], "year": [2000, 2000], "sales": [SECRET_VALUE, 1.0]}).to_csv(
        tmp_path / "secret.csv", index=False)
    (tmp_path / "sent").mkdir()
    return tmp_path


def _mapping(folder: Path, section: str, file: str) -> Path:
    body = f'[{section}]\nfile = "{file}"\n' + ('key = "firm_id"\n' if section == "firms" else "")
    (folder / "m.toml").write_text(body, encoding="utf-8")
    return folder / "m.toml"


@pytest.mark.parametrize("file", ["../secret.csv", "sub/../../secret.csv"])
@pytest.mark.parametrize("section", ["source", "firms", "deflator"])
def test_mapping_file_outside_its_folder_is_refused(layout, section, file):
    mp = _mapping(layout / "sent", section, file)
    with pytest.raises(LoadError) as e:
        load_survey(None if section == "source" else layout / "secret.csv", mp, allow_outside_paths=False)
    msg = str(e.value)
    assert f"[{section}] file = {file!r} leads outside its folder" in msg
    assert str(mp) in msg and "--allow-outside-paths" in msg and "allow_outside_paths=True" in msg


def test_absolute_path_is_refused(layout):
    mp = _mapping(layout / "sent", "source", str(layout / "secret.csv"))
    with pytest.raises(LoadError, match="is an absolute path"):
        load_survey(None, mp)


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_symlink_out_of_the_folder_is_refused(layout):
    (layout / "sent" / "data.csv").symlink_to(layout / "secret.csv")
    mp = _mapping(layout / "sent", "source", "data.csv")
    with pytest.raises(LoadError, match="through a symbolic link"):
        load_survey(None, mp)


def test_allow_outside_paths_reads_it(layout):
    mp = _mapping(layout / "sent", "source", "../secret.csv")
    res = load_survey(None, mp, allow_outside_paths=True)
    assert res.frame["sales"].max() == SECRET_VALUE


def test_inside_paths_and_subfolders_are_fine(layout):
    (layout / "sent" / "data").mkdir()
    (layout / "secret.csv").rename(layout / "sent" / "data" / "survey.csv")
    res = load_survey(None, _mapping(layout / "sent", "source", "data/survey.csv"))
    assert len(res.frame) == 2
    assert resolve_inside(layout, "sent/./data/survey.csv", key="k", owner="o").is_file()


def test_outside_path_is_one_of_all_mapping_mistakes(layout):
    (layout / "sent" / "m.toml").write_text('[source]\nfile = "../secret.csv"\n[duplicates]\npolicy = "bogus"\n',
                                            encoding="utf-8")
    with pytest.raises(LoadError) as e:
        load_survey(None, layout / "sent" / "m.toml")
    assert "2 mistake(s)" in str(e.value)


@pytest.mark.parametrize("command", ["validate", "describe", "analyse"])
def test_cli_refuses_and_names_the_flag(layout, capsys, command):
    mp = _mapping(layout / "sent", "source", "../secret.csv")
    extra = ["--out", str(layout / "report")] if command == "analyse" else []
    assert main([command, "--mapping", str(mp), *extra]) == 2
    out, err = capsys.readouterr()
    assert "leads outside its folder" in err and "--allow-outside-paths" in err
    assert str(int(SECRET_VALUE)) not in out + err
    assert not (layout / "report").exists()


def test_cli_flag_allows(layout, capsys):
    mp = _mapping(layout / "sent", "source", "../secret.csv")
    assert main(["validate", "--mapping", str(mp), "--allow-outside-paths"]) in (0, 1)
    assert "leads outside" not in capsys.readouterr().err


@pytest.mark.parametrize("key", ["file", "mapping"])
def test_spec_data_paths_stay_in_the_spec_folder(layout, capsys, key):
    spec = layout / "sent" / "spec.toml"
    data = 'file = "../secret.csv"' if key == "file" else 'file = "x.csv"\nmapping = "/etc/passwd"'
    spec.write_text(f'[data]\n{data}\n[[model]]\nname = "a"\nestimator = "pooled_ols"\nformula = "sales ~ 1"\n',
                    encoding="utf-8")
    with pytest.raises(SpecError, match=rf"\[data\] {key} = .* (leads outside its folder|is an absolute path)"):
        load_spec(spec)
    assert main(["replicate", str(spec)]) == 2
    assert "--allow-outside-paths" in capsys.readouterr().err
    if key == "file":
        assert load_spec(spec, allow_outside_paths=True).data.file == layout / "sent" / "../secret.csv"


def test_resolve_inside_rejects_non_strings(tmp_path):
    with pytest.raises(OutsideFolderError, match="must be a file name in quotes"):
        resolve_inside(tmp_path, 3, key="[source] file", owner="mapping m.toml")
