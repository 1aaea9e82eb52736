"""Decision rows: each live dealer at each monthly cutoff, the program it was given that
month (or none), whether that choice was randomized, and whether it had left a year on.

A row is a decision a manager could have made at the cutoff with what was known then:
the features are the panel's (data before the cutoff), the treatment is a program that
started in the cutoff's month, and dealers with a program still running are left out
(they were not free to be given one; the simulator's truth leaves them out alike).

Randomized rows are the free dealers of a month in which pilots were drawn: a pilot's
program was chosen by lot among them, so comparing the piloted with the rest of that
month (whatever managers then did to the rest) measures a program's effect without
confounding. Manager-assigned rows carry the manager's reasons in them (dealers that
looked at risk), which only a propensity model can partly undo.

The outcome, `left`: the dealer is no longer active `horizon_months` after the cutoff (no
positive order for the churn label's `active_days`, or its contract closed): a dealer that
truly left, not one that went quiet for a quarter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NONE = "none"
"""The treatment of a row whose dealer was given no program that month."""


def month_start(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def decision_rows(panel: pd.DataFrame, programs: pd.DataFrame | None,
                  horizon_months: int) -> pd.DataFrame:
    """The panel's active rows with `program`, `assigned_by`, `randomized`, `pilot`
    (the piloted program of a randomized row, else none), `cost` and `left`.

    `left` is NaN where the cutoff `horizon_months` on is not in the panel (the outcome is
    not known yet): those rows are the ones to estimate effects for, not to learn from.
    """
    rows = panel.loc[panel["active"].astype(bool)].copy()
    rows["cutoff"] = pd.to_datetime(rows["cutoff"])
    rows["left"] = _left(panel, rows, horizon_months)
    programs = _programs(programs)
    started = programs.assign(cutoff=month_start(programs["started_on"]))
    started = started.sort_values(["dealer_id", "cutoff", "started_on"]).drop_duplicates(
        ["dealer_id", "cutoff"])
    rows = rows.merge(started[["dealer_id", "cutoff", "program", "assigned_by", "cost"]],
                      on=["dealer_id", "cutoff"], how="left")
    rows["program"] = rows["program"].fillna(NONE).astype(str)
    rows["assigned_by"] = rows["assigned_by"].astype("string")
    rows["cost"] = rows["cost"].fillna(0.0).astype(float)
    rows = rows.loc[~_running(rows, programs)].reset_index(drop=True)
    pilot_months = set(started.loc[started["assigned_by"] == "pilot", "cutoff"])
    rows["randomized"] = rows["cutoff"].isin(pilot_months)
    piloted = rows["assigned_by"].eq("pilot").fillna(False).to_numpy(dtype=bool)
    rows["pilot"] = np.where(rows["randomized"] & piloted, rows["program"], NONE)
    return rows


def _programs(programs: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["program_id", "dealer_id", "program", "started_on", "ended_on", "cost",
               "assigned_by"]
    if programs is None or programs.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    out = programs.copy()
    if "assigned_by" not in out.columns:
        out["assigned_by"] = pd.NA
    out["started_on"] = pd.to_datetime(out["started_on"])
    out["ended_on"] = pd.to_datetime(out["ended_on"])
    out["program"] = out["program"].astype(str)
    return out[columns]


def _running(rows: pd.DataFrame, programs: pd.DataFrame) -> np.ndarray:
    """True where a program that started before the row's month still runs at its cutoff."""
    if programs.empty:
        return np.zeros(len(rows), dtype=bool)
    span = programs[["dealer_id", "started_on", "ended_on"]].merge(
        rows[["dealer_id", "cutoff"]].reset_index(), on="dealer_id")
    started_before = span["started_on"] < span["cutoff"]
    ends = span["ended_on"].fillna(pd.Timestamp.max)
    busy = span.loc[started_before & (ends >= span["cutoff"]), "index"].unique()
    out = np.zeros(len(rows), dtype=bool)
    out[busy] = True
    return out


def _left(panel: pd.DataFrame, rows: pd.DataFrame, horizon_months: int) -> np.ndarray:
    """1 where the dealer is not active `horizon_months` after the row's cutoff (absent
    from the panel then counts as not active: closed, or dormant), NaN past the panel."""
    cutoffs = pd.DatetimeIndex(pd.to_datetime(panel["cutoff"]).unique())
    later = rows["cutoff"] + pd.DateOffset(months=horizon_months)
    active_later = pd.Series(panel["active"].astype(bool).to_numpy(), index=pd.MultiIndex
                             .from_arrays([panel["dealer_id"],
                                           pd.to_datetime(panel["cutoff"])]))
    keys = pd.MultiIndex.from_arrays([rows["dealer_id"], later])
    active = active_later.reindex(keys).fillna(False).to_numpy(dtype=bool)
    known = later.isin(cutoffs).to_numpy()
    return np.where(known, (~active).astype(float), np.nan)
