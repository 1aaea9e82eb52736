"""Life-cycle stage of each dealer at each cutoff, from its own point-in-time features.

new, growing, mature, declining, dormant or churned: managers act differently on each
(nurture, grow territory, retain, revive, or let go). Checked in this order:
- churned: no order for `churned_after_days` (closed contracts leave the panel);
- dormant: no order for `dormant_after_days`;
- new: tenure under `new_months`;
- declining: last 12 months' orders at least `change` below the 12 months before, or the
  last 3 months at least `recent_change` below the same months a year earlier (a dealer
  whose year still looks good but whose last quarter fell steeply is not "growing");
- growing: last 12 months' orders at least `change` above the 12 months before;
- mature: everyone else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.settings import StageSettings

STAGES = ("new", "growing", "mature", "declining", "dormant", "churned")


def stage(frame: pd.DataFrame, settings: StageSettings) -> np.ndarray:
    """One stage per row of a panel (features of one cutoff or many). A closed contract
    reads as churned; the panel itself holds no closed dealers."""
    days = frame["orders_days_since_last"].to_numpy(dtype=float)
    never = np.isnan(days)
    tenure = frame["profile_tenure_months"].to_numpy(dtype=float)
    change = frame["orders_change_yoy_12m"].to_numpy(dtype=float)
    recent = frame["orders_change_yoy_3m"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        conditions = [
            ~never & (days >= settings.churned_after_days),
            ~never & (days >= settings.dormant_after_days),
            tenure < settings.new_months,
            (change <= -settings.change) | (recent <= -settings.recent_change),
            change >= settings.change,
        ]
    choices = ["churned", "dormant", "new", "declining", "growing"]
    return np.select(conditions, choices, default="mature").astype(object)
