"""The dashboard's pages: worklist, dealer, overview, sign-in. Same process, same state and
the same selection code as the API, rendered with Jinja2 (autoescaped) and inline SVG.

Access follows the API: with no api_keys it is open (the server binds to loopback only);
with keys, a sign-in page takes a key once and keeps an HttpOnly, SameSite=Strict session
cookie (serve/dashboard/session.py).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from features.catalog import BY_NAME
from features.text import format_signed, format_value
from models.alerts import PAST_FORECAST
from serve.api.deps import get_settings, role_of
from serve.api.render import alert_doc, dealer_risk
from serve.api.routes.risk import csv_response, ordered, select_dealers
from serve.api.state import ServingState, StateHolder
from serve.dashboard import charts
from serve.dashboard.guard import (
    CSRF_COOKIE,
    SECURITY_HEADERS,
    LoginThrottle,
    csrf_ok,
    csrf_token,
)
from serve.dashboard.i18n import flag_sentence, label, translate
from serve.dashboard.session import COOKIE, issue, role_of_session
from serve.monitor import read_latest
from serve.scoring import quarter_if_stays
from serve.settings import Settings

HERE = Path(__file__).parent
LANG_COOKIE = "dealer_risk_lang"
PAGE = 50
FILTERS = ("region", "tier", "sales_rep", "stage", "band")
templates = Jinja2Templates(directory=HERE / "templates")


def _known(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _pct(value: object, signed: bool = False) -> str:
    """A probability as a percentage; a dash when unknown (a model without a version)."""
    return ("{:+.0%}" if signed else "{:.0%}").format(value) if _known(value) else "–"


def _points(value: object, lang: str = "en") -> str:
    """A change of probability in percentage points: "+5 pts", "−3 pts", "0 pts"; never
    "%" (that would read as a relative change) nor "-0"."""
    if not _known(value):
        return "–"
    n = round(float(value) * 100)
    number = "0" if n == 0 else f"{n:+d}".replace("-", "−")
    return f"{number}个百分点" if lang == "zh" else f"{number} pts"


def _money(value: object) -> str:
    return f"¥{value:,.0f}" if _known(value) else "–"


templates.env.filters["pct"] = _pct
templates.env.filters["money"] = _money
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


def signed_in(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    if not settings.api_keys:
        return
    if role_of_session(request.cookies.get(COOKIE), settings) is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path)


def _state(request: Request) -> ServingState | None:
    holder: StateHolder = request.app.state.holder
    return holder.state


def _page(request: Request, template: str, lang: str, status: int = 200, **context):
    settings: Settings = request.app.state.holder.settings
    state = _state(request)

    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    query = dict(request.query_params)
    query["lang"] = "en" if lang == "zh" else "zh"
    csrf, fresh = csrf_token(request.cookies.get(CSRF_COOKIE))
    response = templates.TemplateResponse(request, template, {
        "t": t, "lang": lang, "label": lambda kind, v: label(kind, v, lang),
        "flag": lambda code: flag_sentence(code, lang),
        "points": lambda value: _points(value, lang),
        "toggle_url": f"{request.url.path}?{urlencode(query)}",
        "state": state, "signed": bool(settings.api_keys) and COOKIE in request.cookies,
        "csrf": csrf, **context}, status_code=status)
    if request.query_params.get("lang") in ("en", "zh"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax",
                            httponly=True)
    if fresh:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                            secure=_secure(request), path="/dashboard")
    return response


def _levers(row: dict, lang: str) -> list[dict]:
    """The snapshot's levers for the dealer, in the reader's words, with the feature groups
    each moves (to name it beside the actions that answer those groups)."""
    out = []
    for lever in json.loads(row.get("levers") or "[]"):
        out.append({"sentence": lever["sentence_zh" if lang == "zh" else "sentence_en"],
                    "points": lever["points"], "kind": lever["kind"], "name": lever["name"],
                    "groups": {BY_NAME[f].group for f in lever["changes"] if f in BY_NAME}})
    return out


def _lever_moved(action: dict, levers: list[dict]) -> dict | None:
    """The strongest lever moving a feature group the action answers, if any."""
    groups = {answer.get("group") for answer in action["answers"]}
    return next((lever for lever in levers if lever["groups"] & groups), None)


def _secure(request: Request) -> bool:
    settings: Settings = request.app.state.holder.settings
    return settings.api.behind_tls or request.url.scheme == "https"


def _not_ready(request: Request, lang: str) -> HTMLResponse:
    holder: StateHolder = request.app.state.holder
    return _page(request, "message.html", lang, status=503,
                 message=translate("not_ready", lang, why=holder.error or "loading"))


def _filters(request: Request) -> dict[str, list[str]]:
    return {f: [v for v in request.query_params.getlist(f) if v] for f in FILTERS}


@router.get("", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def worklist(request: Request, lang: Annotated[str | None, Query()] = None,
             q: Annotated[str | None, Query(max_length=100)] = None,
             page: Annotated[int, Query(ge=0)] = 0):
    """Dealers ranked by revenue at risk, with filters, search, totals and export."""
    lang = language(request, lang)
    state = _state(request)
    if state is None:
        return _not_ready(request, lang)
    snap = state.current
    chosen = _chosen(state, request, q)
    rows = chosen.iloc[page * PAGE:(page + 1) * PAGE].to_dict("records")
    for r in rows:
        r["open_alerts"] = len(state.open_alerts.get(r["dealer_id"], ()))
        r["top_reason"] = r["top_reason_zh"] if lang == "zh" else r["top_reason_en"]
    frame = snap.frame
    options = {"region": sorted(frame["region"].dropna().unique()),
               "tier": sorted(frame["tier"].dropna().unique()),
               "sales_rep": sorted(frame["sales_rep_id"].dropna().unique()),
               "stage": sorted(frame["stage"].dropna().unique()),
               "band": sorted(frame["band"].dropna().unique(),
                              key=request.app.state.holder.settings.scoring.bands.get)}
    base = [(k, v) for k, vs in _filters(request).items() for v in vs]
    base += [("q", q)] if q else []
    return _page(request, "worklist.html", lang, rows=rows, total=len(chosen),
                 at_risk=float(chosen["revenue_at_risk"].sum()), page=page,
                 pages=max(1, -(-len(chosen) // PAGE)), options=options,
                 selected=_filters(request), q=q or "",
                 export_url=f"/dashboard/export.csv?{urlencode(base + [('lang', lang)])}",
                 page_url=lambda p: f"/dashboard?{urlencode(base + [('page', p)])}")


def _chosen(state: ServingState, request: Request, q: str | None):
    f = _filters(request)
    return ordered(select_dealers(state, state.current, region=f["region"], tier=f["tier"],
                                  sales_rep=f["sales_rep"], band=f["band"],
                                  stage=f["stage"], search=q), "revenue_at_risk")


@router.get("/export.csv", dependencies=[Depends(signed_in)])
def export(request: Request, lang: Annotated[str | None, Query()] = None,
           q: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    """The current view of the worklist as CSV: the same columns as GET /v1/risk?format=csv."""
    lang = language(request, lang)
    state = _state(request)
    if state is None:
        return _not_ready(request, lang)
    snap = state.current
    return csv_response(_chosen(state, request, q), lang, snap.as_of, snap.versions,
                        state.open_alerts)


@router.get("/dealers/{dealer_id}", response_class=HTMLResponse,
            dependencies=[Depends(signed_in)])
def dealer_page(request: Request, dealer_id: str, lang: Annotated[str | None, Query()] = None):
    """Scores with their meaning, factors against own past and peers, risk and orders over
    time, alerts, recommended actions, data-quality flags."""
    lang = language(request, lang)
    state = _state(request)
    if state is None:
        return _not_ready(request, lang)
    settings: Settings = request.app.state.holder.settings
    snap = state.current
    at = snap.position.get(dealer_id)
    if at is None:
        return _page(request, "message.html", lang, status=404,
                     message=translate("not_found", lang, id=dealer_id, as_of=snap.as_of))
    row = snap.records[at]
    doc = dealer_risk(row, lang, settings, state.open_alerts.get(dealer_id, []))
    legend = {"dealer": translate("legend_dealer", lang),
              "past": translate("legend_past", lang),
              "peers": translate("legend_peers", lang)}
    history = [{"as_of": d, **{c: s.records[s.position[dealer_id]][c]
                               for c in ("churn_probability", "decline_probability")}}
               for d, s in sorted(state.snapshots.items()) if dealer_id in s.position]
    months = json.loads(row["orders_by_month"]) if row.get("orders_by_month") else {}
    labels = settings.labels
    levers = _levers(row, lang)
    return _page(
        request, "dealer.html", lang, d=doc, levers=levers,
        action_levers=[_lever_moved(a, levers) for a in doc["actions"]],
        levers_computed=_known(row["churn_probability"])
        and row["churn_probability"] >= settings.levers.min_probability,
        levers_from=f"{settings.levers.min_probability:.0%}",
        stays_quarter=float(quarter_if_stays(doc["forecast"]["expected"] if _known(
            doc["forecast"]["expected"]) else math.nan, doc["churn"]["probability"] if _known(
            doc["churn"]["probability"]) else math.nan)),
        factor_charts={m: Markup(charts.factor_bars(
            doc[m]["factors"], {**legend, "title": translate("factors", lang)},
            fmt=lambda name, value: column_value(name, value, lang)))
            for m in ("churn", "decline")},
        risk_chart=Markup(charts.risk_lines(history, {
            "churn": translate("churn", lang), "decline": translate("decline", lang),
            "title": translate("risk_over_time", lang)})),
        orders_chart=Markup(charts.month_bars(months, translate("orders_by_month", lang))),
        meaning_churn=translate("meaning_churn", lang, days=labels.churn.horizon_days),
        meaning_decline=translate("meaning_decline", lang,
                                  months=labels.decline.horizon_months,
                                  drop=f"{labels.decline.drop:.0%}"),
        feature_name=lambda name: column_name(name, lang),
        number=lambda name, value: column_value(name, value, lang))


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


@router.get("/overview", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def overview(request: Request, lang: Annotated[str | None, Query()] = None):
    """Risk by region and tier, open alerts by rule, model versions and snapshot date."""
    lang = language(request, lang)
    state = _state(request)
    if state is None:
        return _not_ready(request, lang)
    settings: Settings = request.app.state.holder.settings
    frame = state.current.frame
    bands = sorted(settings.scoring.bands, key=settings.scoring.bands.get)
    band_labels = {b: label("band", b, lang) for b in bands}

    def breakdown(column: str) -> list[dict]:
        out = []
        for value, part in frame.groupby(column, sort=True):
            counts = Counter(part["band"])
            out.append({"name": value, "dealers": len(part), "counts": counts,
                        "at_risk": float(part["revenue_at_risk"].sum()),
                        "mean_churn": float(part["churn_probability"].mean()),
                        "chart": Markup(charts.band_stack(counts, bands, band_labels))})
        return out

    alerts = state.alerts
    open_ = alerts[alerts["status"] == "open"] if len(alerts) else alerts
    by_rule = []
    for rule in settings.alerts.rules:
        n = int((open_["rule"] == rule.name).sum()) if len(open_) else 0
        doc = alert_doc({"rule": rule.name, "severity": rule.severity, "group": rule.group,
                         "numbers": {}}, settings, lang)
        by_rule.append({"rule": rule.name, "title": doc["title"], "severity": rule.severity,
                        "count": n})
    health = read_latest(settings.work_dir)
    return _page(request, "overview.html", lang, bands=bands, by_region=breakdown("region"),
                 health=health, health_features=[
                     r for r in (health or {}).get("features", [])
                     if r["status"] != "stable"][:8],
                 health_matured=[r for r in (health or {}).get("matured", [])
                                 if r["segment"] == "all"],
                 feature_name=lambda name: column_name(name, lang),
                 by_tier=breakdown("tier"), by_rule=by_rule, dealers=len(frame),
                 at_risk=float(frame["revenue_at_risk"].sum()),
                 snapshots=sorted(state.snapshots),
                 band_legend=Markup(charts.band_legend(bands, band_labels)))


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, lang: Annotated[str | None, Query()] = None,
               next: Annotated[str, Query(max_length=500)] = "/dashboard"):
    return _page(request, "login.html", language(request, lang), next=_safe_next(next),
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
        return _page(request, "login.html", lang, status=403, next=_safe_next(next),
                     failed=translate("csrf_failed", lang))
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "unknown"
    wait = throttle.wait(client, key)
    if wait > 0:
        seconds = math.ceil(wait)
        response = _page(request, "login.html", lang, status=429, next=_safe_next(next),
                         failed=translate("login_throttled", lang, seconds=seconds))
        response.headers["Retry-After"] = str(seconds)
        return response
    if settings.api_keys and role_of(key, settings.api_keys) is None:
        throttle.failed(client, key)
        return _page(request, "login.html", lang, status=401, next=_safe_next(next),
                     failed=translate("login_failed", lang))
    throttle.succeeded(client, key)
    response = RedirectResponse(_safe_next(next), status_code=303)
    if settings.api_keys:
        response.set_cookie(COOKIE, issue(key, settings), httponly=True, samesite="lax",
                            secure=_secure(request),
                            max_age=int(settings.api.session_hours * 3600), path="/")
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request, csrf: Annotated[str | None, Form(max_length=200)] = None):
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), csrf):
        lang = language(request)
        return _page(request, "message.html", lang, status=403,
                     message=translate("csrf_failed", lang))
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


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
    return _page(request, "message.html", lang, status=status, message=message)


def _safe_next(path: str) -> str:
    """Only our own pages: no open redirect through ?next=."""
    return path if path.startswith("/dashboard") and "//" not in path else "/dashboard"


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
    from serve.dashboard import reps_page, support_page  # noqa: F401  (add their pages)
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
