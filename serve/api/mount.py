"""The API's routers and reference, added to an application (serve.app builds it)."""

from __future__ import annotations

from fastapi import FastAPI

from serve.api.docs import DOCS_ASSETS, install_docs
from serve.api.routes import (
    admin,
    alerts,
    dealers,
    ops,
    plan,
    reps,
    risk,
    score,
    situations,
    support,
    tasks,
    whatif,
)

ROUTERS = (ops, dealers, risk, alerts, situations, tasks, support, reps, plan, whatif,
           score, admin)
STATIC_MOUNTS = (DOCS_ASSETS,)
"""Mounted folders of static files, counted in /metrics by their prefix."""


def install(app: FastAPI) -> None:
    """Every /v1 route, /health, /ready, /metrics, and /docs, /redoc, /openapi.json."""
    for module in ROUTERS:
        app.include_router(module.router)
    install_docs(app)
