"""The network's month-by-month state: who is open, how healthy, what is going wrong, who leaves.

Everything here is a dealer x month array; the order lines, tickets and other events are
drawn from these arrays afterwards (events.py), one chunk of dealers at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.simulator.programs import (
    CAUSE_PROGRAM,
    MANAGER_HABITS,
    ProgramInputs,
    program_inputs,
)
from features.simulator.seasons import monthly_calendar
from features.simulator.world import (
    CATEGORIES,
    CAUSES,
    CHANNEL_REVENUE,
    CHANNELS,
    REGIONS,
    SKUS_PER_CATEGORY,
    TIER_MONTHLY_REVENUE,
    TIERS,
    World,
)

SUDDEN = len(CAUSES)  # cause index of a churn with no episode behind it
NO_CAUSE = -1
NO_MONTH = -(10**6)  # month indices can be negative (burn-in), so "none" needs its own value


@dataclass
class Network:
    """Dealer attributes (one row per dealer) and dealer x month state arrays."""

    month_starts: pd.DatetimeIndex
    dealers: pd.DataFrame
    alive: np.ndarray  # bool [dealer, month]: open, not churned; may order
    health: np.ndarray  # float [dealer, month]
    hazard: np.ndarray  # float [dealer, month]: true churn hazard that month
    expected_amount: np.ndarray  # float [dealer, month]: expected net orders (CNY)
    ramps: np.ndarray  # float [cause, dealer, month]: strength of each cause's footprint
    category_pref: np.ndarray  # float [dealer, category]: share of lines per category
    category_drop_at: np.ndarray  # float [dealer, category]: competitor ramp that drops it
    sku_factors: np.ndarray  # float [category, sku]: price factor of each SKU, ascending
    rep_of: np.ndarray  # int [dealer, month]: rep number
    rep_diligence: np.ndarray  # float [rep]
    service_level: np.ndarray  # float [region, month]: higher = slower answers
    market: np.ndarray  # float [region, month]: regional demand index
    slumps: pd.DataFrame
    episodes: pd.DataFrame
    calendar: dict[str, dict]
    shocks: Shocks
    paused: np.ndarray  # bool [dealer, month]: a pause (refit) runs
    program_on: np.ndarray  # int [dealer, month]: the program running (index of its kind), -1
    programs: pd.DataFrame  # one row per program given: dealer, kind, start, assigned_by
    states: list[LatentState]  # each month's latent state at its start (the oracle's input)
    inputs: StepInputs

    @property
    def period_end(self) -> pd.Timestamp:
        return self.month_starts[-1] + pd.offsets.MonthEnd(1)

    def month_date(self, index: np.ndarray) -> list:
        """First day of each month index (negative: before the period), None for NO_MONTH."""
        first = pd.Period(self.month_starts[0], freq="M")
        return [None if i == NO_MONTH else (first + int(i)).start_time.date() for i in index]


@dataclass
class LatentState:
    """What the simulator knows of each dealer (or of each Monte-Carlo copy of one) at the
    start of a month: the oracle restarts the same transitions from a copy of it."""

    h: np.ndarray  # latent health
    ep_cause: np.ndarray  # [slot, row]: two episode slots, cause (NO_CAUSE: empty)
    ep_onset: np.ndarray
    ep_sev: np.ndarray
    ramp: np.ndarray  # [cause, row]: strength of each cause's footprint
    last_cause: np.ndarray  # the latest episode that ended: health may still be low
    last_onset: np.ndarray
    churned: np.ndarray
    pause_left: np.ndarray  # months of a running pause still to come (0: not paused)
    prog_kind: np.ndarray  # the program given (index of its kind), -1: none
    prog_month: np.ndarray  # months since it started (it keeps counting through after_months)

    def take(self, rows: np.ndarray) -> LatentState:
        """The state of the given rows (copies: stepping them leaves this one untouched)."""
        return LatentState(**{name: value[..., rows].copy()
                              for name, value in vars(self).items()})


@dataclass
class StepInputs:
    """The per-dealer and per-month inputs a month's transition reads (indexed by dealer)."""

    open_month: np.ndarray
    h0: np.ndarray
    region: np.ndarray
    rep_changed: np.ndarray  # bool [dealer, month]
    service_level: np.ndarray  # [region, month]
    programs: ProgramInputs  # each dealer's true response to each program


