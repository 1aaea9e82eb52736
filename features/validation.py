"""Checking a data folder against the contract, row by row, losing nothing.

Every row read ends up in exactly one place: accepted, rejected (with the reason, the
column, the value and its row number in the source file), dropped as an exact duplicate,
or excluded as a cancelled order line. The report shows that the four add up.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features.coercion import CONVERSIONS, coerce, is_blank, map_text, plain_text
from features.contract import (
    CANCELLED_STATUSES,
    COMPLAINT_CATEGORIES,
    COMPLAINT_CATEGORY_ALIASES,
    PROGRAM_ALIASES,
    PROGRAM_ASSIGNMENT_ALIASES,
    PROGRAM_ASSIGNMENTS,
    PROGRAM_KINDS,
    TABLES,
    Kind,
    Table,
)
from features.duck import parquet_key_candidates, parquet_row_hashes
from features.events import EventRows
from features.io import write_csv_atomically
from features.orderlines import OrderLines, ParquetLines, orders_per_dealer
from features.reading import (
    ContractError,
    RawTable,
    find_table_files,
    missing_table_message,
    normalize_columns,
    read_table,
)
from features.settings import ContractSettings
from features.storage import as_location, is_local
from features.suspects import SuspectSplit, streamable

REJECT_COLUMNS = ["row", "reason", "column", "value", "detail"]
REJECT_REASONS = frozenset({
    "malformed_record", "unparseable_date", "unparseable_number", "unparseable_boolean",
    "missing_id", "missing_value", "future_date", "closed_before_opened", "due_before_opened",
    "resolved_before_received", "negative_amount_not_return", "return_with_positive_amount",
    "absurd_quantity", "bad_severity", "unknown_category", "unknown_dealer", "duplicate_id",
    "before_dealer_opened", "ended_before_started", "negative_cost", "unknown_program",
    "unknown_assignment",
})
"""Every reason a row can be rejected for; docs/data-contract.md explains each."""
_UNREADABLE = {
    Kind.DATE: ("unparseable_date", "is not a date (expected YYYY-MM-DD)"),
    Kind.TIMESTAMP: ("unparseable_date", "is not a date/time (expected YYYY-MM-DD HH:MM)"),
    Kind.NUMBER: ("unparseable_number", "is not a number"),
    Kind.INTEGER: ("unparseable_number", "is not a whole number"),
    Kind.BOOLEAN: ("unparseable_boolean", "is not yes/no (expected 1/0, true/false, 是/否)"),
}


@dataclass
class TableReport:
    table: str
    file: str
    file_format: str
    encoding: str | None
    delimiter: str | None
    rows_read: int
    accepted: int
    rejected_by_reason: dict[str, int]
    duplicates: int
    cancelled: int
    date_column: str
    date_min: str | None
    date_max: str | None
    ignored_columns: list[str] = field(default_factory=list)
    absent_optional_columns: list[str] = field(default_factory=list)
    notices: dict[str, dict] = field(default_factory=dict)
    """Kept rows whose values look wrong but may be right, per kind: count, column, what
    it means, and a few example rows (row, value, ...)."""

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.accepted + self.rejected + self.duplicates + self.cancelled


@dataclass
class ValidationReport:
    data_dir: str
    as_of: str
    tables: dict[str, TableReport]
    absent_tables: list[str]
    ignored_files: list[str]
    dealers_without_orders: int | None
    orders_per_dealer: dict[str, float] | None
    """The network's shape (None for rows posted to the API: one dealer has none)."""

    @property
    def total_rejected(self) -> int:
        return sum(t.rejected for t in self.tables.values())

    def to_dict(self) -> dict:
        out = asdict(self)
        for name, table in self.tables.items():
            out["tables"][name]["rejected"] = table.rejected
            out["tables"][name]["balanced"] = table.balanced
        out["total_rejected"] = self.total_rejected
        return out


@dataclass
class LoadedData:
    """Accepted rows per table (typed), rejected rows per table, and the report."""

    tables: dict[str, pd.DataFrame | OrderLines | EventRows]
    """"orders" is an OrderLines, an event table an EventRows, when a large Parquet file
    was left on disk (or the engine is Spark); frames otherwise."""
    rejects: dict[str, pd.DataFrame]
    report: ValidationReport

    def frame(self, name: str) -> pd.DataFrame:
        """One table's accepted rows as a pandas frame, wherever they are (rows left in a
        large file are read in full: for exploring, not for a network's worth of lines)."""
        table = self.tables[name]
        return table.to_frame() if isinstance(table, OrderLines | EventRows) else table


def load_data(
    data_dir: Path | str, settings: ContractSettings, *, today: date | None = None,
    spark=None) -> LoadedData:
    """Read and check every table in a folder. Raises ContractError for table-level problems.

    With a Spark session (engine 'spark'), a Parquet orders file of any size is scanned
    on Spark for the lines that need a row-level look, and the accepted lines are reduced
    there too (features.spark); everything else is the same code. The folder may be a
    path or a URI (s3://, gs://, abfs://, hdfs://, file://: features.storage)."""
    data_dir = as_location(data_dir)
    files, ignored = find_table_files(data_dir)
    missing = [name for name, table in TABLES.items() if table.required and name not in files]
    if missing:  # every one of them at once: a user fixes the folder in one go
        raise ContractError("\n".join(missing_table_message(data_dir, name, ignored)
                                      for name in missing))
    readers = {name: (lambda t=table, f=files[name]: read_table(t, f))
               for name, table in TABLES.items() if name in files}
    return check_tables(readers, settings, source=str(data_dir), ignored=ignored,
                        as_of=settings.as_of or today or date.today(), spark=spark)


