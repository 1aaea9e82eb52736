"""What if (POST /v1/dealers/{dealer_id}/what-if): the dealer's snapshot row with some
actionable features changed, rescored by the same champions (serve.whatif)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from serve.api.deps import AppSettings, JsonBody, Reader, State
from serve.api.render import factors, meta, pick_lang
from serve.api.responses import JSON, json_response
from serve.api.schemas import LeverList, WhatIfAnswer
from serve.api.state import ServingState, population_contributions
from serve.settings import Settings
from serve.whatif import WhatIfError, rescore, resolve_changes

router = APIRouter(prefix="/v1", tags=["what-if"])
HONESTY = ("What the models associate with lower risk for dealers like this one, not a "
           "promise that making the change will lower it: they learned from dealers who "
           "differed, not from dealers who changed one thing.")


class WhatIfRequest(BaseModel):
    model_config = {"json_schema_extra": {"examples": [
        {"scenario": "resolve_overdue_requests"},
        {"changes": {"engagement_visits_3m": 6, "service_overdue_open": 0}}]}}

    changes: dict[str, float] | None = Field(default=None, description="Actionable feature "
                                             "-> its value after the change")
    scenario: str | None = Field(default=None, description="A named set of changes from the "
                                 "settings (what_if.scenarios); explicit changes go on top")


def what_if_document(state: ServingState, settings: Settings, dealer_id: str,
                     body: WhatIfRequest, lang: str) -> dict:
    snap = state.current
    if snap.population is None:
        raise HTTPException(404, "this snapshot has no population file: score again")
    population = snap.population
    mine = population[(population["dealer_id"].astype(str) == dealer_id).to_numpy()
                      & population["active"].to_numpy(dtype=bool)]
    if mine.empty:
        raise HTTPException(404, f"dealer {dealer_id} is not an active dealer of the "
                                 f"snapshot of {snap.as_of}")
    row = mine.iloc[0]
    try:
        changes = resolve_changes(body.changes, body.scenario, settings, state.champions,
                                  {f: _plain(row[f]) for f in row.index})
        before, after = rescore(population, snap.past_population, dealer_id, changes,
                                state.champions, settings,
                                population_contributions(state, snap))
    except WhatIfError as exc:
        raise HTTPException(422, str(exc)) from None

    def side(r) -> dict:
        return {"churn_probability": r.churn_probability,
                "decline_probability": r.decline_probability, "forecast": r.forecast}

    def points(a, b):
        return None if a is None or b is None else round((b - a) * 100, 6)

    scenario = settings.what_if.by_name().get(body.scenario) if body.scenario else None
    return {
        "meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
        "dealer_id": dealer_id,
        "scenario": None if scenario is None else {
            "name": scenario.name, "title": scenario.title_zh if lang == "zh"
            else scenario.title_en},
        "changes": {f: {"from": _plain(row[f]), "to": v} for f, v in changes.items()},
        "before": side(before), "after": side(after),
        "change_points": {"churn": points(before.churn_probability, after.churn_probability),
                          "decline": points(before.decline_probability,
                                            after.decline_probability)},
        "factors_after": factors(json.dumps(after.factors, default=_plain), lang),
        "note": HONESTY,
    }


def levers_document(state: ServingState, settings: Settings, dealer_id: str,
                     lang: str) -> dict:
    snap = state.current
    at = snap.position.get(dealer_id)
    if at is None:
        raise HTTPException(404, f"dealer {dealer_id} is not in the snapshot of {snap.as_of}")
    row = snap.records[at]
    if "levers" not in row:
        raise HTTPException(404, "this snapshot was scored before levers existed: score again")
    levers = json.loads(row["levers"])
    probability = _plain(row["churn_probability"])
    at_risk = probability is not None and probability >= settings.levers.min_probability
    return {
        "meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
        "dealer_id": dealer_id, "churn_probability": probability,
        "computed": at_risk,
        "levers": [{"kind": x["kind"], "name": x["name"], "changes": x["changes"],
                    "churn_before": x["churn_before"], "churn_after": x["churn_after"],
                    "points": x["points"],
                    "sentence": x["sentence_zh"] if lang == "zh" else x["sentence_en"]}
                   for x in levers],
        "note": HONESTY if at_risk else (
            f"Levers are computed in the batch for dealers at or above "
            f"{settings.levers.min_probability:.0%} churn risk (levers.min_probability); "
            "ask POST /v1/dealers/{dealer_id}/what-if for any other change. " + HONESTY),
    }


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


def _plain(value):
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if number != number else number


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
        what_if_document, state, settings, dealer_id, body, pick_lang(lang, accept_language)))
