"""The simulated world's parameters, in one place. docs/simulator.md explains each."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.simulator.programs import DEFAULT_EFFECTS, ProgramEffect

REGIONS: dict[str, dict] = {
    # share of dealers, yearly market growth, cities, service quality (higher = slower answers)
    "华东": {"share": 0.27, "growth": 0.04, "service": 0.00,
             "cities": ["上海", "杭州", "南京", "苏州", "宁波", "合肥", "无锡"]},
    "华南": {"share": 0.19, "growth": 0.05, "service": 0.05,
             "cities": ["广州", "深圳", "佛山", "东莞", "厦门", "南宁"]},
    "华北": {"share": 0.15, "growth": 0.01, "service": 0.10,
             "cities": ["北京", "天津", "石家庄", "太原", "济南", "青岛"]},
    "华中": {"share": 0.13, "growth": 0.03, "service": 0.10,
             "cities": ["武汉", "长沙", "郑州", "南昌"]},
    "西南": {"share": 0.12, "growth": 0.07, "service": 0.20,
             "cities": ["成都", "重庆", "昆明", "贵阳"]},
    "西北": {"share": 0.07, "growth": 0.02, "service": 0.30,
             "cities": ["西安", "兰州", "银川", "乌鲁木齐"]},
    "东北": {"share": 0.07, "growth": -0.03, "service": 0.25,
             "cities": ["沈阳", "大连", "长春", "哈尔滨"]},
}

TIERS = {"A": 0.15, "B": 0.35, "C": 0.50}
TIER_MONTHLY_REVENUE = {"A": 420_000.0, "B": 140_000.0, "C": 45_000.0}  # median, CNY
CHANNELS = {"showroom": 0.70, "online": 0.15, "project": 0.15}
CHANNEL_REVENUE = {"showroom": 1.0, "online": 0.8, "project": 1.4}

# category: (list price per unit in CNY, mean extra units per line, showroom/online/project weight)
CATEGORIES: dict[str, tuple[float, float, tuple[float, float, float]]] = {
    "cabinets": (2600.0, 0.8, (3.0, 2.0, 4.0)),
    "countertops": (1400.0, 0.8, (2.0, 1.5, 2.5)),
    "wardrobes": (2100.0, 0.8, (2.5, 2.0, 3.0)),
    "doors": (1700.0, 0.6, (1.5, 1.0, 3.0)),
    "hardware": (90.0, 6.0, (1.5, 2.5, 1.0)),
    "appliances": (3300.0, 0.2, (1.2, 2.0, 0.6)),
}
SKUS_PER_CATEGORY = 40

CAUSES = ("service", "quality", "logistics", "price", "competitor", "neglect")
ALL_CAUSES = (*CAUSES, "sudden")

TICKET_CATEGORIES = {
    # category: (share, answer deadline in hours)
    "order": (0.25, 48),
    "design": (0.18, 120),
    "advertising": (0.08, 168),
    "sales_guidance": (0.12, 96),
    "promotion": (0.12, 72),
    "logistics": (0.15, 48),
    "quality": (0.10, 72),
}
TICKET_CHANNELS = ("phone", "wechat", "portal", "visit")
TICKET_CHANNEL_SHARES = (0.30, 0.45, 0.15, 0.10)
"""How dealers' requests come in (the support board groups by it)."""
COMPLAINT_MIX = {"quality": 0.24, "installation": 0.24, "delivery": 0.16, "service": 0.16,
                 "packaging": 0.10, "other": 0.10}
VISIT_KINDS = {"visit": 0.45, "call": 0.40, "wechat": 0.15}