def load_frames(frames: dict[str, pd.DataFrame], settings: ContractSettings, *,
                as_of: date) -> LoadedData:
    """Check tables given in memory (rows posted to the API, one frame per contract table,
    named by the table) with the same rules as files, without writing them anywhere.
    Cells hold values as posted: text, numbers, booleans or None; text is trimmed and
    blank text is missing, as in a CSV file."""
    readers = {name: (lambda t=TABLES[name], f=frame: frame_table(t, f))
               for name, frame in frames.items()}
    return check_tables(readers, settings, source="posted", ignored=[], as_of=as_of,
                        profile=False)


def frame_table(table: Table, frame: pd.DataFrame) -> RawTable:
    """A frame in memory as a table read: columns normalised and text trimmed as a CSV's."""
    path = Path(table.name)
    frame = frame.copy()
    frame.columns = normalize_columns(path, list(frame.columns))
    padded = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind != "O":
            continue
        if plain_text(column) is not None:  # nothing to trim (most posted columns)
            frame[name] = column.astype("string")
            continue
        text = column.astype("string")  # a number posted in a text field, as a CSV has it
        stripped = text.str.strip()
        changed = (text != stripped).to_numpy(dtype=bool, na_value=False)
        if changed.any():
            padded[name] = text[changed]
        frame[name] = stripped
    return RawTable(table=table, path=path, columns=list(frame.columns), frame=frame,
                    padded=padded, file_format="json")


def check_tables(readers: dict[str, Callable[[], RawTable]], settings: ContractSettings, *,
                 source: str, ignored: list[str], as_of: date, spark=None,
                 profile: bool = True) -> LoadedData:
    """Check each contract table (read when its turn comes, dealers first) and report;
    `profile`: with the network's orders per dealer (a query over every order line, which
    says nothing of one posted dealer)."""
    tables: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    absent: list[str] = []
    dealer_ids: pd.Index | None = None
    opened: pd.Series | None = None
    rejected_dealers: dict[str, int] = {}
    for name, table in TABLES.items():
        if name not in readers:
            absent.append(name)
            continue
        raw = readers[name]()
        if streamable(raw, settings, any_size=spark is not None):
            accepted, rejected, table_report = _check_streamed(
                raw, as_of, settings, dealer_ids, rejected_dealers, opened, spark)
        else:
            checker = _TableCheck(raw, as_of, settings, dealer_ids, rejected_dealers, opened)
            accepted, rejected, table_report = checker.run()
            if spark is not None and name != "dealers":  # reduced on Spark all the same
                accepted = _rows(table, accepted, None, settings, spark)
        if table.required and table_report.rows_read == 0:
            raise ContractError(f"{raw.path}: required table '{name}' has no rows")
        if table.required and table_report.accepted == 0:
            raise NoUsableRows(_no_usable_rows(raw.path, name, table_report),
                               {**rejects, name: rejected})
        if name == "dealers":
            dealer_ids = pd.Index(accepted["dealer_id"])
            opened = pd.Series(accepted["opened_on"].to_numpy(),
                               index=accepted["dealer_id"].to_numpy())
            rejected_dealers = _first_row_per_id(rejected)
        tables[name], rejects[name], reports[name] = accepted, rejected, table_report
    report = ValidationReport(
        data_dir=source,
        as_of=as_of.isoformat(),
        tables=reports,
        absent_tables=absent,
        ignored_files=ignored,
        **(_orders_profile(tables["dealers"], tables["orders"]) if profile else
           {"dealers_without_orders": None, "orders_per_dealer": None}),
    )
    return LoadedData(tables=tables, rejects=rejects, report=report)


class NoUsableRows(ContractError):
    """A required table whose every row was rejected: no later stage can run on it. Carries
    the rejects found so far, so that they are written all the same."""

    def __init__(self, message: str, rejects: dict[str, pd.DataFrame]) -> None:
        super().__init__(message)
        self.rejects = rejects


