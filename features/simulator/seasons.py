"""Seasonality of cabinet and wardrobe orders in China, day by day.

The Spring Festival dip moves with the lunar calendar (late January to mid February), so
it is computed per year rather than pinned to a month; spring and September-October are
the renovation peaks; online dealers spike before Double-11 (11 November).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from lunardate import LunarDate

MONTH_OF_YEAR = np.array([0.95, 0.95, 1.10, 1.15, 1.10, 1.00, 0.90, 0.90, 1.15, 1.15, 1.05, 1.00])
FESTIVAL_DIP = 0.75  # orders fall by this share in the festival week and the fortnight after
FESTIVAL_WINDOW = (-7, 14)  # days around the festival's first day
FESTIVAL_RAMP = 5  # days over which the dip fades in and out
DOUBLE_11 = (date(2000, 11, 1), date(2000, 11, 11), 3.0)  # online: days 1-11 Nov at 3x


def spring_festival(year: int) -> date:
    return LunarDate(year, 1, 1).to_solar_date()


def daily_weights(days: pd.DatetimeIndex, channel: str) -> np.ndarray:
    """Relative order intensity of each day for a channel (showroom, online, project)."""
    weight = MONTH_OF_YEAR[days.month - 1].astype(float)
    festivals = pd.DatetimeIndex([spring_festival(y) for y in range(days.year.min() - 1,
                                                                    days.year.max() + 2)])
    offset = np.array(days.values[:, None] - festivals.values[None, :], dtype="timedelta64[D]")
    offset = offset.astype(int)
    nearest = offset[np.arange(len(days)), np.abs(offset).argmin(axis=1)]
    lo, hi = FESTIVAL_WINDOW
    depth = np.clip(
        np.minimum(nearest - (lo - FESTIVAL_RAMP), (hi + FESTIVAL_RAMP) - nearest) / FESTIVAL_RAMP,
        0.0, 1.0)
    weight = weight * (1.0 - FESTIVAL_DIP * depth)
    if channel == "online":
        start, end, boost = DOUBLE_11
        in_window = (days.month == 11) & (days.day >= start.day) & (days.day <= end.day)
        weight = np.where(in_window, weight * boost, weight)
    return weight


def monthly_calendar(month_starts: pd.DatetimeIndex, channels: list[str]) -> dict[str, dict]:
    """Per channel: each month's seasonal factor (mean 1 over whole years) and day CDFs."""
    days = pd.date_range(month_starts[0], month_starts[-1] + pd.offsets.MonthEnd(1), freq="D")
    month_of_day = np.searchsorted(month_starts.values, days.values, side="right") - 1
    out: dict[str, dict] = {}
    for channel in channels:
        w = daily_weights(days, channel)
        per_month = np.bincount(month_of_day, weights=w) / np.bincount(month_of_day)
        factor = per_month / per_month.mean()
        day_index = [np.flatnonzero(month_of_day == m) for m in range(len(month_starts))]
        cdfs = [np.cumsum(w[ix]) / w[ix].sum() for ix in day_index]
        out[channel] = {"factor": factor, "cdfs": cdfs}
    return out


def sample_days(
    cdfs: list[np.ndarray], months: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Day of month (0-based) for each event, drawn from its month's seasonal CDF."""
    out = np.empty(len(months), dtype=np.int64)
    for m in np.unique(months):
        sel = months == m
        out[sel] = np.searchsorted(cdfs[m], u[sel], side="right")
        out[sel] = np.minimum(out[sel], len(cdfs[m]) - 1)
    return out
