"""Accepted order lines, wherever they live, and their dealer x month aggregation.

Order lines are the one table that grows to tens of millions of rows. Held in pandas, 50M
lines take several GB before any feature is computed, so a large Parquet file is never
loaded: the loader checks in pandas only the lines that could fail a rule, and leaves
the rest in the file, named by the row numbers they do not have (`ParquetLines`). Every
consumer reads the lines through DuckDB, in-process SQL that streams the file with both
cores in bounded memory, so small frames (tests, one dealer's posted history, CSV files)
and large files take the same aggregation code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from features.duck import connect, scan
from features.reading import ContractError
from features.settings import ContractSettings
from features.sql import DUCKDB, SPARK, Dialect, DuckRunner, Runner, SparkRunner, month_number
from features.storage import Location, as_location

LINE_COLUMNS = {
    "dealer_id": "STRING",
    "order_id": "STRING",
    "order_date": "DATE",
    "product_category": "STRING",
    "quantity": "DOUBLE",
    "net_amount": "DOUBLE",
    "list_amount": "DOUBLE",
}
"""What the aggregation reads of a line, with its SQL type (features.sql names)."""
DEFAULT_MEMORY_MB = ContractSettings.model_fields["sql_memory_mb"].default


@dataclass(frozen=True)
class ParquetLines:
    """The lines of a Parquet file accepted without a row-level look: every row but the
    `suspect_rows` (positions in the file, checked in pandas instead). `columns` maps the
    contract's names to the file's own; `stamp` (modification time, size) refuses a file
    replaced while the run still reads it."""

    path: Location
    columns: dict[str, str]
    suspect_rows: pa.Table
    rows: int
    """How many lines are left in the file (accepted)."""
    stamp: tuple[int, int]
    types: dict[str, str] = field(default_factory=lambda: dict(LINE_COLUMNS))
    """What a query reads of a row, with its SQL type (an event table has its own)."""

    @staticmethod
    def stamp_of(path: Location) -> tuple[int, int]:
        stat = as_location(path).stat()
        return stat.st_mtime_ns, stat.st_size

    def select(self, d: Dialect = DUCKDB, table: str | None = None,
               position: bool = False) -> str:
        """SQL: the file's lines but the suspects (in the view `suspect_rows`), typed;
        `table` names the file's view where the engine has one (Spark); `position` adds
        each row's place in the file as `row__` (the tie-break of file order)."""
        if self.stamp_of(self.path) != self.stamp:
            raise ContractError(f"{self.path}: the file changed while it was being read; "
                                "run again")
        cols = []
        for name, sql_type in self.types.items():
            source = self.columns.get(name)
            value = "NULL" if source is None else "p." + d.quote(source)
            cols.append(f"CAST({value} AS {d.types[sql_type]}) AS {name}")
        if position:
            cols.append("CAST(p.file_row_number AS BIGINT) AS row__")
        return (f"SELECT {', '.join(cols)} FROM {table or scan(self.path)} p "
                "ANTI JOIN suspect_rows s ON p.file_row_number = s.row")


