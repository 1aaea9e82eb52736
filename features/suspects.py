"""Checking a large Parquet file (order lines or an event table) without loading it.

The row-level checks in features.validation are the contract's one definition; they
build a reason and a message for every failing cell, which at 50M lines costs minutes
and many GB. Almost every row passes them, so the engine (DuckDB, or Spark) first sorts
the rows in one scan into those that certainly pass (every cell already in its typed,
trimmed form, every rule met, the dealer accepted, no other row with the same content
hash, a record id used once) and the rest, the suspects. Only the suspects go through
the pandas checks, which decide and explain as for any other file. The rows that
certainly pass stay in the file, named by their row numbers' complement (`ParquetLines`).

A suspect is never wrongly cleared: every condition below only sends more rows to the
pandas checks than necessary, never fewer (tests compare both paths on messy data).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.coercion import coerce, map_text
from features.contract import CANCELLED_STATUSES, COMPLAINT_CATEGORIES, Kind, Table
from features.duck import connect, row_hash_sql, scan
from features.events import column_types
from features.orderlines import ParquetLines
from features.reading import RawTable
from features.settings import ContractSettings
from features.sql import Dialect, DuckRunner, Runner, SparkRunner, plain_ends
from features.storage import is_local, parquet_file

EARLIEST_DAY, LATEST_DAY = "1900-01-01", "2200-01-01"
"""Dates outside go to the row-level checks (pandas' nanosecond timestamps span 1677 to
2262)."""
STREAMED = ("orders", "tickets", "complaints", "deliveries", "visits")
DATE_ORDER = {"tickets": [("closed_at", "opened_at"), ("due_at", "opened_at")],
              "complaints": [("resolved_on", "received_on")]}
"""(later, earlier): the row-level checks reject a row whose later date comes first."""


def streamable(raw: RawTable, settings: ContractSettings, *, any_size: bool = False) -> bool:
    """A Parquet file large enough to stream (or of `any_size`: on Spark), of a table
    the split knows, with the contract's plain types."""
    if raw.file_format != "parquet" or raw.num_rows is None or raw.table.name not in STREAMED:
        return False
    if not is_local(raw.path) and not any_size:  # DuckDB is given local files only
        return False
    limit = (settings.stream_order_lines if raw.table.name == "orders"
             else settings.stream_event_rows)
    if raw.num_rows <= limit and not any_size:
        return False
    schema = parquet_file(raw.path).schema_arrow
    for field_, name in zip(schema, raw.columns, strict=True):
        if name in raw.table.column_names and not _plain_type(
                raw.table.column(name).kind, field_.type):
            return False
    return True


def _plain_type(kind: Kind, kind_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind_type):
        kind_type = kind_type.value_type
    if kind in (Kind.ID, Kind.TEXT):
        return pa.types.is_string(kind_type) or pa.types.is_large_string(kind_type)
    if kind in (Kind.DATE, Kind.TIMESTAMP):  # a time zone is converted, with a notice
        return pa.types.is_date(kind_type) or (pa.types.is_timestamp(kind_type)
                                              and kind_type.tz is None)
    if kind == Kind.NUMBER:
        return pa.types.is_floating(kind_type) or pa.types.is_integer(kind_type)
    if kind == Kind.INTEGER:
        return pa.types.is_integer(kind_type)
    if kind == Kind.BOOLEAN:
        return pa.types.is_boolean(kind_type)
    return False


