"""The wheel must contain every subpackage and the bundled data (pyproject lists packages explicitly because the
repository's data/ folder is mapped to clusterecon.sample_data)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "clusterecon").rglob("__init__.py")}
    missing = found - listed
    assert not missing, f"add these packages to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_bundled_data_files_match_package_data_globs():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "clusterecon.sample_data"]
    shipped = {p for g in globs for p in (ROOT / "data").glob(g) if p.is_file()}
    needed = [ROOT / "data" / "sample_survey" / "survey.dta", ROOT / "data" / "sample_survey" / "mapping.toml",
              ROOT / "data" / "simulated" / "garments_recall_2005.csv"]
    assert all(n in shipped for n in needed)
