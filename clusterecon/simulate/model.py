r"""The endogenous cluster model (Sonobe–Otsuka: initiation → quantity expansion → quality improvement) as an
agent-based simulator with known truth.

Each firm i is followed in calendar years t = t0, …, t0+T−1; parameters are the fields of
:class:`~clusterecon.simulate.params.ClusterParams`. Within a year the steps are, in order:

1. **Entry** (t > t0). With :math:`\bar\pi^{I}_{t-1}` the mean profit rate (profit/sales) of active imitators in
   t−1, spin-offs :math:`\sim \text{Poisson}(\text{spinoff\_rate}\cdot\max(\bar\pi^I_{t-1},0)\cdot N^{eligible}_{t-1})`,
   eligible parents being market firms that have operated ``spinoff_min_age`` years (this lag makes the
   initiation phase); parents are drawn with probability proportional to employment. Outside entrants
   :math:`\sim \text{Poisson}(\text{outside\_entry\_rate}\cdot\max(\bar\pi^I_{t-1},0))`. In t0 the
   ``n_founders`` founders enter: merchants if ``technology == "simple"``, engineers if ``"complex"``.
2. **Managers**. Founders' schooling is rounded :math:`N(\mu_s, \sigma_s)` (spin-off founders: mean
   ``spinoff_schooling_mean``), clipped to [0, ``max_schooling``]. With probability ``succession_rate`` a year
   the manager hands over to generation g+1 ≤ 5, whose schooling is the predecessor's +
   ``successor_schooling_gain`` + N(0, ``successor_schooling_sd``²), rounded (successors are better educated).
   Prior occupations of outside entrants and successors follow ``ClusterParams.occupations``.
3. **Phase trigger**. The quality-improvement phase starts in the first year t with
   :math:`\bar\pi^I_{t-1} <` ``innovation_trigger`` (profitability of imitation has fallen).
4. **Innovation** (the known probit). A firm is *at risk* when active, not yet an innovator, not a
   subcontractor, and t ≥ the quality-phase start year. Then

   .. math:: \Pr(\text{innovate}_{it}=1 \mid \text{at risk}) = \Phi(a + b\,s_{it} + c\,\text{pool}_t),
             \qquad \text{pool}_t = \ln(E_{t-1}/\text{pool\_reference}),

   with :math:`s_{it}` = ``manager_schooling_years_t``, :math:`E_{t-1}` total cluster employment, (a, b, c) =
   (``innovation_intercept``, ``innovation_schooling``, ``innovation_pool``); ``schooling_matters=False`` sets
   b = 0 and a to a + b·``schooling_reference`` (same hazard at the reference schooling). Innovation is
   absorbing. The census columns ``at_risk`` and ``innovates`` hold exactly the risk set and event, so
   ``probit("innovates ~ manager_schooling_years_t + pool", census[at_risk])`` recovers (a, b, c).
5. **Size**. Log employment follows
   :math:`\ln L_{it} = \ln L_{i,t-1} + \text{size\_response}\cdot\bar\pi^{g(i)}_{t-1}
   + \text{innovator\_growth}\cdot I_{it} + u_{it}`, :math:`u \sim N(0, \text{size\_shock\_sd}^2)`, with
   :math:`\bar\pi^{g}` the lagged mean profit rate of the firm's group (imitators, innovators; 0 for
   subcontractors): a group-level, not own-shock, response so that inputs are strictly exogenous to the TFP shock.
   Entrants draw :math:`\ln L` around ``founder_size``/``entrant_size``. Employees are whole persons ≥ 1.
   Capital :math:`K_{it} = \kappa\,L_{it}\,e^{k_i + v_{it}}`, :math:`k_i \sim N(0, \text{capital\_sd}^2)`,
   :math:`v_{it} \sim N(0, \text{capital\_shock\_sd}^2)`.
6. **Productivity**. :math:`\omega_{it} = u_{it} + \delta I_{it} - \text{gap}\,e^{-\text{age}_{it}/\lambda}`
   with :math:`u` a stationary AR(1), the first-order Markov process that control-function estimators assume
   (Olley & Pakes 1996; Ackerberg, Caves & Frazer 2015): :math:`u_{it} = \rho u_{i,t-1} + \eta_{it}`,
   :math:`\eta \sim N(0, (1-\rho^2)\sigma_u^2)`, an entrant's :math:`u \sim N(0, \sigma_u^2)`, with
   ρ = ``tfp_persistence`` and :math:`\sigma_u^2 = \text{tfp\_sd}^2 + \text{tfp\_shock\_sd}^2`.
   Imitators' productivity stagnates (entrants catch up with the lag λ = ``imitation_lag``); innovation adds
   δ = ``tfp_gain``. Output :math:`y_{it} = e^{\omega_{it}} L^{\beta_l}
   K^{\beta_k}`; ``true_tfp`` = :math:`\omega_{it}`.
7. **Market**. Cluster demand for the standard product:
   :math:`P_t = A(1+g)^{t-t_0}(Q_t/Q_{ref})^{-1/\eta}`, :math:`Q_t = \sum_{i \notin sub} y_{it}` — price falls as
   supply grows. An innovator sells at :math:`P_t e^{\theta}` (θ = ``price_premium``) and pays
   :math:`e^{\theta_m}` more per unit of materials. A subcontractor sells at unit cost × (1 + markup).
   Sales :math:`= p_{it} y_{it}`; material cost :math:`= c_m y e^{\theta_m I}`; wage bill :math:`= w_t L`;
   profit = sales − materials − wage bill − r K.
8. **Innovation indicators**. Each firm draws four persistent uniforms; indicator k (own_brand, own_retail_shop,
   long_term_subcontracting, exporter) is on when its uniform is below ``innovator_indicator_prob[k]`` for an
   innovator and below ``imitator_indicator_prob[k]`` otherwise, so the indicators are correlated through
   innovation (``long_term_subcontracting`` is the assembler's long-term relation with its parts suppliers, an
   innovation). ``direct_sales_share`` is a firm-level Beta draw with mean ``innovator_direct_sales`` /
   ``imitator_direct_sales``. A subcontractor (step 9) sells to assemblers only: no brand, no shop, no direct
   sales; it is flagged in the truth column ``subcontractor``.
9. **Exit**. After ``exit_patience`` consecutive years of negative profit a firm leaves the market: a
   non-innovator becomes a subcontractor with probability ``subcontract_prob`` and closes otherwise; an
   innovator closes. Any firm closes with probability ``exogenous_exit``. ``exit_year`` is the first year a firm
   no longer operates.

True phases: *initiation* from t0 (the pioneers alone: outsiders and spin-offs enter only from year t0 +
``spinoff_min_age``); *quantity_expansion* from the first year an imitator (spin-off or outsider) enters;
*quality_improvement* from the trigger year of step 3.

The yearly loop is written with numpy over the firms alive (no package simulates this model, so it is our own);
a 300-firm, 40-year cluster takes a few milliseconds (``benchmarks/bench_simulate.py``). The same seed gives the
same output: all draws come from one :class:`numpy.random.Generator` in a fixed order.

Reference: Sonobe, T. and K. Otsuka (2006), *Cluster-Based Industrial Development: An East Asian Model*, ch. 2;
Otsuka, K. and T. Sonobe (2011), World Bank PRWP 5703.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from .params import INNOVATION_INDEX, NEUTRAL_OCCUPATIONS, ClusterParams, Truth, preset, true_effects

_OCC = {name: i for i, name in enumerate(schema.OCCUPATION_CODES)}
_STATE_INT = ("born", "parent", "focc", "gen", "mocc", "innov_year", "neg", "exit_year")
_STATE_FLOAT = ("omega", "gap", "kint", "school", "logL", "dss")
_STATE_BOOL = ("spin", "innov", "sub", "alive")
PHASES = ("initiation", "quantity_expansion", "quality_improvement")


def world_price(p: ClusterParams, profit_rate: float = 0.35) -> float:
    """The price of the standard product when ``stagnation`` is off: a founder of average size and TFP earns
    ``profit_rate`` on its sales at the first year's wage."""
    L0 = p.founder_size
    K0 = p.capital_per_worker * L0
    y0 = L0**p.beta_labour * K0**p.beta_capital
    unit_cost = p.material_cost + p.wage * L0 / y0 + p.capital_cost * K0 / y0
    return unit_cost / (1.0 - profit_rate)