class SuspectSplit:
    """One Parquet file split into its suspect rows (a pandas frame, indexed by row
    position in the file) and the rest, left in the file."""

    def __init__(self, raw: RawTable, as_of: date, settings: ContractSettings,
                 dealer_ids: pd.Index, opened: pd.Series | None = None,
                 spark=None) -> None:
        self.spark = spark
        """A Spark session: the file is scanned there (engine 'spark')."""
        self.raw = raw
        self.opened = opened
        self.table: Table = raw.table
        self.settings = settings
        self.as_of = pd.Timestamp(as_of)
        self.dealer_ids = dealer_ids
        self.schema = parquet_file(raw.path).schema_arrow
        self.source = dict(zip(raw.columns, self.schema.names, strict=True))
        """Contract (normalized) name -> the file's own column name."""
        self.present = [c for c in self.table.column_names if c in self.source]
        self.stamp = ParquetLines.stamp_of(raw.path)

    def run(self) -> tuple[pd.DataFrame, ParquetLines, int]:
        """(suspect rows, the rows left in the file, order lines cancelled). A cancelled
        line whose content occurs once needs no row-level look either: it is counted and
        left out (a repeated one is a suspect, as the first copy decides)."""
        if self.spark is not None:
            runner = SparkRunner(self.spark)
            runner.register_file("table_file", self.raw.path)
            rows_of = "table_file"
        else:
            runner, rows_of = DuckRunner(connect(self.settings.sql_memory_mb)), scan(
                self.raw.path)
        d = runner.dialect
        every = ", ".join(d.quote(self.source[c]) for c in self.raw.columns)
        row_hash = row_hash_sql(self.raw.path, [self.source[c] for c in self.present], d)
        with runner as r:
            plain, cancelled = self._plain_values(r, rows_of)
            for name, values in {**plain, "cancelled_status": cancelled}.items():
                r.register(name, pa.table({"v": pa.array(values, pa.string())}))
            if self.opened is not None:  # each dealer's earliest accepted event day
                earliest = (pd.to_datetime(self.opened.to_numpy())
                            - pd.Timedelta(days=self.settings.opened_grace_days))
                r.register("dealer_opened", pa.table({
                    "v": pa.array(self.opened.index.astype(str), pa.string()),
                    "d": pa.array(earliest.to_numpy().astype("datetime64[D]"),
                                  pa.date32())}))
            r.materialize("repeated", f"""
                SELECT h FROM (SELECT {row_hash} AS h FROM {rows_of}) AS hashes
                GROUP BY h HAVING count(*) > 1""")
            reused = self._reused_keys(r, rows_of)
            status = d.quote(self.source["status"]) if "status" in self.source else "NULL"
            suspects = r.arrow(f"""
                WITH hashed AS (SELECT *, {row_hash} AS h__ FROM {rows_of})
                SELECT file_row_number AS row__,
                       coalesce({status} IN (SELECT v FROM cancelled_status), false)
                           AND h__ NOT IN (SELECT h FROM repeated) AS cancelled__,
                       {every}
                FROM hashed
                WHERE NOT coalesce({self._certainly_passes(d)}, false)
                   OR h__ IN (SELECT h FROM repeated){reused}""")
        # in file order, sorted here: few rows, where ORDER BY costs Spark a sampling job
        # and a range shuffle of every table
        suspects = suspects.take(pc.sort_indices(suspects, [("row__", "ascending")]))
        rows = suspects.column("row__").to_numpy().astype(np.int64)
        gone = suspects.column("cancelled__").to_numpy(zero_copy_only=False).astype(bool)
        kept = suspects.drop(["row__", "cancelled__"]).filter(pa.array(~gone))
        frame = kept.to_pandas(date_as_object=False)
        frame.columns = list(self.raw.columns)
        frame.index = pd.Index(rows[~gone])
        clean = ParquetLines(
            path=self.raw.path,
            columns={c: self.source[c] for c in self.present},
            suspect_rows=pa.table({"row": pa.array(rows, pa.int64())}),
            rows=int(self.raw.num_rows) - len(rows),
            stamp=self.stamp,
            **({} if self.table.name == "orders" else {"types": column_types(self.table)}),
        )
        return frame, clean, int(gone.sum())

    def _reused_keys(self, r: Runner, rows_of: str) -> str:
        """SQL (an OR clause, or nothing): rows whose record id another row may share once
        trimmed: written more than once, or equal to a not-plain id trimmed by the
        coercion the row checks use (the not-plain ids themselves fail plain_ends)."""
        if self.table.key is None or self.table.key not in self.source:
            return ""
        d = r.dialect
        key = d.quote(self.source[self.table.key])
        r.materialize("repeated_keys", f"SELECT {key} AS k FROM {rows_of} "
                      f"WHERE {key} IS NOT NULL GROUP BY {key} HAVING count(*) > 1")
        odd = r.fetch(f"SELECT DISTINCT {key} AS k FROM {rows_of} "
                      f"WHERE {key} IS NOT NULL AND NOT coalesce({plain_ends(d, key)}, false)")
        raw = pd.Series([k for k in odd["k"] if k is not None], dtype="string")
        trimmed = coerce(raw, Kind.ID, many_values=True)[0].dropna().unique().tolist()
        r.register("trimmed_keys", pa.table({"k": pa.array(trimmed, pa.string())}))
        return (f"\n                   OR {key} IN (SELECT k FROM repeated_keys)"
                f" OR {key} IN (SELECT k FROM trimmed_keys)")

    def _plain_values(self, r: Runner, rows_of: str
                      ) -> tuple[dict[str, list[str]], list[str]]:
        """Per low-cardinality text column: the raw values that pass as they are (already
        trimmed and not blank; for dealer_id an accepted dealer; for status not cancelled;
        for a complaint's category one of the contract's own words), decided by the same
        coercion the row-level checks use, once per distinct value; and the raw status
        values that mean cancelled."""
        out, cancelled = {}, []
        d = r.dialect
        columns = [c for c in self.table.columns if c.name in self.source
                   and not c.many_values and c.kind in (Kind.ID, Kind.TEXT)]
        distinct = r.fetch("SELECT " + ", ".join(  # one scan for every column
            f"{d.distinct_list(d.quote(self.source[c.name]))} AS c{i}"
            for i, c in enumerate(columns)) + f" FROM {rows_of}")
        for i, col in enumerate(columns):
            values = distinct[f"c{i}"][0]
            raw = pd.Series([v for v in values if v is not None], dtype="string")
            typed = coerce(raw, col.kind)[0].astype("string")
            plain = (typed == raw).fillna(False).to_numpy(dtype=bool)
            if col.name == "dealer_id":
                plain &= raw.isin(self.dealer_ids.astype(str)).to_numpy(dtype=bool)
            if self.table.name == "complaints" and col.name == "category":
                plain &= raw.isin(COMPLAINT_CATEGORIES).to_numpy(dtype=bool)
            if col.name == "status" and self.table.name == "orders":
                status = map_text(raw, lambda s: s.str.strip().str.lower())
                is_cancelled = status.isin(CANCELLED_STATUSES).to_numpy(dtype=bool)
                plain &= ~is_cancelled
                cancelled = raw[is_cancelled].tolist()
            out[f"plain_{col.name}"] = raw[plain].tolist()
        return out, cancelled

    def _certainly_passes(self, d: Dialect) -> str:
        """SQL: the row passes every row-level check with its cells as they are."""
        tests = []
        next_day = f"DATE '{self.as_of + pd.Timedelta(days=1):%Y-%m-%d}'"
        for col in self.table.columns:
            if col.name not in self.source:
                continue
            c = d.quote(self.source[col.name])
            if col.kind in (Kind.ID, Kind.TEXT) and not col.many_values:
                test = f"{c} IN (SELECT v FROM plain_{col.name})"
            elif col.kind in (Kind.ID, Kind.TEXT):
                test = plain_ends(d, c)
            elif col.kind in (Kind.DATE, Kind.TIMESTAMP):
                day = f"CAST({c} AS DATE)"
                test = f"{day} >= DATE '{EARLIEST_DAY}' AND {day} < DATE '{LATEST_DAY}'"
                if col.kind == Kind.DATE:
                    # a time of day in a date column is dropped, with a notice: a suspect
                    test += f" AND CAST({c} AS TIMESTAMP) = CAST({day} AS TIMESTAMP)"
                if col.name in self.table.past_only:
                    test += f" AND {day} < {next_day}"
            elif col.kind == Kind.NUMBER:
                test = d.finite(f"CAST({c} AS DOUBLE)")
            elif col.kind == Kind.INTEGER:  # the contract's only integer: a severity
                test = f"{c} IN (1, 2, 3)"
            else:  # a Parquet boolean: any value, or none
                test = "true"
            tests.append(test if col.required else f"({c} IS NULL OR {test})")
        for later, earlier in DATE_ORDER.get(self.table.name, []):
            if later in self.source:
                a = f"CAST({d.quote(self.source[later])} AS TIMESTAMP)"
                b = f"CAST({d.quote(self.source[earlier])} AS TIMESTAMP)"
                tests.append(f"{a} IS NULL OR {a} >= {b}")
        if self.table.name == "orders":
            tests += self._order_rules(d)
        if self.opened is not None:
            day = f"CAST({d.quote(self.source[self.table.event_date])} AS DATE)"
            dealer = d.quote(self.source["dealer_id"])
            # an aggregate: Spark allows no other correlated scalar subquery
            tests.append(f"{day} >= (SELECT max(o.d) FROM dealer_opened o "
                         f"WHERE o.v = {dealer})")
        return " AND ".join(f"({t})" for t in tests)

    def _order_rules(self, d: Dialect) -> list[str]:
        limit = float(self.settings.max_abs_quantity)
        q, amount = (f"CAST({d.quote(self.source[c])} AS DOUBLE)" for c in ("quantity",
                                                                          "net_amount"))
        tests = [f"NOT ({amount} < 0 AND {q} >= 0)", f"NOT ({amount} > 0 AND {q} < 0)",
                 f"abs({q}) <= {limit!r}"]
        # a fractional quantity outside the categories sold in fractions is a notice,
        # which the row-level check gives: such lines are suspects
        allowed = ", ".join("'" + c.replace("'", "''") + "'"
                            for c in self.settings.fractional_categories)
        category = d.quote(self.source["product_category"])
        tests.append(f"{q} = floor({q})" + (f" OR {category} IN ({allowed})" if allowed
                                              else ""))
        return tests
