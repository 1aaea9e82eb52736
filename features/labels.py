"""Labels: what happened in [cutoff, cutoff + horizon), for the dealers each label is about.

A label exists only when its horizon lies wholly inside the data; otherwise it is NaN and
the row is one to score, not to learn from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.monthly import ORDER_KEY_BASE, Monthly
from features.settings import LabelSettings

LABEL_COLUMNS = ("churn", "leave", "leave_month", "decline", "next_amount")


def active_mask(days_since_order: np.ndarray, closed: np.ndarray, active_days: int) -> np.ndarray:
    """Active at the cutoff: a positive order within `active_days`, contract not closed."""
    return (days_since_order <= active_days) & ~closed


def churn_label(m: Monthly, row_dealer: np.ndarray, dealers: pd.DataFrame, rows: pd.DataFrame,
                data_end: pd.Timestamp, settings: LabelSettings) -> np.ndarray:
    """1: no positive order within the horizon, or the contract closes within it."""
    horizon = pd.Timedelta(days=settings.churn.horizon_days)
    start = rows["cutoff"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    ordered = _orders_between(m, row_dealer, start, start + horizon.days)
    closes = _closes_between(dealers, row_dealer, rows, horizon)
    label = (~ordered | closes).astype(float)
    complete = (rows["cutoff"] + horizon <= data_end).to_numpy()
    return np.where(complete & rows["active"].to_numpy(), label, np.nan)


def leave_label(m: Monthly, row_dealer: np.ndarray, dealers: pd.DataFrame, rows: pd.DataFrame,
                data_end: pd.Timestamp, settings: LabelSettings) -> np.ndarray:
    """1: the dealer leaves: no positive order in the `confirm_months` after the churn
    horizon, or its contract closes within the horizon.

    The churn label cannot tell a dealer that is gone from one that pauses (a store refit, a
    gap between project orders) and orders again; this one waits until a silence has lasted
    long enough to be a loss, so it is known only `confirm_months` later."""
    horizon = pd.Timedelta(days=settings.churn.horizon_days)
    start = rows["cutoff"].to_numpy(dtype="datetime64[D]").astype(np.int64) + horizon.days
    confirm_end = (rows["cutoff"] + horizon + pd.DateOffset(months=settings.leave.confirm_months))
    end = confirm_end.to_numpy(dtype="datetime64[D]").astype(np.int64)
    ordered = _orders_between(m, row_dealer, start, end)
    closes = _closes_between(dealers, row_dealer, rows, horizon)
    label = (~ordered | closes).astype(float)
    complete = (confirm_end <= data_end).to_numpy()
    return np.where(complete & rows["active"].to_numpy(), label, np.nan)


def leave_month(m: Monthly, row_dealer: np.ndarray, row_cut: np.ndarray, dealers: pd.DataFrame,
                active: np.ndarray, settings: LabelSettings) -> np.ndarray:
    """The month a dealer is gone, counted from the cutoff (1: the cutoff's own month): the
    first month from which it orders nothing for `leave.confirm_months` months, or in which
    its contract closes. Inf when the data shows no such month; NaN outside the population.

    What the survival model learns from (models.survival). A month's silence is known only
    `confirm_months` later, so the training at an origin censors each row where its origin's
    data stops telling (models.survival.observed): a row is never judged on data after it.
    """
    confirm = settings.leave.confirm_months
    ordered = m.sums["active_month"] > 0
    n = ordered.shape[1]
    cum = np.zeros((ordered.shape[0], n + 1), dtype=np.int32)
    np.cumsum(ordered, axis=1, out=cum[:, 1:])
    gone = np.zeros(ordered.shape, dtype=bool)
    known = max(n - confirm + 1, 0)  # months g whose [g, g + confirm) lies in the data
    g = np.arange(known)
    gone[:, :known] = cum[:, g + confirm] == cum[:, g]
    closed = dealers["closed_on"].to_numpy(dtype="datetime64[M]")
    first = np.datetime64(m.first_month.start_time, "M")
    closed_month = np.where(np.isnat(closed), n, (closed - first).astype(np.int64))
    gone |= np.arange(n)[None, :] >= closed_month[:, None]
    # the first gone month at or after each month (n: none), by a reversed running minimum
    month = np.where(gone, np.arange(n)[None, :], n)
    first_gone = np.minimum.accumulate(month[:, ::-1], axis=1)[:, ::-1]
    first_gone = np.concatenate([first_gone, np.full((len(first_gone), 1), n)], axis=1)
    at = first_gone[row_dealer, np.clip(row_cut, 0, n)]
    out = np.where(at < n, (at - row_cut + 1).astype(float), np.inf)
    return np.where(active, out, np.nan)


def _orders_between(m: Monthly, row_dealer: np.ndarray, start: np.ndarray, end: np.ndarray
                    ) -> np.ndarray:
    """Whether each row's dealer has a positive order on a day in [start, end) (day numbers)."""
    keys, big = m.order_keys, ORDER_KEY_BASE
    row_code = row_dealer.astype(np.int64)
    at = np.searchsorted(keys, row_code * big + start)
    found = at < len(keys)
    nxt = np.where(found, keys[np.minimum(at, len(keys) - 1)], 0)
    same_dealer = found & (nxt // big == row_code)
    return same_dealer & ((nxt % big) < end)


def _closes_between(dealers: pd.DataFrame, row_dealer: np.ndarray, rows: pd.DataFrame,
                    horizon: pd.Timedelta) -> np.ndarray:
    closed_on = pd.Series(dealers["closed_on"].to_numpy()[row_dealer], index=rows.index)
    return ((closed_on >= rows["cutoff"]) & (closed_on < rows["cutoff"] + horizon)).to_numpy()


def amount_labels(m: Monthly, rows_dealer: np.ndarray, rows_cut: np.ndarray,
                  tenure: np.ndarray, active: np.ndarray, complete_months: int,
                  settings: LabelSettings) -> tuple[np.ndarray, np.ndarray]:
    """(decline, next_amount) for each row; NaN outside the population or the data."""
    h = settings.forecast.horizon_months
    cum = m.cumulative("amount")
    last = cum.shape[1] - 1

    def months_sum(end: np.ndarray, length: int) -> np.ndarray:
        start = end - length
        ok = (start >= 0) & (end <= last)
        out = cum[rows_dealer, np.clip(end, 0, last)] - cum[rows_dealer, np.clip(start, 0, last)]
        return np.where(ok, out, np.nan)

    next_amount = months_sum(rows_cut + h, h)
    known = active & (rows_cut + h <= complete_months)
    next_amount = np.where(known, next_amount, np.nan)

    d = settings.decline
    ahead = months_sum(rows_cut + d.horizon_months, d.horizon_months)
    year_ago = months_sum(rows_cut + d.horizon_months - 12, d.horizon_months)
    trailing = months_sum(rows_cut, d.horizon_months)
    reference = np.where(tenure >= d.min_tenure_months, year_ago, trailing)
    with np.errstate(invalid="ignore"):
        decline = np.where(reference > 0, (ahead < (1 - d.drop) * reference).astype(float),
                           np.nan)
    known = active & (rows_cut + d.horizon_months <= complete_months)
    return np.where(known, decline, np.nan), next_amount
