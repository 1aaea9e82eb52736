"""The sales reps' scorecard (GET /v1/reps, GET /v1/reps/{rep_id}): which reps' dealers are
slipping, measured on how they maintain them (serve.service.reps; the dashboard shows the
same documents)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query

from serve.api.params import CsvHeaderQuery, CsvLang
from serve.api.schemas import RepDetail, RepList
from serve.service.render import meta, pick_lang, records
from serve.service.reps import (
    RepSort,
    rep_card,
    rep_document,
    reps_csv,
    select_reps,
    with_tasks,
)
from serve.service.tasks import TaskStore
from serve.web.deps import AppSettings, Book, Reader, State
from serve.web.responses import JSON, csv_response, json_response

router = APIRouter(prefix="/v1", tags=["reps"])
@router.get("/reps", response_model=RepList, response_class=JSON,
            responses={200: {"content": {"text/csv": {}}}})
def list_reps(
    state: State, settings: AppSettings, book: Book, _: Reader,
    region: Annotated[list[str] | None, Query(description="The rep's region (where most "
                                              "of their dealers are). Repeat for several.")]
    = None,
    sales_rep: Annotated[list[str] | None, Query(description="sales_rep_id")] = None,
    sort: Annotated[RepSort, Query(description="score: weakest maintenance first; "
                                   "revenue_change: steepest fall first; the others "
                                   "largest first")] = "score",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    lang: CsvLang = None,
    accept_language: Annotated[str | None, Header()] = None,
    header: CsvHeaderQuery = "columns",
):
    """Per sales rep: the dealers they hold, revenue and its change against last year,
    revenue at risk, dealers lost in 90 and 365 days against the models' expectation,
    visit cadence, their dealers' requests against deadlines, complaints, and the
    maintenance score with its parts, ranked within the region; and the tasks due by
    today with how many were done on time."""
    tasks = TaskStore.of(book)
    card = with_tasks(rep_card(state, settings), tasks.on_time(tasks.today()))
    chosen = select_reps(card, region=region, sales_rep=sales_rep, sort=sort)
    snap = state.current
    if format == "csv":
        return csv_response(reps_csv(chosen, snap, pick_lang(lang, accept_language),
                                      header))
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
