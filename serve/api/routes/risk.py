"""The ranked list of dealers at risk: filters, sort, cursor pages, incremental pulls, CSV."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Header, HTTPException, Query, Response

from serve.api.choices import check_dealer_filters
from serve.api.cursors import cursor_matches, decode_cursor, encode_cursor, filters_stamp
from serve.api.deps import AppSettings, Reader, State
from serve.api.render import meta, pick_lang, summary
from serve.api.responses import JSON, json_response
from serve.api.schemas import RiskList
from serve.api.state import ServingState, Snapshot

router = APIRouter(prefix="/v1", tags=["risk"])
SORT_COLUMNS = {"revenue_at_risk": "revenue_at_risk", "churn_probability": "churn_probability",
                "decline_probability": "decline_probability",
                "change": "churn_probability_change"}
Sort = Literal["revenue_at_risk", "churn_probability", "decline_probability", "change"]


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
    """The current snapshot's rows matching every given filter (shared with the dashboard)."""
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
    """Highest first, ties by dealer id; unknown values (no previous score) last."""
    key = frame[SORT_COLUMNS[sort]].fillna(-np.inf)
    return frame.assign(_key=key).sort_values(["_key", "dealer_id"], ascending=[False, True],
                                              kind="stable")


@router.get("/risk", response_model=RiskList, response_class=JSON,
            responses={200: {"content": {"text/csv": {}}},
                       409: {"description": "The snapshot changed under a cursor"}})
def list_risk(
    state: State, settings: AppSettings, _: Reader,
    region: Annotated[list[str] | None, Query(description="Repeat for several.")] = None,
    tier: Annotated[list[str] | None, Query()] = None,
    sales_rep: Annotated[list[str] | None, Query(description="sales_rep_id")] = None,
    band: Annotated[list[str] | None, Query(examples=["critical"])] = None,
    stage: Annotated[list[str] | None, Query(examples=["declining"], description="Life-cycle "
                                             "stage")] = None,
    min_probability: Annotated[float | None, Query(ge=0, le=1, description="Minimum churn "
                                                   "probability")] = None,
    sort: Annotated[Sort, Query()] = "revenue_at_risk",
    limit: Annotated[int | None, Query(ge=1, description="Page size (default and maximum "
                                       "in settings: api.page_size, api.max_page_size)")]
    = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")]
    = None,
    changed_since: Annotated[date | None, Query(description="Only dealers whose scores "
                                                "changed since the snapshot of this date "
                                                "(incremental pulls)")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Search: part of the "
                                   "dealer's id or name")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: every matching "
                                                    "dealer, no pages")] = "json",
    lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
    accept_language: Annotated[str | None, Header()] = None,
):
    """Dealers ranked by revenue at risk (or another score), with filters and pages."""
    snap = state.current
    size = limit or settings.api.page_size
    if size > settings.api.max_page_size:
        raise HTTPException(422, f"limit must be at most {settings.api.max_page_size}")
    check_dealer_filters(settings, band=band, stage=stage)
    filters = {"region": region, "tier": tier, "sales_rep": sales_rep, "band": band,
               "stage": stage, "min_probability": min_probability,
               "changed_since": changed_since and changed_since.isoformat(), "q": q}
    chosen = ordered(select_dealers(state, snap, region=region, tier=tier, sales_rep=sales_rep,
                              band=band, stage=stage, min_probability=min_probability,
                              changed_since=changed_since, search=q), sort)
    language = pick_lang(lang, accept_language)
    if format == "csv":
        return csv_response(chosen, language, snap.as_of, snap.versions, state.open_alerts)
    start = 0
    if cursor is not None:
        c = decode_cursor(cursor, {"as_of", "sort", "key", "id"})
        cursor_matches(c, as_of=snap.as_of, sort=sort, filters=filters)
        key, ids = chosen["_key"].to_numpy(), chosen["dealer_id"].to_numpy()
        after = (key < c["key"]) | ((key == c["key"]) & (ids > c["id"]))
        start = int(np.argmax(after)) if after.any() else len(chosen)
    page = chosen.iloc[start:start + size]
    more = start + size < len(chosen)
    next_cursor = None
    if more and len(page):
        last = page.iloc[-1]
        next_cursor = encode_cursor({"as_of": snap.as_of, "sort": sort,
                                     "filters": filters_stamp(filters),
                                     "key": float(last["_key"]), "id": str(last["dealer_id"])})
    items = [summary(r, language, len(state.open_alerts.get(r["dealer_id"], ())))
             for r in page.drop(columns="_key").to_dict("records")]
    return json_response({"meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
                          "total": len(chosen), "items": items, "next_cursor": next_cursor})


def csv_response(frame: pd.DataFrame, lang: str, as_of: str, versions: dict[str, str],
         open_alerts: dict[str, list]) -> Response:
    """Every matching dealer; the meta a JSON answer carries goes into headers."""
    rows = [summary(r, lang, len(open_alerts.get(r["dealer_id"], ())))
            for r in frame.drop(columns="_key").to_dict("records")]
    out = pd.DataFrame(rows)
    if len(out):
        out["flags"] = out["flags"].map(";".join)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="dealer-risk-{as_of}.csv"',
        "X-Dealer-Risk-As-Of": as_of,
        "X-Dealer-Risk-Model-Versions": ",".join(f"{k}={v}" for k, v in versions.items())})