@dataclass
class OrderLines:
    """Accepted order lines: those checked row by row in pandas (`frame`, typed as the
    loader returns them) plus, for a large Parquet file, the ones left in the file."""

    frame: pd.DataFrame
    parquet: ParquetLines | None = None
    memory_mb: int = DEFAULT_MEMORY_MB
    spark: object | None = None
    """A Spark session: the lines are read and reduced there (engine 'spark')."""
    _range: tuple[pd.Timestamp, pd.Timestamp] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, value: OrderLines | pd.DataFrame) -> OrderLines:
        return value if isinstance(value, OrderLines) else cls(frame=value)

    def __len__(self) -> int:
        return len(self.frame) + (self.parquet.rows if self.parquet else 0)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the view `lines` (LINE_COLUMNS)."""
        con = connect(self.memory_mb)
        parts = [_frame_select(con, self.frame)]
        if self.parquet is not None:
            con.register("suspect_rows", self.parquet.suspect_rows)
            parts.append(self.parquet.select())
        con.execute("CREATE TEMP VIEW lines AS " + " UNION ALL ".join(parts))
        return con

    def query(self) -> Runner:
        """Where the SQL over the view `lines` runs: DuckDB here, or the Spark session."""
        if self.spark is None:
            return DuckRunner(self.connect())
        runner = SparkRunner(self.spark)
        present = [c for c in LINE_COLUMNS if c in self.frame.columns]
        runner.register("checked_lines", pa.Table.from_pandas(self.frame[present],
                                                              preserve_index=False))
        parts = [_checked_select(SPARK, present)]
        if self.parquet is not None:
            runner.register("suspect_rows", self.parquet.suspect_rows)
            runner.register_file("order_file", self.parquet.path)
            parts.append(self.parquet.select(SPARK, "order_file"))
        runner.define("lines", " UNION ALL ".join(parts))
        return runner

    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last order day (NaT, NaT without lines)."""
        if self._range is None:
            with self.query() as q:
                self._range = q.first_and_last("order_date", "lines")
        return self._range

    def to_frame(self) -> pd.DataFrame:
        """Every accepted line in one pandas frame (at least LINE_COLUMNS): small data only."""
        if self.parquet is None:
            return self.frame
        with self.query() as q:
            out = q.frame("SELECT * FROM lines")
        out["order_date"] = pd.to_datetime(out["order_date"])
        return out