@dataclass
class StepResult:
    live: np.ndarray  # open and not churned before this month
    hazard: np.ndarray
    leaving: np.ndarray
    closing: np.ndarray  # a planned closure
    gone: np.ndarray  # churned this month: no orders from this month on
    explained: np.ndarray  # churned through low health while an episode ran or had run
    cause_now: np.ndarray
    onset_now: np.ndarray
    running: np.ndarray
    second_now: np.ndarray  # the secondary episode's cause when the churn was decided
    paused: np.ndarray  # a pause runs this month
    program_orders: np.ndarray  # orders multiplier of the programs this month (1: none)
    program_on: np.ndarray  # the program running this month (index of its kind), -1


def step_month(s: LatentState, t: int, dealer: np.ndarray, inputs: StepInputs,
               rng: np.random.Generator, world: World,
               log: list | None = None, aligned: bool = False) -> StepResult:
    """One month of the latent dynamics for the rows of ``s`` (row i is dealer[i]), in place.

    The simulation runs it once per month over the dealers; the oracle runs it from a copy of
    a month's state, many times per dealer, so both follow exactly the same transitions.

    `aligned`: draw every random number for every row, used or not, so that the stream
    each row reads does not depend on any row's state. The programs' truth needs it: it
    compares scenarios run with the same random numbers, and a program that changes one
    dealer's episodes must not shift the draws of every other dealer and later month (the
    uplift of a program that changes nothing is then zero row by row, not only on
    average). Same distributions either way; the simulation keeps its historical stream.
    """
    n = len(dealer)
    tc = max(t, 0)
    weights = np.asarray(world.cause_weights) / np.sum(world.cause_weights)
    neglect, service = CAUSES.index("neglect"), CAUSES.index("service")
    # burn-in months (t < 0) let episodes reach their steady state; nobody churns in them
    live = (inputs.open_month[dealer] <= t) & ~s.churned
    # new primary episodes, with cause odds depending on the dealer's situation
    cause_rates = np.tile(weights * world.episode_rate, (n, 1))
    cause_rates[:, neglect] *= np.where(inputs.rep_changed[dealer, tc],
                                        world.neglect_after_rep_change, 1)
    cause_rates[:, service] *= 1 + world.service_region_effect * inputs.service_level[
        inputs.region[dealer], tc]
    ep_cause, ep_onset, ep_sev = s.ep_cause, s.ep_onset, s.ep_sev
    starts = live & (ep_cause[0] == NO_CAUSE) & (rng.random(n) < cause_rates.sum(1))
    if aligned:
        cause = _draw_rows(cause_rates, rng)[starts]
        severity = rng.uniform(*world.severity_range, n)[starts]
    else:
        cause = _draw_rows(cause_rates[starts], rng)
        severity = rng.uniform(*world.severity_range, starts.sum())
    ep_cause[0, starts], ep_onset[0, starts] = cause, t
    ep_sev[0, starts] = severity
    # secondary episodes overlap a primary one, with another cause
    second = live & (ep_cause[0] != NO_CAUSE) & (ep_cause[1] == NO_CAUSE)
    second &= rng.random(n) < world.secondary_rate
    among = np.ones(n, dtype=bool) if aligned else second
    rates2 = cause_rates[among].copy()
    rates2[np.arange(among.sum()), np.maximum(ep_cause[0, among], 0)] = 0
    cause2 = _draw_rows(rates2, rng)
    severity2 = rng.uniform(*world.severity_range, among.sum())
    ep_cause[1, second], ep_onset[1, second] = cause2[second[among]], t
    ep_sev[1, second] = severity2[second[among]]

    # a program running relieves the trouble it can reach (or harms), differently per dealer
    progs = inputs.programs
    running_program = (s.prog_kind >= 0) & (s.prog_month < progs.months[s.prog_kind])
    kind = np.where(running_program, s.prog_kind, 0)

    # footprints ramp in while an episode runs and fade once it is over
    s.ramp *= 0.5
    pressure = np.where(running_program, progs.harm[kind, dealer], 0.0)
    for slot in (0, 1):
        on = ep_cause[slot] != NO_CAUSE
        strength = np.minimum(1.0, (t - ep_onset[slot] + 1) / world.ramp_months)
        idx = np.flatnonzero(on)
        s.ramp[ep_cause[slot, idx], idx] = np.maximum(s.ramp[ep_cause[slot, idx], idx],
                                                      strength[idx])
        relief = np.where(running_program & on,
                          progs.relief[kind, np.maximum(ep_cause[slot], 0), dealer], 0.0)
        pressure += np.where(on, ep_sev[slot] * strength * (1 - relief), 0.0)

    target = inputs.h0[dealer] - pressure
    s.h = world.health_persistence * s.h + (1 - world.health_persistence) * target
    s.h = s.h + rng.normal(0, world.health_noise, n)
    haz = world.base_hazard + world.health_hazard * np.maximum(0.0, -s.h) ** (
        world.health_hazard_power)
    haz = np.minimum(haz, 0.5)

    can_churn = live & (t >= inputs.open_month[dealer] + 2) & (t >= 0)
    leaving = can_churn & (rng.random(n) < haz)
    closing = can_churn & ~leaving & (rng.random(n) < world.planned_closure_rate)
    gone = leaving | closing
    # a churn is 'sudden' when the base hazard caused it, else it is the cause of the
    # running (or, once over, the last) episode that drove health down
    by_health = leaving & (rng.random(n) * haz >= world.base_hazard)
    running = ep_cause[0] != NO_CAUSE
    cause_now = np.where(running, ep_cause[0], s.last_cause)
    onset_now = np.where(running, ep_onset[0], s.last_onset)
    explained = by_health & (cause_now != NO_CAUSE)
    second_now = ep_cause[1].copy()
    s.churned |= gone

    # a pause (a refit) starts only where the world has them: the default draws nothing
    if world.pause_rate > 0:
        begin = live & ~gone & (s.pause_left == 0) & (rng.random(n) < world.pause_rate)
        months = rng.integers(world.pause_months[0], world.pause_months[1] + 1,
                              n if aligned else begin.sum())
        s.pause_left[begin] = months[begin] if aligned else months
    paused = s.pause_left > 0
    s.pause_left = np.maximum(s.pause_left - 1, 0)
    program_orders = _program_orders(s, progs)
    program_on = np.where(running_program, s.prog_kind, -1)

    # episodes end in recovery, or with the dealer; the simulation logs them either way
    for slot in (1, 0):
        on = ep_cause[slot] != NO_CAUSE
        boost = np.where(running_program & on,
                         progs.recovery[kind, np.maximum(ep_cause[slot], 0), dealer], 0.0)
        recover = on & ~gone & (t - ep_onset[slot] >= 3) & (
            rng.random(n) < world.recovery_rate + boost)
        if log is not None:
            for outcome, mask in (("recovered", recover), ("churned", on & gone)):
                for i in np.flatnonzero(mask):
                    log.append((dealer[i], ep_cause[slot, i], ep_onset[slot, i], t,
                                float(ep_sev[slot, i]), outcome))
        ended = recover | (on & gone)
        s.last_cause[recover] = ep_cause[slot, recover]
        s.last_onset[recover] = ep_onset[slot, recover]
        ep_cause[slot, ended] = NO_CAUSE
    promote = (ep_cause[0] == NO_CAUSE) & (ep_cause[1] != NO_CAUSE)
    for arr in (ep_cause, ep_onset, ep_sev):
        arr[0, promote] = arr[1, promote]
    ep_cause[1, promote] = NO_CAUSE
    # a program counts its months through its after-effects on orders, then is over
    given = s.prog_kind >= 0
    s.prog_month = np.where(given, s.prog_month + 1, 0)
    span = progs.months + np.array([e.after_months for e in progs.effects])
    s.prog_kind = np.where(given & (s.prog_month >= span[np.maximum(s.prog_kind, 0)]), -1,
                           s.prog_kind)
    return StepResult(live=live, hazard=haz, leaving=leaving, closing=closing, gone=gone,
                      explained=explained, cause_now=cause_now, onset_now=onset_now,
                      running=running, second_now=second_now, paused=paused,
                      program_orders=program_orders, program_on=program_on)


