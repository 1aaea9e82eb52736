"""One dealer as documents: its risk with reasons (GET /v1/dealers/{id}/risk, the dealer
page) and its scores over the snapshots (GET /v1/dealers/{id}/history, the page's chart)."""

from __future__ import annotations

from datetime import date

from serve.service.errors import NotFound
from serve.service.render import dealer_risk, meta, survival
from serve.service.situations import Situation
from serve.service.state import ServingState
from serve.settings import Settings

HISTORY_COLUMNS = ("churn_probability", "decline_probability", "band", "forecast_p10",
                   "forecast_p50", "forecast_p90", "orders_amount_12m", "revenue_at_risk")


def dealer_row(state: ServingState, dealer_id: str) -> dict:
    """The dealer's row of the current snapshot."""
    snap = state.current
    at = snap.position.get(dealer_id)
    if at is None:
        raise NotFound(f"dealer {dealer_id} is not in the snapshot of {snap.as_of} "
                       "(unknown, or not active)")
    return snap.records[at]


def dealer_document(state: ServingState, settings: Settings, dealer_id: str,
                    lang: str, situation: Situation | None = None,
                    day: date | None = None) -> dict:
    """The dealer's risk document with the answer's meta, and the known situation running
    today (serve.service.situations), if any."""
    snap = state.current
    row = dealer_row(state, dealer_id)
    doc = dealer_risk(row, lang, settings, state.open_alerts.get(dealer_id, []))
    doc["situation"] = situation.document(lang, day or date.today()) if situation else None
    return {"meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
            "dealer": doc}


def survival_document(state: ServingState, settings: Settings, dealer_id: str, lang: str
                      ) -> dict:
    """GET /v1/dealers/{id}/survival: the dealer's survival curve in the current snapshot."""
    snap = state.current
    row = dealer_row(state, dealer_id)
    return {"meta": meta(settings, snap.as_of, snap.versions, snap.model_status),
            "dealer_id": dealer_id, "as_of": snap.as_of,
            "survival": survival(row, lang, settings)}


def dealer_history(state: ServingState, dealer_id: str) -> list[dict]:
    """The dealer's scores and orders in every snapshot that holds it, oldest first."""
    points = []
    for as_of in sorted(state.snapshots):
        snap = state.snapshots[as_of]
        at = snap.position.get(dealer_id)
        if at is not None:
            row = snap.records[at]
            points.append({"as_of": as_of, **{c: row[c] for c in HISTORY_COLUMNS}})
    return points
