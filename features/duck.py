"""DuckDB, the in-process SQL engine for the heavy passes over large Parquet files.

It scans Parquet with both cores in bounded memory (spilling to a temporary folder), so
the row-level pandas code only ever sees the rows that need it.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.sql import DUCKDB, Dialect, plain_ends
from features.storage import parquet_file


def connect(memory_mb: int) -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory database (which spills to the
    system's temporary folder beyond `memory_mb`). Each has its own registered tables and
    temporary views, so threads never see each other's; opening one costs microseconds,
    where a new database costs 15 ms (a posted history is aggregated in a few)."""
    return _database(memory_mb).cursor()


@functools.lru_cache(maxsize=4)
def _database(memory_mb: int) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(config={
        "memory_limit": f"{memory_mb}MB",
        "temp_directory": str(Path(tempfile.gettempdir()) / "dealer-risk-duckdb")})


def quote(name: str) -> str:
    """A SQL identifier, quoted (a file's column may be called 'Dealer ID')."""
    return '"' + name.replace('"', '""') + '"'


def scan(path: Path) -> str:
    """The file as a SQL table, with each row's position (`file_row_number`)."""
    return f"read_parquet('{str(path).replace(chr(39), chr(39) * 2)}', file_row_number = true)"


def row_hash_sql(path: Path, columns: list[str], d: Dialect = DUCKDB) -> str:
    """SQL: one 64-bit hash of a row's values in `columns` (the file's own names). NaN
    hashes as missing, as pandas reads both as NaN: rows pandas would call equal always
    hash equal (unequal rows may collide; callers compare candidates exactly)."""
    types = parquet_file(path).schema_arrow
    parts = []
    for name in columns:
        c = d.quote(name)
        kind = types.field(name).type
        parts.append(f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END"
                     if pa.types.is_floating(kind) else c)
    return d.row_hash(parts)


def plain_ends_sql(column: str) -> str:
    return plain_ends(DUCKDB, column)


def parquet_key_candidates(path: Path, column: str, memory_mb: int
                           ) -> tuple[np.ndarray, pd.Series] | None:
    """Rows whose record id may be used by another row once trimmed: the id occurs more
    than once as written, or is not plain (plain_ends_sql), or equals a not-plain id
    trimmed by Python (the row checks' trimming). Positions in the file and the ids as
    written; None when the column is not text (the caller reads the ids itself)."""
    if not pa.types.is_string(pq.ParquetFile(path).schema_arrow.field(column).type):
        return None
    c = quote(column)
    with connect(memory_mb) as con:
        odd = con.execute(f"SELECT DISTINCT {c} AS k FROM {scan(path)} "
                          f"WHERE k IS NOT NULL AND NOT {plain_ends_sql(c)}").fetchall()
        trimmed = sorted({str(k).strip() for (k,) in odd})
        con.register("trimmed", pa.table({"k": pa.array(trimmed, pa.string())}))
        got = con.execute(f"""
            WITH ids AS (SELECT file_row_number AS r, {c} AS k FROM {scan(path)})
            SELECT r, k FROM ids
            WHERE k IN (SELECT k FROM ids GROUP BY k HAVING count(*) > 1)
               OR NOT {plain_ends_sql("k")} OR k IN (SELECT k FROM trimmed)
            ORDER BY r""").fetch_df()
    return (got["r"].to_numpy(dtype=np.int64),
            pd.Series(got["k"].to_numpy(dtype=object), dtype="string"))


def parquet_row_hashes(path: Path, columns: list[str], memory_mb: int) -> np.ndarray:
    """Each row's hash (row_hash_sql), in file order."""
    rows = pq.ParquetFile(path).metadata.num_rows
    out = np.zeros(rows, dtype=np.uint64)
    with connect(memory_mb) as con:
        got = con.execute(f"SELECT file_row_number AS r, {row_hash_sql(path, columns)} AS h "
                          f"FROM {scan(path)}").fetchnumpy()
    out[np.asarray(got["r"], dtype=np.int64)] = np.asarray(got["h"], dtype=np.uint64)
    return out
