"""Minimum-evidence rules and the judging of one claim (the verdict contract of ``docs/hypotheses.md``).

Every claim is judged by one of these rules, each of which first checks the minimum evidence and that the fit is
not degenerate (a degenerate fit is never counted as significant):

* :func:`judge_sign` — a directional effect: supported when the estimate has the expected sign and p < α;
* :func:`judge_at_most` — "does not rise by more than m" (stagnation): supported when the one-sided (1 − α) upper
  confidence bound is below the margin m; not supported when the estimate is at least m and significantly
  above 0 (its one-sided lower bound is above 0 — not "significantly above m"); inconclusive otherwise (the data
  cannot tell stagnation from growth);
* :func:`judge_share_gap` — one group's share larger than another's (founders, spin-off entry): Fisher's exact
  test, one-sided, judged by :func:`judge_sign` on the difference of shares and its s.e. under the null;
* :func:`judge_equivalent` — "no difference" (imitation), by two one-sided tests (Schuirmann 1987): supported when
  the (1 − 2α) interval lies within ±m; not supported when the difference is significant and at least m in size;
  inconclusive otherwise.

"No significant effect" is therefore never read as evidence of no effect: a null claim needs an equivalence margin.

A fit is degenerate (:func:`degenerate`) when its estimate or s.e. is not finite, when the s.e. is zero up to
rounding of the estimate, or — for the margin rules — when the s.e. is below a millionth of the margin: no sample a
survey can hold measures an effect that precisely, and such an s.e. is the rounding noise of an exact fit (every
entrant selling at the one market price of its year gave price gaps of 1e-13 with s.e. 1e-9, which the two
one-sided tests would call "equivalent").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from .result import Claim, ClaimStatus, fmt_p


@dataclass(frozen=True)
class EvidenceRules:
    """The minimum evidence each kind of claim needs (documented in ``docs/hypotheses.md``).

    alpha : significance level of every claim.
    min_trend_years : distinct years behind a cluster-level trend (residual df ≥ 3).
    min_panel_years : distinct years behind a firm-level (fixed-effects) trend.
    min_clusters : firms (clusters) for a cluster-robust standard error; fewer and the claim is inconclusive.
    min_events : events behind a binary claim (innovating firm-years, exits) and non-events.
    min_switchers : firms whose innovation status changes (what firm fixed effects identify from) for the
        firm-clustered t test.
    min_switchers_bootstrap : fewer switchers than ``min_switchers`` but at least this many: the claim is judged by
        a wild cluster restricted bootstrap instead (a clustered t from a handful of treated clusters over-rejects).
    min_group : firms in each group compared (spin-offs and others, innovators and non-innovators).
    min_pioneers : pioneers (firms founded before the entry take-off) for founder or spin-off claims.
    min_entrants : later entrants for the same comparisons.
    stagnation_margin : a productivity trend below this (log points a year) counts as stagnation.
    imitation_margin : a log-price gap within ±this counts as imitation.
    """

    alpha: float = 0.05
    min_trend_years: int = 5
    min_panel_years: int = 3
    min_clusters: int = 20
    min_events: int = 10
    min_switchers: int = 10
    min_switchers_bootstrap: int = 3
    min_group: int = 10
    min_pioneers: int = 3
    min_entrants: int = 10
    stagnation_margin: float = 0.02
    imitation_margin: float = 0.10


RULES = EvidenceRules()


def degenerate(estimate: float | None, se: float | None, pvalue: float | None = None, *,
               scale: float | None = None) -> str | None:
    """Why a fit cannot count as evidence (None when it can); ``scale``: the size of effect the claim is judged
    against (a margin), below a millionth of which an s.e. is rounding noise (module docstring)."""
    if estimate is None or not math.isfinite(estimate):
        return "the estimate is not finite (non-convergence or separation)"
    if se is None or not math.isfinite(se):
        return "the standard error is undefined (a degenerate fit: separation, a singular variance or no variation)"
    if se <= 1e-10 * max(1.0, abs(estimate)) or (scale is not None and se <= 1e-6 * abs(scale)):
        return (f"the standard error is zero up to rounding ({se:.1e}: a degenerate fit, the data have no variation "
                "left around the estimate, e.g. identical values or an exact fit)")
    if pvalue is not None and not math.isfinite(pvalue):
        return "the p-value is undefined"
    return None


_PLURAL = re.compile(r"^1 ((?:[\w-]+ )*?)(pioneer|entrant|spin-off|exit|firm-year|firm|year)s\b( that do not innovate| "
                     r"that innovate)?")


def _singular(why: str) -> str:
    """"1 pioneers (needs 3)" → "1 pioneer (needs 3)": the counts lead the messages, and verdicts are pasted into
    papers."""
    def fix(m: re.Match) -> str:
        verb = {" that do not innovate": " that does not innovate", " that innovate": " that innovates"}.get(
            m.group(3) or "", "")
        return f"1 {m.group(1)}{m.group(2)}{verb}"
    return _PLURAL.sub(fix, why)


def shortfalls(checks: Sequence[tuple[bool, str]]) -> list[str]:
    """The minimum-evidence rules not met: ``checks`` are (rule holds, what it requires and what was found)."""
    return [_singular(why) for ok, why in checks if not ok]


def _short(misses: Sequence[str]) -> str:
    return "below the minimum evidence: " + "; ".join(misses)


def judge_sign(estimate: float | None, se: float | None, pvalue: float | None, *, expect: int,
               misses: Sequence[str] = (), alpha: float = RULES.alpha) -> tuple[ClaimStatus, str]:
    """Directional claim (``expect`` = +1 or −1): supported when sign(estimate) = expect and p < alpha."""
    if misses:
        return "inconclusive", _short(misses)
    bad = degenerate(estimate, se, pvalue)
    if bad:
        return "inconclusive", bad
    right = (estimate > 0) if expect > 0 else (estimate < 0)
    word = "positive" if expect > 0 else "negative"
    if right and pvalue < alpha:
        return "supported", f"{word} and significant at {alpha:g}"
    if not right and pvalue < alpha:
        return "not supported", f"significant in the opposite direction (expected {word})"
    return "not supported", f"not significantly {word} at {alpha:g} ({fmt_p(pvalue)})"


def _undecidable(estimate, se, misses: Sequence[str], scale: float | None = None) -> str | None:
    """The reason a claim cannot be decided before its rule is applied (minimum evidence, degenerate fit)."""
    return _short(misses) if misses else degenerate(estimate, se, scale=scale)


def share_gap(a: int, b: int, c: int, n: int) -> tuple[float, float, float]:
    """a of b in the first group against c of n in the second: (difference of shares, its s.e. under the null of
    equal shares — pooled, the variance the exact test conditions on —, one-sided Fisher exact p-value that the
    first share is larger); NaN when a group is empty. The pooled s.e. is zero exactly when the outcome does not vary
    (every firm compared, or none, has the trait), not when the groups are perfectly separated (5 of 5 against 0 of
    20 is the strongest evidence an exact test can give, where the unpooled s.e. would be 0)."""
    if not (b and n):
        return float("nan"), float("nan"), float("nan")
    p1, p2, pool = a / b, c / n, (a + c) / (b + n)
    se = float(math.sqrt(pool * (1 - pool) * (1 / b + 1 / n)))
    return p1 - p2, se, float(stats.fisher_exact([[a, b - a], [c, n - c]], alternative="greater")[1])


def judge_share_gap(a: int, b: int, c: int, n: int, *, trait: str, misses: Sequence[str] = (),
                    alpha: float = RULES.alpha) -> tuple[ClaimStatus, str, tuple[float, float, float]]:
    """"The first group's share (a of b) is larger than the second's (c of n)" by Fisher's exact test, one-sided,
    judged like every directional claim (:func:`judge_sign`): returns (status, reason, :func:`share_gap`'s numbers).
    A comparison without variation — every firm compared, or none, ``trait`` (e.g. "are spin-offs") — has a zero
    s.e. and p = 1: a degenerate comparison, inconclusive with that reason, never a decided verdict."""
    nums = share_gap(a, b, c, n)
    status, why = judge_sign(*nums, expect=+1, misses=misses, alpha=alpha)
    if status == "inconclusive" and not misses and b and n and a + c in (0, b + n):
        why = (f"no variation to compare: {'all' if a + c else 'none'} of the {b + n} firms compared {trait} (s.e. 0, "
               "p = 1): a degenerate comparison, not evidence either way")
    elif status == "not supported":
        best = smallest_attainable_p(a, b, c, n)
        if best >= alpha:
            status, why = "inconclusive", (
                f"too few firms for the exact test to decide: with these margins even the most extreme split "
                f"({min(b, a + c)} of the {b} in the first group) gives p = {best:.3g} ≥ {alpha:g} (the smallest "
                "attainable p-value; Tarone 1990), so no outcome could have supported the claim and its failure is "
                "not evidence against it")
    return status, why, nums


def smallest_attainable_p(a: int, b: int, c: int, n: int) -> float:
    """The smallest one-sided Fisher p-value any table with the observed margins can give (a of b against c of n;
    the test conditions on b, n and a + c): that of the most extreme table, min(b, a + c) in the first group.
    A test whose smallest attainable p is at least α cannot reject whatever the data (Tarone 1990, Biometrics 46:
    515–522), so its non-rejection is a shortfall of evidence, not a verdict."""
    t = a + c
    top = min(b, t)
    return float(stats.fisher_exact([[top, b - top], [t - top, n - t + top]], alternative="greater")[1])


def _crit(df: float | None, level: float) -> float:
    return float(stats.norm.ppf(level) if df is None or not math.isfinite(df) else stats.t.ppf(level, df))


def judge_at_most(estimate: float | None, se: float | None, df: float | None, *, margin: float,
                  misses: Sequence[str] = (), alpha: float = RULES.alpha) -> tuple[ClaimStatus, str, float]:
    """"Does not rise by more than ``margin``": returns (status, reason, one-sided upper bound)."""
    why = _undecidable(estimate, se, misses, scale=margin)
    if why:
        return "inconclusive", why, float("nan")
    c = _crit(df, 1 - alpha)
    upper, lower = estimate + c * se, estimate - c * se
    if upper < margin:
        return "supported", f"one-sided {100 * (1 - alpha):g}% upper bound {upper:+.4f} < margin {margin:g}", upper
    if lower > 0 and estimate >= margin:
        return ("not supported", f"the estimate is at least the margin {margin:g} and significantly above 0 "
                f"(one-sided lower bound {lower:+.4f} > 0)", upper)
    return ("inconclusive", f"the data cannot tell stagnation from growth: upper bound {upper:+.4f} ≥ margin "
            f"{margin:g}, but the estimate is not both at least the margin and significantly above 0", upper)


def judge_equivalent(estimate: float | None, se: float | None, df: float | None, *, margin: float,
                     misses: Sequence[str] = (), alpha: float = RULES.alpha) -> tuple[ClaimStatus, str, float]:
    """"No difference beyond ±``margin``" by two one-sided tests: returns (status, reason, TOST p-value)."""
    why = _undecidable(estimate, se, misses, scale=margin)
    if why:
        return "inconclusive", why, float("nan")
    dist = stats.norm if df is None or not math.isfinite(df) else stats.t(df)
    p_tost = float(max(dist.sf((estimate + margin) / se), dist.cdf((estimate - margin) / se)))
    p_zero = float(2 * dist.sf(abs(estimate) / se))
    if p_tost < alpha:
        return "supported", f"equivalent within ±{margin:g} ({fmt_p(p_tost, 'TOST p')})", p_tost
    if p_zero < alpha and abs(estimate) >= margin:
        return "not supported", f"differs significantly ({fmt_p(p_zero)}) by at least the margin {margin:g}", p_tost
    return "inconclusive", f"neither equivalent within ±{margin:g} ({fmt_p(p_tost, 'TOST p')}) nor clearly different", \
        p_tost


def claim_from(name: str, statement: str, status: ClaimStatus, reason: str, **numbers) -> Claim:
    return Claim(name=name, statement=statement, status=status, reason=reason, **numbers)
