"""Test helper: write one DataFrame as a survey file in any format clusterecon reads (tests of the readers, the
one NA policy and the loader fuzzing use it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMATS = ("csv", "tsv", "xlsx", "dta", "sav", "parquet")


def write_survey(df: pd.DataFrame, path: Path) -> Path:
    """``df`` written to ``path`` in the format its extension names (no index column)."""
    import pyreadstat

    ext = path.suffix.lstrip(".")
    if ext == "csv":
        df.to_csv(path, index=False)
    elif ext == "tsv":
        df.to_csv(path, index=False, sep="\t")
    elif ext == "xlsx":
        df.to_excel(path, index=False)
    elif ext == "dta":
        pyreadstat.write_dta(df, path)
    elif ext == "sav":
        pyreadstat.write_sav(df, path)
    elif ext == "parquet":
        df.to_parquet(path, index=False)
    else:
        raise ValueError(f"no writer for {path}")
    return path
