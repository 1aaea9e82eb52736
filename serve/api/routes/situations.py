"""Known situations (serve.service.situations): what reps and managers know that the data
does not, with an expiry; the dealer's alerts are held while one runs. Reading needs the
reader role; recording and changing, the field role (reps, managers) or admin."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from starlette.concurrency import run_in_threadpool

from serve.api.schemas import (
    DealerSituations,
    Situation,
    SituationChange,
    SituationIn,
    SituationList,
)
from serve.service.dealers import dealer_row
from serve.service.render import pick_lang
from serve.service.situations import credential_of
from serve.web.deps import ApiKey, Book, Field, JsonBody, Reader, State
from serve.web.responses import JSON, json_response

router = APIRouter(prefix="/v1", tags=["situations"])
DealerId = Annotated[str, Path(description="The dealer's id, as in the dealers table.",
                               examples=["D00042"], max_length=64)]
Lang = Annotated[Literal["en", "zh"] | None, Query()]
SituationId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The situation's id")]


@router.get("/situations", response_model=SituationList, response_class=JSON)
async def list_situations(
    book: Book, _: Reader,
    active: Annotated[bool | None, Query(description="true: running today; false: over; "
                                         "absent: all")] = None,
    dealer_id: Annotated[list[str] | None, Query()] = None,
    lang: Lang = None, accept_language: Annotated[str | None, Header()] = None,
):
    """Known situations, newest first."""
    language = pick_lang(lang, accept_language)
    store = book.store
    day = store.today()
    found = await run_in_threadpool(store.listed, day=day, active=active,
                                    dealer_id=dealer_id)
    return json_response({"items": [s.document(language, day) for s in found]})


@router.get("/dealers/{dealer_id}/situations", response_model=DealerSituations,
            response_class=JSON)
async def dealer_situations(dealer_id: DealerId, book: Book, _: Reader, lang: Lang = None,
                            accept_language: Annotated[str | None, Header()] = None):
    """The dealer's known situations (newest first) and their audit trail (oldest
    first). A dealer no longer in the snapshot keeps its history."""
    language = pick_lang(lang, accept_language)
    store = book.store
    day = store.today()
    items = await run_in_threadpool(store.for_dealer, dealer_id)
    trail = await run_in_threadpool(store.events, dealer_id)
    return json_response({"items": [s.document(language, day) for s in items],
                          "trail": trail})


@router.post("/dealers/{dealer_id}/situations", response_model=Situation,
             response_class=JSON, status_code=201, dependencies=[JsonBody],
             responses={404: {"description": "Dealer not in the snapshot"},
                        409: {"description": "A situation already runs for the dealer"}})
async def add_situation(dealer_id: DealerId, body: SituationIn, state: State, book: Book,
                        _: Field, key: ApiKey, lang: Lang = None,
                        accept_language: Annotated[str | None, Header()] = None):
    """Record a known situation starting today: the dealer's alerts are held until
    `expires_on`."""
    dealer_row(state, dealer_id)  # 404 for a dealer the snapshot does not hold
    store = book.store
    made = await run_in_threadpool(lambda: store.add(
        dealer_id, body.kind, body.note, body.expires_on, by=body.by,
        credential=credential_of(key)))
    book.written()
    language = pick_lang(lang, accept_language)
    return json_response(made.document(language, store.today()), status_code=201)


@router.patch("/situations/{situation_id}", response_model=Situation, response_class=JSON,
              dependencies=[JsonBody],
              responses={404: {"description": "No such situation"},
                         409: {"description": "It is over: record a new one"}})
async def change_situation(situation_id: SituationId, body: SituationChange, book: Book,
                           _: Field, key: ApiKey, lang: Lang = None,
                           accept_language: Annotated[str | None, Header()] = None):
    """Change a running situation's kind, note or expiry, or end it today (`end`)."""
    store = book.store
    changed = await run_in_threadpool(lambda: store.change(
        situation_id, by=body.by, credential=credential_of(key), kind=body.kind, note=body.note,
        expires_on=body.expires_on, end=body.end))
    book.written()
    return json_response(changed.document(pick_lang(lang, accept_language), store.today()))
