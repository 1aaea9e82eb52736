"""Tasks: what the team does about an alert, with an owner, a due date and an outcome.

Each new alert at or above `tasks.min_severity` opens one task (at the end of `score` and
`retrain`, or `dealer-risk tasks sync`): its dealer, its owner (the dealer's sales rep),
a due date by severity, the playbook's action for the alert. The owner moves it through
open -> in progress -> done (or dismissed, with a reason) and records the outcome
(called, visited, program offered and which, dealer kept or lost) and notes. Every change
keeps who, when and what. Alerts held by a known situation open no task.

A done task whose outcome is "program offered" is a program given: `programs_export`
writes those in the data contract's `programs` table, so the effect models learn from
what the team actually did (assigned_by = manager: chosen, not randomized).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from features.contract import PROGRAM_KINDS
from models.alerts import SEVERITY_RANK
from serve.service.errors import Invalid, NotFound
from serve.service.situations import (
    NOTE_MAX,
    SituationStore,
    _name,
    _plain,
    _utc,
    printable,
)
from serve.store.schema import task_events, tasks

STATUSES = ("open", "in_progress", "done", "dismissed")
OUTCOMES = ("called", "visited", "program_offered", "dealer_kept", "dealer_lost")
FIELDS = ("status", "outcome", "program", "program_cost", "dismiss_reason", "note", "due_on")


@dataclass(frozen=True)
class Task:
    id: int
    dealer_id: str
    alert_id: str
    rule: str
    severity: str
    region: str | None
    owner: str | None
    action_id: str | None
    title_en: str
    title_zh: str
    action_en: str | None
    action_zh: str | None
    status: str
    outcome: str | None
    program: str | None
    program_cost: float | None
    dismiss_reason: str | None
    note: str
    opened_on: date
    due_on: date
    done_on: date | None
    created_at: datetime
    updated_at: datetime

    def overdue(self, day: date) -> bool:
        return self.status in ("open", "in_progress") and self.due_on < day

    def on_time(self) -> bool:
        return self.status == "done" and self.done_on is not None and self.done_on <= self.due_on

    def document(self, lang: str, day: date) -> dict:
        out = asdict(self)
        for k in ("opened_on", "due_on", "done_on", "created_at", "updated_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        out["title"] = self.title_zh if lang == "zh" else self.title_en
        out["action"] = self.action_zh if lang == "zh" else self.action_en
        out["overdue"] = self.overdue(day)
        return out


def _task(row) -> Task:
    values = {str(k): v for k, v in row._asdict().items()}
    values["created_at"], values["updated_at"] = (_utc(values["created_at"]),
                                                  _utc(values["updated_at"]))
    return Task(**values)


class TaskStore:
    """The tasks table and its history, over the store's engine (serve.store)."""

    def __init__(self, engine: Engine, clock: SituationStore):
        self.engine = engine
        self.clock = clock  # the manufacturer's calendar day (contract.timezone)

    @classmethod
    def from_settings(cls, settings) -> TaskStore:
        situations = SituationStore.from_settings(settings)
        return cls(situations.engine, situations)

    @classmethod
    def of(cls, book) -> TaskStore:
        """The tasks in the store a process's `Situations` opened (one engine for both)."""
        return cls(book.store.engine, book.store)

    def today(self) -> date:
        return self.clock.today()

    def get(self, task_id: int) -> Task:
        with self.engine.connect() as c:
            row = c.execute(select(tasks).where(tasks.c.id == task_id)).first()
        if row is None:
            raise NotFound(f"no task {task_id}")
        return _task(row)

    def listed(self, *, day: date, owner: list[str] | None = None,
               status: list[str] | None = None, region: list[str] | None = None,
               dealer_id: str | None = None, overdue: bool | None = None,
               due_before: date | None = None) -> list[Task]:
        """Tasks matching the filters: overdue first, then by due date and severity."""
        q = select(tasks)
        if owner:
            q = q.where(tasks.c.owner.in_(owner))
        if status:
            q = q.where(tasks.c.status.in_(status))
        if region:
            q = q.where(tasks.c.region.in_(region))
        if dealer_id:
            q = q.where(tasks.c.dealer_id == dealer_id)
        if due_before:
            q = q.where(tasks.c.due_on < due_before)
        with self.engine.connect() as c:
            found = [_task(r) for r in c.execute(q).all()]
        if overdue is not None:
            found = [t for t in found if t.overdue(day) == overdue]
        return sorted(found, key=lambda t: (not t.overdue(day), t.status in ("done",
                                                                            "dismissed"),
                                            t.due_on, -SEVERITY_RANK[t.severity], t.id))

    def history(self, task_id: int) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(task_events).where(task_events.c.task_id == task_id)
                             .order_by(task_events.c.id)).all()
        return [{str(k): v for k, v in r._asdict().items()} | {"at": _utc(r.at).isoformat()}
                for r in rows]

    def open_for(self, alerts: pd.DataFrame, *, day: date, due_days: dict[str, int],
                 min_severity: str, held: set[str]) -> list[Task]:
        """A task for each alert at or above `min_severity` that has none, unless a known
        situation holds its dealer. `alerts`: open alerts with alert_id, dealer_id, rule,
        severity, region, sales_rep_id, title_en/zh, action_id, action_en/zh. Idempotent,
        and safe with two runs at once (the alert id is unique)."""
        wanted = alerts.loc[(alerts["severity"].map(SEVERITY_RANK)
                             >= SEVERITY_RANK[min_severity])
                            & ~alerts["dealer_id"].isin(held)]
        with self.engine.connect() as c:
            known = set(c.execute(select(tasks.c.alert_id).where(
                tasks.c.alert_id.in_(list(wanted["alert_id"])))).scalars())
        made = []
        for a in wanted.loc[~wanted["alert_id"].isin(known)].to_dict("records"):
            now = datetime.now(UTC)
            try:
                with self.engine.begin() as c:
                    new_id = c.execute(insert(tasks).values(
                        dealer_id=a["dealer_id"], alert_id=a["alert_id"], rule=a["rule"],
                        severity=a["severity"], region=_text(a.get("region")),
                        owner=_text(a.get("sales_rep_id")), action_id=a.get("action_id"),
                        title_en=a["title_en"], title_zh=a["title_zh"],
                        action_en=a.get("action_en"), action_zh=a.get("action_zh"),
                        status="open", outcome=None, program=None, program_cost=None,
                        dismiss_reason=None, note="", opened_on=day,
                        due_on=day + timedelta(days=due_days[a["severity"]]), done_on=None,
                        created_at=now, updated_at=now)).inserted_primary_key[0]
                    c.execute(insert(task_events).values(
                        task_id=new_id, at=now, by="dealer-risk", credential="scorer",
                        action="opened", changes={"alert_id": [None, a["alert_id"]]}))
            except IntegrityError:  # another run opened it a moment ago
                continue
            made.append(self.get(new_id))
        return made

    def change(self, task_id: int, *, by: str, credential: str, day: date | None = None,
               **values) -> Task:
        """Change a task's status, outcome, program, cost, reason, note or due date; the
        history keeps each field before and after."""
        day = day or self.today()
        by = _name(by)
        old = self.get(task_id)
        new = {k: getattr(old, k) for k in FIELDS}
        new.update({k: v for k, v in values.items() if v is not None})
        if new["status"] not in STATUSES:
            raise Invalid(f"status: {new['status']!r} is not one of {', '.join(STATUSES)}")
        if new["outcome"] is not None and new["outcome"] not in OUTCOMES:
            raise Invalid(f"outcome: {new['outcome']!r} is not one of {', '.join(OUTCOMES)}")
        if new["outcome"] == "program_offered" and new["program"] not in PROGRAM_KINDS:
            raise Invalid("program: an offered program names its kind, one of "
                          + ", ".join(PROGRAM_KINDS))
        if new["program_cost"] is not None and new["program_cost"] < 0:
            raise Invalid("program_cost: at least 0")
        if new["status"] == "dismissed" and not (new["dismiss_reason"] or "").strip():
            raise Invalid("dismiss_reason: say why the task is dismissed")
        if len(new["note"] or "") > NOTE_MAX:
            raise Invalid(f"note: at most {NOTE_MAX} characters")
        for name in ("note", "dismiss_reason", "program", "status", "outcome"):
            printable(name, new[name])
        new["done_on"] = (old.done_on or day) if new["status"] == "done" else None
        changes = {k: [_plain(getattr(old, k)), _plain(v)] for k, v in new.items()
                   if getattr(old, k) != v}
        if not changes:
            return old
        now = datetime.now(UTC)
        with self.engine.begin() as c:
            c.execute(update(tasks).where(tasks.c.id == task_id).values(**new,
                                                                        updated_at=now))
            c.execute(insert(task_events).values(task_id=task_id, at=now, by=by,
                                                 credential=credential, action="changed",
                                                 changes=changes))
        return self.get(task_id)

    def on_time(self, day: date) -> pd.DataFrame:
        """Per owner: tasks due by `day`, and how many were done by their due date."""
        with self.engine.connect() as c:
            rows = [_task(r) for r in c.execute(select(tasks).where(tasks.c.due_on < day))]
        frame = pd.DataFrame({"owner": [t.owner for t in rows],
                              "on_time": [t.on_time() for t in rows],
                              "dismissed": [t.status == "dismissed" for t in rows]})
        frame = frame.loc[~frame["dismissed"]]
        return frame.groupby("owner").agg(tasks_due=("on_time", "size"),
                                          tasks_done_on_time=("on_time", "sum"))


