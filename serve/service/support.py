"""The support board as a document: requests against their deadlines, grouped, and the ones
late now; GET /v1/support and /dashboard/support show the same (serve.batch.support
computes the rows)."""

from __future__ import annotations

import pandas as pd

from serve.batch.support import board, has_channel, overdue
from serve.service.choices import check
from serve.service.errors import Invalid, NotFound
from serve.service.render import meta, records
from serve.service.state import ServingState


def select_support(state: ServingState, *, region: list[str] | None = None,
                   sales_rep: list[str] | None = None, category: list[str] | None = None,
                   channel: list[str] | None = None) -> pd.DataFrame:
    """The current snapshot's support rows matching the filters (unknown values: 422)."""
    rows = state.current.support
    if rows is None:
        raise NotFound("this snapshot has no support board: the data has no "
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
        raise Invalid("by: the tickets carry no channel (the contract's optional "
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
