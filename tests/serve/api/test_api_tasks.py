"""Tasks through the API and the dashboard: the scorer's sync opens them from the served
alerts, a CRM lists them (overdue first), a rep records what was done, the reps'
scorecard counts tasks done on time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from serve.api.schemas import RepList, TaskDetail, TaskList
from serve.app import create_app
from serve.service.tasks import sync_tasks
from tests.serve.conftest import READER, sign_in

FIELD = {"X-API-Key": "field-key-tasks"}


@pytest.fixture(scope="module")
def setup(served, tmp_path_factory):
    settings, _, _ = served
    store = tmp_path_factory.mktemp("tasks") / "store.db"
    settings = settings.model_copy(update={
        "api_keys": {**settings.api_keys, FIELD["X-API-Key"]: "field"},
        "store": settings.store.model_copy(update={"url": f"sqlite:///{store}"}),
        "tasks": settings.tasks.model_copy(update={"min_severity": "medium"})})
    as_of, made = sync_tasks(settings)
    with TestClient(create_app(settings)) as c:
        yield settings, made, c


def test_the_sync_opens_a_task_per_alert_once_owned_by_the_rep(setup, served):
    settings, made, client = setup
    _, new, _ = served
    alerts = client.get("/v1/alerts", params={"limit": 1000, "severity": ["medium", "high"]},
                        headers=READER).json()
    assert made and len(made) == alerts["total"]
    reps = new.set_index("dealer_id")["sales_rep_id"]
    assert all(t.owner == reps[t.dealer_id] for t in made)
    assert sync_tasks(settings)[1] == []  # again: nothing new


def test_tasks_list_filters_and_puts_overdue_first(setup):
    _, made, client = setup
    owner = made[0].owner
    mine = TaskList.model_validate(client.get("/v1/tasks", params={"owner": owner},
                                              headers=READER).json())
    assert mine.total == sum(t.owner == owner for t in made)
    assert {t.owner for t in mine.items} == {owner}
    target = mine.items[-1]
    yesterday = (client.app.state.situations.store.today() - timedelta(days=1)).isoformat()
    moved = client.patch(f"/v1/tasks/{target.id}", headers=FIELD,
                         json={"due_on": yesterday, "by": "Zhao Min"})
    assert moved.status_code == 200 and moved.json()["overdue"] is True
    first = client.get("/v1/tasks", params={"owner": owner}, headers=READER).json()
    assert first["items"][0]["id"] == target.id
    overdue = client.get("/v1/tasks", params={"overdue": "true"}, headers=READER).json()
    assert [t["id"] for t in overdue["items"]] == [target.id]


def test_a_rep_records_the_outcome_and_the_scorecard_counts_it(setup):
    _, made, client = setup
    task = made[0]
    assert client.patch(f"/v1/tasks/{task.id}", headers=READER,
                        json={"status": "done", "by": "W"}).status_code == 403
    bad = client.patch(f"/v1/tasks/{task.id}", headers=FIELD,
                       json={"outcome": "program_offered", "by": "W"})
    assert bad.status_code == 422 and "program" in bad.json()["detail"]
    done = TaskDetail.model_validate(client.patch(
        f"/v1/tasks/{task.id}", headers=FIELD, params={"lang": "zh"},
        json={"status": "done", "outcome": "program_offered", "program": "priority_service",
              "program_cost": 1200, "by": "Wang Lei"}).json())
    assert done.done_on and done.program == "priority_service"
    assert [h["action"] for h in done.history] == ["opened", "changed"]
    assert client.get("/v1/tasks/999999", headers=READER).status_code == 404
    reps = RepList.model_validate(client.get("/v1/reps", headers=READER).json())
    assert all(r.tasks_due is None or r.tasks_due >= (r.tasks_done_on_time or 0)
               for r in reps.items)


def test_my_tasks_page_records_with_csrf_and_a_field_session(setup):
    _, made, client = setup
    owner = made[1].owner
    sign_in(client, FIELD["X-API-Key"])
    page = client.get("/dashboard/tasks", params={"owner": owner, "lang": "zh"})
    assert page.status_code == 200 and "我的任务" in page.text
    assert f'data-task="{made[1].id}"' in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    form = {"status": "in_progress", "outcome": "called", "by": "李娜", "owner": owner}
    forged = client.post(f"/dashboard/tasks/{made[1].id}", data={**form, "csrf": "x" * 43},
                         follow_redirects=False)
    assert forged.status_code == 403
    done = client.post(f"/dashboard/tasks/{made[1].id}", data={**form, "csrf": token},
                       follow_redirects=False)
    assert done.status_code == 303 and f"owner={owner}" in done.headers["location"]
    got = client.get(f"/v1/tasks/{made[1].id}", headers=READER).json()
    assert (got["status"], got["outcome"]) == ("in_progress", "called")
    managers = client.get("/dashboard/tasks")
    assert 'id="tasks-summary"' in managers.text
    client.cookies.clear()


def test_the_tasks_page_comes_a_page_at_a_time_and_recording_returns_to_it(setup):
    settings, made, _ = setup
    assert len(made) > 4
    small = settings.model_copy(update={"tasks": settings.tasks.model_copy(
        update={"page_size": 2})})
    pages = -(-len(made) // 2)
    with TestClient(create_app(small)) as client:
        sign_in(client, FIELD["X-API-Key"])

        def listed(page: int) -> tuple[list[str], str]:
            got = client.get("/dashboard/tasks", params={"show": "all", "page": page})
            assert got.status_code == 200
            return re.findall(r'data-task="(\d+)"', got.text), got.text

        first, text = listed(0)
        assert len(first) == 2 and f"1 / {pages}" in text and f"{len(made)} tasks" in text
        assert 'id="next-page"' in text and 'id="previous-page"' not in text
        assert "show=all" in re.search(r'id="next-page" href="([^"]+)"', text).group(1)
        seen = [i for p in range(pages) for i in listed(p)[0]]
        assert sorted(seen, key=int) == sorted((str(t.id) for t in made), key=int)  # each once
        last, text = listed(pages - 1)
        assert 'id="next-page"' not in text and 'id="previous-page"' in text
        assert listed(10**6)[0] == last  # beyond the end: the last page
        second, text = listed(1)
        token = re.search(r'name="csrf" value="([^"]+)"', text).group(1)
        done = client.post(f"/dashboard/tasks/{second[0]}", follow_redirects=False, data={
            "status": "in_progress", "by": "李娜", "show": "all", "page": "1", "csrf": token})
        assert done.status_code == 303
        location = done.headers["location"]
        assert "page=1" in location and "show=all" in location
        assert location.endswith(f"#task-{second[0]}")
        assert f'data-task="{second[0]}"' in client.get(location.split("#")[0]).text


def test_the_commands_open_tasks_and_export_the_programs_offered(served, tmp_path):
    """`dealer-risk tasks sync` and `tasks export-programs` through the console entry."""
    import json

    import pandas as pd

    from serve.service.situations import Situations
    from serve.service.tasks import TaskStore
    from tests.serve.cli.test_cli_models import run
    settings, _, _ = served
    url = f"sqlite:///{(tmp_path / 'store.db').as_posix()}"
    (tmp_path / "dealer-risk.toml").write_text(
        f'work_dir = "{settings.work_dir.as_posix()}"\n[store]\nurl = "{url}"\n'
        '[tasks]\nmin_severity = "medium"\n', encoding="utf-8")
    synced = run(["tasks", "sync", "--json"], tmp_path)
    assert synced.returncode == 0, synced.stderr
    opened = json.loads(synced.stdout.strip().splitlines()[-1])["opened"]
    assert opened
    local = settings.model_copy(update={"store": settings.store.model_copy(
        update={"url": url})})
    book = Situations(local)
    TaskStore(book.store.engine, book.store).change(
        opened[0], by="W", credential="open", status="done", outcome="program_offered",
        program="rebate", program_cost=500.0)
    out = tmp_path / "offered.csv"
    exported = run(["tasks", "export-programs", "--out", str(out)], tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    rows = pd.read_csv(out, encoding="utf-8-sig")
    assert rows[["program_id", "program", "cost"]].values.tolist() == [
        [f"task-{opened[0]}", "rebate", 500.0]]
    again = run(["tasks", "sync", "--json"], tmp_path)
    assert json.loads(again.stdout.strip().splitlines()[-1])["opened"] == []
