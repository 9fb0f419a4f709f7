"""``analyse(panel, deflator=...)`` and ``clusterecon analyse --deflator``: every money value made real before the
battery runs, so that general inflation or deflation is not read as a productivity or price trend."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clusterecon import derive
from clusterecon.cli import main
from clusterecon.derive import DeriveError
from clusterecon.hypotheses import analyse
from clusterecon.samples import sample_panel
from clusterecon.schema import MONETARY


@pytest.fixture(scope="module")
def real_and_nominal():
    """The bundled garments sample as real values, and the same survey in money of a 6%-a-year deflation (every
    money value of year t times 0.94^(t − 1990)) with its price index."""
    real = sample_panel("garments")
    years = np.arange(min(real.years), max(real.years) + 1)
    index = pd.DataFrame({"year": years, "deflator": 100 * 0.94 ** (years - 1990)})
    factor = 0.94 ** (real.data.index.get_level_values("year").to_numpy() - 1990)
    data = real.data.copy()
    for c in (c for c in MONETARY if c in data.columns):
        data[c] = data[c] * factor
    return real, real.replace(data=data), index


def _claim(result, key, name):
    return next(c for c in result[key].claims if c.name == name)


def test_deflating_the_deflated_survey_gives_the_real_verdicts(real_and_nominal):
    """Identity: nominal values × D_1990 / D_t are the real values, so every trend and verdict of the battery on
    the deflated survey equals that on the real one (to rounding), while the nominal survey's price trend is the real
    one minus 6.2% a year (log 0.94)."""
    real, nominal, index = real_and_nominal
    a = analyse(real, detail=False, reps=19)
    b = analyse(nominal, detail=False, reps=19, deflator=index)
    c = analyse(nominal, detail=False, reps=19)
    for name in ("productivity", "price"):
        ra, rb = _claim(a, "stagnation", name), _claim(b, "stagnation", name)
        assert rb.estimate == pytest.approx(ra.estimate, abs=1e-9) and rb.se == pytest.approx(ra.se, rel=1e-6)
        assert rb.status == ra.status
    price_nominal = _claim(c, "stagnation", "price").estimate
    assert price_nominal == pytest.approx(_claim(a, "stagnation", "price").estimate + np.log(0.94), abs=1e-9)
    assert b.options["deflated_to"] == 1990
    # the report's list of the battery's steps names each deflated column
    steps = [e.action for e in b.provenance]
    assert any(s.startswith("sales = sales * D[1990] / D[year]") for s in steps)


def test_the_mappings_deflator_is_applied_by_analyse_once(real_and_nominal, tmp_path):
    """A mapping's [deflator] reaches the design (declared by the loader, applied by analyse); the real panel is
    never deflated a second time."""
    from clusterecon.load import load_survey

    real, nominal, index = real_and_nominal
    index.to_csv(tmp_path / "cpi.csv", index=False)
    nominal.frame.reset_index().to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "m.toml").write_text('[survey]\ndesign = "rounds"\n[deflator]\nfile = "cpi.csv"\nbase_year = 1990\n')
    res = load_survey(tmp_path / "survey.csv", tmp_path / "m.toml")
    assert res.design.deflator == (tmp_path / "cpi.csv").resolve() and res.design.deflator_base_year == 1990
    panel = nominal.replace(design=dataclasses.replace(nominal.design, deflator=tmp_path / "cpi.csv",
                                                       deflator_base_year=1990))
    b = analyse(panel, detail=False, reps=19)
    a = analyse(real, detail=False, reps=19)
    assert b.options["deflated_to"] == 1990 and a.options["deflated_to"] is None
    assert _claim(b, "stagnation", "price").estimate == pytest.approx(_claim(a, "stagnation", "price").estimate,
                                                                      abs=1e-9)
    made_real = derive.deflate_money(nominal, index)
    with pytest.raises(DeriveError, match="already real .*1990 prices"):
        analyse(made_real, deflator=index)


def test_a_deflator_that_misses_survey_years_is_refused_before_anything_runs(real_and_nominal):
    _, nominal, index = real_and_nominal
    with pytest.raises(DeriveError, match=r"no value for \d+ firm-year.*\(years 2010, 2011"):
        analyse(nominal, deflator=index[index["year"] < 2010])


def test_cli_deflator(tmp_path, capsys):
    bad = tmp_path / "cpi.csv"
    bad.write_text("year,deflator\n1990,100\n1991,inf\n")
    assert main(["analyse", "--deflator", str(bad), "--out", str(tmp_path / "r"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "column deflator" in err and "rows [3]" in err and "Traceback" not in err
    assert main(["analyse", "--base-year", "1990", "--out", str(tmp_path / "r"), "-q"]) == 2
    assert "--base-year sets the prices of --deflator" in capsys.readouterr().err


def test_a_mapping_naming_a_missing_deflator_file_is_a_mapping_mistake(tmp_path):
    # it was found only by analyse, after validation and the battery's first steps; validate said nothing
    from clusterecon.io import MappingError, load_mapping

    (tmp_path / "m.toml").write_text('[deflator]\nfile = "cpi.csv"\n')
    with pytest.raises(MappingError, match=r'\[deflator\] file = "cpi.csv": no such file in'):
        load_mapping(tmp_path / "m.toml")
    (tmp_path / "cpi.csv").write_text("year,deflator\n1990,100\n")
    assert load_mapping(tmp_path / "m.toml").deflator_file == (tmp_path / "cpi.csv").resolve()


def test_describe_shows_the_mappings_deflator_applied(real_and_nominal, tmp_path, capsys):
    """``describe`` prints the statistics in the real values the analysis uses (derive.designed_deflation, shared
    with analyse), and says so."""
    real, nominal, index = real_and_nominal
    index.to_csv(tmp_path / "cpi.csv", index=False)
    nominal.frame.reset_index().to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "m.toml").write_text('[survey]\ndesign = "rounds"\n[deflator]\nfile = "cpi.csv"\nbase_year = 1990\n')
    assert main(["describe", str(tmp_path / "survey.csv"), "--mapping", str(tmp_path / "m.toml")]) == 0
    out = capsys.readouterr().out
    assert "money values: real, in 1990 prices (deflated by" in out and "cpi.csv" in out
    # applied once: the panel a second call gets back is the same
    panel = derive.designed_deflation(nominal.replace(design=dataclasses.replace(
        nominal.design, deflator=tmp_path / "cpi.csv", deflator_base_year=1990)))
    assert panel.design.deflated_to == 1990 and derive.designed_deflation(panel) is panel
    last = max(real.years)
    assert panel.data.xs(last, level="year")["sales"].to_numpy() == pytest.approx(
        real.data.xs(last, level="year")["sales"].to_numpy(dtype=float), rel=1e-9)
