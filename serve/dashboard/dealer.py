"""A dealer's page (/dashboard/dealers/{id}): scores with their meaning, factors against its
own past and its peers, risk and orders over time, what is at stake, alerts, actions and
program effects and levers; GET /v1/dealers/{id}/risk's document (serve.service.dealers) and
GET /v1/dealers/{id}/levers' programs (serve.service.plan)."""

from __future__ import annotations

import json
import math
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from features.catalog import BY_NAME
from serve.batch.scoring import quarter_if_stays
from serve.dashboard import charts
from serve.dashboard.base import (
    column_name,
    column_value,
    html_page,
    known,
    language,
    not_ready,
    router,
    signed_in,
    state_of,
)
from serve.dashboard.i18n import translate
from serve.dashboard.situations import situation_context
from serve.service.dealers import dealer_history, dealer_row
from serve.service.errors import NotFound
from serve.service.plan import dealer_programs, effects_status
from serve.service.render import dealer_risk
from serve.settings import Settings


@router.get("/dealers/{dealer_id}", response_class=HTMLResponse,
            dependencies=[Depends(signed_in)])
def dealer_page(request: Request, dealer_id: str, lang: Annotated[str | None, Query()] = None):
    """Scores with their meaning, factors against own past and peers, risk and orders over
    time, alerts, recommended actions, data-quality flags."""
    lang = language(request, lang)
    state = state_of(request)
    if state is None:
        return not_ready(request, lang)
    settings: Settings = request.app.state.holder.settings
    try:
        row = dealer_row(state, dealer_id)
    except NotFound:
        return html_page(request, "message.html", lang, status=404, message=translate(
            "not_found", lang, id=dealer_id, as_of=state.current.as_of))
    doc = dealer_risk(row, lang, settings, state.open_alerts.get(dealer_id, []))
    legend = {"dealer": translate("legend_dealer", lang),
              "past": translate("legend_past", lang),
              "peers": translate("legend_peers", lang)}
    history = dealer_history(state, dealer_id)
    months = json.loads(row["orders_by_month"]) if row.get("orders_by_month") else {}
    labels = settings.labels
    levers = _levers(row, lang)
    return html_page(
        request, "dealer.html", lang, d=doc, levers=levers,
        **situation_context(request, dealer_id, lang),
        programs=dealer_programs(state.current, dealer_id, lang,
                                 settings.models.effects.horizon_months),
        effects_model=effects_status(state.current),
        action_levers=[_lever_moved(a, levers) for a in doc["actions"]],
        levers_computed=known(row["churn_probability"])
        and row["churn_probability"] >= settings.levers.min_probability,
        levers_from=f"{settings.levers.min_probability:.0%}",
        stays_quarter=float(quarter_if_stays(doc["forecast"]["expected"] if known(
            doc["forecast"]["expected"]) else math.nan, doc["churn"]["probability"] if known(
            doc["churn"]["probability"]) else math.nan)),
        factor_charts={m: Markup(charts.factor_bars(
            doc[m]["factors"], {**legend, "title": translate("factors", lang)},
            fmt=lambda name, value: column_value(name, value, lang)))
            for m in ("churn", "decline")},
        risk_chart=Markup(charts.risk_lines(history, {
            "churn": translate("churn", lang), "decline": translate("decline", lang),
            "title": translate("risk_over_time", lang)})),
        orders_chart=Markup(charts.month_bars(months, translate("orders_by_month", lang))),
        survival_chart=Markup(charts.survival_steps(
            doc["survival"]["curve"], settings.models.survival.report_months,
            {"month": translate("survival_month", lang),
             "title": translate("survival_heading", lang)})),
        meaning_churn=translate("meaning_churn", lang, days=labels.churn.horizon_days),
        meaning_decline=translate("meaning_decline", lang,
                                  months=labels.decline.horizon_months,
                                  drop=f"{labels.decline.drop:.0%}"),
        feature_name=lambda name: column_name(name, lang),
        number=lambda name, value: column_value(name, value, lang))


def _levers(row: dict, lang: str) -> list[dict]:
    """The snapshot's levers for the dealer, in the reader's words, with the feature groups
    each moves (to name it beside the actions that answer those groups)."""
    out = []
    for lever in json.loads(row.get("levers") or "[]"):
        out.append({"sentence": lever["sentence_zh" if lang == "zh" else "sentence_en"],
                    "points": lever["points"], "kind": lever["kind"], "name": lever["name"],
                    "groups": {BY_NAME[f].group for f in lever["changes"] if f in BY_NAME}})
    return out


def _lever_moved(action: dict, levers: list[dict]) -> dict | None:
    """The strongest lever moving a feature group the action answers, if any."""
    groups = {answer.get("group") for answer in action["answers"]}
    return next((lever for lever in levers if lever["groups"] & groups), None)
