"""The worklist (/dashboard): dealers ranked by revenue at risk with filters, search, totals
and a CSV export; GET /v1/risk's selection (serve.service.risk)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args
from urllib.parse import urlencode

import pandas as pd
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from serve.batch.scoring import RISK_KINDS
from serve.dashboard.base import html_page, language, not_ready, router, signed_in, state_of
from serve.service.risk import ordered, select_dealers, worklist_csv
from serve.service.state import ServingState
from serve.web.responses import csv_response

PAGE = 50
FILTERS = ("region", "tier", "sales_rep", "stage", "band", "kind")
Sort = Literal["revenue_at_risk", "leave_probability", "months_ordering"]
"""The worklist's orders: revenue at risk (default), the chance of leaving, or the fewest
months expected to keep ordering (the soonest to stop)."""
SORTS = get_args(Sort)


def _filters(request: Request) -> dict[str, list[str]]:
    return {f: [v for v in request.query_params.getlist(f) if v] for f in FILTERS}


@router.get("", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def worklist(request: Request, lang: Annotated[str | None, Query()] = None,
             q: Annotated[str | None, Query(max_length=100)] = None,
             page: Annotated[int, Query(ge=0)] = 0,
             sort: Annotated[Sort, Query()] = "revenue_at_risk"):
    """Dealers ranked by revenue at risk, with filters, search, totals and export."""
    lang = language(request, lang)
    state = state_of(request)
    if state is None:
        return not_ready(request, lang)
    snap = state.current
    chosen = _chosen(state, request, q, sort)
    rows = chosen.iloc[page * PAGE:(page + 1) * PAGE].to_dict("records")
    running = request.app.state.situations.running()
    for r in rows:
        r["open_alerts"] = len(state.open_alerts.get(r["dealer_id"], ()))
        r["situation"] = running.get(r["dealer_id"])
        r["top_reason"] = r["top_reason_zh"] if lang == "zh" else r["top_reason_en"]
        months = r.get("months_ordering")
        r["months_ordering"] = None if months is None or pd.isna(months) else float(months)
    frame = snap.frame
    options = {"region": sorted(frame["region"].dropna().unique()),
               "tier": sorted(frame["tier"].dropna().unique()),
               "sales_rep": sorted(frame["sales_rep_id"].dropna().unique()),
               "stage": sorted(frame["stage"].dropna().unique()),
               "band": sorted(frame["band"].dropna().unique(),
                              key=request.app.state.holder.settings.scoring.bands.get),
               "kind": [k for k in RISK_KINDS if "risk_kind" in frame.columns
                        and (frame["risk_kind"] == k).any()]}
    base = [(k, v) for k, vs in _filters(request).items() for v in vs]
    base += [("q", q)] if q else []
    base += [("sort", sort)] if sort != SORTS[0] else []
    return html_page(request, "worklist.html", lang, rows=rows, total=len(chosen),
                 at_risk=float(chosen["revenue_at_risk"].sum()), page=page,
                 pages=max(1, -(-len(chosen) // PAGE)), options=options,
                 selected=_filters(request), q=q or "", sort=sort, sorts=SORTS,
                 has_leave="leave_probability" in frame.columns
                 and bool(frame["leave_probability"].notna().any()),
                 has_survival="months_ordering" in frame.columns
                 and bool(frame["months_ordering"].notna().any()),
                 export_url=f"/dashboard/export.csv?{urlencode(base + [('lang', lang)])}",
                 page_url=lambda p: f"/dashboard?{urlencode(base + [('page', p)])}")


def _chosen(state: ServingState, request: Request, q: str | None,
            sort: str = SORTS[0]):
    f = _filters(request)
    return ordered(select_dealers(state, state.current, region=f["region"], tier=f["tier"],
                                  sales_rep=f["sales_rep"], band=f["band"],
                                  stage=f["stage"], search=q, kind=f["kind"]), sort)


@router.get("/export.csv", dependencies=[Depends(signed_in)])
def export(request: Request, lang: Annotated[str | None, Query()] = None,
           q: Annotated[str | None, Query(max_length=100)] = None,
           sort: Annotated[Sort, Query()] = "revenue_at_risk") -> Response:
    """The current view of the worklist as CSV: the columns of GET /v1/risk?format=csv,
    headed by their labels in the page's language (for Excel, not for programs)."""
    lang = language(request, lang)
    state = state_of(request)
    if state is None:
        return not_ready(request, lang)
    return csv_response(worklist_csv(_chosen(state, request, q, sort), lang, state.current,
                                     state.open_alerts, header="labels"))
