"""The retention plan as a document: which dealers get which program for a budget, and what
it is expected to keep; GET /v1/plan, `dealer-risk plan` and /dashboard/plan show the same
(serve.batch.plan computes it)."""

from __future__ import annotations

import io

import pandas as pd

from features.contract import PROGRAM_KINDS
from serve.batch.plan import Plan, make_plan
from serve.service.choices import check
from serve.service.errors import NotFound
from serve.service.render import meta, records
from serve.service.risk import CsvExport
from serve.service.state import Snapshot
from serve.settings import Settings

NO_EFFECTS = ("this snapshot has no program effects: no effect model has passed its gate "
              "(run `dealer-risk programs train`, then `dealer-risk score`; the model "
              "card's \"Program effects\" says what it reaches), or plan.unproven is off")


def snapshot_plan(snap: Snapshot, settings: Settings, *, budget: float,
                  region: list[str] | None = None, program: list[str] | None = None,
                  include_uncertain: bool | None = None) -> Plan:
    """The plan for this snapshot (unknown region or program: 422; no effects: 404)."""
    if snap.effects is None or snap.effects.empty:
        raise NotFound(NO_EFFECTS)
    check("region", region, sorted(set(snap.frame["region"].astype(str))))
    check("program", program, list(PROGRAM_KINDS))
    uncertain = settings.plan.include_uncertain if include_uncertain is None \
        else include_uncertain
    return make_plan(snap.effects, snap.frame, budget, margin_rate=settings.plan.margin_rate,
                     regions=region, programs=program, include_uncertain=uncertain)


def effects_status(snap: Snapshot) -> dict:
    """Which effect model estimated the snapshot's effects, and whether it passed its gate."""
    e = snap.effects
    if e is None or e.empty:
        return {"version": None, "state": "unavailable"}
    return {"version": str(e["effects_version"].iloc[0]), "state": str(
        e["effects_status"].iloc[0])}


def plan_document(snap: Snapshot, settings: Settings, plan: Plan, limit: int) -> dict:
    return {
        "meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
        "effects_model": effects_status(snap),
        "margin_rate": settings.plan.margin_rate,
        "budget": plan.budget, "spent": plan.spent, "dealers": len(plan.rows),
        "expected_revenue_kept": plan.revenue_kept,
        "expected_margin_kept": plan.margin_kept,
        "notes": plan.notes,
        "rows_total": len(plan.rows),
        "rows": records(plan.rows.head(limit)),
    }


def plan_csv(plan: Plan, snap: Snapshot) -> CsvExport:
    """Every row of the plan, every column."""
    buffer = io.StringIO()
    plan.rows.to_csv(buffer, index=False)
    return CsvExport(buffer.getvalue(), f"dealer-risk-plan-{snap.as_of}.csv",
                     {"As-Of": snap.as_of, "Budget": f"{plan.budget:.0f}",
                      "Spent": f"{plan.spent:.0f}"})


def dealer_programs(snap: Snapshot, dealer_id: str) -> pd.DataFrame | None:
    """One dealer's estimated program effects, the most helpful first (None: no effects)."""
    e = snap.effects
    if e is None or e.empty:
        return None
    rows = e.loc[e["dealer_id"].astype(str) == str(dealer_id)]
    return rows.sort_values("effect")
