"""`dealer-risk notify`: new and changed alerts pushed to the group robots and e-mail
(serve.notify), and the same step at the end of `score` and `retrain`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from serve.cli.base import console, errors, settings
from serve.settings import Settings

EXIT_NOT_SENT = 4
"""Some message failed: it stays in the outbox for `notify --resend`."""


def notify(
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the digests each destination would get; send and keep "
        "nothing.")] = False,
    resend: Annotated[bool, typer.Option(
        "--resend", help="Try the failed messages in the outbox again first.")] = False,
    destination: Annotated[list[str] | None, typer.Option(
        help="Only this destination (by name); repeat for several.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON "
                                          "line.")] = False,
) -> None:
    """Push new and changed alerts as digests to WeCom, DingTalk, Feishu and e-mail
    ([[notify.destinations]]); exit 4 if a message failed (kept for --resend)."""
    cfg = settings()
    if not cfg.notify.destinations:
        errors.print("No destinations: add [[notify.destinations]] to the settings "
                     "(docs/notify.md).", highlight=False)
        raise typer.Exit(2)
    unknown = set(destination or ()) - {d.name for d in cfg.notify.destinations}
    if unknown:
        errors.print(f"Unknown destination: {', '.join(sorted(unknown))}; known: "
                     f"{', '.join(d.name for d in cfg.notify.destinations)}", highlight=False)
        raise typer.Exit(2)
    report = run_notify(cfg, dry_run=dry_run, resend=resend, only=destination,
                        as_json=as_json)
    if report.failed:
        raise typer.Exit(EXIT_NOT_SENT)


def run_notify(cfg: Settings, *, dry_run: bool = False, resend: bool = False,
               only: list[str] | None = None, as_json: bool = False):
    from serve.notify.run import notify as push
    report = push(cfg, dry_run=dry_run, resend=resend, only=only)
    if as_json:
        sys.stdout.write(json.dumps(summary(report), ensure_ascii=False) + "\n")
        return report
    if dry_run:
        for d in report.destinations:
            console.print(f"[bold]{d.name}[/] ({d.kind}): {d.due} alerts due, "
                          f"{len(d.preview)} messages")
            for m in d.preview:
                console.print(m.body.get("markdown") or m.body.get("plain"), markup=False,
                              highlight=False)
        return report
    table = Table(title=f"Alerts pushed (snapshot {report.as_of}; {report.held} dealers "
                  "held by a known situation)")
    for column in ("destination", "kind", "alerts due", "queued", "sent", "failed",
                   "waiting", "last error"):
        table.add_column(column)
    for d in report.destinations:
        table.add_row(d.name, d.kind, str(d.due), str(d.queued), str(d.sent), str(d.failed),
                      str(d.waiting), d.errors[-1] if d.errors else "")
    console.print(table)
    if report.failed:
        errors.print(f"{report.failed} messages failed; they stay in the outbox: "
                     "`dealer-risk notify --resend` tries them again.", highlight=False)
    return report


def summary(report) -> dict:
    return {"as_of": report.as_of, "held": report.held, "destinations": [
        {"name": d.name, "kind": d.kind, "due": d.due, "queued": d.queued, "sent": d.sent,
         "failed": d.failed, "waiting": d.waiting, "errors": d.errors,
         **({"preview": [m.subject for m in d.preview]} if d.preview else {})}
        for d in report.destinations]}


def notify_after_scoring(cfg: Settings, show: bool) -> dict | None:
    """`score` and `retrain` end by opening the tasks the new alerts call for and pushing
    the alerts when destinations are set; a failure here does not undo the snapshot (the
    messages wait in the outbox; `tasks sync` opens the tasks later)."""
    from serve.service.tasks import sync_tasks
    out: dict = {}
    try:
        _, made = sync_tasks(cfg)
        out["tasks_opened"] = len(made)
        if show and made:
            console.print(f"Opened {len(made)} tasks for the new alerts (dashboard: Tasks).")
    except Exception as exc:  # noqa: BLE001 - the snapshot is written; say why, go on
        errors.print(f"warning: tasks not opened: {type(exc).__name__}: {exc}",
                     highlight=False, markup=False)
        out["tasks_error"] = f"{type(exc).__name__}: {exc}"
    if not (cfg.notify.destinations and cfg.notify.after_score):
        return out
    try:
        if show:
            report = run_notify(cfg, as_json=False)
        else:
            from serve.notify.run import notify as push
            report = push(cfg)
    except Exception as exc:  # noqa: BLE001 - the snapshot is written; say why, go on
        errors.print(f"warning: notify failed: {type(exc).__name__}: {exc}", highlight=False,
                     markup=False)
        return {**out, "notify_error": f"{type(exc).__name__}: {exc}"}
    return {**out, **summary(report)}
