"""Reading raw survey files and mapping them onto the canonical schema.

``read_table`` reads CSV/TSV, Excel, Stata, SPSS and Parquet into a :class:`RawTable`; ``load_mapping`` parses a
TOML mapping file (format: ``docs/mapping.md``); ``canonicalise`` applies it. ``clusterecon.load.load_survey``
chains these with validation into a :class:`~clusterecon.panel.SurveyPanel`.
"""

from __future__ import annotations

from .canonicalise import Canonical, canonicalise
from .errors import LoadError, MappingError
from .mapping import Mapping, as_mapping, load_mapping
from .readers import RawTable, read_table
from .recall import long_to_wide, wide_to_long

__all__ = [
    "Canonical", "LoadError", "Mapping", "MappingError", "RawTable", "as_mapping", "canonicalise", "load_mapping",
    "long_to_wide", "read_table", "wide_to_long",
]
