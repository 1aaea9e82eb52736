"""Support requests against their deadlines: the board a channel manager reads each week.

Computed at each snapshot from the tickets table, as known at the cutoff: a request is
open at the cutoff when it was raised before it and not answered before it; past its
deadline when that deadline is before the cutoff. Over the `support.window_days` before
the cutoff, per request category, channel (the contract's optional `channel` column),
region and sales rep: requests raised, the share answered by their deadline (of those
whose deadline fell in the window, so every outcome is known), the median time to answer
(of those answered in the window), and the requests open past their deadline now, the
oldest first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import TICKETS
from features.events import EventRows, moment

DIMENSIONS = ("category", "channel", "region", "sales_rep_id")
"""What the board groups by; `channel` only when the tickets carry one."""
UNKNOWN = "unknown"
"""A request whose dealer has no rep, or a ticket without a channel."""

GROUP_COLUMNS = ("dimension", "value", "requests", "due", "answered_on_time",
                 "on_time_share", "median_hours_to_answer", "open_past_deadline",
                 "oldest_overdue_days")
OVERDUE_COLUMNS = ("ticket_id", "dealer_id", "dealer_name", "region", "sales_rep_id",
                   "category", "channel", "opened_at", "due_at", "days_overdue",
                   "escalated")
ROW_COLUMNS = (*OVERDUE_COLUMNS, "closed_at", "raised", "due_in_window", "on_time",
               "hours_to_answer", "overdue")


def support_rows(tickets: pd.DataFrame, dealers: pd.DataFrame, cutoff: pd.Timestamp,
                 window_days: int) -> pd.DataFrame:
    """The requests the board at this cutoff is made of (raised, due or answered in the
    window, or open past their deadline), each with what the cutoff knows of it. Stored
    beside the snapshot so that the board can be cut by any filter without the tickets
    table. Pure: the tables as loaded, no I/O."""
    t = _with_dealer(tickets, dealers)
    start = cutoff - pd.Timedelta(days=window_days)
    opened, due, closed = t["opened_at"], t["due_at"], t["closed_at"]
    known = opened < cutoff
    answered = closed.notna() & (closed < cutoff)
    t["raised"] = known & (opened >= start)
    t["due_in_window"] = known & (due >= start) & (due < cutoff)
    t["on_time"] = t["due_in_window"] & answered & (closed <= due)
    t["hours_to_answer"] = ((closed - opened).dt.total_seconds() / 3600).where(
        answered & (closed >= start))
    t["overdue"] = known & ~answered & (due < cutoff)
    t["days_overdue"] = np.floor((cutoff - due).dt.total_seconds() / 86400).where(t["overdue"])
    keep = t["raised"] | t["due_in_window"] | t["hours_to_answer"].notna() | t["overdue"]
    columns = [*ROW_COLUMNS]
    return t.loc[keep, columns].sort_values(["due_at", "ticket_id"], kind="stable"
                                            ).reset_index(drop=True)


def board(rows: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """One line per value of the dimension (category, channel, region, sales_rep_id)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, got {dimension!r}")
    if dimension == "channel" and len(rows) and not has_channel(rows):
        raise ValueError("the tickets carry no channel (the contract's optional `channel` "
                         "column)")
    if not len(rows):
        return pd.DataFrame(columns=list(GROUP_COLUMNS))
    g = rows.groupby(dimension, sort=True, observed=True)
    out = pd.DataFrame({
        "requests": g["raised"].sum(),
        "due": g["due_in_window"].sum(),
        "answered_on_time": g["on_time"].sum(),
        "median_hours_to_answer": g["hours_to_answer"].median(),
        "open_past_deadline": g["overdue"].sum(),
        "oldest_overdue_days": g["days_overdue"].max(),
    })
    with np.errstate(invalid="ignore", divide="ignore"):
        out["on_time_share"] = np.where(out["due"] > 0, out["answered_on_time"] / out["due"],
                                        np.nan)
    out = out.reset_index().rename(columns={dimension: "value"})
    out.insert(0, "dimension", dimension)
    for column in ("requests", "due", "answered_on_time", "open_past_deadline"):
        out[column] = out[column].astype(int)
    return out[list(GROUP_COLUMNS)]


def overdue(rows: pd.DataFrame) -> pd.DataFrame:
    """The requests open past their deadline at the cutoff, the oldest deadline first."""
    late = rows[rows["overdue"]] if len(rows) else rows
    return late[list(OVERDUE_COLUMNS)].reset_index(drop=True)


def has_channel(rows: pd.DataFrame) -> bool:
    return bool(len(rows)) and bool((rows["channel"] != UNKNOWN).any())


def _with_dealer(tickets: pd.DataFrame, dealers: pd.DataFrame) -> pd.DataFrame:
    """The tickets with their dealer's region, rep and name (the rep the dealer has now:
    the board is about who holds the request today), and a channel."""
    cols = [c for c in ("dealer_id", "name", "region", "sales_rep_id") if c in dealers]
    keys = dealers[cols].assign(dealer_id=lambda d: d["dealer_id"].astype(str))
    t = tickets.assign(dealer_id=tickets["dealer_id"].astype(str)).merge(
        keys, on="dealer_id", how="left").rename(columns={"name": "dealer_name"})
    for column in ("dealer_name", "region", "sales_rep_id", "channel"):
        if column not in t:
            t[column] = None
        t[column] = t[column].astype("string").fillna("" if column == "dealer_name"
                                                      else UNKNOWN)
    t["ticket_id"] = t["ticket_id"].astype("string")
    t["category"] = t["category"].astype("string")
    t["escalated"] = (t["escalated"].fillna(False).astype(bool) if "escalated" in t
                      else False)
    for column in ("opened_at", "due_at", "closed_at"):
        t[column] = pd.to_datetime(t[column])
    return t


def snapshot_support(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp,
                     window_days: int) -> pd.DataFrame | None:
    """What a snapshot stores for its board: support_rows, or None without a tickets table."""
    if "tickets" not in tables:
        return None
    start = cutoff - pd.Timedelta(days=window_days)
    # only what the board can hold leaves a large file (support_rows decides exactly)
    tickets = EventRows.of(TICKETS, tables["tickets"]).to_frame(
        f"opened_at < {moment(cutoff)} AND (opened_at >= {moment(start)} "
        f"OR due_at >= {moment(start)} OR closed_at IS NULL OR closed_at >= {moment(start)})")
    return support_rows(tickets, tables["dealers"], cutoff, window_days)
