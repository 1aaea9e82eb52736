"""Compute functions of the feature families: pure functions of the monthly aggregates.

Each takes the aggregates and an array of cutoff indices and returns a [dealer, cutoff]
array. Windows are whole months before the cutoff; a window reaching before the data
begins, or a ratio whose denominator is zero, is NaN (unknown), never 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.monthly import ORDER_KEY_BASE, Monthly


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _change(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    return _ratio(now, before) - 1.0


def window_sum(m: Monthly, cut: np.ndarray, *, name: str, months: int,
               lag: int = 0) -> np.ndarray:
    return m.window(name, cut, months, lag)


def window_mean(m: Monthly, cut: np.ndarray, *, name: str, months: int) -> np.ndarray:
    return m.window(name, cut, months) / months


def window_change(m: Monthly, cut: np.ndarray, *, name: str, months: int,
                  lag: int) -> np.ndarray:
    """Relative change of a window sum against the same-length window `lag` months earlier."""
    return _change(m.window(name, cut, months), m.window(name, cut, months, lag))


def window_share(m: Monthly, cut: np.ndarray, *, num: str, den: str, months: int,
                 lag: int = 0, scale: float = 1.0) -> np.ndarray:
    return _ratio(m.window(num, cut, months, lag), m.window(den, cut, months, lag)) * scale


def share_change(m: Monthly, cut: np.ndarray, *, num: str, den: str, months: int,
                 base_months: int, base_lag: int, scale: float = 1.0) -> np.ndarray:
    """A recent share minus the same share over an earlier base window (in its own units)."""
    now = window_share(m, cut, num=num, den=den, months=months, scale=scale)
    base = window_share(m, cut, num=num, den=den, months=base_months, lag=base_lag,
                        scale=scale)
    return now - base


def ratio_change(m: Monthly, cut: np.ndarray, *, num: str, den: str, months: int,
                 base_months: int, base_lag: int) -> np.ndarray:
    """Relative change of a ratio (e.g. unit price) against an earlier base window."""
    now = window_share(m, cut, num=num, den=den, months=months)
    base = window_share(m, cut, num=num, den=den, months=base_months, lag=base_lag)
    return _change(now, base)


def one_minus_share(m: Monthly, cut: np.ndarray, *, num: str, den: str, months: int,
                    lag: int = 0) -> np.ndarray:
    return 1.0 - window_share(m, cut, num=num, den=den, months=months, lag=lag)


def discount_change(m: Monthly, cut: np.ndarray, *, months: int, base_months: int,
                    base_lag: int) -> np.ndarray:
    now = one_minus_share(m, cut, num="listed_net", den="listed_list", months=months)
    base = one_minus_share(m, cut, num="listed_net", den="listed_list", months=base_months,
                           lag=base_lag)
    return now - base


def surge(m: Monthly, cut: np.ndarray, *, name: str, months: int, base_months: int) -> np.ndarray:
    """Count in the recent window minus the dealer's usual count for a window that long."""
    now = m.window(name, cut, months)
    usual = m.window(name, cut, base_months, lag=months) * months / base_months
    return now - usual


def monthly_cv(m: Monthly, cut: np.ndarray, *, months: int) -> np.ndarray:
    """Volatility of monthly amounts: standard deviation over mean."""
    if "amount_sq" not in m.sums:
        m.sums["amount_sq"] = m.sums["amount"] ** 2
    mean = m.window("amount", cut, months) / months
    var = m.window("amount_sq", cut, months) / months - mean**2
    return _ratio(np.sqrt(np.clip(var, 0, None)), mean)


def trend_slope(m: Monthly, cut: np.ndarray, *, months: int) -> np.ndarray:
    """Least-squares slope of monthly amounts, as a share of their mean per month."""
    if "amount_t" not in m.sums:
        m.sums["amount_t"] = m.sums["amount"] * np.arange(m.n_months)[None, :]
    total = m.window("amount", cut, months)
    weighted = m.window("amount_t", cut, months)
    centre = cut - (months + 1) / 2.0  # mean month index of the window
    t_var = months * (months**2 - 1) / 12.0
    slope = (weighted - centre[None, :] * total) / t_var
    return _ratio(slope, total / months)


