"""The support board page (/dashboard/support): GET /v1/support's document
(serve.service.support), for managers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse

from serve.batch.support import DIMENSIONS, has_channel
from serve.dashboard.base import (
    error_page,
    html_page,
    language,
    not_ready,
    router,
    signed_in,
    state_of,
)
from serve.dashboard.i18n import TEXT, translate
from serve.service.errors import ServiceError
from serve.service.support import select_support, support_document

FILTERS = {"region": "region", "sales_rep": "sales_rep_id", "category": "category",
           "channel": "channel"}


@router.get("/support", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def support_page(request: Request, lang: Annotated[str | None, Query()] = None,
                 by: Annotated[str, Query(max_length=20)] = "category"):
    """Requests against their deadlines: by type, channel, region or rep; late ones now."""
    lang = language(request, lang)
    state = state_of(request)
    if state is None:
        return not_ready(request, lang)
    settings = request.app.state.holder.settings
    rows = state.current.support
    common = {"window_days": settings.support.window_days, "by": by,
              "category_label": lambda v: translate(f"ticket_{v}", lang)
              if f"ticket_{v}" in TEXT else v,
              "hours": lambda h: _amount(h, "hours_fmt", lang),
              "days": lambda d: _amount(d, "days_fmt", lang)}
    if rows is None:
        return html_page(request, "support.html", lang, rows_missing=True, **common)
    dimensions = [d for d in DIMENSIONS if d != "channel" or has_channel(rows)]
    if by not in dimensions:
        return error_page(request, 422, [("by", by)])
    selected = {name: [v for v in request.query_params.getlist(name) if v]
                for name in FILTERS}
    try:
        chosen = select_support(state, **{k: v or None for k, v in selected.items()})
        doc = support_document(state, settings, by=by, rows=chosen, overdue_limit=100)
    except ServiceError:
        return error_page(request, 422, [(k, ", ".join(v)) for k, v in selected.items() if v])
    options = {name: sorted(set(rows[column].astype(str))) for name, column in FILTERS.items()
               if name != "channel" or has_channel(rows)}
    return html_page(request, "support.html", lang, rows_missing=False, doc=doc,
                 dimensions=dimensions, options=options, selected=selected, **common)


def _amount(value, key: str, lang: str) -> str:
    """Hours or days in the reader's words; under one reads "<1", never "0"."""
    if value is None:
        return "–"
    return translate(key, lang, n=f"{value:,.0f}" if value >= 1 else "<1")
