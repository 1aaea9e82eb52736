"""The reps' scorecard by hand: who held a lost dealer, losses counted once against the
models' expectation, the score's parts and rank; nothing dated after the cutoff moves it;
then the endpoints and pages against the real app."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from serve.batch.reps import YEAR_QUARTERS, quarter_starts, rep_rows, scorecard
from serve.settings import RepSettings

CUTOFF = pd.Timestamp("2025-07-01")
STARTS = quarter_starts(CUTOFF)  # 2025-07, 2025-04, 2025-01, 2024-10, 2024-07
DEALERS = pd.DataFrame({
    "dealer_id": ["A", "B", "C", "D", "E"], "name": ["甲", "乙", "丙", "丁", "戊"],
    "region": ["East", "East", "East", "North", "East"],
    "sales_rep_id": ["R1", "R1", "R2", "R3", "R1"],
    "closed_on": pd.to_datetime([None, None, None, "2025-05-10", None]),
})
VISITS = pd.DataFrame({"dealer_id": ["C", "C", "D"], "sales_rep_id": ["R9", "R2", "R3"],
                       "visited_on": pd.to_datetime(["2024-06-01", "2025-06-01",
                                                     "2025-02-01"])})


def panel(rows: dict[str, tuple[bool, float]], **features) -> pd.DataFrame:
    """A panel at one cutoff: dealer -> (active, days since its last positive order)."""
    out = pd.DataFrame({"dealer_id": list(rows), "active": [a for a, _ in rows.values()],
                        "orders_days_since_last": [d for _, d in rows.values()]})
    return out.assign(**features) if features else out


def network():
    """A and B (R1) trade all year. C (R2 now; R9 visited it last before 2024-07) goes
    silent in the quarter from 2024-07 and stays silent. D (R3) closes in May 2025. E (R1)
    is lost in the quarter from 2025-01, then trades again."""
    everyone = {"A": (True, 5.0), "B": (True, 9.0), "C": (True, 30.0), "D": (True, 20.0),
                "E": (True, 10.0)}
    panels = {
        STARTS[4]: panel(everyone, orders_amount_12m=[100.0, 50.0, 40.0, 30.0, 10.0]),
        STARTS[3]: panel({**everyone, "C": (True, 122.0)}),
        STARTS[2]: panel({**everyone, "C": (True, 212.0)}),
        STARTS[1]: panel({**everyone, "C": (False, 302.0), "E": (True, 100.0)}),
        STARTS[0]: panel({"A": (True, 3.0), "B": (True, 4.0), "E": (True, 2.0)},
                         orders_amount_12m=[150.0, 40.0, 5.0],
                         engagement_visits_3m=[6.0, 0.0, 3.0],
                         engagement_days_since_visit=[10.0, np.nan, 100.0],
                         complaints_count_3m=[1.0, 0.0, 2.0]),
    }
    snapshot = pd.DataFrame({"dealer_id": ["A", "B", "E"], "dealer_name": ["甲", "乙", "戊"],
                             "region": ["East", "East", "East"],
                             "sales_rep_id": ["R1", "R1", "R1"],
                             "churn_probability": [0.1, 0.2, 0.3],
                             "revenue_at_risk": [15.0, 8.0, 1.5],
                             "orders_amount_12m": [150.0, 40.0, 5.0]})
    # the snapshot kept from the quarter before: D was R4's then
    then = pd.DataFrame({"dealer_id": ["A", "B", "D", "E"], "sales_rep_id": ["R1", "R1", "R4",
                                                                             "R1"],
                         "churn_probability": [0.05, 0.1, 0.6, 0.2]})
    tables = {"dealers": DEALERS, "visits": VISITS}
    return tables, snapshot, panels, {STARTS[1]: then}


def test_losses_attribution_and_expectation_by_hand():
    rows = rep_rows(*network()[:3], CUTOFF, network()[3])
    lost = rows[rows["lost"]].set_index("dealer_id")
    assert set(lost.index) == {"C", "D", "E"}  # each once
    assert lost.loc["C", "quarter"] == 4 and lost.loc["C", "sales_rep_id"] == "R9"
    assert lost.loc["C", "held_by"] == "visit"  # the visit before 2024-07, not today's R2
    assert lost.loc["E", "quarter"] == 2 and lost.loc["E", "held_by"] == "today"
    assert lost.loc["D", "quarter"] == 1 and lost.loc["D", "sales_rep_id"] == "R4"
    assert lost.loc["D", "held_by"] == "snapshot" and lost.loc["D", "expected"] == 0.6
    # E, lost in an earlier quarter, is not counted (nor expected) again
    assert "E" not in set(rows.loc[rows["quarter"] == 1, "dealer_id"])
    assert rows.loc[rows["quarter"] == 1, "expected"].sum() == pytest.approx(0.75)
    now = rows[rows["quarter"] == 0].set_index("dealer_id")
    assert list(now.index) == ["A", "B", "E"]
    assert now.loc["A", "revenue_last_year"] == 100 and now.loc["E", "revenue_last_year"] == 10


def test_the_scorecard_by_hand():
    tables, snapshot, panels, earlier = network()
    rows = rep_rows(tables, snapshot, panels, CUTOFF, earlier)
    support = pd.DataFrame({"sales_rep_id": ["R1", "R1", "R1", "R2"],
                            "due_in_window": [True, True, False, True],
                            "on_time": [True, False, False, False],
                            "overdue": [False, True, True, False]})
    settings = RepSettings()
    card = scorecard(rows, support, settings).set_index("sales_rep_id")
    assert set(card.index) == {"R1", "R4", "R9"}  # R2 and R3 hold nothing and lost nothing
    r1 = card.loc["R1"]
    assert r1["dealers"] == 3 and r1["revenue_12m"] == 195 and r1["revenue_last_year"] == 160
    assert r1["revenue_change"] == pytest.approx(195 / 160 - 1)
    assert r1["expected_losses_next_90d"] == pytest.approx(0.6)
    assert r1["lost_90d"] == 0 and r1["expected_lost_90d"] == pytest.approx(0.15)
    assert r1["lost_365d"] == 1 and np.isnan(r1["expected_lost_365d"])  # 3 quarters not kept
    assert r1["held_by_today"] == 1  # E
    assert r1["visits_per_dealer_month"] == pytest.approx(9 / 3 / 3)
    assert r1["not_visited"] == 2  # B never, E 100 days ago
    assert r1["support_due"] == 2 and r1["on_time_share"] == 0.5 and r1["support_overdue"] == 2
    parts = {"visited": 1 / 3, "on_time": 0.5, "kept": 1 - 1 / 3,
             "growth": (195 / 160 - 1 + 0.5) / 1.0, "safe": 1 - 24.5 / 195}
    for name, value in parts.items():
        assert r1[f"part_{name}"] == pytest.approx(value), name
    w = settings.weights
    assert r1["score"] == pytest.approx(100 * sum(w[p] * v for p, v in parts.items())
                                        / sum(w.values()))
    # R4 held D when it closed: on the list with its loss, no score (it holds no dealer)
    assert card.loc["R4", "lost_90d"] == 1 and card.loc["R4", "dealers"] == 0
    assert pd.isna(card.loc["R4", "score"]) and pd.isna(card.loc["R4", "rank_in_region"])
    assert card.loc["R1", "rank_in_region"] == 1 and card.loc["R1", "reps_in_region"] == 1


def test_a_part_without_data_is_left_out_and_weights_are_settings():
    tables, snapshot, panels, earlier = network()
    rows = rep_rows(tables, snapshot, panels, CUTOFF, earlier)
    only = scorecard(rows, None, RepSettings(weights={"visited": 1.0, "on_time": 3.0}))
    r1 = only.set_index("sales_rep_id").loc["R1"]
    assert np.isnan(r1["part_on_time"])  # no tickets: no part, not a zero
    assert r1["score"] == pytest.approx(100 / 3)  # visited alone
    with pytest.raises(ValueError, match="unknown parts colour"):
        RepSettings(weights={"colour": 1.0})


def test_ranks_within_the_region_best_first():
    rows = pd.DataFrame({
        "quarter": 0, "start": None, "dealer_id": ["a", "b", "c", "d"], "dealer_name": "",
        "region": ["East", "East", "East", "West"], "sales_rep_id": ["X", "Y", "Y", "Z"],
        "held_by": "dealers", "lost": False, "expected": np.nan,
        "churn_probability": 0.1, "revenue_at_risk": [1.0, 50.0, 50.0, 1.0],
        "revenue_12m": 100.0, "revenue_last_year": 100.0, "visits_3m": 3.0,
        "days_since_visit": 5.0, "complaints_3m": 0.0})
    card = scorecard(rows, None, RepSettings()).set_index("sales_rep_id")
    assert card.loc["X", "score"] > card.loc["Y", "score"]
    assert (card.loc["X", "rank_in_region"], card.loc["Y", "rank_in_region"]) == (1, 2)
    assert card.loc["Z", "rank_in_region"] == 1 and card.loc["Z", "reps_in_region"] == 1
    assert np.isnan(card.loc["X", "lost_365d"])  # no quarter's panel: unknown, not zero


# --- on the simulated network: point in time ---

def test_nothing_dated_after_the_cutoff_moves_the_rows(network):  # noqa: F811
    from serve.batch.scoring import panels_at
    from serve.settings import Settings
    tables = network.loaded.tables
    cutoff = pd.Timestamp(network.panel["cutoff"].max()) - pd.DateOffset(months=6)
    settings = Settings()

    def rows_of(tables):
        panels = panels_at(tables, cutoff, quarter_starts(cutoff), settings)
        now = panels[cutoff][panels[cutoff]["active"]]
        dealers = tables["dealers"].set_index("dealer_id")
        snapshot = pd.DataFrame({
            "dealer_id": now["dealer_id"].to_numpy(),
            "dealer_name": dealers["name"].reindex(now["dealer_id"]).to_numpy(),
            "region": dealers["region"].reindex(now["dealer_id"]).to_numpy(),
            "sales_rep_id": dealers["sales_rep_id"].reindex(now["dealer_id"]).to_numpy(),
            "churn_probability": 0.1, "revenue_at_risk": 1.0,
            "orders_amount_12m": now["orders_amount_12m"].to_numpy()})
        return rep_rows(tables, snapshot, {c: p for c, p in panels.items() if len(p)},
                        cutoff, {})

    before = rows_of(tables)
    assert before["lost"].sum() > 0 and set(before["quarter"]) == set(range(YEAR_QUARTERS + 1))
    future = dict(tables)
    for name, column in (("orders", "order_date"), ("visits", "visited_on")):
        t = tables[name]
        later = t[column] >= cutoff
        future[name] = t[~later]  # forget everything from the cutoff on
    future["visits"] = pd.concat([future["visits"], tables["visits"].iloc[:50].assign(
        visited_on=cutoff + pd.Timedelta(days=3), sales_rep_id="R_NEW")])  # and add visits
    pd.testing.assert_frame_equal(before, rows_of(future))


# --- through the real app, on the served snapshot (trained models, real MLflow) ---

def test_the_reps_endpoint_sorts_filters_and_exports(client, served):
    from tests.serve.conftest import READER
    settings, new, _ = served
    doc = client.get("/v1/reps", headers=READER).json()
    items = doc["items"]
    assert doc["meta"]["as_of"] == new["as_of"].iloc[0] and doc["total"] == len(items) > 3
    assert doc["weights"] == settings.reps.weights
    held = new.groupby("sales_rep_id").size()
    by_rep = {i["sales_rep_id"]: i for i in items}
    for rep, n in held.items():  # every rep of the snapshot, with its dealers
        assert by_rep[rep]["dealers"] == n
        assert by_rep[rep]["revenue_at_risk"] == pytest.approx(
            new.loc[new["sales_rep_id"] == rep, "revenue_at_risk"].sum())
    scores = [i["score"] for i in items if i["score"] is not None]
    assert scores == sorted(scores)  # weakest first
    assert all(i["expected_lost_90d"] is not None for i in items)  # the quarter's snapshot
    assert sum(i["lost_90d"] for i in items) > 0
    region = items[0]["region"]
    narrowed = client.get("/v1/reps", params={"region": region, "sort": "revenue_at_risk"},
                          headers=READER).json()["items"]
    assert narrowed and all(i["region"] == region for i in narrowed)
    risk = [i["revenue_at_risk"] or 0 for i in narrowed]
    assert risk == sorted(risk, reverse=True)
    ranks = sorted(i["rank_in_region"] for i in narrowed if i["rank_in_region"])
    assert ranks == list(range(1, len(ranks) + 1))
    csv = client.get("/v1/reps", params={"format": "csv", "region": region}, headers=READER)
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pd.read_csv(io.StringIO(csv.text))
    assert len(frame) == len(narrowed) and "part_visited" in frame.columns


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/v1/reps?region=Atlantis", 422, "region: unknown value 'Atlantis'"),
    ("/v1/reps?sort=colour", 422, "sort"),
    ("/v1/reps/NO-SUCH-REP", 404, "no sales rep 'NO-SUCH-REP'"),
])
def test_the_reps_endpoints_refuse_what_they_cannot_answer(client, url, status, words):
    from tests.serve.conftest import READER
    response = client.get(url, headers=READER)
    assert response.status_code == status and words in str(response.json()["detail"])
    assert client.get("/v1/reps").status_code == 401  # no key


def test_one_rep_lists_their_dealers_by_revenue_at_risk(client, served):
    from tests.serve.conftest import READER
    _, new, _ = served
    rep = new["sales_rep_id"].value_counts().index[0]
    doc = client.get(f"/v1/reps/{rep}", params={"limit": 3, "lang": "zh"},
                     headers=READER).json()
    mine = new[new["sales_rep_id"] == rep]
    assert doc["rep"]["sales_rep_id"] == rep and doc["dealers_total"] == len(mine)
    assert len(doc["dealers"]) == min(3, len(mine))
    risk = [d["revenue_at_risk"] for d in doc["dealers"]]
    assert risk == sorted(mine["revenue_at_risk"], reverse=True)[:3]
    reasons = mine.set_index("dealer_id")["top_reason_zh"]
    for dealer in doc["dealers"]:  # in the asked language (none for a dealer without one)
        want = reasons[dealer["dealer_id"]]
        assert dealer["top_reason"] == (want if isinstance(want, str) else None)
    for lost in doc["lost"]:
        assert lost["held_by"] in ("snapshot", "visit", "today")


def test_the_reps_pages_in_both_languages(client, served):
    from tests.serve.conftest import READER, sign_in
    _, new, _ = served
    rep = new["sales_rep_id"].value_counts().index[0]
    client.cookies.clear()
    sign_in(client, READER["X-API-Key"], "/dashboard/reps", follow_redirects=False)
    english = client.get("/dashboard/reps?lang=en").text
    assert ">Score</th>" in english and 'id="parts-legend"' in english
    assert f'<tr data-rep="{rep}">' in english and "Share of the year&#39;s dealers not lost" \
        in english
    chinese = client.get(f"/dashboard/reps/{rep}?lang=zh").text
    assert "维护得分" in chinese and "名下经销商（按风险收入排序）" in chinese
    assert f"/dashboard/support?sales_rep={rep}" in chinese
    missing = client.get("/dashboard/reps/NO-SUCH-REP?lang=en")
    assert missing.status_code == 404 and "No sales rep &#39;NO-SUCH-REP&#39;" in missing.text
    bad = client.get("/dashboard/reps?sort=colour&lang=en")
    assert bad.status_code == 422 and "sort (&#39;colour&#39;)" in bad.text
    client.cookies.clear()
