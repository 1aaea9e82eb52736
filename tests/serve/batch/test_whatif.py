"""What-if against the real app with real trained models: no change gives the snapshot
row exactly; a scenario moves only its features, only towards its bounds; what cannot be
asked is a 422 naming it."""

from __future__ import annotations

import json

import pytest

from serve.settings import Settings
from tests.serve.conftest import READER


def ask(client, dealer: str, body: dict, lang: str = "en"):
    return client.post(f"/v1/dealers/{dealer}/what-if?lang={lang}", json=body,
                       headers=READER)


def test_no_change_gives_the_snapshot_row_exactly(client, served):
    _, new, _ = served
    for row in new.head(5).itertuples():
        doc = ask(client, row.dealer_id, {}).json()
        for side in ("before", "after"):
            assert doc[side]["churn_probability"] == row.churn_probability
            assert doc[side]["decline_probability"] == row.decline_probability
            assert doc[side]["forecast"]["expected"] == row.forecast_expected
        assert doc["change_points"] == {"churn": 0.0, "decline": 0.0} and doc["changes"] == {}
        factors = json.loads(row.factors)["churn"]
        assert [f["feature"] for f in doc["factors_after"]["churn"]] == [
            f["feature"] for f in factors]
        assert [f["contribution"] for f in doc["factors_after"]["churn"]] == pytest.approx(
            [f["contribution"] for f in factors], abs=1e-12)
        assert "not a promise" in doc["note"]


def test_a_scenario_moves_only_its_features_towards_its_bounds(client, served):
    _, new, _ = served
    dealer = new["dealer_id"].iloc[0]
    for scenario in Settings().what_if.scenarios:
        doc = ask(client, dealer, {"scenario": scenario.name}, lang="zh").json()
        assert doc["scenario"] == {"name": scenario.name, "title": scenario.title_zh}
        assert set(doc["changes"]) == set(scenario.at_least) | set(scenario.at_most)
        # a value the dealer lacks (null: say, a rep with too few dealers to compare
        # with) is set to the bound
        for feature, bound in scenario.at_least.items():
            moved = doc["changes"][feature]
            assert moved["to"] == (bound if moved["from"] is None else max(bound,
                                                                           moved["from"]))
        for feature, bound in scenario.at_most.items():
            moved = doc["changes"][feature]
            assert moved["to"] == (bound if moved["from"] is None else min(bound,
                                                                           moved["from"]))
        # the same values asked one by one give the same answer
        explicit = ask(client, dealer, {"changes": {f: c["to"] for f, c in
                                                    doc["changes"].items()}}).json()
        assert explicit["after"] == doc["after"]
        assert doc["change_points"]["churn"] == pytest.approx(  # rounded to 6 decimals
            (doc["after"]["churn_probability"] - doc["before"]["churn_probability"]) * 100,
            abs=5e-7)


def test_a_change_moves_the_score_within_the_learned_range(client, served):
    from serve.batch.champions import load_champions
    settings, new, _ = served
    ranges = load_champions(settings).reference.metadata["feature_ranges"]
    dealer = new["dealer_id"].iloc[0]
    worst = {f: ranges[f][1] for f in ("complaints_count_12m", "service_overdue_open")}
    doc = ask(client, dealer, {"changes": worst}).json()
    assert doc["before"]["churn_probability"] == new["churn_probability"].iloc[0]
    assert doc["after"]["churn_probability"] != doc["before"]["churn_probability"]
    assert {f: c["to"] for f, c in doc["changes"].items()} == worst
    beyond = ask(client, dealer, {"changes": {"complaints_count_12m":
                                              ranges["complaints_count_12m"][1] + 1}})
    assert beyond.status_code == 422 and "complaints_count_12m" in beyond.json()["detail"]


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"changes": {"colour": 1}}, 422, "unknown feature 'colour'; actionable features: "),
    ({"changes": {"orders_amount_12m": 1}}, 422, "'orders_amount_12m' is not actionable"),
    ({"changes": {"service_overdue_open": 1e9}}, 422, "outside the range the models"),
    ({"scenario": "paint_the_shop"}, 422, "scenario: unknown value 'paint_the_shop'"),
    ({"changes": {"service_overdue_open": "lots"}}, 422, "service_overdue_open"),
])
def test_what_cannot_be_asked_is_named(client, served, body, status, words):
    _, new, _ = served
    response = ask(client, new["dealer_id"].iloc[0], body)
    assert response.status_code == status and words in json.dumps(
        response.json()["detail"], ensure_ascii=False)