def _no_usable_rows(path: Path | str, name: str, report: TableReport) -> str:
    reasons = sorted(report.rejected_by_reason.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{reason} {n:,}" for reason, n in reasons[:3])
    more = f" and {len(reasons) - 3} more reasons" if len(reasons) > 3 else ""
    return (f"{path}: required table '{name}' has no usable row: all {report.rows_read:,} "
            f"were rejected ({shown}{more})")


def _check_streamed(raw: RawTable, as_of: date, settings: ContractSettings,
                    dealer_ids: pd.Index, rejected_dealers: dict[str, int],
                    opened: pd.Series | None = None, spark=None
                    ) -> tuple[OrderLines | EventRows, pd.DataFrame, TableReport]:
    """A large Parquet file (or any, on Spark): only the suspect rows are checked here
    (see features.suspects); the others are counted as accepted and stay in the file."""
    _TableCheck(raw, as_of, settings, dealer_ids, rejected_dealers)._require_columns(
        raw.columns)
    suspects, clean, cancelled = SuspectSplit(raw, as_of, settings, dealer_ids, opened,
                                              spark).run()
    checked = replace(raw, frame=suspects, num_rows=None)
    accepted, rejected, report = _TableCheck(checked, as_of, settings, dealer_ids,
                                             rejected_dealers, opened).run()
    lines = _rows(raw.table, accepted, clean, settings, spark)
    low, high = lines.date_range()
    report.rows_read += clean.rows
    report.accepted += clean.rows
    report.rows_read += cancelled
    report.cancelled += cancelled
    report.date_min = None if pd.isna(low) else low.date().isoformat()
    report.date_max = None if pd.isna(high) else high.date().isoformat()
    return lines, rejected, report


def _rows(table: Table, checked: pd.DataFrame, left: ParquetLines | None,
          settings: ContractSettings, spark) -> OrderLines | EventRows:
    """A table's accepted rows, checked in pandas and (`left`) left in their file, read
    by SQL on the engine."""
    if table.name == "orders":
        return OrderLines(frame=checked, parquet=left, memory_mb=settings.sql_memory_mb,
                          spark=spark)
    return EventRows(table=table, frame=checked, parquet=left,
                     memory_mb=settings.sql_memory_mb, spark=spark)


def _first_row_per_id(rejected: pd.DataFrame) -> dict[str, int]:
    if rejected.empty or "dealer_id" not in rejected:
        return {}
    ids = rejected[["dealer_id", "row"]].dropna().drop_duplicates("dealer_id")
    return dict(zip(ids["dealer_id"].astype(str), ids["row"].astype(int), strict=True))


def _orders_profile(dealers: pd.DataFrame, orders: pd.DataFrame | OrderLines) -> dict:
    """Distinct orders per dealer (an order id is counted for each dealer it names)."""
    per_dealer = orders_per_dealer(OrderLines.of(orders))
    without = int((~dealers["dealer_id"].isin(per_dealer.index)).sum())
    if per_dealer.empty:
        profile = {}
    else:
        q = per_dealer.quantile([0, 0.25, 0.5, 0.75, 1.0]).to_numpy()
        profile = dict(zip(["min", "p25", "median", "p75", "max"], map(float, q), strict=True))
    return {"dealers_without_orders": without, "orders_per_dealer": profile}


class _TableCheck:
    """One table's checks; collects failures in order so a row's first problem is its reason."""

    def __init__(
        self,
        raw: RawTable,
        as_of: date,
        settings: ContractSettings,
        dealer_ids: pd.Index | None,
        rejected_dealers: dict[str, int],
        opened: pd.Series | None = None,
    ) -> None:
        self.raw = raw
        self.table: Table = raw.table
        self.as_of = pd.Timestamp(as_of)
        self.settings = settings
        self.dealer_ids = dealer_ids
        self.rejected_dealers = rejected_dealers
        self.opened = opened
        """Accepted dealers' opened_on, by dealer_id (for the event tables)."""
        self.failures: list[tuple[pd.Index, str, str, pd.Series]] = []
        """(failing rows, reason, column, detail text of those rows), in check order."""
        self.notices: dict[str, dict] = {}
        self.converted: dict[str, dict[str, pd.Series]] = {}
        """Per column, per conversion (CONVERSIONS): the cells of this chunk it changed."""

    def run(self) -> tuple[pd.DataFrame, pd.DataFrame, TableReport]:
        table = self.table
        self._require_columns(self.raw.columns)
        present = [c for c in table.column_names if c in self.raw.columns]
        # dealers are checked whole: a clash between two dealer rows stops the run
        rows = None if table.name == "dealers" else self.settings.chunk_rows
        # a table that fits in one chunk is read once; a larger one twice (two passes)
        once = self.raw.num_rows is None or rows is None or self.raw.num_rows <= rows
        chunks = list(self.raw.chunks(rows)) if once else None
        hashes = keys = None
        if self.raw.frame is None and is_local(self.raw.path):  # DuckDB, on both cores
            memory = self.settings.sql_memory_mb
            hashes = parquet_row_hashes(self.raw.path, self.raw.file_columns(present), memory)
            if table.key is not None:
                keys = parquet_key_candidates(self.raw.path,
                                              self.raw.file_columns([table.key])[0], memory)
        if hashes is None:
            first = (f[present] for f in (chunks if once else self.raw.chunks(rows)))
        elif table.key is None or keys is not None:
            first = iter(())
        else:
            first = (f[[table.key]] for f in (chunks if once else self.raw.chunks(rows)))
        small = once and sum(len(c) for c in chunks) <= SMALL_TABLE
        self.first_pass = _FirstPass(first, table.key, hashes, keys, small=small)
        self.cursor = 0
        accepted_parts, rejected_parts = [], []
        rows_read = duplicates = cancelled = 0
        for frame in chunks if once else self.raw.chunks(rows):
            frame = frame[present]
            rows_read += len(frame)
            accepted, rejected, dup, canc = self._check_chunk(frame)
            accepted_parts.append(accepted)
            rejected_parts.append(rejected)
            duplicates += dup
            cancelled += canc
        malformed = self._malformed()
        rows_read += len(malformed)
        accepted = concat_frames(accepted_parts)
        if len(malformed) or any(len(part) for part in rejected_parts):
            rejected = _assemble_rejects(rejected_parts, malformed)
        else:
            rejected = _no_rejects(tuple(present)).copy()

        dates = accepted[table.event_date].dropna()
        report = TableReport(
            table=table.name,
            file=str(self.raw.path),
            file_format=self.raw.file_format,
            encoding=self.raw.encoding,
            delimiter=self.raw.delimiter,
            rows_read=rows_read,
            accepted=len(accepted),
            rejected_by_reason={k: int(v) for k, v in rejected["reason"].value_counts().items()},
            duplicates=duplicates,
            cancelled=cancelled,
            date_column=table.event_date,
            date_min=None if dates.empty else dates.min().date().isoformat(),
            date_max=None if dates.empty else dates.max().date().isoformat(),
            notices=self.notices,
            ignored_columns=[c for c in self.raw.columns if c not in table.column_names],
            absent_optional_columns=[c for c in table.column_names if c not in present],
        )
        return accepted, rejected, report

    def _check_chunk(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
        """Check one chunk; rows are numbered by their position in the whole file."""
        table = self.table
        self.failures = []
        where = np.arange(self.cursor, self.cursor + len(frame))
        self.cursor += len(frame)
        self.position = pd.Series(where, index=frame.index)
        duplicated = self.first_pass.duplicates(frame, where)
        cancelled = np.zeros(len(frame), dtype=bool)
        if "status" in frame:
            status = map_text(frame["status"], lambda s: s.str.strip().str.lower())
            cancelled = status.isin(CANCELLED_STATUSES).to_numpy() & ~duplicated
        kept = frame[~duplicated & ~cancelled]
        if table.name == "dealers":
            self._refuse_conflicting_dealers(kept)

        typed = self._coerce(kept)
        self._check_rows(kept, typed)
        reason, column, value, detail = self._first_failures(kept)
        bad = kept.index.isin(reason.index)

        self._note_conversions(kept[~bad], typed[~bad])
        if table.name == "orders":
            self._note_fractional(typed[~bad])
        accepted = typed[~bad].reset_index(drop=True)
        for col in table.columns:
            if col.name not in accepted:
                accepted[col.name] = _empty_column(col.kind, len(accepted), col.many_values)
        accepted = accepted[list(table.column_names)]
        rejected = (_reject_rows(kept[bad], reason, column, value, detail) if bad.any()
                    else _no_rejected_rows(tuple(kept.columns)))
        return accepted, rejected, int(duplicated.sum()), int(cancelled.sum())

    def _note_conversions(self, kept: pd.DataFrame, typed: pd.DataFrame) -> None:
        """Accepted cells whose text a conversion changed: counted per kind of conversion,
        with a few examples (row, column, as written, as read)."""
        for column, kinds in self.converted.items():
            kind_of_column = self.table.column(column).kind
            for conversion, mask in kinds.items():
                rows = mask.index[mask.to_numpy(dtype=bool)].intersection(kept.index)
                if not len(rows):
                    continue
                note = self.notices.setdefault(conversion, {
                    "count": 0, "columns": {},
                    "detail": CONVERSIONS[conversion].format(timezone=self.settings.timezone),
                    "examples": []})
                note["count"] += len(rows)
                note["columns"][column] = note["columns"].get(column, 0) + len(rows)
                written = self.raw.padded.get(column) if conversion == "trimmed" else None
                for i in rows[: max(0, 5 - len(note["examples"]))]:
                    before = written[i] if written is not None and i in written.index \
                        else kept.at[i, column]
                    note["examples"].append({
                        "row": int(i) + 1, "column": column, "before": _text(before),
                        "after": _text(typed.at[i, column], kind_of_column)})

    def _note_fractional(self, t: pd.DataFrame) -> None:
        """2.5 cabinets is more often a unit mix-up than a sale: kept, but said, unless
        the category is sold in fractions (contract.fractional_categories)."""
        qty = pd.to_numeric(t["quantity"], errors="coerce").astype(float)
        allowed = set(self.settings.fractional_categories)
        category = t["product_category"].astype("string")
        odd = qty.notna() & (qty != qty.round()) & ~category.isin(allowed).fillna(False)
        if not odd.any():
            return
        note = self.notices.setdefault("fractional_quantity", {
            "count": 0, "column": "quantity",
            "detail": "quantity is not a whole number of units; kept as it is (categories "
                      "sold in fractions: contract.fractional_categories)",
            "examples": []})
        note["count"] += int(odd.sum())
        for i in odd.index[odd.to_numpy()][: max(0, 5 - len(note["examples"]))]:
            note["examples"].append({"row": int(i) + 1, "value": float(qty[i]),
                                     "product_category": str(category[i])})

    # -- table-level -----------------------------------------------------------------
    def _require_columns(self, columns: list[str]) -> None:
        for name in self.table.required_columns:
            if name in columns:
                continue
            msg = f"{self.raw.path}: required column '{name}' is missing"
            unknown = [c for c in columns if c not in self.table.column_names]
            near = difflib.get_close_matches(name, unknown, n=1, cutoff=0.5)
            if near:
                msg += f"; the closest column in the file is '{near[0]}'"
            else:
                msg += f" (columns found: {', '.join(columns) or 'none'})"
            raise ContractError(msg)

    def _refuse_conflicting_dealers(self, kept: pd.DataFrame) -> None:
        ids = kept["dealer_id"].astype("string").str.strip()
        ids = ids[~is_blank(ids)]
        clash = ids[ids.duplicated(keep=False)]
        if clash.empty:
            return
        first_id = clash.iloc[0]
        rows = [int(i) + 1 for i in clash[clash == first_id].index[:2]]
        more = clash.nunique() - 1
        raise ContractError(
            f"{self.raw.path}: dealer_id '{first_id}' appears in rows {rows[0]} and {rows[1]} "
            f"with different values; keep one row per dealer"
            + (f" ({more} more dealer ids are duplicated)" if more else "")
        )

    # -- row-level -------------------------------------------------------------------
    def _fail(self, mask: pd.Series, reason: str, column: str,
              describe: Callable[[pd.Index], pd.Series] | str) -> None:
        """Record a failed check; the detail text is built for the failing rows only."""
        assert reason in REJECT_REASONS, reason
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        rows = mask.index[mask.to_numpy()]
        text = (pd.Series(describe, index=rows, dtype="string") if isinstance(describe, str)
                else describe(rows).astype("string"))
        self.failures.append((rows, reason, column, text))

    def _coerce(self, kept: pd.DataFrame) -> pd.DataFrame:
        typed = pd.DataFrame(index=kept.index)
        self.converted = {}
        for col in self.table.columns:
            if col.name not in kept:
                continue
            values, unreadable, converted = coerce(kept[col.name], col.kind,
                                                   many_values=col.many_values,
                                                   timezone=self.settings.timezone)
            padded = self.raw.padded.get(col.name)
            if padded is not None:  # a CSV cell, trimmed as it was read
                trimmed = pd.Series(kept.index.isin(padded.index), index=kept.index)
                converted["trimmed"] = converted.get("trimmed", trimmed) | trimmed
            if converted:
                self.converted[col.name] = converted
            typed[col.name] = values
            if col.kind in _UNREADABLE and unreadable.any():
                reason, text = _UNREADABLE[col.kind]
                raw = kept[col.name]
                self._fail(unreadable, reason, col.name,
                           lambda r, c=col.name, raw=raw, text=text:
                           c + ": '" + raw[r].astype("string") + "' " + text)
        for col in self.table.columns:
            if col.required and col.name in typed:
                missing = is_blank(kept[col.name])
                reason = "missing_id" if col.kind == Kind.ID else "missing_value"
                self._fail(missing, reason, col.name, f"{col.name}: required value is empty")
        return typed

    def _check_rows(self, kept: pd.DataFrame, typed: pd.DataFrame) -> None:
        for name in self.table.past_only:
            if name in typed:
                future = typed[name] >= self.as_of + pd.Timedelta(days=1)
                self._fail(future, "future_date", name,
                           lambda r, c=name: c + ": " + _day(typed[c][r])
                           + f" is after the data's as-of date {self.as_of:%Y-%m-%d}")
        check = getattr(self, f"_check_{self.table.name}")
        check(typed)
        if self.table.name != "dealers":
            self._check_dealer_known(typed)
            self._check_after_opening(typed)
            if self.table.key is not None:
                self._check_key_unique(kept, typed)

    def _check_dealers(self, t: pd.DataFrame) -> None:
        self._order("closed_on", "opened_on", t, "closed_before_opened")

    def _check_orders(self, t: pd.DataFrame) -> None:
        qty, amount = t["quantity"], t["net_amount"]
        self._fail(
            (amount < 0) & (qty >= 0),
            "negative_amount_not_return",
            "net_amount",
            lambda r: "net_amount: " + _num(amount[r]) + " is negative but quantity "
            + _num(qty[r]) + " is not a return",
        )
        self._fail(
            (amount > 0) & (qty < 0),
            "return_with_positive_amount",
            "net_amount",
            lambda r: "net_amount: " + _num(amount[r]) + " is positive on a return line "
            "(quantity " + _num(qty[r]) + ")",
        )
        limit = self.settings.max_abs_quantity
        self._fail(
            qty.abs() > limit,
            "absurd_quantity",
            "quantity",
            lambda r: "quantity: " + _num(qty[r]) + f" is beyond the bound of {limit:g} units "
            "(settings: contract.max_abs_quantity)",
        )

    def _check_tickets(self, t: pd.DataFrame) -> None:
        self._order("closed_at", "opened_at", t, "closed_before_opened")
        self._order("due_at", "opened_at", t, "due_before_opened")

    def _check_complaints(self, t: pd.DataFrame) -> None:
        self._order("resolved_on", "received_on", t, "resolved_before_received")
        severity = t["severity"]
        self._fail(
            severity.notna() & ~severity.isin([1, 2, 3]),
            "bad_severity",
            "severity",
            lambda r: "severity: " + _num(severity[r]) + " is not 1, 2 or 3",
        )
        self._one_of(t, "category", COMPLAINT_CATEGORIES, COMPLAINT_CATEGORY_ALIASES,
                     "unknown_category")

    def _check_deliveries(self, t: pd.DataFrame) -> None:
        pass  # early, late and undelivered are all facts to learn from, not errors

    def _check_visits(self, t: pd.DataFrame) -> None:
        pass

    def _check_programs(self, t: pd.DataFrame) -> None:
        self._order("ended_on", "started_on", t, "ended_before_started")
        cost = t["cost"]
        self._fail(cost < 0, "negative_cost", "cost",
                   lambda r: "cost: " + _num(cost[r]) + " is negative")
        self._one_of(t, "program", tuple(PROGRAM_KINDS), PROGRAM_ALIASES, "unknown_program")
        if "assigned_by" in t:
            self._one_of(t, "assigned_by", PROGRAM_ASSIGNMENTS, PROGRAM_ASSIGNMENT_ALIASES,
                         "unknown_assignment")

    def _one_of(self, t: pd.DataFrame, column: str, allowed: tuple[str, ...],
                aliases: dict[str, str], reason: str) -> None:
        """A column of the contract's words: other spellings (Chinese, capitals) are read as
        the word, with a notice; anything else rejects the row, naming what is allowed."""
        value = map_text(t[column], lambda s: s.str.strip().str.lower().replace(aliases))
        alias = (value.astype("string") != t[column].astype("string")).fillna(False)
        if alias.any():
            self.converted.setdefault(column, {})["category_alias"] = alias.astype(bool)
        t[column] = value
        self._fail(value.notna() & ~value.isin(allowed), reason, column,
                   lambda r: column + ": '" + value[r].astype("string") + "' is not one of "
                   + ", ".join(allowed))

    def _order(self, later: str, earlier: str, t: pd.DataFrame, reason: str) -> None:
        if later not in t:
            return
        a, b = t[later], t[earlier]
        fmt = "%Y-%m-%d %H:%M" if self.table.column(later).kind == Kind.TIMESTAMP else "%Y-%m-%d"
        self._fail(a < b, reason, later,
                   lambda r: later + ": " + _day(a[r], fmt) + " is before " + earlier + " "
                   + _day(b[r], fmt))

    def _check_dealer_known(self, t: pd.DataFrame) -> None:
        assert self.dealer_ids is not None, "dealers are loaded first"
        ids = t["dealer_id"]
        unknown = ids.notna() & ~ids.isin(self.dealer_ids)
        if not unknown.any():
            return
        def describe(rows: pd.Index) -> pd.Series:
            where = ids[rows].map(
                lambda d: f" (rejected in dealers, row {self.rejected_dealers[d]})"
                if d in self.rejected_dealers
                else " (not in the dealers table)"
            )
            return ("dealer_id: '" + ids[rows].astype("string") + "' is not an accepted dealer"
                    + where.astype("string"))

        self._fail(unknown, "unknown_dealer", "dealer_id", describe)

    def _check_after_opening(self, t: pd.DataFrame) -> None:
        """An event long before its dealer's contract began is someone else's, or a typo:
        kept, it would stretch the dealer's history back years and label false churns."""
        col = self.table.event_date
        if self.opened is None or col not in t:
            return
        start = _looked_up(self.opened, t["dealer_id"])
        grace = pd.Timedelta(days=self.settings.opened_grace_days)
        when = t[col].astype("datetime64[ns]")
        early = when.notna() & start.notna() & (when < start - grace)
        self._fail(early, "before_dealer_opened", col,
                   lambda r: col + ": " + _day(when[r]) + " is more than "
                   + f"{self.settings.opened_grace_days} days before the dealer's opened_on "
                   + _day(start[r]) + " (settings: contract.opened_grace_days)")

    def _check_key_unique(self, kept: pd.DataFrame, t: pd.DataFrame) -> None:
        """A key used again with other values, anywhere in the table, is rejected; the
        detail names the row that used it first (exact repeats were dropped before)."""
        key = self.table.key
        repeated = pd.Series(self.first_pass.key_repeated[self.position[t.index].to_numpy()],
                             index=t.index)
        ids = t[key].astype("string")
        first_row = self.first_pass.key_first_row
        self._fail(repeated, "duplicate_id", key,
                   lambda r: key + ": '" + ids[r] + "' was already used in row "
                   + ids[r].map(first_row).astype("string") + " with different values")

    # -- assembling rejects -------------------------------------------------------------
    def _first_failures(self, kept: pd.DataFrame):
        """Per failing row (only those): its first reason, column and value, and every
        problem's detail, in check order."""
        failing = pd.Index([], dtype=kept.index.dtype)
        for rows, *_ in self.failures:
            failing = failing.union(rows)
        reason = pd.Series(pd.NA, index=failing, dtype="string")
        column = pd.Series(pd.NA, index=failing, dtype="string")
        value = pd.Series(pd.NA, index=failing, dtype="string")
        detail = pd.Series(pd.NA, index=failing, dtype="string")
        for rows, why, col, text in self.failures:
            first = rows[reason[rows].isna().to_numpy()]
            also = rows.difference(first)
            reason[first] = why
            column[first] = col
            value[first] = kept.loc[first, col].astype("string") if col in kept else pd.NA
            detail[first] = text[first]
            detail[also] = detail[also] + "; " + text[also]
        return reason, column, value, detail

    def _malformed(self) -> pd.DataFrame:
        malformed = self.raw.malformed
        if malformed is None or not len(malformed):
            return _no_malformed()
        expected = malformed.attrs.get("fields_expected")
        return pd.DataFrame(
            {
                "row": malformed["row"].astype("int64"),
                "reason": "malformed_record",
                "column": pd.NA,
                "value": malformed["text"],
                "detail": f"record does not have the header's {expected} fields",
            }
        )


def _looked_up(days: pd.Series, ids: pd.Series) -> pd.Series:
    """Each row's day from `days` (a day per dealer id, ids unique), NaT where the id is
    missing or not there; a categorical column is looked up once per distinct id."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        known = days.index.get_indexer(ids.cat.categories.astype(object))
        codes = ids.cat.codes.to_numpy()
        at = np.where(codes >= 0, known[np.maximum(codes, 0)], -1)
    else:
        at = days.index.get_indexer(ids.astype(object))
    values = np.append(days.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(values[at], index=ids.index)  # at -1: the NaT appended last


def _reject_rows(rows: pd.DataFrame, reason: pd.Series, column: pd.Series,
                 value: pd.Series, detail: pd.Series) -> pd.DataFrame:
    """A chunk's rejected rows: where and why (REJECT_COLUMNS), then the row as written."""
    out = pd.DataFrame(
        {
            "row": (rows.index.to_numpy() + 1).astype("int64"),
            "reason": reason.reindex(rows.index).to_numpy(),
            "column": column.reindex(rows.index).to_numpy(),
            "value": value.reindex(rows.index).to_numpy(),
            "detail": detail.reindex(rows.index).to_numpy(),
        }
    )
    originals = rows.reset_index(drop=True).astype("string")
    return pd.concat([out, originals], axis=1)


def _assemble_rejects(parts: list[pd.DataFrame], malformed: pd.DataFrame) -> pd.DataFrame:
    """A table's rejects: its chunks' and its malformed records, in file order."""
    rejected = pd.concat([*parts, malformed], ignore_index=True)
    rejected = rejected.sort_values("row", kind="stable").reset_index(drop=True)
    for column in ("column", "value", "detail"):  # missing is <NA>, however concatenated
        rejected[column] = rejected[column].astype("string").astype(object)
    return rejected


def _no_malformed() -> pd.DataFrame:
    return pd.DataFrame(columns=REJECT_COLUMNS)


@functools.lru_cache(maxsize=64)
def _no_rejected_rows(columns: tuple[str, ...]) -> pd.DataFrame:
    """_reject_rows of no row of a chunk with these columns, built once: with
    _assemble_rejects its pandas steps cost about 5 ms a table with nothing to reject, a
    quarter of checking a posted dealer's clean history. Read only (concatenated, never
    changed)."""
    none = pd.Series(pd.NA, index=pd.Index([], dtype="int64"), dtype="string")
    return _reject_rows(pd.DataFrame(columns=list(columns), index=none.index), none, none,
                        none, none)


@functools.lru_cache(maxsize=64)
def _no_rejects(columns: tuple[str, ...]) -> pd.DataFrame:
    """_assemble_rejects of a table none of whose rows was rejected, built once (callers
    get a copy)."""
    return _assemble_rejects([_no_rejected_rows(columns)], _no_malformed())


REPEAT_TABLE = 1 << 24
SMALL_TABLE = 10_000
"""Up to this many rows, read at once, a table's rows are hashed in Python (_row_hashes)."""


class _FirstPass:
    """What needs the whole table before its chunks are checked: repeated rows and keys.

    Every row is hashed (64 bits, 8 bytes a row); only rows whose hash occurs more than
    once are candidates for exact duplicates, normally a tiny share. While the chunks are
    checked in order, each candidate is compared value by value with the earlier
    candidates of the same hash, so a hash collision can never drop a row. For a keyed
    table the trimmed keys are collected too, so a key used again anywhere is found in one
    pass, with the row that used it first."""

    def __init__(self, chunks: Iterable[pd.DataFrame], key: str | None,
                 hashes: np.ndarray | None = None,
                 key_candidates: tuple[np.ndarray, pd.Series] | None = None, *,
                 small: bool = False) -> None:
        """`hashes` and `key_candidates` (positions, raw keys), when given, come from
        DuckDB over a Parquet file; otherwise both are computed from the chunks."""
        given, keys, rows = hashes is not None, [], []
        parts = [] if hashes is None else [hashes]
        for chunk in chunks:
            if not given:
                parts.append(_row_hashes(chunk, small))
            if key is not None and key_candidates is None:
                keys.append(chunk[key])
                rows.append(chunk.index.to_numpy() + 1)
        self.hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        self.candidate = _repeated(self.hashes)
        self.earlier: dict[int, list[tuple]] = {}
        self.key_repeated = np.zeros(len(self.hashes), dtype=bool)
        self.key_first_row = pd.Series(dtype="int64")
        if key_candidates is not None:  # a Parquet file: positions are row numbers - 1
            where, keys, rows = key_candidates[0], [key_candidates[1]], [key_candidates[0] + 1]
        else:  # positions count the rows read; row numbers may skip malformed CSV records
            where = np.arange(sum(len(k) for k in keys))
        if key is not None and keys:
            self._key_reuse(pd.concat(keys, ignore_index=True), where, np.concatenate(rows))

    def _key_reuse(self, raw: pd.Series, where: np.ndarray, row: np.ndarray) -> None:
        """Keys (trimmed) used again (at table positions `where`), and the row number of
        each one's first use: one factorization (a hash pass over the strings), then
        integer work."""
        code, uniques = pd.factorize(coerce(raw, Kind.ID, many_values=True)[0])
        if not len(uniques):  # every key missing (rejected as such): none used again
            return
        first = np.full(len(uniques), -1, dtype=np.int64)
        known = code >= 0
        first[code[known][::-1]] = np.flatnonzero(known)[::-1]
        again = np.flatnonzero(known & (first[np.maximum(code, 0)] != np.arange(len(code))))
        self.key_repeated[where[again]] = True
        shared = np.flatnonzero(np.bincount(code[known], minlength=len(uniques)) > 1)
        self.key_first_row = pd.Series(row[first[shared]], index=uniques[shared])

    def duplicates(self, frame: pd.DataFrame, where: np.ndarray) -> np.ndarray:
        """Which rows of the next chunk (at table positions `where`) repeat an earlier row."""
        out = np.zeros(len(frame), dtype=bool)
        picks = np.flatnonzero(self.candidate[where])
        if not len(picks):
            return out
        values = frame.iloc[picks].astype("string").fillna("\x00<NA>")
        for i, row in zip(picks, values.itertuples(index=False, name=None), strict=True):
            seen = self.earlier.setdefault(int(self.hashes[where[i]]), [])
            if row in seen:
                out[i] = True
            else:
                seen.append(row)
        return out


def _row_hashes(chunk: pd.DataFrame, small: bool = False) -> np.ndarray:
    """Each row's 64-bit hash, by the text of its values (as rows are compared): two chunks
    of a Parquet file (its row groups) may type the same values differently (a dictionary
    of their own, booleans as bool in one and object with a None in another), which
    pandas would hash differently. `small`: the whole table was read at once and has at most
    SMALL_TABLE rows (a posted history), so every chunk of it is hashed as Python tuples of
    the same text, about a millisecond less per table than pandas' column passes; a table
    hashes all its rows one way."""
    text = chunk.astype("string")
    if small:
        rows = zip(*(text[c].to_numpy(dtype=object) for c in text.columns), strict=True)
        return np.fromiter((hash(row) for row in rows), dtype=np.int64,
                           count=len(text)).view(np.uint64)
    return pd.util.hash_pandas_object(text, index=False).to_numpy()


def _repeated(values: np.ndarray) -> np.ndarray:
    """Which 64-bit hashes occur more than once. One sort finds the repeated values
    (normally few); a 16-MB table of their low 24 bits then rules out almost every other
    row in one vectorized lookup, and only the rows that pass are compared exactly (at 46M
    rows: 7 s, against 20 s for a second sort through np.isin)."""
    out = np.zeros(len(values), bool)
    ordered = np.sort(values)
    again = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if not len(again):
        return out
    low = np.uint64(REPEAT_TABLE - 1)
    table = np.zeros(REPEAT_TABLE, dtype=bool)
    table[(again & low).astype(np.intp)] = True
    maybe = np.flatnonzero(table[(values & low).astype(np.intp)])
    out[maybe] = np.isin(values[maybe], again)
    return out


def concat_frames(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate checked chunks, merging the categories of categorical columns."""
    if len(parts) == 1:
        return parts[0]
    columns = {}
    for name in parts[0].columns:
        series = [p[name] for p in parts]
        if isinstance(series[0].dtype, pd.CategoricalDtype):
            columns[name] = pd.Series(pd.api.types.union_categoricals(series))
        else:
            columns[name] = pd.concat(series, ignore_index=True)
    return pd.DataFrame(columns)


def _text(value, kind: Kind | None = None) -> str:
    """A cell as text for a notice: a day as YYYY-MM-DD, a time with seconds, a number
    in full."""
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == Kind.DATE:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind == Kind.TIMESTAMP:
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value)


def _num(values: pd.Series) -> pd.Series:
    return values.map(lambda v: f"{v:g}" if pd.notna(v) else "empty").astype("string")


def _day(values: pd.Series, fmt: str = "%Y-%m-%d") -> pd.Series:
    return values.dt.strftime(fmt).astype("string")


def _empty_column(kind: Kind, n: int, many_values: bool = False) -> pd.Series:
    if kind in (Kind.ID, Kind.TEXT) and not many_values:
        return pd.Series(pd.Categorical([None] * n, categories=pd.Index([], dtype="string")))
    dtype = {
        Kind.ID: "string",
        Kind.TEXT: "string",
        Kind.DATE: "datetime64[ns]",
        Kind.TIMESTAMP: "datetime64[ns]",
        Kind.NUMBER: "float64",
        Kind.INTEGER: "Int64",
        Kind.BOOLEAN: "boolean",
    }[kind]
    return pd.Series(pd.NA if dtype in ("string", "Int64", "boolean") else None, index=range(n),
                     dtype=dtype)


def write_rejects(rejects: dict[str, pd.DataFrame], work_dir: Path) -> dict[str, Path]:
    """Replace <work>/rejects/ with this run's rejects, atomically per file.

    Files are UTF-8 with a BOM so that Excel on Chinese Windows shows the text correctly.
    A table with no rejects leaves no file, so a stale file never outlives its run.
    """
    folder = Path(work_dir) / "rejects"
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name in TABLES:
        target = folder / f"{name}.csv"
        frame = rejects.get(name)
        if frame is None or frame.empty:
            target.unlink(missing_ok=True)
            continue
        written[name] = write_csv_atomically(frame, target)
    return written


__all__ = [
    "ContractError",
    "LoadedData",
    "TableReport",
    "ValidationReport",
    "load_data",
    "write_rejects",
]
