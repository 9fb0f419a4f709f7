r"""Staggered roll-outs: Callaway–Sant'Anna group-time ATTs with their aggregations, and the Sun–Abraham
interaction-weighted event study (rather than two-way FE, which mixes already-treated units into the controls).

**Callaway and Sant'Anna (2021)**, panel data without covariates (their unconditional DiD, identical to the
outcome-regression and doubly robust estimators when there are no covariates). Units are grouped by the period g
they are first treated (G_i = g; never treated: G_i = 0). For each group g and period t,

.. math:: \widehat{ATT}(g,t) = \overline{\Delta Y}_{g} - \overline{\Delta Y}_{C},\quad \Delta Y_i = Y_{it} - Y_{i,b},

with base period b = g − 1 − anticipation for t ≥ g and b = t − 1 for pre-periods (R ``did``'s default
``base_period="varying"``), and controls C the never treated (``control="never"``) or the not yet treated
(``G_i = 0`` or ``G_i > max(t, b) + anticipation``, ``G_i ≠ g``). The influence function of unit i is
ψ_i = (n/n_g)1[G_i = g](ΔY_i − ΔȲ_g) − (n/n_C)1[i ∈ C](ΔY_i − ΔȲ_C), and the analytic covariance of all ATT(g,t)
is Ψ'Ψ/n² (clustered: sums of ψ within clusters). Aggregations θ = Σ_k w_k ATT_k (``simple``, ``group``,
``dynamic``, ``calendar``) weight cells by the group shares p_g = P(G = g) as ``did::aggte`` does, and their
influence functions include the estimation of the weights (did's ``wif``). Units not observed in every period
are dropped (``did``'s default for panels), units treated in the first period are dropped (no untreated period);
both are counted in ``omitted``.

Simultaneous bands: :meth:`CallawaySantAnna.uniform_critical_value` draws Rademacher multipliers of the influence
functions (did's multiplier bootstrap) and returns the 1 − α quantile of max_k |t*_k| with bootstrap standard
errors from the interquartile range.

**Sun and Abraham (2021)**: OLS of y on unit and period effects and the cohort × relative-period indicators
D_{g,e} = 1[G_i = g]·1[t − g = e] for every treated cohort and every relative period except e = −1 (never-treated
units are the reference cohort; always-treated units are dropped), plus covariates. The event-study coefficient for
e is Σ_g ω_{g,e} β̂_{g,e} with ω the cohort's share of the observations at relative period e; the ATT and cohort
aggregates weight the post-period cells by their observation counts (fixest ``sunab()`` with ``agg``). Standard
errors are the delta method W V̂ W' with V̂ clustered by unit (fixest's default with unit effects: CRV1,
G/(G−1)·(N−1)/(N−K) with K counting the non-nested absorbed period effects).

Speed (why not a loop over cells calling a regression, as csdid does): the balanced panel is reshaped once into an
(n × T) matrix; each ATT(g,t) is two masked means of a column difference and each influence function one vector,
so 1M firm-years take a few seconds (``benchmarks/bench_evaluation.py``, against csdid in the same run).

References: Callaway and Sant'Anna (2021), J. Econometrics 225(2): 200–230; R package ``did`` (``att_gt``,
``aggte``); Sun and Abraham (2021), J. Econometrics 225(2): 175–199; fixest ``sunab``; Stata ``csdid``,
``eventstudyinteract``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..estimators.design import SpecificationError, as_panel_frame
from ..estimators.results import EstimationResult, Omitted, TestResult, VarianceInfo

AGGREGATIONS = ("simple", "group", "dynamic", "calendar")


@dataclass(frozen=True)
class CallawaySantAnna:
    """Group-time ATTs (``table``: group, time, att, std_error, post) with their influence functions."""

    table: pd.DataFrame
    inf: np.ndarray  # (n, K) influence functions of the ATT(g,t), n-scaled (se = sqrt(sum psi^2)/n)
    n: int
    groups: np.ndarray  # G_i of each unit (0 = never treated)
    group_share: dict[float, float]
    cluster_codes: np.ndarray | None
    control: str
    anticipation: int
    depvar: str
    omitted: tuple[Omitted, ...] = ()
    pretest: TestResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ covariance
    def _cov(self, psi: np.ndarray) -> np.ndarray:
        psi = np.atleast_2d(psi.T).T
        if self.cluster_codes is not None:
            G = int(self.cluster_codes.max()) + 1
            S = np.zeros((G, psi.shape[1]))
            np.add.at(S, self.cluster_codes, psi)
            V = S.T @ S / self.n**2
        else:
            V = psi.T @ psi / self.n**2
        return (V + V.T) / 2

    def _variance_info(self) -> VarianceInfo:
        if self.cluster_codes is not None:
            G = int(self.cluster_codes.max()) + 1
            return VarianceInfo("influence function", clusters=(self.extra.get("cluster", "cluster"),),
                                n_clusters=(G,), dof_rule="analytic, sum of clustered influence functions / n^2")
        return VarianceInfo("influence function", dof_rule="analytic, Psi'Psi/n^2 (R did, bstrap = FALSE)")

    def att_gt(self) -> EstimationResult:
        """Every ATT(g,t) as a result (names ``ATT(g,t)``), covariance from the influence functions."""
        names = [f"ATT({_fmt(g)},{_fmt(t)})" for g, t in zip(self.table["group"], self.table["time"])]
        return self._result("Callaway-Sant'Anna ATT(g,t)", names, self.table["att"].to_numpy(), self.inf)

    def aggregate(self, kind: str = "group", *, min_e: float = -np.inf, max_e: float = np.inf,
                  balance_e: int | None = None) -> EstimationResult:
        """``did::aggte``: ``"simple"`` (one overall ATT), ``"group"`` (θ(g) and the overall average),
        ``"dynamic"`` (event study θ(e), overall = mean over e ≥ 0), ``"calendar"`` (θ(t), overall mean)."""
        if kind not in AGGREGATIONS:
            raise SpecificationError(f"aggregation must be one of {AGGREGATIONS}, got {kind!r}")
        tb = self.table
        g, t, att = tb["group"].to_numpy(), tb["time"].to_numpy(), tb["att"].to_numpy()
        pg = np.array([self.group_share[x] for x in g])
        e = t - g
        post = (g <= t) & (t <= g + max_e)
        names: list[str] = []
        vals: list[float] = []
        infs: list[np.ndarray] = []

        def agg(keep: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
            idx = np.flatnonzero(keep)
            if weights is None:  # p_g weights, with the influence of estimating them
                w = pg[idx] / pg[idx].sum()
                psi = self.inf[:, idx] @ w + self._wif(idx, pg) @ att[idx]
            else:
                w = weights
                psi = self.inf[:, idx] @ w
            return float(w @ att[idx]), psi

        if kind == "simple":
            v, psi = agg(post)
            names, vals, infs = ["ATT"], [v], [psi]
        elif kind == "group":
            glist = np.unique(g)
            gv, gpsi = [], []
            for gg in glist:
                keep = post & (g == gg)
                k = int(keep.sum())
                v, psi = agg(keep, np.full(k, 1.0 / k))
                gv.append(v)
                gpsi.append(psi)
                names.append(f"ATT(g={_fmt(gg)})")
            gshare = np.array([self.group_share[x] for x in glist])
            w = gshare / gshare.sum()
            Psi = np.column_stack(gpsi)
            overall = float(w @ np.array(gv))
            psi_o = Psi @ w + self._wif_groups(glist, gshare) @ np.array(gv)
            names = ["ATT", *names]
            vals, infs = [overall, *gv], [psi_o, *gpsi]
        elif kind == "dynamic":
            keep_all = (e >= min_e) & (e <= max_e)
            if balance_e is not None:
                ok_groups = {gg for gg in np.unique(g) if (t[g == gg] - gg).max() >= balance_e}
                keep_all &= np.isin(g, list(ok_groups)) & (e <= balance_e)
            elist = np.unique(e[keep_all])
            ev, epsi = [], []
            for ee in elist:
                v, psi = agg(keep_all & (e == ee))
                ev.append(v)
                epsi.append(psi)
            ev_arr = np.array(ev)
            pos = elist >= 0
            overall = float(ev_arr[pos].mean())
            psi_o = np.column_stack(epsi)[:, pos].mean(axis=1)
            names = ["ATT", *[f"e={int(x)}" for x in elist]]
            vals, infs = [overall, *ev], [psi_o, *epsi]
        else:  # calendar
            tlist = np.unique(t[post])
            tv, tpsi = [], []
            for tt in tlist:
                v, psi = agg(post & (t == tt))
                tv.append(v)
                tpsi.append(psi)
            overall = float(np.mean(tv))
            psi_o = np.column_stack(tpsi).mean(axis=1)
            names = ["ATT", *[f"t={_fmt(x)}" for x in tlist]]
            vals, infs = [overall, *tv], [psi_o, *tpsi]
        label = {"simple": "simple", "group": "group/cohort", "dynamic": "event-study/dynamic",
                 "calendar": "calendar time"}[kind]
        return self._result(f"Callaway-Sant'Anna ({label} aggregation)", names, np.array(vals),
                            np.column_stack(infs), kind=kind)

    def _wif(self, idx: np.ndarray, pg: np.ndarray) -> np.ndarray:
        """Influence of estimating the weights p_g/Σp_g (did's ``wif``), (n, len(idx))."""
        gk = self.table["group"].to_numpy()[idx]
        pk = pg[idx]
        ind = (self.groups[:, None] == gk[None, :]).astype(float)
        s = pk.sum()
        if1 = (ind - pk) / s
        if2 = (ind - pk).sum(axis=1)[:, None] * (pk / s**2)[None, :]
        return if1 - if2

    def _wif_groups(self, glist: np.ndarray, gshare: np.ndarray) -> np.ndarray:
        ind = (self.groups[:, None] == glist[None, :]).astype(float)
        s = gshare.sum()
        return (ind - gshare) / s - (ind - gshare).sum(axis=1)[:, None] * (gshare / s**2)[None, :]

    def _result(self, model: str, names: list[str], coef: np.ndarray, psi: np.ndarray,
                kind: str | None = None) -> EstimationResult:
        V = self._cov(psi)
        notes = [f"control group: {'never treated' if self.control == 'never' else 'not yet treated'}; "
                 f"anticipation periods: {self.anticipation}; no covariates (unconditional parallel trends)"]
        tests = {"pretest": self.pretest} if self.pretest is not None and kind in (None, "dynamic") else {}
        return EstimationResult(
            model=model, estimator="Callaway-Sant'Anna (2021), DiD on long differences", depvar=self.depvar,
            names=tuple(names), coef=coef, vcov=V, variance=self._variance_info(), nobs=self.n * self.extra["T"],
            n_entities=self.n, omitted=self.omitted, tests=tests, notes=tuple(notes),
            # long differences Y_t − Y_b remove the firm effect; the comparison group's change removes the period's
            effects={"Firm FE": "Yes (differenced out)", "Year FE": "Yes (control group's change)"},
            extra={"influence": psi, "aggregation": kind},
        )

    def uniform_critical_value(self, result: EstimationResult, *, level: float = 0.95, B: int = 999,
                               seed: Any = None) -> float:
        """Critical value of a simultaneous band for ``result``'s coefficients (did's multiplier bootstrap)."""
        psi = np.atleast_2d(result.extra["influence"].T).T
        rng = np.random.default_rng(seed)
        if self.cluster_codes is not None:
            G = int(self.cluster_codes.max()) + 1
            S = np.zeros((G, psi.shape[1]))
            np.add.at(S, self.cluster_codes, psi)
            v = rng.choice((-1.0, 1.0), size=(B, G))
            draws = v @ S / self.n
        else:
            v = rng.choice((-1.0, 1.0), size=(B, psi.shape[0]))
            draws = v @ psi / self.n
        q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0)
        se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
        ok = se > 1e-8 * np.abs(draws).max()
        tmax = np.abs(draws[:, ok] / se[ok]).max(axis=1)
        return float(np.quantile(tmax, level))


