"""Canonical survey schema: one declarative table of the columns clusterecon knows.

Every loader maps a raw survey onto these names, the validator checks values against the ``allowed``/``range``
fields here, and the human codebook (``docs/codebook.md``, ``clusterecon codebook``) is generated from this table so
that the two never disagree.

The core names listed in the foundation issue are a contract with later modules and users' scripts: never rename
them. Extensions cover what the cluster surveys of Sonobe & Otsuka (2006, 2011) record beyond the core: managers
changing over time, recall flags and survey rounds, currency, and training-RCT columns.
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
ASSIGNMENT_LEVELS: tuple[str, ...] = ("firm", "cluster")
ROUND_TYPES: tuple[str, ...] = ("baseline", "follow_up")
ATTRITION_REASONS: tuple[str, ...] = ("refused", "closed", "not_found", "moved", "other")

#: McKenzie and Woodruff (2017) business-practice checklist: (column, area, question). Each item is yes = 1 / no = 0;
#: the overall score is the share of the 26 items (weight 1/26 each), an area score the share of its items
#: (weight 1/7 marketing, 1/3 stock, 1/8 records, 1/8 planning). Source: McKenzie, D. and C. Woodruff (2017),
#: "Business Practices in Small Firms in Developing Countries", Management Science 63(9): 2967-2981, Table 1.
PRACTICE_AREAS: dict[str, str] = {"marketing": "Marketing", "stock": "Buying and stock control",
                                  "records": "Costing and record keeping", "planning": "Financial planning"}
PRACTICE_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("mw_m1_competitor_prices", "marketing", "Visited a competitor's business to see its prices"),
    ("mw_m2_competitor_products", "marketing", "Visited a competitor's business to see what products it sells"),
    ("mw_m3_ask_customers_products", "marketing", "Asked customers what other products they would like"),
    ("mw_m4_ask_former_customers", "marketing", "Talked with a former customer about why they stopped buying"),
    ("mw_m5_ask_supplier_sellers", "marketing", "Asked a supplier which products sell well"),
    ("mw_m6_special_offer", "marketing", "Used a special offer to attract customers"),
    ("mw_m7_advertising", "marketing", "Advertised in the last 6 months"),
    ("mw_b1_negotiate_supplier", "stock", "Negotiated a lower price with a supplier"),
    ("mw_b2_compare_suppliers", "stock", "Compared prices or quality of alternative suppliers"),
    ("mw_b3_no_stockouts", "stock", "Does not run out of stock frequently"),
    ("mw_r1_written_records", "records", "Keeps written business records"),
    ("mw_r2_records_every_sale", "records", "Records every purchase and sale"),
    ("mw_r3_cash_on_hand", "records", "Can tell from the records how much cash is on hand"),
    ("mw_r4_sales_trends", "records", "Uses records to see whether sales of a product rise or fall"),
    ("mw_r5_product_costs", "records", "Works out the cost of each main product"),
    ("mw_r6_most_profitable", "records", "Knows which goods make the most profit per item"),
    ("mw_r7_expense_budget", "records", "Has a written budget of monthly expenses"),
    ("mw_r8_loan_records", "records", "Has records to show a bank it could repay a loan"),
    ("mw_f1_monthly_review", "planning", "Reviews financial performance at least monthly"),
    ("mw_f2_sales_target", "planning", "Has a sales target for the next year"),
    ("mw_f3_target_compared", "planning", "Compares sales with the target at least monthly"),
    ("mw_f4_cost_budget", "planning", "Has a budget of costs for the next year"),
    ("mw_f5_profit_loss", "planning", "Prepares an annual profit and loss statement"),
    ("mw_f6_cash_flow", "planning", "Prepares an annual cash-flow statement"),
    ("mw_f7_balance_sheet", "planning", "Prepares an annual balance sheet"),
    ("mw_f8_income_expenditure", "planning", "Prepares an annual income and expenditure sheet"),
)


def practice_weights() -> dict[str, tuple[float, float]]:
    """Item -> (weight in the overall score, weight in its area score): equal weights (McKenzie-Woodruff 2017)."""
    n_area = {a: sum(1 for _, area, _ in PRACTICE_ITEMS if area == a) for a in PRACTICE_AREAS}
    return {name: (1 / len(PRACTICE_ITEMS), 1 / n_area[area]) for name, area, _ in PRACTICE_ITEMS}


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

#: Largest amount or count the validator accepts (out_of_range above it): far beyond any survey's values in any
#: currency, and small enough that squares and products of values (moments, regressions) stay finite -- a value
#: like 1e308 is a typo or a code, and would turn estimates into inf/nan with overflow warnings.
MAX_AMOUNT = 1e30
_NONNEG = (0.0, MAX_AMOUNT)
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
    Column("assignment_level", "firm", "category", "Level at which treatment was randomised",
           allowed=ASSIGNMENT_LEVELS, note="cluster: whole clusters assigned (cluster-robust inference by cluster)"),
    Column("treat_cluster", "firm", "bool", "Firm's cluster assigned to treatment (partial-population design)",
           note="untreated firms in treated clusters identify spillovers"),
    Column("first_treated_year", "firm", "int", "Year the firm was first treated (staggered roll-out)", "year",
           range=(1850, None), note="missing = never treated"),
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
    Column("round_type", "firm-year", "category", "Baseline or follow-up round", allowed=ROUND_TYPES),
    Column("attrited", "firm-year", "bool", "Not interviewed in this round (attrition)",
           note="row kept with missing outcomes; attrition_reason says why"),
    Column("attrition_reason", "firm-year", "category", "Why the firm was not interviewed",
           allowed=ATTRITION_REASONS),
    Column("treat_attended", "firm-year", "bool", "Attended training (take-up)"),
    Column("network_exposure", "firm-year", "float", "Share of the firm's network contacts offered training",
           "share", range=_SHARE, note="spillover exposure when the survey records business networks"),
    Column("distance_to_treated_km", "firm-year", "float", "Distance to the nearest treated firm", "km",
           range=_NONNEG),
    Column("post", "firm-year", "bool", "After the training (RCT)"),
    Column("profit", "firm-year", "float", "Profit", "currency"),
    Column("mgmt_practice_score", "firm-year", "float", "Management practice score"),
    *(Column(name, "firm-year", "bool", question, note=f"McKenzie-Woodruff practice ({PRACTICE_AREAS[area].lower()})")
      for name, area, question in PRACTICE_ITEMS),
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
    lines += ["", "## Business-practice indices (McKenzie and Woodruff 2017)", "",
              "Each item is yes = 1 / no = 0. The overall business-practice score is the share of the 26 items "
              "answered yes (equal weights); an area score is the share of the area's items. A firm-round with "
              "a missing item gets no score (`clusterecon.evaluation.practices` says how many). Source: McKenzie "
              "and Woodruff (2017), Management Science 63(9), Table 1.", "",
              "| item | area | weight in overall score | weight in area score | question |", "|---|---|---|---|---|"]
    w = practice_weights()
    for name, area, question in PRACTICE_ITEMS:
        lines.append(f"| `{name}` | {PRACTICE_AREAS[area]} | 1/{round(1 / w[name][0])} | 1/{round(1 / w[name][1])} "
                     f"| {question} |")
    return "\n".join(lines) + "\n"