def _frame_select(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> str:
    present = [c for c in LINE_COLUMNS if c in frame.columns]
    arrow = pa.Table.from_pandas(frame[present], preserve_index=False)
    con.register("checked_lines", arrow)
    return _checked_select(DUCKDB, present)


def _checked_select(d: Dialect, present: list[str]) -> str:
    return "SELECT " + ", ".join(
        f"CAST({d.quote(c)} AS {d.types[t]}) AS {c}" if c in present
        else f"CAST(NULL AS {d.types[t]}) AS {c}"
        for c, t in LINE_COLUMNS.items()) + " FROM checked_lines"





@dataclass
class OrderAggregates:
    """Order lines per [dealer, month] (months since `first_month`, inside the range)."""

    sums: dict[str, np.ndarray]
    last_day: np.ndarray
    """[dealer, month]: the last day (days since 1970) with a positive line; -inf if none."""
    dealer_days: np.ndarray
    """Sorted distinct (dealer code, day) of positive lines, as dealer * 2**32 + day."""
    category_pairs: pd.DataFrame
    """Positive amount per (dealer, category, month), long form, sorted."""


SUM_COLUMNS = {
    "amount": "{sum}(amount)",
    "gross": "{sum}(amount) FILTER (WHERE positive)",
    "returns": "{sum}(-amount) FILTER (WHERE quantity < 0)",
    "quantity": "{sum}(quantity) FILTER (WHERE positive)",
    "lines": "count(*) FILTER (WHERE positive)",
    "listed_net": "{sum}(amount) FILTER (WHERE has_list)",
    "listed_list": "{sum}(list_amount) FILTER (WHERE has_list)",
}
"""Additive per dealer-month sums (on DuckDB Kahan sums: the result does not depend on the
order in which its threads meet the lines, so a rerun gives the same panel)."""
ORDER_KEY_BASE = 1 << 32


def _period_number(month: pd.Period) -> int:
    """The same number for a month in Python."""
    return month.year * 12 + month.month - 1


def aggregate_orders(lines: OrderLines, dealer_ids: pd.Index, first_month: pd.Period,
                     n_months: int) -> OrderAggregates:
    """Aggregate the lines of known dealers in months [first_month, first_month + n_months).

    Distinct orders are counted in the earliest month of their positive lines, so a later
    line of an order can never move it into an earlier month (no future leaks back)."""
    n = len(dealer_ids)
    with lines.query() as q:
        d = q.dialect
        q.register("dealer_codes", pa.table({
            "dealer_id": pa.array(dealer_ids.astype(str).to_numpy(), pa.string()),
            "code": pa.array(np.arange(n, dtype=np.int64))}))
        first = _period_number(first_month)
        q.define("known", f"""
            SELECT d.code, {month_number("l.order_date")} - {first} AS month,
                   l.order_id, l.order_date, l.product_category,
                   l.quantity, l.net_amount AS amount, l.list_amount,
                   l.net_amount > 0 AS positive,
                   l.net_amount > 0 AND coalesce({d.finite("l.list_amount")}
                                                 AND l.list_amount > 0, false) AS has_list
            FROM lines l JOIN dealer_codes d ON l.dealer_id = d.dealer_id
            WHERE l.order_date IS NOT NULL
              AND {month_number("l.order_date")} >= {first}
              AND {month_number("l.order_date")} < {first + n_months}""")
        sums_sql = ", ".join(f"{sql.format(sum=d.exact_sum)} AS {name}"
                             for name, sql in SUM_COLUMNS.items())
        cells = q.fetch(
            f"SELECT code, month, {sums_sql}, "
            f"max({d.day_number('order_date')}) FILTER (WHERE positive) AS last_day "
            "FROM known GROUP BY code, month")
        orders = q.fetch("""
            SELECT code, month, count(*) AS orders FROM (
                SELECT code, order_id, min(month) AS month FROM known WHERE positive
                GROUP BY code, order_id) AS firsts
            GROUP BY code, month""")
        days = q.fetch(f"""
            SELECT DISTINCT code * CAST(4294967296 AS BIGINT)
                            + {d.day_number('order_date')} AS key
            FROM known WHERE positive""")["key"]
        categories = pd.DataFrame(q.fetch(f"""
            SELECT code AS dealer, dense_rank() OVER (ORDER BY product_category) - 1
                       AS category, month, amount
            FROM (SELECT code, product_category, month, {d.sum("amount")} AS amount
                  FROM known WHERE positive GROUP BY ALL) AS cells
            ORDER BY dealer, category, month"""))
    code = cells["code"].astype(np.int64)
    month = cells["month"].astype(np.int64)
    sums = {}
    for name in SUM_COLUMNS:
        grid = np.zeros((n, n_months))
        grid[code, month] = np.nan_to_num(np.asarray(cells[name], dtype=float))
        sums[name] = grid
    grid = np.zeros((n, n_months))
    grid[orders["code"].astype(np.int64), orders["month"].astype(np.int64)] = orders["orders"]
    sums["orders"] = grid
    last = np.full((n, n_months), -np.inf)
    last[code, month] = np.nan_to_num(np.asarray(cells["last_day"], dtype=float), nan=-np.inf)
    return OrderAggregates(
        sums=sums,
        last_day=last,
        dealer_days=np.sort(np.asarray(days, dtype=np.int64)),
        category_pairs=categories.astype({"dealer": np.int64, "category": np.int64,
                                          "month": np.int64, "amount": float}),
    )


def orders_per_dealer(lines: OrderLines) -> pd.Series:
    """Distinct orders per dealer among the accepted lines (dealers with at least one)."""
    with lines.query() as q:
        counts = q.fetch("""
            SELECT dealer_id, count(DISTINCT order_id) AS n FROM lines
            WHERE dealer_id IS NOT NULL AND order_id IS NOT NULL GROUP BY dealer_id""")
    return pd.Series(np.asarray(counts["n"], dtype=np.int64),
                     index=pd.Index(np.asarray(counts["dealer_id"], dtype=object)))


def monthly_amounts(lines: OrderLines, dealer_ids: pd.Index, first_month: pd.Period,
                    n_months: int) -> np.ndarray:
    """[dealer, month]: net order amount (the dashboard's orders chart)."""
    codes = pd.Index(dealer_ids.astype(str))
    with lines.query() as q:
        q.register("wanted", pa.table({"dealer_id": pa.array(codes.to_numpy(), pa.string()),
                                       "code": pa.array(np.arange(len(codes)))}))
        first = _period_number(first_month)
        cells = q.fetch(f"""
            SELECT code, {month_number("l.order_date")} - {first} AS month,
                   {q.dialect.sum("l.net_amount")} AS amount
            FROM lines l JOIN wanted w ON l.dealer_id = w.dealer_id
            WHERE {month_number("l.order_date")} BETWEEN {first}
                  AND {first + n_months - 1}
            GROUP BY ALL""")
    grid = np.zeros((len(codes), n_months))
    grid[cells["code"].astype(np.int64), cells["month"].astype(np.int64)] = cells["amount"]
    return grid
