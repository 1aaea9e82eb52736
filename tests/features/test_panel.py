"""The panel on tiny hand-made data, with every expected value written out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import CATALOG
from features.panel import CutoffError, build_panel, default_cutoffs, feature_columns

T = pd.Timestamp("2024-04-01")
NaT = pd.NaT


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def dealers_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "dealer_id": pd.array(["D1", "D2"], dtype="string"),
        "name": pd.array(["一号", "二号"], dtype="string"),
        "region": pd.array(["华东", "华东"], dtype="string"),
        "tier": pd.array(["A", "A"], dtype="string"),
        "opened_on": [ts("2022-01-10"), ts("2022-01-10")],
        "city": pd.array([None, None], dtype="string"),
        "channel": pd.array(["showroom", "showroom"], dtype="string"),
        "sales_rep_id": pd.array(["R1", "R1"], dtype="string"),
        "closed_on": pd.to_datetime([None, None]),
    })


def orders_frame() -> pd.DataFrame:
    rows = []
    # D1: 1,000 (10 units) a month in 2023, then 500 (10 units) a month in Q1 2024, then nothing
    for month in pd.date_range("2023-01-01", "2023-12-01", freq="MS"):
        rows.append(("D1", month + pd.Timedelta(days=14), "cabinets", 10, 1000.0, 1200.0))
    for month in pd.date_range("2024-01-01", "2024-03-01", freq="MS"):
        rows.append(("D1", month + pd.Timedelta(days=14), "hardware", 10, 500.0, 1000.0))
    # D2: 2,000 (20 units) a month from 2022-06 to 2024-12
    for month in pd.date_range("2022-06-01", "2024-12-01", freq="MS"):
        rows.append(("D2", month + pd.Timedelta(days=14), "doors", 20, 2000.0, 2500.0))
    frame = pd.DataFrame(rows, columns=["dealer_id", "order_date", "product_category",
                                        "quantity", "net_amount", "list_amount"])
    frame.insert(0, "order_id", [f"O{i}" for i in range(len(frame))])
    frame["sku"] = None
    frame["status"] = "completed"
    return frame.astype({"order_id": "string", "dealer_id": "string",
                         "product_category": "string", "sku": "string", "status": "string"})


def tickets_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "ticket_id": ["T1", "T2", "T3"],
        "dealer_id": ["D1", "D1", "D1"],
        "opened_at": [ts("2024-02-01 10:00"), ts("2024-03-01 10:00"), ts("2024-03-20 10:00")],
        "category": ["order", "design", "order"],
        "due_at": [ts("2024-02-03 10:00"), ts("2024-03-03 10:00"), ts("2024-04-05 10:00")],
        "closed_at": [ts("2024-02-02 10:00"), NaT, NaT],  # T1 on time; T2 overdue and open
        "escalated": pd.array([False, True, False], dtype="boolean"),
    }).astype({"ticket_id": "string", "dealer_id": "string", "category": "string"})


def complaints_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "complaint_id": ["C1"], "dealer_id": ["D1"], "received_on": [ts("2024-03-05")],
        "category": ["quality"], "severity": pd.array([3], dtype="Int64"),
        "resolved_on": [NaT],
    }).astype({"complaint_id": "string", "dealer_id": "string", "category": "string"})


def deliveries_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "delivery_id": ["L1"], "dealer_id": ["D1"], "promised_on": [ts("2024-03-10")],
        "delivered_on": [ts("2024-03-14")], "order_id": ["O13"],
        "damaged": pd.array([True], dtype="boolean"),
    }).astype({"delivery_id": "string", "dealer_id": "string", "order_id": "string"})


def visits_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "visit_id": ["V1", "V2"], "dealer_id": ["D1", "D1"],
        "visited_on": [ts("2024-01-20"), ts("2024-03-25")], "kind": ["visit", "call"],
        "sales_rep_id": ["R1", "R2"],
    }).astype("string").astype({"visited_on": "datetime64[ns]"})


def tables(**drop) -> dict[str, pd.DataFrame]:
    full = {"dealers": dealers_frame(), "orders": orders_frame(), "tickets": tickets_frame(),
            "complaints": complaints_frame(), "deliveries": deliveries_frame(),
            "visits": visits_frame()}
    return {k: v for k, v in full.items() if k not in drop}


@pytest.fixture(scope="module")
def row():
    panel = build_panel(tables(), [T])
    return panel.set_index("dealer_id").loc["D1"], panel.set_index("dealer_id").loc["D2"]


def test_orders_family(row):
    d1, _ = row
    assert d1["orders_amount_1m"] == 500
    assert d1["orders_amount_3m"] == 1500
    assert d1["orders_amount_12m"] == 9 * 1000 + 3 * 500  # April 2023 .. March 2024
    assert d1["orders_quantity_3m"] == 30
    assert d1["orders_count_3m"] == 3
    assert d1["orders_active_months_6m"] == 6
    assert d1["orders_days_since_last"] == 17  # 2024-03-15 -> 2024-04-01
    assert d1["orders_change_mom"] == 0.0
    assert d1["orders_change_qoq"] == pytest.approx(1500 / 3000 - 1)
    assert d1["orders_change_yoy_3m"] == pytest.approx(1500 / 3000 - 1)
    # the 12 months before April 2023 reach back before the data's first month (June 2022)
    assert np.isnan(d1["orders_change_yoy_12m"])
    assert d1["orders_monthly_mean_12m"] == pytest.approx(10500 / 12)
    assert d1["orders_returns_share_6m"] == 0.0
    monthly = np.array([1000] * 9 + [500] * 3, dtype=float)
    assert d1["orders_volatility_12m"] == pytest.approx(monthly.std() / monthly.mean())
    slope = np.polyfit(np.arange(12), monthly, 1)[0]
    assert d1["orders_trend_12m"] == pytest.approx(slope / monthly.mean())


def test_price_and_mix_families(row):
    d1, _ = row
    assert d1["price_unit_3m"] == 50  # 1,500 for 30 units
    assert d1["price_unit_change_6m"] == pytest.approx(50 / 100 - 1)  # Oct-Dec 2023 at 100
    assert d1["price_unit_change_yoy_3m"] == pytest.approx(50 / 100 - 1)
    assert d1["price_discount_3m"] == pytest.approx(1 - 1500 / 3000)
    assert d1["price_discount_change_12m"] == pytest.approx(0.5 - (1 - 1000 / 1200))
    assert d1["mix_category_breadth_6m"] == 2  # cabinets (Oct-Dec) and hardware (Jan-Mar)
    assert d1["mix_category_breadth_change_6m"] == 1  # only cabinets from April to September
    assert d1["mix_top_category_share_6m"] == pytest.approx(3000 / 4500)


def test_service_family_counts_tickets_as_they_stood_at_the_cutoff(row):
    d1, d2 = row
    assert d1["service_tickets_3m"] == 3
    assert d1["service_overdue_share_3m"] == 0.5  # T1 on time, T2 overdue; T3 not yet due
    assert d1["service_escalations_3m"] == 1
    assert d1["service_resolution_hours_3m"] == 24
    assert d1["service_open_backlog"] == 2  # T2 and T3
    assert d1["service_overdue_open"] == 1  # T2
    assert d2["service_tickets_3m"] == 0
    assert np.isnan(d2["service_overdue_share_3m"])  # nothing was due: unknown, not 0


def test_complaints_logistics_engagement(row):
    d1, _ = row
    assert d1["complaints_count_3m"] == 1
    assert d1["complaints_unresolved"] == 1
    assert d1["complaints_severe_share_6m"] == 1.0
    assert d1["complaints_quality_share_6m"] == 1.0
    assert d1["complaints_per_million_6m"] == pytest.approx(1 / 4500 * 1e6)
    assert d1["complaints_surge_3m"] == 1  # none in the 12 months before
    assert d1["logistics_late_share_3m"] == 1.0
    assert d1["logistics_delay_days_3m"] == 4
    assert d1["logistics_damage_share_6m"] == 1.0
    assert d1["engagement_visits_3m"] == 2
    assert d1["engagement_days_since_visit"] == 7
    assert d1["engagement_rep_changed_6m"] == 1


def test_profile_season_and_peers(row):
    d1, d2 = row
    assert d1["profile_region"] == "华东" and d1["profile_tier"] == "A"
    assert d1["profile_tenure_months"] == 27  # 2022-01 -> 2024-04
    assert d1["profile_is_new"] == 0
    assert d1["season_month_of_year"] == 4
    assert d1["season_festival_next_3m"] == 0  # 2025's festival is in January
    assert d1["season_orders_same_quarter_last_year"] == 3000  # April-June 2023
    # two peers (too few for region x tier: the region's median is used): D1 -0.5, D2 0
    assert d1["peers_orders_yoy_gap"] == pytest.approx(-0.25)
    assert d2["peers_orders_yoy_gap"] == pytest.approx(0.25)
    assert (d1["peers_orders_yoy_percentile"], d2["peers_orders_yoy_percentile"]) == (50, 100)


def test_labels(row):
    d1, d2 = row
    assert (d1["active"], d2["active"]) == (True, True)
    assert (d1["churn"], d2["churn"]) == (1.0, 0.0)  # D1 orders nothing after March
    assert (d1["decline"], d2["decline"]) == (1.0, 0.0)  # 0 vs 3,000 a year earlier
    assert (d1["next_amount"], d2["next_amount"]) == (0.0, 6000.0)


def test_a_contract_closing_in_the_horizon_is_churn_even_with_orders():
    t = tables()
    t["dealers"].loc[1, "closed_on"] = ts("2024-05-20")
    d2 = build_panel(t, [T]).set_index("dealer_id").loc["D2"]
    assert d2["churn"] == 1.0


def test_labels_are_unknown_when_the_horizon_is_not_complete():
    panel = build_panel(tables(), ["2024-11-01", "2024-12-01"])
    newest = panel[panel["cutoff"] == "2024-12-01"]
    assert newest[["churn", "decline", "next_amount"]].isna().all().all()
    # data ends 2024-12-15: 90 days after 2024-11-01 is not covered either
    assert panel.loc[panel["cutoff"] == "2024-11-01", "churn"].isna().all()


def test_dealers_leave_the_population_when_inactive_and_the_panel_when_dormant():
    panel = build_panel(tables(), ["2024-07-01", "2024-10-01", "2025-04-01"
                                   if False else "2024-12-01"])
    d1 = panel[panel["dealer_id"] == "D1"].set_index("cutoff")
    assert bool(d1.loc["2024-07-01", "active"]) is True  # last order 108 days earlier
    assert bool(d1.loc["2024-10-01", "active"]) is False  # 200 days: not active
    assert np.isnan(d1.loc["2024-10-01", "churn"])  # outside the churn population
    assert d1.loc["2024-10-01", "orders_days_since_last"] == 200


def test_missing_optional_tables_leave_their_features_out():
    panel = build_panel(tables(tickets=1, complaints=1, deliveries=1, visits=1), [T])
    names = set(feature_columns(panel))
    groups = {f.group for f in CATALOG if f.name in names}
    assert groups == {"orders", "price", "mix", "profile", "peers", "season"}
    assert not any(c.startswith(("service_", "complaints_", "logistics_", "engagement_"))
                   for c in panel.columns)
    assert "peers_complaints_yoy_gap" not in panel.columns


@pytest.mark.parametrize(
    ("cutoff", "message"),
    [
        ("2024-04-15", "cutoff 2024-04-15 is not the first day of a month"),
        ("2022-06-01", "cutoff 2022-06-01 is before the order history has a full month "
                       "(first possible cutoff: 2022-07-01)"),
        ("2025-01-01", "cutoff 2025-01-01 is after the last complete month of the order "
                       "history (newest possible cutoff: 2024-12-01)"),
        ("April", "cutoff 'April' is not a date (expected YYYY-MM-DD)"),
    ],
)
def test_cutoffs_the_data_cannot_answer_are_refused(cutoff, message):
    with pytest.raises(CutoffError) as info:
        build_panel(tables(), [cutoff])
    assert str(info.value).startswith(message)


def test_default_cutoffs_cover_every_month_of_history():
    cutoffs = default_cutoffs(tables())
    assert (cutoffs[0], cutoffs[-1], len(cutoffs)) == (ts("2022-07-01"), ts("2024-12-01"), 30)


def test_windows_before_the_data_are_unknown_not_zero():
    d2 = build_panel(tables(), ["2022-09-01"]).set_index("dealer_id").loc["D2"]
    assert d2["orders_amount_3m"] == 6000
    assert np.isnan(d2["orders_amount_6m"])
    assert np.isnan(d2["orders_change_yoy_3m"])


def test_the_panel_does_not_change_its_inputs():
    t = tables()
    before = {k: v.copy() for k, v in t.items()}
    build_panel(t, [T])
    for name, frame in t.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_windows_before_the_data_are_zero_for_dealers_opened_within_it():
    """A dealer whose contract opened after the data begins has its whole history in the
    data: a window reaching before the data is empty, not unknown."""
    t = tables()
    t["dealers"] = t["dealers"].assign(opened_on=[ts("2022-06-01"), ts("2022-06-01")])
    d2 = build_panel(t, ["2022-09-01"]).set_index("dealer_id").loc["D2"]
    assert d2["orders_amount_3m"] == 6000
    assert d2["orders_amount_6m"] == 6000  # nothing before it opened in June
    assert d2["orders_amount_12m"] == 6000
    assert d2["mix_category_breadth_6m"] == 1
    assert np.isnan(d2["orders_change_yoy_3m"])  # a change from nothing stays unknown


def test_lifetime_rates(row):
    """D1: one order a month from 2023-01-15 to 2024-03-15, cutoff 2024-04-01."""
    d1, d2 = row
    assert d1["orders_per_month_lifetime"] == 15 / 15  # 15 orders over 15 months
    since_first = (pd.Timestamp("2024-04-01") - pd.Timestamp("2023-01-15")).days
    assert d1["orders_quiet_share_lifetime"] == pytest.approx(17 / since_first)
