"""Reading one table's file as it is, before any validation.

Real exports come from Excel on Chinese Windows as often as from a warehouse, so the
reader detects the encoding (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GB18030/GBK) and
the delimiter (comma, semicolon, tab, pipe) rather than asking the user.
Problems that make a whole file unusable raise ContractError naming the file.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from features.contract import TABLES, Table
from features.storage import Location, parquet_file

SUFFIXES = (".csv", ".csv.gz", ".parquet")
DELIMITERS = (",", ";", "\t", "|")


class ContractError(Exception):
    """A table-level problem: the run cannot go on. The message names the file."""


@dataclass(frozen=True)
class RawTable:
    """A file's rows as read: CSV cells as stripped strings, Parquet columns as typed.

    A CSV file is decoded whole (`frame`); a Parquet file is read in row batches on
    demand (`chunks`), so a large table never has to be in memory twice."""

    table: Table
    path: Location
    columns: list[str]
    """Column names, trimmed and lower-cased."""
    file_format: str
    frame: pd.DataFrame | None = None
    encoding: str | None = None
    delimiter: str | None = None
    malformed: pd.DataFrame | None = None
    """CSV records with the wrong number of fields: row number and the raw text."""
    dictionary_columns: list[str] = field(default_factory=list)
    padded: dict[str, pd.Series] = field(default_factory=dict)
    """CSV cells that had spaces around them (trimmed in `frame`): their text as written,
    by column, indexed by row position; reported as a notice."""
    num_rows: int | None = None
    """Rows in a Parquet file (known before reading); None for CSV, which is read whole."""

    def file_columns(self, names: list[str]) -> list[str]:
        """The file's own spelling of (trimmed, lower-cased) column names."""
        spelled = parquet_file(self.path).schema_arrow.names
        return [dict(zip(self.columns, spelled, strict=True))[n] for n in names]

    def chunks(self, rows: int | None = None) -> Iterator[pd.DataFrame]:
        """The rows in chunks of at most `rows` (None: all at once), indexed by position."""
        if self.frame is not None:
            yield self.frame
            return
        try:
            parquet = parquet_file(self.path, read_dictionary=self.dictionary_columns)
            total = parquet.metadata.num_rows
            offset = 0
            for batch in parquet.iter_batches(batch_size=rows or max(total, 1)):
                frame = pa.Table.from_batches([batch]).to_pandas(date_as_object=False)
                frame.columns = self.columns
                frame.index = pd.RangeIndex(offset, offset + len(frame))
                offset += len(frame)
                yield frame
            if total == 0:
                empty = parquet.schema_arrow.empty_table().to_pandas(date_as_object=False)
                empty.columns = self.columns
                yield empty
        except (pa.ArrowException, OSError) as exc:
            raise ContractError(f"{self.path}: not a readable Parquet file ({exc})") from None


def find_table_files(data_dir: Location) -> tuple[dict[str, Location], list[str]]:
    """Map each contract table to its file; list the files that belong to no table."""
    if not data_dir.exists():
        raise ContractError(f"{data_dir}: data folder does not exist")
    if not data_dir.is_dir():
        raise ContractError(f"{data_dir}: is not a folder")
    found: dict[str, list[Location]] = {}
    ignored: list[str] = []
    for path in sorted(p for p in data_dir.iterdir() if p.is_file()):
        name = path.name
        stem = next((name[: -len(s)] for s in SUFFIXES if name.lower().endswith(s)), None)
        table = stem.strip().lower() if stem is not None else None
        if table in TABLES:
            found.setdefault(table, []).append(path)
        elif not name.startswith((".", "_")):
            ignored.append(name)
    for table, paths in found.items():
        if len(paths) > 1:
            names = " and ".join(p.name for p in paths)
            raise ContractError(f"{data_dir}: table '{table}' is given twice ({names}); keep one")
    return {t: ps[0] for t, ps in found.items()}, ignored


def missing_table_message(data_dir: Location, table: str, ignored: list[str]) -> str:
    msg = f"{data_dir}: required table '{table}' is missing (expected {table}.csv, "
    msg += f"{table}.csv.gz or {table}.parquet)"
    near = difflib.get_close_matches(table, [n.split(".")[0] for n in ignored], n=1, cutoff=0.6)
    if near:
        candidate = next(n for n in ignored if n.split(".")[0] == near[0])
        msg += f"; did you mean '{candidate}'?"
    return msg


