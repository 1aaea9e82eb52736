"""Response models: they document the API (OpenAPI at /docs) and the tests check the
documents against them."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class ModelStatus(BaseModel):
    version: str | None
    state: str = Field(examples=["champion"], description="champion, provisional or "
                       "unavailable")
    reason: str | None


class Meta(BaseModel):
    as_of: str = Field(examples=["2026-01-01"], description="The cutoff the scores are for: "
                       "they use records dated before it.")
    model_versions: dict[str, str] = Field(examples=[{"churn": "3", "decline": "3",
                                                      "forecast": "2"}])
    model_status: dict[str, ModelStatus] = Field(
        default_factory=dict, description="Per model: 'champion'; 'provisional' (made "
        "champion on a new installation though it misses a limit of the gate, with the "
        "reason); or 'unavailable' (no usable version: its fields are null)")
    horizon: dict[str, int]
    meaning: dict[str, str]


class Factor(BaseModel):
    group: str = Field(examples=["orders"])
    direction: str = Field(examples=["raises"], description="raises or lowers the score")
    contribution: float = Field(description="TreeSHAP, log-odds, against the mean of the "
                                "dealer's peers (same region and channel)")
    share: float = Field(description="Part of all reasons' absolute contributions")
    effect: float = Field(description="Probability points the factor adds against the "
                          "dealer's peers")
    feature: str = Field(examples=["orders_change_yoy_3m"])
    value: float | str | None
    past_value: float | str | None
    peer_median: float | str | None
    actionable: bool
    sentence: str = Field(examples=["Orders in the last 3 months are 42% below the same "
                                    "period last year (12 months earlier: +5%; peer median: "
                                    "-5%)"])


class ContextNote(BaseModel):
    feature: str = Field(examples=["profile_channel"])
    value: float | str | None
    contribution: float = Field(description="TreeSHAP, log-odds against the average dealer")
    sentence: str = Field(examples=["Project dealers order in lumps: a quiet quarter is "
                                    "common for them"])


class GroupChange(BaseModel):
    group: str = Field(examples=["service"], description="A catalog group, or 'model' (the "
                       "base value's share: a retrained model)")
    name: str = Field(examples=["service"], description="The group in the reader's language")
    points: float = Field(examples=[11.2], description="Probability points of the change "
                          "since the previous snapshot this group accounts for")


class Score(BaseModel):
    probability: float | None
    previous: float | None
    change: float | None
    change_by_group: list[GroupChange] = Field(
        default_factory=list, description="The change since the previous snapshot split by "
        "group, in proportion to the change of each group's TreeSHAP contribution; the "
        "points add up to `change` (x100). Largest first; empty without a previous score")
    change_sentence: str | None = Field(
        default=None, examples=["Risk rose 18 points since 2025-11-01: service +11, "
                                "orders +6."])
    factors: list[Factor] = Field(description="The reasons (direction 'raises': what raises "
                                  "the risk against the dealer's peers, largest first), then "
                                  "the factors that lower it (direction 'lowers')")
    context: list[ContextNote] = Field(
        default_factory=list, description="Fixed attributes (channel, tier, region, age, "
        "season) that raise the score, in plain words: context, never a reason")


class Leaving(BaseModel):
    """The churn risk split: signs of leaving against a quiet spell."""

    probability: float | None = Field(description="Probability that the dealer is leaving: "
                                      "no order within the churn horizon nor for the "
                                      "months after it (meta.horizon.leave_months in all); "
                                      "null without a leave model")
    quiet_spell_probability: float | None = Field(
        description="The rest of the churn risk: a quiet spell, likely to order again after "
        "a gap (churn probability - leave probability, at least 0)")
    kind: Literal["leaving", "quiet_spell", "low", "unknown"] = Field(
        description="What most of the risk is; low below scoring.kind_min_probability "
        "(10%); unknown without a leave model")
    sentence: str | None = Field(examples=["Of the 40% churn risk, 12 points are signs of "
                                           "leaving and 28 points a quiet spell (likely to "
                                           "order again after a gap); chance of no order in "
                                           "the next 12 months: 12%."])


class Forecast(BaseModel):
    p10: float | None
    p50: float | None
    p90: float | None
    expected: float | None


class DealerKeys(BaseModel):
    """Who the dealer is and its risk band: shared by the full document and list items."""

    dealer_id: str
    dealer_name: str | None
    region: str
    tier: str
    channel: str
    sales_rep_id: str | None
    band: str = Field(examples=["high"])
    stage: str = Field(examples=["declining"], description="Life-cycle stage: new, growing, "
                       "mature, declining, dormant or churned (docs/features.md)")


class Alert(BaseModel):
    alert_id: str | None = Field(examples=["D00042:orders_drop_quarter:2025-11-01"],
                                 description="Stable while the alert stays open (null for "
                                 "POST /v1/score: no timeline)")
    dealer_id: str | None
    rule: str = Field(examples=["orders_drop_quarter"])
    title: str
    severity: str = Field(examples=["high"], description="low, medium or high")
    group: str = Field(description="Catalog group it speaks to; 'scores' for model scores")
    reason: str | None
    status: str = Field(examples=["open"], description="open or closed")
    opened_at: str | None = Field(description="As-of date of the snapshot it opened in")
    last_seen: str | None
    closed_at: str | None
    times_seen: int = Field(description="Snapshots it fired in")
    reopened: int = Field(description="Times it fired again within the rule's cooldown")
    numbers: dict[str, float | str | None] = Field(
        examples=[{"orders_change_qoq": -0.62, "orders_change_yoy_3m": -0.55}],
        description="The values that made it fire")
    held_until: str | None = Field(default=None, description="Held by a known situation "
                                   "until this day (GET /v1/alerts only)")


class Answer(BaseModel):
    kind: str = Field(description="factor, alert or stage")
    group: str | None = None
    model: str | None = None
    feature: str | None = None
    rule: str | None = None
    stage: str | None = None
    sentence: str | None = None


class Action(BaseModel):
    id: str = Field(examples=["clear_overdue_support"])
    title: str
    steps: str
    answers: list[Answer] = Field(description="The factors, alerts or stage it answers")


class Situation(BaseModel):
    """A known situation a rep or manager recorded: the dealer's alerts are held while it
    runs (from starts_on until expires_on, or until ended_on)."""

    id: int
    dealer_id: str
    kind: str = Field(examples=["store_refit"],
                      description="store_refit, owner_change, dispute or other")
    name: str = Field(examples=["Store refit"], description="The kind in the reader's "
                      "language")
    note: str = Field(examples=["Showroom refitted until March; orders resume in April"])
    starts_on: str
    expires_on: str = Field(description="The first day its alerts are no longer held")
    ended_on: str | None = Field(description="Ended early by hand on this day")
    active: bool = Field(description="Its alerts are held today")
    created_by: str
    created_at: str
    updated_at: str


class SituationIn(BaseModel):
    kind: Literal["store_refit", "owner_change", "dispute", "other"]
    note: str = Field(default="", max_length=500)
    expires_on: date = Field(description="The first day alerts fire again; after today, "
                             "within store.situation_max_days")
    by: str = Field(min_length=1, max_length=128, description="Who records it (kept in "
                    "the audit trail with the key's fingerprint)")


class SituationChange(BaseModel):
    kind: Literal["store_refit", "owner_change", "dispute", "other"] | None = None
    note: str | None = Field(default=None, max_length=500)
    expires_on: date | None = None
    end: bool = Field(default=False, description="End it today: alerts fire again")
    by: str = Field(min_length=1, max_length=128)


class SituationEvent(BaseModel):
    id: int
    situation_id: int
    dealer_id: str
    at: str
    by: str
    credential: str = Field(description="Fingerprint of the key (or dashboard session) "
                            "that made the change; 'open' without keys")
    action: str = Field(description="created, changed or ended")
    changes: dict[str, list] = Field(description="field -> [before, after]")


class SituationList(BaseModel):
    items: list[Situation]


class DealerSituations(BaseModel):
    items: list[Situation] = Field(description="Newest first")
    trail: list[SituationEvent] = Field(description="Every change, oldest first")


class TaskOut(BaseModel):
    """What the team does about an alert (serve.service.tasks)."""

    id: int
    dealer_id: str
    alert_id: str
    rule: str
    severity: str
    region: str | None
    owner: str | None = Field(description="The dealer's sales rep when it opened")
    title: str = Field(description="The alert's title in the reader's language")
    action: str | None = Field(description="The playbook's action for the alert")
    action_id: str | None
    status: str = Field(description="open, in_progress, done or dismissed")
    outcome: str | None = Field(description="called, visited, program_offered, "
                                "dealer_kept or dealer_lost")
    program: str | None = Field(description="The program offered (outcome program_offered)")
    program_cost: float | None
    dismiss_reason: str | None
    note: str
    opened_on: str
    due_on: str
    done_on: str | None
    overdue: bool
    created_at: str
    updated_at: str


class TaskList(BaseModel):
    items: list[TaskOut] = Field(description="Overdue first, then by due date and severity")
    total: int


class TaskChange(BaseModel):
    status: Literal["open", "in_progress", "done", "dismissed"] | None = None
    outcome: Literal["called", "visited", "program_offered", "dealer_kept",
                     "dealer_lost"] | None = None
    program: str | None = Field(default=None, description="A program kind of the data "
                                "contract (needed with outcome program_offered)")
    program_cost: float | None = Field(default=None, ge=0)
    dismiss_reason: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=500)
    due_on: date | None = None
    by: str = Field(min_length=1, max_length=128)


class TaskDetail(TaskOut):
    history: list[dict] = Field(description="Opened, then every change: at, by, "
                                "credential, changes (field -> [before, after])")


class StillOrdering(BaseModel):
    months: int = Field(description="Months after the snapshot's date", examples=[6])
    probability: float = Field(description="Chance the dealer still orders then (is not "
                               "gone: no order silence of labels.leave.confirm_months "
                               "begun, contract open)", examples=[0.91])


class Survival(BaseModel):
    """Time to leaving: the survival model's curve (a discrete-time hazard over the
    months ahead)."""

    horizon_months: int = Field(description="Months the curve reaches", examples=[12])
    still_ordering: list[StillOrdering] = Field(description="The chance of still ordering "
                                                "at models.survival.report_months; empty "
                                                "without a survival model")
    curve: list[float] = Field(description="The chance of still ordering after 1, 2, ... "
                               "horizon_months months")
    months_ordering: float | None = Field(description="Restricted mean: the months of the "
                                          "horizon the dealer is expected to keep ordering",
                                          examples=[10.8])
    sentence: str | None = Field(examples=["Chance of still ordering after 3 months 97%, 6 "
                                           "months 93%, 12 months 84%; expected to keep "
                                           "ordering for about 11.1 of the next 12 months."])


class DealerRisk(DealerKeys):
    churn: Score
    leaving: Leaving
    survival: Survival
    decline: Score
    forecast: Forecast
    orders_amount_12m: float | None = Field(
        description="Net orders over the 12 months before as_of (CNY): what it was worth.")
    expected_revenue_12m: float | None = Field(
        description="Next 12 months' revenue if the dealer stays (CNY): orders_amount_12m "
        "scaled by the forecast's next quarter given that it stays (forecast.expected / "
        "(1 - churn probability)) against the same quarter last year, within x0.5 .. x2, "
        "the scale weighed by the chance of staying against no change.")
    revenue_at_risk: float | None = Field(
        description="churn probability x expected_revenue_12m (CNY).")
    previous_as_of: str | None
    flags: list[str] = Field(examples=[["no_visits_in_90_days"]])
    alerts: list[Alert] = Field(description="Open alerts")
    actions: list[Action] = Field(description="The playbook's actions for its reasons")
    situation: Situation | None = Field(default=None, description="The known situation "
                                        "running today, if any: its alerts are held")


class DealerSurvivalResponse(BaseModel):
    meta: Meta
    dealer_id: str
    as_of: str
    survival: Survival


class DealerRiskResponse(BaseModel):
    meta: Meta
    dealer: DealerRisk


class HistoryPoint(BaseModel):
    as_of: str
    churn_probability: float | None
    decline_probability: float | None
    band: str
    forecast_p10: float | None
    forecast_p50: float | None
    forecast_p90: float | None
    orders_amount_12m: float | None
    revenue_at_risk: float | None


class DealerHistory(BaseModel):
    meta: Meta
    dealer_id: str
    history: list[HistoryPoint]


class RiskItem(DealerKeys):
    churn_probability: float | None
    decline_probability: float | None
    leave_probability: float | None
    quiet_probability: float | None
    risk_kind: Literal["leaving", "quiet_spell", "low", "unknown"]
    churn_probability_change: float | None
    revenue_at_risk: float | None
    expected_revenue_12m: float | None
    forecast_p50: float | None
    months_ordering: float | None = Field(
        description="Of the next 12 months, how many the dealer is expected to keep "
        "ordering (the survival model; null without one)", examples=[10.8])
    top_reason: str | None
    flags: list[str]
    open_alerts: int


class RemovedDealer(BaseModel):
    """A dealer an incremental pull must delete from the CRM's copy."""

    dealer_id: str
    dealer_name: str | None
    region: str
    tier: str
    sales_rep_id: str | None
    reason: Literal["closed", "inactive", "filtered", "unknown"] = Field(description=(
        "closed: its contract ended; inactive: no positive order in the activity window "
        "(labels.churn.active_days), or silent long enough to leave the panel; filtered: "
        "still scored, no longer matching your filters; unknown: no longer in the data, or "
        "scored before the roster existed"))
    last_as_of: str = Field(description="The last snapshot that held it in your selection")
    removed_as_of: str = Field(description="The first snapshot after that one")


