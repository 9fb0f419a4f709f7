"""The loader's work on two threads (clusterecon._threads) gives what doing it in turn gives: the same frame, the
same problems in the same order, the same provenance; the speculative panel never changes what an error does."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pandas as pd
import pytest

from clusterecon import load
from clusterecon.io import casting
from clusterecon.load import load_survey
from clusterecon.panel import PanelError, SurveyPanel


class _InTurn:
    """An executor that runs each task when it is submitted: the order of doing things one after the other."""

    def submit(self, fn, *a, **k):
        f: Future = Future()
        try:
            f.set_result(fn(*a, **k))
        except BaseException as e:  # noqa: BLE001 (kept in the future, as a pool would)
            f.set_exception(e)
        return f


def _messy() -> pd.DataFrame:
    """Ids that normalising merges (" A1" and "A1") and differ in case, text in numbers before and after firm_id,
    a negative value: problems from the casts, the worker's firm ids and the validator."""
    return pd.DataFrame({
        "sales": ["10", "x", "30", "40", "50", "60"],
        "firm_id": [" A1", "A1", "b2", "B2", "c3", "c3"],
        "year": [2001, 2002, 2001, 2002, 2001, 2002],
        "capital": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0],
        "employees": ["1", "2", "n/a", "4", "5", "6"],
    })


def _clean(n_firms: int = 50) -> pd.DataFrame:
    fid = np.repeat([f"F{i}" for i in range(n_firms)], 3)
    return pd.DataFrame({"firm_id": fid, "year": np.tile([2001, 2002, 2003], n_firms),
                         "sales": np.arange(1.0, 3 * n_firms + 1)})


@pytest.mark.parametrize("make", [_messy, _clean])
def test_threads_give_what_doing_it_in_turn_gives(monkeypatch, make):
    threaded = load_survey(make())
    monkeypatch.setattr(load, "pool", _InTurn)
    monkeypatch.setattr(casting, "pool", _InTurn)
    in_turn = load_survey(make())
    assert threaded.report.to_frame().equals(in_turn.report.to_frame())
    assert threaded.provenance == in_turn.provenance
    pd.testing.assert_frame_equal(threaded.frame, in_turn.frame)
    assert (threaded.panel is None) == (in_turn.panel is None)
    if threaded.panel is not None:
        pd.testing.assert_frame_equal(threaded.panel.frame, in_turn.panel.frame)
        assert threaded.panel.validation is threaded.report
        assert threaded.panel.provenance == threaded.provenance


def test_firm_ids_are_logged_in_their_column_turn():
    """sales (before firm_id) is cast and logged before the firm ids' entries, employees after them, although the
    firm ids are worked out on another thread and taken up last."""
    res = load_survey(_messy())
    casts = [(e.column, e.action) for e in res.provenance if e.step == "cast"]
    cols = [c for c, _ in casts]
    assert cols.index("sales") < cols.index("firm_id") < cols.index("employees")
    assert any("merged" in a for c, a in casts if c == "firm_id")
    warnings = [p.rule for p in res.report.warnings]
    assert warnings.index("firm_ids_merged") < warnings.index("firm_ids_differ_in_case")


def _raising(exc):
    def from_frame(cls, *a, **k):
        raise exc
    return classmethod(from_frame)


def test_speculative_panel_error_on_invalid_data_is_swallowed(monkeypatch):
    monkeypatch.setattr(SurveyPanel, "from_frame", _raising(RuntimeError("not for invalid data")))
    res = load_survey(_messy())
    assert not res.ok and res.panel is None
    assert not res.report.by_rule("panel")


def test_speculative_panel_error_on_valid_data_is_raised(monkeypatch):
    monkeypatch.setattr(SurveyPanel, "from_frame", _raising(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        load_survey(_clean())


def test_panel_error_on_valid_data_is_one_problem(monkeypatch):
    monkeypatch.setattr(SurveyPanel, "from_frame", _raising(PanelError("cannot build")))
    res = load_survey(_clean())
    assert res.panel is None
    (p,) = res.report.by_rule("panel")
    assert p.severity == "error" and "cannot build" in p.message


def test_firm_id_error_wins_over_a_later_column(monkeypatch):
    """firm_id's turn comes before a later column's: if both fail, the firm ids' error is the one raised."""
    def firm_fails(*a, **k):
        raise ValueError("firm ids")

    def later_fails(s):
        raise TypeError("later column")

    monkeypatch.setattr(casting, "firm_ids", firm_fails)
    monkeypatch.setattr(casting, "_to_number", later_fails)
    with pytest.raises(ValueError, match="firm ids"):
        load_survey(_messy().drop(columns=["sales"]))
