"""The support board by hand: what is open, late, answered on time and how fast, as known
at the cutoff; nothing after the cutoff moves it."""

from __future__ import annotations

import pandas as pd
import pytest

from features.contract import TABLES
from features.events import EventRows, window_counts
from serve.batch.reps import _last_visit_rep, quarter_starts
from serve.batch.support import board, overdue, snapshot_support, support_rows
from tests.features.test_large_events import both, messy_events  # noqa: F401  (a fixture)

CUTOFF = pd.Timestamp("2025-04-01")
DEALERS = pd.DataFrame({"dealer_id": ["A", "B"], "name": ["甲", "乙"],
                        "region": ["East", "North"], "sales_rep_id": ["R1", None]})


def tickets(**extra) -> pd.DataFrame:
    """t1 answered on time; t2 answered late; t3 open and late; t4 open, not yet due; t5
    raised after the cutoff; t6 answered only after the cutoff (open and late then)."""
    t = pd.DataFrame({
        "ticket_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
        "dealer_id": ["A", "A", "B", "B", "A", "B"],
        "opened_at": ["2025-03-01", "2025-03-02", "2025-02-01", "2025-03-30", "2025-04-02",
                      "2025-03-10"],
        "due_at": ["2025-03-03", "2025-03-04", "2025-02-03", "2025-04-05", "2025-04-04",
                   "2025-03-12"],
        "closed_at": ["2025-03-02", "2025-03-10", None, None, None, "2025-04-20"],
        "category": ["design", "order", "order", "design", "order", "advertising"],
    })
    for column in ("opened_at", "due_at", "closed_at"):
        t[column] = pd.to_datetime(t[column])
    return t.assign(**extra)


def test_the_board_by_hand():
    rows = support_rows(tickets(), DEALERS, CUTOFF, window_days=90)
    assert set(rows["ticket_id"]) == {"t1", "t2", "t3", "t4", "t6"}  # t5: after the cutoff
    by = board(rows, "category").set_index("value")
    assert by.loc["order", "requests"] == 2 and by.loc["order", "due"] == 2
    assert by.loc["order", "answered_on_time"] == 0 and by.loc["order", "on_time_share"] == 0
    assert by.loc["order", "open_past_deadline"] == 1  # t3, 57 days late
    assert by.loc["order", "oldest_overdue_days"] == 57
    assert by.loc["order", "median_hours_to_answer"] == 8 * 24  # t2
    assert by.loc["design", "on_time_share"] == 1.0 and by.loc["design", "due"] == 1
    assert by.loc["design", "median_hours_to_answer"] == 24  # t1; t4 still open, not due
    assert by.loc["advertising", "open_past_deadline"] == 1  # answered only after the cutoff
    late = overdue(rows)
    assert list(late["ticket_id"]) == ["t3", "t6"]  # oldest deadline first
    assert list(late["days_overdue"]) == [57, 20]
    assert list(late["sales_rep_id"]) == ["unknown", "unknown"]
    reps = board(rows, "sales_rep_id").set_index("value")
    assert reps.loc["R1", "requests"] == 2 and reps.loc["unknown", "open_past_deadline"] == 2


def test_nothing_after_the_cutoff_moves_it():
    before = support_rows(tickets(), DEALERS, CUTOFF, window_days=90)
    changed = tickets()
    changed.loc[changed["ticket_id"] == "t3", "closed_at"] = pd.Timestamp("2025-04-02")
    changed.loc[changed["ticket_id"] == "t5", "category"] = "design"
    after = support_rows(changed, DEALERS, CUTOFF, window_days=90)
    for by in ("category", "region", "sales_rep_id"):
        pd.testing.assert_frame_equal(board(before, by), board(after, by))
    pd.testing.assert_frame_equal(overdue(before), overdue(after))


def test_channels_and_filters():
    rows = support_rows(tickets(channel=["phone", "wechat", "wechat", "portal", "phone",
                                         None]), DEALERS, CUTOFF, window_days=90)
    by = board(rows, "channel").set_index("value")
    assert by.loc["wechat", "requests"] == 2 and by.loc["unknown", "open_past_deadline"] == 1
    east = rows[rows["region"] == "East"]
    assert board(east, "category")["requests"].sum() == 2
    with pytest.raises(ValueError, match="channel"):
        board(support_rows(tickets(), DEALERS, CUTOFF, 90), "channel")


def test_an_empty_window_gives_an_empty_board():
    rows = support_rows(tickets().iloc[:0], DEALERS, CUTOFF, window_days=90)
    assert board(rows, "category").empty and overdue(rows).empty


