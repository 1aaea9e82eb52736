"""The sales reps' scorecard as documents: the table GET /v1/reps and /dashboard/reps show,
and one rep's page (serve.batch.reps computes the scorecard itself)."""

from __future__ import annotations

import io
from typing import Literal

import pandas as pd

from serve.batch.reps import lost_dealers, scorecard
from serve.service.choices import check
from serve.service.errors import NotFound
from serve.service.headers import Header, labelled
from serve.service.render import meta, records, summary
from serve.service.risk import CsvExport
from serve.service.state import ServingState, Snapshot
from serve.settings import Settings

SORTS = {"score": ("score", True), "revenue_at_risk": ("revenue_at_risk", False),
         "lost_365d": ("lost_365d", False), "support_overdue": ("support_overdue", False),
         "not_visited": ("not_visited", False), "revenue_change": ("revenue_change", True),
         "dealers": ("dealers", False), "sales_rep_id": ("sales_rep_id", True)}
"""Sort name -> (column, ascending). The default, score, puts the weakest maintenance first."""
RepSort = Literal[tuple(SORTS)]  # type: ignore[valid-type]


def rep_card(state: ServingState, settings: Settings) -> pd.DataFrame:
    """The current snapshot's scorecard, computed once per loaded state (a state never
    changes; a reload makes a new one)."""
    snap = state.current
    key = ("reps", snap.as_of)
    if key not in state.documents:
        if snap.reps is None:
            raise NotFound("this snapshot has no rep scorecard: it was scored before "
                                     "the scorecard existed (run `dealer-risk score` again)")
        state.documents[key] = scorecard(snap.reps, snap.support, settings.reps)
    return state.documents[key]


def with_tasks(card: pd.DataFrame, on_time: pd.DataFrame) -> pd.DataFrame:
    """The scorecard with each rep's tasks due by today and how many of them were done by
    their due date (serve.service.tasks; null where a rep had none due)."""
    return card.join(on_time[["tasks_due", "tasks_done_on_time"]].astype(float),
                     on="sales_rep_id")


def select_reps(card: pd.DataFrame, *, region: list[str] | None = None,
                sales_rep: list[str] | None = None, sort: str = "score") -> pd.DataFrame:
    """The reps matching the filters (unknown values: 422), in the sort's order; reps
    without a value for the sort column last, ties by rep id."""
    for name, column, wanted in (("region", "region", region),
                                 ("sales_rep", "sales_rep_id", sales_rep)):
        if wanted:
            check(name, wanted, sorted(set(card[column].astype(str))))
            card = card[card[column].isin(wanted)]
    column, ascending = SORTS[sort]
    return card.sort_values([column, "sales_rep_id"], ascending=[ascending, True],
                            na_position="last", kind="stable")


def rep_document(state: ServingState, settings: Settings, rep_id: str, lang: str,
                 limit: int) -> dict:
    card = rep_card(state, settings)
    line = card[card["sales_rep_id"] == rep_id]
    if not len(line):
        raise NotFound(f"no sales rep '{rep_id}' holds a dealer or lost one in the "
                                 f"year before {state.current.as_of}")
    snap = state.current
    frame = snap.frame[snap.frame["sales_rep_id"].astype(str) == rep_id].sort_values(
        ["revenue_at_risk", "dealer_id"], ascending=[False, True], na_position="last")
    dealers = [summary(r, lang, len(state.open_alerts.get(r["dealer_id"], ())))
               for r in frame.head(limit).to_dict("records")]
    return {"meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
            "weights": settings.reps.weights, "rep": records(line)[0],
            "dealers_total": len(frame), "dealers": dealers,
            "lost": records(lost_dealers(snap.reps, rep_id))}


def reps_csv(chosen: pd.DataFrame, snap: Snapshot, lang: str = "en",
             header: Header = "columns") -> CsvExport:
    """The scorecard lines of a `select_reps` choice, every column (headers: names, or
    labels in `lang`)."""
    buffer = io.StringIO()
    labelled(chosen, lang, header).to_csv(buffer, index=False)
    return CsvExport(buffer.getvalue(), f"dealer-risk-reps-{snap.as_of}.csv",
                     {"As-Of": snap.as_of})
