"""Tasks (/dashboard/tasks): a rep's own ("My tasks", ?owner=) and the managers' view of
everyone's, overdue first, with the form that records what was done (field and admin
roles, CSRF); the same store as GET/PATCH /v1/tasks (serve.service.tasks)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from features.contract import PROGRAM_KINDS
from serve.dashboard.base import html_page, language, router, signed_in
from serve.dashboard.i18n import translate
from serve.dashboard.session import COOKIE, credential_of_session
from serve.dashboard.situations import may_record, refused
from serve.service.errors import ServiceError
from serve.service.tasks import OUTCOMES, STATUSES, TaskStore


def _store(request: Request) -> TaskStore:
    return TaskStore.of(request.app.state.situations)


@router.get("/tasks", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def tasks_page(request: Request, lang: Annotated[str | None, Query()] = None,
               owner: Annotated[str | None, Query(max_length=64)] = None,
               show: Annotated[Literal["active", "all"], Query()] = "active",
               page: Annotated[int, Query(ge=0, le=10**6)] = 0):
    """One rep's tasks (owner) or everyone's, overdue first, a page at a time
    (tasks.page_size); per owner, how many are overdue and how many of those due were done
    on time."""
    lang = language(request, lang)
    size = request.app.state.holder.settings.tasks.page_size
    store = _store(request)
    day = store.today()
    everyone = store.listed(day=day)
    owners = sorted({t.owner for t in everyone if t.owner})
    chosen = [t for t in everyone if (not owner or t.owner == owner)
              and (show == "all" or t.status in ("open", "in_progress"))]
    on_time = store.on_time(day)
    summary = [{"owner": o,
                "open": sum(t.owner == o and t.status in ("open", "in_progress")
                            for t in everyone),
                "overdue": sum(t.owner == o and t.overdue(day) for t in everyone),
                "due": int(on_time["tasks_due"].get(o, 0)),
                "on_time": int(on_time["tasks_done_on_time"].get(o, 0))} for o in owners]
    pages = max(1, -(-len(chosen) // size))
    page = min(page, pages - 1)
    return html_page(request, "tasks.html", lang, tasks=[
        t.document(lang, day) for t in chosen[page * size:(page + 1) * size]],
                     total=len(chosen), page=page, pages=pages,
                     page_url=lambda p: _list_url(lang, owner, show, p),
                     owner=owner, owners=owners, show=show, summary=summary,
                     statuses=STATUSES, outcomes=OUTCOMES,
                     programs=[(k, zh if lang == "zh" else k.replace("_", " "))
                               for k, zh in PROGRAM_KINDS.items()],
                     may_record=may_record(request), today=day.isoformat())


@router.post("/tasks/{task_id}", response_class=HTMLResponse,
             dependencies=[Depends(signed_in)])
def record_task(
    request: Request, task_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    by: Annotated[str, Form(max_length=128)] = "",
    status: Annotated[str | None, Form(max_length=16)] = None,
    outcome: Annotated[str | None, Form(max_length=32)] = None,
    program: Annotated[str | None, Form(max_length=32)] = None,
    program_cost: Annotated[float | None, Form(ge=0)] = None,
    dismiss_reason: Annotated[str | None, Form(max_length=500)] = None,
    note: Annotated[str | None, Form(max_length=500)] = None,
    owner: Annotated[str | None, Form(max_length=64)] = None,
    show: Annotated[Literal["active", "all"], Form()] = "active",
    page: Annotated[int, Form(ge=0, le=10**6)] = 0,
    csrf: Annotated[str | None, Form(max_length=200)] = None,
):
    """Record what was done on a task, then back to the list it was on."""
    lang = language(request)
    if (refusal := refused(request, lang, csrf, "task_forbidden")) is not None:
        return refusal
    try:
        _store(request).change(task_id, by=by,
                               credential=credential_of_session(request.cookies.get(COOKIE)),
                               status=status or None, outcome=outcome or None,
                               program=program or None, program_cost=program_cost,
                               dismiss_reason=dismiss_reason or None, note=note)
    except ServiceError as exc:
        return html_page(request, "message.html", lang, status=exc.status,
                         message=translate("situation_refused", lang, detail=exc.detail))
    return RedirectResponse(f"{_list_url(lang, owner, show, page)}#task-{task_id}",
                            status_code=303)


def _list_url(lang: str, owner: str | None, show: str, page: int) -> str:
    """The Tasks page in this language with these filters and page (defaults left out)."""
    query = [("lang", lang), *([("owner", owner)] if owner else []),
             *([("show", show)] if show != "active" else []), *([("page", page)] if page else [])]
    return f"/dashboard/tasks?{urlencode(query)}"
