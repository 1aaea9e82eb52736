"""Accepted event rows (tickets, complaints, deliveries, visits) and their reduction to
dealer x month cells, in SQL that DuckDB and Spark share.

Like order lines, an event table may be a frame checked in pandas, or (on Spark, or a
large Parquet file) mostly rows left in their file that certainly pass the contract plus
the few checked in pandas (`EventRows`). Either way the reduction below is the one
definition: every measure is declared once (which date bins it, what it adds up) and
turned into one SQL query per table, run by whichever engine holds the rows. What comes
back is small (a few numbers per dealer and month) and becomes features.monthly's arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from features.contract import Kind, Table
from features.duck import connect
from features.orderlines import DEFAULT_MEMORY_MB, ParquetLines
from features.sql import Dialect, DuckRunner, Runner, SparkRunner, month_number

SQL_TYPES = {Kind.ID: "STRING", Kind.TEXT: "STRING", Kind.DATE: "DATE",
             Kind.TIMESTAMP: "TIMESTAMP", Kind.NUMBER: "DOUBLE", Kind.INTEGER: "BIGINT",
             Kind.BOOLEAN: "BOOLEAN"}
QUALITY_COMPLAINTS = ("quality", "installation")


def column_types(table: Table) -> dict[str, str]:
    """Every contract column of the table with its SQL type (features.sql names)."""
    return {c.name: SQL_TYPES[c.kind] for c in table.columns}


@dataclass
class EventRows:
    """One event table's accepted rows: `frame` (checked in pandas, indexed by position in
    the file) plus, for a file scanned by the engine, the rows left in it."""

    table: Table
    frame: pd.DataFrame
    parquet: ParquetLines | None = None
    memory_mb: int = DEFAULT_MEMORY_MB
    spark: object | None = None

    @classmethod
    def of(cls, table: Table, value: EventRows | pd.DataFrame) -> EventRows:
        return value if isinstance(value, EventRows) else cls(table=table, frame=value)

    def __len__(self) -> int:
        return len(self.frame) + (self.parquet.rows if self.parquet else 0)

    def query(self) -> Runner:
        """Where SQL over the view `events` runs (every contract column, typed, and the
        row's place in its file as `row__`): DuckDB here, or the Spark session."""
        runner = (DuckRunner(connect(self.memory_mb)) if self.spark is None
                  else SparkRunner(self.spark))
        d = runner.dialect
        types = column_types(self.table)
        present = [c for c in types if c in self.frame.columns]
        checked = pa.Table.from_pandas(self.frame[present], preserve_index=False)
        checked = checked.append_column("row__", pa.array(
            np.asarray(self.frame.index, dtype=np.int64)))
        runner.register("checked_events", checked)
        parts = ["SELECT " + ", ".join(
            f"CAST({d.quote(c) if c in present else 'NULL'} AS {d.types[t]}) AS {c}"
            for c, t in types.items()) + ", row__ FROM checked_events"]
        if self.parquet is not None:
            runner.register("suspect_rows", self.parquet.suspect_rows)
            if self.spark is None:
                parts.append(self.parquet.select(d, position=True))
            else:
                runner.register_file("event_file", self.parquet.path)
                parts.append(self.parquet.select(d, "event_file", position=True))
        runner.define("events", " UNION ALL ".join(parts))
        return runner

    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the table's event date (NaT, NaT without rows)."""
        with self.query() as q:
            return q.first_and_last(self.table.event_date, "events")

    def to_frame(self, where: str | None = None) -> pd.DataFrame:
        """The rows as one pandas frame with the contract's columns: for what is small.
        `where` (SQL) is a prefilter pushed into the file: every row meeting it is
        returned, and rows that do not may be (a checked frame comes back whole), so the
        caller still applies its own rule."""
        if self.parquet is None:
            return self.frame
        with self.query() as q:
            out = q.frame("SELECT * FROM events" + (f" WHERE {where}" if where else "")
                          + " ORDER BY row__")
        for name, kind in column_types(self.table).items():
            if kind in ("DATE", "TIMESTAMP"):  # as the checks type them
                out[name] = pd.to_datetime(out[name]).astype("datetime64[ns]")
        return out.set_index(out.pop("row__").to_numpy(dtype=np.int64))


def moment(day: pd.Timestamp) -> str:
    """SQL: a timestamp literal both engines read the same way."""
    return f"TIMESTAMP '{pd.Timestamp(day):%Y-%m-%d %H:%M:%S}'"


def window_counts(rows: EventRows, windows: dict[str, tuple[pd.Timestamp, pd.Timestamp]]
                  ) -> pd.DataFrame:
    """Per dealer (the index), how many rows the event date puts in each [start, end)
    window (a column per window); dealers with none in any window are left out."""
    when = rows.table.event_date
    counts = ", ".join(
        f"count(*) FILTER (WHERE {when} >= {moment(a)} AND {when} < {moment(b)}) AS {name}"
        for name, (a, b) in windows.items())
    low, high = min(a for a, _ in windows.values()), max(b for _, b in windows.values())
    with rows.query() as q:
        got = q.frame(f"SELECT dealer_id, {counts} FROM events WHERE dealer_id IS NOT NULL "
                      f"AND {when} >= {moment(low)} AND {when} < {moment(high)} "
                      "GROUP BY dealer_id")
    return got.set_index(got["dealer_id"].astype(str))[list(windows)].astype(np.int64)


@dataclass(frozen=True)
class Measure:
    """A per dealer-month quantity: `value` (SQL over a row) added up (or its maximum
    taken) in the month of the date column `month_of`, over rows meeting `where`."""

    name: str
    month_of: str
    value: str = "1"
    where: str = "true"
    how: str = "sum"


@dataclass(frozen=True)
class Interval:
    """Things running at a cutoff: started in a month before it, not ended before it (a
    row without `end` is still running)."""

    name: str
    start: str
    end: str
    where: str = "true"


def _late(done: str, deadline: str) -> str:
    return f"({done} IS NULL OR {done} > {deadline})"


def _flag(column: str) -> str:
    return f"CASE WHEN coalesce({column}, false) THEN 1 ELSE 0 END"


def measures(d: Dialect) -> dict[str, tuple[list[Measure], list[Interval]]]:
    """Per event table, what it adds to the monthly arrays. Each fact is binned by the
    month in which it became known (see features.monthly)."""
    hours = f"({d.micros('closed_at')} - {d.micros('opened_at')}) / 3600000000.0"
    delay = f"({d.day_number('delivered_on')} - {d.day_number('promised_on')})"
    quality = ", ".join(f"'{c}'" for c in QUALITY_COMPLAINTS)
    return {
        "tickets": ([
            Measure("tickets", "opened_at"),
            Measure("escalated", "opened_at", _flag("escalated")),
            Measure("tickets_due", "due_at"),
            Measure("tickets_overdue", "due_at", f"CASE WHEN {_late('closed_at', 'due_at')} "
                                                 "THEN 1 ELSE 0 END"),
            Measure("tickets_closed", "closed_at", where="opened_at IS NOT NULL"),
            Measure("resolution_hours", "closed_at", hours, where="opened_at IS NOT NULL"),
        ], [
            Interval("tickets_open", "opened_at", "closed_at"),
            Interval("tickets_overdue_open", "due_at", "closed_at",
                     where=_late("closed_at", "due_at")),
        ]),
        "complaints": ([
            Measure("complaints", "received_on"),
            Measure("complaints_severe", "received_on",
                    "CASE WHEN severity = 3 THEN 1 ELSE 0 END"),
            Measure("complaints_quality", "received_on",
                    f"CASE WHEN category IN ({quality}) THEN 1 ELSE 0 END"),
        ], [
            Interval("complaints_open", "received_on", "resolved_on"),
        ]),
        "deliveries": ([
            Measure("deliveries_due", "promised_on"),
            Measure("deliveries_late", "promised_on", f"CASE WHEN "
                    f"{_late('delivered_on', 'promised_on')} THEN 1 ELSE 0 END"),
            Measure("delivered", "delivered_on", where="promised_on IS NOT NULL"),
            Measure("delay_days", "delivered_on", f"greatest({delay}, 0)",
                    where="promised_on IS NOT NULL"),
            Measure("damaged", "delivered_on", _flag("damaged")),
        ], []),
        "visits": ([
            Measure("visits", "visited_on"),
            Measure("visit_last_day", "visited_on", d.day_number("visited_on"), how="max"),
        ], []),
    }


@dataclass
class EventCells:
    """One table's reduction: [dealer, month] sums, [dealer, cutoff] running counts, the
    last visit day per [dealer, month], and rep changes as (dealer, month) pairs."""

    sums: dict[str, np.ndarray]
    running: dict[str, np.ndarray]
    monthly_max: dict[str, np.ndarray]
    rep_changes: np.ndarray | None = None
    """[k, 2] (dealer, month) of visits by another rep than the dealer's previous visit."""
    month_reps: pd.DataFrame | None = None
    """(code, month, sales_rep_id): the rep of each dealer-month's last visit naming one."""


def _facts(sums: list[Measure], intervals: list[Interval], n_months: int
           ) -> dict[str, tuple[str, str, str]]:
    """Each measure, and each edge of each interval, as SQL (month, value, counted?) over
    a row with its dates' months as `month__<column>`."""
    out = {m.name: (f"month__{m.month_of}", m.value,
                    f"({m.month_of} IS NOT NULL AND ({m.where}) "
                    f"AND month__{m.month_of} BETWEEN 0 AND {n_months - 1})")
           for m in sums}
    for i in intervals:  # a running count: +1 in the month after it starts, -1 after it ends
        s = f"(month__{i.start} + 1)"
        e = (f"(CASE WHEN {i.end} IS NULL THEN {n_months + 1} "
             f"ELSE least(month__{i.end}, {n_months}) + 1 END)")
        counted = f"({i.start} IS NOT NULL AND ({i.where}) AND {s} <= {n_months} AND {e} > {s})"
        out[f"{i.name}/s"] = (f"greatest({s}, 0)", "1", counted)
        out[f"{i.name}/e"] = (f"greatest({e}, 0)", "1", counted)
    return out


def reduce_events(rows: EventRows, dealer_ids: pd.Index, first_month: pd.Period,
                  n_months: int) -> EventCells:
    """The table's measures per known dealer in months [first_month, + n_months)."""
    n, first = len(dealer_ids), first_month.year * 12 + first_month.month - 1
    with rows.query() as q:
        d = q.dialect
        sums, intervals = measures(d)[rows.table.name]
        q.register("dealer_codes", pa.table({
            "dealer_id": pa.array(dealer_ids.astype(str).to_numpy(), pa.string()),
            "code": pa.array(np.arange(n, dtype=np.int64))}))
        dates = [c.name for c in rows.table.columns if c.kind in (Kind.DATE, Kind.TIMESTAMP)]
        q.define("known", "SELECT c.code, e.*, " + ", ".join(
            f"{month_number(column)} - {first} AS month__{column}" for column in dates)
            + " FROM events e JOIN dealer_codes c ON e.dealer_id = c.dealer_id")
        facts = _facts(sums, intervals, n_months)
        # each fact's month, value and whether it counts, computed in one pass over the
        # rows; then one GROUP BY over their union (cheap to plan: plain columns)
        # (a month that is a plain column is read from it, not computed again)
        months = {i: sql[0] for i, sql in enumerate(facts.values())
                  if not sql[0].startswith("month__")}
        q.materialize("projected", "SELECT code, " + ", ".join(
            [f"{sql[0]} AS m{i}" for i, sql in enumerate(facts.values()) if i in months]
            + [f"CASE WHEN {sql[2]} THEN CAST({sql[1]} AS DOUBLE) END AS v{i}"
               for i, sql in enumerate(facts.values())]
            + sorted({sql[0] for sql in facts.values() if sql[0].startswith("month__")}))
            + " FROM known")
        query = (f"SELECT name, code, month, {d.sum('value')} AS total, max(value) AS top "
                 "FROM (" + " UNION ALL ".join(
                     f"SELECT '{name}' AS name, code, {f'm{i}' if i in months else sql[0]} "
                     f"AS month, v{i} AS value FROM projected WHERE v{i} IS NOT NULL"
                     for i, (name, sql) in enumerate(facts.items()))
                 + ") AS facts GROUP BY name, code, month")
        if rows.table.name == "visits":
            month = "month__visited_on"
            query += f"""
            UNION ALL
            SELECT 'rep_change' AS name, code, month, CAST(count(*) AS DOUBLE) AS total,
                   1.0 AS top
            FROM (SELECT code, {month} AS month, sales_rep_id AS rep,
                         lag(sales_rep_id) OVER (PARTITION BY code
                                                 ORDER BY visited_on, row__) AS previous
                  FROM known WHERE sales_rep_id IS NOT NULL AND visited_on IS NOT NULL
                    AND {month} BETWEEN 0 AND {n_months - 1}) AS ordered
            WHERE previous IS NOT NULL AND rep <> previous GROUP BY code, month"""
        got = q.fetch(query)
        month_reps = q.frame(f"""
            SELECT code, month, sales_rep_id FROM (
                SELECT code, month__visited_on AS month, sales_rep_id, row_number() OVER (
                    PARTITION BY code, month__visited_on
                    ORDER BY visited_on DESC, row__ DESC) AS k
                FROM known WHERE sales_rep_id IS NOT NULL AND visited_on IS NOT NULL
                  AND month__visited_on BETWEEN 0 AND {n_months - 1}) AS ranked
            WHERE k = 1""") if rows.table.name == "visits" else None
    names = np.asarray(got["name"], dtype=object)

    def where(name: str, how: str = "sum") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pick = names == name
        return (np.asarray(got["code"], dtype=np.int64)[pick],
                np.asarray(got["month"], dtype=np.int64)[pick],
                np.asarray(got["total" if how == "sum" else "top"], dtype=float)[pick])
    out = EventCells(sums={}, running={}, monthly_max={})
    for m in sums:
        code, mon, value = where(m.name, m.how)
        grid = np.zeros((n, n_months)) if m.how == "sum" else np.full((n, n_months), -np.inf)
        grid[code, mon] = np.nan_to_num(value) if m.how == "sum" else value
        (out.sums if m.how == "sum" else out.monthly_max)[m.name] = grid
    for i in intervals:
        diff = np.zeros((n, n_months + 2))
        for edge, sign in (("s", 1.0), ("e", -1.0)):
            code, mon, value = where(f"{i.name}/{edge}")
            np.add.at(diff, (code, mon), sign * value)
        out.running[i.name] = np.cumsum(diff, axis=1)[:, : n_months + 1]
    if rows.table.name == "visits":
        code, mon, _ = where("rep_change")
        out.rep_changes = np.stack([code, mon], axis=1)
        out.month_reps = month_reps
    return out
