"""Compare a result with a table printed in a book, to the printed precision."""

import pytest


def assert_printed(res, table, decimals=None):
    """Every ``name: [coef, se]`` entry of ``table`` equals ``res`` rounded to ``decimals`` places; ``None`` uses
    Wooldridge's printing rule (4 decimals below 0.01 in absolute value, else 3). Non-list entries are skipped."""
    for name, val in table.items():
        if not isinstance(val, list):
            continue
        b, se = val
        d = decimals if decimals is not None else (4 if abs(b) < 0.01 else 3)
        assert round(res.params[name], d) == pytest.approx(b, abs=1e-12), name
        assert round(res.std_errors[name], d) == pytest.approx(se, abs=1e-12), name
