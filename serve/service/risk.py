"""The ranked list of dealers at risk: the filters, the order and the CSV export that
GET /v1/risk and the dashboard's worklist share."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from serve.service.headers import Header, labelled
from serve.service.render import SUMMARY_COLUMNS, summary
from serve.service.state import ServingState, Snapshot

SORT_COLUMNS = {"revenue_at_risk": "revenue_at_risk", "churn_probability": "churn_probability",
                "decline_probability": "decline_probability",
                "leave_probability": "leave_probability",
                "change": "churn_probability_change", "months_ordering": "months_ordering"}
ASCENDING = frozenset({"months_ordering"})
"""Sorts whose smallest value comes first: the dealers expected to stop ordering soonest."""


ITEM_COLUMNS = (*SUMMARY_COLUMNS, "top_reason_en", "top_reason_zh", "flags", "alerts")
"""The snapshot columns a list item is made of (its open alerts count the rules firing in
`alerts`): a dealer whose columns all equal the reference snapshot's has the same item."""


def reference_snapshot(state: ServingState, since: date) -> Snapshot | None:
    """The newest snapshot on or before `since`: what an incremental pull compares with
    (None when every snapshot is newer: the answer is then a complete list)."""
    older = [d for d in state.snapshots if d <= since.isoformat()]
    return state.snapshots[max(older)] if older else None


def _changed(frame: pd.DataFrame, ref: Snapshot | None) -> pd.Series:
    """Rows that are new since the reference snapshot, or whose list item differs in any
    field (numbers to 1e-12; unknown equals unknown)."""
    if ref is None:
        return pd.Series(True, index=frame.index)
    then = ref.frame.set_index("dealer_id").reindex(frame["dealer_id"])
    diff = ~frame["dealer_id"].isin(ref.position).to_numpy()
    for col in ITEM_COLUMNS[1:]:  # the dealer's id is the join
        if col not in frame.columns or col not in then.columns:
            diff |= col in frame.columns or col in then.columns
            continue
        now, before = frame[col].to_numpy(), then[col].to_numpy()
        if frame[col].dtype.kind == "f":
            now, before = now.astype(float), before.astype(float)
            same = np.isclose(now, before, rtol=0, atol=1e-12) | (np.isnan(now)
                                                                  & np.isnan(before))
        else:
            same = (pd.Series(now).fillna("\0").to_numpy()
                    == pd.Series(before).fillna("\0").to_numpy())
        diff |= ~same
    return pd.Series(diff, index=frame.index)


def select_dealers(state: ServingState, snap: Snapshot, *, region=None, tier=None,
                   sales_rep=None, band=None, stage=None, min_probability=None,
                   changed_since=None, search: str | None = None, kind=None) -> pd.DataFrame:
    """The current snapshot's rows matching every given filter (`kind`: risk kinds,
    serve.batch.scoring.RISK_KINDS; a snapshot from before the leave model is all
    `unknown`)."""
    frame = snap.frame
    mask = pd.Series(True, index=frame.index)
    if kind:
        kinds = (frame["risk_kind"] if "risk_kind" in frame.columns
                 else pd.Series("unknown", index=frame.index))
        mask &= kinds.isin(kind)
    for col, wanted in (("region", region), ("tier", tier), ("sales_rep_id", sales_rep),
                        ("band", band), ("stage", stage)):
        if wanted:
            mask &= frame[col].isin(wanted)
    if min_probability is not None:
        mask &= frame["churn_probability"] >= min_probability
    if changed_since is not None:
        mask &= _changed(frame, reference_snapshot(state, changed_since))
    if search and search.strip():
        text = search.strip().lower()
        mask &= (frame["dealer_id"].str.lower().str.contains(text, regex=False)
                 | frame["dealer_name"].fillna("").str.lower().str.contains(text,
                                                                            regex=False))
    return frame[mask]


def ordered(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    """Highest first (lowest for the ASCENDING sorts), ties by dealer id; unknown values (no
    previous score, no survival model) last. The sort key stays in `_key` (the cursor of a
    page names it)."""
    column = SORT_COLUMNS[sort]
    values = (frame[column] if column in frame.columns
              else pd.Series(np.nan, index=frame.index))
    key = (-values if sort in ASCENDING else values).fillna(-np.inf)
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
                 open_alerts: dict[str, list], header: Header = "columns") -> CsvExport:
    """Every dealer of an `ordered` selection, one summary line each; headers the column
    names, or their labels in `lang` (serve.service.headers)."""
    rows = [summary(r, lang, len(open_alerts.get(r["dealer_id"], ())))
            for r in frame.drop(columns="_key").to_dict("records")]
    out = pd.DataFrame(rows)
    if len(out):
        out["flags"] = out["flags"].map(";".join)
    buffer = io.StringIO()
    labelled(out, lang, header).to_csv(buffer, index=False)
    return CsvExport(buffer.getvalue(), f"dealer-risk-{snap.as_of}.csv", {
        "As-Of": snap.as_of,
        "Model-Versions": ",".join(f"{k}={v}" for k, v in snap.versions.items())})


REMOVED_REASONS = ("closed", "inactive", "filtered", "unknown")


def removed_dealers(state: ServingState, ref: Snapshot, *, region=None, tier=None,
                    sales_rep=None, band=None, stage=None, min_probability=None,
                    search: str | None = None, kind=None) -> list[dict]:
    """The dealers an incremental pull must delete: in the reference snapshot's selection,
    not in the current one. Each with `removed_as_of` (the first snapshot after the last
    that held it in the selection), `last_as_of` (that last one), and why: `closed` (its
    contract ended), `inactive` (no positive order in labels.churn.active_days, or silent
    long enough to leave the panel), `filtered` (still scored, no longer matching the
    filters), or `unknown` (no longer in the data, or a snapshot scored before rosters)."""
    filters = {"region": region, "tier": tier, "sales_rep": sales_rep, "band": band,
               "stage": stage, "min_probability": min_probability, "search": search,
               "kind": kind}
    dates = sorted(d for d in state.snapshots if d >= ref.as_of)
    held = {d: set(select_dealers(state, state.snapshots[d], **filters)["dealer_id"])
            for d in dates}
    current = state.current
    gone = sorted(held[dates[0]] - held[dates[-1]])
    if not gone:
        return []
    roster = (current.roster.set_index("dealer_id")["status"]
              if current.roster is not None else None)
    out = []
    for dealer in gone:
        last = max(d for d in dates if dealer in held[d])
        removed = dates[dates.index(last) + 1]
        if dealer in current.position:
            reason = "filtered"
        elif roster is not None and dealer in roster.index:
            reason = str(roster[dealer])
        else:
            reason = "unknown"
        then = state.snapshots[last]
        row = then.records[then.position[dealer]]
        out.append({"dealer_id": dealer, "dealer_name": _text(row["dealer_name"]),
                    "region": row["region"], "tier": row["tier"],
                    "sales_rep_id": _text(row["sales_rep_id"]), "reason": reason,
                    "last_as_of": last, "removed_as_of": removed})
    return out


def _text(value: object) -> str | None:
    return None if pd.isna(value) else str(value)
