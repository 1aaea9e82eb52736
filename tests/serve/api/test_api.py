"""The risk API against the real app: a model trained and registered in a real MLflow
store, snapshots written by the batch scorer, requests through FastAPI's TestClient (and
uvicorn for reloads under load, in test_api_server.py)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serve.api.schemas import (
    DealerHistory,
    DealerRiskResponse,
    DealerSurvivalResponse,
    RiskList,
)
from serve.app import create_app
from tests.serve.conftest import ADMIN, READER, make_settings, sign_in


@pytest.fixture(scope="module")
def client(served):
    settings, _, _ = served
    with TestClient(create_app(settings)) as c:
        yield c


def test_health_ready_and_metrics_are_open(client, served):
    _, new, _ = served
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready" and ready["as_of"] == new["as_of"].iloc[0]
    assert ready["model_versions"] == {"churn": "1", "decline": "1", "forecast": "1"}
    client.get("/v1/risk", headers=READER)
    text = client.get("/metrics").text
    assert 'dealer_risk_requests_total{method="GET",route="/v1/risk",status="200"}' in text
    assert 'dealer_risk_model_version{model="churn"} 1.0' in text
    assert "dealer_risk_snapshot_age_seconds" in text


@pytest.mark.parametrize("headers,status,detail", [
    ({}, 401, "missing or unknown API key (send it in X-API-Key)"),
    ({"X-API-Key": "nope"}, 401, "missing or unknown API key (send it in X-API-Key)"),
])
def test_reading_needs_a_key(client, headers, status, detail):
    response = client.get("/v1/risk", headers=headers)
    assert response.status_code == status and response.json() == {"detail": detail}


def test_reload_needs_the_admin_role(client):
    denied = client.post("/v1/admin/reload", headers=READER)
    assert denied.status_code == 403
    assert denied.json() == {"detail": "this endpoint needs the admin role"}
    done = client.post("/v1/admin/reload", headers=ADMIN)
    assert done.status_code == 200 and done.json()["error"] is None


def test_dealer_risk_in_both_languages(client, served):
    _, new, _ = served
    dealer = new["dealer_id"].iloc[0]
    en = client.get(f"/v1/dealers/{dealer}/risk", headers=READER)
    assert en.status_code == 200
    doc = DealerRiskResponse.model_validate(en.json())
    assert doc.dealer.churn.probability == pytest.approx(new["churn_probability"].iloc[0])
    assert doc.meta.horizon == {"churn_days": 90, "leave_months": 12, "decline_months": 3,
                                "forecast_months": 3}
    assert "Calibrated" in doc.meta.meaning["churn_probability"]
    assert doc.dealer.churn.factors[0].sentence == new["top_reason_en"].iloc[0]
    zh = client.get(f"/v1/dealers/{dealer}/risk?lang=zh", headers=READER).json()
    assert zh["dealer"]["churn"]["factors"][0]["sentence"] == new["top_reason_zh"].iloc[0]
    by_header = client.get(f"/v1/dealers/{dealer}/risk",
                           headers={**READER, "Accept-Language": "zh-CN,zh;q=0.9"}).json()
    assert by_header["dealer"]["churn"]["factors"] == zh["dealer"]["churn"]["factors"]


def test_unknown_dealer_and_bad_language(client, served):
    _, new, _ = served
    missing = client.get("/v1/dealers/NOPE/risk", headers=READER)
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"dealer NOPE is not in the snapshot of "
                                        f"{new['as_of'].iloc[0]} (unknown, or not active)"}
    bad = client.get(f"/v1/dealers/{new['dealer_id'].iloc[0]}/risk?lang=fr", headers=READER)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query lang:")


def test_history_over_snapshots(client, served):
    _, new, old = served
    dealer = next(d for d in new["dealer_id"] if d in set(old["dealer_id"]))
    doc = DealerHistory.model_validate(
        client.get(f"/v1/dealers/{dealer}/history", headers=READER).json())
    assert [p.as_of for p in doc.history] == [old["as_of"].iloc[0], new["as_of"].iloc[0]]
    assert client.get("/v1/dealers/NOPE/history", headers=READER).status_code == 404


def pages(client, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = client.get("/v1/risk", params=query, headers=READER).json()
        RiskList.model_validate(body)
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("sort,column", [("revenue_at_risk", "revenue_at_risk"),
                                         ("churn_probability", "churn_probability"),
                                         ("leave_probability", "leave_probability"),
                                         ("change", "churn_probability_change")])
def test_pagination_covers_the_list_once_in_order(client, served, sort, column):
    _, new, _ = served
    items = pages(client, limit=7, sort=sort)
    ids = [i["dealer_id"] for i in items]
    assert len(ids) == len(set(ids)) == len(new)
    expected = new.assign(k=new[column].fillna(float("-inf"))).sort_values(
        ["k", "dealer_id"], ascending=[False, True])["dealer_id"].tolist()
    assert ids == expected


def test_the_soonest_to_stop_ordering_first(client, served):
    """sort=months_ordering: fewest months expected to keep ordering first, through the
    cursor pages, ties by id."""
    _, new, _ = served
    assert new["months_ordering"].notna().all()
    items = pages(client, limit=9, sort="months_ordering")
    assert [i["dealer_id"] for i in items] == new.sort_values(
        ["months_ordering", "dealer_id"])["dealer_id"].tolist()
    assert items[0]["months_ordering"] == pytest.approx(new["months_ordering"].min())


def test_filters(client, served):
    _, new, _ = served
    region = new["region"].iloc[0]
    body = client.get("/v1/risk", params={"region": region, "band": ["high", "critical"],
                                          "min_probability": 0.2, "limit": 1000},
                      headers=READER).json()
    expected = new[(new["region"] == region) & new["band"].isin(["high", "critical"])
                   & (new["churn_probability"] >= 0.2)]
    assert body["total"] == len(expected)
    assert {i["dealer_id"] for i in body["items"]} == set(expected["dealer_id"])


def test_why_the_score_changed(client, served):
    """The change since the previous snapshot split by group adds up to the change, and is
    said in a sentence in the reader's language."""
    _, new, old = served
    moved = new[new["churn_probability_change"].abs() > 0.05].iloc[0]
    doc = DealerRiskResponse.model_validate(client.get(
        f"/v1/dealers/{moved['dealer_id']}/risk", headers=READER).json()).dealer
    total = sum(p.points for p in doc.churn.change_by_group)
    assert total == pytest.approx(100 * moved["churn_probability_change"], abs=0.1)
    assert doc.churn.change_by_group[0].points == max(
        (p.points for p in doc.churn.change_by_group), key=abs)
    verb = "rose" if moved["churn_probability_change"] > 0 else "fell"
    assert doc.churn.change_sentence.startswith(
        f"Risk {verb} {abs(100 * moved['churn_probability_change']):.0f} points since "
        f"{old['as_of'].iloc[0]}: {doc.churn.change_by_group[0].name}")
    zh = client.get(f"/v1/dealers/{moved['dealer_id']}/risk?lang=zh", headers=READER).json()
    assert zh["dealer"]["churn"]["change_sentence"].startswith(f"自{old['as_of'].iloc[0]}以来")