def _program_orders(s: LatentState, progs: ProgramInputs) -> np.ndarray:
    """This month's orders multiplier of each row's program: its pause (a store being
    refitted), its pull-forward while it runs, the pull-forward paid back after it."""
    out = np.ones(len(s.prog_kind))
    for k, effect in enumerate(progs.effects):
        mine = s.prog_kind == k
        if not mine.any():
            continue
        month = s.prog_month[mine]
        factor = np.where(month < effect.months, effect.order_factor, effect.after_factor)
        factor = np.where(month < effect.pause_months, _PAUSE_LEVEL, factor)
        out[mine] = factor
    return out


_PAUSE_LEVEL = 0.05
"""Orders while a store is refitted under a fit-out program: a few small lines."""


def simulate_network(
    n_dealers: int, n_months: int, start: str, seed: int, world: World
) -> Network:
    rng = np.random.default_rng([seed, 0])
    # the shared shocks and pauses draw from a stream of their own, so a world without them
    # is the same network, byte for byte, as before they existed
    shock_rng = np.random.default_rng([seed, 6])
    month_starts = pd.date_range(pd.Timestamp(start + "-01"), periods=n_months, freq="MS")
    dealers, pref, drop_at = _dealers(n_dealers, n_months, month_starts, rng, world)
    region_names = list(REGIONS)
    market, slumps = _markets(region_names, n_months, rng, world)
    service_level = _service_levels(region_names, n_months, rng)
    rep_of, rep_diligence, rep_changed = _reps(dealers, n_months, rng, world)
    calendar = monthly_calendar(month_starts, list(CHANNELS))
    shocks = line_slumps(draw_shocks(region_names, list(CHANNELS), n_months, shock_rng, world,
                                     pd.Period(start, "M")),
                         dealers, rep_of, world, pd.Period(start, "M"))

    n, m, k = n_dealers, n_months, len(CAUSES)
    alive = np.zeros((n, m), dtype=bool)
    health = np.zeros((n, m), dtype=np.float32)
    hazard = np.zeros((n, m), dtype=np.float32)
    ramps = np.zeros((k, n, m), dtype=np.float32)
    paused = np.zeros((n, m), dtype=bool)

    # programs draw from a stream of their own too: who gets one never moves other draws
    program_rng = np.random.default_rng([seed, 8])
    inputs = StepInputs(open_month=dealers["open_month"].to_numpy(),
                        h0=dealers["h0"].to_numpy(), region=dealers["region_idx"].to_numpy(),
                        rep_changed=rep_changed, service_level=service_level,
                        programs=program_inputs(dealers, world.program_effects, CAUSES,
                                                program_rng, world.program_response_spread))
    state = LatentState(
        h=inputs.h0 + rng.normal(0, world.health_noise, n),
        ep_cause=np.full((2, n), NO_CAUSE), ep_onset=np.full((2, n), -1), ep_sev=np.zeros((2, n)),
        ramp=np.zeros((k, n)), last_cause=np.full(n, NO_CAUSE), last_onset=np.full(n, NO_MONTH),
        churned=np.zeros(n, dtype=bool), pause_left=np.zeros(n, dtype=np.int64),
        prog_kind=np.full(n, -1), prog_month=np.zeros(n, dtype=np.int64))
    program_on = np.full((n, m), -1, dtype=np.int8)
    program_orders = np.ones((n, m))
    given: list[tuple[int, int, int, str]] = []  # dealer, kind, month, assigned_by
    churn_month = np.full(n, NO_MONTH)
    churn_cause = np.full(n, NO_CAUSE)
    churn_secondary = np.full(n, NO_CAUSE)
    churn_onset = np.full(n, NO_MONTH)
    planned = np.zeros(n, dtype=bool)
    episode_log: list[tuple[int, int, int, int, float, str]] = []
    states: list[LatentState] = []  # each month's state at its start, for the oracle
    everyone = np.arange(n)

    for t in range(-world.burn_in_months, m):
        if t >= 0:
            given += assign_programs(state, t, inputs, program_rng, world)
            states.append(state.take(everyone))
        step = step_month(state, t, everyone, inputs, rng, world, log=episode_log)
        gone = step.gone
        churn_month[gone] = t
        churn_cause[gone] = np.where(step.explained[gone], step.cause_now[gone], SUDDEN)
        churn_secondary[gone] = np.where(step.explained[gone] & step.running[gone],
                                         step.second_now[gone], NO_CAUSE)
        churn_onset[gone] = np.where(step.explained[gone], step.onset_now[gone], NO_MONTH)
        planned[step.closing] = True

        if t >= 0:
            alive[:, t] = step.live & ~gone
            health[:, t] = state.h
            hazard[:, t] = np.where(step.live, step.hazard, 0.0)
            ramps[:, :, t] = state.ramp
            paused[:, t] = step.paused
            program_on[:, t] = step.program_on
            program_orders[:, t] = step.program_orders

    for slot in (0, 1):
        for d in np.flatnonzero(state.ep_cause[slot] != NO_CAUSE):
            episode_log.append((d, state.ep_cause[slot, d], state.ep_onset[slot, d], NO_MONTH,
                                float(state.ep_sev[slot, d]), "ongoing"))

    dealers = dealers.assign(
        churn_month=churn_month,
        churn_cause=churn_cause,
        churn_secondary=churn_secondary,
        churn_onset=churn_onset,
        planned_closure=planned,
    )
    noise = np.exp(rng.normal(0, world.month_noise_sigma, (n, m)))
    d, t = np.arange(n)[:, None], np.arange(m)[None, :]
    level = order_level(dealers, d, t, market, calendar, health,
                        ramps[CAUSES.index("competitor")], world)
    expected = np.where(alive, level * noise * shock_factor(dealers, d, t, shocks, paused, world)
                        * program_orders, 0.0).astype(np.float64)
    episodes = pd.DataFrame(episode_log,
                            columns=["dealer", "cause", "onset", "end", "severity", "outcome"])
    return Network(
        month_starts=month_starts,
        dealers=dealers,
        alive=alive,
        health=health,
        hazard=hazard,
        expected_amount=expected,
        ramps=ramps,
        category_pref=pref,
        category_drop_at=drop_at,
        sku_factors=np.sort(np.exp(rng.normal(0, world.sku_price_sigma,
                                              (len(CATEGORIES), SKUS_PER_CATEGORY))), axis=1),
        rep_of=rep_of,
        rep_diligence=rep_diligence,
        service_level=service_level,
        market=market,
        slumps=slumps,
        episodes=episodes,
        calendar=calendar,
        shocks=shocks,
        paused=paused,
        program_on=program_on,
        programs=pd.DataFrame(given, columns=["dealer", "kind", "start", "assigned_by"]),
        states=states,
        inputs=inputs,
    )


