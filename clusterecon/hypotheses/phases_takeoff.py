r"""The dating engine of the phase diagnosis (:mod:`.phases`): the entry take-off and the quality transition from
the yearly trajectories, and the check that a dated take-off persists.

**Dating.** :func:`date_phases` fits the segmented Poisson model of
:func:`clusterecon.estimators.transitions.count_takeoff` to the entrants by founding year (the take-off) and to
first adoptions of an innovation per firm at risk (the quality transition), jointly when both are significant, and
given a date known from the cluster's history when one is passed (:mod:`.phases` describes the model).

**Persistence** (:func:`takeoff_persists`). The sup-LR test asks whether entry follows one constant rate; a single
outlying year — a policy year, a one-off relocation of firms into the cluster — rejects that as surely as a
take-off does, and the take-off model fits it (a jump at the spike year, then the concave quadratic bending the rate
back down). In the size audit (a constant 5 entrants a year with one year of 40) the take-off was dated in 43% of
the runs. A take-off is a lasting change of the entry rate, so once the break is dated at :math:`\tau` the rate
after it must still exceed the rate before it with the spike taken out: over the window
:math:`W = \{\tau, \dots, \tau + 11\}` (the years observed), the single largest year :math:`t^* \in W` is dropped
(the spike, whether the break is dated on it or a year before it), leaving :math:`n_1 = |W| - 1 \ge 2` years with
:math:`s_1` entrants, against the :math:`n_0` years before :math:`\tau` (after the origin year, whose pioneers are
not entry at a rate) with :math:`s_0` entrants. Under one rate :math:`\lambda` for both, Poisson counts give
:math:`s_1 \mid s_0 + s_1 \sim \text{Binomial}(s_0 + s_1, \pi)`, :math:`\pi = n_1/(n_0 + n_1)` — the conditional
test for comparing two Poisson rates (Przyborowski & Wileński 1940; Cox & Hinkley 1974, §5.2) — and the one-sided
p-value is :math:`P(X \ge s_1) = I_\pi(s_1, s_0 + 1)`, the regularized incomplete beta function.
Over-dispersed counts are deflated first (quasi-likelihood: :math:`s/\hat\phi`, with :math:`\hat\phi \ge 1` the
Pearson dispersion of the :math:`n_0 + n_1` years around their two means, on :math:`n_0 + n_1 - 2` df; the beta
function extends the binomial tail to the non-integer counts). The take-off is dated only when p < α/``PERSIST_SHARE``
(0.025 at the default α = 0.05); otherwise the verdict says the break did not persist, with both rates.

Why twelve years and α/2 (measured December 2026): the break year is chosen by the sup-LR search, which favours a
date after which the years happen to be high, and the persistence test reuses those years. With six years (the
first version), 100 series of 5 entrants a year with one year of 60 (Poisson, 30 years) broke in 48, of which 7
passed at 5% and 2 at 1%; but the simulator's machinery censuses (zero entry for five years, then 1–2 a year)
failed at 1% in 6 of 12 runs — too few entrants in six years to show a rise from zero. Over twelve years the
selection matters less (5 of the 48 at 5%, 2 at 1%) and every simulated take-off passes at 2.5% (largest p 0.011
for machinery, 0.002 for garments, 12 runs each); over all remaining years garments failed (entry falls after the
quality transition). Dropping the largest year costs a real take-off little and makes the test conservative where
entry is flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from ..estimators.transitions import DatedBreak, count_takeoff

MIN_YEARS = 8
MIN_QUALITY_YEARS = 8
MIN_SHARE_FIRMS = 10
#: the largest yearly trend (log points) the no-transition model of first adoptions allows on samples of survivors
SURVIVOR_TREND = 0.10
#: years from the take-off (the break year included) whose entry rate must stay above the rate before it
PERSIST_WINDOW = 12
#: years of that window left once its largest year is dropped: fewer cannot tell a lasting rise from a spike
MIN_PERSIST_YEARS = 2
#: the persistence test runs at α / this (module docstring: the break year is selected on the years after it)
PERSIST_SHARE = 2


@dataclass(frozen=True)
class Persistence:
    """Did the entry rate stay up after a dated take-off? (module docstring): ``before``/``after``: entrants a year
    before the break and over ``window`` without its largest year ``dropped``; ``pvalue``: one-sided, conditional
    binomial (quasi-Poisson, ``dispersion``); ``ok``: p < the level tested at, with enough years."""

    ok: bool
    pvalue: float
    before: float
    after: float
    n_before: int
    n_after: int
    window: tuple[int, int]
    dropped: int | None
    dropped_count: float
    dispersion: float
    reason: str

    def text(self) -> str:
        """The comparison as a verdict prints it."""
        lo, hi = self.window
        if self.dropped is None:
            return self.reason
        return (f"with its largest year left out ({self.dropped}: {self.dropped_count:.0f} entrants), entry over "
                f"{lo}–{hi} ran at {self.after:.1f} a year against {self.before:.1f} before the break "
                f"(one-sided p = {self.pvalue:.3g}, conditional binomial test of two Poisson rates"
                + (f", dispersion {self.dispersion:.2f}" if self.dispersion > 1 else "") + ")")


def takeoff_persists(entry: pd.Series, b: DatedBreak, alpha: float = 0.05, start: int = 1) -> Persistence:
    """Persistence of the take-off ``b`` dated on the entrants by year ``entry`` (module docstring); ``start``: first
    position of the series at the low rate (1: the origin year's pioneers are not entry at a rate)."""
    s = entry.astype(float)
    years = s.index.to_numpy()
    t = b.year
    pre = s[(np.arange(len(s)) >= start) & (years < t)]
    win = s[(years >= t) & (years < t + PERSIST_WINDOW)]
    if len(win) - 1 < MIN_PERSIST_YEARS or len(pre) == 0:
        return Persistence(False, float("nan"), float(pre.mean()) if len(pre) else float("nan"), float("nan"),
                           len(pre), max(len(win) - 1, 0), (int(t), int(years[-1])), None, float("nan"), 1.0,
                           f"only {len(win)} year(s) observed from the break in {t} on (needs "
                           f"{MIN_PERSIST_YEARS + 1}): a lasting take-off cannot be told from a spike of entry")
    top = win.idxmax()
    post = win.drop(top)
    s0, s1, n0, n1 = float(pre.sum()), float(post.sum()), len(pre), len(post)
    # quasi-Poisson dispersion of the years compared around their own two means (≥ 1: never sharpened)
    resid = [((g - g.mean()) ** 2 / g.mean()).sum() for g in (pre, post) if g.mean() > 0]
    df = n0 + n1 - 2
    phi = float(max(1.0, sum(resid) / df)) if df > 0 else 1.0
    k, n = s1 / phi, (s0 + s1) / phi
    pi = n1 / (n0 + n1)
    # P(X ≥ k) for X ~ Binomial(n, π): the regularized incomplete beta I_π(k, n − k + 1), defined for real k, n
    p = float(special.betainc(k, n - k + 1.0, pi)) if k > 0 else 1.0
    return Persistence(bool(p < alpha), p, s0 / n0, s1 / n1, n0, n1, (int(win.index[0]), int(win.index[-1])),
                       int(top), float(win[top]), phi, "")


def _takeoff(series: pd.Series, **kw) -> DatedBreak:
    return count_takeoff(series.to_numpy(), series.index, **kw)


def date_phases(traj: pd.DataFrame, *, alpha: float = 0.05, reps: int | None = None,
                complete: bool = True, given_t1: int | None = None, given_t2: int | None = None) -> dict:
    """Date the take-off and the quality transition from the trajectories (see the module docstring): a dict with
    ``takeoff`` and ``quality`` (:class:`DatedBreak` or None), whether they were dated in one model (``joint``),
    the dates ``t1``, ``t2`` and their intervals, and the ``persistence`` of a significant take-off
    (:func:`takeoff_persists`; None when none is significant). ``complete``: entry records cover every firm (a census);
    otherwise the no-take-off model allows a smooth trend (survivor samples) and ``takeoff_undatable`` is True.

    A date known from the cluster's history (``given_t1``, ``given_t2``) is not estimated, and the other date is
    estimated given it, as in the joint model: the quality transition searched after a given take-off, the take-off
    with its entry rate kinked at a given quality start (and only a take-off before it counts)."""
    if given_t1 is not None or given_t2 is not None:
        return _date_given(traj, alpha, reps, complete, given_t1, given_t2)
    kw, entry, adopt, risk = _series(traj, complete, reps)
    out: dict = {"takeoff": None, "quality": None, "joint": False, "t1": None, "t2": None, "t1_interval": None,
                 "t2_interval": None, "quality_series": False,
                 "takeoff_undatable": not complete}
    if entry is None:
        return out
    out["quality_series"] = adopt is not None

    def quality(after: int | None) -> DatedBreak:
        return _takeoff(adopt, exposure=risk.to_numpy(), after_year=after, name="quality transition", **kw)

    q = q0 = quality(None) if adopt is not None else None
    if not complete:
        # survivor-only entry records: the take-off is not identified (module docstring); the quality transition
        # (first adoptions per firm at risk among the firms observed) is dated on its own
        out.update(quality=q, t2=q.year if q is not None else None, t2_interval=q.interval if q is not None else None)
        return out
    if q is not None and q.detected(alpha):
        # both dates in one model: the entry take-off given the quality date (the entry rate kinks there), the
        # quality date given the take-off (searched after it), until neither moves
        e = None
        for _ in range(3):
            e = _entry_takeoff(entry, complete, kw, kink_year=q.year)
            if e.index is None:
                break
            q_new = quality(e.year)
            if q_new.index is None or q_new.year == q.year:
                break
            q = q_new
        pers = _persistence(entry, e, alpha)
        if e is not None and e.index is not None and (pers is None or pers.ok):
            out.update(takeoff=e, quality=q, joint=True, t1=e.year, t2=q.year, t1_interval=e.interval,
                       t2_interval=q.interval, persistence=pers)
            return out
        # a break of entry that does not persist (a one-year spike) is no take-off: the quality date is not
        # searched after it, and the take-off is tested alone below (where its persistence is reported)
        q = q0
    # the take-off alone, on the entry series up to its peak (entry falls again once imitation stops paying)
    ma = entry.rolling(3, center=True, min_periods=1).mean()
    peak = int(ma.iloc[1:].idxmax()) if len(ma) > 1 else int(ma.index[-1])
    c = entry.loc[:peak] if (entry.index <= peak).sum() >= MIN_YEARS else entry
    e = _entry_takeoff(c, complete, kw)
    # persistence is judged on the whole entry series: the years after the peak are part of what followed
    out.update(takeoff=e, quality=q, t1=e.year, t2=q.year if q is not None else None, t1_interval=e.interval,
               t2_interval=q.interval if q is not None else None, persistence=_persistence(entry, e, alpha))
    return out


def _persistence(entry: pd.Series, e: DatedBreak | None, alpha: float) -> Persistence | None:
    """:func:`takeoff_persists` for a significant take-off (None when there is none to check)."""
    return takeoff_persists(entry, e, alpha / PERSIST_SHARE) if e is not None and e.detected(alpha) else None


def _series(traj: pd.DataFrame, complete: bool, reps: int | None):
    """(bootstrap/trend options, entry series or None, adoption series or None, its exposure) for the dating."""
    kw = {"max_trend": 0.0 if complete else SURVIVOR_TREND, **({} if reps is None else {"reps": reps})}
    entry = (traj["entrants"].fillna(0).astype(float)
             if "entrants" in traj and traj["entrants"].dropna().shape[0] >= MIN_YEARS else None)
    adopt = risk = None
    if "adopters" in traj:
        ok = traj["adoption_at_risk"].fillna(0) >= MIN_SHARE_FIRMS
        adopt, risk = traj.loc[ok, "adopters"].astype(float), traj.loc[ok, "adoption_at_risk"].astype(float)
        if len(adopt) < MIN_QUALITY_YEARS:
            adopt = risk = None
    return kw, entry, adopt, risk


def _date_given(traj: pd.DataFrame, alpha: float, reps: int | None, complete: bool, given_t1: int | None,
                given_t2: int | None) -> dict:
    """:func:`date_phases` when one or both dates are known from the cluster's history."""
    kw, entry, adopt, risk = _series(traj, complete, reps)
    out: dict = {"takeoff": None, "quality": None, "joint": False, "t1": given_t1, "t2": given_t2,
                 "t1_interval": None, "t2_interval": None, "quality_series": adopt is not None,
                 "takeoff_undatable": not complete and given_t1 is None, "notes": []}
    if given_t2 is None and adopt is not None:
        if given_t1 is not None and (adopt.index > given_t1).sum() < MIN_QUALITY_YEARS:
            out["notes"].append(f"quality transition: fewer than {MIN_QUALITY_YEARS} years of first adoptions after "
                                f"the given start of quantity expansion ({given_t1}): not dated")
            out["quality_series"] = False  # not searched: the years after it are not judged quantity expansion
        else:
            q = _takeoff(adopt, exposure=risk.to_numpy(), after_year=given_t1, name="quality transition", **kw)
            out.update(quality=q, t2=q.year if q.detected(alpha) else None,
                       t2_interval=q.interval if q.detected(alpha) else None)
    elif given_t1 is None and entry is not None and complete:
        before = entry.loc[entry.index < given_t2]
        if len(before) >= MIN_YEARS:
            e = _entry_takeoff(entry, complete, kw, kink_year=given_t2)
            if e.index is not None and e.detected(alpha) and e.year >= given_t2:
                out["notes"].append(f"the entry take-off dated in {e.year} is not before the given start of "
                                    f"quality improvement ({given_t2}): not used")
            elif e.index is not None:
                out.update(takeoff=e, t1=e.year if e.detected(alpha) else None,
                           t1_interval=e.interval if e.detected(alpha) else None,
                           persistence=_persistence(entry, e, alpha))
    return out


def _entry_takeoff(entry: pd.Series, complete: bool, kw: dict, kink_year: int | None = None) -> DatedBreak:
    """The entry take-off on complete entry records (a census; survivor samples are not dated: module docstring)."""
    return _takeoff(entry, start=1, kink_year=kink_year, name="entry take-off", **kw)


__all__ = ["MIN_QUALITY_YEARS", "MIN_SHARE_FIRMS", "MIN_YEARS", "SURVIVOR_TREND", "Persistence", "date_phases",
           "takeoff_persists"]
