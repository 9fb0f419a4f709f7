"""Display labels for the names a table or figure shows: codebook columns, derived variables and factor levels.

A table never prints a raw column name when a label can be derived: ``ln_value_added`` is "log(value added)",
``mean_any_innovation`` (a Mundlak firm mean) is "Firm mean of any innovation", ``founder_prior_occupation:
worker_same_industry`` is "Founder's prior occupation: worker same industry". Labels come, in order, from the
caller's ``labels`` (e.g. ``panel.labels``), the codebook (:data:`clusterecon.schema.LABELS`), the variables
:mod:`clusterecon.derive` and the hypothesis battery create (:data:`DERIVED_LABELS`), and finally the prefix rules
below (``ln_``/``log_`` logs, ``mean_`` firm means, ``L.``/``D.`` lags and differences). A name none of them
knows is shown as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Variables that clusterecon derives (``clusterecon.derive`` and the hypothesis battery's analysis frame).
DERIVED_LABELS: dict[str, str] = {
    "age": "Firm age", "cohort": "Entry cohort", "first_year": "First observed year",
    "last_year": "Last observed year", "balanced": "Observed in every panel year", "value_added": "Value added",
    "va_per_worker": "Value added per worker", "sales_per_worker": "Sales per worker",
    "schooling": "Manager's years of schooling", "log_va": "log(value added)",
    "log_va_per_worker": "log(value added per worker)", "tfp": "TFP", "log_tfp": "log(TFP)", "ln_tfp": "log(TFP)",
    "profit_rate": "Profit rate", "output": "Cluster output", "log_output": "log(cluster output)",
    "entry_year": "Entry year", "entrants": "Entrants", "firms": "Number of firms",
    "prior_occupation": "Founder's prior occupation", "manager_occupation": "Manager's prior occupation",
    "late": "Later period",
    "second_generation": "Second-generation manager", "trend": "Year trend", "year_trend": "Year trend",
    "decade_trend": "Trend (per decade)", "log_employees_first": "log(employees), first year recorded",
    "pre_adoption": "Two years before adoption",
    "pioneer": "Pioneer", "any_innovation": "Any innovation", "n_innovations": "Number of innovations",
    "innovation_share": "Share of firms innovating", "exit": "Exit", "exited": "Exit", "spinoff": "Spin-off",
    "post": "After treatment", "treat": "Treated", "price": "Mean price",
    "duration": "Duration", "years_observed": "Years since first observed",
    "event": "Event", "exit_year": "Exit year", "founding_year": "Founding year",
}

_PREFIXES = (("ln_", "log({})"), ("log_", "log({})"), ("mean_", "Firm mean of {}"), ("L.", "{} (lagged)"),
             ("lag_", "{} (lagged)"), ("D.", "Change in {}"), ("d_", "Change in {}"), ("real_", "{} (real)"))
_LEVEL_SEP = re.compile(r"^(?P<var>[A-Za-z_][A-Za-z0-9_.]*)(?::\s*|=)(?P<level>.+)$")


def _lower_first(text: str) -> str:
    """"Value added" → "value added", but "TFP" and "R&D spending" keep their capitals."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _known(name: str, labels: Mapping[str, str]) -> str | None:
    if name in labels:
        return labels[name]
    from ..schema import LABELS

    return LABELS.get(name) or DERIVED_LABELS.get(name)


def label_of(name: str, labels: Mapping[str, str] | None = None) -> str:
    """The display label of a column or derived variable (module docstring); ``name`` itself if none applies."""
    labels = labels or {}
    found = _known(name, labels)
    if found is not None:
        return found
    for prefix, pattern in _PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            inner = label_of(name[len(prefix):], labels)
            if inner != name[len(prefix):] or _known(name[len(prefix):], labels) is not None:
                text = pattern.format(_lower_first(inner) if not pattern.startswith("{}") else inner)
                return text[:1].upper() + text[1:] if pattern.startswith(("Firm", "Change")) else text
    return name


def level_label(var: str, level: object, labels: Mapping[str, str] | None = None) -> str:
    """``founder_prior_occupation``, ``worker_same_industry`` → "Founder's prior occupation: worker same industry"
    (codes written with underscores are shown as words)."""
    text = str(level)
    if re.fullmatch(r"[a-z0-9_]+", text):
        text = text.replace("_", " ")
    return f"{label_of(var, labels)}: {text}"


def known_label(name: str, labels: Mapping[str, str] | None = None) -> str | None:
    """The label of ``name`` if one can be derived (:func:`label_of`), else ``None``."""
    out = label_of(name, labels)
    return None if out == name else out
