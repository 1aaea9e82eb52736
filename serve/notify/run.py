"""`dealer-risk notify`: from the snapshots' alerts to messages sent, or queued, or failed
with their error; each destination paced and retried, nothing lost between runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from serve.notify.channels import Outcome, post_robot, send_email
from serve.notify.digest import Message, compose, due_alerts
from serve.notify.outbox import Outbox, Pace
from serve.service.alerts import snapshot_alerts as open_alerts
from serve.service.situations import Situations
from serve.settings import Destination, Settings


@dataclass
class DestinationReport:
    name: str
    kind: str
    due: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)
    preview: list[Message] = field(default_factory=list)


@dataclass
class NotifyReport:
    as_of: str | None
    held: int
    destinations: list[DestinationReport]

    @property
    def failed(self) -> int:
        return sum(d.failed for d in self.destinations)


def notify(settings: Settings, *, dry_run: bool = False, resend: bool = False,
           only: list[str] | None = None, clock: Callable[[], float] = time.time,
           sleep: Callable[[float], None] = time.sleep,
           session: requests.Session | None = None) -> NotifyReport:
    """Queue the alerts each destination is due, then send every pending message.
    `dry_run`: compose and report, write and send nothing. `resend`: failed messages are
    tried again first. `only`: these destinations."""
    cfg = settings.notify
    dests = [d for d in cfg.destinations if not only or d.name in only]
    as_of, alerts = open_alerts(settings)
    book = Situations(settings)
    held = set(book.running())
    box = Outbox(book.store.engine)
    now = datetime.fromtimestamp(clock(), UTC)
    reports = []
    for dest in dests:
        report = DestinationReport(dest.name, dest.kind)
        due = due_alerts(alerts, dest, box.told(dest.name), held, now, cfg.cooldown_days)
        messages = compose(due, dest, as_of or "", cfg.dashboard_url, cfg.cooldown_days)
        report.due = len(due)
        if dry_run:
            report.preview = messages
        else:
            box.enqueue(dest.name, dest.kind, as_of or "", messages, now)
            report.queued = len(messages)
        reports.append(report)
    if not dry_run:
        session = session or requests.Session()
        for dest, report in zip(dests, reports, strict=True):
            if resend:
                box.resend(dest.name)
            _deliver(dest, box, settings, report, clock, sleep, session)
    return NotifyReport(as_of, len(held & set(alerts["dealer_id"])), reports)


def _deliver(dest: Destination, box: Outbox, settings: Settings, report: DestinationReport,
             clock, sleep, session) -> None:
    cfg = settings.notify
    per_minute, per_second, _ = dest.limits()
    now = datetime.fromtimestamp(clock(), UTC)
    pace = Pace(per_minute, per_second, box.recent_sends(dest.name, now - timedelta(
        minutes=1)), clock, sleep)
    for row in box.due(dest.name, now):
        attempts, outcome = row.attempts, None
        for _ in range(cfg.max_attempts):
            pace.wait()
            attempts += 1
            outcome = _send(dest, settings, row, session)
            pace.sent()
            if outcome.ok or not outcome.retry or outcome.block:
                break
            sleep(outcome.wait if outcome.wait is not None
                  else cfg.retry_seconds * 2 ** (attempts - row.attempts - 1))
        moment = datetime.fromtimestamp(clock(), UTC)
        if outcome.ok:
            box.sent(row, moment, attempts)
            report.sent += 1
        elif outcome.block:
            # DingTalk refuses this robot for a while: this and the rest wait for a later run
            until = moment + timedelta(minutes=cfg.block_minutes)
            for waiting in box.due(dest.name, moment):
                box.postpone(waiting, until, outcome.error, attempts
                             if waiting.id == row.id else waiting.attempts)
                report.waiting += 1
            report.errors.append(f"{outcome.error}: blocked until {until:%H:%M} UTC")
            return
        else:
            box.failed(row, outcome.error, attempts)
            report.failed += 1
            report.errors.append(outcome.error)


def _send(dest: Destination, settings: Settings, row, session) -> Outcome:
    if dest.kind == "email":
        return send_email(dest, settings.notify.smtp, row.subject, row.body)
    return post_robot(dest, row.body, session, settings.notify.timeout_seconds)
