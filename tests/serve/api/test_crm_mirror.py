"""A CRM's copy of the scores stays right through any sequence of full and incremental
pulls: GET /v1/risk?changed_since= lists the new and changed dealers and, on its first
page, the ones that left the selection (with why and when).

A timeline of snapshots grows from the served fixture's two real ones by random changes
(dealers closing, going quiet, coming back, moving region, scores moving, nothing at all).
One app per point of the timeline serves the snapshots written by then, so a pull "at" a
point sees exactly what a CRM pulling that month would have seen."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serve.app import create_app
from serve.batch.snapshots import write_snapshot
from tests.serve.conftest import READER, make_settings

POINTS = 6
FILTERS = ({}, {"region": None}, {"band": ["high", "critical"]}, {"min_probability": 0.2},
           {"tier": None, "sales_rep": None})


def _next(frame: pd.DataFrame, left: pd.DataFrame, rng: np.random.Generator,
          as_of: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The next month: some dealers leave (closed or inactive), some of those who left come
    back, some move region, some scores and revenues move; the rest stay as they were."""
    frame = frame.copy()
    gone = rng.random(len(frame)) < 0.08
    back = left.sample(frac=0.3, random_state=int(rng.integers(1 << 30)))
    leaving = frame[gone].assign(status=np.where(rng.random(int(gone.sum())) < 0.5,
                                                 "closed", "inactive"))
    frame = pd.concat([frame[~gone], back.drop(columns="status")], ignore_index=True)
    moved = rng.random(len(frame)) < 0.2
    p = np.clip(frame["churn_probability"] + rng.normal(0, 0.1, len(frame)), 0.001, 0.999)
    frame.loc[moved, "churn_probability"] = p[moved]
    frame.loc[moved, "band"] = np.select([p[moved] >= 0.5, p[moved] >= 0.25,
                                          p[moved] >= 0.1], ["critical", "high", "medium"],
                                         "low")
    richer = rng.random(len(frame)) < 0.15
    frame.loc[richer, "revenue_at_risk"] = frame.loc[richer, "revenue_at_risk"] * 1.1
    regions = sorted(frame["region"].unique())
    moving = rng.random(len(frame)) < 0.03
    moving[rng.choice(len(frame), 3, replace=False)] = True
    frame.loc[moving, "region"] = rng.choice(regions, int(moving.sum()))
    quiet = rng.random(len(frame)) < 0.1
    frame.loc[quiet, "alerts"] = "[]"
    frame["as_of"] = as_of
    left = pd.concat([left[~left["dealer_id"].isin(back["dealer_id"])], leaving],
                     ignore_index=True)
    return frame.reset_index(drop=True), left


def _roster(frame: pd.DataFrame, left: pd.DataFrame) -> pd.DataFrame:
    rows = pd.concat([frame[["dealer_id"]].assign(status="active"),
                      left[["dealer_id", "status"]]], ignore_index=True)
    return rows.assign(closed_on=pd.NaT)


@pytest.fixture(scope="module")
def timeline(served, tmp_path_factory):
    """(the clients by point, the snapshot frames by point): point k serves snapshots 0..k,
    the first two the fixture's real ones. The champions come from the fixture's store."""
    base, new, old = served
    rng = np.random.default_rng(20261204)
    frames, rosters = [old, new], [None, None]
    left = pd.DataFrame(columns=[*new.columns, "status"])
    for k in range(2, POINTS):
        as_of = f"{pd.Timestamp(new['as_of'].iloc[0]) + pd.DateOffset(months=k - 1):%Y-%m-%d}"
        frame, left = _next(frames[-1], left, rng, as_of)
        frames.append(frame)
        rosters.append(_roster(frame, left))
    clients = []
    for k in range(POINTS):
        work = tmp_path_factory.mktemp(f"point{k}")
        for frame, roster in zip(frames[:k + 1], rosters[:k + 1], strict=True):
            write_snapshot(frame, work, frame["as_of"].iloc[0], roster=roster)
        cfg = make_settings(work)
        cfg.models.tracking.tracking_uri = base.models.tracking.tracking_uri
        clients.append(TestClient(create_app(cfg)).__enter__())
    yield clients, frames
    for client in clients:
        client.__exit__(None, None, None)


def _pull(client: TestClient, params: dict, limit: int) -> tuple[list[dict], dict, dict]:
    """Every page of one pull: (items, meta, changes of the first page)."""
    items, cursor, first = [], None, None
    while True:
        page = client.get("/v1/risk", params={**params, "limit": limit,
                                              **({"cursor": cursor} if cursor else {})},
                          headers=READER)
        assert page.status_code == 200, page.text
        body = page.json()
        first = first or body
        if cursor is not None and "changes" in body:
            assert body["changes"]["removed"] == []  # said once, on the first page
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items, first["meta"], first.get("changes")


