"""The ranked list of dealers at risk (GET /v1/risk): filters, sort, cursor pages,
incremental pulls, CSV; the selection is serve.service.risk's, shared with the worklist."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Header, HTTPException, Query

from serve.api.cursors import cursor_matches, decode_cursor, encode_cursor, filters_stamp
from serve.api.params import CsvHeaderQuery
from serve.api.schemas import RiskList
from serve.service.choices import check_dealer_filters
from serve.service.render import meta, pick_lang, summary
from serve.service.risk import (
    ordered,
    reference_snapshot,
    removed_dealers,
    select_dealers,
    worklist_csv,
)
from serve.web.deps import AppSettings, Reader, State
from serve.web.responses import JSON, csv_response, json_response

router = APIRouter(prefix="/v1", tags=["risk"])
Sort = Literal["revenue_at_risk", "churn_probability", "decline_probability",
               "leave_probability", "change", "months_ordering"]


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
    kind: Annotated[list[Literal["leaving", "quiet_spell", "low", "unknown"]] | None, Query(
        description="Risk kind: leaving (most of the churn risk is signs of leaving), "
        "quiet_spell (likely to order again after a gap), low (churn probability below "
        "scoring.kind_min_probability), unknown (no leave model)")] = None,
    sort: Annotated[Sort, Query()] = "revenue_at_risk",
    limit: Annotated[int | None, Query(ge=1, description="Page size (default and maximum "
                                       "in settings: api.page_size, api.max_page_size)")]
    = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")]
    = None,
    changed_since: Annotated[date | None, Query(description="Incremental pull: only the "
                                                "dealers new or changed since the snapshot "
                                                "of this date (pass the meta.as_of of your "
                                                "last pull), and on the first page those "
                                                "that left (`changes.removed`)")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Search: part of the "
                                   "dealer's id or name")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: every matching "
                                                    "dealer, no pages")] = "json",
    lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
    accept_language: Annotated[str | None, Header()] = None,
    header: CsvHeaderQuery = "columns",
):
    """Dealers ranked by revenue at risk (or another score), with filters and pages."""
    snap = state.current
    size = limit or settings.api.page_size
    if size > settings.api.max_page_size:
        raise HTTPException(422, f"limit must be at most {settings.api.max_page_size}")
    check_dealer_filters(settings, band=band, stage=stage)
    filters = {"region": region, "tier": tier, "sales_rep": sales_rep, "band": band,
               "stage": stage, "min_probability": min_probability,
               "changed_since": changed_since and changed_since.isoformat(), "q": q,
               "kind": kind}
    selection = {"region": region, "tier": tier, "sales_rep": sales_rep, "band": band,
                 "stage": stage, "min_probability": min_probability, "search": q,
                 "kind": kind}
    chosen = ordered(select_dealers(state, snap, changed_since=changed_since, **selection),
                     sort)
    language = pick_lang(lang, accept_language)
    if format == "csv":
        return csv_response(worklist_csv(chosen, language, snap, state.open_alerts, header))
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
    answer = {"meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
              "total": len(chosen), "items": items, "next_cursor": next_cursor}
    if changed_since is not None:
        ref = reference_snapshot(state, changed_since)
        removed = (removed_dealers(state, ref, **selection) if ref is not None
                   and cursor is None else [])
        answer["changes"] = {"since": changed_since.isoformat(),
                             "reference_as_of": ref.as_of if ref is not None else None,
                             "complete": ref is None, "removed": removed}
    return json_response(answer)
