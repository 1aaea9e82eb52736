"""The retention plan's arithmetic: one program per dealer, the most margin kept per unit
of cost first, within the budget, never on an effect whose interval covers zero unless
asked, never where the margin kept is below the cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serve.batch.plan import dealer_effects, make_plan


def snapshot():
    return pd.DataFrame({"dealer_id": ["A", "B", "C", "D"], "dealer_name": ["a", "b", "c", "d"],
                         "region": ["华东", "华东", "华南", "华南"],
                         "sales_rep_id": ["R1", "R1", "R2", "R2"],
                         "expected_revenue_12m": [1_000_000.0, 500_000.0, 800_000.0, 0.0]})


def effects():
    rows = [  # dealer, program, effect, low, high, leave_without, cost
        ("A", "priority_service", -0.10, -0.15, -0.05, 0.30, 10_000.0),  # 30k margin kept
        ("A", "rebate", -0.05, -0.08, -0.01, 0.30, 5_000.0),  # 15k; A gets one program only
        ("B", "priority_service", -0.20, -0.30, -0.10, 0.40, 20_000.0),  # 30k margin, 1.5x
        ("C", "extra_visits", -0.10, -0.25, 0.05, 0.20, 2_000.0),  # uncertain: 24k, 12x
        ("C", "freight_sharing", -0.01, -0.02, -0.005, 0.20, 5_000.0),  # 2.4k < cost: never
        ("D", "priority_service", -0.30, -0.40, -0.20, 0.50, 1_000.0),  # no revenue to keep
    ]
    return pd.DataFrame(rows, columns=["dealer_id", "program", "effect", "low", "high",
                                       "leave_without", "cost"])


def test_the_plan_buys_the_most_margin_per_yuan_one_program_per_dealer():
    plan = make_plan(effects(), snapshot(), 1_000_000, margin_rate=0.3)
    assert list(zip(plan.rows["dealer_id"], plan.rows["program"], strict=True)) == [
        ("A", "priority_service"), ("B", "priority_service")]
    assert plan.spent == 30_000
    assert plan.revenue_kept == pytest.approx(0.10 * 1_000_000 + 0.20 * 500_000)
    assert plan.margin_kept == pytest.approx(0.3 * plan.revenue_kept)
    first = plan.rows.iloc[0]
    assert first["leave_with"] == pytest.approx(0.20)
    assert (first["leave_with_low"], first["leave_with_high"]) == pytest.approx((0.15, 0.25))
    assert first["program_zh"] == "优先服务"
    assert any("interval covers zero" in n for n in plan.notes)


def test_the_budget_is_never_exceeded_and_the_next_best_fits_in():
    plan = make_plan(effects(), snapshot(), 15_000, margin_rate=0.3)
    # A's priority service (ratio 3) fits; B's (20k) does not; A is taken, so not its rebate
    assert list(plan.rows["program"]) == ["priority_service"]
    assert plan.spent == 10_000 <= plan.budget
    plan = make_plan(effects(), snapshot(), 4_000, margin_rate=0.3)
    assert plan.rows.empty and plan.spent == 0


def test_uncertain_effects_only_when_asked():
    plan = make_plan(effects(), snapshot(), 1_000_000, margin_rate=0.3,
                     include_uncertain=True)
    assert ("C", "extra_visits") in set(zip(plan.rows["dealer_id"], plan.rows["program"],
                                            strict=True))
    assert plan.rows.iloc[0]["dealer_id"] == "C"  # 12x its cost: first
    assert "freight_sharing" not in set(plan.rows["program"])  # keeps less than it costs


def test_filters_and_the_note_when_nothing_is_certain():
    plan = make_plan(effects(), snapshot(), 1_000_000, margin_rate=0.3, regions=["华南"])
    assert plan.rows.empty
    assert any("interval covers zero" in n for n in plan.notes)
    plan = make_plan(effects(), snapshot(), 1_000_000, margin_rate=0.3,
                     programs=["rebate"])
    assert list(plan.rows["program"]) == ["rebate"]
    only_uncertain = effects().loc[lambda f: f["dealer_id"] == "C"]
    plan = make_plan(only_uncertain.iloc[:1], snapshot(), 1e6, margin_rate=0.3)
    assert plan.rows.empty and "nothing is spent" in plan.notes[0]


class FakeModel:
    """What dealer_effects needs of an effect model."""

    def effects(self, frame, alpha=0.1):
        n = len(frame)
        return pd.DataFrame({"row": np.arange(n), "program": "rebate",
                             "effect": -0.1, "low": -0.2, "high": 0.0})

    def leave_without(self, frame):
        return np.full(len(frame), 0.25)


class Extrapolating(FakeModel):
    def effects(self, frame, alpha=0.1):
        return super().effects(frame).assign(effect=-2.0, low=-3.0, high=0.9)


def test_a_program_costs_its_months_of_the_dealer_s_orders():
    rows = pd.DataFrame({"dealer_id": ["A", "B"], "orders_monthly_mean_12m": [10_000.0, np.nan]})
    out = dealer_effects(FakeModel(), rows, {"rebate": 0.25}, 0.9)
    assert list(out["cost"]) == [2_500.0, 0.0]
    assert list(out["leave_without"]) == [0.25, 0.25]
    plan = make_plan(out, snapshot(), 1e6, margin_rate=0.3, include_uncertain=True)
    assert list(plan.rows["dealer_id"]) == ["A"]  # B costs nothing known: not planned


def test_an_effect_never_exceeds_the_risk_it_acts_on():
    rows = pd.DataFrame({"dealer_id": ["A"], "orders_monthly_mean_12m": [10_000.0]})
    out = dealer_effects(Extrapolating(), rows, {"rebate": 0.25}, 0.9)
    assert (out["effect"].iloc[0], out["low"].iloc[0], out["high"].iloc[0]) == (-0.25, -0.25,
                                                                                 0.75)