class _State:
    """Per-firm arrays with a capacity that doubles when entry exceeds it."""

    def __init__(self, cap: int) -> None:
        self.n = 0
        self.cap = cap
        for k in _STATE_INT:
            setattr(self, k, np.full(cap, -1, dtype=np.int64))
        for k in _STATE_FLOAT:
            setattr(self, k, np.zeros(cap))
        for k in _STATE_BOOL:
            setattr(self, k, np.zeros(cap, dtype=bool))
        self.ind_u = np.ones((cap, 4))

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= self.cap:
            return
        new = max(need, 2 * self.cap)
        for k in _STATE_INT + _STATE_FLOAT + _STATE_BOOL:
            a = getattr(self, k)
            b = np.full(new, -1, dtype=a.dtype) if a.dtype == np.int64 else np.zeros(new, dtype=a.dtype)
            b[: self.cap] = a
            setattr(self, k, b)
        u = np.ones((new, 4))
        u[: self.cap] = self.ind_u
        self.ind_u = u
        self.cap = new


def _draw_occ(rng: np.random.Generator, table: tuple[tuple[str, ...], tuple[float, ...]], n: int) -> np.ndarray:
    codes = np.array([_OCC[c] for c in table[0]])
    return codes[rng.choice(len(codes), size=n, p=table[1])]


