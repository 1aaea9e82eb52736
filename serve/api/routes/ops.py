"""Liveness, readiness and Prometheus metrics: open, no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serve.service.state import describe
from serve.web.deps import Holder
from serve.web.responses import JSON

router = APIRouter(tags=["operations"])


@router.get("/health", response_class=JSON)
def health() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", response_class=JSON, responses={503: {"description": "Not ready"}})
def ready(holder: Holder):
    """Models and a snapshot are loaded."""
    state = holder.state
    if state is None:
        return JSON({"status": "not ready", "detail": holder.error or "still loading"},
                    status_code=503)
    return JSON({"status": "ready", **describe(state),
                 **({"last_reload_error": holder.error} if holder.error else {})})


@router.get("/metrics", response_class=Response)
def metrics(holder: Holder) -> Response:
    """Prometheus text format: requests, latencies, model versions, snapshot age."""
    from serve.web.telemetry import refresh_gauges

    refresh_gauges(holder)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
