"""The sales reps' scorecard (GET /v1/reps, GET /v1/reps/{rep_id}): which reps' dealers are
slipping, measured on how they maintain them (serve.reps)."""

from __future__ import annotations

import io
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Header, HTTPException, Query, Response

from serve.api.choices import check
from serve.api.deps import AppSettings, Reader, State
from serve.api.render import meta, pick_lang, summary
from serve.api.responses import JSON, json_response
from serve.api.routes.support import records
from serve.api.schemas import RepDetail, RepList
from serve.api.state import ServingState
from serve.reps import lost_dealers, scorecard
from serve.settings import Settings

router = APIRouter(prefix="/v1", tags=["reps"])
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
            raise HTTPException(404, "this snapshot has no rep scorecard: it was scored before "
                                     "the scorecard existed (run `dealer-risk score` again)")
        state.documents[key] = scorecard(snap.reps, snap.support, settings.reps)
    return state.documents[key]


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
        raise HTTPException(404, f"no sales rep '{rep_id}' holds a dealer or lost one in the "
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


@router.get("/reps", response_model=RepList, response_class=JSON,
            responses={200: {"content": {"text/csv": {}}}})
def list_reps(
    state: State, settings: AppSettings, _: Reader,
    region: Annotated[list[str] | None, Query(description="The rep's region (where most "
                                              "of their dealers are). Repeat for several.")]
    = None,
    sales_rep: Annotated[list[str] | None, Query(description="sales_rep_id")] = None,
    sort: Annotated[RepSort, Query(description="score: weakest maintenance first; "
                                   "revenue_change: steepest fall first; the others "
                                   "largest first")] = "score",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
):
    """Per sales rep: the dealers they hold, revenue and its change against last year,
    revenue at risk, dealers lost in 90 and 365 days against the models' expectation,
    visit cadence, their dealers' requests against deadlines, complaints, and the
    maintenance score with its parts, ranked within the region."""
    chosen = select_reps(rep_card(state, settings), region=region, sales_rep=sales_rep,
                         sort=sort)
    snap = state.current
    if format == "csv":
        buffer = io.StringIO()
        chosen.to_csv(buffer, index=False)
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="dealer-risk-reps-{snap.as_of}.csv"',
            "X-Dealer-Risk-As-Of": snap.as_of})
    return json_response({"meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
                          "weights": settings.reps.weights, "total": len(chosen),
                          "items": records(chosen)})


@router.get("/reps/{rep_id}", response_model=RepDetail, response_class=JSON,
            responses={404: {"description": "No such rep in this snapshot"}})
def get_rep(
    rep_id: str, state: State, settings: AppSettings, _: Reader,
    limit: Annotated[int, Query(ge=1, le=10_000, description="How many of the rep's dealers "
                                "to list, by revenue at risk")] = 100,
    lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
    accept_language: Annotated[str | None, Header()] = None,
):
    """One rep's scorecard line, their dealers ranked by revenue at risk (with each one's
    top reason), and the dealers they lost in the last year."""
    return json_response(rep_document(state, settings, rep_id,
                                      pick_lang(lang, accept_language), limit))