def assign_programs(s: LatentState, t: int, inputs: StepInputs, rng: np.random.Generator,
                    world: World) -> list[tuple[int, int, int, str]]:
    """The programs that start this month, set in the state: (dealer, kind, month, by).

    Pilots: at each quarter's start, a share of the live dealers without a program, each
    given a program drawn at random (randomized). Managers: every month, dealers that look
    at risk from what a manager sees (the footprints of their trouble, not their hazard)
    get a program, the one their symptom suggests or, as often, a habitual one
    (confounded). The same draws each month whatever the state, so the stream stays put."""
    n = len(s.h)
    kinds = inputs.programs.kinds
    live = (inputs.open_month <= t) & ~s.churned
    free = live & (s.prog_kind < 0)
    pilot_draw, pilot_kind = rng.random(n), rng.integers(0, len(kinds), n)
    pilot = free & (t % 3 == 0) & (pilot_draw < world.program_pilot_share)
    visible = s.ramp.max(axis=0)
    thr = world.program_manager_threshold
    chance = world.program_manager_rate * np.clip((visible - thr) / (1 - thr), 0.0, 1.0)
    manager_draw, skill_draw = rng.random(n), rng.random(n)
    habit = np.array([kinds.index(h) for h in MANAGER_HABITS])[
        rng.integers(0, len(MANAGER_HABITS), n)]
    matched = np.array([kinds.index(CAUSE_PROGRAM[c]) for c in CAUSES])[
        s.ramp.argmax(axis=0)]
    manager = free & ~pilot & (manager_draw < chance)
    manager_kind = np.where(skill_draw < world.program_manager_skill, matched, habit)
    out = []
    for mask, kind, by in ((pilot, pilot_kind, "pilot"), (manager, manager_kind, "manager")):
        rows = np.flatnonzero(mask)
        s.prog_kind[rows], s.prog_month[rows] = kind[rows], 0
        out += [(int(d), int(kind[d]), t, by) for d in rows]
    return out