def test_leaving_apart_from_a_quiet_spell(client, served):
    """The churn risk split in the document, the list and its filter, in both languages."""
    _, new, _ = served
    assert set(new["risk_kind"]) == {"leaving", "quiet_spell", "low"}
    low = new["risk_kind"] == "low"
    assert (new.loc[low, "churn_probability"] < 0.10).all()
    assert (new.loc[~low, "churn_probability"] >= 0.10).all()
    leaving = new[new["risk_kind"] == "leaving"].iloc[0]
    doc = DealerRiskResponse.model_validate(client.get(
        f"/v1/dealers/{leaving['dealer_id']}/risk", headers=READER).json()).dealer
    assert doc.leaving.kind == "leaving"
    assert doc.leaving.probability == pytest.approx(leaving["leave_probability"])
    assert doc.leaving.quiet_spell_probability == pytest.approx(
        max(leaving["churn_probability"] - leaving["leave_probability"], 0))
    assert doc.leaving.probability >= doc.leaving.quiet_spell_probability
    assert f"Of the {leaving['churn_probability']:.0%} churn risk" in doc.leaving.sentence
    assert "next 12 months" in doc.leaving.sentence
    zh = client.get(f"/v1/dealers/{leaving['dealer_id']}/risk?lang=zh", headers=READER).json()
    assert "暂时停单" in zh["dealer"]["leaving"]["sentence"]
    calm = new[new["risk_kind"] == "low"].iloc[0]
    doc = client.get(f"/v1/dealers/{calm['dealer_id']}/risk", headers=READER).json()["dealer"]
    assert doc["leaving"]["kind"] == "low"
    assert doc["leaving"]["sentence"].startswith(
        f"Churn risk is low ({calm['churn_probability']:.0%}) and not split")
    body = client.get("/v1/risk", params={"kind": "quiet_spell", "limit": 1000},
                      headers=READER).json()
    quiet = new[new["risk_kind"] == "quiet_spell"]
    assert body["total"] == len(quiet)
    assert {i["dealer_id"] for i in body["items"]} == set(quiet["dealer_id"])
    assert {i["risk_kind"] for i in body["items"]} == {"quiet_spell"}
    assert client.get("/v1/risk", params={"kind": "maybe"},
                      headers=READER).status_code == 422


