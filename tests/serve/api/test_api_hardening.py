"""Hostile requests get precise answers: the body limit on the stream, enumerated filters,
JSON only, cursors that say what differs, no internal file names, docs without a CDN, and
every route labelled in /metrics. Against the real app (and real uvicorn for the stream)."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient

from serve.app import create_app
from tests.serve.api.test_api_score import history
from tests.serve.conftest import ADMIN, READER, uvicorn_server


@pytest.fixture(scope="module")
def client(served):
    settings, _, _ = served
    with TestClient(create_app(settings)) as c:
        yield c


def test_a_chunked_body_over_the_limit_is_cut_on_the_stream(served):
    """No Content-Length: the limit is counted on the bytes as they come, before parsing."""
    settings, _, _ = served
    small = settings.model_copy(update={"api": settings.api.model_copy(
        update={"max_body_bytes": 100_000})})
    sent = 0

    def chunks():
        nonlocal sent
        for _ in range(400):  # 400 x 50 kB = 20 MB, far over the limit
            sent += 50_000
            yield b" " * 50_000

    with uvicorn_server(create_app(small)) as url:
        response = httpx.post(f"{url}/v1/score", content=chunks(), timeout=30,
                              headers={**READER, "Content-Type": "application/json"})
        assert "content-length" not in {k.lower() for k in response.request.headers}
        metrics = httpx.get(f"{url}/metrics").text
    assert response.status_code == 413
    assert response.json() == {"detail": "request body over 100,000 bytes"}
    assert 'route="/v1/score",status="413"' in metrics


@pytest.mark.parametrize(("path", "query", "detail"), [
    ("/v1/risk", "band=purple", "band: unknown value 'purple'; allowed: low, medium, high, "
                                "critical, unavailable"),
    ("/v1/risk", "band=High&band=x", "band: unknown values 'High', 'x'; allowed: low, medium, "
                                     "high, critical, unavailable"),
    ("/v1/risk", "stage=zombie", "stage: unknown value 'zombie'; allowed: new, growing, "
                                 "mature, declining, dormant, churned"),
    ("/v1/alerts", "severity=bogus", "severity: unknown value 'bogus'; allowed: low, medium, "
                                     "high"),
    ("/v1/alerts", "group=weather", "group: unknown value 'weather'; allowed: orders, price, "
                                    "mix, service, complaints, logistics, engagement, profile, "
                                    "peers, season, scores"),
])
def test_unknown_values_of_enumerated_filters_are_422_naming_the_allowed(client, path, query,
                                                                         detail):
    response = client.get(f"{path}?{query}", headers=READER)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}


def test_an_unknown_rule_is_422_naming_the_rules(client):
    response = client.get("/v1/alerts?rule=nope", headers=READER)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("rule: unknown value 'nope'; allowed: ")
    assert "churn_band_up" in response.json()["detail"]


def test_a_body_that_is_not_json_is_415(client, served, network):
    _, new, _ = served
    body = json.dumps(history(network, new["dealer_id"].iloc[0]))
    for content_type in ("text/plain", None):
        headers = {**READER, **({"Content-Type": content_type} if content_type else {})}
        response = client.post("/v1/score", content=body.encode(), headers=headers)
        assert response.status_code == 415
        assert response.json()["detail"].startswith("the body must be JSON (Content-Type: "
                                                    "application/json), not ")


def test_cursor_errors_say_what_differs(client):
    first = client.get("/v1/risk?limit=5", headers=READER).json()
    cursor = first["next_cursor"]
    assert cursor
    other_sort = client.get(f"/v1/risk?limit=5&sort=churn_probability&cursor={cursor}",
                            headers=READER)
    assert other_sort.status_code == 409
    assert other_sort.json()["detail"] == (
        "this cursor belongs to another list: the sort (cursor: revenue_at_risk, this "
        "request: churn_probability) differs; start again without a cursor, or repeat the "
        "request the cursor came from")
    other_filter = client.get(f"/v1/risk?limit=5&band=high&cursor={cursor}", headers=READER)
    assert other_filter.status_code == 409
    assert "the filters differs" in other_filter.json()["detail"]
    same = client.get(f"/v1/risk?limit=5&cursor={cursor}", headers=READER)
    assert same.status_code == 200
    alerts = client.get("/v1/alerts?status=all&limit=2", headers=READER).json()
    if alerts["next_cursor"]:
        moved = client.get(f"/v1/alerts?status=open&limit=2&cursor={alerts['next_cursor']}",
                           headers=READER)
        assert moved.status_code == 409 and "the filters differs" in moved.json()["detail"]


def test_a_missing_posted_field_is_named_as_the_posted_field(client, served, network):
    _, new, _ = served
    body = history(network, new["dealer_id"].iloc[0])
    del body["dealer"]["region"]
    response = client.post("/v1/score", json=body, headers=READER)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("dealer: required field 'region' is missing")
    assert ".csv" not in detail and "/tmp" not in detail and "dealer-risk-score" not in detail


def test_docs_come_from_the_installed_package_not_a_cdn(client):
    for path, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        page = client.get(path)
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "googleapis" not in page.text
        assert f"/docs-assets/{asset}" in page.text
        script = client.get(f"/docs-assets/{asset}")
        assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/score" in spec["paths"] and "/docs" not in spec["paths"]


def test_metrics_label_every_route_by_its_template(client):
    for path in ("/docs", "/redoc", "/openapi.json", "/docs-assets/swagger-ui.css",
                 "/v1/dealers/NOPE/risk"):
        client.get(path, headers=READER)
    text = client.get("/metrics").text
    for route in ("/docs", "/redoc", "/openapi.json", "/docs-assets/{file}",
                  "/v1/dealers/{dealer_id}/risk"):
        assert f'route="{route}"' in text, route
    client.post("/v1/admin/reload", headers=ADMIN)


def test_a_corrupt_snapshot_never_replaces_the_good_one(served, tmp_path):
    """A truncated file lands in the snapshots folder while the server runs: the reload
    says why it failed, /ready stays green, and the previous snapshot keeps serving."""
    import shutil

    settings, new, _ = served
    work = tmp_path / "work"
    shutil.copytree(settings.work_dir, work)
    good = new["as_of"].iloc[0]
    whole = (work / "snapshots" / f"{good}.parquet").read_bytes()
    (work / "snapshots" / "2099-01-01.parquet").write_bytes(whole[: len(whole) // 3])
    with TestClient(create_app(settings.model_copy(update={"work_dir": work}))) as c:
        # the first load failed: nothing else to serve, so not ready, and it says why
        assert c.get("/ready").status_code == 503
        (work / "snapshots" / "2099-01-01.parquet").unlink()
        assert c.post("/v1/admin/reload", headers=ADMIN).json()["reloaded"] is True
        (work / "snapshots" / "2099-01-01.parquet").write_bytes(whole[: len(whole) // 3])
        answer = c.post("/v1/admin/reload", headers=ADMIN)
        assert answer.status_code == 200
        body = answer.json()
        assert body["reloaded"] is False
        assert body["error"].startswith("reload failed (") and body["error"].endswith(
            "still serving the previous state")
        ready = c.get("/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert ready.json()["as_of"] == good and "last_reload_error" in ready.json()
        assert c.get("/v1/risk?limit=1", headers=READER).json()["meta"]["as_of"] == good
