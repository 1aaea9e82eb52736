"""DuckDB, the in-process SQL engine for the heavy passes over large Parquet files.

It scans Parquet with both cores in bounded memory (spilling to a temporary folder), so
the row-level pandas code only ever sees the rows that need it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def connect(memory_mb: int) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that spills to the system's temporary folder."""
    return duckdb.connect(config={
        "memory_limit": f"{memory_mb}MB",
        "temp_directory": str(Path(tempfile.gettempdir()) / "dealer-risk-duckdb")})


def quote(name: str) -> str:
    """A SQL identifier, quoted (a file's column may be called 'Dealer ID')."""
    return '"' + name.replace('"', '""') + '"'


def scan(path: Path) -> str:
    """The file as a SQL table, with each row's position (`file_row_number`)."""
    return f"read_parquet('{str(path).replace(chr(39), chr(39) * 2)}', file_row_number = true)"


def row_hash_sql(path: Path, columns: list[str]) -> str:
    """SQL: one 64-bit hash of a row's values in `columns` (the file's own names). NaN
    hashes as missing, as pandas reads both as NaN: rows pandas would call equal always
    hash equal (unequal rows may collide; callers compare candidates exactly)."""
    types = pq.ParquetFile(path).schema_arrow
    parts = []
    for name in columns:
        c = quote(name)
        kind = types.field(name).type
        parts.append(f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END"
                     if pa.types.is_floating(kind) else c)
    return f"hash({', '.join(parts)})"


def parquet_row_hashes(path: Path, columns: list[str], memory_mb: int) -> np.ndarray:
    """Each row's hash (row_hash_sql), in file order."""
    rows = pq.ParquetFile(path).metadata.num_rows
    out = np.zeros(rows, dtype=np.uint64)
    with connect(memory_mb) as con:
        got = con.execute(f"SELECT file_row_number AS r, {row_hash_sql(path, columns)} AS h "
                          f"FROM {scan(path)}").fetchnumpy()
    out[np.asarray(got["r"], dtype=np.int64)] = np.asarray(got["h"], dtype=np.uint64)
    return out
