"""Program effect models: decision rows from the panel and the programs table, the Qini
measure, the doubly robust learner on data whose effect is known, and the gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.effects.evaluation import detectable, judge, pooled_qini, qini
from models.effects.learner import fit_effects
from models.effects.pipeline import decide, gate_rows
from models.effects.rows import NONE, decision_rows
from models.settings import EffectSettings, ModelSettings
from tests.models.conftest import small_settings

# --- Qini -----------------------------------------------------------------------------


def uplift_data(n=4000, seed=0):
    """Half the dealers respond to the program (kept 0.9 vs 0.5), half do not (0.5)."""
    rng = np.random.default_rng(seed)
    responds = rng.random(n) < 0.5
    treated = rng.random(n) < 0.3
    p_kept = np.where(treated & responds, 0.9, 0.5)
    return responds, treated, (rng.random(n) < p_kept).astype(float)


def test_qini_of_a_constant_score_is_zero_and_knowing_the_responders_is_positive():
    responds, treated, kept = uplift_data()
    assert qini(np.zeros(len(kept)), treated, kept) == pytest.approx(0.0, abs=1e-12)
    right = qini(responds.astype(float), treated, kept)
    wrong = qini(-responds.astype(float), treated, kept)
    assert right == pytest.approx(0.05, abs=0.02)  # (0.5 x 0.4) x 0.25: half respond
    assert wrong == pytest.approx(-0.05, abs=0.02)
    assert np.isnan(qini(responds.astype(float), np.zeros(len(kept), bool), kept))


def randomized_rows(n=3000, seed=1):
    """Rows as decision_rows makes them: two programs piloted in one month."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    pilot = rng.choice([NONE, "a", "b"], size=n, p=[0.8, 0.1, 0.1])
    leave = 0.3 - np.where(pilot == "a", 0.25 * (x > 0), 0.0)  # "a" keeps x > 0 only
    return pd.DataFrame({"cutoff": pd.Timestamp("2025-01-01"), "pilot": pilot, "x": x,
                         "left": (rng.random(n) < leave).astype(float)})


def test_judge_finds_the_informed_score_ahead_with_a_paired_interval():
    rows = randomized_rows()
    informed = {"a": (rows["x"] > 0).astype(float).to_numpy(), "b": np.zeros(len(rows))}
    out = judge(rows, {"model": lambda k: informed[k],
                       "no effect": lambda k: np.zeros(len(rows))}, resamples=100, seed=0)
    assert out["model"].low > 0
    assert out["no effect"].value == pytest.approx(0.0, abs=1e-12)
    assert out["model - no effect"].low > 0
    value, per = pooled_qini(rows, informed)
    assert per["b"] == pytest.approx(0.0, abs=1e-12) and value == out["model"].value


# --- decision rows --------------------------------------------------------------------


def toy_panel():
    cutoffs = pd.date_range("2024-01-01", periods=18, freq="MS")
    frame = pd.DataFrame([(d, c) for d in ("D1", "D2", "D3") for c in cutoffs],
                         columns=["dealer_id", "cutoff"])
    frame["active"] = True
    gone = (frame["dealer_id"] == "D2") & (frame["cutoff"] >= "2025-02-01")
    return frame.loc[~gone].reset_index(drop=True)  # D2 left the panel from 2025-02


def test_decision_rows_place_programs_skip_running_ones_and_mark_pilot_months():
    programs = pd.DataFrame({
        "program_id": ["P1", "P2", "P3"], "dealer_id": ["D1", "D2", "D1"],
        "program": ["rebate", "priority_service", "extra_visits"],
        "started_on": ["2024-03-10", "2024-03-02", "2024-09-05"],
        "ended_on": ["2024-05-31", "2024-08-31", "2024-10-31"],
        "cost": [100.0, 50.0, 20.0], "assigned_by": ["pilot", "manager", "manager"]})
    rows = decision_rows(toy_panel(), programs, horizon_months=12)
    at = rows.set_index(["dealer_id", "cutoff"])
    assert at.loc[("D1", pd.Timestamp("2024-03-01")), "program"] == "rebate"
    assert at.loc[("D1", pd.Timestamp("2024-03-01")), "pilot"] == "rebate"
    assert at.loc[("D1", pd.Timestamp("2024-03-01")), "cost"] == 100.0
    # the manager's program in a pilot month is not a pilot, but the month is randomized
    assert at.loc[("D2", pd.Timestamp("2024-03-01")), "pilot"] == NONE
    assert bool(at.loc[("D3", pd.Timestamp("2024-03-01")), "randomized"])
    assert not bool(at.loc[("D3", pd.Timestamp("2024-09-01")), "randomized"])
    # months while a program runs are not decisions
    assert ("D1", pd.Timestamp("2024-04-01")) not in at.index
    assert ("D1", pd.Timestamp("2024-05-01")) not in at.index
    assert ("D1", pd.Timestamp("2024-06-01")) in at.index
    assert ("D2", pd.Timestamp("2024-08-01")) not in at.index
    # outcome: D2 absent 12 months on -> left; beyond the panel -> unknown
    assert at.loc[("D2", pd.Timestamp("2024-02-01")), "left"] == 1.0
    assert at.loc[("D3", pd.Timestamp("2024-02-01")), "left"] == 0.0
    assert np.isnan(at.loc[("D3", pd.Timestamp("2024-08-01")), "left"])