def _filters(choice: dict, frame: pd.DataFrame) -> dict:
    """The query of a filter choice, values taken from the data (None: the first seen)."""
    out = {}
    for name, value in choice.items():
        column = {"sales_rep": "sales_rep_id"}.get(name, name)
        out[name] = value if value is not None else sorted(frame[column].dropna().unique())[:2]
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.booleans(), st.integers(15, 150)),
                      min_size=1, max_size=8),
       choice=st.sampled_from(FILTERS))
def test_a_mirror_of_any_pulls_equals_the_current_selection(timeline, steps, choice):
    clients, frames = timeline
    params = _filters(choice, frames[1])
    point, mirror, last = 0, None, None
    for advance, incremental, limit in steps:
        point = min(point + advance, POINTS - 1)
        client = clients[point]
        if incremental and mirror is not None:
            items, meta, changes = _pull(client, {**params, "changed_since": last}, limit)
            if changes["complete"]:
                mirror = {}
            for gone in changes["removed"]:
                assert gone["dealer_id"] in mirror, gone
                del mirror[gone["dealer_id"]]
            mirror.update({i["dealer_id"]: i for i in items})
        else:
            items, meta, _ = _pull(client, params, limit)
            mirror = {i["dealer_id"]: i for i in items}
        last = meta["as_of"]
        truth, _, _ = _pull(client, params, 1000)
        assert mirror == {i["dealer_id"]: i for i in truth}


def test_removed_dealers_say_why_and_when(timeline):
    clients, frames = timeline
    first, newest = frames[1], frames[-1]
    since = first["as_of"].iloc[0]
    body = clients[-1].get("/v1/risk", params={"changed_since": since, "limit": 1000},
                           headers=READER).json()
    changes = body["changes"]
    assert changes["reference_as_of"] == since and changes["complete"] is False
    gone = set(first["dealer_id"]) - set(newest["dealer_id"])
    assert {r["dealer_id"] for r in changes["removed"]} == gone and gone
    for r in changes["removed"]:
        held = [f["as_of"].iloc[0] for f in frames[1:] if r["dealer_id"] in set(f["dealer_id"])]
        assert r["last_as_of"] == held[-1]
        after = [f["as_of"].iloc[0] for f in frames[1:] if f["as_of"].iloc[0] > held[-1]]
        assert r["removed_as_of"] == after[0]
        assert r["reason"] in ("closed", "inactive")  # the timeline's own statuses
    # a region filter: a dealer that moved away is removed as filtered
    now = newest.set_index("dealer_id")["region"]
    movers = first[first["dealer_id"].isin(now.index)
                   & (first["region"].to_numpy() != now.reindex(first["dealer_id"]).to_numpy())]
    region = movers["region"].iloc[0]
    moved = set(movers[movers["region"] == region]["dealer_id"])
    body = clients[-1].get("/v1/risk", params={"changed_since": since, "region": region,
                                               "limit": 1000}, headers=READER).json()
    reasons = {r["dealer_id"]: r["reason"] for r in body["changes"]["removed"]}
    assert moved and all(reasons[d] == "filtered" for d in moved)


def test_a_pull_older_than_every_snapshot_is_complete(timeline):
    clients, frames = timeline
    body = clients[-1].get("/v1/risk", params={"changed_since": "2000-01-01", "limit": 1000},
                           headers=READER).json()
    assert body["changes"] == {"since": "2000-01-01", "reference_as_of": None,
                               "complete": True, "removed": []}
    assert body["total"] == len(frames[-1])


def test_changed_means_any_field_of_the_item(timeline):
    """A dealer whose revenue at risk alone moved is changed; one whose row is the same is
    not, even when other dealers moved."""
    clients, frames = timeline
    before, after = frames[-2], frames[-1]
    body = clients[-1].get("/v1/risk", params={"changed_since": before["as_of"].iloc[0],
                                               "limit": 1000}, headers=READER).json()
    listed = {i["dealer_id"] for i in body["items"]}
    then = before.set_index("dealer_id")
    for row in after.itertuples():
        if row.dealer_id not in then.index:
            assert row.dealer_id in listed
            continue
        old = then.loc[row.dealer_id]
        same = all(
            (pd.isna(old[c]) and pd.isna(getattr(row, c))) or old[c] == getattr(row, c)
            for c in ("churn_probability", "band", "region", "revenue_at_risk", "alerts",
                      "decline_probability", "tier", "top_reason_en"))
        assert (row.dealer_id in listed) == (not same), row.dealer_id
    assert json.dumps(body["changes"]["removed"])  # present, plain JSON