def _draw_rows(rates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row, proportional to the row's rates."""
    if len(rates) == 0:
        return np.zeros(0, dtype=int)
    cum = np.cumsum(rates, axis=1)
    u = rng.random(len(rates)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), rates.shape[1] - 1)


def _dealers(n: int, m: int, month_starts: pd.DatetimeIndex, rng: np.random.Generator,
             world: World) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    region_names = list(REGIONS)
    shares = np.array([REGIONS[r]["share"] for r in region_names])
    region_idx = rng.choice(len(region_names), n, p=shares / shares.sum())
    city = np.array([rng.choice(REGIONS[region_names[r]]["cities"]) for r in region_idx])
    tier = rng.choice(list(TIERS), n, p=list(TIERS.values()))
    channel = rng.choice(list(CHANNELS), n, p=list(CHANNELS.values()))
    incumbent = rng.random(n) < world.incumbent_share
    open_month = np.where(incumbent, -rng.integers(1, world.incumbent_max_tenure_months + 1, n),
                          rng.integers(1, max(2, m - 3), n))
    first = pd.Period(month_starts[0], freq="M")
    opened = pd.PeriodIndex.from_ordinals(first.ordinal + open_month, freq="M").to_timestamp()
    opened_on = opened + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
    median = np.array([TIER_MONTHLY_REVENUE[t] for t in tier])
    size = median * np.array([CHANNEL_REVENUE[c] for c in channel])
    size *= np.exp(rng.normal(0, world.revenue_sigma, n))

    channel_col = {c: i for i, c in enumerate(CHANNELS)}
    cat_weights = np.array([w for _, _, w in CATEGORIES.values()])  # [category, channel]
    alpha = cat_weights[:, [channel_col[c] for c in channel]].T * 2.0
    pref = rng.gamma(alpha)
    carried = {"A": (6, 6), "B": (4, 6), "C": (2, 5)}
    breadth = np.array([rng.integers(carried[t][0], carried[t][1] + 1) for t in tier])
    rank = np.argsort(np.argsort(-pref, axis=1), axis=1)
    pref = np.where(rank < breadth[:, None], pref, 0.0)
    pref /= pref.sum(axis=1, keepdims=True)
    # the order in which a dealer losing to a competitor drops its secondary categories
    drop_at = rng.uniform(0.15, 1.0 / world.competitor_breadth_loss, pref.shape)
    drop_at[np.arange(n), pref.argmax(axis=1)] = np.inf  # the core category stays

    discount = np.array([world.discount_by_tier[t] for t in tier]) + rng.normal(0, 0.02, n)
    frame = pd.DataFrame({
        "dealer": np.arange(n),
        "dealer_id": [f"D{i + 1:05d}" for i in range(n)],
        "region_idx": region_idx,
        "region": np.array(region_names)[region_idx],
        "city": city,
        "tier": tier,
        "channel": channel,
        "open_month": open_month,
        "opened_on": opened_on,
        "size": size,
        "h0": rng.normal(world.health_mean, world.health_sd, n),
        "discount": np.clip(discount, 0.0, 0.5),
    })
    frame["name"] = _dealer_names(frame, rng)
    return frame, pref, drop_at