def test_decision_rows_without_programs_are_all_untreated():
    rows = decision_rows(toy_panel(), None, horizon_months=12)
    assert set(rows["program"]) == {NONE} and not rows["randomized"].any()


def test_the_outcome_needs_the_panel_12_months_on_and_uses_nothing_before(network):
    programs = network.loaded.tables["programs"]
    rows = decision_rows(network.panel, programs, 12)
    newest = network.panel["cutoff"].max()
    known = rows.loc[rows["left"].notna(), "cutoff"]
    assert known.max() == newest - pd.DateOffset(months=12)
    assert rows["program"].ne(NONE).sum() > 0
    # the features of a decision row are the panel's own at its cutoff (no future data)
    sample = rows.sample(50, random_state=0)
    merged = sample.merge(network.panel, on=["dealer_id", "cutoff"], suffixes=("", "_p"))
    assert (merged["orders_amount_12m"].fillna(-1) == merged["orders_amount_12m_p"]
            .fillna(-1)).all()


# --- the learner ----------------------------------------------------------------------


def confounded_rows(n=6000, seed=2):
    """Managers give program "a" to risky dealers (confounded); it truly keeps those with
    service trouble (service > 0) and does nothing for the others."""
    rng = np.random.default_rng(seed)
    service = rng.normal(size=n)
    risk = rng.normal(size=n)
    p_given = 1 / (1 + np.exp(-(risk - 2.5)))
    program = np.where(rng.random(n) < p_given + 0.03, "a", NONE)
    base = 1 / (1 + np.exp(-(risk - 1)))
    leave = np.clip(base - np.where((program == "a") & (service > 0), 0.3, 0.0), 0, 1)
    return pd.DataFrame({"dealer_id": [f"D{i}" for i in range(n)],
                         "cutoff": pd.Timestamp("2024-01-01"), "program": program,
                         "service_overdue_share_3m": service, "orders_change_yoy_3m": risk,
                         "left": (rng.random(n) < leave).astype(float)})


def test_the_learner_finds_who_a_program_keeps_despite_the_targeting():
    rows = confounded_rows()
    settings = EffectSettings(min_treated=20, controls_per_treated=50, nuisance_trees=60)
    model = fit_effects(rows, ["service_overdue_share_3m", "orders_change_yoy_3m"],
                        settings, seed=0)
    assert model.kinds == ("a",)
    assert model.cost_months == {}  # these rows carry no cost
    out = model.effects(rows, alpha=0.1)
    helped = out.loc[rows["service_overdue_share_3m"].to_numpy() > 1, "effect"].mean()
    others = out.loc[rows["service_overdue_share_3m"].to_numpy() < -1, "effect"].mean()
    assert helped < -0.15 and abs(others) < 0.1
    assert (out["low"] <= out["effect"]).all() and (out["effect"] <= out["high"]).all()


def test_programs_given_too_rarely_are_not_modelled():
    rows = confounded_rows(n=600)
    model = fit_effects(rows, ["service_overdue_share_3m"], EffectSettings(min_treated=500),
                        seed=0)
    assert model.kinds == () and model.skipped["a"] > 0
    assert model.effects(rows).empty


# --- the gate -------------------------------------------------------------------------


def test_the_gate_holds_out_the_newest_months_and_refuses_without_pilots():
    settings = small_settings()
    rows = pd.DataFrame({"cutoff": pd.date_range("2023-01-01", periods=30, freq="MS"),
                         "left": [0.0] * 24 + [np.nan] * 6})
    fit, test = gate_rows(rows, settings)
    assert test["cutoff"].nunique() == settings.effects.test_months
    assert fit["cutoff"].max() < test["cutoff"].min() and fit["left"].notna().all()
    promote, reasons = decide({}, pilots=3)
    assert not promote and "cannot be judged" in reasons[0]


def test_model_settings_carry_the_effect_settings():
    assert ModelSettings().effects.horizon_months == 12


def test_the_effect_pilots_can_detect_by_hand():
    """1,000 free dealers of the pilot months, 10% of them leaving, 750 not piloted: 50
    rebate pilots detect (1.96 + 0.84) x sqrt(0.09 x (1/50 + 1/750)) = 12.3 points, 200
    extra-visit pilots 6.7; rows whose outcome is unknown do not count."""
    left = np.r_[np.ones(100), np.zeros(900)]
    pilot = np.array([NONE] * 750 + ["rebate"] * 50 + ["extra_visits"] * 200, dtype=object)
    rows = pd.DataFrame({"pilot": np.r_[pilot, ["rebate"] * 5],
                         "left": np.r_[left, [np.nan] * 5]})
    got = detectable(rows)
    z = 1.959964 + 0.841621
    assert got.loc["rebate", "pilots"] == 50 and got.loc["extra_visits", "pilots"] == 200
    assert got.loc["rebate", "detectable"] == pytest.approx(
        z * np.sqrt(0.09 * (1 / 50 + 1 / 750)), rel=1e-5)
    assert got.loc["extra_visits", "detectable"] == pytest.approx(
        z * np.sqrt(0.09 * (1 / 200 + 1 / 750)), rel=1e-5)