class ScheduledShock(BaseModel):
    """A shared shock on given months, beside the random ones ("what would a price war in
    华东 from 2025-03 look like?"): it ramps in and out like them."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["price_war", "channel_slump", "logistics_disruption", "line_slump"]
    unit: str = Field(description="The region (price war, disruption) or channel it hits; "
                      "for a line slump (orders fall along a line the peers are not drawn "
                      "on), `tier:B`, `city:杭州`, `rep-of:D00012` (the dealers served by "
                      "that dealer's rep when the slump starts) or `region-part:华东` (the "
                      "first half of the region's cities, alphabetically).")
    start: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="First month, YYYY-MM.")
    months: int = Field(ge=1)
    size: float = Field(gt=0, description="Extra discount, depth of the slump, or extra "
                        "share of late deliveries, at its height.")

    @model_validator(mode="after")
    def _line(self) -> ScheduledShock:
        lines = ("tier", "city", "rep-of", "region-part")
        if self.kind == "line_slump" and self.unit.split(":")[0] not in lines:
            raise ValueError(f"a line_slump's unit is one of {', '.join(lines)} and a value "
                             f"(tier:B), got {self.unit!r}")
        if self.kind == "line_slump" and not self.size < 1:
            raise ValueError("a line_slump's size is a depth below 1")
        return self


class World(BaseModel):
    """Rates and effect sizes of the simulated network (monthly unless said otherwise).

    Settable under ``[simulator.world]`` in dealer-risk.toml; the named worlds of
    ``features.simulator.worlds`` are sets of overrides of these fields.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    incumbent_share: float = 0.78  # dealers already open when the period starts
    incumbent_max_tenure_months: int = 120
    revenue_sigma: float = 0.6  # log-normal spread of dealer size within a tier
    month_noise_sigma: float = 0.25
    onboarding_months: float = 4.0  # e-folding time of a new dealer's ramp
    project_order_probability: float = 0.35  # project dealers order in about a third of months

    # latent health: AR(1) pulled towards the dealer's own level minus active problems
    health_mean: float = 0.5
    health_sd: float = 0.2
    health_persistence: float = 0.7
    health_noise: float = 0.08
    health_on_orders: float = 0.7  # orders scale with exp(this * (health - own level))

    # problem episodes: each has a cause, a severity, a footprint that ramps in
    burn_in_months: int = 12
    episode_rate: float = 0.03
    secondary_rate: float = 0.006
    cause_weights: tuple[float, ...] = (0.19, 0.17, 0.14, 0.18, 0.19, 0.13)
    severity_range: tuple[float, float] = (0.6, 1.5)
    ramp_months: float = 4.0
    recovery_rate: float = 0.08  # per month, once an episode is 3 months old
    neglect_after_rep_change: float = 6.0  # multiplier of neglect onsets for 6 months
    service_region_effect: float = 1.5  # service episodes more frequent where service is poor

    # churn hazard: small base (sudden) plus a term that grows as health falls below zero
    base_hazard: float = 0.0011
    health_hazard: float = 0.12
    health_hazard_power: float = 1.5
    planned_closure_rate: float = 0.0004
    closed_on_share: float = 0.6  # churners whose contract is formally closed
    closed_on_lag_days: tuple[int, int] = (30, 120)

    # regional slumps hit every dealer of a region: a reason peer comparison matters
    slump_rate: float = 0.012
    slump_depth: tuple[float, float] = (0.2, 0.35)
    slump_months: tuple[int, int] = (6, 10)

    # order lines
    lines_per_order: dict[str, float] = Field(
        default_factory=lambda: {"showroom": 5.0, "online": 3.0, "project": 12.0})
    sku_price_sigma: float = 0.3
    discount_by_tier: dict[str, float] = Field(
        default_factory=lambda: {"A": 0.22, "B": 0.17, "C": 0.12})
    return_share: float = 0.012
    cancelled_share: float = 0.01
    duplicate_share: float = 0.0005

    # footprints of each cause at full ramp
    price_discount_extra: float = 0.12
    price_mix_tilt: float = 4.0  # SKU choice skews to cheaper ones: u ** (1 + tilt * ramp)
    price_order_shrink: float = 0.4  # fewer units per line at full ramp
    competitor_breadth_loss: float = 0.7  # share of secondary categories dropped
    competitor_volume: float = 0.35
    service_ticket_extra: float = 1.5
    service_slowdown: float = 1.4  # log-increase of resolution time
    quality_complaint_extra: float = 6.0
    logistics_late_extra: float = 0.45
    logistics_damage_extra: float = 0.12
    neglect_visit_cut: float = 0.92

    # service and logistics baselines
    tickets_by_tier: dict[str, float] = Field(
        default_factory=lambda: {"A": 3.0, "B": 2.0, "C": 1.2})
    resolution_log_mean: float = -0.55  # log of (resolution time / deadline) in a good region
    resolution_log_sd: float = 0.5
    complaints_per_million: float = 1.2
    late_delivery_base: float = 0.10
    damage_base: float = 0.02
    visits_by_tier: dict[str, float] = Field(
        default_factory=lambda: {"A": 3.0, "B": 2.0, "C": 1.0})
    rep_span: tuple[int, int] = (15, 40)
    rep_leave_rate: float = 0.015

    # shared shocks: nobody's fault, so they leave every dealer's churn hazard unchanged.
    # Each is off at rate 0 (the default world); rates are per region (channel) and month.
    price_war_rate: float = 0.0  # a regional price war: every dealer there sells cheaper
    price_war_discount: tuple[float, float] = (0.08, 0.15)  # extra discount at its height
    price_war_months: tuple[int, int] = (5, 9)
    channel_slump_rate: float = 0.0  # a slump of one channel in every region
    channel_slump_channels: tuple[str, ...] = ("project",)  # channels it can hit
    channel_slump_depth: tuple[float, float] = (0.3, 0.5)
    channel_slump_months: tuple[int, int] = (6, 10)
    logistics_disruption_rate: float = 0.0  # a regional disruption: late and damaged goods
    logistics_disruption_late: tuple[float, float] = (0.3, 0.5)  # extra share of late ones
    logistics_disruption_months: tuple[int, int] = (2, 5)

    scheduled_shocks: tuple[ScheduledShock, ...] = ()

    # temporary pauses (a store refit): orders near zero for a few months, then back;
    # the dealer is not leaving, so its hazard is unchanged
    pause_rate: float = 0.0  # per dealer and month
    pause_months: tuple[int, int] = (2, 4)
    pause_level: float = 0.03  # share of the usual orders while paused

    # the oracle: Monte-Carlo paths per dealer-month for the truth's churn probability
    oracle_paths: int = Field(default=64, ge=1)

    # retention programs (programs.py): what each truly does, and who gets one
    program_effects: dict[str, ProgramEffect] = Field(
        default_factory=lambda: dict(DEFAULT_EFFECTS))
    program_pilot_share: float = 0.02  # each quarter, live dealers without a program drawn
    program_manager_rate: float = 0.05  # monthly chance at full visible trouble
    program_manager_threshold: float = 0.3  # visible trouble below which managers do nothing
    program_manager_skill: float = 0.5  # chance a manager picks the program the symptom asks
    program_response_spread: float = 0.5  # log-normal spread of dealers' responses
    program_visit_lift: float = 1.5  # extra visits while an extra_visits program runs
    # the truth of the programs: each dealer's chance of leaving under each program and none,
    # for the newest months whose horizon the period covers (0: not computed; it costs one
    # Monte-Carlo per program and month)
    program_truth_months: int = Field(default=0, ge=0)
    program_truth_horizon_months: int = Field(default=12, ge=1)
    program_oracle_paths: int = Field(default=64, ge=1)
