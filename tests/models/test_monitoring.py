"""Drift and matured performance on hand-made data: PSI is zero for the same distribution,
grows with the shift, counts missing values and categories; matured performance joins
snapshots with the labels that came true."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features.settings import LabelSettings
from models.monitoring import (
    drift_status,
    drift_table,
    matured_performance,
    matured_survival,
    psi,
)

RNG = np.random.default_rng(5)


def test_psi_is_zero_for_the_same_sample_and_grows_with_the_shift():
    ref = pd.Series(RNG.normal(size=5000))
    assert psi(ref, ref) == pytest.approx(0.0, abs=1e-12)
    small = psi(ref, pd.Series(RNG.normal(0.1, 1, size=5000)))
    large = psi(ref, pd.Series(RNG.normal(1.0, 1, size=5000)))
    assert small < 0.1 < 0.25 < large


def test_psi_counts_missing_values_as_their_own_bin():
    ref = pd.Series([1.0, 2.0, 3.0, 4.0] * 250)
    half_missing = pd.Series([1.0, 2.0, np.nan, np.nan] * 250)
    assert psi(ref, half_missing) > 0.25
    assert psi(half_missing, half_missing) == pytest.approx(0.0, abs=1e-12)


def test_psi_of_categories():
    ref = pd.Series(["a"] * 50 + ["b"] * 50)
    # by hand: shares (0.5, 0.5) -> (0.9, 0.1)
    expected = (0.9 - 0.5) * np.log(0.9 / 0.5) + (0.1 - 0.5) * np.log(0.1 / 0.5)
    assert psi(ref, pd.Series(["a"] * 90 + ["b"] * 10)) == pytest.approx(expected)
    assert psi(ref, pd.Series(["a"] * 50 + ["c"] * 50)) > 1  # a new category


def test_drift_table_orders_worst_first_with_status():
    ref = pd.DataFrame({"same": RNG.normal(size=2000), "moved": RNG.normal(size=2000)})
    cur = pd.DataFrame({"same": RNG.normal(size=2000), "moved": RNG.normal(2, 1, 2000)})
    table = drift_table(ref, cur, ["same", "moved"], groups={"moved": "orders"})
    assert list(table["column"]) == ["moved", "same"]
    assert table.loc[0, "group"] == "orders"
    assert table.loc[0, "current_median"] == pytest.approx(2, abs=0.15)
    assert [drift_status(v, 0.1, 0.25) for v in (0.05, 0.2, 0.3, float("nan"))] == \
        ["stable", "moving", "shifted", "unknown"]


def test_matured_performance_joins_snapshots_with_known_labels():
    predictions = pd.DataFrame({
        "dealer_id": ["A", "B", "C", "D", "A", "B"],
        "as_of": ["2025-01-01"] * 4 + ["2025-02-01"] * 2,
        "churn_probability": [0.9, 0.8, 0.2, 0.1, 0.5, 0.5],
        "decline_probability": [0.5] * 6,
        "region": ["N", "N", "S", "S", "N", "N"]})
    outcomes = pd.DataFrame({
        "dealer_id": ["A", "B", "C", "D", "A", "B"],
        "cutoff": pd.to_datetime(["2025-01-01"] * 4 + ["2025-02-01"] * 2),
        "churn": [1.0, 0.0, 1.0, 0.0, np.nan, np.nan],  # February not known yet
        "decline": [np.nan] * 6})
    table = matured_performance(predictions, outcomes, ["region"], bins=2, min_rows=2,
                                top_share=0.5)
    assert set(table["as_of"]) == {"2025-01-01"} and set(table["model"]) == {"churn"}
    overall = table[table["segment"] == "all"].iloc[0]
    assert overall["rows"] == 4 and overall["realized_rate"] == 0.5
    assert overall["predicted_rate"] == pytest.approx(0.5)
    assert overall["roc_auc"] == pytest.approx(0.75)  # 3 of 4 pairs ranked right
    north = table[(table["segment"] == "region") & (table["value"] == "N")].iloc[0]
    assert north["roc_auc"] == 1.0
    assert len(matured_performance(predictions, outcomes, ["region"], bins=2, min_rows=3,
                                   top_share=0.5)) == 1  # segments of 2 are left out


def test_matured_performance_judges_the_leave_model_where_it_scored():
    """The leave model's past scores are judged like churn's once its label is known; a
    snapshot scored without a leave model (no leave_probability) has no leave rows."""
    predictions = pd.DataFrame({
        "dealer_id": ["A", "B", "C", "D"], "as_of": ["2025-01-01"] * 4,
        "churn_probability": [0.9, 0.8, 0.2, 0.1], "leave_probability": [0.6, 0.1, 0.3, 0.05],
        "region": ["N", "N", "S", "S"]})
    outcomes = pd.DataFrame({
        "dealer_id": ["A", "B", "C", "D"], "cutoff": pd.to_datetime(["2025-01-01"] * 4),
        "churn": [1.0, 0.0, 1.0, 0.0], "leave": [1.0, 0.0, 0.0, 0.0]})
    table = matured_performance(predictions, outcomes, [], bins=2, min_rows=2, top_share=0.5)
    leave = table[table["model"] == "leave"].iloc[0]
    assert leave["rows"] == 4 and leave["realized_rate"] == 0.25
    assert leave["predicted_rate"] == pytest.approx(0.2625) and leave["roc_auc"] == 1.0
    without = matured_performance(predictions.drop(columns="leave_probability"), outcomes, [],
                                  bins=2, min_rows=2, top_share=0.5)
    assert set(without["model"]) == {"churn"}
    empty = matured_performance(predictions.assign(leave_probability=np.nan), outcomes, [],
                                bins=2, min_rows=2, top_share=0.5)  # scored, no leave model
    assert set(empty["model"]) == {"churn"}


def test_matured_survival_judges_each_report_month_once_it_is_settled():
    """Worked by hand: a loss is known 9 months (labels.leave.confirm_months) after its
    month, so with data to 2026-01 a snapshot of 2025-01 is settled for 4 months after it
    (3 judged, 6 not) and one of 2025-04 for 1 (nothing judged). Rows outside the
    population (leave_month NaN) and snapshots without curves ("[]") are left out."""
    def curve(s3: float) -> str:
        return json.dumps([1.0, 1.0, s3] + [s3] * 9)

    predictions = pd.DataFrame({
        "dealer_id": ["A", "B", "C", "D", "E", "F", "A"],
        "as_of": ["2025-01-01"] * 6 + ["2025-04-01"],
        "survival_curve": [curve(0.6), curve(0.9), curve(0.95), curve(0.99), curve(0.5), "[]",
                           curve(0.1)],
        "region": ["N"] * 7})
    outcomes = pd.DataFrame({
        "dealer_id": ["A", "B", "C", "D", "E", "F", "A"],
        "cutoff": pd.to_datetime(["2025-01-01"] * 6 + ["2025-04-01"]),
        "leave_month": [2.0, np.inf, 3.0, np.inf, np.nan, 1.0, 1.0]})
    table = matured_survival(predictions, outcomes, pd.Timestamp("2026-01-01"),
                             LabelSettings(), [3, 6], [], bins=2, min_rows=2, top_share=0.5)
    assert list(table["model"]) == ["survival_3m"] and list(table["as_of"]) == ["2025-01-01"]
    row = table.iloc[0]
    assert row["rows"] == 4 and row["realized_rate"] == 0.5  # A and C gone by month 3
    assert row["predicted_rate"] == pytest.approx((0.4 + 0.1 + 0.05 + 0.01) / 4)
    assert row["roc_auc"] == pytest.approx(0.75)  # C (0.05) below B (0.1): 3 of 4 pairs
    later = matured_survival(predictions, outcomes, pd.Timestamp("2026-04-01"),
                             LabelSettings(), [3, 6], [], bins=2, min_rows=2, top_share=0.5)
    assert set(zip(later["model"], later["as_of"], strict=True)) == {
        ("survival_3m", "2025-01-01"), ("survival_6m", "2025-01-01")}  # 2025-04: 1 row
    assert matured_survival(predictions.drop(columns="survival_curve"), outcomes,
                            pd.Timestamp("2026-04-01"), LabelSettings(), [3], [], bins=2,
                            min_rows=2, top_share=0.5).empty
