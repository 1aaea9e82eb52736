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

from features.contract import EVENT_TABLES, TABLES
from features.events import EventRows, reduce_events
from features.orderlines import ORDER_KEY_BASE as _KEY_BASE
from features.orderlines import OrderLines, aggregate_orders

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
    visiting_rep: np.ndarray | None = None
    """[dealer, cutoff]: the rep of the dealer's last visit before the cutoff (object; None
    if no visit named one yet): who looks after the dealer then, point in time."""
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
    for name in EVENT_TABLES:
        if tables.get(name) is not None:
            _events(m, name, tables[name])
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


def _latest_rep(month_reps: pd.DataFrame, n: int, months: int) -> np.ndarray:
    """[dealer, cutoff]: the rep of the latest dealer-month before each cutoff that names
    one (`month_reps`: code, month, sales_rep_id, one row per dealer-month)."""
    out = np.full((n, months + 1), None, dtype=object)
    if not len(month_reps):
        return out
    names, rep = np.unique(month_reps["sales_rep_id"].astype(str).to_numpy(),
                           return_inverse=True)
    grid = np.full((n, months), -1, dtype=np.int64)
    grid[month_reps["code"].to_numpy(dtype=np.int64),
         month_reps["month"].to_numpy(dtype=np.int64)] = rep
    seen = np.where(grid >= 0, np.arange(months)[None, :], -1)
    last = np.maximum.accumulate(seen, axis=1)  # latest month with a rep, up to each month
    picked = np.take_along_axis(grid, np.maximum(last, 0), axis=1)
    out[:, 1:] = np.where(last >= 0, names.astype(object)[np.maximum(picked, 0)], None)
    return out


def _before_cutoff(monthly_max: np.ndarray) -> np.ndarray:
    """[dealer, cutoff]: the largest of a [dealer, month] maximum (-inf: none) over the
    months before each cutoff; NaN where there is none yet."""
    best = np.maximum.accumulate(monthly_max, axis=1)
    out = np.full((best.shape[0], best.shape[1] + 1), np.nan)
    out[:, 1:] = np.where(np.isinf(best), np.nan, best)
    return out


def _orders(m: Monthly, orders: OrderLines) -> None:
    """Order-line aggregates, computed in DuckDB (see features.orderlines)."""
    agg = aggregate_orders(orders, m.dealer_ids, m.first_month, m.n_months)
    m.sums.update(agg.sums)
    m.sums["active_month"] = (m.sums["gross"] > 0).astype(float)
    # the last order day before each cutoff, and every (dealer, day) with an order for labels
    m.last_day["order"] = _before_cutoff(agg.last_day)
    m.order_keys = agg.dealer_days
    m.category_pairs = agg.category_pairs


def _events(m: Monthly, name: str, rows: EventRows | pd.DataFrame) -> None:
    """An event table's measures (features.events: the SQL both engines run)."""
    cells = reduce_events(EventRows.of(TABLES[name], rows), m.dealer_ids, m.first_month,
                          m.n_months)
    m.sums.update(cells.sums)
    m.running.update(cells.running)
    n, months = len(m.dealer_ids), m.n_months
    if "visit_last_day" in cells.monthly_max:
        m.last_day["visit"] = _before_cutoff(cells.monthly_max["visit_last_day"])
    if cells.rep_changes is not None:
        dealer, month = cells.rep_changes[:, 0], cells.rep_changes[:, 1]
        m.rep_change_month = latest_before_cutoff(dealer * months + month,
                                                  month.astype(float), n, months, none=-1.0)
    if cells.month_reps is not None:
        m.visiting_rep = _latest_rep(cells.month_reps, n, months)