_NAME_WORDS = ("鑫", "华", "盛", "美", "佳", "居", "雅", "豪", "福", "润", "家", "安", "宏", "达",
               "恒", "泰", "信", "诚", "尚", "品")
_NAME_KINDS = ("橱柜", "整体家居", "全屋定制", "家居", "建材", "装饰")


def _dealer_names(frame: pd.DataFrame, rng: np.random.Generator) -> list[str]:
    a = rng.choice(_NAME_WORDS, len(frame))
    b = rng.choice(_NAME_WORDS, len(frame))
    kind = rng.choice(_NAME_KINDS, len(frame))
    return [f"{c}{x}{y}{k}{i % 97 + 1}店" for c, x, y, k, i in
            zip(frame["city"], a, b, kind, frame["dealer"], strict=True)]


def _markets(regions: list[str], m: int, rng: np.random.Generator,
             world: World) -> tuple[np.ndarray, pd.DataFrame]:
    r = len(regions)
    growth = np.array([REGIONS[x]["growth"] for x in regions])
    noise = np.zeros((r, m))
    for t in range(1, m):
        noise[:, t] = 0.8 * noise[:, t - 1] + rng.normal(0, 0.03, r)
    slump_effect = np.zeros((r, m))
    rows = []
    for i in range(r):
        t = 0
        while t < m:
            if rng.random() < world.slump_rate:
                depth = rng.uniform(*world.slump_depth)
                length = int(rng.integers(world.slump_months[0], world.slump_months[1] + 1))
                shape = _hump(length)
                end = min(m, t + length)
                slump_effect[i, t:end] = np.log1p(-depth * shape[: end - t])
                rows.append((regions[i], t, end, depth))
                t = end
            t += 1
    log_market = growth[:, None] * np.arange(m)[None, :] / 12 + noise + slump_effect
    slumps = pd.DataFrame(rows, columns=["region", "start", "end", "depth"])
    return np.exp(log_market), slumps


def _service_levels(regions: list[str], m: int, rng: np.random.Generator) -> np.ndarray:
    base = np.array([REGIONS[x]["service"] for x in regions])
    phase = rng.uniform(0, 2 * np.pi, len(regions))
    cycle = 0.1 * np.sin(2 * np.pi * np.arange(m)[None, :] / 24 + phase[:, None])
    return np.maximum(0.0, base[:, None] + cycle)


