"""Sign-in and sign-out (/dashboard/login, /dashboard/logout): a key checked once, then a
signed session cookie; CSRF tokens on the forms and growing waits after failed tries."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from serve.dashboard.base import html_page, language, router, secure
from serve.dashboard.guard import CSRF_COOKIE, LoginThrottle, csrf_ok
from serve.dashboard.i18n import translate
from serve.dashboard.session import COOKIE, issue
from serve.settings import Settings
from serve.web.keys import KeyRing


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, lang: Annotated[str | None, Query()] = None,
               next: Annotated[str, Query(max_length=500)] = "/dashboard"):
    return html_page(request, "login.html", language(request, lang), next=_safe_next(next),
                 failed=False)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, key: Annotated[str, Form(max_length=500)],
          next: Annotated[str, Form(max_length=500)] = "/dashboard",
          csrf: Annotated[str | None, Form(max_length=200)] = None):
    """Check the key once; keep only a signed session cookie (HttpOnly, SameSite=Lax,
    Secure behind TLS, expiring). Forms carry a CSRF token; failed tries wait longer."""
    settings: Settings = request.app.state.holder.settings
    lang = language(request)
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), csrf):
        return html_page(request, "login.html", lang, status=403, next=_safe_next(next),
                     failed=translate("csrf_failed", lang))
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    wait = throttle.wait(client, key)
    if wait > 0:
        seconds = math.ceil(wait)
        response = html_page(request, "login.html", lang, status=429, next=_safe_next(next),
                         failed=translate("login_throttled", lang, seconds=seconds))
        response.headers["Retry-After"] = str(seconds)
        return response
    keys: KeyRing = request.app.state.keys
    if not keys.open and keys.role_of(key) is None:
        throttle.failed(client, key)
        return html_page(request, "login.html", lang, status=401, next=_safe_next(next),
                     failed=translate("login_failed", lang))
    throttle.succeeded(client, key)
    response = RedirectResponse(_safe_next(next), status_code=303)
    if not keys.open:
        response.set_cookie(COOKIE, issue(key, settings.api), httponly=True, samesite="lax",
                            secure=secure(request),
                            max_age=int(settings.api.session_hours * 3600), path="/")
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request, csrf: Annotated[str | None, Form(max_length=200)] = None):
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), csrf):
        lang = language(request)
        return html_page(request, "message.html", lang, status=403,
                     message=translate("csrf_failed", lang))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _safe_next(path: str) -> str:
    """Only our own pages: no open redirect through ?next=."""
    return path if path.startswith("/dashboard") and "//" not in path else "/dashboard"
