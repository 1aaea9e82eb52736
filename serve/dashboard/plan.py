"""The Plan page (/dashboard/plan, 计划): GET /v1/plan's document (serve.service.plan), for
channel directors spending a retention budget."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse

from features.contract import PROGRAM_KINDS
from serve.dashboard.base import (
    error_page,
    html_page,
    language,
    not_ready,
    points,
    router,
    signed_in,
    state_of,
)
from serve.service.errors import ServiceError
from serve.service.plan import effects_status, plan_document, snapshot_plan


@router.get("/plan", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def plan_page(request: Request, lang: Annotated[str | None, Query()] = None,
              budget: Annotated[float | None, Query(gt=0, le=1e12)] = None,
              include_uncertain: Annotated[bool, Query()] = False):
    """Which dealers get which program for the budget, and what it is expected to keep."""
    lang = language(request, lang)
    state = state_of(request)
    if state is None:
        return not_ready(request, lang)
    settings = request.app.state.holder.settings
    snap = state.current
    budget = budget or settings.plan.budget
    region = [v for v in request.query_params.getlist("region") if v]
    program = [v for v in request.query_params.getlist("program") if v]
    common = {"budget": budget, "region": region, "program": program,
              "include_uncertain": include_uncertain,
              "effects_model": effects_status(snap),
              "regions": sorted(set(snap.frame["region"].astype(str))),
              "programs": [(k, PROGRAM_KINDS[k] if lang == "zh" else k.replace("_", " "))
                           for k in PROGRAM_KINDS],
              "points": lambda v: points(v, lang)}
    if snap.effects is None or snap.effects.empty:
        return html_page(request, "plan.html", lang, missing=True, **common)
    try:
        plan = snapshot_plan(snap, settings, budget=budget, region=region or None,
                             program=program or None, include_uncertain=include_uncertain)
    except ServiceError:
        return error_page(request, 422, [("region", ", ".join(region)),
                                         ("program", ", ".join(program))])
    return html_page(request, "plan.html", lang, missing=False,
                     doc=plan_document(snap, settings, plan, limit=500), **common)
