"""The retention plan (GET /v1/plan): which dealers get which program for a budget, and
what it is expected to keep (serve.service.plan, shared with `dealer-risk plan` and the
dashboard's Plan page)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query

from serve.api.params import CsvHeaderQuery, CsvLang
from serve.api.schemas import PlanDocument
from serve.service.plan import plan_csv, plan_document, snapshot_plan
from serve.service.render import pick_lang
from serve.web.deps import AppSettings, Reader, State
from serve.web.responses import JSON, csv_response, json_response

router = APIRouter(prefix="/v1", tags=["plan"])


@router.get("/plan", response_model=PlanDocument, response_class=JSON)
def retention_plan(
    state: State, settings: AppSettings, _: Reader,
    budget: Annotated[float, Query(gt=0, le=1e12, description="Retention budget (CNY)")],
    region: Annotated[list[str] | None, Query(description="Only dealers of these regions")]
    = None,
    program: Annotated[list[str] | None, Query(description="Only these programs",
                                               examples=["priority_service"])] = None,
    include_uncertain: Annotated[bool | None, Query(
        description="Also spend on effects whose interval covers zero (default: "
        "plan.include_uncertain, off)")] = None,
    limit: Annotated[int, Query(ge=0, le=10000, description="Rows listed")] = 200,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    lang: CsvLang = None,
    accept_language: Annotated[str | None, Header()] = None,
    header: CsvHeaderQuery = "columns",
):
    """One program per dealer, highest expected margin kept per unit of cost first, while
    the budget lasts; only programs whose estimated effect helps beyond its interval,
    and only where the margin kept exceeds the cost. 404 when the snapshot has no program
    effects (no effect model has passed its gate)."""
    snap = state.current
    plan = snapshot_plan(snap, settings, budget=budget, region=region, program=program,
                         include_uncertain=include_uncertain)
    if format == "csv":
        return csv_response(plan_csv(plan, snap, pick_lang(lang, accept_language),
                                      header))
    return json_response(plan_document(snap, settings, plan, limit))