def _fmt(x: Any) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def callaway_santanna(data: Any, outcome: str, first_treated: str, *, control: str = "never",
                      anticipation: int = 0, cluster: str | None = None) -> CallawaySantAnna:
    """Group-time ATTs of a staggered roll-out (module docstring).

    ``data``: a (unit, period)-indexed frame (SurveyPanel or DataFrame); ``first_treated``: column with the period
    of first treatment (0 or missing = never treated); ``control``: ``"never"`` or ``"notyet"``; ``cluster``: a
    unit-level column to cluster the influence functions by (unit-level clustering is the default).
    """
    if control not in ("never", "notyet"):
        raise SpecificationError("control must be 'never' or 'notyet'")
    df = as_panel_frame(data)
    for c in (outcome, first_treated, *([cluster] if cluster else [])):
        if c not in df.columns:
            raise SpecificationError(f"column {c!r} not in the data")
    unit = df.index.get_level_values(0)
    time = df.index.get_level_values(1)
    y = pd.to_numeric(df[outcome], errors="coerce").to_numpy(dtype=float)
    omitted: list[Omitted] = []
    ucodes, units = pd.factorize(unit, sort=True)
    tcodes, periods = pd.factorize(time, sort=True)
    periods = np.asarray(periods, dtype=float)
    n0, T = len(units), len(periods)
    Y = np.full((n0, T), np.nan)
    Y[ucodes, tcodes] = y
    gcol = pd.to_numeric(df[first_treated], errors="coerce").fillna(0).to_numpy(dtype=float)
    Gu = np.zeros(n0)
    Gu[ucodes] = gcol
    if (Gu[ucodes] != gcol).any():  # some unit has two values (one pass instead of a groupby nunique)
        raise SpecificationError(f"{first_treated!r} must be constant within each unit")
    complete = ~np.isnan(Y).any(axis=1)
    if not complete.all():
        omitted.append(Omitted("units not observed (or outcome missing) in every period (balanced panel, as R did "
                               "drops them)", int((~complete).sum())))
    always = (Gu > 0) & (Gu <= periods[0] + anticipation)
    if always.any():
        omitted.append(Omitted("units treated in the first period (no untreated period to compare)",
                               int((always & complete).sum())))
    beyond = Gu > periods[-1]
    Gu = np.where(beyond, 0.0, Gu)  # first treated after the last period: never treated within the data
    keep = complete & ~always
    Y, Gu = Y[keep], Gu[keep]
    n = len(Gu)
    ccodes = None
    if cluster:
        cl = pd.Series(df[cluster].to_numpy()).groupby(ucodes).first().to_numpy()[keep]
        ccodes = pd.factorize(cl, sort=True)[0]
    glist = np.sort(np.unique(Gu[Gu > 0]))
    if not len(glist):
        raise SpecificationError("no unit is treated within the observed periods")
    never = Gu == 0
    if control == "never" and not never.any():
        raise SpecificationError("no never-treated units: use control='notyet'")
    share = {float(g): float((Gu == g).mean()) for g in glist}
    rows, infs = [], []
    tpos = {p: i for i, p in enumerate(periods)}
    for g in glist:
        treat = Gu == g
        ng = int(treat.sum())
        for ti in range(1, T):
            t = periods[ti]
            pre = t < g - anticipation
            base = periods[ti - 1] if pre else g - 1 - anticipation
            if base not in tpos:
                continue
            bi = tpos[base]
            dY = Y[:, ti] - Y[:, bi]
            ctrl = never if control == "never" else never | ((Gu > max(t, base) + anticipation) & ~treat)
            nc = int(ctrl.sum())
            if ng == 0 or nc == 0:
                continue
            mg, mc = dY[treat].mean(), dY[ctrl].mean()
            psi = np.zeros(n)
            psi[treat] = (n / ng) * (dY[treat] - mg)
            psi[ctrl] -= (n / nc) * (dY[ctrl] - mc)
            rows.append((g, t, mg - mc, not pre))
            infs.append(psi)
    inf = np.column_stack(infs)
    table = pd.DataFrame(rows, columns=["group", "time", "att", "post"])
    obj = CallawaySantAnna(table=table, inf=inf, n=n, groups=Gu, group_share=share, cluster_codes=ccodes,
                           control=control, anticipation=anticipation, depvar=outcome, omitted=tuple(omitted),
                           extra={"T": T, "cluster": cluster or "unit", "periods": periods})
    V = obj._cov(inf)
    se = np.sqrt(np.diag(V))
    table["std_error"] = se
    pre_idx = np.flatnonzero(~table["post"].to_numpy())
    pretest = None
    if len(pre_idx):
        a = table["att"].to_numpy()[pre_idx]
        Vp = V[np.ix_(pre_idx, pre_idx)]
        W = float(a @ np.linalg.pinv(Vp) @ a)
        q = len(pre_idx)
        pretest = TestResult("Wald pre-test", W, float(stats.chi2.sf(W, q)), q, "chi2",
                             "all pre-treatment ATT(g,t) are zero (parallel trends before treatment)")
    return CallawaySantAnna(table=table, inf=inf, n=n, groups=Gu, group_share=share, cluster_codes=ccodes,
                            control=control, anticipation=anticipation, depvar=outcome, omitted=tuple(omitted),
                            pretest=pretest, extra=obj.extra)


