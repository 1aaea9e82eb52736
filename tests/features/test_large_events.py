"""Large Parquet event tables (tickets, complaints, deliveries, visits) split by the engine
into rows that certainly pass and suspects give exactly what the row-level checks give on
the whole file: same report, rejects, rows, panel. The bad rows cover every rule an event
table has (dates in order, severity, category words and aliases, record ids used twice,
exact repeats, unknown dealers, events long before the dealer opened, future dates)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.contract import TABLES
from features.events import EventRows, moment
from features.panel import build_panel
from features.settings import ContractSettings
from features.simulator import simulate
from features.simulator.settings import SimulatorSettings
from features.validation import load_data

EVENTS = ("tickets", "complaints", "deliveries", "visits")


def _bad_tickets(t: pd.DataFrame, later: pd.Timestamp) -> list[dict]:
    r = [t.iloc[i].to_dict() for i in range(40, 52)]
    return [
        r[0] | {"ticket_id": "TX1", "closed_at": r[0]["opened_at"] - pd.Timedelta(hours=2)},
        r[1] | {"ticket_id": "TX2", "due_at": r[1]["opened_at"] - pd.Timedelta(days=1)},
        r[2] | {"ticket_id": " " + r[2]["ticket_id"]},             # padded: its own id again
        r[3] | {"ticket_id": "TX3", "dealer_id": "NOBODY"},
        r[4] | {"ticket_id": "TX4", "opened_at": later},            # in the future
        r[5] | {"ticket_id": "TX5", "opened_at": pd.Timestamp("2001-02-03 10:00")},
        r[6] | {"ticket_id": "TX6", "escalated": None, "closed_at": None},
        r[7] | {"ticket_id": "TX7", "category": " design"},        # padded: a notice
        r[8] | {"ticket_id": "TX8", "channel": None},
        r[9] | {"category": "order"},                               # its id, other values
        r[10] | {"ticket_id": ""},                                  # missing id
        r[11],                                                      # an exact repeat
    ]


def _bad_complaints(c: pd.DataFrame, later: pd.Timestamp) -> list[dict]:
    r = [c.iloc[i].to_dict() for i in range(10, 18)]
    return [
        r[0] | {"complaint_id": "CX1", "category": "质量"},         # an alias: kept, noted
        r[1] | {"complaint_id": "CX2", "category": "weather"},
        r[2] | {"complaint_id": "CX3", "severity": 5},
        r[3] | {"complaint_id": "CX4", "severity": None},
        r[4] | {"complaint_id": "CX5",
                "resolved_on": r[4]["received_on"] - pd.Timedelta(days=3)},
        r[5] | {"complaint_id": "CX6", "received_on": later},
        r[6] | {"complaint_id": "CX7", "category": "Quality"},     # not the contract's word
        r[7],
    ]


def _bad_deliveries(d: pd.DataFrame, later: pd.Timestamp) -> list[dict]:
    r = [d.iloc[i].to_dict() for i in range(30, 36)]
    return [
        r[0] | {"delivery_id": "DX1", "delivered_on": later},       # delivered in the future
        r[1] | {"delivery_id": "DX2", "promised_on": later},        # promised ahead: fine
        r[2] | {"delivery_id": "DX3", "damaged": None, "delivered_on": None},
        r[3] | {"delivery_id": "DX4", "order_id": r[3]["order_id"] + " "},
        r[4] | {"delivery_id": r[5]["delivery_id"] + "\u3000"},     # trims onto another id
        r[5] | {"delivery_id": "DX5", "promised_on": pd.Timestamp("1850-01-01")},
    ]


def _bad_visits(v: pd.DataFrame, later: pd.Timestamp) -> list[dict]:
    r = [v.iloc[i].to_dict() for i in range(20, 25)]
    return [
        r[0] | {"visit_id": "VX1", "sales_rep_id": None},
        r[1] | {"visit_id": "VX2", "kind": "visit "},
        r[2] | {"visit_id": "VX3", "visited_on": later},
        r[3] | {"visit_id": "VX4", "dealer_id": " " + r[3]["dealer_id"]},
        r[4] | {"visit_id": "VX5", "sales_rep_id": "R-NEW", "visited_on": r[4]["visited_on"]},
    ]


@pytest.fixture(scope="module")
def messy_events(tmp_path_factory):
    out = tmp_path_factory.mktemp("events") / "net"
    summary = simulate(out, SimulatorSettings(dealers=60, months=14, seed=5))
    as_of = date.fromisoformat(summary.as_of)
    later = pd.Timestamp(as_of) + pd.Timedelta(days=40)
    makers = {"tickets": _bad_tickets, "complaints": _bad_complaints,
              "deliveries": _bad_deliveries, "visits": _bad_visits}
    for name, make in makers.items():
        path = out / f"{name}.parquet"
        table = pd.read_parquet(path)
        bad = pd.DataFrame(make(table, later))
        messy = pd.concat([table, table.iloc[[3, 7]], bad], ignore_index=True)
        # the file keeps the simulator's own types (timestamps, dates, booleans, integers)
        pq.write_table(pa.Table.from_pandas(messy, schema=pq.read_schema(path),
                                            preserve_index=False), path, row_group_size=500)
    return out, as_of


def both(out, as_of):
    whole = load_data(out, ContractSettings(as_of=as_of, stream_order_lines=10**9,
                                            stream_event_rows=10**9))
    streamed = load_data(out, ContractSettings(as_of=as_of, stream_order_lines=10**9,
                                               stream_event_rows=0))
    return whole, streamed


def rows_of(name: str, value) -> pd.DataFrame:
    """The accepted rows, in a form both paths share, sorted."""
    frame = EventRows.of(TABLES[name], value).to_frame().reset_index(drop=True)
    columns = list(TABLES[name].column_names)
    frame = frame[columns]
    for column in columns:
        kind = TABLES[name].column(column).kind
        if kind in ("id", "text"):
            frame[column] = frame[column].astype("string")
        elif kind in ("date", "timestamp"):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        elif kind == "boolean":
            frame[column] = frame[column].astype("boolean")
        else:
            frame[column] = frame[column].astype("Float64")
    return frame.sort_values(columns[0]).reset_index(drop=True)


def test_streamed_event_tables_agree_with_the_whole_checks(messy_events):
    whole, streamed = both(*messy_events)
    for name in EVENTS:
        rows = streamed.tables[name]
        assert isinstance(rows, EventRows) and rows.parquet is not None, name
        assert len(rows.frame) < 60, name  # only suspects went through pandas
        assert len(rows) == len(whole.tables[name]), name
    assert whole.report.to_dict() == streamed.report.to_dict()
    for name in whole.rejects:
        pd.testing.assert_frame_equal(whole.rejects[name], streamed.rejects[name])
    reasons = {name: set(whole.rejects[name]["reason"]) for name in EVENTS}
    assert {"closed_before_opened", "due_before_opened", "unknown_dealer", "future_date",
            "before_dealer_opened", "duplicate_id", "missing_id"} <= reasons["tickets"]
    assert {"unknown_category", "bad_severity", "missing_value",
            "resolved_before_received", "future_date"} <= reasons["complaints"]
    assert {"future_date", "duplicate_id"} <= reasons["deliveries"]
    assert {"future_date"} <= reasons["visits"]
    assert whole.report.tables["tickets"].duplicates >= 3
    assert "category_alias" in whole.report.tables["complaints"].notices
    for name in EVENTS:
        pd.testing.assert_frame_equal(rows_of(name, whole.tables[name]),
                                      rows_of(name, streamed.tables[name]))


def test_streamed_event_tables_give_the_same_panel(messy_events):
    whole, streamed = both(*messy_events)
    a, b = build_panel(whole.tables), build_panel(streamed.tables)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12)
    assert (a["engagement_rep_changed_6m"] > 0).any() and (a["engagement_visits_3m"] > 0).any()


def test_a_prefilter_pushed_into_the_file_keeps_every_row_meeting_it(messy_events):
    whole, streamed = both(*messy_events)
    cut = pd.Timestamp("2022-06-01")
    got = streamed.tables["visits"].to_frame(
        f"visited_on >= {moment(cut)} AND sales_rep_id IS NOT NULL")
    every = whole.tables["visits"]  # a checked frame comes back whole
    wanted = every[(every["visited_on"] >= cut) & every["sales_rep_id"].notna()]
    assert sorted(got["visit_id"]) == sorted(wanted["visit_id"].astype(str))
    assert 0 < len(got) < len(every)
    assert list(got.index) == sorted(got.index)  # file order, by row position


def test_a_folder_given_as_a_uri_gives_the_same_tables(messy_events):
    """Read through pyarrow's file systems (file:// here, s3:// in a lake): the same
    report but for the names, rejects and panel as the local path."""
    out, as_of = messy_events
    local = load_data(out, ContractSettings(as_of=as_of))
    remote = load_data(out.resolve().as_uri(), ContractSettings(as_of=as_of))
    assert remote.report.data_dir == out.resolve().as_uri()
    for name, t in local.report.tables.items():
        there = remote.report.tables[name]
        assert there.file == Path(t.file).resolve().as_uri()
        assert {**asdict(there), "file": t.file} == asdict(t)
        pd.testing.assert_frame_equal(local.rejects[name], remote.rejects[name])
    pd.testing.assert_frame_equal(build_panel(local.tables), build_panel(remote.tables))
