"""What if, and the levers, as documents: a dealer's snapshot row with some actionable
features changed and rescored (serve.batch.whatif), and the levers the batch stored for it.
POST /v1/dealers/{id}/what-if, GET /v1/dealers/{id}/levers and the dealer page share them."""

from __future__ import annotations

import json

from serve.batch.whatif import WhatIfError, rescore, resolve_changes
from serve.service.errors import Invalid, NotFound
from serve.service.plan import dealer_programs, effects_status
from serve.service.render import factors, meta
from serve.service.state import ServingState, population_contributions
from serve.settings import Settings

PROGRAMS_NOTE = ("Programs: what the effect model estimates each retention program changes "
                 "in this dealer's chance of leaving, with its interval, learned from which "
                 "dealers got which program (randomized pilots, and managers' choices "
                 "weighted by how likely each dealer was to be chosen). An effect model "
                 "that has not passed its gate on the randomized pilots is marked "
                 "unproven; an interval that covers zero may be no effect at all.")
HONESTY = ("What the models associate with lower risk for dealers like this one, not a "
           "promise that making the change will lower it: they learned from dealers who "
           "differed, not from dealers who changed one thing.")


def what_if_document(state: ServingState, settings: Settings, dealer_id: str,
                     changes: dict[str, float] | None, scenario: str | None,
                     lang: str) -> dict:
    snap = state.current
    if snap.population is None:
        raise NotFound("this snapshot has no population file: score again")
    population = snap.population
    mine = population[(population["dealer_id"].astype(str) == dealer_id).to_numpy()
                      & population["active"].to_numpy(dtype=bool)]
    if mine.empty:
        raise NotFound(f"dealer {dealer_id} is not an active dealer of the "
                                 f"snapshot of {snap.as_of}")
    row = mine.iloc[0]
    try:
        resolved = resolve_changes(changes, scenario, settings, state.champions,
                                  {f: plain(row[f]) for f in row.index})
        before, after = rescore(population, snap.past_population, dealer_id, resolved,
                                state.champions, settings,
                                population_contributions(state, snap))
    except WhatIfError as exc:
        raise Invalid(str(exc)) from None

    def side(r) -> dict:
        return {"churn_probability": r.churn_probability,
                "decline_probability": r.decline_probability, "forecast": r.forecast}

    def points(a, b):
        return None if a is None or b is None else round((b - a) * 100, 6)

    scenario = settings.what_if.by_name().get(scenario) if scenario else None
    return {
        "meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
        "dealer_id": dealer_id,
        "scenario": None if scenario is None else {
            "name": scenario.name, "title": scenario.title_zh if lang == "zh"
            else scenario.title_en},
        "changes": {f: {"from": plain(row[f]), "to": v} for f, v in resolved.items()},
        "before": side(before), "after": side(after),
        "change_points": {"churn": points(before.churn_probability, after.churn_probability),
                          "decline": points(before.decline_probability,
                                            after.decline_probability)},
        "factors_after": factors(json.dumps(after.factors, default=plain), lang),
        "note": HONESTY,
    }


def levers_document(state: ServingState, settings: Settings, dealer_id: str,
                     lang: str) -> dict:
    snap = state.current
    at = snap.position.get(dealer_id)
    if at is None:
        raise NotFound(f"dealer {dealer_id} is not in the snapshot of {snap.as_of}")
    row = snap.records[at]
    if "levers" not in row:
        raise NotFound("this snapshot was scored before levers existed: score again")
    levers = json.loads(row["levers"])
    probability = plain(row["churn_probability"])
    at_risk = probability is not None and probability >= settings.levers.min_probability
    return {
        "meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
        "dealer_id": dealer_id, "churn_probability": probability,
        "effects_model": effects_status(snap),
        "programs": dealer_programs(snap, dealer_id, lang,
                                    settings.models.effects.horizon_months),
        "programs_note": PROGRAMS_NOTE,
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


def plain(value):
    """A snapshot value as JSON: numbers as floats (NaN as None), anything else as text."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if number != number else number
