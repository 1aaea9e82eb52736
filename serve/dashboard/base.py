"""The dashboard's page machinery: templates, the reader's language, sign-in, and the
page and error-page responses every page module uses (worklist, dealer, overview, reps,
support, sign-in). Pages read the loaded state through serve.service, the same documents
the API serves, rendered with Jinja2 (autoescaped) and inline SVG.

Access follows the API: with no key configured it is open (the server binds to loopback
only); with keys (serve.web.keys), a sign-in page takes a key once and keeps an HttpOnly,
SameSite=Lax session cookie (serve/dashboard/session.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from features.catalog import BY_NAME
from features.text import format_signed, format_value
from models.alerts import PAST_FORECAST
from serve.dashboard.guard import CSRF_COOKIE, csrf_token
from serve.dashboard.i18n import flag_sentence, label, translate
from serve.dashboard.session import COOKIE, role_of_session
from serve.service.state import ServingState, StateHolder
from serve.settings import Settings
from serve.web.deps import get_keys, get_settings
from serve.web.keys import KeyRing

HERE = Path(__file__).parent
LANG_COOKIE = "dealer_risk_lang"
templates = Jinja2Templates(directory=HERE / "templates")




def known(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def pct(value: object, signed: bool = False) -> str:
    """A probability as a percentage; a dash when unknown (a model without a version)."""
    return ("{:+.0%}" if signed else "{:.0%}").format(value) if known(value) else "–"


def points(value: object, lang: str = "en") -> str:
    """A change of probability in percentage points: "+5 pts", "−3 pts", "0 pts"; never
    "%" (that would read as a relative change) nor "-0"."""
    if not known(value):
        return "–"
    n = round(float(value) * 100)
    number = "0" if n == 0 else f"{n:+d}".replace("-", "−")
    return f"{number}个百分点" if lang == "zh" else f"{number} pts"


def money(value: object) -> str:
    return f"¥{value:,.0f}" if known(value) else "–"


templates.env.filters["pct"] = pct
templates.env.filters["money"] = money
router = APIRouter(prefix="/dashboard", include_in_schema=False)


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def language(request: Request, lang: str | None = None) -> str:
    """?lang= (then remembered in a cookie), else the cookie, else Accept-Language."""
    if lang in ("en", "zh"):
        return lang
    saved = request.cookies.get(LANG_COOKIE)
    if saved in ("en", "zh"):
        return saved
    accept = request.headers.get("accept-language", "").lower()
    return "zh" if accept.startswith("zh") else "en"


def signed_in(request: Request, settings: Annotated[Settings, Depends(get_settings)],
              keys: Annotated[KeyRing, Depends(get_keys)]) -> None:
    if keys.open:
        return
    if role_of_session(request.cookies.get(COOKIE), keys.keys(), settings.api) is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path)


def state_of(request: Request) -> ServingState | None:
    holder: StateHolder = request.app.state.holder
    return holder.state


def html_page(request: Request, template: str, lang: str, status: int = 200, **context):
    state = state_of(request)

    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    query = dict(request.query_params)
    query["lang"] = "en" if lang == "zh" else "zh"
    csrf, fresh = csrf_token(request.cookies.get(CSRF_COOKIE))
    response = templates.TemplateResponse(request, template, {
        "t": t, "lang": lang, "label": lambda kind, v: label(kind, v, lang),
        "flag": lambda code: flag_sentence(code, lang),
        "points": lambda value: points(value, lang),
        "toggle_url": f"{request.url.path}?{urlencode(query)}",
        "state": state, "signed": not request.app.state.keys.open and COOKIE in request.cookies,
        "csrf": csrf, **context}, status_code=status)
    if request.query_params.get("lang") in ("en", "zh"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax",
                            httponly=True)
    if fresh:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                            secure=secure(request), path="/dashboard")
    return response


def secure(request: Request) -> bool:
    settings: Settings = request.app.state.holder.settings
    return settings.api.behind_tls or request.url.scheme == "https"


def not_ready(request: Request, lang: str) -> HTMLResponse:
    holder: StateHolder = request.app.state.holder
    return html_page(request, "message.html", lang, status=503,
                 message=translate("not_ready", lang, why=holder.error or "loading"))


def column_name(name: str, lang: str) -> str:
    """A feature's or score's short description in the reader's language."""
    if name in BY_NAME:
        return BY_NAME[name].description_zh if lang == "zh" else BY_NAME[name].description_en
    return translate(name, lang)


def column_value(name: str, value: object, lang: str) -> str:
    """An alert's number in its unit (¥, %, days ...)."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if name in BY_NAME:
        return format_signed(name, value, lang) or "–"
    if name.endswith("_probability_change"):
        return f"{float(value):+.0%}"
    if name.endswith("_probability"):
        return f"{float(value):.0%}"
    if name == PAST_FORECAST:
        return format_value("CNY", value, lang)
    return f"{float(value):,.4g}"


def is_page(request: Request) -> bool:
    """A dashboard page (not its static files): errors there are pages too, never JSON."""
    path = request.url.path
    return path.startswith("/dashboard") and not path.startswith("/dashboard/static")


def error_page(request: Request, status: int, bad_params: list[tuple[str, object]] | None = None):
    """An HTTP error on a dashboard page as a page in the reader's language: a link with a
    value the page cannot read (?page=abc) names it; an unknown address says so."""
    lang = language(request, request.query_params.get("lang"))
    if bad_params:
        shown = ", ".join(f"{name} ({value!r})" if value is not None else name
                          for name, value in bad_params)
        message = translate("bad_link", lang, params=shown)
    elif status == 404:
        message = translate("page_not_found", lang, path=request.url.path)
    else:
        message = translate("page_error", lang, status=status)
    return html_page(request, "message.html", lang, status=status, message=message)
