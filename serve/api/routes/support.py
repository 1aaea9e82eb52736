"""Support requests against their deadlines (GET /v1/support): which kinds of request, which
channels, regions and reps keep missing their deadlines, and what is late right now
(serve.service.support, shared with the dashboard's support board)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from serve.api.schemas import SupportBoard
from serve.batch.support import DIMENSIONS
from serve.service.support import select_support, support_document
from serve.web.deps import AppSettings, Reader, State
from serve.web.responses import JSON, json_response

router = APIRouter(prefix="/v1", tags=["support"])


@router.get("/support", response_model=SupportBoard, response_class=JSON)
def support_board(
    state: State, settings: AppSettings, _: Reader,
    by: Annotated[Literal[DIMENSIONS], Query(  # type: ignore[valid-type]
        description="Group the requests by this")] = "category",
    region: Annotated[list[str] | None, Query()] = None,
    sales_rep: Annotated[list[str] | None, Query(description="sales_rep_id")] = None,
    category: Annotated[list[str] | None, Query(examples=["design"])] = None,
    channel: Annotated[list[str] | None, Query(examples=["wechat"])] = None,
    overdue_limit: Annotated[int, Query(ge=0, le=1000, description="How many of the "
                                        "requests open past their deadline to list, the "
                                        "oldest first")] = 50,
):
    """Support requests of the `support.window_days` before the snapshot's cutoff, grouped:
    requests raised, the share answered by their deadline (of those due in the window),
    the median hours to answer, and those open past their deadline now (oldest first).
    Filters narrow the requests before grouping."""
    rows = select_support(state, region=region, sales_rep=sales_rep, category=category,
                          channel=channel)
    return json_response(support_document(state, settings, by=by, rows=rows,
                                          overdue_limit=overdue_limit))
