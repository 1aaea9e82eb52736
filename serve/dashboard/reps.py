"""The reps' scorecard pages (/dashboard/reps and one per rep): the documents of
GET /v1/reps and GET /v1/reps/{rep_id} (serve.service.reps), for managers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse

from serve.dashboard.base import (
    error_page,
    html_page,
    language,
    not_ready,
    pct,
    router,
    signed_in,
    state_of,
)
from serve.dashboard.i18n import translate
from serve.service.errors import ServiceError
from serve.service.render import records
from serve.service.reps import SORTS, rep_card, rep_document, select_reps, with_tasks
from serve.service.tasks import TaskStore
from serve.settings import MAINTENANCE_PARTS


def _common(request: Request, lang: str) -> dict:
    settings = request.app.state.holder.settings
    span = settings.reps.growth_span
    total = sum(settings.reps.weights.values())
    return {"parts": MAINTENANCE_PARTS,
            "weights": {p: settings.reps.weights.get(p, 0.0) / total for p in MAINTENANCE_PARTS},
            "days": settings.reps.not_visited_days,
            "span": (pct(-span, signed=True), pct(span, signed=True)),
            "count": lambda v: "–" if v is None else f"{v:,.0f}",
            "ratio": lambda v: "–" if v is None else f"{v:.1f}",
            "score_of": lambda v: "–" if v is None else f"{v:.0f}",
            "lost_text": lambda n, e: _lost_text(n, e, lang)}


def _lost_text(lost: float | None, expected: float | None, lang: str) -> str:
    """Dealers lost against the models' expectation, in words."""
    if lost is None:
        return translate("lost_unknown", lang)
    if expected is None:
        return translate("lost_no_expectation", lang, n=f"{lost:,.0f}")
    return translate("lost_vs_expected", lang, n=f"{lost:,.0f}", e=f"{expected:.1f}")


def _ready(request: Request, lang: str | None):
    """(language, state, the page to show instead when nothing is loaded yet or the
    snapshot has no scorecard)."""
    lang = language(request, lang)
    state = state_of(request)
    if state is None:
        return lang, None, not_ready(request, lang)
    if state.current.reps is None:
        return lang, state, html_page(request, "reps.html", lang, rows_missing=True,
                                  **_common(request, lang))
    return lang, state, None


@router.get("/reps", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def reps_page(request: Request, lang: Annotated[str | None, Query()] = None,
              sort: Annotated[str, Query(max_length=30)] = "score"):
    """Every rep's scorecard line, the weakest maintenance first."""
    lang, state, early = _ready(request, lang)
    if early is not None:
        return early
    settings = request.app.state.holder.settings
    if sort not in SORTS:
        return error_page(request, 422, [("sort", sort)])
    book = request.app.state.situations
    tasks = TaskStore.of(book)
    card = with_tasks(rep_card(state, settings), tasks.on_time(tasks.today()))
    region = [v for v in request.query_params.getlist("region") if v]
    try:
        chosen = select_reps(card, region=region or None, sort=sort)
    except ServiceError:
        return error_page(request, 422, [("region", ", ".join(region))])
    return html_page(request, "reps.html", lang, rows_missing=False, reps=records(chosen),
                 sorts=list(SORTS), sort=sort, regions=sorted(set(card["region"])),
                 region=region, **_common(request, lang))


@router.get("/reps/{rep_id}", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def rep_page(request: Request, rep_id: str, lang: Annotated[str | None, Query()] = None):
    """One rep: the score with its parts, the figures, their dealers by revenue at risk, and
    the dealers they lost in the year."""
    lang, state, early = _ready(request, lang)
    if early is not None:
        return early
    settings = request.app.state.holder.settings
    try:
        doc = rep_document(state, settings, rep_id, lang, limit=200)
    except ServiceError:
        return html_page(request, "message.html", lang, status=404, message=translate(
            "rep_not_found", lang, rep=rep_id, as_of=state.current.as_of))
    return html_page(request, "rep.html", lang, doc=doc, r=doc["rep"], **_common(request, lang))
