"""The leave label: a loss told apart from a quiet spell, on hand-made orders."""

from __future__ import annotations

import pandas as pd

from features.panel import build_panel
from features.settings import LabelSettings
from tests.features.test_panel import tables, ts

CUTOFF = ts("2023-09-01")


def with_dealers(**orders_by_dealer: list[str]) -> dict[str, pd.DataFrame]:
    """The hand-made tables plus dealers ordering once a month in the given months."""
    t = tables()
    dealers, extra = [t["dealers"]], [t["orders"]]
    for dealer, months in orders_by_dealer.items():
        row = t["dealers"].iloc[[1]].copy()
        row["dealer_id"] = pd.array([dealer], dtype="string")
        dealers.append(row)
        lines = pd.DataFrame({
            "order_id": [f"{dealer}-{m}" for m in months], "dealer_id": dealer,
            "order_date": [ts(m) + pd.Timedelta(days=14) for m in months],
            "product_category": "doors", "quantity": 5, "net_amount": 800.0,
            "list_amount": 1000.0, "sku": None, "status": "completed"})
        extra.append(lines.astype(t["orders"].dtypes.to_dict()))
    t["dealers"] = pd.concat(dealers, ignore_index=True)
    t["orders"] = pd.concat(extra, ignore_index=True)
    return t


def months(first: str, last: str) -> list[str]:
    return [f"{m:%Y-%m-%d}" for m in pd.date_range(first, last, freq="MS")]


def labels_at(t: dict, cutoff, settings: LabelSettings | None = None) -> pd.DataFrame:
    panel = build_panel(t, [cutoff], labels=settings or LabelSettings())
    return panel.set_index("dealer_id")[["active", "churn", "leave"]]


def test_a_quiet_spell_fires_the_churn_label_but_not_leave():
    # PAUSE stops for four months (a store refit) and comes back; GONE stops for good
    t = with_dealers(PAUSE=months("2022-06-01", "2023-08-01") + months("2024-01-01",
                                                                     "2024-12-01"),
                     GONE=months("2022-06-01", "2023-08-01"))
    got = labels_at(t, CUTOFF)
    assert got.loc["PAUSE"].tolist() == [True, 1.0, 0.0]
    assert got.loc["GONE"].tolist() == [True, 1.0, 1.0]
    assert got.loc["D2"].tolist() == [True, 0.0, 0.0]  # orders every month


def test_the_silence_must_last_the_whole_confirmation():
    # back after eleven months: past the horizon and eight months more, short of nine
    t = with_dealers(LATE=months("2022-06-01", "2023-08-01") + ["2024-07-01"])
    assert labels_at(t, CUTOFF).loc["LATE", "leave"] == 0.0
    shorter = LabelSettings.model_validate({"leave": {"confirm_months": 6}})
    assert labels_at(t, CUTOFF, shorter).loc["LATE", "leave"] == 1.0


def test_a_contract_closing_in_the_horizon_is_leaving_even_with_orders():
    t = tables()
    t["dealers"].loc[1, "closed_on"] = ts("2023-10-20")
    assert labels_at(t, CUTOFF).loc["D2", "leave"] == 1.0


def test_leave_is_unknown_until_the_confirmation_ends():
    # data end 2024-12-15: 90 days and 9 months after 2024-01-01 is past it, 2023-12-01 not
    t = with_dealers(GONE=months("2022-06-01", "2023-08-01"))
    panel = build_panel(t, ["2023-12-01", "2024-01-01"])
    known = panel.groupby("cutoff")["leave"].apply(lambda s: s.notna().any())
    assert known.tolist() == [True, False]
    assert panel.loc[panel["cutoff"] == "2024-01-01", "churn"].notna().any()
