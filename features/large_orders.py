"""Checking a large Parquet order-lines file without loading it into pandas.

The row-level checks in features.validation are the contract's one definition; they
build a reason and a message for every failing cell, which at 50M lines costs minutes
and many GB. Almost every line passes them, so DuckDB first sorts the lines in one scan
into those that certainly pass (every cell already in its typed, trimmed form, every rule
met, the dealer accepted, no other line with the same content hash) and the rest, the
suspects. Only the suspects go through the pandas checks, which decide and explain as
for any other file. The lines that certainly pass stay in the file, named by their row
numbers' complement (`ParquetLines`).

A suspect is never wrongly cleared: every condition below only sends more lines to the
pandas checks than necessary, never fewer (tests compare both paths on messy data).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.coercion import coerce, map_text
from features.contract import CANCELLED_STATUSES, Kind, Table
from features.duck import connect, row_hash_sql, scan
from features.orderlines import ParquetLines
from features.reading import RawTable
from features.settings import ContractSettings
from features.sql import Dialect, DuckRunner, Runner, SparkRunner, plain_ends

EARLIEST_DAY = "1900-01-01"
"""Older dates go to the row-level checks (pandas' nanosecond timestamps end at 1677)."""


def streamable(raw: RawTable, settings: ContractSettings, *, any_size: bool = False) -> bool:
    """A Parquet orders file large enough to stream (or of `any_size`: on Spark), with
    the contract's plain types."""
    if raw.file_format != "parquet" or raw.num_rows is None:
        return False
    if raw.num_rows <= settings.stream_order_lines and not any_size:
        return False
    schema = pq.ParquetFile(raw.path).schema_arrow
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
    if kind == Kind.DATE:
        return pa.types.is_date(kind_type) or (pa.types.is_timestamp(kind_type)
                                              and kind_type.tz is None)
    if kind == Kind.NUMBER:
        return pa.types.is_floating(kind_type) or pa.types.is_integer(kind_type)
    return False


class SuspectSplit:
    """One Parquet file split into its suspect lines (a pandas frame, indexed by row
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
        self.schema = pq.ParquetFile(raw.path).schema_arrow
        self.source = dict(zip(raw.columns, self.schema.names, strict=True))
        """Contract (normalized) name -> the file's own column name."""
        self.present = [c for c in self.table.column_names if c in self.source]
        self.stamp = ParquetLines.stamp_of(raw.path)

    def run(self) -> tuple[pd.DataFrame, ParquetLines, int]:
        """(suspect lines, the lines left in the file, lines cancelled). A cancelled line
        whose content occurs once needs no row-level look either: it is counted and
        left out (a repeated one is a suspect, as the first copy decides)."""
        if self.spark is not None:
            runner = SparkRunner(self.spark)
            runner.register_file("order_file", self.raw.path)
            rows_of = "order_file"
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
            status = d.quote(self.source["status"]) if "status" in self.source else "NULL"
            suspects = r.arrow(f"""
                WITH hashed AS (SELECT *, {row_hash} AS h__ FROM {rows_of})
                SELECT file_row_number AS row__,
                       coalesce({status} IN (SELECT v FROM cancelled_status), false)
                           AND h__ NOT IN (SELECT h FROM repeated) AS cancelled__,
                       {every}
                FROM hashed
                WHERE NOT coalesce({self._certainly_passes(d)}, false)
                   OR h__ IN (SELECT h FROM repeated)
                ORDER BY file_row_number""")
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
        )
        return frame, clean, int(gone.sum())

    def _plain_values(self, r: Runner, rows_of: str
                      ) -> tuple[dict[str, list[str]], list[str]]:
        """Per low-cardinality text column: the raw values that pass as they are (already
        trimmed and not blank; for dealer_id an accepted dealer; for status not cancelled),
        decided by the same coercion the row-level checks use, once per distinct value;
        and the raw status values that mean cancelled."""
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
            if col.name == "status":
                status = map_text(raw, lambda s: s.str.strip().str.lower())
                is_cancelled = status.isin(CANCELLED_STATUSES).to_numpy(dtype=bool)
                plain &= ~is_cancelled
                cancelled = raw[is_cancelled].tolist()
            out[f"plain_{col.name}"] = raw[plain].tolist()
        return out, cancelled

    def _certainly_passes(self, d: Dialect) -> str:
        """SQL: the line passes every row-level check with its cells as they are."""
        tests = []
        limit = float(self.settings.max_abs_quantity)
        for col in self.table.columns:
            if col.name not in self.source:
                continue
            c = d.quote(self.source[col.name])
            if col.kind in (Kind.ID, Kind.TEXT) and not col.many_values:
                test = f"{c} IN (SELECT v FROM plain_{col.name})"
            elif col.kind in (Kind.ID, Kind.TEXT):
                test = plain_ends(d, c)
            elif col.kind == Kind.DATE:
                day = f"CAST({c} AS DATE)"
                test = f"{day} >= DATE '{EARLIEST_DAY}'"
                # a time of day in a date column is dropped, with a notice: a suspect
                test += f" AND CAST({c} AS TIMESTAMP) = CAST({day} AS TIMESTAMP)"
                if col.name in self.table.past_only:
                    test += f" AND {day} < DATE '{self.as_of + pd.Timedelta(days=1):%Y-%m-%d}'"
            else:  # numbers
                test = d.finite(f"CAST({c} AS DOUBLE)")
            tests.append(test if col.required else f"({c} IS NULL OR {test})")
        q, amount = (f"CAST({d.quote(self.source[c])} AS DOUBLE)" for c in ("quantity",
                                                                          "net_amount"))
        tests += [f"NOT ({amount} < 0 AND {q} >= 0)", f"NOT ({amount} > 0 AND {q} < 0)",
                  f"abs({q}) <= {limit!r}"]
        # a fractional quantity outside the categories sold in fractions is a notice,
        # which the row-level check gives: such lines are suspects
        allowed = ", ".join("'" + c.replace("'", "''") + "'"
                            for c in self.settings.fractional_categories)
        category = d.quote(self.source["product_category"])
        tests.append(f"{q} = floor({q})" + (f" OR {category} IN ({allowed})" if allowed
                                              else ""))
        if self.opened is not None:
            day = f"CAST({d.quote(self.source['order_date'])} AS DATE)"
            dealer = d.quote(self.source["dealer_id"])
            # an aggregate: Spark allows no other correlated scalar subquery
            tests.append(f"{day} >= (SELECT max(o.d) FROM dealer_opened o "
                         f"WHERE o.v = {dealer})")
        return " AND ".join(f"({t})" for t in tests)
