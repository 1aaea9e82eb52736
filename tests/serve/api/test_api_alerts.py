"""Alerts and actions through the API: GET /v1/alerts and the dealer document, against the
real app with snapshots written by the batch scorer."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from models.alerts import track
from serve.api.schemas import AlertList, DealerRiskResponse
from serve.app import create_app
from tests.serve.conftest import READER


@pytest.fixture(scope="module")
def client(served):
    settings, _, _ = served
    with TestClient(create_app(settings)) as c:
        yield c


def _firing(frame) -> dict[str, list[dict]]:
    pairs = zip(frame["dealer_id"], frame["alerts"], strict=True)
    return {d: json.loads(a) for d, a in pairs if a != "[]"}


def test_snapshot_rows_carry_their_firings_with_numbers(served):
    settings, new, _ = served
    firing = _firing(new)
    assert firing, "the small network should fire some rules"
    rules = settings.alerts.by_name()
    for hits in firing.values():
        for hit in hits:
            assert set(hit["numbers"]) == set(rules[hit["rule"]].show)


def test_alerts_list_is_the_replayed_timeline(client, served):
    settings, new, old = served
    expected = track([(old["as_of"].iloc[0], old), (new["as_of"].iloc[0], new)],
                     settings.alerts.by_name())
    got = client.get("/v1/alerts", params={"status": "all", "limit": 1000},
                     headers=READER)
    assert got.status_code == 200
    doc = AlertList.model_validate(got.json())
    assert doc.total == len(expected)
    assert [a.alert_id for a in doc.items] == list(expected["alert_id"])
    open_now = client.get("/v1/alerts", params={"limit": 1000}, headers=READER).json()
    # every alert open now fired in the newest snapshot, and every firing has its alert
    firing = {(d, h["rule"]) for d, hs in _firing(new).items() for h in hs}
    assert {(a["dealer_id"], a["rule"]) for a in open_now["items"]} == firing
    # an alert that fired in both snapshots was updated, not duplicated
    twice = {(d, h["rule"]) for d, hs in _firing(old).items() for h in hs} & firing
    for a in open_now["items"]:
        if (a["dealer_id"], a["rule"]) in twice:
            assert a["times_seen"] == 2 and a["opened_at"] == old["as_of"].iloc[0]


def test_alert_filters_pages_and_language(client, served):
    settings, new, _ = served
    everything = client.get("/v1/alerts", params={"limit": 1000}, headers=READER).json()
    rule = everything["items"][0]["rule"]
    only = client.get("/v1/alerts", params={"rule": rule, "limit": 1000},
                      headers=READER).json()
    assert only["total"] == sum(a["rule"] == rule for a in everything["items"])
    region = everything["items"][0]["region"]
    by_region = client.get("/v1/alerts", params={"region": region, "limit": 1000},
                           headers=READER).json()
    assert by_region["items"] and {a["region"] for a in by_region["items"]} == {region}
    seen, cursor = [], None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/alerts", params=params, headers=READER).json()
        seen += [a["alert_id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [a["alert_id"] for a in everything["items"]]
    zh = client.get("/v1/alerts", params={"rule": rule, "lang": "zh"}, headers=READER).json()
    assert zh["items"][0]["title"] == settings.alerts.by_name()[rule].title_zh
    assert client.get("/v1/alerts", params={"cursor": "nonsense"},
                      headers=READER).status_code == 422
    assert client.get("/v1/alerts").status_code == 401


def test_dealer_document_has_open_alerts_and_actions_for_its_factors(client, served):
    settings, new, _ = served
    firing = _firing(new)
    dealer = next(iter(firing))
    doc = client.get(f"/v1/dealers/{dealer}/risk", headers=READER).json()
    DealerRiskResponse.model_validate(doc)
    d = doc["dealer"]
    assert sorted(a["rule"] for a in d["alerts"]) == sorted(h["rule"] for h in firing[dealer])
    raising = {f["group"] for m in ("churn", "decline") for f in d[m]["factors"]
               if f["direction"] == "raises"} | {a["group"] for a in d["alerts"]}
    answered = {ans["group"] for a in d["actions"] for ans in a["answers"]
                if ans["kind"] != "stage"}
    playbook_groups = {g for a in settings.playbook.actions for g in a.groups}
    assert answered == raising & playbook_groups
    items = client.get("/v1/risk", params={"limit": 1000}, headers=READER).json()["items"]
    counts = {i["dealer_id"]: i["open_alerts"] for i in items}
    assert counts[dealer] == len(d["alerts"])
