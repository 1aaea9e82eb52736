"""The retention plan as a document: which dealers get which program for a budget, and what
it is expected to keep; GET /v1/plan, `dealer-risk plan` and /dashboard/plan show the same
(serve.batch.plan computes it)."""

from __future__ import annotations

import io

import pandas as pd

from features.contract import PROGRAM_KINDS
from features.text import format_value
from serve.batch.plan import Plan, make_plan, with_leave_with
from serve.service.choices import check
from serve.service.errors import NotFound
from serve.service.headers import Header, labelled
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


def plan_csv(plan: Plan, snap: Snapshot, lang: str = "en", header: Header = "columns"
             ) -> CsvExport:
    """Every row of the plan, every column (headers: names, or labels in `lang`)."""
    buffer = io.StringIO()
    labelled(plan.rows, lang, header).to_csv(buffer, index=False)
    return CsvExport(buffer.getvalue(), f"dealer-risk-plan-{snap.as_of}.csv",
                     {"As-Of": snap.as_of, "Budget": f"{plan.budget:.0f}",
                      "Spent": f"{plan.spent:.0f}"})


def dealer_programs(snap: Snapshot, dealer_id: str, lang: str,
                    horizon_months: int) -> list[dict]:
    """One dealer's estimated program effects, the largest drop of its chance of leaving
    first, each with a sentence in the reader's language; empty without effects. These
    are the levers with evidence behind them: the effect model learned them from which
    dealers got which program (randomized pilots and managers' choices, propensity-
    weighted), where the what-if levers only say what the churn model associates with
    lower risk."""
    e = snap.effects
    if e is None or e.empty:
        return []
    rows = with_leave_with(e.loc[e["dealer_id"].astype(str) == str(dealer_id)]).sort_values(
        ["effect", "program"])

    def number(value) -> float | None:
        return None if pd.isna(value) else float(value)

    out = []
    for r in rows.itertuples(index=False):
        doc = {"program": r.program, "name": program_name(r.program, lang),
               "leave_without": number(r.leave_without), "leave_with": number(r.leave_with),
               "leave_with_low": number(r.leave_with_low),
               "leave_with_high": number(r.leave_with_high),
               "effect": float(r.effect), "low": float(r.low), "high": float(r.high),
               "cost": number(r.cost), "certain": bool(r.high < 0 or r.low > 0),
               "status": str(r.effects_status)}
        doc["sentence"] = program_sentence(doc, lang, horizon_months)
        out.append(doc)
    return out


def program_name(program: str, lang: str) -> str:
    """A program kind as the reader says it: 优先服务, Priority service."""
    if lang == "zh":
        return PROGRAM_KINDS.get(program, program)
    return program.replace("_", " ").capitalize()


def program_sentence(doc: dict, lang: str, horizon_months: int) -> str:
    """"Priority service: chance of leaving within 12 months 42% -> 30% (18-37%), cost
    ¥1,200", and its Chinese, saying when the interval covers zero."""
    def pct(p: float | None) -> str:
        return "?" if p is None else f"{p * 100:.0f}%"
    cost = "" if doc["cost"] is None else format_value("CNY", doc["cost"], lang)
    if lang == "zh":
        text = (f"{doc['name']}：{horizon_months}个月内流失概率 {pct(doc['leave_without'])} → "
                f"{pct(doc['leave_with'])}（{pct(doc['leave_with_low'])}–"
                f"{pct(doc['leave_with_high'])}）")
        text += f"，成本约{cost}" if cost else ""
        return text + ("" if doc["certain"] else "；区间含零，可能没有效果")
    text = (f"{doc['name']}: chance of leaving within {horizon_months} months "
            f"{pct(doc['leave_without'])} -> {pct(doc['leave_with'])} "
            f"({pct(doc['leave_with_low'])}-{pct(doc['leave_with_high'])})")
    text += f", cost about {cost}" if cost else ""
    return text + ("" if doc["certain"] else "; the interval covers no effect at all")
