"""The dashboard added to an application (serve.app builds it): every page module's routes,
the static files, the sign-in redirect and the security headers."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from serve.dashboard import (
    dealer,
    guide,
    overview,
    plan,
    reps,
    signin,
    situations,
    support,
    tasks,
    worklist,
)
from serve.dashboard.base import HERE, SignInRequired, router
from serve.dashboard.guard import SECURITY_HEADERS, LoginThrottle

PAGES = (worklist, dealer, situations, overview, reps, support, tasks, plan, guide,
         signin)
"""The modules whose routes `router` carries (imported for that)."""
STATIC_MOUNTS = ("/dashboard/static",)
"""Mounted folders of static files, counted in /metrics by their prefix."""

class SecurityHeaders:
    """The security headers on every dashboard response (pages, redirects, static files),
    added as the response starts; the API's JSON routes are left as they are."""

    def __init__(self, app) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/dashboard"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  *self.headers]}
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI) -> None:
    """Mount the pages, their static files, the sign-in redirect and the page guards."""
    api = app.state.holder.settings.api
    app.state.login_throttle = LoginThrottle(free=api.login_free_attempts,
                                             max_wait=api.login_max_wait_seconds)
    app.add_middleware(SecurityHeaders)
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=HERE / "static"),
              name="dashboard-static")

    @app.exception_handler(SignInRequired)
    async def to_login(request: Request, exc: SignInRequired):
        return RedirectResponse(f"/dashboard/login?{urlencode({'next': exc.next_path})}",
                                status_code=303)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)
