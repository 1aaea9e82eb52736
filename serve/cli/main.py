"""The `dealer-risk` command line: one subcommand per stage, no logic of its own.

This module is its table of contents: every command, in the order a user meets them, under
the panel `--help` shows it in. The commands live by what they act on (serve.cli.data,
.training, .scoring, .serving); what they share is in serve.cli.base.

Exit codes: 0 success (including data with rejected rows), 2 unusable input or settings
(the message names the file or setting; never a traceback); `retrain`, `monitor --strict`
and `notify` (4: a message failed) document their own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from features.io import WriteError
from serve.cli import data, notify, programs, scoring, serving, tasks, training
from serve.cli.base import EXIT_BAD_INPUT, CliState, errors, fit_to_output

app = typer.Typer(
    help="dealer-risk: early warning of dealers about to cut their orders or leave.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)
app.add_typer(config_app, name="config", rich_help_panel="Data")
config_app.command("show")(data.config_show)
app.add_typer(programs.app, name="programs", rich_help_panel="Models")
app.add_typer(tasks.app, name="tasks", rich_help_panel="Scores")

COMMANDS = {
    "Data": (data.simulate, data.validate, data.features, data.catalog),
    "Models": (training.train, training.backtest, training.retrain, training.promote),
    "Scores": (scoring.score, scoring.monitor, programs.plan, notify.notify),
    "Service": (serving.serve, serving.demo),
}
"""Panel -> its commands, in the order `--help` lists them."""
for panel, commands in COMMANDS.items():
    for command in commands:
        app.command(rich_help_panel=panel)(command)


@app.callback()
def main(
    config: Annotated[Path | None, typer.Option(
        "--config", help="Settings file (TOML). Default: ./dealer-risk.toml if present, "
        "or $DEALER_RISK_CONFIG.")] = None,
) -> None:
    CliState.config = config


def run() -> None:
    """The console script: the commands, with the failures no command can fix said in
    one line (exit 2) instead of a traceback: a tracking store that cannot be reached, an
    artefact that cannot be written (a full disk). Nothing earlier was replaced."""
    from models.errors import StoreUnreachable
    fit_to_output()
    try:
        app()
    except (StoreUnreachable, WriteError) as exc:
        errors.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":  # pragma: no cover
    run()
