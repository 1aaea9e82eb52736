"""Alerts (GET /v1/alerts): the rule-based early warnings, open and closed, for worklists
and CRMs; the selection is serve.service.alerts'."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Header, HTTPException, Query

from serve.api.cursors import cursor_matches, decode_cursor, encode_cursor, filters_stamp
from serve.api.schemas import AlertList
from serve.service.alerts import Held, select_alerts
from serve.service.choices import check_alert_filters
from serve.service.render import alert_doc, meta, pick_lang
from serve.web.deps import AppSettings, Book, Reader, State
from serve.web.responses import JSON, json_response

router = APIRouter(prefix="/v1", tags=["alerts"])


@router.get("/alerts", response_model=AlertList, response_class=JSON,
            responses={409: {"description": "The alerts changed under a cursor"}})
def list_alerts(
    state: State, settings: AppSettings, book: Book, _: Reader,
    status: Annotated[Literal["open", "closed", "all"], Query()] = "open",
    severity: Annotated[list[str] | None, Query(examples=["high"])] = None,
    rule: Annotated[list[str] | None, Query(description="Rule name (docs/alerts.md)")] = None,
    group: Annotated[list[str] | None, Query(examples=["service"])] = None,
    region: Annotated[list[str] | None, Query()] = None,
    tier: Annotated[list[str] | None, Query()] = None,
    sales_rep: Annotated[list[str] | None, Query(description="sales_rep_id")] = None,
    dealer_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[date | None, Query(description="Only alerts opened, updated or closed "
                                        "in snapshots on or after this date")] = None,
    held: Annotated[Held, Query(description="Open alerts of dealers with a known situation "
                                "running (POST /v1/dealers/{id}/situations): left out "
                                "(exclude), shown with held_until (include), or only")]
    = "exclude",
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")]
    = None,
    lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
    accept_language: Annotated[str | None, Header()] = None,
):
    """Alerts, newest first (by the snapshot they were last seen in, then severity), each
    with the numbers that triggered it."""
    snap = state.current
    size = limit or settings.api.page_size
    if size > settings.api.max_page_size:
        raise HTTPException(422, f"limit must be at most {settings.api.max_page_size}")
    check_alert_filters(settings, severity=severity, rule=rule, group=group)
    filters = {"status": status, "severity": severity, "rule": rule, "group": group,
               "region": region, "tier": tier, "sales_rep": sales_rep,
               "dealer_id": dealer_id, "since": since and since.isoformat(), "held": held}
    chosen = select_alerts(state, status=status, severity=severity, rule=rule, group=group,
                           region=region, tier=tier, sales_rep=sales_rep,
                           dealer_id=dealer_id, since=since, held=held,
                           running=book.running())
    start = 0
    if cursor is not None:
        c = decode_cursor(cursor, {"as_of", "offset"})
        cursor_matches(c, as_of=snap.as_of, filters=filters)
        start = int(c["offset"])
    page = chosen.iloc[start:start + size]
    more = start + size < len(chosen)
    language = pick_lang(lang, accept_language)
    items = []
    for a in page.to_dict("records"):
        doc = alert_doc(a, settings, language)
        doc.update({k: (None if pd.isna(a[k]) else a[k])
                    for k in ("dealer_name", "region", "tier", "sales_rep_id", "held_until")})
        items.append(doc)
    return json_response({
        "meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
        "total": len(chosen),
        "items": items,
        "next_cursor": encode_cursor({"as_of": snap.as_of, "filters": filters_stamp(filters),
                                      "offset": start + size})
        if more else None})