def test_time_to_leaving_in_the_risk_document_and_its_own_route(client, served):
    """The survival curve: 12 months falling from 1, the report months read off it, the
    months still ordering its area, in both languages; 404 for a dealer not scored."""
    _, new, _ = served
    row = new.sort_values("months_ordering").iloc[0]  # the shortest expected stay
    body = client.get(f"/v1/dealers/{row['dealer_id']}/survival", headers=READER)
    assert body.status_code == 200
    doc = DealerSurvivalResponse.model_validate(body.json())
    curve = json.loads(row["survival_curve"])
    assert doc.survival.curve == pytest.approx(curve) and len(curve) == 12
    assert [p.months for p in doc.survival.still_ordering] == [3, 6, 12]
    assert [p.probability for p in doc.survival.still_ordering] == pytest.approx(
        [curve[2], curve[5], curve[11]])
    assert doc.survival.months_ordering == pytest.approx(sum(curve), abs=1e-3)
    assert doc.survival.months_ordering < new["months_ordering"].median()
    assert f"12 months {curve[11]:.0%}" in doc.survival.sentence
    risk = client.get(f"/v1/dealers/{row['dealer_id']}/risk", headers=READER).json()
    assert risk["dealer"]["survival"] == body.json()["survival"]
    zh = client.get(f"/v1/dealers/{row['dealer_id']}/survival?lang=zh", headers=READER)
    assert zh.json()["survival"]["sentence"].startswith("仍在订货的概率：3个月后")
    assert client.get("/v1/dealers/NOPE/survival", headers=READER).status_code == 404
    assert client.get(f"/v1/dealers/{row['dealer_id']}/survival").status_code == 401


def test_stage_everywhere_and_as_a_filter(client, served):
    _, new, _ = served
    dealer = new["dealer_id"].iloc[0]
    doc = client.get(f"/v1/dealers/{dealer}/risk", headers=READER).json()
    assert doc["dealer"]["stage"] == new["stage"].iloc[0]
    chosen = new["stage"].iloc[0]
    body = client.get("/v1/risk", params={"stage": chosen, "limit": 1000},
                      headers=READER).json()
    assert body["total"] == int((new["stage"] == chosen).sum())
    assert {i["stage"] for i in body["items"]} == {chosen}


def test_csv_export_parses(client, served):
    _, new, _ = served
    response = client.get("/v1/risk?format=csv&lang=zh", headers=READER)
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-dealer-risk-as-of"] == new["as_of"].iloc[0]
    assert response.headers["x-dealer-risk-model-versions"] == "churn=1,decline=1,forecast=1"
    frame = pd.read_csv(io.StringIO(response.text))
    assert len(frame) == len(new)
    assert {"dealer_id", "churn_probability", "top_reason", "band"} <= set(frame.columns)
    # a byte-order mark, so Excel on Chinese Windows reads UTF-8, not GBK
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.content.decode("utf-8-sig") == response.content.decode("utf-8")[1:]
    assert response.content.decode("utf-8-sig").split(",", 1)[0] == "dealer_id"


def test_changed_since_for_incremental_pulls(client, served):
    """Every dealer whose scores moved is listed (the item's other fields are checked in
    test_crm_mirror.py); the reference is the snapshot of `since`; since the current
    snapshot, nothing changed and nothing left."""
    _, new, old = served
    since = old["as_of"].iloc[0]
    body = client.get("/v1/risk", params={"changed_since": since, "limit": 1000},
                      headers=READER).json()
    ref = old.set_index("dealer_id")
    moved = [d for d, p, b in zip(new["dealer_id"], new["churn_probability"], new["band"],
                                  strict=True)
             if d not in ref.index or abs(ref.at[d, "churn_probability"] - p) > 1e-12
             or ref.at[d, "band"] != b or abs(ref.at[d, "decline_probability"]
                                              - new.set_index("dealer_id").at[
                                                  d, "decline_probability"]) > 1e-12]
    assert moved and set(moved) <= {i["dealer_id"] for i in body["items"]}
    assert body["changes"]["reference_as_of"] == since
    assert {r["dealer_id"] for r in body["changes"]["removed"]} == \
        set(old["dealer_id"]) - set(new["dealer_id"])
    nothing = client.get("/v1/risk", params={"changed_since": new["as_of"].iloc[0]},
                         headers=READER).json()
    assert nothing["total"] == 0 and nothing["changes"]["removed"] == []


