"""Parameters of the endogenous cluster model and the true values a simulated panel carries.

:class:`ClusterParams` holds every parameter of :mod:`clusterecon.simulate.model` with its meaning and unit; the
equations that use them are in the model's module docstring and in ``docs/simulator.md``. Two presets follow the
Sonobe–Otsuka case studies: :func:`garments` (simple technology, founded by merchants, many small firms, fast
spin-off entry) and :func:`machinery` (complex technology, founded by engineers, fewer and more capital-intensive
firms, slower entry, a longer initiation phase). :class:`Truth` is what the simulator knows and a survey does not:
the parameters, the true phase years and the true effects; it rides on ``SurveyPanel.truth``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from types import MappingProxyType
from typing import Any

from ..schema import OCCUPATION_CODES

#: founders' prior occupations when ``founders_by_technology`` is off: equal probabilities, none tied to technology
NEUTRAL_OCCUPATIONS: tuple[tuple[str, float], ...] = tuple(
    (c, 1 / 7) for c in ("merchant", "engineer", "worker_other_industry", "soe_employee", "artisan", "farmer", "other"))

#: default prior occupations of outside entrants and of successors, by technology: ((code, probability), ...)
DEFAULT_OCCUPATIONS: dict[str, dict[str, tuple[tuple[str, float], ...]]] = {
    "outside": {
        "simple": (("merchant", 0.5), ("worker_other_industry", 0.2), ("artisan", 0.15), ("farmer", 0.15)),
        "complex": (("engineer", 0.5), ("soe_employee", 0.25), ("worker_other_industry", 0.15), ("merchant", 0.1)),
    },
    "successor": {
        "simple": (("worker_same_industry", 0.4), ("merchant", 0.3), ("other", 0.3)),
        "complex": (("worker_same_industry", 0.4), ("engineer", 0.4), ("other", 0.2)),
    },
}


@dataclass(frozen=True, kw_only=True)
class ClusterParams:
    """All parameters of the cluster model (see ``docs/simulator.md`` for the equations).

    Time and population
    -------------------
    start_year, n_years : first calendar year and number of simulated years.
    n_founders : firms that start the cluster in ``start_year``.
    cluster, industry : labels written to the ``cluster`` and ``industry`` columns.
    technology : ``"simple"`` (founders are merchants) or ``"complex"`` (founders are engineers).

    Entry and imitation
    -------------------
    spinoff_rate : expected spin-offs per incumbent per unit of the imitators' lagged profit rate.
    spinoff_min_age : years an incumbent must have operated before its workers spin off (drives initiation).
    outside_entry_rate : expected outside entrants per year per unit of the imitators' lagged profit rate.
    entrant_tfp_gap : initial log-TFP shortfall of an entrant relative to its own long-run level.
    imitation_lag : years (e-folding) over which an entrant closes ``entrant_tfp_gap`` by imitation.
    max_firms : hard cap on firms ever created (memory guard).

    Technology and firm size
    ------------------------
    beta_labour, beta_capital : output elasticities, ``y = exp(ω) L^βl K^βk``.
    tfp_sd, tfp_shock_sd : log TFP's persistent part is a stationary AR(1) with variance
        ``tfp_sd² + tfp_shock_sd²`` (the firm-effect and yearly-shock variances of a firm effect + i.i.d. shock
        model, which has the same cross-section dispersion but is not the Markov process control functions need).
    tfp_persistence : AR(1) coefficient ρ in [0, 1) of log TFP, ``u_it = ρ u_i,t−1 + η_it``; the innovation η has
        sd ``sqrt((1 − ρ²)(tfp_sd² + tfp_shock_sd²))`` and entrants draw u from the stationary law.
    capital_per_worker : capital per worker (currency units); ``capital_sd`` its firm-level log dispersion and
        ``capital_shock_sd`` the sd of its yearly log shock.
    max_employees : cap on a firm's employees (keeps log size finite in long simulations).
    founder_size, entrant_size : mean employees of founders and of entrants (lognormal, sd ``size_sd``).
    size_response : growth of log employment per unit of the lagged mean profit rate of the firm's group.
    innovator_growth : extra yearly growth of log employment of innovators.
    size_shock_sd : sd of the yearly log-employment shock.

    Market
    ------
    demand_level : price of the standard product when quantity equals ``demand_quantity`` in ``start_year``.
    demand_quantity : reference cluster output (units).
    demand_elasticity : price elasticity of cluster demand η, ``P_t = A (1+g)^(t−t0) (Q_t/Q_ref)^(−1/η)``.
    demand_growth : yearly growth g of the demand level.
    material_cost : materials per unit of output (currency units).
    wage, wage_growth : yearly wage per worker in ``start_year`` and its yearly growth.
    capital_cost : user cost of capital per currency unit per year.

    Managers
    --------
    founder_schooling_mean, founder_schooling_sd : schooling (years) of outside founders/entrants.
    spinoff_schooling_mean : mean schooling of spin-off founders (former workers).
    max_schooling : schooling is rounded to whole years and clipped to [0, max_schooling].
    succession_rate : yearly probability that the manager hands over to the next generation (at most 5).
    successor_schooling_gain, successor_schooling_sd : mean and sd of a successor's extra schooling.
    outside_occupations, successor_occupations : prior occupations (canonical codes) and probabilities of outside
        entrants and of successors; ``None`` takes the technology's default (see ``DEFAULT_OCCUPATIONS``).

    Innovation (the probit with known coefficients)
    -----------------------------------------------
    innovation_trigger : the quality phase starts in the first year whose imitators' mean profit rate in the
        previous year is below this value; from then on firms are at risk of first innovation.
    innovation_intercept (a), innovation_schooling (b), innovation_pool (c) :
        ``P(innovate_it = 1 | at risk) = Φ(a + b·s_it + c·pool_t)``, s_it = ``manager_schooling_years_t``,
        ``pool_t = ln(E_{t−1} / pool_reference)`` with E = cluster employment.
    schooling_matters : switch; ``False`` sets b = 0 and the intercept to a + b·``schooling_reference`` (the
        hazard of a manager with reference schooling is unchanged), for size tests of an innovation probit.
    schooling_reference : schooling (years) at which the switch keeps the hazard unchanged.
    pool_reference : employment that makes ``pool_t = 0``.
    price_premium : log price premium θ of an innovator's product.
    tfp_gain : log-TFP gain δ from innovation.
    quality_material_premium : log extra material cost per unit of a quality product.
    innovator_indicator_prob, imitator_indicator_prob : probability of each innovation indicator (own_brand,
        own_retail_shop, long_term_subcontracting, exporter) for innovators / non-innovators.
    innovator_direct_sales, imitator_direct_sales : mean share of direct sales (Beta with concentration
        ``direct_sales_concentration``).

    Mechanism switches (for size tests of the hypothesis battery; each keeps a cluster that goes through the phases)
    ---------------------------------------------------------------------------------------------------------------
    founders_by_technology : ``False`` draws the founders' prior occupations from :data:`NEUTRAL_OCCUPATIONS`
        (equal probabilities, no occupation tied to the technology) instead of all merchants / engineers.
    spinoff_entry : ``False`` keeps the number of entrants each year but labels each entrant, and each founder, a
        spin-off with the fixed probability ``spinoff_share_off`` whatever the phase (parents: random incumbents);
        spin-offs then no longer drive quantity expansion.
    stagnation : ``False`` removes what makes productivity stagnate under imitation: the cluster sells at a world
        price that entry does not depress (:func:`~clusterecon.simulate.model.world_price`: a typical founder earns a
        35% profit rate, growing with ``demand_growth``), every firm's TFP grows by ``expansion_tfp_growth`` a year
        from the start of quantity expansion, and wages grow ``wage_squeeze_off`` a year faster than that (the
        squeeze on profits that still ends the expansion and starts the quality phase). Value added per worker then
        rises about 8% a year during expansion instead of falling.
    innovation_pays : ``False`` sets the price premium, TFP gain, material premium and extra growth of innovators
        to zero (innovating changes nothing but the indicators).
    exit_selects : ``False`` replaces the loss-driven exit (which spares innovators) by random closure with yearly
        probability ``random_exit_rate`` for every firm.
    schooling_matters : see Innovation above.

    Exit
    ----
    exit_patience : consecutive years of negative profit after which a firm leaves the market.
    subcontract_prob : probability that such a non-innovator becomes a subcontractor instead of closing.
    subcontract_markup : a subcontractor's price is unit cost times ``1 + markup``.
    exogenous_exit : yearly probability of closing for other reasons.
    """

    # time and population
    start_year: int = 1970
    n_years: int = 45
    n_founders: int = 5
    cluster: str = "sim-garments"
    industry: str = "garments"
    technology: str = "simple"
    # entry and imitation
    spinoff_rate: float = 0.6
    spinoff_min_age: int = 4
    outside_entry_rate: float = 1.0
    entrant_tfp_gap: float = 0.3
    imitation_lag: float = 2.0
    max_firms: int = 20000
    # technology and size
    beta_labour: float = 0.6
    beta_capital: float = 0.3
    tfp_sd: float = 0.15
    tfp_shock_sd: float = 0.1
    tfp_persistence: float = 0.8
    capital_per_worker: float = 1.0
    capital_sd: float = 0.3
    capital_shock_sd: float = 0.25
    max_employees: float = 5000.0
    founder_size: float = 12.0
    entrant_size: float = 6.0
    size_sd: float = 0.4
    size_response: float = 0.15
    innovator_growth: float = 0.06
    size_shock_sd: float = 0.1
    # market
    demand_level: float = 9.0
    demand_quantity: float = 2500.0
    demand_elasticity: float = 1.5
    demand_growth: float = 0.01
    material_cost: float = 4.0
    wage: float = 2.5
    wage_growth: float = 0.01
    capital_cost: float = 0.15
    # managers
    founder_schooling_mean: float = 9.0
    founder_schooling_sd: float = 2.5
    spinoff_schooling_mean: float = 7.5
    succession_rate: float = 0.03
    successor_schooling_gain: float = 3.0
    successor_schooling_sd: float = 1.5
    max_schooling: float = 22.0
    outside_occupations: tuple[tuple[str, float], ...] | None = None
    successor_occupations: tuple[tuple[str, float], ...] | None = None
    # innovation
    innovation_trigger: float = 0.15
    innovation_intercept: float = -3.2
    innovation_schooling: float = 0.15
    innovation_pool: float = 0.3
    schooling_matters: bool = True
    schooling_reference: float = 9.0
    pool_reference: float = 3000.0
    price_premium: float = 0.4
    tfp_gain: float = 0.25
    quality_material_premium: float = 0.2
    innovator_indicator_prob: tuple[float, float, float, float] = (0.8, 0.5, 0.6, 0.3)
    imitator_indicator_prob: tuple[float, float, float, float] = (0.05, 0.05, 0.05, 0.02)
    innovator_direct_sales: float = 0.45
    imitator_direct_sales: float = 0.08
    direct_sales_concentration: float = 8.0
    # exit
    exit_patience: int = 2
    subcontract_prob: float = 0.25
    subcontract_markup: float = 0.03
    exogenous_exit: float = 0.01
    # mechanism switches
    founders_by_technology: bool = True
    spinoff_entry: bool = True
    spinoff_share_off: float = 0.3
    stagnation: bool = True
    expansion_tfp_growth: float = 0.06
    wage_squeeze_off: float = 0.03
    innovation_pays: bool = True
    exit_selects: bool = True
    random_exit_rate: float = 0.04

    def __post_init__(self) -> None:
        if self.technology not in ("simple", "complex"):
            raise ValueError(f"technology must be 'simple' or 'complex', not {self.technology!r}")
        if self.n_years < 2 or self.n_founders < 1:
            raise ValueError("n_years must be >= 2 and n_founders >= 1")
        if not 0 <= self.tfp_persistence < 1:
            raise ValueError(f"tfp_persistence must be in [0, 1) (a stationary AR(1)), not {self.tfp_persistence!r}")
        if self.demand_elasticity <= 0:
            raise ValueError("demand_elasticity must be positive")
        for name in ("outside_occupations", "successor_occupations"):
            table = getattr(self, name)
            if table is None:
                continue
            bad = [c for c, _ in table if c not in OCCUPATION_CODES]
            if bad or abs(sum(q for _, q in table) - 1) > 1e-9:
                raise ValueError(f"{name} needs (canonical occupation code, probability) pairs with probabilities "
                                 f"summing to 1; unknown codes: {bad}")
        for name in ("innovator_indicator_prob", "imitator_indicator_prob"):
            p = getattr(self, name)
            if len(p) != 4 or not all(0 <= x <= 1 for x in p):
                raise ValueError(f"{name} needs four probabilities in [0, 1] (brand, retail, subcontracting, export)")

    def occupations(self, who: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """(codes, probabilities) of the prior occupations of ``who`` = "outside" entrants or "successor"s."""
        table = self.outside_occupations if who == "outside" else self.successor_occupations
        if table is None:
            table = DEFAULT_OCCUPATIONS[who][self.technology]
        return tuple(c for c, _ in table), tuple(float(q) for _, q in table)

    @property
    def years(self) -> range:
        return range(self.start_year, self.start_year + self.n_years)

    @property
    def tfp_stationary_sd(self) -> float:
        """sd of the stationary law of the AR(1) part of log TFP, sqrt(tfp_sd² + tfp_shock_sd²)."""
        return math.hypot(self.tfp_sd, self.tfp_shock_sd)

    @property
    def tfp_innovation_sd(self) -> float:
        """sd of the AR(1) innovation η that keeps the variance stationary, sqrt(1 − ρ²) · tfp_stationary_sd."""
        return math.sqrt(1.0 - self.tfp_persistence**2) * self.tfp_stationary_sd

    @property
    def effective_schooling_coef(self) -> float:
        """b as used by the model: ``innovation_schooling`` if ``schooling_matters`` else 0."""
        return self.innovation_schooling if self.schooling_matters else 0.0

    @property
    def effective_intercept(self) -> float:
        """a as used by the model: shifted by b·``schooling_reference`` when ``schooling_matters`` is off."""
        if self.schooling_matters:
            return self.innovation_intercept
        return self.innovation_intercept + self.innovation_schooling * self.schooling_reference

    @property
    def effective_innovation(self) -> tuple[float, float, float, float]:
        """(price premium θ, TFP gain δ, material premium, innovator growth) as used by the model: all zero when
        ``innovation_pays`` is off."""
        if not self.innovation_pays:
            return 0.0, 0.0, 0.0, 0.0
        return self.price_premium, self.tfp_gain, self.quality_material_premium, self.innovator_growth

    @property
    def founder_occupation(self) -> str:
        return "merchant" if self.technology == "simple" else "engineer"

    def replace(self, **changes: Any) -> ClusterParams:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def garments(**changes: Any) -> ClusterParams:
    """Simple-technology cluster (garments-like): merchant founders, many small labour-intensive firms."""
    return ClusterParams(**changes)


def machinery(**changes: Any) -> ClusterParams:
    """Complex-technology cluster (machine-tools-like): engineer founders, capital-intensive firms, slower entry.

    Spin-offs need longer experience (``spinoff_min_age`` 6), firms are larger and more capital intensive, managers
    more schooled, and exports are a more common innovation channel.
    """
    base = dict(
        n_founders=3,
        cluster="sim-machinery",
        industry="machinery",
        technology="complex",
        start_year=1965,
        n_years=50,
        spinoff_rate=0.5,
        spinoff_min_age=6,
        outside_entry_rate=0.5,
        entrant_tfp_gap=0.4,
        imitation_lag=3.0,
        beta_labour=0.5,
        beta_capital=0.4,
        capital_per_worker=5.0,
        founder_size=20.0,
        entrant_size=10.0,
        demand_level=20.0,
        demand_quantity=4000.0,
        material_cost=8.0,
        wage=4.0,
        founder_schooling_mean=13.0,
        founder_schooling_sd=2.0,
        schooling_reference=12.0,
        spinoff_schooling_mean=10.0,
        innovation_trigger=0.2,
        innovation_intercept=-3.6,
        innovation_schooling=0.18,
        pool_reference=4000.0,
        price_premium=0.35,
        tfp_gain=0.3,
        innovator_indicator_prob=(0.7, 0.2, 0.7, 0.45),
        imitator_indicator_prob=(0.05, 0.02, 0.1, 0.03),
    )
    base.update(changes)
    return ClusterParams(**base)


PRESETS = {"garments": garments, "machinery": machinery}


def preset(name: str, **changes: Any) -> ClusterParams:
    """The preset called ``name`` (``"garments"`` or ``"machinery"``) with ``changes`` applied."""
    try:
        return PRESETS[name](**changes)
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class Truth:
    """What a simulated panel really is.

    ``params``: the :class:`ClusterParams`; ``phase_years``: first year of each phase (``initiation``,
    ``quantity_expansion``, ``quality_improvement``; ``None`` when a phase was not reached); ``phase_by_year``: the
    true phase of every simulated year; ``effects``: true coefficients by name (see :func:`true_effects`);
    ``innovation_index``: the probit index in words; ``sampling``: how a survey drew its sample (``None`` for
    the census); ``seed``: the seed the census was simulated with.
    """

    params: ClusterParams
    phase_years: Mapping[str, int | None]
    phase_by_year: Mapping[int, str]
    effects: Mapping[str, float]
    innovation_index: str
    sampling: Mapping[str, Any] | None = None
    seed: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "phase_years", MappingProxyType(dict(self.phase_years)))
        object.__setattr__(self, "phase_by_year", MappingProxyType(dict(self.phase_by_year)))
        object.__setattr__(self, "effects", MappingProxyType(dict(self.effects)))
        if self.sampling is not None:
            object.__setattr__(self, "sampling", MappingProxyType(dict(self.sampling)))

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (JSON-serialisable except for exotic seeds) of the truth."""
        samp = None
        if self.sampling is not None:
            samp = {k: (asdict(v) if hasattr(v, "__dataclass_fields__") else v) for k, v in self.sampling.items()}
        return {"params": self.params.to_dict(), "phase_years": dict(self.phase_years),
                "phase_by_year": {str(k): v for k, v in self.phase_by_year.items()}, "effects": dict(self.effects),
                "innovation_index": self.innovation_index, "sampling": samp, "seed": self.seed}

    def with_sampling(self, **sampling: Any) -> Truth:
        return replace(self, sampling=sampling)

    def summary(self) -> str:
        p = self.params
        seed = self.seed["entropy"] if isinstance(self.seed, dict) and "entropy" in self.seed else self.seed
        lines = [f"Simulated cluster {p.cluster} ({p.industry}, {p.technology} technology), seed {seed}"]
        lines.append("Phase start years: " + ", ".join(f"{k} {v}" for k, v in self.phase_years.items()))
        lines.append("Innovation: " + self.innovation_index)
        lines += [f"  {k} = {v:g}" for k, v in self.effects.items()]
        return "\n".join(lines)


