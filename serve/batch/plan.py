"""Programs for a budget: each dealer's estimated program effects, and the plan that spends
a retention budget where the margin kept per unit spent is highest.

At scoring time (`score`), the registered effect model (models.effects) estimates for
every dealer in the snapshot each program's change of its chance of leaving within 12
months, with an interval, and the program's cost for this dealer (the median cost of that
program per month of the receiving dealers' orders, times this dealer's monthly orders):
the `<as_of>.effects.parquet` companion of the snapshot.

The plan (`dealer-risk plan`, GET /v1/plan, the dashboard's Plan page) takes one program
per dealer, in order of expected margin kept per unit of cost, while the budget lasts:

    margin kept = -(effect) x the dealer's expected 12-month revenue x plan.margin_rate

and only where it exceeds the cost. It never spends on a program whose effect interval
covers zero unless asked (`include_uncertain`), nor on an effect model that has not passed
its gate unless asked (`plan.unproven`): an estimate the randomized pilots do not back is
a guess, and the plan says so instead of spending on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.contract import PROGRAM_KINDS

EFFECT_COLUMNS = ("dealer_id", "program", "effect", "low", "high", "leave_without",
                  "cost")


def dealer_effects(model, rows: pd.DataFrame, cost_months: dict[str, float],
                   interval: float) -> pd.DataFrame:
    """Long table: every dealer of `rows` x every modelled program, with the estimated
    effect and interval, the chance of leaving without a program, and the cost."""
    est = model.effects(rows.reset_index(drop=True), alpha=1 - interval)
    if est.empty:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    rows = rows.reset_index(drop=True)
    at = est["row"].to_numpy()
    est["dealer_id"] = rows["dealer_id"].astype(str).to_numpy()[at]
    est["leave_without"] = model.leave_without(rows)[at]
    # a change of a probability is bounded by it: a program cannot keep more than the risk,
    # however far a linear effect extrapolates for an unusual dealer
    p0 = est["leave_without"].fillna(1.0)
    for col in ("effect", "low", "high"):
        est[col] = est[col].clip(lower=-p0, upper=1 - p0)
    monthly = pd.to_numeric(rows["orders_monthly_mean_12m"], errors="coerce").fillna(0.0)
    fallback = float(np.median(list(cost_months.values()))) if cost_months else np.nan
    est["cost"] = est["program"].map(cost_months).fillna(fallback).to_numpy() \
        * monthly.to_numpy()[at]
    return est[list(EFFECT_COLUMNS)]


def with_leave_with(effects: pd.DataFrame) -> pd.DataFrame:
    """`effects` with the chance of leaving with the program and its interval (a
    probability: the effect added to the chance without, within 0..1; NaN where the chance
    without is unknown)."""
    out = effects.copy()
    for col, delta in (("leave_with", "effect"), ("leave_with_low", "low"),
                       ("leave_with_high", "high")):
        out[col] = (out["leave_without"] + out[delta]).clip(0, 1)
    return out


@dataclass
class Plan:
    """The chosen programs, and what they are expected to keep."""

    rows: pd.DataFrame
    budget: float
    spent: float
    revenue_kept: float
    margin_kept: float
    notes: list[str] = field(default_factory=list)


PLAN_COLUMNS = ("dealer_id", "dealer_name", "region", "sales_rep_id", "program", "program_zh",
                "leave_without", "leave_with", "leave_with_low", "leave_with_high",
                "effect", "low", "high", "expected_revenue_12m", "revenue_kept",
                "margin_kept", "cost", "net")


def make_plan(effects: pd.DataFrame, snapshot: pd.DataFrame, budget: float, *,
              margin_rate: float, regions: list[str] | None = None,
              programs: list[str] | None = None, include_uncertain: bool = False) -> Plan:
    """Greedy by margin kept per unit of cost, one program per dealer, within `budget`
    (a knapsack solved greedily: exact when costs are small beside the budget)."""
    notes: list[str] = []
    cand = effects.merge(snapshot[["dealer_id", "dealer_name", "region", "sales_rep_id",
                                   "expected_revenue_12m"]], on="dealer_id", how="inner")
    if regions:
        cand = cand.loc[cand["region"].isin(regions)]
    if programs:
        cand = cand.loc[cand["program"].isin(programs)]
    revenue = cand["expected_revenue_12m"].fillna(0.0).clip(lower=0.0)
    cand = cand.assign(revenue_kept=-cand["effect"] * revenue)
    cand["margin_kept"] = cand["revenue_kept"] * margin_rate
    cand["net"] = cand["margin_kept"] - cand["cost"]
    helps = cand["effect"] < 0
    sure = cand["high"] < 0
    if not include_uncertain:
        dropped = int((helps & ~sure).sum())
        if dropped and not (helps & sure).any():
            notes.append("no program has an estimated effect whose interval excludes zero "
                         "for any dealer: nothing is spent (include_uncertain plans with the "
                         "point estimates)")
        elif dropped:
            notes.append(f"{dropped:,} dealer-program pairs left out: their effect interval "
                         "covers zero")
        helps &= sure
    cand = cand.loc[helps & (cand["net"] > 0) & (cand["cost"] > 0)]
    cand = cand.assign(ratio=cand["margin_kept"] / cand["cost"]).sort_values(
        ["ratio", "dealer_id", "program"], ascending=[False, True, True])
    chosen, taken, spent = [], set(), 0.0
    for i, dealer, cost in zip(cand.index, cand["dealer_id"], cand["cost"], strict=True):
        if dealer in taken or spent + cost > budget:
            continue
        taken.add(dealer)
        spent += cost
        chosen.append(i)
    rows = cand.loc[chosen].copy()
    rows["program_zh"] = rows["program"].map(lambda k: PROGRAM_KINDS.get(k, k))
    rows = with_leave_with(rows)[list(PLAN_COLUMNS)].reset_index(drop=True)
    if budget > 0 and not len(rows) and not notes:
        notes.append("no program keeps more margin than it costs for any dealer")
    return Plan(rows=rows, budget=float(budget), spent=float(spent),
                revenue_kept=float(rows["revenue_kept"].sum()),
                margin_kept=float(rows["margin_kept"].sum()), notes=notes)


UNPROVEN = "unproven"
"""The status of effects from an effect model that has not passed its gate."""


def load_effect_model(settings):
    """(model, version, status) of the registered effect model the settings allow: the
    champion, else (with plan.unproven) the challenger marked unproven; None when there is
    none (effects are then simply absent)."""
    from models.effects.pipeline import MODEL, load_effects
    from models.tracking import CHALLENGER, CHAMPION, RegistryError, registered_name
    name = registered_name(settings.models.tracking, MODEL)
    aliases = [(CHAMPION, "champion")] + ([(CHALLENGER, UNPROVEN)] if settings.plan.unproven
                                          else [])
    for alias, status in aliases:
        try:
            model, version = load_effects(name, alias)
        except RegistryError:
            continue
        return model, version, status
    return None


def snapshot_effects(population: pd.DataFrame, snapshot: pd.DataFrame,
                     cutoff: pd.Timestamp, loaded_model, settings) -> pd.DataFrame | None:
    """The `<as_of>.effects.parquet` companion: the snapshot's dealers x programs, or None
    without an effect model."""
    if loaded_model is None:
        return None
    model, version, status = loaded_model
    at = population.loc[pd.to_datetime(population["cutoff"]) == cutoff]
    rows = at.loc[at["dealer_id"].astype(str).isin(set(snapshot["dealer_id"].astype(str)))]
    out = dealer_effects(model, rows, model.cost_months, settings.models.effects.interval)
    return out.assign(effects_version=version, effects_status=status)