class Changes(BaseModel):
    """What an incremental pull (`changed_since`) is relative to, and what to delete."""

    since: str = Field(description="The changed_since asked for")
    reference_as_of: str | None = Field(description="The snapshot compared with: the newest "
                                        "on or before `since`; null when every snapshot is "
                                        "newer")
    complete: bool = Field(description="true: no snapshot to compare with, so the pages list "
                           "every matching dealer: replace your copy with them")
    removed: list[RemovedDealer] = Field(description="Dealers that left your selection since "
                                         "the reference snapshot (on the first page only; "
                                         "empty on the others)")


class RiskList(BaseModel):
    meta: Meta
    total: int = Field(description="Dealers matching the filters")
    items: list[RiskItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null "
                                    "on the last page")
    changes: Changes | None = Field(default=None, description="With changed_since only")


class AlertItem(Alert):
    dealer_name: str | None
    region: str | None
    tier: str | None
    sales_rep_id: str | None


class AlertList(BaseModel):
    meta: Meta
    total: int = Field(description="Alerts matching the filters")
    items: list[AlertItem]
    next_cursor: str | None


class Error(BaseModel):
    detail: str


class SupportGroup(BaseModel):
    dimension: str = Field(examples=["category"])
    value: str = Field(examples=["design"])
    requests: int = Field(description="Raised in the window")
    due: int = Field(description="Whose deadline fell in the window (outcome known)")
    answered_on_time: int
    on_time_share: float | None = Field(description="answered_on_time / due")
    median_hours_to_answer: float | None = Field(description="Of those answered in the window")
    open_past_deadline: int = Field(description="Open at the cutoff, deadline passed")
    oldest_overdue_days: float | None


