"""Known situations on the dealer page (serve.service.situations): the one running, its
history and audit trail, and the forms that record, change and end one (reps and managers:
the field and admin roles), each with its CSRF token."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from serve.dashboard.base import html_page, language, router, signed_in
from serve.dashboard.guard import CSRF_COOKIE, csrf_ok
from serve.dashboard.i18n import translate
from serve.dashboard.session import COOKIE, credential_of_session, role_of_session
from serve.service.dealers import dealer_row
from serve.service.errors import ServiceError
from serve.service.situations import KINDS, Situations
from serve.web.deps import ROLE_RANK


def may_record(request: Request) -> bool:
    """Field and admin sessions (or an open service) may record situations."""
    keys = request.app.state.keys
    if keys.open:
        return True
    role = role_of_session(request.cookies.get(COOKIE), keys.keys(),
                           request.app.state.holder.settings.api)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK["field"]


def refused(request: Request, lang: str, csrf: str | None,
            forbidden: str) -> HTMLResponse | None:
    """The page that refuses a field form: a CSRF token that does not match its cookie, or
    a session without the field or admin role (`forbidden`: its message key). None when
    the form may be taken."""
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), csrf):
        return html_page(request, "message.html", lang, status=403,
                         message=translate("csrf_failed", lang))
    if not may_record(request):
        return html_page(request, "message.html", lang, status=403,
                         message=translate(forbidden, lang))
    return None


def situation_context(request: Request, dealer_id: str, lang: str) -> dict:
    """What the dealer page shows of its situations."""
    book: Situations = request.app.state.situations
    store = book.store
    day = store.today()
    history = [s.document(lang, day) for s in store.for_dealer(dealer_id)]
    trail = store.events(dealer_id)
    for event in trail:
        event["action_name"] = translate(f"situation_{event['action']}", lang)
    return {"situation": next((s for s in history if s["active"]), None),
            "situation_history": history, "situation_trail": trail,
            "situation_kinds": [(k, names[lang == "zh"]) for k, names in KINDS.items()],
            "may_record": may_record(request), "today": day.isoformat(),
            "tomorrow": (day + timedelta(days=1)).isoformat(),
            "furthest": (day + timedelta(days=store.max_days)).isoformat()}


@router.post("/dealers/{dealer_id}/situations", response_class=HTMLResponse,
             dependencies=[Depends(signed_in)])
def record_situation(
    request: Request, dealer_id: str,
    action: Annotated[Literal["record", "change", "end"], Form()],
    by: Annotated[str, Form(max_length=128)] = "",
    kind: Annotated[str | None, Form(max_length=32)] = None,
    note: Annotated[str | None, Form(max_length=500)] = None,
    expires_on: Annotated[date | None, Form()] = None,
    situation_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    csrf: Annotated[str | None, Form(max_length=200)] = None,
):
    """Record, change or end the dealer's known situation, then back to its page."""
    lang = language(request)
    if (refusal := refused(request, lang, csrf, "situation_forbidden")) is not None:
        return refusal
    book: Situations = request.app.state.situations
    credential = credential_of_session(request.cookies.get(COOKIE))
    try:
        if action == "record":
            state = request.app.state.holder.state
            if state is not None:
                dealer_row(state, dealer_id)
            book.store.add(dealer_id, kind or "", note or "",
                           expires_on or book.store.today(), by=by, credential=credential)
        else:
            if situation_id is None or book.store.get(situation_id).dealer_id != dealer_id:
                return html_page(request, "message.html", lang, status=404,
                                 message=translate("situation_missing", lang))
            book.store.change(situation_id, by=by, credential=credential, kind=kind,
                              note=note, expires_on=expires_on, end=action == "end")
    except ServiceError as exc:
        return html_page(request, "message.html", lang, status=exc.status,
                         message=translate("situation_refused", lang, detail=exc.detail))
    book.written()
    return RedirectResponse(f"/dashboard/dealers/{dealer_id}?lang={lang}#situation",
                            status_code=303)
