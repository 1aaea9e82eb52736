"""Dealer x calendar-month aggregates: the one heavy pass over the event tables.

A cutoff is the first day of a month, so "dated strictly before the cutoff" is "in an
earlier month", and every window feature is a difference of cumulative monthly sums.
What a cutoff knows about things still running (open tickets, unresolved complaints) is
kept as intervals in cutoff space: a ticket opened in month o and closed in month k is
open at every cutoff c with o < c <= k.

Each fact is binned by the month in which it became known: overdue tickets by their
deadline month, late deliveries by their promised month, delays and damage by their
delivery month, resolution times by their closing month. That is what makes the features
point-in-time correct by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.orderlines import ORDER_KEY_BASE as _KEY_BASE
from features.orderlines import OrderLines, aggregate_orders

QUALITY_COMPLAINTS = ("quality", "installation")
ORDER_KEY_BASE = np.int64(_KEY_BASE)


@dataclass
class Monthly:
    """Aggregates as [dealer, month] arrays; cutoff index c means the first day of month c."""

    dealer_ids: pd.Index
    first_month: pd.Period
    n_months: int
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    """Additive per-month quantities, [dealer, month]."""
    running: dict[str, np.ndarray] = field(default_factory=dict)
    """Counts of things running at each cutoff, [dealer, cutoff index 0..n_months]."""
    last_day: dict[str, np.ndarray] = field(default_factory=dict)
    """Last event day (days since 1970) before each cutoff, [dealer, cutoff]; NaN if none."""
    category_pairs: pd.DataFrame | None = None
    """Positive order amount per (dealer, category, month), long form."""
    order_keys: np.ndarray | None = None
    """Sorted dealer * 2**32 + day of every positive order line (all of them, for labels)."""
    rep_change_month: np.ndarray | None = None
    """[dealer, cutoff]: latest month (index) before the cutoff in which the visiting rep
    differed from the previous visit's rep; -1 if never."""
    tables: frozenset[str] = frozenset()
    opened_on: pd.Series | None = None
    cache: dict = field(default_factory=dict)

    def cumulative(self, name: str) -> np.ndarray:
        """[dealer, cutoff]: the sum over all months before each cutoff."""
        key = "_cum_" + name
        if key not in self.sums:
            x = self.sums[name]
            out = np.zeros((x.shape[0], x.shape[1] + 1))
            np.cumsum(x, axis=1, out=out[:, 1:])
            self.sums[key] = out
        return self.sums[key]

    def window(self, name: str, cut: np.ndarray, months: int, lag: int = 0) -> np.ndarray:
        """[dealer, len(cut)]: sum over months [c - lag - months, c - lag); NaN where the
        window reaches before the data begins, for dealers that may have traded then."""
        cum = self.cumulative(name)
        end = cut - lag
        start = end - months
        out = cum[:, np.maximum(end, 0)] - cum[:, np.maximum(start, 0)]
        self.blank_before_data(out, start)
        return out

    def blank_before_data(self, out: np.ndarray, start: np.ndarray) -> None:
        """Unknown (NaN) where a window starts before the data, except for dealers whose
        contract opened in or after the data's first month: their whole history is in the
        data, so the months before it are truly empty (a new dealer's 12 months, a cohort
        that starts with the data)."""
        before = start < 0
        if not before.any():
            return
        out[np.ix_(~self.complete_history(), before)] = np.nan

    def complete_history(self) -> np.ndarray:
        """[dealer]: the contract opened in or after the data's first month."""
        if "complete_history" not in self.cache:
            if self.opened_on is None:
                known = np.zeros(len(self.dealer_ids), dtype=bool)
            else:
                opened = self.opened_on.to_numpy(dtype="datetime64[M]")
                first = np.datetime64(self.first_month.start_time, "M")
                known = ~np.isnat(opened) & (opened >= first)
            self.cache["complete_history"] = known
        return self.cache["complete_history"]

    def cutoff_index(self, cutoffs: pd.DatetimeIndex) -> np.ndarray:
        return (cutoffs.to_period("M") - self.first_month).map(lambda x: x.n).to_numpy(int)

    def cutoff_dates(self) -> pd.DatetimeIndex:
        return pd.period_range(self.first_month, periods=self.n_months + 1,
                               freq="M").to_timestamp()


def month_index(dates: pd.Series, first: pd.Period) -> np.ndarray:
    """Months since `first` (NaT -> a large sentinel so intervals stay open)."""
    values = dates.to_numpy(dtype="datetime64[M]")
    out = values.astype("int64") - np.int64(first.ordinal)
    out[np.isnat(values)] = np.iinfo(np.int32).max
    return out