class SupportTotals(BaseModel):
    requests: int
    due: int
    answered_on_time: int
    on_time_share: float | None
    median_hours_to_answer: float | None
    open_past_deadline: int


class OverdueRequest(BaseModel):
    ticket_id: str
    dealer_id: str
    dealer_name: str
    region: str
    sales_rep_id: str = Field(description="The dealer's rep today; 'unknown' if none")
    category: str
    channel: str = Field(description="'unknown' when the tickets carry no channel")
    opened_at: str
    due_at: str
    days_overdue: float
    escalated: bool


class SupportBoard(BaseModel):
    meta: Meta
    window_days: int
    by: str
    totals: SupportTotals
    groups: list[SupportGroup]
    overdue_total: int
    overdue: list[OverdueRequest] = Field(description="Open past their deadline, oldest first")


class RepLine(BaseModel):
    sales_rep_id: str = Field(examples=["R0042"])
    tasks_due: float | None = Field(default=None, description="Tasks (opened from alerts) "
                                    "due before today, dismissed ones aside")
    tasks_done_on_time: float | None = Field(default=None, description="Of those, done by "
                                             "their due date")
    region: str = Field(description="Where most of the rep's dealers are")
    dealers: int = Field(description="Active dealers the rep holds now (the dealers table)")
    revenue_12m: float | None = Field(description="Their net orders over the 12 months "
                                      "before the cutoff (CNY)")
    revenue_last_year: float | None = Field(description="The same dealers' 12 months before "
                                            "that (a dealer not trading then: 0)")
    revenue_change: float | None = Field(description="revenue_12m / revenue_last_year - 1")
    revenue_at_risk: float | None = Field(description="Sum of the dealers' revenue at risk")
    expected_losses_next_90d: float | None = Field(description="Sum of their churn "
                                                   "probabilities: dealers the models expect "
                                                   "to lose in the next 90 days")
    lost_90d: float | None = Field(description="Dealers lost in the quarter before the "
                                   "cutoff (null: the data does not reach back)")
    expected_lost_90d: float | None = Field(description="What the snapshot scored when that "
                                            "quarter began expected (null: not kept)")
    lost_365d: float | None = Field(description="Dealers lost in the four quarters before "
                                    "the cutoff, each counted once")
    expected_lost_365d: float | None = Field(description="The quarters' snapshots' "
                                             "expectation (null unless all four were kept)")
    visits_per_dealer_month: float | None = Field(description="Visits and calls to their "
                                                  "dealers in the last 3 months, per dealer "
                                                  "per month")
    not_visited: float | None = Field(description="Dealers without a visit for "
                                      "reps.not_visited_days")
    complaints_3m: float | None = Field(description="Consumer complaints about their dealers "
                                        "in the last 3 months")
    support_due: float | None = Field(description="Their dealers' requests due in the support "
                                      "window")
    support_on_time: float | None
    on_time_share: float | None
    support_overdue: float | None = Field(description="Open past the deadline now")
    part_visited: float | None = Field(description="Score part, 0..1: share of dealers visited")
    part_on_time: float | None = Field(description="Score part: share of requests on time")
    part_kept: float | None = Field(description="Score part: share of the year's dealers "
                                    "not lost")
    part_growth: float | None = Field(description="Score part: revenue change mapped from "
                                      "-growth_span..+growth_span to 0..1")
    part_safe: float | None = Field(description="Score part: share of revenue not at risk")
    score: float | None = Field(description="Maintenance score 0..100: the parts' weighted "
                                "mean (reps.weights), over the parts with data; null for a "
                                "rep holding no dealer now")
    rank_in_region: int | None = Field(description="1 = the region's best score")
    reps_in_region: int | None
    held_by_today: int = Field(description="Of the lost dealers, how many were attributed "
                               "by today's dealers table (no snapshot or visit said who "
                               "held them then)")


