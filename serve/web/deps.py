"""Dependencies shared by the routers: the serving state, the settings, the keys in force
and the caller's role.

All are `async def`: they only read memory, and FastAPI runs a plain `def` dependency on
its thread pool, a hand-off per dependency per request that cost the lookup more than
its own work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from serve.service.situations import Situations
from serve.service.state import ServingState, StateHolder
from serve.settings import Settings
from serve.web.keys import KeyRing

ROLE_RANK = {"reader": 1, "field": 2, "admin": 3}
API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                              description="Your API key (roles: reader, field, admin).")


async def get_holder(request: Request) -> StateHolder:
    return request.app.state.holder


async def get_settings(request: Request) -> Settings:
    return request.app.state.holder.settings


async def get_state(holder: Annotated[StateHolder, Depends(get_holder)]) -> ServingState:
    state = holder.state  # one read: the whole request sees one state
    if state is None:
        raise HTTPException(503, f"not ready: {holder.error or 'still loading'}")
    return state


async def get_keys(request: Request) -> KeyRing:
    return request.app.state.keys


async def get_situations(request: Request) -> Situations:
    return request.app.state.situations


async def get_key(key: Annotated[str | None, Security(api_key_header)]) -> str | None:
    """The key the caller sent (the audit trail keeps its fingerprint, never the key)."""
    return key


def authorize(keys: KeyRing, key: str | None, role: str) -> str:
    """The caller's role, at least `role`: else 401 (no or unknown key) or 403."""
    if keys.open:
        return "admin"  # no keys configured: open, loopback only (see serve command)
    found = keys.role_of(key)
    if found is None:
        raise HTTPException(401, "missing or unknown API key (send it in X-API-Key)")
    if ROLE_RANK[found] < ROLE_RANK[role]:
        raise HTTPException(403, f"this endpoint needs the {role} role")
    return found


def require(role: str):
    async def check(keys: Annotated[KeyRing, Depends(get_keys)],
                    key: Annotated[str | None, Security(api_key_header)]) -> str:
        return authorize(keys, key, role)
    return check


@dataclass(frozen=True)
class Served:
    """What a hot route reads, from one dependency: FastAPI's cost is per dependency
    (about 25 us each), and the lookup answers in less than ten of them."""

    state: ServingState
    settings: Settings
    book: Situations
    role: str
    accept_language: str | None


def served(role: str):
    """One dependency for a hot route: the key from its header (the route declares the
    security scheme with SECURED for the reference), the role, the state."""
    async def context(request: Request) -> Served:
        app = request.app
        found = authorize(app.state.keys, request.headers.get(API_KEY_HEADER), role)
        holder = app.state.holder
        state = holder.state  # one read: the whole request sees one state
        if state is None:
            raise HTTPException(503, f"not ready: {holder.error or 'still loading'}")
        return Served(state, holder.settings, app.state.situations, found,
                      request.headers.get("accept-language"))
    return context


State = Annotated[ServingState, Depends(get_state)]
AppSettings = Annotated[Settings, Depends(get_settings)]
Holder = Annotated[StateHolder, Depends(get_holder)]
Keys = Annotated[KeyRing, Depends(get_keys)]
Book = Annotated[Situations, Depends(get_situations)]
ApiKey = Annotated[str | None, Depends(get_key)]
Reader = Annotated[str, Depends(require("reader"))]
ServedReader = Annotated[Served, Depends(served("reader"))]
SECURED = {"security": [{"APIKeyHeader": []}],
           "parameters": [{"name": "Accept-Language", "in": "header", "required": False,
                           "schema": {"type": "string"},
                           "description": "Used when `lang` is not given."}]}
"""openapi_extra of a route on `served`: the key and the header it reads itself."""
Field = Annotated[str, Depends(require("field"))]
Admin = Annotated[str, Depends(require("admin"))]


async def json_only(content_type: Annotated[str | None, Header()] = None) -> None:
    """415 for a body that is not JSON (before it is parsed as something it is not)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/")
                                            and media.endswith("+json")):
        raise HTTPException(415, f"the body must be JSON (Content-Type: application/json), "
                                 f"not {media or 'without a content type'}")


JsonBody = Depends(json_only)
