"""Known situations through the API: a rep records a store refit, the dealer's alerts are
held (still scored, listed, with the note), the trail keeps who did what, and ending it
brings the alerts back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from serve.api.schemas import AlertList, DealerRiskResponse, DealerSituations, Situation
from serve.app import create_app
from serve.service.situations import credential_of
from serve.store.schema import situation_events, situations
from tests.serve.conftest import ADMIN, READER

FIELD = {"X-API-Key": "field-key-789"}


@pytest.fixture(scope="module")
def app_client(served, tmp_path_factory):
    """The served snapshots with a store of its own (the shared work directory's store
    stays empty for the other tests) and a field key."""
    settings, _, _ = served
    store = tmp_path_factory.mktemp("situations") / "store.db"
    settings = settings.model_copy(update={
        "api_keys": {**settings.api_keys, FIELD["X-API-Key"]: "field"},
        "store": settings.store.model_copy(update={
            "url": f"sqlite:///{store}", "refresh_seconds": 60})})
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def client(app_client):
    """Each test starts from an empty store."""
    book = app_client.app.state.situations
    with book.store.engine.begin() as c:
        c.execute(situation_events.delete())
        c.execute(situations.delete())
    book.written()
    return app_client


def _alerting_dealer(client) -> str:
    alerts = client.get("/v1/alerts", params={"limit": 1000}, headers=READER).json()
    assert alerts["items"], "the small network should have open alerts"
    return alerts["items"][0]["dealer_id"]


def _today(client):
    return client.app.state.situations.store.today()


def test_a_known_situation_holds_the_dealers_alerts_until_it_ends(client):
    dealer = _alerting_dealer(client)
    total = client.get("/v1/alerts", params={"limit": 1000}, headers=READER).json()["total"]
    expires = (_today(client) + timedelta(days=90)).isoformat()
    made = client.post(f"/v1/dealers/{dealer}/situations", headers=FIELD, json={
        "kind": "store_refit", "note": "showroom refit until March", "expires_on": expires,
        "by": "Wang Lei"})
    assert made.status_code == 201, made.text
    situation = Situation.model_validate(made.json())
    assert situation.active and situation.expires_on == expires

    held = client.get("/v1/alerts", params={"limit": 1000}, headers=READER).json()
    assert dealer not in {a["dealer_id"] for a in held["items"]}
    only = AlertList.model_validate(client.get("/v1/alerts", params={
        "limit": 1000, "held": "only"}, headers=READER).json())
    assert only.items and {a.dealer_id for a in only.items} == {dealer}
    assert {a.held_until for a in only.items} == {expires}
    assert held["total"] + only.total == total
    every = client.get("/v1/alerts", params={"limit": 1000, "held": "include"},
                       headers=READER).json()
    assert every["total"] == total

    # still scored and listed, with the note in the reader's language
    doc = DealerRiskResponse.model_validate(client.get(
        f"/v1/dealers/{dealer}/risk", params={"lang": "zh"}, headers=READER).json())
    assert doc.dealer.churn.probability is not None
    assert doc.dealer.situation.name == "门店装修"
    assert doc.dealer.situation.note == "showroom refit until March"

    ended = client.patch(f"/v1/situations/{situation.id}", headers=FIELD,
                         json={"end": True, "by": "Li Na"})
    assert ended.status_code == 200 and ended.json()["active"] is False
    back = client.get("/v1/alerts", params={"limit": 1000}, headers=READER).json()
    assert back["total"] == total
    risk = client.get(f"/v1/dealers/{dealer}/risk", headers=READER).json()
    assert risk["dealer"]["situation"] is None
    again = client.patch(f"/v1/situations/{situation.id}", headers=FIELD,
                         json={"note": "late", "by": "Li Na"})
    assert again.status_code == 409 and "record a new one" in again.json()["detail"]


def test_the_trail_keeps_who_changed_what_and_never_the_key(client):
    dealer = _alerting_dealer(client)
    day = _today(client)
    made = client.post(f"/v1/dealers/{dealer}/situations", headers=FIELD, json={
        "kind": "dispute", "expires_on": (day + timedelta(days=30)).isoformat(),
        "by": "Wang Lei"}).json()
    client.patch(f"/v1/situations/{made['id']}", headers=ADMIN, json={
        "expires_on": (day + timedelta(days=45)).isoformat(), "by": "Zhao Min"})
    got = DealerSituations.model_validate(client.get(
        f"/v1/dealers/{dealer}/situations", headers=READER).json())
    assert [s.id for s in got.items] == [made["id"]]
    assert [(e.action, e.by) for e in got.trail] == [("created", "Wang Lei"),
                                                      ("changed", "Zhao Min")]
    assert [e.credential for e in got.trail] == [credential_of(FIELD["X-API-Key"]),
                                                  credential_of(ADMIN["X-API-Key"])]
    assert "field-key-789" not in client.get(f"/v1/dealers/{dealer}/situations",
                                             headers=READER).text
    listed = client.get("/v1/situations", params={"active": "true"}, headers=READER).json()
    assert [s["dealer_id"] for s in listed["items"]] == [dealer]


def test_recording_needs_the_field_role_and_a_valid_record(client):
    dealer = _alerting_dealer(client)
    day = _today(client)
    body = {"kind": "other", "expires_on": (day + timedelta(days=5)).isoformat(),
            "by": "Wang"}
    assert client.post(f"/v1/dealers/{dealer}/situations", headers=READER,
                       json=body).status_code == 403
    assert client.post(f"/v1/dealers/{dealer}/situations", json=body).status_code == 401
    missing = client.post("/v1/dealers/NO-SUCH/situations", headers=FIELD, json=body)
    assert missing.status_code == 404 and "NO-SUCH" in missing.json()["detail"]
    past = client.post(f"/v1/dealers/{dealer}/situations", headers=FIELD,
                       json={**body, "expires_on": day.isoformat()})
    assert past.status_code == 422 and "expires_on" in past.json()["detail"]
    kind = client.post(f"/v1/dealers/{dealer}/situations", headers=FIELD,
                       json={**body, "kind": "holiday"})
    assert kind.status_code == 422
    assert client.post(f"/v1/dealers/{dealer}/situations", headers=FIELD,
                       json=body).status_code == 201
    second = client.post(f"/v1/dealers/{dealer}/situations", headers=FIELD, json=body)
    assert second.status_code == 409 and "already has a known situation" in \
        second.json()["detail"]


def test_the_dashboard_form_needs_its_csrf_token_and_a_field_session(client):
    import re

    from tests.serve.conftest import sign_in
    dealer = _alerting_dealer(client)
    day = _today(client)
    form = {"action": "record", "kind": "other", "by": "Wang",
            "expires_on": (day + timedelta(days=3)).isoformat()}
    sign_in(client, READER["X-API-Key"])
    page = client.get(f"/dashboard/dealers/{dealer}")
    assert 'id="situation"' in page.text and 'id="situation-record"' not in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    as_reader = client.post(f"/dashboard/dealers/{dealer}/situations",
                            data={**form, "csrf": token}, follow_redirects=False)
    assert as_reader.status_code == 403
    sign_in(client, FIELD["X-API-Key"])
    forged = client.post(f"/dashboard/dealers/{dealer}/situations",
                         data={**form, "csrf": "x" * 43}, follow_redirects=False)
    assert forged.status_code == 403
    page = client.get(f"/dashboard/dealers/{dealer}")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = client.post(f"/dashboard/dealers/{dealer}/situations",
                       data={**form, "csrf": token}, follow_redirects=False)
    assert done.status_code == 303
    trail = client.get(f"/v1/dealers/{dealer}/situations", headers=READER).json()["trail"]
    assert [(e["action"], e["credential"]) for e in trail] == [
        ("created", credential_of(FIELD["X-API-Key"]))]  # the session's key, not 'open'
    client.cookies.clear()
