"""One dealer: its current risk with reasons, and its history over snapshots
(serve.service.dealers' documents, which the dealer page shows too)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response

from serve.api.schemas import DealerHistory, DealerRiskResponse, DealerSurvivalResponse
from serve.service.dealers import dealer_document, dealer_history, survival_document
from serve.service.render import meta, pick_lang
from serve.web.deps import SECURED, AppSettings, Reader, ServedReader, State
from serve.web.responses import JSON, json_response

router = APIRouter(prefix="/v1/dealers", tags=["dealers"])
DealerId = Annotated[str, Path(description="The dealer's id, as in the dealers table.",
                               examples=["D00042"], max_length=64)]
Lang = Annotated[Literal["en", "zh"] | None, Query(
    description="Language of the factor sentences; default from Accept-Language, else en.")]


@router.get("/{dealer_id}/risk", response_model=DealerRiskResponse, response_class=JSON,
            responses={404: {"description": "Unknown dealer"}}, openapi_extra=SECURED)
async def get_dealer_risk(dealer_id: DealerId, ctx: ServedReader, lang: Lang = None):
    """The dealer's churn and decline risk with their main factors, its forecast, the
    change since the previous snapshot, data-quality flags, and the known situation
    running today (its alerts are held)."""
    # async: a cached document is a dict lookup, and a first render a few ms of CPU, so
    # the event loop answers it directly instead of handing it to the thread pool
    state, settings, book = ctx.state, ctx.settings, ctx.book
    language = pick_lang(lang, ctx.accept_language)
    situation = book.running().get(dealer_id)
    key = (dealer_id, language, situation and (situation.id, situation.updated_at))
    cached = state.documents.get(key)
    if cached is None:
        cached = JSON(dealer_document(state, settings, dealer_id, language, situation,
                                      book.store.today() if situation else None)).body
        if len(state.documents) < settings.api.document_cache:
            state.documents[key] = cached
    return Response(cached, media_type="application/json")


@router.get("/{dealer_id}/survival", response_model=DealerSurvivalResponse,
            response_class=JSON, responses={404: {"description": "Unknown dealer"}},
            openapi_extra=SECURED)
def get_dealer_survival(dealer_id: DealerId, ctx: ServedReader, lang: Lang = None):
    """The dealer's time to leaving: the chance of still ordering after each of the next
    12 months (the survival model's curve), at 3, 6 and 12 months, and the months it is
    expected to keep ordering; empty without a survival model (a history too short)."""
    return json_response(survival_document(ctx.state, ctx.settings, dealer_id,
                                           pick_lang(lang, ctx.accept_language)))


@router.get("/{dealer_id}/history", response_model=DealerHistory, response_class=JSON,
            responses={404: {"description": "Unknown dealer"}})
def get_dealer_history(dealer_id: DealerId, state: State, settings: AppSettings, _: Reader):
    """The dealer's scores and orders (last 12 months at each as-of date) in every
    snapshot, oldest first."""
    points = dealer_history(state, dealer_id)
    if not points:
        raise HTTPException(404, f"dealer {dealer_id} is in no snapshot")
    return json_response({"meta": meta(settings, state.current.as_of, state.current.versions,
                                       state.current.model_status),
                          "dealer_id": dealer_id, "history": points})