def _enter(st: _State, rng: np.random.Generator, p: ClusterParams, year: int, n_new: int, *, kind: str,
           parents: np.ndarray | None = None) -> None:
    """Add ``n_new`` firms of ``kind`` ('founder', 'spinoff', 'outside') founded in ``year``."""
    if n_new <= 0:
        return
    if st.n + n_new > p.max_firms:
        raise RuntimeError(f"the simulation created more than max_firms={p.max_firms} firms; raise max_firms or "
                           "lower the entry rates")
    st.reserve(n_new)
    s = slice(st.n, st.n + n_new)
    st.born[s] = year
    st.spin[s] = kind == "spinoff"
    st.parent[s] = parents if parents is not None else -1
    if kind == "founder" and p.founders_by_technology:
        st.focc[s] = _OCC[p.founder_occupation]
    elif kind == "founder":
        st.focc[s] = _draw_occ(rng, (tuple(c for c, _ in NEUTRAL_OCCUPATIONS),
                                     tuple(q for _, q in NEUTRAL_OCCUPATIONS)), n_new)
    elif kind == "spinoff":
        st.focc[s] = _OCC["worker_same_industry"]
    else:
        st.focc[s] = _draw_occ(rng, p.occupations("outside"), n_new)
    st.mocc[s] = st.focc[s]
    mean_s = p.spinoff_schooling_mean if kind == "spinoff" else p.founder_schooling_mean
    st.school[s] = np.clip(np.round(rng.normal(mean_s, p.founder_schooling_sd, n_new)), 0, p.max_schooling)
    st.gen[s] = 1
    st.omega[s] = rng.normal(0.0, p.tfp_stationary_sd, n_new)  # the AR(1)'s stationary law: no entry-cohort drift
    st.gap[s] = 0.0 if kind == "founder" else p.entrant_tfp_gap
    st.kint[s] = rng.normal(0.0, p.capital_sd, n_new)
    size = p.founder_size if kind == "founder" else p.entrant_size
    st.logL[s] = np.log(size) + rng.normal(0.0, p.size_sd, n_new) - 0.5 * p.size_sd**2
    st.ind_u[s] = rng.random((n_new, 4))
    st.dss[s] = rng.random(n_new)  # quantile of the direct-sales Beta draw, mapped by status each year
    st.innov[s] = False
    st.innov_year[s] = -1
    st.sub[s] = False
    st.neg[s] = 0
    st.alive[s] = True
    st.exit_year[s] = -1
    st.n += n_new


@lru_cache(maxsize=32)
def _beta_ppf_table(mean: float, conc: float = 8.0) -> np.ndarray:
    """Quantiles of Beta(mean·conc, (1−mean)·conc) on a 1,000-point grid (cached: scipy's ppf is slow)."""
    from scipy import stats

    out = stats.beta(mean * conc, (1 - mean) * conc).ppf(np.linspace(0.0005, 0.9995, 1000))
    out.setflags(write=False)
    return out