class RepList(BaseModel):
    meta: Meta
    weights: dict[str, float] = Field(description="The maintenance score's weights")
    total: int
    items: list[RepLine]


class LostDealer(BaseModel):
    dealer_id: str
    dealer_name: str
    region: str
    start: str = Field(description="The quarter it was lost in began on this day")
    held_by: str = Field(description="How the rep was known: snapshot, visit or today")
    expected: float | None = Field(description="The churn probability its snapshot gave "
                                   "when the quarter began")


class RepDetail(BaseModel):
    meta: Meta
    weights: dict[str, float]
    rep: RepLine
    dealers_total: int
    dealers: list[RiskItem] = Field(description="The rep's dealers, by revenue at risk")
    lost: list[LostDealer] = Field(description="Dealers lost in the last year, newest first")


class WhatIfSide(BaseModel):
    churn_probability: float | None
    decline_probability: float | None
    forecast: dict[str, float | None] = Field(description="p10, p50, p90, expected: next "
                                              "quarter's orders (CNY)")


class WhatIfAnswer(BaseModel):
    meta: Meta
    dealer_id: str
    scenario: dict[str, str] | None = Field(description="name and title, when one was asked")
    changes: dict[str, dict[str, float | str | None]] = Field(
        description="Per feature changed: its snapshot value (from) and the asked one (to)")
    before: WhatIfSide = Field(description="The snapshot row's scores, as served")
    after: WhatIfSide
    change_points: dict[str, float | None] = Field(description="after - before, in "
                                                   "percentage points")
    factors_after: dict[str, list[Factor]]
    note: str = Field(description="What a what-if answer means and does not")