# ------------------------------------------------------------------------------------------------- Sun-Abraham
@dataclass(frozen=True)
class SunAbraham:
    """Sun–Abraham event study: ``event`` (aggregated per relative period, an EstimationResult), ``regression``
    (the saturated cohort × period regression) and the aggregation weights."""

    event: EstimationResult
    regression: EstimationResult
    cells: pd.DataFrame  # cohort, rel, coef name, n obs

    def aggregate(self, kind: str = "att") -> EstimationResult:
        """``"att"``: one ATT over all post cells (weights = observation counts); ``"cohort"``: one per cohort."""
        c = self.cells
        post = c[c["rel"] >= 0]
        if kind == "att":
            groups = [("ATT", post)]
        elif kind == "cohort":
            groups = [(f"cohort={_fmt(g)}", part) for g, part in post.groupby("cohort", sort=True)]
        else:
            raise SpecificationError("kind must be 'att' or 'cohort'")
        return _delta(self.regression, groups, f"Sun-Abraham ({kind} aggregation)")


def _delta(reg: EstimationResult, groups: list[tuple[str, pd.DataFrame]], model: str,
           keep: tuple[str, ...] = ()) -> EstimationResult:
    names = list(reg.names)
    rows = []
    for _, part in groups:
        w = np.zeros(len(names))
        idx = [names.index(nm) for nm in part["name"]]
        w[idx] = part["n"].to_numpy() / part["n"].sum()
        rows.append(w)
    for nm in keep:
        w = np.zeros(len(names))
        w[names.index(nm)] = 1.0
        rows.append(w)
    Wm = np.vstack(rows)
    return EstimationResult(
        model=model, estimator="Sun-Abraham (2021) interaction-weighted", depvar=reg.depvar,
        names=tuple([g for g, _ in groups] + list(keep)), coef=Wm @ reg.coef, vcov=Wm @ reg.vcov @ Wm.T,
        variance=reg.variance, nobs=reg.nobs, df_resid=reg.df_resid, df_inference=reg.df_inference,
        n_entities=reg.n_entities,
        rsquared=reg.rsquared, omitted=reg.omitted, effects=reg.effects,
        notes=("aggregated with weights = each cohort's share of the observations in the cell (fixest sunab); "
               "standard errors by the delta method",), extra={"weights": Wm},
    )


