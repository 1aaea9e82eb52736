"""POST /v1/score: the same code path as the batch, so an existing dealer's posted history
gives exactly its snapshot row; bad posted data gets 422 naming the table, row and value."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serve.app import create_app
from tests.serve.conftest import READER


@pytest.fixture(scope="module")
def client(served):
    settings, _, _ = served
    with TestClient(create_app(settings)) as c:
        yield c


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d %H:%M:%S").str.removesuffix(" 00:00:00")
    return json.loads(out.astype(object).where(out.notna(), None).to_json(
        orient="records", force_ascii=False))


def history(network, dealer: str) -> dict:
    body = {}
    for name in network.loaded.tables:
        table = network.loaded.frame(name)
        rows = table[table["dealer_id"].astype(str) == dealer]
        if name == "dealers":
            body["dealer"] = _records(rows)[0]
        elif len(rows):
            body[name] = _records(rows)
    return body


def same_factors(got: list[dict], want: list[dict]) -> bool:
    if [sorted(f) for f in got] != [sorted(f) for f in want]:
        return False
    for g, w in zip(got, want, strict=True):
        for key, value in w.items():
            if isinstance(value, float) and isinstance(g[key], float):
                if g[key] != pytest.approx(value, rel=1e-9, abs=1e-12):
                    return False
            elif g[key] != value:
                return False
    return True


def test_an_existing_dealer_gets_its_snapshot_row(client, served, network):
    _, new, _ = served
    for dealer in new["dealer_id"].iloc[[0, len(new) // 2, -1]]:
        posted = client.post("/v1/score", json=history(network, dealer), headers=READER)
        assert posted.status_code == 200, posted.text
        looked_up = client.get(f"/v1/dealers/{dealer}/risk", headers=READER).json()
        got, want = posted.json()["dealer"], looked_up["dealer"]
        assert got["churn"]["probability"] == pytest.approx(want["churn"]["probability"],
                                                            abs=1e-12)
        assert got["decline"]["probability"] == pytest.approx(
            want["decline"]["probability"], abs=1e-12)
        np.testing.assert_allclose([got["forecast"][k] for k in ("p10", "p50", "p90")],
                                   [want["forecast"][k] for k in ("p10", "p50", "p90")])
        # the reasons are measured against the peers' mean contribution: the same factors,
        # features and sentences, the numbers to the last bits of a sum over the peers
        assert same_factors(got["churn"]["factors"], want["churn"]["factors"])
        assert got["churn"]["context"] == want["churn"]["context"]
        assert got["flags"] == want["flags"]
        assert got["churn"]["previous"] == want["churn"]["previous"]
        # the same rules fire with the same numbers, and the same actions follow
        assert sorted((a["rule"], json.dumps(a["numbers"], sort_keys=True))
                      for a in got["alerts"]) == \
            sorted((a["rule"], json.dumps(a["numbers"], sort_keys=True))
                   for a in want["alerts"])
        assert [a["id"] for a in got["actions"]] == [a["id"] for a in want["actions"]]


def test_bad_posted_rows_are_named(client, served, network):
    _, new, _ = served
    body = history(network, new["dealer_id"].iloc[0])
    body["orders"][0]["net_amount"] = "lots"
    response = client.post("/v1/score", json=body, headers=READER)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("rows break the data contract: orders row 1:")  # 1st element
    assert "net_amount='lots'" in detail


def test_missing_required_parts_are_422(client, served, network):
    _, new, _ = served
    body = history(network, new["dealer_id"].iloc[0])
    del body["orders"]
    response = client.post("/v1/score", json=body, headers=READER)
    assert response.status_code == 422
    assert response.json() == {"detail": "orders: Field required"}
    body = history(network, new["dealer_id"].iloc[0])
    body["as_of"] = "1999-01-01"
    response = client.post("/v1/score", json=body, headers=READER)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("as_of 1999-01-01: no snapshot")
    assert client.post("/v1/score", content=b"{not json", headers={
        **READER, "Content-Type": "application/json"}).status_code == 422
