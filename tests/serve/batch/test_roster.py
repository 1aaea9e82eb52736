"""Where each dealer stands at a cutoff: by hand."""

from __future__ import annotations

import pandas as pd

from serve.batch.roster import roster


def test_active_closed_inactive_and_not_yet_opened():
    dealers = pd.DataFrame({
        "dealer_id": ["D1", "D2", "D3", "D4", "D5"],
        "opened_on": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-01", "2025-06-01",
                                     "2021-05-01"]),
        "closed_on": pd.to_datetime([None, "2025-02-10", "2025-03-01", None, None]),
    })
    snapshot = pd.DataFrame({"dealer_id": ["D1", "D3"]})
    out = roster(dealers, snapshot, pd.Timestamp("2025-03-01"))
    # D3 closes on the cutoff day itself: scored, so active; D4 opens after the cutoff
    assert out[["dealer_id", "status"]].to_dict("records") == [
        {"dealer_id": "D1", "status": "active"}, {"dealer_id": "D2", "status": "closed"},
        {"dealer_id": "D3", "status": "active"}, {"dealer_id": "D5", "status": "inactive"}]
    assert out.loc[out["dealer_id"] == "D2", "closed_on"].iloc[0] == pd.Timestamp("2025-02-10")


def test_without_closed_on_no_dealer_is_closed():
    dealers = pd.DataFrame({"dealer_id": ["D1", "D2"],
                            "opened_on": pd.to_datetime(["2020-01-01", "2020-01-01"])})
    out = roster(dealers, pd.DataFrame({"dealer_id": ["D1"]}), pd.Timestamp("2025-03-01"))
    assert list(out["status"]) == ["active", "inactive"]
