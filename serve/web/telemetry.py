"""Prometheus metrics of one process (with several workers, each reports its own)."""

from __future__ import annotations

import time

import pandas as pd
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("dealer_risk_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("dealer_risk_request_seconds", "Request latency", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5))
MODEL_VERSION = Gauge("dealer_risk_model_version", "Champion version served", ["model"])
SNAPSHOT_AGE = Gauge("dealer_risk_snapshot_age_seconds",
                     "Seconds since the served snapshot's as-of date")
RELOADS = Counter("dealer_risk_reloads_total", "Reloads that changed the served state")


def refresh_gauges(holder) -> None:
    state = holder.state
    if state is None:
        return
    for model, version in state.versions.items():
        MODEL_VERSION.labels(model=model).set(float(version) if version.isdigit() else 0)
    SNAPSHOT_AGE.set(time.time() - pd.Timestamp(state.current.as_of).timestamp())


_CHILDREN: dict[tuple, tuple] = {}


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Count the request and time it. The labelled children are kept per (method, route,
    status): looking them up by labels costs more than the lookup's own work. Routes are
    templates and statuses few, so the dict stays small."""
    key = (method, route, status)
    children = _CHILDREN.get(key)
    if children is None:
        children = _CHILDREN[key] = (
            REQUESTS.labels(method=method, route=route, status=str(status)),
            LATENCY.labels(route=route))
    children[0].inc()
    children[1].observe(seconds)
