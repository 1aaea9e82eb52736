"""The outbox in the store: every digest composed, its state and last error, what each
destination was told, and the pace at which each destination may be sent to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from serve.notify.digest import Message
from serve.service.situations import _utc
from serve.store.schema import notified, outbox

PENDING, SENT, FAILED = "pending", "sent", "failed"


class Outbox:
    def __init__(self, engine: Engine):
        self.engine = engine

    def enqueue(self, destination: str, kind: str, as_of: str, messages: list[Message],
                now: datetime) -> list[int]:
        ids = []
        with self.engine.begin() as c:
            for m in messages:
                ids.append(c.execute(insert(outbox).values(
                    destination=destination, kind=kind, as_of=as_of, subject=m.subject,
                    body=m.body, alerts=m.alerts, status=PENDING, attempts=0,
                    last_error=None, created_at=now, next_attempt_at=None,
                    sent_at=None)).inserted_primary_key[0])
        return ids

    def told(self, destination: str) -> pd.DataFrame:
        """What the destination was told (newest per dealer and rule), and what waits in
        its outbox as if told now: both keep an alert from being queued twice."""
        with self.engine.connect() as c:
            rows = c.execute(select(notified.c.dealer_id, notified.c.rule,
                                    notified.c.alert_id, notified.c.severity,
                                    notified.c.sent_at)
                             .where(notified.c.destination == destination)).all()
            waiting = c.execute(select(outbox.c.alerts, outbox.c.created_at).where(
                outbox.c.destination == destination,
                outbox.c.status.in_([PENDING, FAILED]))).all()
        frame = pd.DataFrame([{"dealer_id": r.dealer_id, "rule": r.rule,
                               "alert_id": r.alert_id, "severity": r.severity,
                               "sent_at": _utc(r.sent_at)} for r in rows]
                             + [{**a, "sent_at": _utc(w.created_at)}
                                for w in waiting for a in w.alerts],
                             columns=["dealer_id", "rule", "alert_id", "severity", "sent_at"])
        return frame

    def due(self, destination: str, now: datetime) -> list:
        """Its pending messages whose wait is over, oldest first."""
        with self.engine.connect() as c:
            rows = c.execute(select(outbox).where(
                outbox.c.destination == destination, outbox.c.status == PENDING)
                .order_by(outbox.c.id)).all()
        return [r for r in rows if r.next_attempt_at is None
                or _utc(r.next_attempt_at) <= now]

    def sent(self, row, now: datetime, attempts: int) -> None:
        with self.engine.begin() as c:
            c.execute(update(outbox).where(outbox.c.id == row.id).values(
                status=SENT, attempts=attempts, sent_at=now, last_error=None))
            for a in row.alerts:
                c.execute(insert(notified).values(destination=row.destination, sent_at=now,
                                                  **a))

    def failed(self, row, error: str, attempts: int) -> None:
        with self.engine.begin() as c:
            c.execute(update(outbox).where(outbox.c.id == row.id).values(
                status=FAILED, attempts=attempts, last_error=error))

    def postpone(self, row, until: datetime, error: str, attempts: int) -> None:
        with self.engine.begin() as c:
            c.execute(update(outbox).where(outbox.c.id == row.id).values(
                attempts=attempts, last_error=error, next_attempt_at=until))

    def resend(self, destination: str | None = None) -> int:
        """Failed messages become pending again (with their tries reset)."""
        q = update(outbox).where(outbox.c.status == FAILED)
        if destination:
            q = q.where(outbox.c.destination == destination)
        with self.engine.begin() as c:
            return c.execute(q.values(status=PENDING, attempts=0,
                                      next_attempt_at=None)).rowcount

    def recent_sends(self, destination: str, since: datetime) -> list[float]:
        """When its messages were sent since `since` (epoch seconds): a new run keeps the
        pace the last one left."""
        with self.engine.connect() as c:
            rows = c.execute(select(outbox.c.sent_at).where(
                outbox.c.destination == destination, outbox.c.status == SENT,
                outbox.c.sent_at >= since)).all()
        return sorted(_utc(r.sent_at).timestamp() for r in rows)

    def counts(self) -> pd.DataFrame:
        with self.engine.connect() as c:
            rows = c.execute(select(outbox.c.destination, outbox.c.status,
                                    outbox.c.last_error)).all()
        return pd.DataFrame(rows, columns=["destination", "status", "last_error"])


class Pace:
    """At most `per_minute` sends in any 60 seconds and `per_second` in any second: waits
    (through `sleep`) before a send that would exceed either. `clock` and `sleep` are
    time.time and time.sleep in use, a fake clock in tests."""

    def __init__(self, per_minute: int, per_second: int | None, history: list[float],
                 clock: Callable[[], float], sleep: Callable[[float], None]):
        self.per_minute, self.per_second = per_minute, per_second
        self.history = list(history)
        self.clock, self.sleep = clock, sleep

    def wait(self) -> None:
        while True:
            now = self.clock()
            minute = [t for t in self.history if t > now - 60]
            second = [t for t in minute if t > now - 1]
            if len(minute) >= self.per_minute:
                self.sleep(max(minute[-self.per_minute] + 60 - now, 0.001))
            elif self.per_second and len(second) >= self.per_second:
                self.sleep(max(second[-self.per_second] + 1 - now, 0.001))
            else:
                self.history = minute
                return

    def sent(self) -> None:
        self.history.append(self.clock())