def programs_export(store: TaskStore, program_months: int) -> pd.DataFrame:
    """Done tasks whose outcome is a program offered, as rows of the data contract's
    programs table (append them to programs.csv before the next `programs train`)."""
    with store.engine.connect() as c:
        rows = [_task(r) for r in c.execute(select(tasks).where(
            tasks.c.status == "done", tasks.c.outcome == "program_offered"))]
    return pd.DataFrame({
        "program_id": [f"task-{t.id}" for t in rows],
        "dealer_id": [t.dealer_id for t in rows],
        "program": [t.program for t in rows],
        "started_on": [t.done_on for t in rows],
        "ended_on": [(pd.Timestamp(t.done_on) + pd.DateOffset(months=program_months)
                      - pd.Timedelta(days=1)).date() for t in rows],
        "cost": [t.program_cost or 0.0 for t in rows],
        "assigned_by": ["manager"] * len(rows),
        "note": [f"task {t.id} ({t.rule}): {t.note}".strip() for t in rows]},
        columns=["program_id", "dealer_id", "program", "started_on", "ended_on", "cost",
                 "assigned_by", "note"])


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) \
        else str(value)


def sync_tasks(settings) -> tuple[str | None, list[Task]]:
    """Open the tasks the newest snapshot's alerts call for: the snapshot's date and the
    tasks opened."""
    from serve.batch.actions import recommend
    from serve.service.alerts import snapshot_alerts
    from serve.service.situations import Situations

    as_of, alerts = snapshot_alerts(settings)
    book = Situations(settings)
    store = TaskStore.of(book)
    if alerts.empty:
        return as_of, []
    chosen = []
    for a in alerts.to_dict("records"):
        en = recommend({}, [{**a, "title": a["title_en"]}], a.get("stage"), a.get("band"),
                       settings.playbook, "en")
        zh = recommend({}, [{**a, "title": a["title_zh"]}], a.get("stage"), a.get("band"),
                       settings.playbook, "zh")
        chosen.append({"action_id": en[0]["id"] if en else None,
                       "action_en": en[0]["title"] if en else None,
                       "action_zh": zh[0]["title"] if zh else None})
    alerts = pd.concat([alerts, pd.DataFrame(chosen, index=alerts.index)], axis=1)
    made = store.open_for(alerts, day=store.today(), due_days=settings.tasks.due_days,
                          min_severity=settings.tasks.min_severity,
                          held=set(book.running()))
    return as_of, made
