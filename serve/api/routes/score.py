"""POST /v1/score: one dealer scored from its posted history (serve.service.score), one
at a time per worker."""

from __future__ import annotations

import asyncio
import weakref
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Header, Query

from serve.api.schemas import DealerRiskResponse
from serve.service.render import dealer_risk, meta, pick_lang, posted_alerts
from serve.service.score import ScoreRequest, score_posted
from serve.web.deps import AppSettings, JsonBody, Reader, State
from serve.web.responses import JSON, json_response

router = APIRouter(prefix="/v1", tags=["score"])


_LIMITERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scoring_limiter() -> anyio.CapacityLimiter:
    """One posted dealer scored at a time per worker process (per event loop): the work is
    CPU-bound (pandas under the GIL, LightGBM's own threads), so calls run side by side
    only slow each other down; the others wait their turn in order."""
    loop = asyncio.get_running_loop()
    if loop not in _LIMITERS:
        _LIMITERS[loop] = anyio.CapacityLimiter(1)
    return _LIMITERS[loop]


@router.post("/score", response_model=DealerRiskResponse, response_class=JSON,
             dependencies=[JsonBody],
             responses={413: {"description": "The body is over api.max_body_bytes"},
                        415: {"description": "The body is not JSON"},
                        422: {"description": "The posted data breaks the contract"}})
async def score(body: ScoreRequest, state: State, settings: AppSettings, _: Reader,
                lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
                accept_language: Annotated[str | None, Header()] = None):
    """Score a dealer from its posted history as of a date, with its factors."""
    row = await anyio.to_thread.run_sync(score_posted, body, state, settings,
                                         limiter=_scoring_limiter())
    language = pick_lang(lang, accept_language)
    return json_response({"meta": meta(settings, f"{row['as_of']}", state.versions,
                                       state.champions.status()),
                          "dealer": dealer_risk(row.to_dict(), language, settings,
                                                posted_alerts(row, settings, language))})