def build_monthly(tables: dict[str, pd.DataFrame], last_cutoff: pd.Timestamp,
                  first_month: pd.Period | None = None) -> Monthly:
    """Aggregate every event table per dealer and month, up to the month before last_cutoff.

    `first_month` is where the data's history starts (default: the first order's month);
    windows reaching before it are unknown. One dealer's posted history passes the batch
    data's start, so its features mean what the batch's mean.
    """
    dealers = tables["dealers"]
    orders = OrderLines.of(tables["orders"])
    first = history_start(tables)
    if first_month is not None:
        first = min(first, pd.Period(first_month, freq="M"))
    last = pd.Period(last_cutoff, freq="M")
    n_months = max(1, (last - first).n)
    m = Monthly(dealer_ids=pd.Index(dealers["dealer_id"]), first_month=first, n_months=n_months,
                tables=frozenset(name for name, t in tables.items() if t is not None),
                opened_on=dealers["opened_on"].reset_index(drop=True))
    _orders(m, orders)
    if tables.get("tickets") is not None:
        _tickets(m, tables["tickets"])
    if tables.get("complaints") is not None:
        _complaints(m, tables["complaints"])
    if tables.get("deliveries") is not None:
        _deliveries(m, tables["deliveries"])
    if tables.get("visits") is not None:
        _visits(m, tables["visits"])
    return m


def history_start(tables: dict[str, pd.DataFrame]) -> pd.Period:
    """The first month of order history: windows reaching before it are unknown, not zero."""
    return pd.Period(order_dates(tables)[0], freq="M")


def order_dates(tables: dict[str, pd.DataFrame | OrderLines]) -> tuple[pd.Timestamp,
                                                                       pd.Timestamp]:
    """The first and last order day (the orders table may be lines left in a file)."""
    orders = tables["orders"]
    if isinstance(orders, OrderLines):
        return orders.date_range()
    return orders["order_date"].min(), orders["order_date"].max()


def dealer_codes(m: Monthly, dealer_id: pd.Series) -> np.ndarray:
    """Each row's dealer as its position in m.dealer_ids (-1 if unknown)."""
    return m.dealer_ids.get_indexer(dealer_id).astype(np.int64)


class _Binner:
    """Sums values into [dealer, month] cells for events inside the aggregated range."""

    def __init__(self, m: Monthly, codes: np.ndarray, dates: pd.Series) -> None:
        self.m = m
        month = month_index(dates, m.first_month)
        self.keep = (codes >= 0) & (month >= 0) & (month < m.n_months)
        self.key = codes[self.keep] * m.n_months + month[self.keep]
        self.codes, self.month = codes, month

    def sum(self, weights: np.ndarray | pd.Series | None = None) -> np.ndarray:
        size = len(self.m.dealer_ids) * self.m.n_months
        w = None if weights is None else np.asarray(weights, dtype="float64")[self.keep]
        if w is not None:
            w = np.nan_to_num(w)
        return np.bincount(self.key, weights=w, minlength=size).reshape(
            len(self.m.dealer_ids), self.m.n_months)

    def last_day(self, dates: pd.Series, mask: np.ndarray) -> np.ndarray:
        """[dealer, cutoff]: the latest event day strictly before each cutoff."""
        day = dates.to_numpy(dtype="datetime64[D]").astype("int64").astype("float64")
        sel = self.keep & mask
        return latest_before_cutoff(self.codes[sel] * self.m.n_months + self.month[sel],
                                    day[sel], len(self.m.dealer_ids), self.m.n_months)


def latest_before_cutoff(cell: np.ndarray, values: np.ndarray, n: int, months: int,
                         none: float = np.nan) -> np.ndarray:
    """[dealer, cutoff]: the largest value in any dealer-month cell before each cutoff
    (`cell` = dealer * months + month); `none` where there is none yet."""
    best = np.full(n * months, -np.inf)
    np.maximum.at(best, cell, values)
    best = np.maximum.accumulate(best.reshape(n, months), axis=1)
    out = np.full((n, months + 1), none)
    out[:, 1:] = np.where(np.isinf(best), none, best)
    return out


def _running(m: Monthly, codes: np.ndarray, start: pd.Series, end: pd.Series,
             mask: np.ndarray | None = None) -> np.ndarray:
    """[dealer, cutoff]: how many items started before the cutoff and had not ended before it
    (start month < c <= end month; a missing end is still running)."""
    n, months = len(m.dealer_ids), m.n_months
    s = month_index(start, m.first_month) + 1
    e = np.minimum(month_index(end, m.first_month), months) + 1
    keep = (codes >= 0) & (s <= months) & (e > s)
    if mask is not None:
        keep &= mask
    s = np.maximum(s[keep], 0)
    e = np.maximum(e[keep], 0)
    codes = codes[keep]
    width = months + 2
    diff = np.bincount(codes * width + s, minlength=n * width).astype(float)
    diff -= np.bincount(codes * width + e, minlength=n * width)
    return np.cumsum(diff.reshape(n, width), axis=1)[:, : months + 1]