def days_since(m: Monthly, cut: np.ndarray, *, event: str) -> np.ndarray:
    if event not in m.last_day:
        return np.full((len(m.dealer_ids), len(cut)), np.nan)
    day = m.cutoff_dates()[cut].to_numpy(dtype="datetime64[D]").astype("int64")
    return day[None, :] - m.last_day[event][:, cut]


def per_month_since_first(m: Monthly, cut: np.ndarray, *, name: str) -> np.ndarray:
    """A monthly quantity summed over the dealer's whole history in the data, per month
    since its first order month: a rate that means the same at any age (a 3-month-old and
    a 10-year-old dealer compare), unlike a count over a fixed window."""
    if "first_order_month" not in m.cache:
        ordered = m.sums["orders"] > 0
        m.cache["first_order_month"] = np.where(ordered.any(axis=1), ordered.argmax(axis=1),
                                                m.n_months)
    first = m.cache["first_order_month"]
    months = cut[None, :] - first[:, None]
    total = m.cumulative(name)[:, cut]
    return np.where(months >= 1, total / np.maximum(months, 1), np.nan)


def quiet_share(m: Monthly, cut: np.ndarray) -> np.ndarray:
    """Days since the last order over days since the first order (in the data): the share
    of the dealer's observed life it has been silent at the end (1 - recency/age in the
    buy-till-you-die models)."""
    first = _first_order_day(m)
    day = m.cutoff_dates()[cut].to_numpy(dtype="datetime64[D]").astype("int64")[None, :]
    since_first = day - first[:, None]
    since_last = day - m.last_day["order"][:, cut]
    return np.where(since_first > 0, since_last / np.where(since_first > 0, since_first, 1),
                    np.nan)


def _order_keys(m: Monthly) -> tuple[np.ndarray, np.ndarray]:
    keys = m.order_keys if m.order_keys is not None else np.zeros(0, dtype=np.int64)
    return keys // ORDER_KEY_BASE, keys % ORDER_KEY_BASE


def _first_order_day(m: Monthly) -> np.ndarray:
    """Per dealer, its first order day in the data (days since 1970; inf if none)."""
    if "first_order_day" not in m.cache:
        dealer, day = _order_keys(m)
        first = np.full(len(m.dealer_ids), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, dealer, day)  # keys are sorted: one scatter, few dealers
        m.cache["first_order_day"] = np.where(first == np.iinfo(np.int64).max, np.inf,
                                              first.astype(float))
    return m.cache["first_order_day"]


def _order_days_before(m: Monthly) -> np.ndarray:
    """[dealer, cutoff]: distinct order days before each cutoff."""
    if "order_days_before" not in m.cache:
        dealer, day = _order_keys(m)
        month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) \
            - np.int64(m.first_month.ordinal)
        keep = month < m.n_months
        width = m.n_months + 1
        counts = np.bincount(dealer[keep] * width + np.maximum(month[keep], 0) + 1,
                             minlength=len(m.dealer_ids) * width)
        m.cache["order_days_before"] = np.cumsum(counts.reshape(-1, width), axis=1)
    return m.cache["order_days_before"]


def order_days_lifetime(m: Monthly, cut: np.ndarray) -> np.ndarray:
    """Distinct days with an order before the cutoff, since the first (NaN before it):
    the frequency of the buy-till-you-die models (one purchase occasion per day)."""
    counts = _order_days_before(m)[:, cut].astype(float)
    return np.where(counts > 0, counts, np.nan)


def amount_lifetime(m: Monthly, cut: np.ndarray) -> np.ndarray:
    """Net order amount before the cutoff since the first order in the data (NaN before
    it): with the days ordered, what the dealer spends on a day it orders."""
    ordered = _order_days_before(m)[:, cut] > 0
    return np.where(ordered, m.cumulative("amount")[:, cut], np.nan)


def days_since_first(m: Monthly, cut: np.ndarray) -> np.ndarray:
    """Days from the first order in the data to the cutoff (NaN before it): the age of
    the buy-till-you-die models."""
    day = m.cutoff_dates()[cut].to_numpy(dtype="datetime64[D]").astype("int64")[None, :]
    since = day - _first_order_day(m)[:, None]
    return np.where(since > 0, since, np.nan)


