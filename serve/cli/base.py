"""What every `dealer-risk` command shares: the settings, the options most commands take,
errors said in one line (exit 2), progress bars, and the steps several commands run
(validate a folder, build its panel, load the champions)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from features.panel import CutoffError, build_panel, parse_cutoffs
from features.reading import ContractError
from features.storage import Location, as_location
from features.validation import NoUsableRows, load_data, write_rejects
from serve.cli.report import print_report, report_json
from serve.settings import ConfigError, Settings, load_settings

EXIT_BAD_INPUT = 2
PIPED_WIDTH = 160
"""Columns of output that goes to a file or a pipe (cron's log, `monitor > report.txt`)
rather than a terminal: Rich's 80 cut the monitor's dates to "2025-0…". A terminal
keeps its own width, and COLUMNS, when set, wins over both."""

console = Console()
errors = Console(stderr=True)


def fit_to_output() -> None:
    """Each console's width for where its output goes now: COLUMNS when set, a
    terminal's own width, else PIPED_WIDTH. The console script calls it before each
    command (a process forked from one that imported the command line, as the tests'
    forkserver, reuses its consoles)."""
    columns = os.environ.get("COLUMNS", "")
    for each, stream in ((console, sys.stdout), (errors, sys.stderr)):
        each.width = (int(columns) if columns.isdigit() else
                      None if stream.isatty() else PIPED_WIDTH)


class CliState:
    """What the app's callback read before the command runs: the --config file."""

    config: Path | None = None


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def with_engine(cfg: Settings, engine: str | None, spark_master: str | None) -> Settings:
    """The settings with --engine and --spark-master applied."""
    if engine is not None and engine not in ("duckdb", "spark"):
        raise fail(f"--engine must be duckdb or spark, got '{engine}'")
    if spark_master is not None:
        cfg = cfg.model_copy(update={"spark": cfg.spark.model_copy(
            update={"master": spark_master})})
    return cfg.model_copy(update={"engine": engine}) if engine else cfg


def spark_session(cfg: Settings):
    """The Spark session when the engine is spark (started on first use), else None."""
    if cfg.engine != "spark":
        return None
    from features.spark import session
    return session(cfg.spark, cfg.contract.timezone)


def settings() -> Settings:
    try:
        return load_settings(CliState.config)
    except ConfigError as exc:
        raise fail(str(exc)) from None


EngineOption = Annotated[str | None, typer.Option(
    "--engine", help="Where the heavy passes over order lines and events run: duckdb (in "
    "this process) or spark (docs/scale.md). Default: settings' engine.")]
SparkMaster = Annotated[str | None, typer.Option(
    "--spark-master", help="With --engine spark: local[*], yarn, spark://host:7077 ... "
    "Default: settings' spark.master, else $SPARK_REMOTE (Spark Connect), else local[*].")]
DataDir = Annotated[str | None, typer.Argument(
    metavar="DATA",
    help="Folder with the contract's tables: a path, or a URI (s3://, gs://, abfs://, "
    "hdfs://; large files there want --engine spark). Default: settings' data_dir.")]
AsOf = Annotated[str | None, typer.Option(
    help="The data's as-of date YYYY-MM-DD for validation. Default: today.")]
"""The arguments most commands share."""


def parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"'{text}' is not a date (expected YYYY-MM-DD)") from None


def data_folder(data_dir: str | None, cfg: Settings) -> Location:
    """The data folder a command was given (a path or a URI), else the settings' one."""
    return as_location(data_dir) if data_dir else cfg.effective_data_dir


def validate_data(data_dir: Location, cfg: Settings, *, as_of: date | None, as_json: bool,
                  quiet: bool = False):
    contract = cfg.contract.model_copy(update={"as_of": as_of}) if as_of else cfg.contract
    try:
        loaded = load_data(data_dir, contract, spark=spark_session(cfg))
    except ContractError as exc:
        message = str(exc)
        rejects_dir = None
        # nothing is lost: the rejects found so far are written all the same
        if isinstance(exc, NoUsableRows) and write_rejects(exc.rejects, cfg.work_dir):
            rejects_dir = str(cfg.work_dir / "rejects")
            message += f"; every rejected row, with its reason, is in {rejects_dir}/"
        if as_json:  # --json speaks JSON on stdout, errors included
            sys.stdout.write(json.dumps({"ok": False, "error": message,
                                         "rejects_dir": rejects_dir},
                                        ensure_ascii=False) + "\n")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        raise fail(message) from None
    written = write_rejects(loaded.rejects, cfg.work_dir)
    rejects_dir = str(cfg.work_dir / "rejects") if written else None
    if as_json:
        sys.stdout.write(report_json(loaded.report, rejects_dir) + "\n")
    elif quiet:
        rejected = loaded.report.total_rejected
        console.print(f"Validated {data_dir}: {rejected:,} rows rejected"
                      + (f" (see {rejects_dir}/)" if rejected else ""))
    else:
        print_report(loaded.report, console, rejects_dir)
    return loaded


def progress_bar():
    from serve.cli.progress import StageProgress
    return StageProgress(errors)


def panel_shown(loaded, cfg: Settings, cutoffs: list[str] | None = None):
    try:
        chosen = parse_cutoffs(cutoffs, loaded.tables) if cutoffs else None
    except CutoffError as exc:
        raise fail(str(exc)) from None
    with progress_bar() as bar:
        task = bar.add_task("monthly aggregates", total=None)
        return build_panel(loaded.tables, chosen, panel=cfg.panel, labels=cfg.labels,
                           progress=lambda step, i, n: bar.update(task, description=step,
                                                                  completed=i, total=n))


def with_bar(label: str):
    bar = progress_bar()
    task = bar.add_task(label, total=None)
    return bar, lambda step, i, n: bar.update(task, description=step, completed=i, total=n)


def run_inputs(loaded, cfg: Settings, data_dir: Location):
    from features.fingerprint import data_fingerprint
    from models.pipeline import RunInputs
    return RunInputs(settings=cfg.public_dump(),
                     fingerprint=data_fingerprint(loaded.report),
                     data_dir=str(data_dir.resolve()))


def quiet_mlflow() -> None:
    """MLflow and its database migrations log at INFO, and MLflow draws a download bar
    per loaded model wherever tqdm is installed (econml brings it): the command's own
    progress bar says enough."""
    import logging
    import os
    import warnings

    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"

    import mlflow  # noqa: F401  (configures its loggers on import; override after)
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")


def champions_or_fail(cfg: Settings):
    """The champion models from the registry (a model without one is left out and its
    columns are unavailable), or a clear error when no model has one."""
    from models.tracking import RegistryError
    from serve.batch.champions import load_champions
    try:
        return load_champions(cfg)
    except RegistryError as exc:
        raise fail(str(exc)) from None


def invocation(program: str = "dealer-risk") -> str:
    """The program as the user can type it in this shell: its bare name when that name on
    PATH is this virtualenv's, else its path (relative when under the current folder), so
    that `./run demo`'s last screen gives commands that work as printed, virtualenv active
    or not."""
    here = Path(sys.executable).parent / program
    if not here.exists():
        return program
    found = shutil.which(program)
    if found and Path(found).resolve() == here.resolve():
        return program
    try:
        relative = here.relative_to(Path.cwd())
    except ValueError:
        return str(here)
    return f"./{relative}" if relative.parts[0] != ".." else str(here)


