"""The application `dealer-risk serve` runs: the API (serve.api) and the managers'
dashboard (serve.dashboard) on one FastAPI app, with its lifespan, error handling and
metrics middleware.

Run it with `dealer-risk serve`. The state (champion models and score snapshots) loads at
startup and reloads when a new champion or snapshot appears (periodic check) or on
POST /v1/admin/reload.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from serve.api.mount import STATIC_MOUNTS
from serve.api.mount import install as install_api
from serve.dashboard.base import error_page, is_page
from serve.dashboard.mount import STATIC_MOUNTS as DASHBOARD_STATIC
from serve.dashboard.mount import install as install_dashboard
from serve.service.errors import ServiceError
from serve.service.situations import Situations
from serve.service.state import StateHolder
from serve.settings import Settings, load_settings
from serve.web.keys import KeyRing
from serve.web.responses import JSON
from serve.web.telemetry import RELOADS, observe

log = logging.getLogger("dealer_risk.api")
DESCRIPTION = """Dealer risk scores for CRMs and dashboards.

Every response carries the model versions, the as-of date, the horizon and what the
scores mean. Authenticate with an API key in the `X-API-Key` header (roles: `reader`,
`admin`). Integration guide with curl examples: docs/api.md.
"""


async def _periodic_reload(holder: StateHolder, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            if await run_in_threadpool(holder.reload, force=False):
                RELOADS.inc()
                log.info("reloaded: now serving snapshot %s", holder.state.current.as_of)
        except Exception:  # keep serving the previous state; log and try again later
            log.exception("periodic reload failed")


class LimitsAndMetrics:
    """413 for oversized bodies, declared (at once) or chunked (as the bytes come, before
    they are parsed), and request counts and latencies per route template.

    A plain ASGI middleware: Starlette's @app.middleware("http") wraps every response in
    a streaming copy, which costs more than the lookups themselves.
    """

    def __init__(self, app, max_body: int, mounts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_body = max_body
        self.mounts = mounts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        length = dict(scope["headers"]).get(b"content-length")
        status = 500
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            status = 413
            await JSON({"detail": f"request body over {self.max_body:,} bytes"},
                       status_code=413)(scope, receive, send)
        else:
            received = 0

            async def counted() -> dict:
                # chunked bodies have no length: count them as they come, and stop the
                # route (FastAPI passes an HTTPException from the body on) before parsing
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise HTTPException(413, f"request body over {self.max_body:,} bytes")
                return message

            async def send_status(message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            await self.app(scope, counted, send_status)
        observe(scope["method"], self._label(scope), status, time.perf_counter() - start)

    def _label(self, scope) -> str:
        """The route's template; a mounted static folder by its prefix; else unmatched."""
        route = scope.get("route")
        if route is not None:
            return route.path
        path = scope.get("path", "")
        for prefix in self.mounts:
            if path.startswith(prefix + "/"):
                return prefix + "/{file}"
        return "unmatched"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    holder = StateHolder(settings)
    keys = KeyRing(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if keys.open:
            log.warning("no api_keys configured: the API is open to anyone who can reach "
                        "it; bind it to loopback only")
        await run_in_threadpool(holder.reload)
        await run_in_threadpool(app.state.situations.running)  # migrate the store now
        if holder.state is None:
            log.error("not ready: %s", holder.error)
        task = None
        if settings.api.reload_check_seconds > 0:
            task = asyncio.create_task(_periodic_reload(holder,
                                                        settings.api.reload_check_seconds))
        yield
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    app = FastAPI(title="dealer-risk", version="1", description=DESCRIPTION,
                  lifespan=lifespan, default_response_class=JSON,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.holder = holder
    app.state.keys = keys
    app.state.situations = Situations(settings)
    install_api(app)
    install_dashboard(app)
    app.add_middleware(LimitsAndMetrics, max_body=settings.api.max_body_bytes,
                       mounts=(*STATIC_MOUNTS, *DASHBOARD_STATIC))

    @app.exception_handler(ServiceError)
    async def unanswerable(request: Request, exc: ServiceError):
        if is_page(request):
            return error_page(request, exc.status)
        return JSON({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if is_page(request) and exc.status_code in (404, 405):
            return error_page(request, exc.status_code)
        return JSON({"detail": exc.detail}, status_code=exc.status_code,
                    headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError):
        if is_page(request):
            return error_page(request, 422, [(str(e.get("loc", ("?",))[-1]), e.get("input"))
                                             for e in exc.errors()])
        parts = []
        for err in exc.errors():
            where = " ".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSON({"detail": "; ".join(parts)}, status_code=422)

    return app
