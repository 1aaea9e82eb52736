"""The oracle: each dealer-month's true chance that the churn label fires, given the latent
state the simulator knew at the month's first day.

It restarts the simulator's own month transition (network.step_month) from a copy of that
state, many times per dealer, for the months the label's horizon covers, and in each path
multiplies the chances of a month with no positive order (orders are Poisson lines of a known
value: events.line_value) over the months the dealer is still open, joined with the chance
that its contract is formally closed inside the horizon. The exogenous path (markets,
seasons, shared shocks, reps) is the one the world drew: the oracle knows the world, not the
future draws of any dealer; a program already given runs its course in every path, one not
yet given does not. A model that reached the oracle's ROC AUC would rank as well as
anything can from the data; benchmarks/bench_worlds.py measures ours as a share of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.simulator.events import line_value
from features.simulator.network import (
    Network,
    order_level,
    shock_factor,
    step_month,
)
from features.simulator.world import CAUSES, World

HORIZON_DAYS = 90  # the churn label's default horizon (labels.churn.horizon_days)


def churn_oracle(net: Network, world: World, seed: int,
                 horizon_days: int = HORIZON_DAYS) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 [dealer, month] arrays from the same paths, NaN where the dealer had not
    opened or the horizon runs past the simulated period:

    - the label's: P(no positive order in [month start, + horizon) or the contract closes in
      it | latent state at the month start);
    - leaving: P(the dealer truly leaves (churns, never to order again) in one of the months
      the horizon touches, or had left already | the same state). A quiet spell (a pause,
      a gap between lumpy project orders) fires the label but not this."""
    n, m = net.alive.shape
    rng = np.random.default_rng([seed, 7])
    paths = world.oracle_paths
    value = line_value(net, np.arange(n))
    project = (net.dealers["channel"] == "project").to_numpy()
    q = world.project_order_probability
    competitor = CAUSES.index("competitor")
    starts = net.month_starts
    days = starts.days_in_month.to_numpy()
    out = np.full((n, m), np.nan, dtype=np.float32)
    leave = np.full((n, m), np.nan, dtype=np.float32)
    opened_before = net.inputs.open_month[:, None] < np.arange(m)[None, :]
    for t in range(m):
        end = starts[t] + pd.Timedelta(days=horizon_days)
        last = int(np.searchsorted(starts.values, end.to_datetime64(), side="left"))
        if last > m or (last == m and end > net.period_end + pd.Timedelta(days=1)):
            break  # the horizon runs past the simulated period: no label, no oracle
        state = net.states[t]
        opened = opened_before[:, t]
        out[opened & state.churned, t] = 1.0  # gone already: no order can come
        leave[opened & state.churned, t] = 1.0
        rows = np.flatnonzero(opened & ~state.churned)
        d = np.repeat(rows, paths)
        s = state.take(d)
        p_silent = np.ones(len(d))
        p_closes = np.zeros(len(d))
        left = np.zeros(len(d), dtype=bool)
        for month in range(t, last):
            step = step_month(s, month, d, net.inputs, rng, world)
            inside = min(1.0, (end - starts[month]).days / days[month])
            level = order_level(net.dealers, d, month, net.market, net.calendar, s.h,
                                s.ramp[competitor], world)
            amount = (level * np.exp(rng.normal(0, world.month_noise_sigma, len(d)))
                      * shock_factor(net.dealers, d, month, net.shocks, step.paused, world)
                      * step.program_orders)
            lines = inside * amount / value[d]
            p_none = np.where(project[d], 1 - q + q * np.exp(-lines / q), np.exp(-lines))
            open_now = step.live & ~step.gone
            left |= step.gone
            p_silent *= np.where(open_now, p_none, 1.0)
            p_closes = np.where(step.gone, _closes_inside(step.closing, world,
                                                          (end - starts[month]).days),
                                p_closes)
        p = 1.0 - (1.0 - p_silent) * (1.0 - p_closes)
        out[rows, t] = p.reshape(-1, paths).mean(axis=1)
        leave[rows, t] = left.reshape(-1, paths).mean(axis=1)
    return out, leave


def _closes_inside(planned: np.ndarray, world: World, days_left: int) -> np.ndarray:
    """Chance that a dealer churning this month has its contract closed before the horizon
    ends: closures are dated a uniform 30-120 days after the last order, which is taken to
    fall half a month before the churn month (run._dealers_table)."""
    lo, hi = world.closed_on_lag_days
    lag_room = days_left + 15
    p_lag = np.clip((lag_room - lo) / (hi - lo + 1), 0.0, 1.0)
    formal = np.where(planned, 1.0, world.closed_on_share)
    return formal * p_lag


NO_PROGRAM = "none"


def program_oracle(net: Network, world: World, seed: int) -> pd.DataFrame:
    """The programs' truth: for the newest `world.program_truth_months` months whose
    horizon the period covers, each live dealer's (without a program running or paying
    back its orders, so free to be given one) chance of truly leaving (churning, not a
    quiet spell) within `program_truth_horizon_months`, if no new program starts that month
    ("none") and if each program does. Every scenario restarts the month transition from
    the same state with the same random numbers, so a program that changes nothing has an
    uplift of exactly zero. Rows: dealer_id, month, program, p_leave."""
    months = world.program_truth_months
    h = world.program_truth_horizon_months
    m = len(net.month_starts)
    last = m - h  # the newest month whose horizon fits
    if months == 0 or last < 1:
        return pd.DataFrame(columns=["dealer_id", "month", "program", "p_leave"])
    progs = net.inputs.programs
    paths = world.program_oracle_paths
    ids = net.dealers["dealer_id"].to_numpy()
    frames = []
    for t in range(max(0, last - months), last):
        state = net.states[t]
        rows = np.flatnonzero((net.inputs.open_month <= t) & ~state.churned
                              & (state.prog_kind < 0))  # free for a new program
        d = np.repeat(rows, paths)
        for k, name in [(-1, NO_PROGRAM), *enumerate(progs.kinds)]:
            rng = np.random.default_rng([seed, 9, t])  # the same draws in every scenario
            s = state.take(d)
            if k >= 0:
                s.prog_kind[:], s.prog_month[:] = k, 0
            left = np.zeros(len(d), dtype=bool)
            for month in range(t, t + h):
                left |= step_month(s, month, d, net.inputs, rng, world,
                                   aligned=True).gone
            frames.append(pd.DataFrame({
                "dealer_id": ids[rows], "month": net.month_starts[t].date(), "program": name,
                "p_leave": left.reshape(-1, paths).mean(axis=1).astype(np.float32)}))
    return pd.concat(frames, ignore_index=True)