@pytest.mark.parametrize("query,detail", [
    ("limit=0", "query limit: Input should be greater than or equal to 1"),
    ("limit=5000", "limit must be at most 1000"),
    ("min_probability=2", "query min_probability: Input should be less than or equal to 1"),
    ("sort=profit", "query sort: Input should be 'revenue_at_risk', 'churn_probability', "
                    "'decline_probability', 'leave_probability', 'change' or "
                    "'months_ordering'"),
    ("cursor=garbage", "cursor is not one this API issued"),
    ("changed_since=yesterday", "query changed_since: Input should be a valid date or "
                                "datetime, input is too short"),
])
def test_bad_parameters_are_422_with_a_clear_message(client, query, detail):
    response = client.get(f"/v1/risk?{query}", headers=READER)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}


def test_oversized_body_is_413(client):
    response = client.post("/v1/admin/reload", headers={**ADMIN, "Content-Length": "99999999"},
                           content=b"")
    assert response.status_code == 413
    assert response.json() == {"detail": "request body over 16,000,000 bytes"}


def test_not_ready_without_a_snapshot(tmp_path):
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as c:
        ready = c.get("/ready")
        assert ready.status_code == 503
        assert "no score snapshot" in ready.json()["detail"]
        risk = c.get("/v1/risk", headers=READER)
        assert risk.status_code == 503 and risk.json()["detail"].startswith("not ready: ")
        assert c.get("/health").status_code == 200


def test_openapi_documents_every_route(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/dealers/{dealer_id}/risk", "/v1/dealers/{dealer_id}/history", "/v1/risk",
            "/v1/alerts",
            "/v1/admin/reload", "/health", "/ready", "/metrics"} <= set(spec["paths"])
    assert "APIKeyHeader" in spec["components"]["securitySchemes"]


def test_meta_names_the_versions_that_computed_the_snapshot(client, served):
    """The champions may move after `dealer-risk score`; a lookup still names the versions
    whose scores it returns."""
    _, new, _ = served
    dealer = new["dealer_id"].iloc[0]
    body = client.get(f"/v1/dealers/{dealer}/risk", headers=READER).json()
    assert body["meta"]["model_versions"] == json.loads(new["model_versions"].iloc[0])
    ready = client.get("/ready").json()
    assert ready["model_versions"] == body["meta"]["model_versions"]
    assert set(ready["champion_versions"]) == {"churn", "decline", "forecast"}


def test_meta_says_which_models_are_provisional_or_unavailable(served, tmp_path):
    """A snapshot scored by a provisional champion, with no decline model: the API's meta
    and the dashboard's banner say so, and the missing scores are null, not guessed."""
    import shutil

    settings, new, _ = served
    work = tmp_path / "work"
    shutil.copytree(settings.work_dir, work)
    day = new["as_of"].iloc[0]
    path = work / "snapshots" / f"{day}.parquet"
    snap = pd.read_parquet(path)
    status = {"churn": {"version": "1", "state": "provisional",
                        "reason": "ECE 0.0470 (limit 0.03)"},
              "decline": {"version": None, "state": "unavailable", "reason": "no champion"},
              "forecast": {"version": "1", "state": "champion", "reason": None}}
    snap["model_status"] = json.dumps(status)
    snap["decline_probability"] = float("nan")
    snap.to_parquet(path)
    from fastapi.testclient import TestClient

    from serve.app import create_app
    with TestClient(create_app(settings.model_copy(update={"work_dir": work}))) as c:
        dealer = snap["dealer_id"].iloc[0]
        body = c.get(f"/v1/dealers/{dealer}/risk", headers=READER).json()
        assert body["meta"]["model_status"] == status
        assert body["dealer"]["decline"]["probability"] is None
        sign_in(c, READER["X-API-Key"])
        html = c.get(f"/dashboard/dealers/{dealer}", params={"lang": "en"}).text
        assert 'class="banner model-provisional" data-model="churn"' in html
        assert "ECE 0.0470 (limit 0.03)" in html
        assert 'class="banner model-unavailable" data-model="decline"' in html
        assert "No usable decline model" in html