class Lever(BaseModel):
    kind: str = Field(description="scenario, own_past (its level 12 months earlier) or peers "
                      "(its peer group's median)")
    name: str = Field(description="The scenario's name or the feature's")
    changes: dict[str, float] = Field(description="Feature -> value the lever sets")
    churn_before: float
    churn_after: float
    points: float = Field(description="Churn risk removed, in percentage points")
    sentence: str = Field(examples=["If days since the last rep visit or call were at its "
                                    "peers' median (9.5 days), its churn risk would fall "
                                    "from 93% to 29%"])


class EffectsModel(BaseModel):
    version: str | None = Field(description="The effect model version that estimated the "
                                "snapshot's effects")
    state: str = Field(description="champion (passed its gate on randomized pilots), "
                       "unproven (a challenger, used because plan.unproven is on) or "
                       "unavailable")


class ProgramEffect(BaseModel):
    program: str = Field(examples=["priority_service"])
    name: str = Field(examples=["Priority service", "优先服务"])
    leave_without: float | None = Field(description="Chance of leaving within the effect "
                                        "model's horizon (models.effects.horizon_months) "
                                        "with no program")
    leave_with: float | None = Field(description="The same with the program")
    leave_with_low: float | None = Field(description="Its interval (models.effects.interval)")
    leave_with_high: float | None
    effect: float = Field(description="Estimated change of the chance of leaving (negative "
                          "keeps the dealer)")
    low: float
    high: float
    cost: float | None = Field(description="Estimated cost of the program for this dealer "
                               "(CNY)")
    certain: bool = Field(description="False when the interval covers zero: the program "
                          "may do nothing for this dealer")
    status: str = Field(description="champion (the effect model passed its gate) or "
                        "unproven")
    sentence: str = Field(examples=["Priority service: chance of leaving within 12 months "
                                    "42% -> 30% (18%-37%), cost about ¥1,200"])


