"""Tasks (serve.service.tasks): GET /v1/tasks for worklists and CRMs, PATCH to record what
was done. Reading needs the reader role; changing, field or admin."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query
from starlette.concurrency import run_in_threadpool

from serve.api.schemas import TaskChange, TaskDetail, TaskList
from serve.service.render import pick_lang
from serve.service.situations import credential_of
from serve.service.tasks import TaskStore
from serve.web.deps import ApiKey, AppSettings, Book, Field, JsonBody, Reader
from serve.web.responses import JSON, json_response

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])
TaskId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The task's id")]
Lang = Annotated[Literal["en", "zh"] | None, Query()]


@router.get("", response_model=TaskList, response_class=JSON)
async def list_tasks(
    book: Book, settings: AppSettings, _: Reader,
    owner: Annotated[list[str] | None, Query(description="sales_rep_id")] = None,
    status: Annotated[list[Literal["open", "in_progress", "done", "dismissed"]] | None,
                      Query()] = None,
    region: Annotated[list[str] | None, Query()] = None,
    dealer_id: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[bool | None, Query(description="true: open or in progress past "
                                          "their due date")] = None,
    due_before: Annotated[date | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    lang: Lang = None, accept_language: Annotated[str | None, Header()] = None,
):
    """Tasks, overdue first, then by due date and severity."""
    size = limit or settings.api.page_size
    if size > settings.api.max_page_size:
        raise HTTPException(422, f"limit must be at most {settings.api.max_page_size}")
    store = TaskStore.of(book)
    day = store.today()
    found = await run_in_threadpool(lambda: store.listed(
        day=day, owner=owner, status=status, region=region, dealer_id=dealer_id,
        overdue=overdue, due_before=due_before))
    language = pick_lang(lang, accept_language)
    return json_response({"items": [t.document(language, day) for t in found[:size]],
                          "total": len(found)})


@router.get("/{task_id}", response_model=TaskDetail, response_class=JSON,
            responses={404: {"description": "No such task"}})
async def get_task(task_id: TaskId, book: Book, _: Reader, lang: Lang = None,
                   accept_language: Annotated[str | None, Header()] = None):
    """One task with its history."""
    store = TaskStore.of(book)
    task = await run_in_threadpool(store.get, task_id)
    history = await run_in_threadpool(store.history, task_id)
    return json_response({**task.document(pick_lang(lang, accept_language), store.today()),
                          "history": history})


@router.patch("/{task_id}", response_model=TaskDetail, response_class=JSON,
              dependencies=[JsonBody], responses={404: {"description": "No such task"}})
async def change_task(task_id: TaskId, body: TaskChange, book: Book, _: Field, key: ApiKey,
                      lang: Lang = None,
                      accept_language: Annotated[str | None, Header()] = None):
    """Move a task on (status), record what was done (outcome, program and its cost,
    note), dismiss it with a reason, or change its due date."""
    store = TaskStore.of(book)
    values = body.model_dump(exclude={"by"}, exclude_none=True)
    task = await run_in_threadpool(lambda: store.change(
        task_id, by=body.by, credential=credential_of(key), **values))
    history = await run_in_threadpool(store.history, task_id)
    return json_response({**task.document(pick_lang(lang, accept_language), store.today()),
                          "history": history})
