"""One SQL text for two engines: DuckDB (in process) and Spark (a cluster).

The heavy passes over order lines (which lines need a row-level look, and their reduction
to dealer x month sums) are written once, in the SQL that DuckDB and Spark SQL share
(FILTER (WHERE ...), GROUP BY ALL, ANTI JOIN, window functions), and a `Dialect` fills in
the few places where the two differ: quoting, type names, a day number, finiteness, a
row hash, the first character's code point, an exact sum. Writing the aggregation twice
by hand would let the engines drift apart; generating both from one text keeps them
equal, and the parity tests check it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Dialect:
    name: str
    types: dict[str, str]
    """Contract SQL types (STRING, DATE, DOUBLE) in this engine's names."""
    exact_sum: str
    """Sum of doubles: DuckDB's Kahan sum (the same result whatever order its threads
    meet the lines); Spark has none, its sums agree to about 1e-12 relative."""
    hash_function: str

    def quote(self, name: str) -> str:
        """An identifier, quoted (a file's column may be called 'Dealer ID')."""
        if self.name == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def sum(self, expression: str) -> str:
        return f"{self.exact_sum}({expression})"

    def day_number(self, column: str) -> str:
        """Days since 1970-01-01 of a DATE."""
        if self.name == "spark":
            return f"unix_date({column})"
        return f"(epoch_ms({column}) // 86400000)"

    def micros(self, column: str) -> str:
        """Microseconds since 1970 of a TIMESTAMP: differences are elapsed time (on Spark
        in the session's time zone, which has no daylight saving in China)."""
        if self.name == "spark":
            return f"unix_micros({column})"
        return f"epoch_us({column})"

    def finite(self, column: str) -> str:
        if self.name == "spark":
            return f"(NOT isnan({column}) AND abs({column}) != double('Infinity'))"
        return f"isfinite({column})"

    def first_code_point(self, column: str) -> str:
        return f"ascii({column})" if self.name == "spark" else f"ord(left({column}, 1))"

    def last_code_point(self, column: str) -> str:
        return (f"ascii(right({column}, 1))" if self.name == "spark"
                else f"ord(right({column}, 1))")

    def row_hash(self, columns: list[str]) -> str:
        return f"{self.hash_function}({', '.join(columns)})"

    def distinct_list(self, column: str) -> str:
        return f"collect_set({column})" if self.name == "spark" else f"list(DISTINCT {column})"


DUCKDB = Dialect(name="duckdb", types={"STRING": "VARCHAR", "DATE": "DATE",
                                        "DOUBLE": "DOUBLE", "TIMESTAMP": "TIMESTAMP",
                                        "BIGINT": "BIGINT", "BOOLEAN": "BOOLEAN"},
                 exact_sum="fsum", hash_function="hash")
SPARK = Dialect(name="spark", types={"STRING": "STRING", "DATE": "DATE", "DOUBLE": "DOUBLE",
                                      "TIMESTAMP": "TIMESTAMP", "BIGINT": "BIGINT",
                                      "BOOLEAN": "BOOLEAN"},
                exact_sum="sum", hash_function="xxhash64")
DIALECTS = {"duckdb": DUCKDB, "spark": SPARK}

PLAIN_ASCII = (33, 126)
PLAIN_FROM = 0x3400
PLAIN_CODE_POINT = f"(c BETWEEN {PLAIN_ASCII[0]} AND {PLAIN_ASCII[1]} OR c >= {PLAIN_FROM})"
"""A character that is certainly not whitespace: printable ASCII, or CJK and above
(Python's str.strip removes no character from U+3400 on). features.coercion's small-column
path uses the same bounds."""


def plain_ends(d: Dialect, column: str) -> str:
    """SQL: the text's first and last characters are certainly not whitespace, so
    trimming leaves it as it is (NULL for NULL; false for '')."""
    ends = [PLAIN_CODE_POINT.replace("c", d.first_code_point(column)),
            PLAIN_CODE_POINT.replace("c", d.last_code_point(column))]
    return f"({' AND '.join(ends)})"


