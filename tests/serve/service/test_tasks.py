"""Tasks in the store, on SQLite and on a real PostgreSQL: opened once per alert (also when
two runs open them at once), skipped while a known situation holds the dealer, moved on
with the rules a demanding manager expects, every change in the history, done-on-time per
rep, and the programs offered exported as the data contract's programs rows."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pandas as pd
import pytest

from features.contract import PROGRAM_KINDS, TABLES
from serve.service.errors import Invalid
from serve.service.situations import SituationStore
from serve.service.tasks import TaskStore, programs_export
from serve.settings import Settings

DAY = date(2026, 3, 2)
DUE = {"high": 7, "medium": 14, "low": 30}


@pytest.fixture
def store(tmp_path, store_url):
    settings = Settings(work_dir=tmp_path, store={"url": store_url})
    return TaskStore.from_settings(settings)


def alerts(n=4) -> pd.DataFrame:
    severities = ["high", "medium", "high", "low"]
    return pd.DataFrame({
        "alert_id": [f"D{i}:rule_{i}:2026-02-01" for i in range(n)],
        "dealer_id": [f"D{i}" for i in range(n)], "rule": [f"rule_{i}" for i in range(n)],
        "severity": severities[:n], "region": ["华东"] * n,
        "sales_rep_id": ["R1", "R1", "R2", "R2"][:n], "title_en": ["Orders fell"] * n,
        "title_zh": ["订单下降"] * n, "action_id": ["call"] * n,
        "action_en": ["Call the owner"] * n, "action_zh": ["致电店主"] * n})


def test_a_task_opens_once_per_alert_at_or_above_the_severity(store):
    made = store.open_for(alerts(), day=DAY, due_days=DUE, min_severity="medium",
                          held={"D2"})
    assert [t.dealer_id for t in made] == ["D0", "D1"]  # D2 held, D3 low
    assert [t.due_on for t in made] == [DAY + timedelta(days=7), DAY + timedelta(days=14)]
    assert made[0].owner == "R1" and made[0].status == "open"
    assert made[0].action_zh == "致电店主"
    assert store.open_for(alerts(), day=DAY, due_days=DUE, min_severity="medium",
                          held={"D2"}) == []
    assert [e["action"] for e in store.history(made[0].id)] == ["opened"]


def test_two_runs_opening_at_once_open_each_task_once(store):
    barrier = threading.Barrier(4)
    results = []

    def run():
        barrier.wait()
        results.append(store.open_for(alerts(), day=DAY, due_days=DUE, min_severity="low",
                                      held=set()))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r) for r in results) == 4
    assert len(store.listed(day=DAY)) == 4


def test_a_task_moves_on_by_the_rules_and_keeps_its_history(store):
    task, = store.open_for(alerts(1), day=DAY, due_days=DUE, min_severity="high", held=set())
    with pytest.raises(Invalid, match="dismiss_reason"):
        store.change(task.id, by="Wang", credential="open", status="dismissed", day=DAY)
    with pytest.raises(Invalid, match="program: an offered program names its kind"):
        store.change(task.id, by="Wang", credential="open", outcome="program_offered",
                     day=DAY)
    with pytest.raises(Invalid, match="note: control characters"):
        store.change(task.id, by="Wang", credential="open", note="x\x00", day=DAY)
    with pytest.raises(Invalid, match="status: 'closed'"):
        store.change(task.id, by="Wang", credential="open", status="closed", day=DAY)
    store.change(task.id, by="Wang", credential="open", status="in_progress",
                 outcome="called", day=DAY)
    done = store.change(task.id, by="Li", credential="abc", status="done",
                        outcome="program_offered", program="priority_service",
                        program_cost=2500.0, note="service desk on call",
                        day=DAY + timedelta(days=3))
    assert done.done_on == DAY + timedelta(days=3) and done.on_time()
    reopened = store.change(task.id, by="Li", credential="abc", status="open",
                            day=DAY + timedelta(days=4))
    assert reopened.done_on is None
    history = store.history(task.id)
    assert [(e["action"], e["by"]) for e in history] == [
        ("opened", "dealer-risk"), ("changed", "Wang"), ("changed", "Li"), ("changed", "Li")]
    assert history[2]["changes"]["program"] == [None, "priority_service"]
    assert history[3]["changes"]["done_on"] == [(DAY + timedelta(days=3)).isoformat(), None]


def test_overdue_tasks_come_first_and_reps_are_judged_on_time(store):
    made = store.open_for(alerts(), day=DAY, due_days=DUE, min_severity="low", held=set())
    later = DAY + timedelta(days=20)
    store.change(made[0].id, by="W", credential="open", status="done", day=DAY + timedelta(
        days=2))  # R1, due day 7: on time
    store.change(made[2].id, by="W", credential="open", status="done", day=DAY + timedelta(
        days=9))  # R2, due day 7: late
    listed = store.listed(day=later)
    assert [t.overdue(later) for t in listed][:1] == [True]  # D1 (R1, due day 14) overdue
    assert listed[0].dealer_id == "D1"
    on_time = store.on_time(later)
    assert on_time.loc["R1"].tolist() == [2, 1]  # D0 done on time, D1 overdue
    assert on_time.loc["R2"].tolist() == [1, 0]  # D2 late; D3 (low, due day 30) not yet due
    assert [t.dealer_id for t in store.listed(day=later, owner=["R2"], overdue=False)] == \
        ["D3", "D2"]


def test_programs_offered_become_rows_of_the_contracts_programs_table(store):
    made = store.open_for(alerts(), day=DAY, due_days=DUE, min_severity="low", held=set())
    store.change(made[0].id, by="W", credential="open", status="done",
                 outcome="program_offered", program="store_fitout", program_cost=80000.0,
                 day=DAY + timedelta(days=1))
    store.change(made[1].id, by="W", credential="open", status="done", outcome="visited",
                 day=DAY)  # not a program
    rows = programs_export(store, program_months=3)
    required = [c.name for c in TABLES["programs"].columns if c.required]
    assert set(required) <= set(rows.columns)
    assert rows.to_dict("records") == [{
        "program_id": f"task-{made[0].id}", "dealer_id": "D0", "program": "store_fitout",
        "started_on": DAY + timedelta(days=1), "ended_on": date(2026, 6, 2),
        "cost": 80000.0, "assigned_by": "manager", "note": f"task {made[0].id} (rule_0):"}]
    assert set(rows["program"]) <= set(PROGRAM_KINDS)


def test_a_hold_from_a_situation_is_read_from_the_same_store(store, tmp_path):
    """The situations and the tasks share one database (one URL, one migration chain)."""
    situations = SituationStore(store.engine, "Asia/Shanghai", 366)
    situations.add("D0", "dispute", "", DAY + timedelta(days=9), by="W", credential="open",
                   day=DAY)
    held = set(situations.running(DAY))
    assert [t.dealer_id for t in store.open_for(alerts(1), day=DAY, due_days=DUE,
                                                min_severity="high", held=held)] == []
