"""The ranked list of dealers at risk: the filters, the order and the CSV export that
GET /v1/risk and the dashboard's worklist share."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from serve.service.render import summary
from serve.service.state import ServingState, Snapshot

SORT_COLUMNS = {"revenue_at_risk": "revenue_at_risk", "churn_probability": "churn_probability",
                "decline_probability": "decline_probability",
                "change": "churn_probability_change"}


def _changed(state: ServingState, frame: pd.DataFrame, since: date) -> pd.Series:
    """Rows whose scores differ from the newest snapshot on or before `since` (or are new)."""
    older = [d for d in state.snapshots if d <= since.isoformat()]
    if not older:
        return pd.Series(True, index=frame.index)
    ref = state.snapshots[max(older)].frame.set_index("dealer_id")
    ids = frame["dealer_id"]
    new = ~ids.isin(ref.index)
    diff = pd.Series(False, index=frame.index)
    for col in ("churn_probability", "decline_probability"):
        before = ref[col].reindex(ids).to_numpy()
        diff |= ~np.isclose(frame[col].to_numpy(), before, rtol=0, atol=1e-12)
    diff |= frame["band"].to_numpy() != ref["band"].reindex(ids).to_numpy()
    return new | diff


def select_dealers(state: ServingState, snap: Snapshot, *, region=None, tier=None,
                   sales_rep=None, band=None, stage=None, min_probability=None,
                   changed_since=None, search: str | None = None) -> pd.DataFrame:
    """The current snapshot's rows matching every given filter."""
    frame = snap.frame
    mask = pd.Series(True, index=frame.index)
    for col, wanted in (("region", region), ("tier", tier), ("sales_rep_id", sales_rep),
                        ("band", band), ("stage", stage)):
        if wanted:
            mask &= frame[col].isin(wanted)
    if min_probability is not None:
        mask &= frame["churn_probability"] >= min_probability
    if changed_since is not None:
        mask &= _changed(state, frame, changed_since)
    if search and search.strip():
        text = search.strip().lower()
        mask &= (frame["dealer_id"].str.lower().str.contains(text, regex=False)
                 | frame["dealer_name"].fillna("").str.lower().str.contains(text,
                                                                            regex=False))
    return frame[mask]


def ordered(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    """Highest first, ties by dealer id; unknown values (no previous score) last. The sort
    key stays in `_key` (the cursor of a page names it)."""
    key = frame[SORT_COLUMNS[sort]].fillna(-np.inf)
    return frame.assign(_key=key).sort_values(["_key", "dealer_id"], ascending=[False, True],
                                              kind="stable")


@dataclass(frozen=True)
class CsvExport:
    """A table for a spreadsheet: its text, the file name to save it as, and the meta a
    JSON answer would carry (as-of date, model versions), for headers."""

    text: str
    filename: str
    meta: dict[str, str] = field(default_factory=dict)


def worklist_csv(frame: pd.DataFrame, lang: str, snap: Snapshot,
                 open_alerts: dict[str, list]) -> CsvExport:
    """Every dealer of an `ordered` selection, one summary line each."""
    rows = [summary(r, lang, len(open_alerts.get(r["dealer_id"], ())))
            for r in frame.drop(columns="_key").to_dict("records")]
    out = pd.DataFrame(rows)
    if len(out):
        out["flags"] = out["flags"].map(";".join)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False)
    return CsvExport(buffer.getvalue(), f"dealer-risk-{snap.as_of}.csv", {
        "As-Of": snap.as_of,
        "Model-Versions": ",".join(f"{k}={v}" for k, v in snap.versions.items())})
