"""Alert rules on hand-made rows: each default rule fires on the case it describes and not on
its near miss; alerts open, update, close and reopen as documented; rule quality counts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.alerts import (
    DEFAULT_RULES,
    PAST_FORECAST,
    AlertRule,
    AlertSettings,
    RuleError,
    _mask,
    _masks,
    backtest_frames,
    band_constants,
    check_rules,
    fire,
    rule_quality,
    track,
)

BANDS = {"low": 0.0, "medium": 0.10, "high": 0.25, "critical": 0.50}
CONSTANTS = band_constants(BANDS)
RULES = {r.name: r for r in DEFAULT_RULES}

QUIET = {  # a steady dealer: no rule fires
    "dealer_id": "D1", "orders_amount_1m": 100.0, "orders_amount_3m": 300.0,
    "orders_monthly_mean_12m": 100.0, "orders_volatility_12m": 0.2, "orders_change_mom": 0.0,
    "orders_change_qoq": 0.0, "orders_change_yoy_3m": 0.0, "peers_orders_yoy_gap": 0.0,
    "peers_orders_yoy_percentile": 50.0, "price_unit_3m": 1000.0, "price_unit_change_6m": 0.0,
    "peers_price_yoy_gap": 0.0, "complaints_count_3m": 1.0, "complaints_surge_3m": 0.0,
    "peers_complaints_yoy_gap": 0.0, "service_overdue_open": 0.0, "service_open_backlog": 0.0,
    "service_overdue_share_3m": 0.0, "service_escalations_3m": 0.0, "service_tickets_3m": 2.0,
    "logistics_late_share_3m": 0.05, "logistics_delay_days_3m": 0.5,
    "logistics_damage_share_6m": 0.0, "service_resolution_hours_3m": 24.0,
    "price_discount_3m": 0.1, "price_discount_change_12m": 0.0, "engagement_days_since_visit": 20.0,
    "engagement_visits_12m": 12.0, "churn_probability": 0.05,
    "previous_churn_probability": 0.05, "churn_probability_change": 0.0,
    "decline_probability": 0.1, "previous_decline_probability": 0.1,
    "decline_probability_change": 0.0, PAST_FORECAST: 200.0, "band": "low",
}

# rule -> (values that make it fire, values just short of it)
CASES = {
    "orders_drop_month": ({"orders_amount_1m": 20.0, "orders_change_mom": -0.8},
                          {"orders_amount_1m": 20.0, "orders_change_mom": -0.8,
                           "orders_volatility_12m": 0.5}),  # a volatile dealer: normal
    "orders_drop_quarter": ({"orders_change_qoq": -0.6, "orders_change_yoy_3m": -0.5},
                            {"orders_change_qoq": -0.6, "orders_change_yoy_3m": 0.1}),
    "orders_drop_vs_peers": ({"orders_change_yoy_3m": -0.5, "peers_orders_yoy_gap": -0.45},
                             # a regional slump: everyone fell as much
                             {"orders_change_yoy_3m": -0.5, "peers_orders_yoy_gap": -0.05}),
    "orders_below_forecast": ({"orders_amount_3m": 150.0}, {PAST_FORECAST: np.nan,
                                                            "orders_amount_3m": 150.0}),
    "price_drop": ({"price_unit_change_6m": -0.3, "peers_price_yoy_gap": -0.25},
                   {"price_unit_change_6m": -0.3, "peers_price_yoy_gap": 0.0}),
    "complaints_surge": ({"complaints_surge_3m": 3.0, "peers_complaints_yoy_gap": 2.0},
                         {"complaints_surge_3m": 3.0, "peers_complaints_yoy_gap": -1.0}),
    "support_overdue": ({"service_overdue_open": 1.0}, {"service_open_backlog": 3.0}),
    "support_escalated": ({"service_escalations_3m": 3.0}, {"service_escalations_3m": 2.0}),
    "support_slow": ({"service_resolution_hours_3m": 200.0},
                     {"service_resolution_hours_3m": 100.0}),
    "discount_deepening": ({"price_discount_change_12m": 0.08},
                           {"price_discount_change_12m": 0.02}),
    "deliveries_late": ({"logistics_late_share_3m": 0.4}, {"logistics_late_share_3m": 0.3}),
    "deliveries_damaged": ({"logistics_damage_share_6m": 0.12},
                           {"logistics_damage_share_6m": 0.05}),
    "no_rep_visit": ({"engagement_days_since_visit": 120.0},
                     {"engagement_days_since_visit": 60.0}),
    "churn_band_up": ({"churn_probability": 0.3, "previous_churn_probability": 0.2,
                       "band": "high"},
                      {"churn_probability": 0.3, "previous_churn_probability": 0.28,
                       "band": "high"}),  # already in the band: no new crossing
    "churn_jump": ({"churn_probability_change": 0.2}, {"churn_probability_change": 0.1}),
    "decline_jump": ({"decline_probability_change": 0.3},
                     {"decline_probability_change": 0.1}),
}


def _frame(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([{**QUIET, "dealer_id": f"D{i}", **c} for i, c in enumerate(changes)])


def test_every_default_rule_has_a_case():
    assert set(CASES) == set(RULES)


def test_a_quiet_dealer_fires_nothing():
    assert fire(_frame({}), DEFAULT_RULES, CONSTANTS) == [[]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_fires_on_its_case_and_not_its_near_miss(name):
    hit, miss = CASES[name]
    fired = fire(_frame(hit, miss), [RULES[name]], CONSTANTS)
    assert [h["rule"] for h in fired[0]] == [name]
    assert fired[1] == []
    numbers = fired[0][0]["numbers"]
    assert set(numbers) == set(RULES[name].show)
    for col, value in hit.items():  # the alert carries the numbers that triggered it
        if col in numbers:
            assert numbers[col] == pytest.approx(value)


def test_all_rules_at_once_fire_as_each_rule_alone():
    """fire() evaluates every rule in one pass: the same hits, in the same order, as each
    rule on its own over every case and near miss; a rule that cannot be evaluated there
    is still named (each rule is then evaluated alone)."""
    frame = _frame(*[case for pair in CASES.values() for case in pair], {})
    together = fire(frame, DEFAULT_RULES, CONSTANTS)
    alone = [fire(frame, [rule], CONSTANTS) for rule in DEFAULT_RULES]
    assert together == [[hit for fired in alone for hit in fired[i]]
                        for i in range(len(frame))]
    assert sum(map(len, together)) >= len(CASES)
    for rule, mask in zip(DEFAULT_RULES, _masks(frame, list(DEFAULT_RULES), CONSTANTS),
                          strict=True):  # against pandas' eval of the rule alone
        np.testing.assert_array_equal(mask, _mask(frame, rule, CONSTANTS))
    typo = AlertRule(name="typo", group="orders", when="orders_amount_3mm < 0",
                     show=["orders_amount_3m"], title_en="x", title_zh="x")
    with pytest.raises(RuleError, match="typo"):
        fire(frame, [*DEFAULT_RULES, typo], CONSTANTS)


def test_reason_by_splits_reasons():
    fired = fire(_frame(CASES["churn_band_up"][0]), [RULES["churn_band_up"]], CONSTANTS)
    assert fired[0][0]["reason"] == "high"


def test_unknown_column_fails_early_naming_the_rule():
    bad = AlertRule(name="typo", group="orders", when="orders_amount_3mm < 0",
                    show=["orders_amount_3m"], title_en="x", title_zh="x")
    with pytest.raises(RuleError, match="typo"):
        check_rules([bad], QUIET.keys(), CONSTANTS)
    with pytest.raises(RuleError, match="show"):
        check_rules([bad.model_copy(update={"when": "orders_amount_3m < 0",
                                            "show": ["nope"]})], QUIET.keys(), CONSTANTS)


def test_settings_reject_unknown_rule_columns_and_duplicates():
    from serve.settings import Settings
    rule = {"name": "typo", "group": "orders", "when": "no_such_feature > 1",
            "show": [], "title_en": "x", "title_zh": "x"}
    with pytest.raises(ValueError, match="typo"):
        Settings(alerts={"rules": [rule]})
    with pytest.raises(ValueError, match="unique"):
        AlertSettings(rules=[DEFAULT_RULES[0], DEFAULT_RULES[0]])


def _firings(as_of: str, *hits: tuple[str, str, str]) -> tuple[str, pd.DataFrame]:
    """(as_of, frame) with (dealer, rule, reason) firing."""
    by_dealer: dict[str, list] = {}
    for dealer, rule, reason in hits:
        by_dealer.setdefault(dealer, []).append(
            {"rule": rule, "severity": RULES[rule].severity, "group": RULES[rule].group,
             "reason": reason, "numbers": {"x": float(len(by_dealer))}})
    dealers = sorted(set(by_dealer) | {"D9"})
    return as_of, pd.DataFrame({"dealer_id": dealers,
                                "alerts": [json.dumps(by_dealer.get(d, [])) for d in dealers]})


def test_an_open_alert_is_updated_not_duplicated():
    alerts = track([_firings("2025-01-01", ("D1", "support_overdue", "support_overdue")),
                    _firings("2025-02-01", ("D1", "support_overdue", "support_overdue")),
                    _firings("2025-03-01", ("D1", "support_overdue", "support_overdue"))],
                   RULES)
    assert len(alerts) == 1
    a = alerts.iloc[0]
    assert (a.status, a.opened_at, a.last_seen, a.times_seen) == \
        ("open", "2025-01-01", "2025-03-01", 3)


def test_alert_closes_then_reopens_within_cooldown_and_is_new_after():
    rule = "no_rep_visit"  # cooldown 60 days
    seq = [_firings("2025-01-01", ("D1", rule, rule)), _firings("2025-02-01"),
           _firings("2025-03-01", ("D1", rule, rule))]
    alerts = track(seq, RULES)
    assert len(alerts) == 1 and alerts.iloc[0].reopened == 1
    assert alerts.iloc[0].status == "open"
    later = [_firings("2025-01-01", ("D1", rule, rule)), _firings("2025-02-01"),
             _firings("2025-06-01", ("D1", rule, rule))]
    alerts = track(later, RULES)
    assert sorted(alerts["status"]) == ["closed", "open"]
    closed = alerts[alerts["status"] == "closed"].iloc[0]
    assert closed.closed_at == "2025-02-01"


def test_another_reason_opens_another_alert_and_order_of_input_does_not_matter():
    seq = [_firings("2025-01-01", ("D1", "churn_band_up", "high")),
           _firings("2025-02-01", ("D1", "churn_band_up", "critical"),
                    ("D2", "churn_jump", "churn_jump"))]
    alerts = track(seq, RULES)
    assert len(alerts) == 3
    pd.testing.assert_frame_equal(alerts, track(list(reversed(seq)), RULES))


def test_rule_quality_counts_precision_recall_and_lift():
    frame = _frame(*([CASES["support_overdue"][0]] * 4 + [{}] * 16))
    frame["churn"] = [1, 1, 0, 0] + [1] * 2 + [0] * 14
    frame["decline"] = [1, np.nan, 0, 0] + [0] * 16
    q = rule_quality([frame.iloc[:10], frame.iloc[10:]], [RULES["support_overdue"]],
                     CONSTANTS).iloc[0]
    assert q.fired == 4
    assert q.churn_precision == pytest.approx(0.5)
    assert q.churn_recall == pytest.approx(0.5)
    assert q.churn_lift == pytest.approx(0.5 / 0.2)
    assert q.decline_precision == pytest.approx(1 / 3)  # the unknown label is left out


def test_backtest_frames_line_up_scores_previous_and_past_forecast():
    origins = pd.DatetimeIndex(["2025-01-01", "2025-02-01", "2025-04-01"])
    panel = pd.DataFrame({"dealer_id": ["A", "B"] * 3, "cutoff": origins.repeat(2),
                          "active": [True, True, True, False, True, True], "x": range(6)})
    cls = pd.DataFrame([{"model": m, "origin": o, "dealer_id": d, "y": 1.0,
                         "p_model": 0.1 * (i + 1) + (0.5 if m == "decline" else 0)}
                        for i, o in enumerate(origins) for d in "AB"
                        for m in ("churn", "decline")])
    fc = pd.DataFrame({"origin": origins.repeat(2), "dealer_id": ["A", "B"] * 3,
                       "p10": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]})
    frames = backtest_frames(panel, cls, fc, origins, 3, BANDS)
    assert [len(f) for f in frames] == [2, 1, 2]  # inactive B left out at the 2nd origin
    assert frames[0]["previous_churn_probability"].isna().all()
    second = frames[1].iloc[0]
    assert second.churn_probability == pytest.approx(0.2)
    assert second.churn_probability_change == pytest.approx(0.1)
    assert second.decline_probability == pytest.approx(0.7)
    third = frames[2].set_index("dealer_id")
    assert third.loc["A", PAST_FORECAST] == 10.0  # made at 2025-01-01 for Jan .. Mar
    assert third.loc["B", "band"] == "high"  # churn p = 0.3


def test_default_severities_follow_the_measured_lift_in_docs_alerts_md():
    """docs/alerts.md is generated by `dealer-risk backtest --alerts-doc`; the default
    severities are set from its churn lift (high from 3x, medium from 1.5x)."""
    from pathlib import Path
    text = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text(encoding="utf-8")
    lifts = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 9 and cells[0].startswith("`") and cells[5].endswith("x"):
            lifts[cells[0].strip("`")] = (cells[1], float(cells[5][:-1]))
    assert set(lifts) == set(RULES), "regenerate docs/alerts.md: the rules changed"
    for name, (documented, lift) in lifts.items():
        expected = "high" if lift >= 3 else "medium" if lift >= 1.5 else "low"
        assert RULES[name].severity == documented == expected, name