def sun_abraham(data: Any, outcome: str, cohort: str, *, controls: tuple[str, ...] = (), ref: int = -1,
                cluster: str | None = None, never_value: float | None = None) -> SunAbraham:
    """Sun–Abraham event study (module docstring). ``cohort``: period of first treatment; never treated: 0,
    missing, or any value outside the observed periods (fixest's convention, e.g. 10000). ``controls``: extra
    regressors (plain column names). Clustered by unit unless ``cluster`` names another column."""
    from ..estimators.within import within

    df = as_panel_frame(data).copy()
    time = df.index.get_level_values(1).to_numpy(dtype=float)
    g = pd.to_numeric(df[cohort], errors="coerce").to_numpy(dtype=float)
    lo, hi = time.min(), time.max()
    never = np.isnan(g) | (g == 0) | (g > hi) | (g < lo) if never_value is None else (g == never_value)
    always = ~never & (g <= lo)
    omitted = []
    if always.any():
        omitted.append(Omitted("observations of always-treated units (treated in the first period)",
                               int(always.sum())))
        df, time, g, never = df[~always], time[~always], g[~always], never[~always]
    rel = np.where(never, np.nan, time - g)
    cells = (pd.DataFrame({"cohort": g[~never], "rel": rel[~never]}).value_counts().rename("n").reset_index()
             .sort_values(["rel", "cohort"]))
    cells = cells[cells["rel"] != ref]
    cells["name"] = [f"sa_c{_fmt(c).replace('-', 'm')}_r{_fmt(r).replace('-', 'm')}"
                     for c, r in zip(cells["cohort"], cells["rel"])]
    cols = {}
    for c, r, nm in zip(cells["cohort"], cells["rel"], cells["name"]):
        cols[nm] = ((g == c) & (rel == r)).astype(float)
    work = pd.concat([df[[outcome, *controls, *([cluster] if cluster else [])]],
                      pd.DataFrame(cols, index=df.index)], axis=1)
    formula = f"{outcome} ~ " + " + ".join([*controls, *cells["name"]])
    reg = within(work, formula, effects="twoway", vcov="cluster", cluster=cluster, dof="reghdfe",
                 singletons="keep")
    have = set(reg.names)
    cells = cells[cells["name"].isin(have)]
    groups = [(f"e={_fmt(r)}", part) for r, part in cells.groupby("rel", sort=True)]
    event = _delta(reg, groups, "Sun-Abraham event study", keep=tuple(c for c in controls if c in have))
    if omitted:
        from dataclasses import replace

        event = replace(event, omitted=(*event.omitted, *omitted))
    return SunAbraham(event=event, regression=reg, cells=cells.reset_index(drop=True))