def read_table(table: Table, path: Location) -> RawTable:
    """Read a file as the given contract table; raise ContractError if it is unusable."""
    try:
        if path.stat().st_size == 0:
            raise ContractError(f"{path}: file is empty (0 bytes)")
        if path.name.lower().endswith(".parquet"):
            return _read_parquet(table, path)
        return _read_csv(table, path)
    except OSError as exc:
        raise ContractError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def _read_parquet(table: Table, path: Location) -> RawTable:
    try:
        parquet = parquet_file(path)
        schema, num_rows = parquet.schema_arrow, parquet.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = normalize_columns(path, schema.names)
    for field_, name in zip(schema, columns, strict=True):
        nested = pa.types.is_nested(field_.type) or pa.types.is_dictionary(field_.type) and \
            pa.types.is_nested(field_.type.value_type)
        if name in table.column_names and nested:
            kind = table.column(name).kind.value
            raise ContractError(f"{path}: column '{name}' holds nested values ({field_.type}); "
                                f"expected one {kind} per row")
    many = {c.name for c in table.columns if c.many_values}
    # text columns as dictionaries: each distinct value is held and checked once
    text = [f.name for f in schema if (pa.types.is_string(f.type)
            or pa.types.is_large_string(f.type)) and f.name.strip().lower() not in many]
    return RawTable(table=table, path=path, columns=columns, file_format="parquet",
                    dictionary_columns=text, num_rows=num_rows)


def _read_csv(table: Table, path: Location) -> RawTable:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ContractError(f"{path}: not a readable gzip file ({exc})") from None
    text, encoding = decode(data, path)
    if not text.strip():
        raise ContractError(f"{path}: file has no header row")
    text = text.lstrip("\ufeff")
    excel_sep = re.match(r"sep=(.)\r?\n", text)  # Excel's hint line, e.g. "sep=;"
    if excel_sep:
        delimiter, text = excel_sep.group(1), text[excel_sep.end():]
    else:
        delimiter = detect_delimiter(text)
    # pandas renames a repeated header ("id", "id.1"): read it first to refuse repeats
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    normalize_columns(path, header)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
        )
        malformed = None
    except pd.errors.ParserError:
        frame, malformed = _read_csv_leniently(text, delimiter)
    except pd.errors.EmptyDataError:
        raise ContractError(f"{path}: file has no header row") from None
    frame.columns = normalize_columns(path, list(frame.columns))
    stripped = frame.apply(lambda col: col.str.strip())
    padded = {}
    for name in frame.columns:
        changed = (frame[name] != stripped[name]).to_numpy(dtype=bool, na_value=False)
        if changed.any():
            padded[name] = frame[name][changed]
    return RawTable(
        table=table,
        path=path,
        columns=list(frame.columns),
        frame=stripped,
        padded=padded,
        file_format="csv.gz" if path.name.lower().endswith(".gz") else "csv",
        encoding=encoding,
        delimiter=delimiter,
        malformed=malformed,
    )


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (a GBK superset)."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ContractError(
        f"{path}: cannot decode the text; save it as UTF-8 (or GBK/GB18030) and try again"
    )


def detect_delimiter(text: str) -> str:
    """The candidate that splits the header line into the most fields (comma on a tie)."""
    header = text.lstrip("\ufeff").splitlines()[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 0 else ","


def _read_csv_leniently(text: str, delimiter: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Slow path for files with malformed records: keep the good ones, return the bad ones."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader)
    good: list[list[str]] = []
    good_rows: list[int] = []
    bad: list[tuple[int, str]] = []
    for row_number, record in enumerate(reader, start=1):
        if len(record) == len(header):
            good.append(record)
            good_rows.append(row_number)
        elif record:  # a blank line is not a record
            bad.append((row_number, delimiter.join(record)))
    frame = pd.DataFrame(good, columns=header, index=pd.Index(good_rows) - 1, dtype=str)
    malformed = pd.DataFrame(bad, columns=["row", "text"])
    malformed.attrs["fields_expected"] = len(header)
    return frame, malformed


def normalize_columns(path: Path, columns: list[object]) -> list[str]:
    """Trim and lower-case column names; two columns that become one name is an error."""
    names = [str(c).strip().lower().lstrip("\ufeff") for c in columns]
    seen: dict[str, str] = {}
    for original, name in zip(columns, names, strict=True):
        if name in seen:
            raise ContractError(
                f"{path}: columns '{seen[name]}' and '{original}' are the same column "
                f"'{name}' once spaces and case are ignored; keep one"
            )
        seen[name] = str(original)
    return names