def month_number(column: str) -> str:
    """SQL: months since year 0 of a date column (consecutive months differ by one)."""
    return f"(year({column}) * 12 + month({column}) - 1)"


class Runner:
    """Where SQL runs, for the length of a `with` block: `define` a temporary view,
    `fetch` a result as numpy arrays by column, `frame` it as pandas, `arrow` it as an
    Arrow table, `register` a small Arrow table as a view."""

    dialect: Dialect

    def __enter__(self) -> Runner:
        return self

    def first_and_last(self, column: str, view: str):
        """The smallest and largest value of a date column (NaT, NaT when it has none)."""
        got = self.fetch(f"SELECT min({column}) AS low, max({column}) AS high FROM {view}")
        low, high = got["low"][0], got["high"][0]
        return (pd.Timestamp(low) if low is not None else pd.NaT,
                pd.Timestamp(high) if high is not None else pd.NaT)

    def __exit__(self, *exc) -> None:
        pass


class DuckRunner(Runner):
    dialect = DUCKDB

    def __init__(self, con) -> None:
        self.con = con

    def define(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE TEMP VIEW {name} AS {sql}")

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE TEMP TABLE {name} AS {sql}")

    def fetch(self, sql: str) -> dict:
        return self.con.execute(sql).fetchnumpy()

    def frame(self, sql: str):
        return self.con.execute(sql).df()

    def arrow(self, sql: str):
        return self.con.sql(sql).to_arrow_table()

    def register(self, name: str, table) -> None:
        self.con.register(name, table)

    def __exit__(self, *exc) -> None:
        self.con.close()


class SparkRunner(Runner):
    dialect = SPARK

    def __init__(self, spark) -> None:
        self.spark = spark
        self.cached: list = []

    def define(self, name: str, sql: str) -> None:
        self.spark.sql(sql).createOrReplaceTempView(name)

    def materialize(self, name: str, sql: str) -> None:
        frame = self.spark.sql(sql).cache()
        self.cached.append(frame)
        frame.createOrReplaceTempView(name)

    def __exit__(self, *exc) -> None:
        """Cached results are let go with the block (spilled to the executors' disks
        while it runs, never kept for the session's life)."""
        for frame in self.cached:
            frame.unpersist()
        self.cached.clear()

    def fetch(self, sql: str) -> dict:
        frame = self.frame(sql)
        return {c: frame[c].to_numpy() for c in frame.columns}

    def frame(self, sql: str):
        return self.spark.sql(sql).toPandas()

    def arrow(self, sql: str):
        import pyarrow as pa
        frame = self.spark.sql(sql)
        if hasattr(frame, "toArrow"):
            return frame.toArrow()
        return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)

    def register(self, name: str, table) -> None:
        """A small Arrow table as a view (ids, dates, the checked suspect lines)."""
        import pyarrow as pa
        if table.num_rows == 0:  # Spark cannot infer from nothing: an empty typed view
            names = {pa.types.is_string: "STRING", pa.types.is_integer: "BIGINT",
                     pa.types.is_floating: "DOUBLE", pa.types.is_date: "DATE",
                     pa.types.is_boolean: "BOOLEAN"}
            schema = ", ".join(
                f"`{f.name}` " + next((v for k, v in names.items() if k(f.type)), "STRING")
                for f in table.schema)
            self.spark.createDataFrame([], schema).createOrReplaceTempView(name)
            return
        plain = table.cast(pa.schema([  # categoricals as plain text
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in table.schema]))
        self.spark.createDataFrame(plain.to_pandas()).createOrReplaceTempView(name)

    def register_file(self, name: str, path) -> None:
        """A Parquet file (or folder, or URI) as a view, with each row's position in the
        file as `file_row_number`, as DuckDB's read_parquet gives it."""
        from pyspark.sql import functions as F
        frame = self.spark.read.parquet(str(path))
        frame.select("*", F.col("_metadata.row_index").alias("file_row_number")) \
            .createOrReplaceTempView(name)