def running_count(m: Monthly, cut: np.ndarray, *, name: str) -> np.ndarray:
    return m.running[name][:, cut].astype(float)


def rep_changed(m: Monthly, cut: np.ndarray, *, months: int) -> np.ndarray:
    """1 if the visiting rep changed within the window, else 0."""
    latest = m.rep_change_month[:, cut]
    return ((latest >= 0) & (latest >= cut[None, :] - months)).astype(float)


def _category_cumulative(m: Monthly) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative monthly amount per (dealer, category) pair, and each pair's dealer."""
    if "category_cum" not in m.cache:
        pairs = m.category_pairs
        key = pairs["dealer"].to_numpy() * 1_000_003 + pd.factorize(pairs["category"])[0]
        pair = np.unique(key, return_inverse=True)[1]
        n_pairs = int(pair.max()) + 1 if len(pair) else 0
        dense = np.zeros((n_pairs, m.n_months + 1))
        np.add.at(dense, (pair, pairs["month"].to_numpy() + 1), pairs["amount"].to_numpy())
        dealer_of_pair = np.zeros(n_pairs, dtype=np.int64)
        dealer_of_pair[pair] = pairs["dealer"].to_numpy()
        m.cache["category_cum"] = (np.cumsum(dense, axis=1), dealer_of_pair)
    return m.cache["category_cum"]


def _category_windows(m: Monthly, cut: np.ndarray, months: int, lag: int) -> tuple:
    cum, dealer_of_pair = _category_cumulative(m)
    end = cut - lag
    start = end - months
    sums = cum[:, np.maximum(end, 0)] - cum[:, np.maximum(start, 0)]
    return sums, dealer_of_pair, start


def category_breadth(m: Monthly, cut: np.ndarray, *, months: int, lag: int = 0) -> np.ndarray:
    sums, dealer, start = _category_windows(m, cut, months, lag)
    n = len(m.dealer_ids)
    out = np.stack([np.bincount(dealer, weights=(sums[:, j] > 0).astype(float), minlength=n)
                    for j in range(len(cut))], axis=1) if len(cut) else np.zeros((n, 0))
    m.blank_before_data(out, start)
    return out


def category_breadth_change(m: Monthly, cut: np.ndarray, *, months: int) -> np.ndarray:
    return (category_breadth(m, cut, months=months)
            - category_breadth(m, cut, months=months, lag=months))


def top_category_share(m: Monthly, cut: np.ndarray, *, months: int) -> np.ndarray:
    sums, dealer, start = _category_windows(m, cut, months, 0)
    n = len(m.dealer_ids)
    top = np.zeros((n, len(cut)))
    np.maximum.at(top, dealer, sums)
    out = _ratio(top, m.window("gross", cut, months))
    m.blank_before_data(out, start)
    return out


def tenure_months(m: Monthly, cut: np.ndarray) -> np.ndarray:
    """Whole months from the contract's first month to the cutoff."""
    opened = m.opened_on.dt.to_period("M")
    first = (opened - m.first_month).map(lambda x: x.n).to_numpy(dtype=float)
    return cut[None, :] - first[:, None]


def is_new(m: Monthly, cut: np.ndarray, *, months: int) -> np.ndarray:
    return (tenure_months(m, cut) < months).astype(float)


def month_of_year(m: Monthly, cut: np.ndarray) -> np.ndarray:
    months = m.cutoff_dates()[cut].month.to_numpy(dtype=float)
    return np.broadcast_to(months, (len(m.dealer_ids), len(cut))).copy()


def festival_ahead(m: Monthly, cut: np.ndarray, *, months: int) -> np.ndarray:
    """1 if the Spring Festival falls within the next `months` months (it moves each year)."""
    from lunardate import LunarDate

    starts = m.cutoff_dates()[cut]
    flags = []
    for start in starts:
        end = start + pd.DateOffset(months=months)
        days = [pd.Timestamp(LunarDate(y, 1, 1).to_solar_date()) for y in
                (start.year, start.year + 1)]
        flags.append(float(any(start <= d < end for d in days)))
    return np.broadcast_to(np.array(flags), (len(m.dealer_ids), len(cut))).copy()
