"""What if (POST /v1/dealers/{dealer_id}/what-if) and the levers
(GET /v1/dealers/{dealer_id}/levers): the documents of serve.service.whatif."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from serve.api.schemas import LeverList, WhatIfAnswer
from serve.service.render import pick_lang
from serve.service.whatif import levers_document, what_if_document
from serve.web.deps import AppSettings, JsonBody, Reader, State
from serve.web.responses import JSON, json_response

router = APIRouter(prefix="/v1", tags=["what-if"])


class WhatIfRequest(BaseModel):
    model_config = {"json_schema_extra": {"examples": [
        {"scenario": "resolve_overdue_requests"},
        {"changes": {"engagement_visits_vs_rep_3m": 0, "service_overdue_open": 0}}]}}

    changes: dict[str, float] | None = Field(default=None, description="Actionable feature "
                                             "-> its value after the change")
    scenario: str | None = Field(default=None, description="A named set of changes from the "
                                 "settings (what_if.scenarios); explicit changes go on top")


@router.get("/dealers/{dealer_id}/levers", response_model=LeverList, response_class=JSON,
            responses={404: {"description": "Not in the snapshot"}})
def get_levers(
    state: State, settings: AppSettings, _: Reader,
    dealer_id: Annotated[str, Path(max_length=200)],
    lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
    accept_language: Annotated[str | None, Header()] = None,
):
    """The changes the models associate with the largest drop in this dealer's churn
    risk: the settings' scenarios, and each actionable feature raising its risk moved to
    its own level 12 months earlier or its peers' median; computed in the batch for the
    dealers at risk, the largest drop first."""
    return json_response(levers_document(state, settings, dealer_id,
                                         pick_lang(lang, accept_language)))


@router.post("/dealers/{dealer_id}/what-if", response_model=WhatIfAnswer, response_class=JSON,
             dependencies=[JsonBody],
             responses={404: {"description": "Not an active dealer of the snapshot"},
                        422: {"description": "A feature or value the models cannot be asked "
                                             "about, named"}})
async def what_if(
    body: WhatIfRequest, state: State, settings: AppSettings, _: Reader,
    dealer_id: Annotated[str, Path(max_length=200)],
    lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
    accept_language: Annotated[str | None, Header()] = None,
):
    """The dealer's churn and decline risk and forecast before and after changing some of
    its actionable features (or a named scenario), with the factors after. What the models
    associate with lower risk, not a promise of cause and effect."""
    return json_response(await run_in_threadpool(
        what_if_document, state, settings, dealer_id, body.changes, body.scenario,
        pick_lang(lang, accept_language)))