def test_an_unknown_dealer_is_404_and_a_key_is_needed(client):
    response = ask(client, "NO-SUCH-DEALER", {})
    assert response.status_code == 404 and "NO-SUCH-DEALER" in response.json()["detail"]
    assert client.post("/v1/dealers/X/what-if", json={}).status_code == 401


# --- levers: computed in the batch, read by the API and the dashboard ---

def test_levers_are_ranked_and_agree_with_what_if(client, served):
    settings, new, _ = served
    at_risk = new[new["churn_probability"] >= settings.levers.min_probability]
    with_levers = [d for d, x in zip(at_risk["dealer_id"], at_risk["levers"], strict=True)
                   if json.loads(x)]
    assert with_levers, "the served snapshot has dealers at risk with levers"
    for dealer in with_levers[:5]:
        doc = client.get(f"/v1/dealers/{dealer}/levers", headers=READER).json()
        assert doc["computed"] and 0 < len(doc["levers"]) <= settings.levers.top
        points = [x["points"] for x in doc["levers"]]
        assert points == sorted(points, reverse=True)
        assert min(points) >= settings.levers.min_points
        for lever in doc["levers"]:
            assert lever["churn_before"] == new.set_index("dealer_id").loc[
                dealer, "churn_probability"]
            same = ask(client, dealer, {"changes": lever["changes"]}).json()
            assert same["after"]["churn_probability"] == pytest.approx(lever["churn_after"],
                                                                       abs=1e-9)
            assert lever["points"] == pytest.approx(
                (lever["churn_before"] - lever["churn_after"]) * 100)
            before, after = lever["churn_before"], lever["churn_after"]
            digits = ".0%" if f"{before:.0%}" != f"{after:.0%}" else ".1%"  # never 30% to 30%
            assert lever["sentence"].endswith(f"from {before:{digits}} to {after:{digits}}")


def test_levers_only_for_dealers_at_risk(client, served):
    settings, new, _ = served
    calm = new[new["churn_probability"] < settings.levers.min_probability]["dealer_id"]
    doc = client.get(f"/v1/dealers/{calm.iloc[0]}/levers?lang=zh", headers=READER).json()
    assert doc["computed"] is False and doc["levers"] == []
    assert "what-if" in doc["note"]
    assert client.get("/v1/dealers/NO-SUCH/levers", headers=READER).status_code == 404


def test_the_dealer_page_shows_its_levers_and_the_actions_name_them(client, served):
    from tests.serve.conftest import sign_in
    settings, new, _ = served
    row = next(r for r in new.itertuples() if json.loads(r.levers))
    client.cookies.clear()
    sign_in(client, READER["X-API-Key"], "/dashboard", follow_redirects=False)
    english = client.get(f"/dashboard/dealers/{row.dealer_id}?lang=en").text
    first = json.loads(row.levers)[0]
    assert "Associated with lower risk (not an effect)" in english
    assert first["sentence_en"] in english
    assert "not a promise that the change will lower it" in english
    chinese = client.get(f"/dashboard/dealers/{row.dealer_id}?lang=zh").text
    assert "与较低风险相关的调整" in chinese and first["sentence_zh"] in chinese
    calm = new[new["churn_probability"] < settings.levers.min_probability].iloc[0]
    page = client.get(f"/dashboard/dealers/{calm.dealer_id}?lang=en").text
    assert "Levers are worked out for dealers at 25% churn risk or more." in page
    client.cookies.clear()
