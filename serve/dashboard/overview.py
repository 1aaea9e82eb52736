"""The overview (/dashboard/overview): risk by region and tier, open alerts by rule, the
models' health from the latest `dealer-risk monitor`, and the snapshots served."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from serve.batch.monitor import read_latest
from serve.dashboard import charts
from serve.dashboard.base import (
    column_name,
    html_page,
    language,
    not_ready,
    router,
    signed_in,
    state_of,
)
from serve.dashboard.i18n import label, model_name
from serve.service.render import alert_doc
from serve.settings import Settings


@router.get("/overview", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def overview(request: Request, lang: Annotated[str | None, Query()] = None):
    """Risk by region and tier, open alerts by rule, model versions and snapshot date."""
    lang = language(request, lang)
    state = state_of(request)
    if state is None:
        return not_ready(request, lang)
    settings: Settings = request.app.state.holder.settings
    frame = state.current.frame
    bands = sorted(settings.scoring.bands, key=settings.scoring.bands.get)
    band_labels = {b: label("band", b, lang) for b in bands}

    def breakdown(column: str) -> list[dict]:
        out = []
        for value, part in frame.groupby(column, sort=True):
            counts = Counter(part["band"])
            out.append({"name": value, "dealers": len(part), "counts": counts,
                        "at_risk": float(part["revenue_at_risk"].sum()),
                        "mean_churn": float(part["churn_probability"].mean()),
                        "chart": Markup(charts.band_stack(counts, bands, band_labels))})
        return out

    alerts = state.alerts
    open_ = alerts[alerts["status"] == "open"] if len(alerts) else alerts
    by_rule = []
    for rule in settings.alerts.rules:
        n = int((open_["rule"] == rule.name).sum()) if len(open_) else 0
        doc = alert_doc({"rule": rule.name, "severity": rule.severity, "group": rule.group,
                         "numbers": {}}, settings, lang)
        by_rule.append({"rule": rule.name, "title": doc["title"], "severity": rule.severity,
                        "count": n})
    health = read_latest(settings.work_dir)
    return html_page(request, "overview.html", lang, bands=bands, by_region=breakdown("region"),
                 health=health, health_features=[
                     r for r in (health or {}).get("features", [])
                     if r["status"] != "stable"][:8],
                 health_matured=[r for r in (health or {}).get("matured", [])
                                 if r["segment"] == "all"],
                 feature_name=lambda name: column_name(name, lang),
                 model_name=lambda name: model_name(name, lang),
                 by_tier=breakdown("tier"), by_rule=by_rule, dealers=len(frame),
                 at_risk=float(frame["revenue_at_risk"].sum()),
                 snapshots=sorted(state.snapshots),
                 band_legend=Markup(charts.band_legend(bands, band_labels)))
