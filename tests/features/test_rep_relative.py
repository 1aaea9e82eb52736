"""Visits against the same rep's dealers: a neglected dealer stands out, a rep who visits
everyone less does not, and the rep is the one of the last visit before the cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.panel import REP, build_panel, with_peers_from
from features.settings import ContractSettings, PanelSettings
from features.validation import load_data

CUTOFF = pd.Timestamp("2024-07-01")
FEATURE = "engagement_visits_vs_rep_3m"
# R1 visits its four tier-A dealers 3 times a quarter, except D4 (neglected: none since
# March); lazy R2 visits its four once a quarter. D9 is R1's in the dealers table, but R2
# has visited it since April (a handover the table does not show yet).
VISITS_PER_QUARTER = {"D1": 3, "D2": 3, "D3": 3, "D4": 0, "D5": 1, "D6": 1, "D7": 1, "D8": 1,
                      "D9": 1}
REPS = {**dict.fromkeys(["D1", "D2", "D3", "D4", "D9"], "R1"),
        **dict.fromkeys(["D5", "D6", "D7", "D8"], "R2")}


def network(folder) -> dict:
    dealers = ["dealer_id,name,region,tier,opened_on,city,channel,sales_rep_id,closed_on"]
    orders = ["order_id,dealer_id,order_date,product_category,quantity,net_amount,"
              "list_amount,status"]
    visits = ["visit_id,dealer_id,visited_on,kind,sales_rep_id"]
    for dealer, rep in REPS.items():
        dealers.append(f"{dealer},{dealer},华东,A,2022-01-10,上海,showroom,{rep},")
        for i, month in enumerate(pd.date_range("2023-01-01", "2024-07-01", freq="MS")):
            orders.append(f"O{dealer}{i},{dealer},{month + pd.Timedelta(days=9):%Y-%m-%d},"
                          "cabinets,2,5000,6000,completed")
        for i, month in enumerate(pd.date_range("2023-07-01", "2024-06-01", freq="MS")):
            usual = 3 if REPS[dealer] == "R1" else 1
            per_quarter = VISITS_PER_QUARTER[dealer] if month >= pd.Timestamp("2024-04-01") \
                else usual
            if (month.month - 1) % 3 < per_quarter:  # the quarter's first n months
                visitor = "R2" if dealer == "D9" and month >= pd.Timestamp("2024-04-01") \
                    else REPS[dealer]
                visits.append(f"V{dealer}{i},{dealer},{month + pd.Timedelta(days=3):%Y-%m-%d},"
                              f"visit,{visitor}")
    data = folder({"dealers.csv": "\n".join(dealers) + "\n",
                   "orders.csv": "\n".join(orders) + "\n",
                   "visits.csv": "\n".join(visits) + "\n"}, base=False)
    return load_data(data, ContractSettings(as_of=pd.Timestamp("2024-08-01").date())).tables


@pytest.fixture
def panel(folder):
    tables = network(folder)
    return tables, build_panel(tables, [CUTOFF], panel=PanelSettings(min_peer_group=3)
                               ).set_index("dealer_id")


def test_a_neglected_dealer_stands_out_and_a_lazy_rep_s_dealers_do_not(panel):
    _, rows = panel
    assert rows.loc[["D1", "D4", "D5"], "engagement_visits_3m"].tolist() == [3, 0, 1]
    # R1's dealers of tier A (D1-D4): median 3, so D4 is 3 visits short
    assert rows.loc["D4", FEATURE] == -3
    assert rows.loc[["D1", "D2", "D3"], FEATURE].tolist() == [0, 0, 0]
    # R2's dealers were each visited once: as often as the rep visits anyone
    assert rows.loc[["D5", "D6", "D7", "D8"], FEATURE].tolist() == [0, 0, 0, 0]


def test_the_rep_is_the_one_of_the_last_visit_before_the_cutoff(panel, folder):
    _, rows = panel
    assert rows.loc["D9", REP] == "R2" and rows.loc["D1", REP] == "R1"
    assert rows.loc["D9", FEATURE] == 0  # against R2's dealers (1 visit), not R1's (3)
    tables, _ = panel
    april = build_panel(tables, [pd.Timestamp("2024-04-01")],
                        panel=PanelSettings(min_peer_group=3)).set_index("dealer_id")
    assert april.loc["D9", REP] == "R1"  # R2 had not visited it yet


def test_too_few_dealers_of_a_rep_leave_it_unknown(panel):
    tables, _ = panel
    rows = build_panel(tables, [CUTOFF], panel=PanelSettings(min_peer_group=6)
                       ).set_index("dealer_id")
    assert rows[FEATURE].isna().all()  # no rep holds 6 dealers


def test_one_posted_dealer_is_judged_against_its_rep_s_dealers_in_the_population(panel):
    tables, rows = panel
    population = rows.reset_index()
    posted = population[population["dealer_id"] == "D4"].copy()
    posted[FEATURE] = np.nan  # what a single dealer's own history gives
    again = with_peers_from(population, posted, 3)
    assert again[FEATURE].tolist() == [-3]


def test_a_posted_dealer_s_panel_leaves_out_only_what_its_population_gives(panel):
    """One dealer's history built without the features across dealers and the labels
    (POST /v1/score): every other column is the full build's, those are unknown, and
    among the population they come out as the full build's do."""
    from features.catalog import ACROSS_DEALERS
    from features.labels import LABEL_COLUMNS

    tables, rows = panel
    one = {"dealers": tables["dealers"][tables["dealers"]["dealer_id"] == "D4"],
           **{k: v[v["dealer_id"] == "D4"] for k, v in tables.items() if k != "dealers"}}
    settings = PanelSettings(min_peer_group=3)
    full = build_panel(one, [CUTOFF], panel=settings)
    lean = build_panel(one, [CUTOFF], panel=settings, across_dealers=False,
                       with_labels=False)
    assert list(lean.columns) == list(full.columns)
    across = [c for c in full.columns if c in ACROSS_DEALERS]
    assert FEATURE in across and {"leave_month", "churn"} <= set(LABEL_COLUMNS)
    assert lean[across + list(LABEL_COLUMNS)].isna().all().all()
    assert full["leave_month"].notna().all()  # known (no loss yet: inf), here unknown
    rest = [c for c in full.columns if c not in across and c not in LABEL_COLUMNS]
    pd.testing.assert_frame_equal(lean[rest], full[rest])
    population = rows.reset_index()
    pd.testing.assert_frame_equal(with_peers_from(population, lean, 3)[across],
                                  with_peers_from(population, full, 3)[across])
    assert with_peers_from(population, lean, 3)[FEATURE].tolist() == [-3]