class LeverList(BaseModel):
    meta: Meta
    dealer_id: str
    churn_probability: float | None
    effects_model: EffectsModel
    programs: list[ProgramEffect] = Field(description="Estimated program effects for this "
                                          "dealer, the largest drop of its chance of leaving "
                                          "first; empty without an effect model")
    programs_note: str
    computed: bool = Field(description="False for a dealer below levers.min_probability: "
                           "no levers were computed for it")
    levers: list[Lever] = Field(description="Associations, not effects: the changes the churn "
                                "model associates with the largest drop in churn risk, the "
                                "largest first")
    note: str


class PlanRow(BaseModel):
    dealer_id: str
    dealer_name: str | None
    region: str | None
    sales_rep_id: str | None = Field(description="The owner: the dealer's rep")
    program: str = Field(examples=["priority_service"])
    program_zh: str = Field(examples=["优先服务"])
    leave_without: float | None = Field(description="Chance of leaving within 12 months "
                                        "with no program")
    leave_with: float | None = Field(description="The same with the program")
    leave_with_low: float | None
    leave_with_high: float | None
    effect: float = Field(description="Estimated change of the chance of leaving "
                          "(negative keeps the dealer)")
    low: float
    high: float
    expected_revenue_12m: float | None
    revenue_kept: float = Field(description="-effect x expected 12-month revenue (CNY)")
    margin_kept: float = Field(description="revenue_kept x plan.margin_rate (CNY)")
    cost: float = Field(description="Estimated cost of the program for this dealer (CNY)")
    net: float = Field(description="margin_kept - cost")


class PlanDocument(BaseModel):
    meta: Meta
    effects_model: EffectsModel
    margin_rate: float
    budget: float
    spent: float
    dealers: int
    expected_revenue_kept: float
    expected_margin_kept: float
    notes: list[str] = Field(description="Why less than the budget was spent, if it was")
    rows_total: int
    rows: list[PlanRow] = Field(description="Highest margin kept per unit of cost first")