INNOVATION_INDEX = ("P(innovate_it = 1 | at risk) = Phi(a + b*manager_schooling_years_t + c*pool_t), "
                    "pool_t = ln(cluster employment_{t-1} / pool_reference); at risk = active, not yet innovated, "
                    "not a subcontractor, year >= quality_improvement start")


def true_effects(p: ClusterParams) -> dict[str, float]:
    """True coefficients a user can try to recover, by name.

    * ``innovation_intercept``, ``innovation_schooling``, ``innovation_pool``: the probit (a, b, c) above;
      with ``schooling_matters`` off, ``innovation_schooling`` is 0 and the intercept a + b·schooling_reference.
    * ``beta_labour``, ``beta_capital``: output elasticities of the quantity production function.
    * ``log_price_premium`` (θ), ``log_tfp_gain`` (δ) of innovation; ``log_revenue_tfp_gain`` = θ + δ is the
      coefficient on the innovation dummy in a firm+year fixed-effects regression of ln sales on ln L, ln K and it.
    * ``tfp_persistence``: ρ of log TFP's AR(1) part, what a control function's law of motion ``motion="ar1"``
      estimates.
    """
    theta, delta, _, _ = p.effective_innovation
    return {
        "innovation_intercept": p.effective_intercept,
        "innovation_schooling": p.effective_schooling_coef,
        "innovation_pool": p.innovation_pool,
        "beta_labour": p.beta_labour,
        "beta_capital": p.beta_capital,
        "log_price_premium": theta,
        "log_tfp_gain": delta,
        "log_revenue_tfp_gain": theta + delta,
        "tfp_persistence": p.tfp_persistence,
    }