def _orders(m: Monthly, orders: OrderLines) -> None:
    """Order-line aggregates, computed in DuckDB (see features.orderlines)."""
    agg = aggregate_orders(orders, m.dealer_ids, m.first_month, m.n_months)
    m.sums.update(agg.sums)
    m.sums["active_month"] = (m.sums["gross"] > 0).astype(float)
    # the last order day before each cutoff, and every (dealer, day) with an order for labels
    best = np.maximum.accumulate(agg.last_day, axis=1)
    last = np.full((len(m.dealer_ids), m.n_months + 1), np.nan)
    last[:, 1:] = np.where(np.isinf(best), np.nan, best)
    m.last_day["order"] = last
    m.order_keys = agg.dealer_days
    m.category_pairs = agg.category_pairs


def _tickets(m: Monthly, t: pd.DataFrame) -> None:
    codes = dealer_codes(m, t["dealer_id"])
    opened = _Binner(m, codes, t["opened_at"])
    m.sums["tickets"] = opened.sum()
    m.sums["escalated"] = opened.sum(t["escalated"].fillna(False).to_numpy(dtype=float))
    late = (t["closed_at"].isna() | (t["closed_at"] > t["due_at"])).to_numpy()
    due = _Binner(m, codes, t["due_at"])
    m.sums["tickets_due"] = due.sum()
    m.sums["tickets_overdue"] = due.sum(late.astype(float))
    closed = _Binner(m, codes, t["closed_at"])
    hours = (t["closed_at"] - t["opened_at"]).dt.total_seconds().to_numpy() / 3600
    m.sums["tickets_closed"] = closed.sum(np.isfinite(hours).astype(float))
    m.sums["resolution_hours"] = closed.sum(hours)
    m.running["tickets_open"] = _running(m, codes, t["opened_at"], t["closed_at"])
    m.running["tickets_overdue_open"] = _running(m, codes, t["due_at"], t["closed_at"],
                                                 mask=late)


def _complaints(m: Monthly, c: pd.DataFrame) -> None:
    codes = dealer_codes(m, c["dealer_id"])
    bins = _Binner(m, codes, c["received_on"])
    m.sums["complaints"] = bins.sum()
    m.sums["complaints_severe"] = bins.sum((c["severity"] == 3).to_numpy(dtype=float,
                                                                         na_value=0))
    m.sums["complaints_quality"] = bins.sum(c["category"].isin(QUALITY_COMPLAINTS).to_numpy(
        dtype=float))
    m.running["complaints_open"] = _running(m, codes, c["received_on"], c["resolved_on"])


def _deliveries(m: Monthly, d: pd.DataFrame) -> None:
    codes = dealer_codes(m, d["dealer_id"])
    promised = _Binner(m, codes, d["promised_on"])
    late = (d["delivered_on"].isna() | (d["delivered_on"] > d["promised_on"])).to_numpy()
    m.sums["deliveries_due"] = promised.sum()
    m.sums["deliveries_late"] = promised.sum(late.astype(float))
    delivered = _Binner(m, codes, d["delivered_on"])
    delay = (d["delivered_on"] - d["promised_on"]).dt.days.to_numpy(dtype=float, na_value=np.nan)
    m.sums["delivered"] = delivered.sum(np.isfinite(delay).astype(float))
    m.sums["delay_days"] = delivered.sum(np.clip(delay, 0, None))
    m.sums["damaged"] = delivered.sum(d["damaged"].fillna(False).to_numpy(dtype=float))


def _visits(m: Monthly, v: pd.DataFrame) -> None:
    bins = _Binner(m, dealer_codes(m, v["dealer_id"]), v["visited_on"])
    m.sums["visits"] = bins.sum()
    m.last_day["visit"] = bins.last_day(v["visited_on"], np.ones(len(v), dtype=bool))
    # rep changes: a visit by another rep than the dealer's previous visit
    n, months = len(m.dealer_ids), m.n_months
    frame = pd.DataFrame({"dealer": bins.codes, "month": bins.month, "day": v["visited_on"],
                          "rep": v["sales_rep_id"]})[bins.keep & v["sales_rep_id"].notna()
                                                     .to_numpy()]
    frame = frame.sort_values(["dealer", "day"], kind="stable")
    changed = (frame["rep"] != frame.groupby("dealer")["rep"].shift()) & frame.duplicated(
        "dealer")
    hits = frame[changed.to_numpy()]
    month = hits["month"].to_numpy()
    m.rep_change_month = latest_before_cutoff(hits["dealer"].to_numpy() * months + month,
                                              month.astype(float), n, months, none=-1.0)