def _reps(dealers: pd.DataFrame, m: int, rng: np.random.Generator,
          world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reps cover 15-40 dealers of a region; when one leaves, a new rep takes the territory."""
    n = len(dealers)
    territory = np.zeros(n, dtype=int)
    n_territories = 0
    for r in np.unique(dealers["region_idx"]):
        members = np.flatnonzero(dealers["region_idx"].to_numpy() == r)
        span = rng.integers(world.rep_span[0], world.rep_span[1] + 1)
        k = max(1, int(np.ceil(len(members) / span)))
        territory[members] = n_territories + rng.integers(0, k, len(members))
        n_territories += k
    rep = np.zeros((n_territories, m), dtype=int)
    changed = np.zeros((n_territories, m), dtype=bool)
    current = np.arange(n_territories)
    next_rep = n_territories
    last_change = np.full(n_territories, -100)
    for t in range(m):
        leave = rng.random(n_territories) < world.rep_leave_rate
        new = np.arange(next_rep, next_rep + leave.sum())
        current = current.copy()
        current[leave] = new
        next_rep += leave.sum()
        last_change[leave] = t
        rep[:, t] = current
        changed[:, t] = t - last_change < 6
    diligence = rng.uniform(0.5, 1.3, next_rep)
    return rep[territory], diligence, changed[territory]


@dataclass
class Shocks:
    """Shared shocks by month: nobody's fault, each hits every dealer of a region or channel."""

    price_war: np.ndarray  # [region, month]: extra discount
    channel_factor: np.ndarray  # [channel, month]: multiplier of orders (1: no slump)
    late_extra: np.ndarray  # [region, month]: extra share of late deliveries
    table: pd.DataFrame  # kind, region, channel, line, start, end, size: the truth's record
    dealer_factor: np.ndarray | None = None  # [dealer, month]: line slumps' orders multiplier
    hit: dict[int, np.ndarray] = field(default_factory=dict)
    """Row of `table` -> the dealers a line slump hits (the truth's shock_dealers)."""


def draw_shocks(regions: list[str], channels: list[str], m: int, rng: np.random.Generator,
                world: World, first_month: pd.Period) -> Shocks:
    """Each kind of shock starts at its monthly rate, runs its length, then may recur; the
    world's scheduled shocks come on top."""
    rows: list[tuple] = []

    def episodes(units: list[str], rate: float, size: tuple[float, float],
                 months: tuple[int, int], kind: str, by: str) -> np.ndarray:
        effect = np.zeros((len(units), m))
        if rate <= 0:
            return effect
        for i, unit in enumerate(units):
            t = 0
            while t < m:
                if rng.random() < rate:
                    height = rng.uniform(*size)
                    length = int(rng.integers(months[0], months[1] + 1))
                    end = min(m, t + length)
                    effect[i, t:end] = height * _hump(length)[: end - t]
                    rows.append((kind, unit if by == "region" else None,
                                 unit if by == "channel" else None, t, end, height))
                    t = end
                t += 1
        return effect

    price = episodes(regions, world.price_war_rate, world.price_war_discount,
                     world.price_war_months, "price_war", "region")
    hit = [c for c in channels if c in world.channel_slump_channels]
    slump = episodes(hit, world.channel_slump_rate, world.channel_slump_depth,
                     world.channel_slump_months, "channel_slump", "channel")
    late = episodes(regions, world.logistics_disruption_rate, world.logistics_disruption_late,
                    world.logistics_disruption_months, "logistics_disruption", "region")
    slump_by_channel = np.zeros((len(channels), m))
    for j, channel in enumerate(hit):
        slump_by_channel[channels.index(channel)] = slump[j]
    arrays = {"price_war": (price, regions, "region"),
              "channel_slump": (slump_by_channel, channels, "channel"),
              "logistics_disruption": (late, regions, "region")}
    for shock in world.scheduled_shocks:
        if shock.kind == "line_slump":
            continue  # on dealers, not units: line_slumps()
        effect, units, by = arrays[shock.kind]
        if shock.unit not in units:
            raise ValueError(f"scheduled {shock.kind}: unknown {by} {shock.unit!r}; "
                             f"known: {', '.join(units)}")
        t = (pd.Period(shock.start, "M") - first_month).n
        lo, hi = max(t, 0), min(m, t + shock.months)
        if lo < hi:
            shape = _hump(shock.months)[lo - t: hi - t] * shock.size
            i = units.index(shock.unit)
            effect[i, lo:hi] = np.maximum(effect[i, lo:hi], shape)
            rows.append((shock.kind, shock.unit if by == "region" else None,
                         shock.unit if by == "channel" else None, lo, hi, shock.size))
    factor = 1.0 - slump_by_channel
    table = pd.DataFrame([(*r[:3], None, *r[3:]) for r in rows],
                         columns=["kind", "region", "channel", "line", "start", "end", "size"])
    return Shocks(price_war=price, channel_factor=factor, late_extra=late, table=table)


def line_slumps(shocks: Shocks, dealers: pd.DataFrame, rep_of: np.ndarray,
                world: World, first_month: pd.Period) -> Shocks:
    """The world's scheduled line slumps (a tier, a city, one rep's dealers, part of a
    region: lines the explanations' peers are not drawn on), on top of `shocks`: each
    multiplies the orders of the dealers it hits by 1 - size at its height."""
    n, m = rep_of.shape
    factor = np.ones((n, m))
    rows, hit = [], {}
    for shock in (s for s in world.scheduled_shocks if s.kind == "line_slump"):
        line, value = shock.unit.split(":", 1)
        t = (pd.Period(shock.start, "M") - first_month).n
        known = {"tier": ("A", "B", "C"), "city": [c for r in REGIONS.values()
                                                     for c in r["cities"]],
                 "region-part": list(REGIONS)}.get(line)
        if known is not None and value not in known:
            raise ValueError(f"scheduled line_slump: unknown {line} {value!r}; known: "
                             f"{', '.join(known)}")
        members = _line_members(dealers, rep_of, line, value, min(max(t, 0), m - 1))
        if not members.any():
            continue  # a small network without such a dealer: nothing to slump
        lo, hi = max(t, 0), min(m, t + shock.months)
        if lo < hi:
            shape = _hump(shock.months)[lo - t: hi - t] * shock.size
            factor[members, lo:hi] = np.minimum(factor[members, lo:hi], 1.0 - shape)
            hit[len(shocks.table) + len(rows)] = np.flatnonzero(members)
            rows.append(("line_slump", None, None, shock.unit, lo, hi, shock.size))
    if not rows:
        return shocks
    table = pd.concat([shocks.table, pd.DataFrame(rows, columns=shocks.table.columns)],
                      ignore_index=True)
    return Shocks(price_war=shocks.price_war, channel_factor=shocks.channel_factor,
                  late_extra=shocks.late_extra, table=table, dealer_factor=factor, hit=hit)


def _line_members(dealers: pd.DataFrame, rep_of: np.ndarray, line: str, value: str,
                  t: int) -> np.ndarray:
    if line == "tier":
        return (dealers["tier"] == value).to_numpy()
    if line == "city":
        return (dealers["city"] == value).to_numpy()
    if line == "rep-of":  # the dealers served by the same rep as this dealer
        at = np.flatnonzero((dealers["dealer_id"] == value).to_numpy())
        return rep_of[:, t] == rep_of[at[0], t] if len(at) else np.zeros(len(dealers), bool)
    cities = sorted(dealers.loc[dealers["region"] == value, "city"].unique())
    return dealers["city"].isin(cities[: max(1, len(cities) // 2)]).to_numpy()


def _hump(length: int) -> np.ndarray:
    """Ramps in over two months, holds, ramps out over two (the regional slumps' shape)."""
    return np.minimum(1.0, np.minimum(np.arange(1, length + 1), np.arange(length, 0, -1)) / 2.0)


CHANNEL_INDEX = {c: i for i, c in enumerate(CHANNELS)}


def order_level(dealers: pd.DataFrame, d: np.ndarray, t: np.ndarray, market: np.ndarray,
                calendar: dict, health: np.ndarray, competitor: np.ndarray,
                world: World) -> np.ndarray:
    """Expected net orders (CNY) of dealers ``d`` in months ``t`` (broadcast together),
    before the month's noise and the shared shocks: the simulation and the oracle share it."""
    season = np.stack([calendar[c]["factor"] for c in CHANNELS])
    channel = dealers["channel"].map(CHANNEL_INDEX).to_numpy()
    age = t - dealers["open_month"].to_numpy()[d]
    onboarding = 1 - np.exp(-(np.maximum(age, 0) + 1) / world.onboarding_months)
    level = dealers["size"].to_numpy()[d] * market[dealers["region_idx"].to_numpy()[d], t]
    h0 = dealers["h0"].to_numpy()[d]
    return (level * season[channel[d], t] * onboarding
            * np.exp(world.health_on_orders * (health - h0))
            * (1 - world.competitor_volume * competitor))


def shock_factor(dealers: pd.DataFrame, d: np.ndarray, t: np.ndarray, shocks: Shocks,
                 paused: np.ndarray, world: World) -> np.ndarray:
    """Multiplier of the expected orders from channel slumps and the dealer's own pause."""
    channel = dealers["channel"].map(CHANNEL_INDEX).to_numpy()[d]
    line = 1.0 if shocks.dealer_factor is None else shocks.dealer_factor[d, t]
    return shocks.channel_factor[channel, t] * line * np.where(paused, world.pause_level, 1.0)
