"""Support requests against their deadlines (GET /v1/support): which kinds of request, which
channels, regions and reps keep missing their deadlines, and what is late right now."""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query

from serve.api.choices import check
from serve.api.deps import AppSettings, Reader, State
from serve.api.render import meta
from serve.api.responses import JSON, json_response
from serve.api.schemas import SupportBoard
from serve.api.state import ServingState
from serve.support import DIMENSIONS, board, has_channel, overdue

router = APIRouter(prefix="/v1", tags=["support"])


def select_support(state: ServingState, *, region: list[str] | None = None,
                   sales_rep: list[str] | None = None, category: list[str] | None = None,
                   channel: list[str] | None = None) -> pd.DataFrame:
    """The current snapshot's support rows matching the filters (unknown values: 422)."""
    rows = state.current.support
    if rows is None:
        raise HTTPException(404, "this snapshot has no support board: the data has no "
                                 "tickets table, or it was scored before the board existed "
                                 "(run `dealer-risk score` again)")
    for name, column, wanted in (("region", "region", region),
                                 ("sales_rep", "sales_rep_id", sales_rep),
                                 ("category", "category", category),
                                 ("channel", "channel", channel)):
        if wanted:
            check(name, wanted, sorted(set(rows[column].astype(str))))
            rows = rows[rows[column].isin(wanted)]
    return rows


def support_document(state: ServingState, settings, *, by: str, rows: pd.DataFrame,
                     overdue_limit: int) -> dict:
    if by == "channel" and not has_channel(state.current.support):
        raise HTTPException(422, "by: the tickets carry no channel (the contract's optional "
                                 "`channel` column), so there is no board by channel")
    snap = state.current
    late = overdue(rows)
    return {
        "meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
        "window_days": settings.support.window_days, "by": by,
        "totals": _totals(rows),
        "groups": records(board(rows, by).sort_values(
            ["open_past_deadline", "on_time_share", "value"], ascending=[False, True, True],
            na_position="last", kind="stable")),
        "overdue_total": len(late),
        "overdue": records(late.head(overdue_limit)),
    }


def _totals(rows: pd.DataFrame) -> dict:
    due = int(rows["due_in_window"].sum()) if len(rows) else 0
    on_time = int(rows["on_time"].sum()) if len(rows) else 0
    hours = rows["hours_to_answer"].median() if len(rows) else float("nan")
    return {"requests": int(rows["raised"].sum()) if len(rows) else 0, "due": due,
            "answered_on_time": on_time, "on_time_share": on_time / due if due else None,
            "median_hours_to_answer": None if pd.isna(hours) else float(hours),
            "open_past_deadline": int(rows["overdue"].sum()) if len(rows) else 0}


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: timestamps in ISO form, NaN as null, numpy as Python."""
    out = []
    for row in frame.to_dict("records"):
        doc = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            elif value is not None and not isinstance(value, str | bool) and pd.isna(value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            doc[key] = value
        out.append(doc)
    return out


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
