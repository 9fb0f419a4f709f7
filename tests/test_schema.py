"""The canonical schema: the core names of the contract, codes, and the generated codebook (docs/codebook.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clusterecon import schema

ROOT = Path(__file__).resolve().parents[1]

CORE_FIRM = ("firm_id", "cluster", "industry", "founding_year", "founder_prior_occupation", "is_spinoff",
             "spinoff_parent_id", "manager_schooling_years", "manager_prior_occupation", "manager_generation")
CORE_FIRM_YEAR = ("year", "sales", "material_cost", "capital", "employees", "wage_bill", "product_price",
                  "own_brand", "own_retail_shop", "direct_sales_share", "long_term_subcontracting", "exporter",
                  "active")
OCCUPATIONS = ("merchant", "engineer", "worker_same_industry", "worker_other_industry", "soe_employee", "artisan",
               "farmer", "other", "unknown")


def test_core_contract_names_exactly():
    assert schema.CORE_FIRM == CORE_FIRM
    assert schema.CORE_FIRM_YEAR == CORE_FIRM_YEAR
    assert schema.OCCUPATION_CODES == OCCUPATIONS
    assert schema.REQUIRED == ("firm_id", "year")


def test_columns_are_consistent():
    names = [c.name for c in schema.COLUMNS]
    assert len(names) == len(set(names))
    assert set(schema.FIRM_COLUMNS) | set(schema.FIRM_YEAR_COLUMNS) == set(names)
    assert not set(schema.FIRM_COLUMNS) & set(schema.FIRM_YEAR_COLUMNS)
    for c in schema.COLUMNS:
        assert c.label and c.level in ("firm", "firm-year")
        assert c.dtype in ("string", "Int64", "Float64", "boolean", "category")
        assert (c.allowed is not None) == (c.kind == "category"), c.name
        if c.range is not None:
            assert c.kind in ("int", "float"), c.name
            lo, hi = c.range
            assert lo is None or hi is None or lo < hi
    for occ in ("founder_prior_occupation", "manager_prior_occupation"):
        assert schema.column(occ).allowed == OCCUPATIONS
    assert {"sales", "material_cost", "capital", "wage_bill", "product_price"} <= set(schema.MONETARY)
    assert "employees" not in schema.MONETARY
    assert schema.column("manager_schooling_years").range == (0, 25)


def test_column_lookup_error_lists_names():
    with pytest.raises(KeyError, match="not a canonical column; known: firm_id"):
        schema.column("salez")


def test_codebook_has_every_column_and_marks_core():
    text = schema.codebook_markdown()
    for c in schema.COLUMNS:
        assert (f"**`{c.name}`**" if c.core else f"`{c.name}`") in text
    assert "| 0 – 25 |" in text and "`worker_same_industry`" in text


def test_docs_codebook_matches_generated():
    """docs/codebook.md is generated (`clusterecon codebook -o docs/codebook.md`); it must never drift."""
    assert (ROOT / "docs" / "codebook.md").read_text(encoding="utf-8") == schema.codebook_markdown()
