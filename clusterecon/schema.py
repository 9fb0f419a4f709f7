"""Canonical survey schema: one declarative table of the columns clusterecon knows.

Every loader maps a raw survey onto these names, the validator checks values against the ``allowed``/``range``
fields here, and the human codebook (``docs/codebook.md``, ``clusterecon codebook``) is generated from this table so
that the two never disagree.

The core names listed in the foundation issue are a contract with later modules and users' scripts: never rename
them. Extensions follow ``shared/research/literature.md`` §3 (managers changing over time, recall flags and survey
rounds, currency, training-RCT columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["firm", "firm-year"]
Kind = Literal["id", "int", "float", "bool", "category", "string"]

#: Canonical prior-occupation codes (founders and managers).
OCCUPATION_CODES: tuple[str, ...] = (
    "merchant",
    "engineer",
    "worker_same_industry",
    "worker_other_industry",
    "soe_employee",
    "artisan",
    "farmer",
    "other",
    "unknown",
)

SPINOFF_PARENT_TYPES: tuple[str, ...] = ("cluster_firm", "soe", "foreign_firm", "trader", "other", "unknown")
EXIT_STATUS_CODES: tuple[str, ...] = ("active", "closed", "relocated_out", "merged", "unknown", "refused")
TECHNOLOGY_CODES: tuple[str, ...] = ("simple", "complex")


@dataclass(frozen=True)
class Column:
    """One canonical column.

    ``kind`` is the logical type (the pandas dtype follows from it, see :data:`PANDAS_DTYPES`); ``allowed`` lists the
    codes of a category column; ``range`` is an inclusive (low, high) bound for numbers, ``None`` meaning unbounded on
    that side.
    """

    name: str
    level: Level
    kind: Kind
    label: str
    unit: str = ""
    required: bool = False
    allowed: tuple[str, ...] | None = None
    range: tuple[float | None, float | None] | None = None
    core: bool = False
    note: str = ""

    @property
    def dtype(self) -> str:
        return PANDAS_DTYPES[self.kind]


PANDAS_DTYPES: dict[str, str] = {
    "id": "string",
    "int": "Int64",
    "float": "Float64",
    "bool": "boolean",
    "category": "category",
    "string": "string",
}

_NONNEG = (0.0, None)
_SHARE = (0.0, 1.0)

COLUMNS: tuple[Column, ...] = (
    # ---- firm level: core contract ---------------------------------------------------------------------------
    Column("firm_id", "firm", "id", "Firm identifier", required=True, core=True, note="unique per firm"),
    Column("cluster", "firm", "string", "Cluster", core=True),
    Column("industry", "firm", "string", "Industry", core=True),
    Column("founding_year", "firm", "int", "Founding year", "year", range=(1850, None), core=True,
           note="must not be after any observation year nor in the future"),
    Column("founder_prior_occupation", "firm", "category", "Founder's prior occupation", allowed=OCCUPATION_CODES,
           core=True),
    Column("is_spinoff", "firm", "bool", "Spin-off from another firm", core=True),
    Column("spinoff_parent_id", "firm", "id", "Parent firm of a spin-off", core=True,
           note="may point outside the sample"),
    Column("manager_schooling_years", "firm", "float", "Manager's years of schooling", "years", range=(0, 25),
           core=True, note="the top decision-maker; time-varying version: manager_schooling_years_t"),
    Column("manager_prior_occupation", "firm", "category", "Manager's prior occupation", allowed=OCCUPATION_CODES,
           core=True),
    Column("manager_generation", "firm", "int", "Manager's generation (1 = founder)", range=(1, 5), core=True),
    # ---- firm level: extensions ------------------------------------------------------------------------------
    Column("country", "firm", "string", "Country (ISO 3166-1 alpha-3)"),
    Column("technology", "firm", "category", "Technology complexity of the industry", allowed=TECHNOLOGY_CODES),
    Column("spinoff_parent_type", "firm", "category", "Type of the spin-off's parent", allowed=SPINOFF_PARENT_TYPES),
    Column("manager_is_founder", "firm", "bool", "Manager is the founder"),
    Column("manager_age", "firm", "int", "Manager's age", "years", range=(14, 95)),
    Column("manager_female", "firm", "bool", "Manager is female"),
    Column("exit_year", "firm", "int", "Year of exit", "year", range=(1850, None)),
    Column("exit_status", "firm", "category", "Exit status", allowed=EXIT_STATUS_CODES),
    Column("strata_id", "firm", "string", "Randomisation stratum (training RCT)"),
    Column("treatment_arm", "firm", "string", "Treatment arm (training RCT)"),
    Column("treat_offered", "firm", "bool", "Offered training (ITT assignment)"),
    # ---- firm-year level: core contract ----------------------------------------------------------------------
    Column("year", "firm-year", "int", "Year", "year", required=True, range=(1850, None), core=True),
    Column("sales", "firm-year", "float", "Sales", "currency", range=_NONNEG, core=True),
    Column("material_cost", "firm-year", "float", "Material cost", "currency", range=_NONNEG, core=True),
    Column("capital", "firm-year", "float", "Capital stock", "currency", range=_NONNEG, core=True),
    Column("employees", "firm-year", "float", "Employees", "persons", range=_NONNEG, core=True),
    Column("wage_bill", "firm-year", "float", "Wage bill", "currency", range=_NONNEG, core=True),
    Column("product_price", "firm-year", "float", "Price of the main product", "currency/unit", range=_NONNEG,
           core=True),
    Column("own_brand", "firm-year", "bool", "Sells under its own brand", core=True),
    Column("own_retail_shop", "firm-year", "bool", "Has its own retail shop", core=True),
    Column("direct_sales_share", "firm-year", "float", "Share of sales sold directly", "share", range=_SHARE,
           core=True),
    Column("long_term_subcontracting", "firm-year", "bool", "Long-term subcontracting relations", core=True),
    Column("exporter", "firm-year", "bool", "Exports", core=True),
    Column("active", "firm-year", "bool", "Operating in this year", core=True),
    # ---- firm-year level: extensions -------------------------------------------------------------------------
    Column("survey_round", "firm-year", "int", "Survey round", range=(1, None)),
    Column("is_recall", "firm-year", "bool", "Reported retrospectively (recall)"),
    Column("recall_lag", "firm-year", "int", "Survey year minus year", "years", range=(0, None)),
    Column("currency", "firm-year", "string", "Currency (ISO 4217)"),
    Column("manager_schooling_years_t", "firm-year", "float", "Current manager's schooling (time-varying)", "years",
           range=(0, 25)),
    Column("manager_generation_t", "firm-year", "int", "Current manager's generation (time-varying)",
           range=(1, 5)),
    Column("treat_attended", "firm-year", "bool", "Attended training"),
    Column("post", "firm-year", "bool", "After the training (RCT)"),
    Column("profit", "firm-year", "float", "Profit", "currency"),
    Column("mgmt_practice_score", "firm-year", "float", "Management practice score"),
)

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
CORE_FIRM: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.core and c.level == "firm")
CORE_FIRM_YEAR: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.core and c.level == "firm-year")
FIRM_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.level == "firm")
FIRM_YEAR_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.level == "firm-year")
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
INNOVATION_INDICATORS: tuple[str, ...] = ("own_brand", "own_retail_shop", "long_term_subcontracting", "exporter")
#: Monetary columns that value scaling and currency conversion apply to.
MONETARY: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.unit.startswith("currency"))
LABELS: dict[str, str] = {c.name: c.label for c in COLUMNS}


def column(name: str) -> Column:
    """The canonical column called ``name`` (KeyError with the known names otherwise)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a canonical column; known: {', '.join(BY_NAME)}") from None


def codebook_markdown() -> str:
    """The human codebook, generated from :data:`COLUMNS`."""
    lines = [
        "# clusterecon canonical codebook",
        "",
        "Generated from `clusterecon/schema.py` (`clusterecon codebook`); do not edit by hand.",
        "",
        "| column | level | type | unit | allowed / range | required | label | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in COLUMNS:
        if c.allowed:
            allowed = ", ".join(f"`{a}`" for a in c.allowed)
        elif c.range:
            lo, hi = (("" if b is None else f"{b:g}") for b in c.range)
            allowed = f"{lo} – {hi}".strip()
        else:
            allowed = ""
        name = f"**`{c.name}`**" if c.core else f"`{c.name}`"
        lines.append(
            f"| {name} | {c.level} | {c.kind} | {c.unit} | {allowed} | {'yes' if c.required else ''} | {c.label} "
            f"| {c.note} |"
        )
    lines += ["", "Bold names are the core contract: later modules and users' scripts rely on them."]
    return "\n".join(lines) + "\n"
