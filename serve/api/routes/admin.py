"""Reload: pick up a new champion or snapshot without a restart (admin role)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from serve.service.state import describe
from serve.web.deps import Admin, Holder, Keys
from serve.web.responses import JSON
from serve.web.telemetry import RELOADS

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/reload", response_class=JSON, responses={503: {"description": "Nothing to "
                                                              "load; previous state kept"}})
async def reload(holder: Holder, keys: Keys, _: Admin):
    """Load the current champions and snapshots aside, then swap them in; re-read the keys
    file (api.keys_file) at once."""
    keys.refresh(force=True)
    changed = await run_in_threadpool(holder.reload)
    if holder.state is None:
        raise HTTPException(503, f"not ready: {holder.error}")
    if changed:
        RELOADS.inc()
    return {"reloaded": changed, "error": holder.error, "keys_error": keys.error,
            **describe(holder.state)}
