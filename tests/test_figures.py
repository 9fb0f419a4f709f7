"""Figures: every plot written as PNG and PDF at the declared size, with the content it promises."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_tables import make_result

from clusterecon.panel import SurveyDesign, SurveyPanel
from clusterecon.report.figures import (
    LeftOutWarning,
    plot_coefficients,
    plot_entry_by_founder,
    plot_schooling_innovation,
    plot_survival,
    plot_trajectories,
    save_figure,
    survival_frame,
)

PHASES = [("Initiation", 1980, 1989), ("Quantity expansion", 1990, 1999), ("Quality improvement", 2000, 2005)]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def pdf_size(path: Path) -> tuple[float, float]:
    data = path.read_bytes()
    assert data[:5] == b"%PDF-"
    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert m, "no MediaBox"
    return float(m[1]), float(m[2])


def check_saved(fig, tmp_path: Path, name: str, dpi: int = 100) -> None:
    w, h = fig.get_size_inches()
    paths = save_figure(fig, tmp_path / name, dpi=dpi)
    assert sorted(paths) == ["pdf", "png"]
    assert png_size(paths["png"]) == (round(w * dpi), round(h * dpi))
    assert pdf_size(paths["pdf"]) == pytest.approx((w * 72, h * 72), abs=0.5)
    assert paths["png"].stat().st_size > 5000 and paths["pdf"].stat().st_size > 3000


@pytest.fixture(scope="module")
def cluster_panel() -> SurveyPanel:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(80):
        founded = int(rng.integers(1980, 2004))
        exit_y = founded + int(rng.integers(2, 20)) if rng.random() < 0.4 else None
        occ = rng.choice(["merchant", "engineer", "worker_same_industry"])
        school = float(rng.integers(6, 17))
        for y in range(max(founded, 1985), min(exit_y or 2005, 2005) + 1):
            rows.append({"firm_id": f"f{i}", "year": y, "founding_year": founded, "exit_year": exit_y,
                         "founder_prior_occupation": occ, "is_spinoff": bool(i % 3 == 0),
                         "manager_schooling_years": school, "sales": float(rng.lognormal(3, 1)),
                         "own_brand": bool(rng.random() < 0.02 * school + 0.01 * (y - 1985))})
    df = pd.DataFrame(rows)
    df["exit_year"] = df["exit_year"].astype("Int64")
    return SurveyPanel.from_frame(df, design=SurveyDesign(kind="census"))


def test_trajectories_shade_every_phase(tmp_path):
    years = np.arange(1980, 2006)
    yearly = pd.DataFrame({"year": years, "firms": np.cumsum(np.ones(26)) * 3, "output": np.exp(years / 10 - 198),
                           "price": 100 - years + 1980, "tfp": np.linspace(1, 1.5, 26),
                           "innovation_share": np.clip((years - 1995) / 20, 0, 1)})
    yearly.loc[3, "price"] = np.nan  # a missing year breaks the line instead of being interpolated
    fig = plot_trajectories(yearly, phases=PHASES)
    axes = [a for a in fig.axes if a.get_visible() and a.axison]
    assert [a.get_title(loc="left") for a in axes] == ["Number of firms", "Output", "Price", "TFP",
                                                       "Innovation share"]
    for ax in axes:
        assert len(ax.patches) == len(PHASES)  # one shaded span per phase in every panel
    legend = fig.axes[-1].get_legend()  # in the spare sixth cell
    assert [t.get_text() for t in legend.get_texts()] == [f"{n} ({a}–{b})" for n, a, b in PHASES]
    four = plot_trajectories(yearly, ["firms", "output", "price", "tfp"], phases=PHASES)
    assert len(four.legends) == 1  # no spare cell: a figure legend below the panels
    assert np.isnan(axes[2].lines[0].get_ydata()).sum() == 1
    check_saved(fig, tmp_path, "trajectories")
    with pytest.raises(KeyError, match="not in the yearly aggregates"):
        plot_trajectories(yearly, ["sales"])


def test_coefficient_plot_across_models(tmp_path):
    r1 = make_result(["const", "schooling", "spinoff"], [1.0, 0.08, 0.2], [0.5, 0.02, 0.1])
    r2 = make_result(["schooling", "spinoff", "age"], [0.06, 0.15, -0.01], [0.03, 0.1, 0.005])
    fig = plot_coefficients({"FE": r1, "RE": r2}, labels={"schooling": "Schooling"})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Schooling", "Spin-off", "Firm age"]  # codebook labels
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["FE", "RE"]
    # Intervals are the results' own conf_int(): model 1, schooling, t(200) interval.
    seg = ax.containers[0].lines[2][0].get_segments()[0]
    lo, hi = r1.conf_int().loc["schooling"]
    assert (seg[0][0], seg[1][0]) == pytest.approx((lo, hi))
    check_saved(fig, tmp_path, "coefficients")


def test_schooling_innovation_and_entry(tmp_path, cluster_panel):
    fig = plot_schooling_innovation(cluster_panel, phases=PHASES)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [p[0] for p in PHASES]
    assert ax.get_xlabel() == "Manager's years of schooling"
    check_saved(fig, tmp_path, "schooling")
    fig = plot_entry_by_founder(cluster_panel, phases=PHASES)
    ax = fig.axes[0]
    heights = sum(p.get_height() for p in ax.patches if p.get_height() > 0 and p.get_width() < 1)
    assert heights == cluster_panel.n_firms  # every firm counted once, in its founding year
    check_saved(fig, tmp_path, "entry")


def test_kaplan_meier_matches_hand_computation(tmp_path):
    # Four firms founded in 2000, no left truncation; exits at ages 3, 5, 7 and one censored at 5:
    # S(3) = 3/4, S(5) = 3/4 · (1 − 1/3) = 1/2 (the censored firm is at risk at 5), S(7) = 0.
    rows = []
    for fid, last, ex in (("a", 2002, 2002), ("b", 2004, None), ("c", 2004, 2004), ("d", 2006, 2006)):
        rows += [{"firm_id": fid, "year": y, "founding_year": 2000, "exit_year": ex} for y in range(2000, last + 1)]
    df = pd.DataFrame(rows).astype({"exit_year": "Int64"})
    sv = survival_frame(df)
    assert sv["age_out"].tolist() == [3, 5, 5, 7] and sv["exited"].tolist() == [True, False, True, True]
    fig = plot_survival(df, by=None, ci=False)
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [0, 3, 5, 7]
    assert list(line.get_ydata()) == pytest.approx([1, 0.75, 0.5, 0.0])
    check_saved(fig, tmp_path, "km")


def test_survival_by_group_and_refused_without_exits(tmp_path, cluster_panel):
    fig = plot_survival(cluster_panel)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[0].startswith("Not spin-off (n=") and texts[1].startswith("Spin-off (n=")
    sv = survival_frame(cluster_panel)
    assert (sv["age_in"] > 0).any()  # firms founded before 1985 enter late (left truncation)
    frame = cluster_panel.frame.reset_index()
    frame.loc[frame.firm_id == "f3", "founding_year"] = pd.NA
    with pytest.warns(LeftOutWarning, match="1 firms without founding_year are not shown"):
        assert len(survival_frame(frame)) == len(sv) - 1
    check_saved(fig, tmp_path, "survival")
    recall = cluster_panel.replace(design=SurveyDesign(kind="recall"))
    with pytest.raises(ValueError, match="survivors only"):
        plot_survival(recall)


def test_coefficient_plot_never_mixes_estimands(tmp_path):
    """Probit coefficients, their AMEs, an LPM and a log-sales model: four panels, each with its own axis; a term
    renamed to another shares its row; a term only one model has sits on its label."""
    from dataclasses import replace

    pr = replace(make_result(["schooling", "age"], [0.2, 0.05], [0.05, 0.02], depvar="innov"), model="Pooled probit",
                 estimator="Probit ML")
    ame = replace(make_result(["schooling", "age"], [0.05, 0.01], [0.01, 0.004], depvar="innov"),
                  model="Average marginal effects after Pooled probit", estimator="margins, dydx")
    lpm = replace(make_result(["schooling", "age"], [0.04, 0.01], [0.01, 0.005], depvar="innov"), model="Pooled OLS")
    ls = replace(make_result(["manager_schooling_years", "own_brand"], [0.1, 0.3], [0.02, 0.1], depvar="ln_sales"),
                 model="Within")
    fig = plot_coefficients({"Probit": pr, "AME": ame, "LPM": lpm, "log sales": ls},
                            labels={"innov": "Any innovation", "schooling": "Schooling"},
                            rename={"schooling": "manager_schooling_years"})
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["Any innovation: probit coefficient (index) (Probit)",
                      "Any innovation: average marginal effect (AME)", "Any innovation: coefficient (LPM)",
                      "log(sales): coefficient (log sales)"]
    assert len(fig.axes) == 4
    for ax in fig.axes:  # one row per variable (the renamed schooling is one row), labels from the codebook
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(labels) == len(set(labels))
        assert "manager_schooling_years" not in labels and "own_brand" not in labels
        for c in ax.containers:  # a single model per panel: points exactly on their rows
            ys = np.asarray(c.lines[0].get_ydata(), dtype=float)
            assert np.allclose(ys, np.round(ys))
    check_saved(fig, tmp_path, "estimands")


def test_coefficient_plot_has_no_overlapping_text_or_legend(tmp_path):
    """Drawn at the saved size: tick labels of a panel do not overlap each other, no legend covers a panel's
    plotting area, and panels do not overlap (the issue's "legend covers an interval")."""
    from dataclasses import replace

    fits = {}
    for i in range(4):
        fits[f"Model {i + 1}"] = replace(make_result(["manager_schooling_years", "own_brand", "age", "exporter"],
                                                     [0.1 * i, 0.2, 0.01, -0.1], [0.05, 0.1, 0.005, 0.08]),
                                         depvar="ln_sales" if i < 2 else "any_innovation")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_coefficients(fits)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [ax.get_window_extent(renderer) for ax in fig.axes]
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            assert not boxes[a].overlaps(boxes[b]), "panels overlap"
    for ax, box in zip(fig.axes, boxes):
        ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
        for a in range(len(ticks)):
            for b in range(a + 1, len(ticks)):
                assert not ticks[a].overlaps(ticks[b]), "tick labels overlap"
        for other in fig.axes:
            leg = other.get_legend()
            if leg is not None:
                assert not leg.get_window_extent(renderer).overlaps(box), "a legend covers a panel"
    check_saved(fig, tmp_path, "no_overlap")