def run(p: ClusterParams, seed: Any = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Simulate the cluster; returns (column arrays of the firm-year records, per-firm/per-year info).

    Low-level engine behind :func:`simulate` and :func:`simulate_frame`; column arrays are positional.
    """
    rng = np.random.default_rng(seed)
    st = _State(max(64, 8 * p.n_founders))
    T = p.n_years
    a, b, c = p.effective_intercept, p.effective_schooling_coef, p.innovation_pool
    theta, delta, mat_premium, innov_growth = p.effective_innovation
    p_world = world_price(p)
    ind_innov = np.asarray(p.innovator_indicator_prob)
    ind_imit = np.asarray(p.imitator_indicator_prob)
    dss_innov = _beta_ppf_table(p.innovator_direct_sales, p.direct_sales_concentration)
    dss_imit = _beta_ppf_table(p.imitator_direct_sales, p.direct_sales_concentration)
    log_max_L = float(np.log(p.max_employees))
    succ_occ = p.occupations("successor")

    rec: dict[str, list[np.ndarray]] = {k: [] for k in (
        "idx", "year", "L", "K", "y", "price", "sales", "mat", "wb", "profit", "omega", "school", "gen", "mocc",
        "innov", "sub", "at_risk", "event", "pool")}
    n_active = np.zeros(T, dtype=np.int64)
    mkt_price = np.zeros(T)
    pi_imit_series = np.full(T, np.nan)
    pi_imit, pi_innov, emp_prev = 0.0, 0.0, None
    quality_start: int | None = None
    quantity_start: int | None = None

    for k in range(T):
        year = p.start_year + k
        # 1. entry
        if k == 0:
            _enter(st, rng, p, year, p.n_founders, kind="founder")
            if not p.spinoff_entry:
                st.spin[: p.n_founders] = rng.random(p.n_founders) < p.spinoff_share_off
        else:
            drive = max(pi_imit, 0.0)
            alive = st.alive[: st.n]
            elig = np.flatnonzero(alive & ~st.sub[: st.n] & (year - st.born[: st.n] >= p.spinoff_min_age))
            n_spin = int(rng.poisson(p.spinoff_rate * drive * len(elig))) if len(elig) else 0
            if not p.spinoff_entry:
                # same number of entrants, origin unrelated to the phase: a fixed share are spin-offs of random
                # incumbents
                n_out = int(rng.poisson(p.outside_entry_rate * drive)) if k >= p.spinoff_min_age else 0
                total = n_spin + n_out
                n_spin = int(rng.binomial(total, p.spinoff_share_off))
                n_out = total - n_spin
                elig = np.flatnonzero(alive & ~st.sub[: st.n])
            if n_spin:
                w = np.exp(st.logL[elig])
                parents = elig[rng.choice(len(elig), size=n_spin, p=w / w.sum())]
                _enter(st, rng, p, year, n_spin, kind="spinoff", parents=parents)
            # outsiders imitate only once the pioneers have shown the product for spinoff_min_age years, so the
            # initiation phase holds the pioneers alone (Sonobe & Otsuka 2006, ch. 2)
            if p.spinoff_entry:
                n_out = int(rng.poisson(p.outside_entry_rate * drive)) if k >= p.spinoff_min_age else 0
            _enter(st, rng, p, year, n_out, kind="outside")
            if quantity_start is None and n_spin + n_out > 0:
                quantity_start = year
        n = st.n
        ids = np.flatnonzero(st.alive[:n])
        m = len(ids)
        new = st.born[ids] == year
        old = ~new
        # 2. managers: succession
        succ = old & (rng.random(m) < p.succession_rate) & (st.gen[ids] < 5)
        if succ.any():
            j = ids[succ]
            st.gen[j] += 1
            st.school[j] = np.clip(np.round(st.school[j] + p.successor_schooling_gain
                                            + rng.normal(0.0, p.successor_schooling_sd, len(j))), 0, p.max_schooling)
            st.mocc[j] = _draw_occ(rng, succ_occ, len(j))
        # 3. phase trigger
        if quality_start is None and k > 0 and pi_imit < p.innovation_trigger:
            quality_start = year
        # 4. innovation
        emp_ref = emp_prev if emp_prev is not None else float(np.exp(st.logL[ids]).sum())
        pool = float(np.log(max(emp_ref, 1.0) / p.pool_reference))
        eps_innov = rng.standard_normal(m)
        at_risk = ~st.innov[ids] & ~st.sub[ids] & (quality_start is not None)
        event = at_risk & (a + b * st.school[ids] + c * pool + eps_innov > 0)
        if event.any():
            st.innov[ids[event]] = True
            st.innov_year[ids[event]] = year
        innov = st.innov[ids]
        sub = st.sub[ids]
        # 5. size
        grp_pi = np.where(sub, 0.0, np.where(innov, pi_innov, pi_imit))
        shock_L = rng.normal(0.0, p.size_shock_sd, m)
        grown = st.logL[ids] + p.size_response * grp_pi + innov_growth * innov + shock_L
        st.logL[ids] = np.where(old, np.clip(grown, 0.0, log_max_L), st.logL[ids])
        L = np.maximum(1.0, np.round(np.exp(st.logL[ids])))
        K = p.capital_per_worker * L * np.exp(st.kint[ids] + rng.normal(0.0, p.capital_shock_sd, m))
        # 6. productivity and output
        age = year - st.born[ids]
        # AR(1) persistent productivity, updated for incumbents; an entrant keeps its entry draw this year (one draw
        # per alive firm either way, so the random stream does not depend on tfp_persistence)
        eta = rng.normal(0.0, p.tfp_innovation_sd, m)
        st.omega[ids] = np.where(old, p.tfp_persistence * st.omega[ids] + eta, st.omega[ids])
        omega = st.omega[ids] + delta * innov - st.gap[ids] * np.exp(-age / p.imitation_lag)
        if not p.stagnation and quantity_start is not None:
            omega = omega + p.expansion_tfp_growth * (year - quantity_start)
        y = np.exp(omega) * L**p.beta_labour * K**p.beta_capital
        # 7. market
        Q = float(y[~sub].sum())
        A = p.demand_level * (1.0 + p.demand_growth) ** k
        P = A * (max(Q, 1e-9) / p.demand_quantity) ** (-1.0 / p.demand_elasticity)
        wage = p.wage * (1.0 + p.wage_growth) ** k
        if not p.stagnation:
            # no stagnation: the cluster sells at a world price that entry does not depress, firms learn, and
            # wages rise a little faster than productivity (what eventually ends the expansion)
            P = p_world * (1.0 + p.demand_growth) ** k
            if quantity_start is not None:
                wage *= np.exp((p.expansion_tfp_growth + p.wage_squeeze_off) * (year - quantity_start))
        mat = p.material_cost * y * np.exp(mat_premium * innov)
        wb = wage * L
        capcost = p.capital_cost * K
        unit_cost = (mat + wb + capcost) / y
        price = np.where(sub, unit_cost * (1.0 + p.subcontract_markup), P * np.exp(theta * innov))
        sales = price * y
        profit = sales - mat - wb - capcost
        for key, val in (("idx", ids), ("L", L), ("K", K), ("y", y), ("price", price), ("sales", sales),
                         ("mat", mat), ("wb", wb), ("profit", profit), ("omega", omega),
                         ("school", st.school[ids].copy()), ("gen", st.gen[ids].copy()), ("mocc", st.mocc[ids].copy()),
                         ("innov", innov),
                         ("sub", sub), ("at_risk", at_risk), ("event", event)):
            rec[key].append(val)
        rec["year"].append(np.full(m, year))
        rec["pool"].append(np.full(m, pool))
        n_active[k] = m
        mkt_price[k] = P
        # group profit rates that drive next year's entry and growth
        rate = profit / sales
        imit = ~innov & ~sub
        pi_imit = float(rate[imit].mean()) if imit.any() else pi_imit
        pi_innov = float(rate[innov].mean()) if innov.any() else pi_imit
        pi_imit_series[k] = pi_imit
        emp_prev = float(L.sum())
        # 9. exit
        negative = profit < 0
        st.neg[ids] = np.where(negative, st.neg[ids] + 1, 0)
        leave = (st.neg[ids] >= p.exit_patience) if p.exit_selects else np.zeros(m, dtype=bool)
        to_sub = leave & ~innov & ~sub & (rng.random(m) < p.subcontract_prob)
        closes = (leave & ~to_sub & ~sub) | (rng.random(m) < (p.exogenous_exit if p.exit_selects
                                                              else p.random_exit_rate))
        st.sub[ids[to_sub]] = True
        st.neg[ids[to_sub]] = 0
        st.alive[ids[closes]] = False
        st.exit_year[ids[closes]] = year + 1

    cols = {key: np.concatenate(v) for key, v in rec.items()}
    idx = cols["idx"]
    innov_f = cols["innov"]
    # indicators and direct sales: persistent firm draws mapped through the firm's current status
    thr = np.where(innov_f[:, None], ind_innov[None, :], ind_imit[None, :])
    ind = st.ind_u[idx] < thr
    ind[:, :2] &= ~cols["sub"][:, None]  # a subcontractor sells to assemblers: no brand, no shop
    q = np.minimum((st.dss[idx] * 1000).astype(np.int64), 999)
    cols["dss"] = np.where(cols["sub"], 0.0, np.where(innov_f, dss_innov[q], dss_imit[q]))
    cols["ind"] = ind
    last_year = p.start_year + T - 1
    phase_years = {"initiation": p.start_year, "quantity_expansion": quantity_start,
                   "quality_improvement": quality_start}
    if quantity_start is not None and quality_start is not None and quantity_start > quality_start:
        phase_years["quantity_expansion"] = quality_start
    info = {
        "state": st, "n_active": n_active, "market_price": mkt_price, "imitator_profit_rate": pi_imit_series,
        "phase_years": phase_years, "last_year": last_year,
    }
    return cols, info


def _phase_of(year: int, phase_years: dict[str, int | None]) -> str:
    out = "initiation"
    for name in PHASES[1:]:
        start = phase_years.get(name)
        if start is not None and year >= start:
            out = name
    return out


def simulate_frame(params: ClusterParams | str | None = None, seed: Any = None) -> tuple[pd.DataFrame, Truth]:
    """The census as one long DataFrame (columns ``firm_id``, ``year``, … ; no index) and its :class:`Truth`.

    Canonical columns plus extras: ``true_tfp`` (ω), ``true_output`` (y), ``true_phase``, ``innovator`` (has
    innovated by t), ``innovation_year``, ``subcontractor``, ``at_risk`` and ``innovates`` (the risk set and
    event of the innovation probit), ``pool`` (pool_t), ``market_price`` (P_t).
    """
    p = params if isinstance(params, ClusterParams) else preset(params or "garments")
    cols, info = run(p, seed)
    st: _State = info["state"]
    idx = cols["idx"]
    prefix = p.industry[:1].upper() or "F"
    ids = np.array([f"{prefix}{i + 1:05d}" for i in range(st.n)], dtype=object)
    parent_ids = np.where(st.parent[: st.n] >= 0, ids[np.maximum(st.parent[: st.n], 0)], None)
    occ_cat = list(schema.OCCUPATION_CODES)
    # firm-level manager attributes = the manager in the firm's last simulated year
    last_pos = np.full(st.n, -1, dtype=np.int64)
    np.maximum.at(last_pos, idx, np.arange(len(idx)))
    phase_years = info["phase_years"]
    exit_year = st.exit_year[idx]
    alive_end = exit_year < 0
    year = cols["year"]
    innov_year = st.innov_year[idx]
    df = pd.DataFrame({
        "firm_id": pd.array(ids[idx], dtype="string"),
        "year": year,
        "cluster": p.cluster,
        "industry": p.industry,
        "technology": pd.Categorical([p.technology] * len(idx), categories=list(schema.TECHNOLOGY_CODES)),
        "founding_year": st.born[idx],
        "founder_prior_occupation": pd.Categorical.from_codes(st.focc[idx], categories=occ_cat),
        "is_spinoff": st.spin[idx],
        "spinoff_parent_id": pd.array(parent_ids[idx], dtype="string"),
        "manager_schooling_years": cols["school"][last_pos[idx]],
        "manager_prior_occupation": pd.Categorical.from_codes(cols["mocc"][last_pos[idx]], categories=occ_cat),
        "manager_generation": cols["gen"][last_pos[idx]],
        "exit_year": pd.arrays.IntegerArray(exit_year, alive_end.copy()),
        "exit_status": pd.Categorical(np.where(alive_end, "active", "closed"),
                                      categories=list(schema.EXIT_STATUS_CODES)),
        "sales": cols["sales"],
        "material_cost": cols["mat"],
        "capital": cols["K"],
        "employees": cols["L"],
        "wage_bill": cols["wb"],
        "product_price": cols["price"],
        "own_brand": cols["ind"][:, 0],
        "own_retail_shop": cols["ind"][:, 1],
        "direct_sales_share": cols["dss"],
        "long_term_subcontracting": cols["ind"][:, 2],
        "exporter": cols["ind"][:, 3],
        "active": True,
        "manager_schooling_years_t": cols["school"],
        "manager_generation_t": cols["gen"],
        "manager_prior_occupation_t": pd.Categorical.from_codes(cols["mocc"], categories=occ_cat),
        "profit": cols["profit"],
        "true_tfp": cols["omega"],
        "true_output": cols["y"],
        "innovator": cols["innov"],
        "innovation_year": pd.arrays.IntegerArray(innov_year.copy(), innov_year < 0),
        "subcontractor": cols["sub"],
        "at_risk": cols["at_risk"],
        "innovates": cols["event"],
        "pool": cols["pool"],
        "market_price": info["market_price"][year - p.start_year],
    })
    # the recorded phase uses the definitions at the time; re-derive from the final phase years for consistency
    years = np.arange(p.start_year, p.start_year + p.n_years)
    by_year = {int(t): _phase_of(int(t), phase_years) for t in years}
    codes = np.array([PHASES.index(by_year[int(t)]) for t in years], dtype=np.int8)
    df["true_phase"] = pd.Categorical.from_codes(codes[year - p.start_year], categories=list(PHASES))
    truth = Truth(params=p, phase_years=phase_years, phase_by_year=by_year, effects=true_effects(p),
                  innovation_index=INNOVATION_INDEX, seed=_seed_repr(seed))
    return df, truth


def _seed_repr(seed: Any) -> Any:
    if seed is None or isinstance(seed, (int, np.integer)):
        return None if seed is None else int(seed)
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": seed.entropy, "spawn_key": tuple(seed.spawn_key)}
    return repr(seed)


def simulate(params: ClusterParams | str | None = None, seed: Any = None):
    """Simulate a cluster and return the census as a :class:`~clusterecon.panel.SurveyPanel`.

    Parameters
    ----------
    params : ClusterParams, preset name (``"garments"``, ``"machinery"``) or None (garments).
    seed : anything :func:`numpy.random.default_rng` accepts (int, SeedSequence, Generator).

    Returns
    -------
    SurveyPanel with ``design.kind == "census"`` (every firm ever active, exits observable) and ``truth`` a
    :class:`~clusterecon.simulate.params.Truth` (parameters, phase years, true effects). Extra columns are listed
    in :func:`simulate_frame`.
    """
    from ..panel import SurveyDesign, SurveyPanel

    df, truth = simulate_frame(params, seed)
    years = tuple(truth.phase_by_year)
    return SurveyPanel.from_frame(df, design=SurveyDesign(kind="census", survey_years=years,
                                                          source=f"clusterecon.simulate ({truth.params.cluster})"),
                                  labels=EXTRA_LABELS, truth=truth)


EXTRA_LABELS = {
    "true_tfp": "True log TFP (simulated)",
    "true_output": "True physical output (simulated)",
    "true_phase": "True phase of the cluster (simulated)",
    "innovator": "Has innovated (simulated truth)",
    "innovation_year": "Year of first innovation (simulated truth)",
    "subcontractor": "Became a subcontractor (simulated truth)",
    "at_risk": "At risk of first innovation (simulated truth)",
    "innovates": "Innovates for the first time this year (simulated truth)",
    "pool": "Human-resource pool ln(E_{t-1}/E_ref) (simulated)",
    "market_price": "Market price of the standard product (simulated)",
    "manager_prior_occupation_t": "Current manager's prior occupation (simulated)",
}
