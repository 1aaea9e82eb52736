"""Light, realistic mess: what a real export holds, so the loader's rejects path is exercised.

Each intended contract violation is listed in ``_truth/intended_rejects.csv`` with the
reason the loader should give, so tests can check that it catches exactly these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

UNKNOWN_DEALER = "D99999"


def to_text(table: pa.Table) -> pa.Table:
    """Every column as text, the way a CSV export holds it."""
    return pa.table({name: table[name].cast(pa.string()) for name in table.column_names})


def add_mess(
    tables: dict[str, pa.Table],
    rng: np.random.Generator,
    *,
    as_text: bool,
    period_end: pd.Timestamp,
    duplicate_share: float,
) -> tuple[dict[str, pa.Table], list[dict]]:
    """Return messy copies of the first chunk's tables and the list of intended rejects."""
    frames = {name: t.to_pandas() for name, t in tables.items()}
    intended: list[dict] = []
    future = (period_end + pd.Timedelta(days=3653)).date()

    def spoil(table: str, column: str, value, reason: str, rows: np.ndarray) -> None:
        frame = frames[table]
        i = int(rng.choice(rows))
        intended.append({"table": table, "key": _key(frame, i), "column": column,
                         "reason": reason})
        frame.loc[i, column] = value

    orders = frames["orders"]
    plain = np.flatnonzero((orders["status"] == "completed").to_numpy()
                           & (orders["quantity"] > 0).to_numpy())
    plain = rng.permutation(plain)
    spoil("orders", "net_amount", -float(orders.loc[plain[0], "net_amount"]),
          "negative_amount_not_return", plain[:1])
    spoil("orders", "dealer_id", UNKNOWN_DEALER, "unknown_dealer", plain[1:2])
    spoil("orders", "quantity", 999_999.0, "absurd_quantity", plain[2:3])
    spoil("orders", "order_date", future, "future_date", plain[3:4])
    optional = plain[10:10 + max(1, len(plain) // 1000)]
    orders = frames["orders"]
    orders.loc[optional, "list_amount"] = np.nan
    orders.loc[plain[5:6], "sku"] = None
    for name, spec in (("tickets", "closed_before_opened"), ("complaints", "bad_severity"),
                       ("visits", "missing_id"), ("deliveries", "unknown_dealer")):
        if frames[name].empty:
            continue
        rows = np.arange(len(frames[name]))
        if spec == "closed_before_opened":
            rows = np.flatnonzero(frames[name]["closed_at"].notna().to_numpy())
            i = int(rng.choice(rows))
            bad = frames[name].loc[i, "opened_at"] - pd.Timedelta(days=2)
            spoil(name, "closed_at", bad, spec, np.array([i]))
        elif spec == "bad_severity":
            spoil(name, "severity", 5, spec, rows)
        elif spec == "missing_id":
            spoil(name, "visit_id", None, spec, rows)
        else:
            spoil(name, "dealer_id", UNKNOWN_DEALER, spec, rows)

    if as_text:
        text = {name: to_text(pa.Table.from_pandas(f, schema=tables[name].schema,
                                                   preserve_index=False)).to_pandas()
                for name, f in frames.items()}
        frames = text
        orders = frames["orders"]
        for column, value, reason in (("order_date", "2023-02-30", "unparseable_date"),
                                      ("net_amount", "12,3x", "unparseable_number")):
            i = int(rng.choice(plain[20:]))
            orders.loc[i, column] = value
            intended.append({"table": "orders", "key": _key(orders, i), "column": column,
                             "reason": reason})

    orders = frames["orders"]
    n_dup = max(1, int(len(orders) * duplicate_share))
    copies = orders.iloc[np.sort(rng.choice(plain[30:], n_dup, replace=False))]
    frames["orders"] = pd.concat([orders, copies], ignore_index=True)

    out = {}
    for name, frame in frames.items():
        schema = pa.schema([(c, pa.string()) for c in frame.columns]) if as_text else (
            tables[name].schema)
        out[name] = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    return out, intended


def messy_dealer_row(columns: list[str], as_text: bool) -> dict:
    """A dealer whose contract ends before it starts: rejected, and it has no orders."""
    row = dict.fromkeys(columns)
    row.update({"dealer_id": "D99990", "name": "测试经销商", "region": "华东", "tier": "C",
                "opened_on": pd.Timestamp("2021-05-10").date(),
                "closed_on": pd.Timestamp("2020-01-01").date(), "channel": "showroom"})
    if as_text:
        row = {k: None if v is None else str(v) for k, v in row.items()}
    return row


def _key(frame: pd.DataFrame, i: int) -> str:
    """Enough of the row to find it again (ids are not unique for order lines)."""
    first = frame.columns[0]
    return f"{first}={frame.loc[i, first]}"
