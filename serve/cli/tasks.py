"""`dealer-risk tasks`: open the tasks the newest alerts call for, and export the programs
the team offered through them (serve.service.tasks)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from serve.cli.base import console, fail, settings

app = typer.Typer(help="Tasks opened from alerts: owners, due dates, outcomes.",
                  no_args_is_help=True)


@app.command()
def sync(as_json: Annotated[bool, typer.Option("--json", help="One JSON line.")] = False
         ) -> None:
    """Open a task for each new alert at or above tasks.min_severity (score and retrain
    do it at their end)."""
    from serve.service.tasks import sync_tasks
    as_of, made = sync_tasks(settings())
    if as_json:
        sys.stdout.write(json.dumps({"as_of": as_of, "opened": [t.id for t in made]}) + "\n")
        return
    console.print(f"Opened {len(made)} tasks from the alerts of {as_of or 'no snapshot'}.")


@app.command("export-programs")
def export_programs(out: Annotated[Path, typer.Option(
        help="Write the rows here (.csv: UTF-8 with a byte-order mark, for Excel).")]) -> None:
    """The programs offered through done tasks, as rows of the data contract's programs
    table: append them to programs.csv so `programs train` learns from them."""
    from serve.service.situations import Situations
    from serve.service.tasks import TaskStore, programs_export
    cfg = settings()
    if out.suffix.lower() != ".csv":
        raise fail(f"{out}: --out must end in .csv")
    book = Situations(cfg)
    rows = programs_export(TaskStore.of(book), cfg.tasks.program_months)
    tmp = out.with_name(out.name + ".tmp")
    rows.to_csv(tmp, index=False, encoding="utf-8-sig")
    tmp.replace(out)
    console.print(f"{len(rows)} programs offered through tasks written to {out}.")
