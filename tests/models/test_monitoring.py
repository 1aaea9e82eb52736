"""Drift and matured performance on hand-made data: PSI is zero for the same distribution,
grows with the shift, counts missing values and categories; matured performance joins
snapshots with the labels that came true."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.monitoring import drift_status, drift_table, matured_performance, psi

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