# --- through the real app, on the served snapshot (trained models, real MLflow) ---

def test_the_support_endpoint_groups_filters_and_lists_the_late(client, served, network):
    from serve.batch.support import snapshot_support
    from tests.serve.conftest import READER
    settings, new, _ = served
    cutoff = pd.Timestamp(new["as_of"].iloc[0])
    rows = snapshot_support(network.loaded.tables, cutoff, settings.support.window_days)
    doc = client.get("/v1/support", headers=READER).json()
    assert doc["by"] == "category" and doc["window_days"] == settings.support.window_days
    assert doc["meta"]["as_of"] == new["as_of"].iloc[0]
    want = board(rows, "category").set_index("value")
    got = {g["value"]: g for g in doc["groups"]}
    assert set(got) == set(want.index)
    for value, g in got.items():
        assert g["requests"] == want.loc[value, "requests"]
        assert g["open_past_deadline"] == want.loc[value, "open_past_deadline"]
    assert doc["totals"]["requests"] == int(rows["raised"].sum())
    assert doc["overdue_total"] == int(rows["overdue"].sum()) > 0
    days = [r["days_overdue"] for r in doc["overdue"]]
    assert days == sorted(days, reverse=True)  # the oldest first
    region = rows["region"].iloc[0]
    narrowed = client.get("/v1/support", params={"by": "sales_rep_id", "region": region},
                          headers=READER).json()
    assert narrowed["totals"]["requests"] == int(rows.loc[rows["region"] == region,
                                                          "raised"].sum())
    assert all(r["region"] == region for r in narrowed["overdue"])
    channels = client.get("/v1/support?by=channel", headers=READER).json()["groups"]
    assert {g["value"] for g in channels} == {"phone", "wechat", "portal", "visit"}


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"by": "colour"}, 422, "by"),
    ({"region": "Atlantis"}, 422, "region: unknown value 'Atlantis'"),
    ({"channel": "fax"}, 422, "channel: unknown value 'fax'; allowed: phone, portal, visit, "
                              "wechat"),
    ({"overdue_limit": "-1"}, 422, "overdue_limit"),
])
def test_the_support_endpoint_refuses_what_it_cannot_answer(client, params, status, words):
    from tests.serve.conftest import READER
    response = client.get("/v1/support", params=params, headers=READER)
    assert response.status_code == status and words in response.json()["detail"]
    assert client.get("/v1/support").status_code == 401  # no key


def test_the_support_page_in_both_languages(client, served):
    from tests.serve.conftest import READER, sign_in
    client.cookies.clear()
    sign_in(client, READER["X-API-Key"], "/dashboard/support", follow_redirects=False)
    english = client.get("/dashboard/support?lang=en").text
    assert "Open past their deadline now" in english and 'id="support-groups"' in english
    assert '<tr data-value="design">' in english
    chinese = client.get("/dashboard/support?lang=zh&by=region").text
    assert "当前超时未答复的请求" in chinese and "按区域" in chinese
    bad = client.get("/dashboard/support?by=colour&lang=en")
    assert bad.status_code == 422 and "by (&#39;colour&#39;)" in bad.text
    client.cookies.clear()


def test_what_scoring_reads_of_events_is_the_same_from_a_split_file(messy_events):  # noqa: F811
    """Tickets and visits left in their files (a large Parquet file, or Spark) give the
    support board, the silent-feed counts and each dealer's last visiting rep that the
    checked frames give."""
    whole, streamed = both(*messy_events)
    cutoff = pd.Timestamp(messy_events[1]).replace(day=1)
    a = snapshot_support(whole.tables, cutoff, 90)
    b = snapshot_support(streamed.tables, cutoff, 90)
    assert len(a) > 10
    pd.testing.assert_frame_equal(a, b)
    windows = {"recent": (cutoff - pd.Timedelta(days=60), cutoff),
               "before": (cutoff - pd.Timedelta(days=240), cutoff - pd.Timedelta(days=60))}
    for name in ("tickets", "complaints", "deliveries", "visits"):
        x = window_counts(EventRows.of(TABLES[name], whole.tables[name]), windows)
        y = window_counts(streamed.tables[name], windows)
        pd.testing.assert_frame_equal(x.sort_index(), y.sort_index())
    for start in quarter_starts(cutoff):
        x = _last_visit_rep(EventRows.of(TABLES["visits"], whole.tables["visits"]), start)
        y = _last_visit_rep(streamed.tables["visits"], start)
        assert len(x) > 10
        pd.testing.assert_series_equal(x.sort_index(), y.sort_index())
