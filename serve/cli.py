"""The `dealer-risk` command line: one subcommand per stage, no logic of its own.

Exit codes: 0 success (including data with rejected rows), 2 unusable input or settings
(the message names the file or setting; never a traceback).
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from features.failpoints import failpoint
from features.io import WriteError, write_parquet_atomically, write_text_atomically
from features.panel import CutoffError, build_panel, feature_columns, parse_cutoffs
from features.reading import ContractError
from features.simulator import simulate as run_simulation
from features.simulator.worlds import WORLDS
from features.storage import Location, as_location
from features.validation import NoUsableRows, load_data, write_rejects
from serve.report import catalog_markdown, catalog_rows, print_report, report_json
from serve.settings import ConfigError, Settings, load_settings

app = typer.Typer(
    help="dealer-risk: early warning of dealers about to cut their orders or leave.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")
console = Console()
errors = Console(stderr=True)

EXIT_BAD_INPUT = 2


class _State:
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
        return load_settings(_State.config)
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.callback()
def main(
    config: Annotated[Path | None, typer.Option(
        "--config", help="Settings file (TOML). Default: ./dealer-risk.toml if present, "
        "or $DEALER_RISK_CONFIG.")] = None,
) -> None:
    _State.config = config


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML-like text.")]
    = False,
) -> None:
    """Print the effective settings (defaults, file and environment combined)."""
    values = settings().public_dump()  # keys are secrets: how many and their roles only
    if as_json:
        console.print_json(json.dumps(values, ensure_ascii=False))
        return
    _print_toml(values)


def _print_toml(values: dict, prefix: str = "") -> None:
    def is_tables(v: object) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    scalars = {k: v for k, v in values.items() if not isinstance(v, dict) and not is_tables(v)}
    if prefix and scalars:
        console.print(f"[{prefix}]", highlight=False, markup=False)
    for key, value in scalars.items():
        shown = "# not set" if value is None else json.dumps(value, ensure_ascii=False)
        console.print(f"{key} = {shown}", highlight=False, markup=False, soft_wrap=True)
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            console.print()
            _print_toml(value, name)
        elif is_tables(value):  # a list of tables: [[alerts.rules]], [[playbook.actions]]
            for item in value:
                console.print(f"\n[[{name}]]", highlight=False, markup=False)
                for k, v in item.items():
                    console.print(f"{k} = {json.dumps(v, ensure_ascii=False)}",
                                  highlight=False, markup=False, soft_wrap=True)


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


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the data tables into.")],
    dealers: Annotated[int | None, typer.Option(help="Dealers in the network.")] = None,
    months: Annotated[int | None, typer.Option(help="Months to simulate.")] = None,
    start: Annotated[str | None, typer.Option(help="First month, YYYY-MM.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: same seed, same bytes.")] = None,
    file_format: Annotated[str | None, typer.Option(
        "--format", help="parquet or csv.")] = None,
    world: Annotated[str | None, typer.Option(
        help="A named world of the robustness benchmark (its seed, start and shocks): "
             + ", ".join(WORLDS) + ".")] = None,
) -> None:
    """Write a simulated dealer network (all six tables, plus ground truth in _truth/)."""
    sim = _simulator_settings(dealers, months, start, seed, file_format, world)
    summary = _simulate(out_dir, sim)
    console.print(f"Simulated {summary.dealers:,} dealers over {summary.months} months from "
                  f"{summary.first_month} into {out_dir} (as of {summary.as_of}; "
                  f"{summary.churners:,} churned)")
    for name, rows in summary.rows.items():
        console.print(f"  {name:<11} {rows:>12,} rows")


def _simulator_settings(dealers, months, start, seed, file_format, world_name=None):
    base = settings().simulator
    overrides = {k: v for k, v in dict(dealers=dealers, months=months, start=start, seed=seed,
                                       format=file_format).items() if v is not None}
    if world_name is not None:
        if world_name not in WORLDS:
            raise fail(f"unknown world {world_name!r}; choose one of: {', '.join(WORLDS)}")
        named = WORLDS[world_name]
        overrides = {"seed": named.seed, "start": named.start,
                     "world": named.world(base.world).model_dump()} | overrides
    try:
        return base.model_validate(base.model_dump() | overrides)
    except ValueError as exc:
        raise fail(f"invalid simulator option: {exc}") from None


def _simulate(out_dir: Path, sim):
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} dealer chunks"), TimeElapsedColumn(), console=errors,
                  transient=True) as bar:
        task = bar.add_task("simulate", total=None)
        try:
            return run_simulation(out_dir, sim,
                                  progress=lambda i, n: bar.update(task, completed=i, total=n))
        except (FileExistsError, PermissionError) as exc:
            raise fail(str(exc)) from None


@app.command()
def validate(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    as_of: Annotated[str | None, typer.Option(
        help="The data's as-of date YYYY-MM-DD (later events are rejected). Default: today.")]
    = None,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Check a data folder against the contract; write rejected rows to <work>/rejects/."""
    cfg = with_engine(settings(), engine, spark_master)
    _validate(_folder(data_dir, cfg), cfg, as_of=_date(as_of), as_json=as_json)


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"'{text}' is not a date (expected YYYY-MM-DD)") from None


def _folder(data_dir: str | None, cfg: Settings) -> Location:
    """The data folder a command was given (a path or a URI), else the settings' one."""
    return as_location(data_dir) if data_dir else cfg.effective_data_dir


def _validate(data_dir: Location, cfg: Settings, *, as_of: date | None, as_json: bool,
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


@app.command()
def features(
    data_dir: DataDir = None,
    out: Annotated[Path | None, typer.Option(
        help="Parquet file to write. Default: <work_dir>/panel.parquet.")] = None,
    cutoffs: Annotated[list[str] | None, typer.Option(
        "--cutoff", help="A cutoff YYYY-MM-01 (repeat for several). Default: every month.")]
    = None,
    as_of: AsOf = None,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Build the dealer x cutoff panel (keys, features, labels) and write it as Parquet."""
    cfg = with_engine(settings(), engine, spark_master)
    loaded = _validate(_folder(data_dir, cfg), cfg, as_of=_date(as_of),
                       as_json=False, quiet=True)
    _build_features(loaded, cfg, cutoffs, out)


def _progress_bar():
    from serve.progress import StageProgress
    return StageProgress(errors)


def _panel(loaded, cfg: Settings, cutoffs: list[str] | None = None):
    try:
        chosen = parse_cutoffs(cutoffs, loaded.tables) if cutoffs else None
    except CutoffError as exc:
        raise fail(str(exc)) from None
    with _progress_bar() as bar:
        task = bar.add_task("monthly aggregates", total=None)
        return build_panel(loaded.tables, chosen, panel=cfg.panel, labels=cfg.labels,
                           progress=lambda step, i, n: bar.update(task, description=step,
                                                                  completed=i, total=n))


def _build_features(loaded, cfg: Settings, cutoffs: list[str] | None, out: Path | None):
    panel = _panel(loaded, cfg, cutoffs)
    target = out or cfg.work_dir / "panel.parquet"
    write_parquet_atomically(panel, target)
    cut = panel["cutoff"]
    console.print(f"Panel: {len(panel):,} rows ({panel['dealer_id'].nunique():,} dealers x "
                  f"{cut.nunique()} cutoffs {cut.min():%Y-%m-%d} .. {cut.max():%Y-%m-%d}), "
                  f"{len(feature_columns(panel))} features -> {target}")
    for label in ("churn", "decline"):
        known = panel[label].dropna()
        console.print(f"  {label}: {len(known):,} labelled rows, rate {known.mean():.1%}"
                      if len(known) else f"  {label}: no labelled rows (horizon not complete)")
    return panel


@app.command()
def catalog(
    lang: Annotated[str, typer.Option(help="en or zh.")] = "en",
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")]
    = False,
) -> None:
    """List every feature: name, group, unit, actionable, description."""
    if lang not in ("en", "zh"):
        raise fail(f"--lang must be en or zh, got '{lang}'")
    rows = catalog_rows(lang)
    if markdown:
        sys.stdout.write(catalog_markdown(rows))
        return
    table = Table(title=f"{len(rows)} features")
    for col in ("name", "group", "unit", "actionable", "needs", "description"):
        table.add_column(col)
    for row in rows:
        table.add_row(*[str(row[k]) for k in ("name", "group", "unit", "actionable", "needs",
                                              "description")])
    console.print(table)


def _run_inputs(loaded, cfg: Settings, data_dir: Location):
    from features.fingerprint import data_fingerprint
    from models.pipeline import RunInputs
    return RunInputs(settings=cfg.public_dump(),
                     fingerprint=data_fingerprint(loaded.report),
                     data_dir=str(data_dir.resolve()))


def _quiet_mlflow() -> None:
    """MLflow and its database migrations log at INFO; the progress bar says enough."""
    import logging
    import warnings

    import mlflow  # noqa: F401  (configures its loggers on import; override after)
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")


def _with_bar(label: str):
    bar = _progress_bar()
    task = bar.add_task(label, total=None)
    return bar, lambda step, i, n: bar.update(task, description=step, completed=i, total=n)


@app.command()
def train(
    data_dir: DataDir = None,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
    = False,
    from_run: Annotated[str | None, typer.Option(
        "--from-run", help="Repeat an MLflow train run: its settings, seed and data folder "
        "(the data must still have its fingerprint).")] = None,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Train churn, decline and forecast models, register them in MLflow, and promote each
    to `champion` if it passes the gate (else it stays `challenger`, with the reasons)."""
    cfg = with_engine(settings(), engine, spark_master)
    if from_run is not None:
        from serve.reproduce import RunMismatch, settings_of_run
        try:
            given = as_location(data_dir) if data_dir else None
            cfg, folder, as_of, notes = settings_of_run(from_run, cfg, given)
        except RunMismatch as exc:
            raise fail(str(exc)) from None
        for note in notes:
            console.print(f"[yellow]note:[/yellow] {note}")
        loaded = _validate(folder, cfg, as_of=_date(as_of), as_json=False, quiet=True)
        from serve.reproduce import check_fingerprint
        try:
            check_fingerprint(from_run, loaded, cfg)
        except RunMismatch as exc:
            raise fail(str(exc)) from None
    else:
        folder = _folder(data_dir, cfg)
        loaded = _validate(folder, cfg, as_of=_date(as_of), as_json=False, quiet=True)
    _train(folder, cfg, loaded, _panel(loaded, cfg), as_json)


def _train(folder: Location, cfg: Settings, loaded, panel, as_json: bool, show: bool = True):
    from models.dataset import TrainingDataError
    from models.pipeline import train as run_train
    _quiet_mlflow()
    bar, tick = _with_bar("training")
    try:
        with bar:
            result = run_train(panel, _run_inputs(loaded, cfg, folder), cfg.models, cfg.labels,
                               cfg.work_dir, progress=tick)
    except TrainingDataError as exc:
        raise fail(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps({
            "run_id": result.run_id, "tracking_uri": result.tracking_uri,
            "origin": f"{result.origin:%Y-%m-%d}", "versions": result.versions,
            "promoted": {m: d.promote for m, d in result.decisions.items()},
            "provisional": {m: d.provisional for m, d in result.decisions.items()},
            "reasons": {m: d.reasons for m, d in result.decisions.items()}},
            ensure_ascii=False) + "\n")
        return result
    if show:
        console.print(f"Trained at cutoff {result.origin:%Y-%m-%d}; MLflow run "
                      f"{result.run_id} ({result.tracking_uri})")
        _print_decisions(result, cfg)
        for line in _next_steps(result, folder, cfg):
            console.print(line, highlight=False)
    return result


def _next_steps(result, folder: Location, cfg: Settings) -> list[str]:
    """What to do after `train`, in the words of what just happened."""
    from models.tracking import CHAMPION, alias_metrics, registered_name
    lines = []
    for model, decision in result.decisions.items():
        if decision.provisional:
            lines.append(f"{model}: provisional champion v{result.versions[model]} (there was "
                         f"none before): {'; '.join(decision.reasons)}. It scores; a later "
                         "`train` that passes the whole gate replaces it.")
        elif not decision.promote:
            name = registered_name(cfg.models.tracking, model)
            if alias_metrics(name, CHAMPION) is not None:
                lines.append(f"{model}: v{result.versions[model]} stays challenger; the current "
                             "champion keeps serving.")
            else:
                lines.append(f"{model}: no usable model (it does not beat every baseline): "
                             "`score` leaves its columns empty. More history usually helps; "
                             "`dealer-risk backtest` shows where it falls short.")
    me = _invocation()
    lines.append(f"Next: `{me} score {folder}` scores every active dealer, then "
                 f"`{me} serve` opens the API and dashboard.")
    return lines


def _print_decisions(result, cfg: Settings) -> None:
    table = Table(title="Registered models")
    for col in ("model", "version", "alias", "gate"):
        table.add_column(col)
    for model, decision in result.decisions.items():
        table.add_row(f"{cfg.models.tracking.model_prefix}-{model}", result.versions[model],
                      "champion" if decision.promote else "challenger", _gate_text(decision))
    console.print(table)


def _gate_text(decision) -> str:
    if decision.provisional:
        return "provisional (no champion before it): " + "; ".join(decision.reasons)
    if not decision.promote:
        return "; ".join(decision.reasons)
    first = any(c.name == "no champion yet" for c in decision.checks)
    return "beats every baseline" + (" (first champion)" if first else
                                     ", holds up against the previous champion")


RETRAIN_BUSY = 75
"""EX_TEMPFAIL: another retrain holds the lock; cron may simply try again later."""


@app.command()
def retrain(
    data_dir: DataDir = None,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON "
                                          "line (for cron logs).")] = False,
) -> None:
    """The monthly job, safe from cron: validate, build the panel, train and backtest the
    gate, promote or keep each champion, then rescore the newest month.

    Exit codes: 0 promoted, 0 kept the champion (the reasons are printed), 2 the data or
    settings are unusable, 3 training failed, 75 another retrain is running. On any
    failure nothing changes: aliases move only after the gate, snapshots are written
    atomically.
    """
    import fcntl

    cfg = settings()
    folder = _folder(data_dir, cfg)
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    with open(cfg.work_dir / "retrain.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            errors.print(f"error: another retrain is running (lock "
                              f"{cfg.work_dir / 'retrain.lock'}); try again later")
            raise typer.Exit(RETRAIN_BUSY) from None
        loaded = _validate(folder, cfg, as_of=_date(as_of), as_json=False, quiet=True)
        panel = _panel(loaded, cfg)
        try:
            result = _train(folder, cfg, loaded, panel, as_json=False, show=not as_json)
        except typer.Exit:
            raise
        except Exception as exc:  # training blew up: report; aliases have not moved
            errors.print(f"error: training failed: {type(exc).__name__}: {exc}",
                         highlight=False, markup=False)
            raise typer.Exit(3) from None
        try:
            recalibrated = _recalibrate_drifting(loaded, cfg, folder, result)
        except Exception as exc:  # the champions keep their aliases: nothing moved
            errors.print(f"error: recalibration failed: {type(exc).__name__}: {exc}",
                         highlight=False, markup=False)
            raise typer.Exit(3) from None
        failpoint("retrain.trained")
        day = _score(loaded, cfg, None, None, show=not as_json)
    promoted = [m for m, d in result.decisions.items() if d.promote]
    outcome = "promoted" if promoted else "kept"
    if as_json:
        sys.stdout.write(json.dumps({
            "outcome": outcome, "promoted": promoted, "run_id": result.run_id,
            "versions": result.versions, "snapshot": day, "recalibrated": recalibrated,
            "reasons": {m: d.reasons for m, d in result.decisions.items() if not d.promote}},
            ensure_ascii=False) + "\n")
        return
    for model, version in recalibrated.items():
        console.print(f"Recalibrated the {model} champion on the newest matured months (its "
                      f"calibration drifted): now v{version}.")
    if promoted:
        console.print(f"Promoted: {', '.join(promoted)}. Rescored as of {day}.")
    else:
        console.print(f"Kept the champions (see the reasons above). Rescored as of {day}.")


def _recalibrate_drifting(loaded, cfg: Settings, folder: Location, result) -> dict[str, str]:
    """Champions kept by the gate whose calibration drifts on the newest matured months get
    a calibrator refitted on them (same booster); returns model -> new version."""
    from models.pipeline import recalibrate
    from serve.scoring import RISK_MODELS, calibration_check, matured_rows, scoring_cutoff
    kept = [m for m in RISK_MODELS if not result.decisions[m].promote]
    if not kept:
        return {}
    champions = _champions(cfg)
    cutoff = scoring_cutoff(loaded.tables, None)
    rows = matured_rows(loaded.tables, cutoff, cfg)
    check = calibration_check(loaded.tables, champions, cutoff, cfg, rows)
    drifting = [m for m in kept if check.get(m, {}).get("drifting")
                and getattr(champions, m) is not None]
    if not drifting:
        return {}
    inputs = _run_inputs(loaded, cfg, folder)
    return {m: recalibrate(getattr(champions, m), rows[rows[m].notna()],
                           champions.versions[m], inputs, cfg.models, cfg.work_dir)
            for m in drifting}


DRIFT_EXIT = 4
"""monitor --strict: something shifted beyond models.monitor.psi_alert."""


@app.command()
def monitor(
    data_dir: DataDir = None,
    as_of: AsOf = None,
    strict: Annotated[bool, typer.Option(
        help=f"Exit {DRIFT_EXIT} when a score or feature shifted (PSI over "
        "models.monitor.psi_alert): for cron.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
    = False,
) -> None:
    """Drift of each feature and of the scores at the newest cutoff against the champions'
    training data, and realized churn and decline against past snapshots' predictions
    (AUC, calibration) by region, tier, channel and stage. Logged to MLflow; the dashboard's
    overview shows the latest report."""
    from serve.monitor import log_and_write
    from serve.monitor import monitor as run_monitor
    cfg = settings()
    folder = _folder(data_dir, cfg)
    loaded = _validate(folder, cfg, as_of=_date(as_of), as_json=False, quiet=True)
    panel = _panel(loaded, cfg)
    _quiet_mlflow()
    champions = _champions(cfg)
    if champions.reference is None:
        raise fail("monitor compares with a churn or decline champion, and there is none: "
                   "run `dealer-risk train` first")
    report = run_monitor(panel, champions, cfg)
    run_id, path = log_and_write(report, _run_inputs(loaded, cfg, folder), cfg)
    if as_json:
        sys.stdout.write(json.dumps({**report, "run_id": run_id}, ensure_ascii=False,
                                    default=str) + "\n")
    else:
        _print_monitor(report, run_id, path)
    if strict and report["shifted"]:
        raise typer.Exit(DRIFT_EXIT)


def _print_monitor(report: dict, run_id: str, path: Path) -> None:
    ref = report["reference"]
    console.print(f"Newest cutoff {report['as_of']} ({report['current_rows']:,} active "
                  f"dealers) against the champions' training rows {ref['from']} .. "
                  f"{ref['to']} ({ref['rows']:,}). MLflow run {run_id}; report {path}")
    table = Table(title="Population stability (PSI): scores, then the 10 most moved features")
    for col in ("column", "PSI", "status", "median then", "median now"):
        table.add_column(col, justify="left" if col in ("column", "status") else "right")
    for row in report["scores"] + report["features"][:10]:
        table.add_row(row["column"], f"{row['psi']:.3f}", row["status"],
                      *("" if row[k] is None else f"{row[k]:,.3g}"
                        for k in ("reference_median", "current_median")))
    console.print(table)
    matured = [r for r in report["matured"] if r["segment"] == "all"]
    if not matured:
        console.print("No snapshot has matured yet (its horizon has not passed, or no "
                      "snapshot was scored that long ago).")
        return
    table = Table(title="Past snapshots against what happened (all dealers)")
    for col in ("as of", "model", "dealers", "predicted", "realized", "calibration",
                "ROC AUC", "ECE"):
        table.add_column(col, justify="left" if col in ("as of", "model", "calibration")
                         else "right")
    for r in matured:
        table.add_row(r["as_of"] + (" *" if r["in_sample"] else ""), r["model"],
                      f"{r['rows']:,}", f"{r['predicted_rate']:.1%}",
                      f"{r['realized_rate']:.1%}", r["calibration"],
                      f"{r['roc_auc']:.3f}", f"{r['ece']:.3f}")
    console.print(table)
    if report.get("calibration_drifting"):
        console.print("Calibration drifting (mean probability beyond ±"
                      f"{report['calibration_tolerance']:.0%} of the realized rate): "
                      + ", ".join(report["calibration_drifting"])
                      + ". `dealer-risk retrain` refits a kept champion's calibration.")
    if any(r["in_sample"] for r in matured):
        console.print("* scored by a champion that learned from that month's outcome (a "
                      "backfilled snapshot): optimistic. Snapshots scored month by month, "
                      "before their outcome was known, give the honest figure.")


@app.command()
def backtest(
    data_dir: DataDir = None,
    origins: Annotated[int | None, typer.Option(
        help="Monthly origins to refit at. Default: settings' models.backtest.origins.")]
    = None,
    card: Annotated[Path | None, typer.Option(
        help="Also write the model card (Markdown) to this file.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Metrics table CSV. Default: <work_dir>/backtest.csv.")] = None,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the pooled metrics as JSON.")]
    = False,
    alerts_doc: Annotated[Path | None, typer.Option(
        help="Also write the alert rules' precision and recall (Markdown) to this file.")]
    = None,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Rolling-origin backtest of the three models against their baselines, and of the
    alert rules against the labels."""
    from features.simulator.truth import CAUSE_GROUPS, read_churners
    from models.backtest import headline, pooled
    from models.card import keep_external
    from models.dataset import TrainingDataError
    from models.gate import baseline_checks
    from models.pipeline import backtest as run_backtest
    cfg = with_engine(settings(), engine, spark_master)
    if origins is not None:
        if origins < 1:
            raise fail("--origins must be at least 1")
        cfg.models.backtest.origins = origins
    folder = _folder(data_dir, cfg)
    loaded = _validate(folder, cfg, as_of=_date(as_of), as_json=False, quiet=True)
    panel = _panel(loaded, cfg)
    _quiet_mlflow()
    bar, tick = _with_bar("backtest")
    try:
        with bar:
            inputs = _run_inputs(loaded, cfg, folder)
            result = run_backtest(panel, inputs, cfg.models,
                                  cfg.labels, cfg.work_dir, churners=read_churners(folder),
                                  cause_groups=CAUSE_GROUPS, progress=tick,
                                  min_peer_group=cfg.panel.min_peer_group)
    except TrainingDataError as exc:
        raise fail(str(exc)) from None
    target = out or cfg.work_dir / "backtest.csv"
    write_text_atomically(result.table.to_csv(index=False), target)
    if card is not None:
        previous = card.read_text(encoding="utf-8") if card.exists() else None
        write_text_atomically(keep_external(result.card, previous), card)
    quality = _alert_quality(panel, result, cfg, alerts_doc, inputs.fingerprint)
    if as_json:
        sys.stdout.write(json.dumps({"run_id": result.run_id, "table": str(target),
                                     "pooled": headline(result.table)}) + "\n")
        return
    origins_text = ", ".join(f"{o:%Y-%m}" for o in result.backtest.origins)
    console.print(f"Backtest over {len(result.backtest.origins)} origins ({origins_text}); "
                  f"MLflow run {result.run_id}")
    _print_pooled(pooled(result.table))
    for model in ("churn", "decline", "forecast"):
        for check in baseline_checks(result.table, model, cfg.models.gate,
                                     cfg.models.forecast.interval):
            mark = "[green]pass[/green]" if check.passed else "[red]FAIL[/red]"
            console.print(f"  {mark} {model}: {check.name}: {check.detail}")
    if result.fidelity is not None:
        rates = ", ".join(f"{r.cause} {r.hit_rate:.0%} (n={r.churners})"
                          for r in result.fidelity.itertuples())
        console.print(f"Explanations naming the true cause in the top "
                      f"{cfg.models.explain.top_factors}: {rates}")
    _print_alert_quality(quality)
    console.print(f"Table: {target}" + (f"; model card: {card}" if card else "")
                  + (f"; alerts: {alerts_doc}" if alerts_doc else ""))


def _alert_quality(panel, result, cfg: Settings, doc: Path | None, fingerprint: dict):
    """Each alert rule against the labels at the backtest's origins; logged to the
    backtest's MLflow run, and written as Markdown when asked."""
    from mlflow import MlflowClient

    from models.alerts import backtest_frames, band_constants, rule_quality
    from serve.alerts_doc import render_alerts_doc
    bt = result.backtest
    frames = backtest_frames(panel, bt.classifiers, bt.forecast, bt.origins,
                             cfg.labels.forecast.horizon_months, cfg.scoring.bands)
    quality = rule_quality(frames, cfg.alerts.rules, band_constants(cfg.scoring.bands))
    text = render_alerts_doc(quality, cfg.alerts.rules, bt.origins, fingerprint)
    client = MlflowClient()
    client.log_text(result.run_id, quality.to_csv(index=False), "alert_quality.csv")
    client.log_text(result.run_id, text, "alerts.md")
    if doc is not None:
        write_text_atomically(text, doc)
    return quality


def _print_alert_quality(quality) -> None:
    table = Table(title="Alert rules against the labels (pooled over origins)")
    for col in ("rule", "flagged", "churn prec.", "churn recall", "churn lift",
                "decline prec.", "decline lift"):
        table.add_column(col, justify="left" if col == "rule" else "right",
                         no_wrap=col == "rule")
    for q in quality.sort_values("churn_lift", ascending=False).itertuples():
        table.add_row(q.rule, f"{q.fired_share:.1%}", f"{q.churn_precision:.0%}",
                      f"{q.churn_recall:.0%}", f"{q.churn_lift:.1f}x",
                      f"{q.decline_precision:.0%}", f"{q.decline_lift:.1f}x")
    console.print(table)


def _print_pooled(rows) -> None:
    table = Table(title="Pooled over origins")
    cols = ("model", "predictor", "roc_auc", "pr_auc", "brier", "ece", "top_lift", "wape",
            "coverage")
    for col in cols:
        table.add_column(col)
    for _, row in rows.iterrows():
        table.add_row(*[str(row[c]) if isinstance(row[c], str) else
                        ("" if row[c] != row[c] else f"{row[c]:.3f}") for c in cols])
    console.print(table)


@app.command()
def score(
    data_dir: DataDir = None,
    as_of: Annotated[str | None, typer.Option(
        help="Score as of this date YYYY-MM-DD (the cutoff is the first day of its month). "
        "Default: the newest complete month.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Also export the rows to this .csv or .parquet file.")] = None,
    history: Annotated[int, typer.Option(
        min=1, help="Score this many monthly snapshots ending at the as-of date, oldest "
        "first (changes and alerts build on the one before).")] = 1,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Score every active dealer with the champion models and write a snapshot."""
    cfg = with_engine(settings(), engine, spark_master)
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise fail(f"{out}: --out must end in .csv or .parquet")
    folder = _folder(data_dir, cfg)
    loaded = _validate(folder, cfg, as_of=None, as_json=False, quiet=True)
    _score(loaded, cfg, as_of, out, history)


def _score(loaded, cfg: Settings, as_of: str | None, out: Path | None,
           history: int = 1, show: bool = True) -> str:
    """Write the snapshots; returns the newest as-of date."""
    import pandas as pd

    from features.monthly import history_start
    from features.panel import default_cutoffs
    from serve.reps import quarter_starts
    from serve.scoring import calibration_check, score_batch, scoring_cutoff
    from serve.snapshots import export_rows, previous_snapshot, snapshot_on, write_snapshot
    from serve.support import snapshot_support
    try:
        newest = scoring_cutoff(loaded.tables, _date(as_of))
        first = default_cutoffs(loaded.tables)[0]
    except CutoffError as exc:
        raise fail(str(exc)) from None
    cutoffs = [c for c in (newest - pd.DateOffset(months=k) for k in range(history - 1, -1, -1))
               if c >= first]
    _quiet_mlflow()
    champions = _champions(cfg)
    versions = champions.versions
    horizon = cfg.labels.forecast.horizon_months
    with _progress_bar() as bar:
        task = bar.add_task("scoring", total=len(cutoffs))
        for cutoff in cutoffs:
            day = f"{cutoff:%Y-%m-%d}"
            bar.update(task, description=f"scoring as of {day}")
            earlier = snapshot_on(cfg.work_dir,
                                  f"{cutoff - pd.DateOffset(months=horizon):%Y-%m-%d}")
            quarters = {s: snapshot_on(cfg.work_dir, f"{s:%Y-%m-%d}")
                        for s in quarter_starts(cutoff)[1:]}
            snapshot, population, reps = score_batch(
                loaded.tables, champions, cutoff, cfg, previous_snapshot(cfg.work_dir, day),
                earlier, spark=spark_session(cfg), quarter_snapshots=quarters)
            path = write_snapshot(snapshot, cfg.work_dir, day, population,
                                  str(history_start(loaded.tables)),
                                  snapshot_support(loaded.tables, cutoff,
                                                   cfg.support.window_days), reps)
            bar.advance(task)
    check = calibration_check(loaded.tables, champions, newest, cfg)
    write_text_atomically(json.dumps(check, indent=1), path.with_name(f"{day}.calibration.json"))
    if show:
        _print_snapshot(snapshot, day, versions, path)
        _print_model_status(champions)
        _print_calibration(check, cfg)
    if out is not None:
        console.print(f"Rows exported to {export_rows(snapshot, out)}")
    return day


def _champions(cfg: Settings):
    """The champion models from the registry (a model without one is left out and its
    columns are unavailable), or a clear error when no model has one."""
    from models.tracking import RegistryError
    from serve.scoring import load_champions
    try:
        return load_champions(cfg)
    except RegistryError as exc:
        raise fail(str(exc)) from None


def _print_calibration(check: dict, cfg: Settings) -> None:
    """The champions' calibration on the newest matured months, and what to do if it drifts."""
    for model, c in check.items():
        line = (f"{model} calibration on {c['months'][0]} .. {c['months'][-1]} (labels "
                f"complete): mean probability {c['mean_probability']:.1%} against "
                f"{c['observed_rate']:.1%} observed ({c['gap']:+.1%} relative)")
        if c["drifting"]:
            console.print(f"[yellow]warning:[/yellow] {line}, beyond "
                          f"±{cfg.scoring.calibration_tolerance:.0%}: run `dealer-risk retrain` "
                          "(it recalibrates on the newest matured months).", highlight=False)
        else:
            console.print(line, highlight=False)


def _print_model_status(champions) -> None:
    """Say plainly when a score comes from a provisional champion or is missing."""
    for model, status in champions.status().items():
        if status["state"] == "provisional":
            console.print(f"[yellow]note:[/yellow] the {model} champion (v{status['version']}) "
                          f"is provisional: {status['reason']}. Its scores are usable; a "
                          "later `dealer-risk train` that passes the whole gate replaces it.")
        elif status["state"] == "unavailable":
            console.print(f"[yellow]note:[/yellow] no usable {model} model: its columns are "
                          f"empty in this snapshot ({status['reason']}).")


def _print_snapshot(snapshot, day: str, versions: dict[str, str], path: Path) -> None:
    counts = snapshot["band"].value_counts()
    bands = ", ".join(f"{b} {counts.get(b, 0):,}" for b in ("critical", "high", "medium", "low")
                      if b in counts.index)
    console.print(f"Scored {len(snapshot):,} active dealers as of {day} with champions "
                  + ", ".join(f"{m} v{v}" for m, v in versions.items()) + f": {bands}. "
                  f"Revenue at risk: ¥{snapshot['revenue_at_risk'].sum() / 1e6:,.1f}M")
    table = Table(title="Top 10 by revenue at risk")
    for col in ("dealer", "region", "tier", "band", "churn", "decline", "at risk", "top reason"):
        table.add_column(col)
    for row in snapshot.head(10).itertuples():
        table.add_row(row.dealer_id, row.region, row.tier, row.band,
                      f"{row.churn_probability:.0%}", f"{row.decline_probability:.0%}",
                      f"¥{row.revenue_at_risk / 1e3:,.0f}k", row.top_reason_en or "")
    console.print(table)
    console.print(f"Snapshot: {path}")


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    data_dir: Annotated[str | None, typer.Argument(
        metavar="DATA",
        help="Score this data folder first (with the champions), then serve. Default: serve "
        "the snapshots already written by `dealer-risk score`.")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind. Default: settings' "
                                             "api.host (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default: settings' api.port (8000).")]
    = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes.")] = None,
) -> None:
    """Start the risk API (FastAPI on uvicorn): /v1 for CRMs, /docs for its reference."""
    cfg = settings()
    if data_dir is not None:
        loaded = _validate(as_location(data_dir), cfg, as_of=None, as_json=False, quiet=True)
        _score(loaded, cfg, None, None)
    _serve(cfg, host or cfg.api.host, port or cfg.api.port, workers or cfg.api.workers)


def _serve(cfg: Settings, host: str, port: int, workers: int) -> None:
    import os

    import uvicorn
    if not cfg.api_keys and host not in LOOPBACK:
        raise fail(f"refusing to bind {host} without api_keys: anyone on the network could "
                   "read the scores. Set DEALER_RISK_API_KEYS='{\"KEY\": \"reader\"}' or "
                   "bind 127.0.0.1")
    if _State.config is not None:
        os.environ["DEALER_RISK_CONFIG"] = str(_State.config.resolve())
    from models.tracking import check_store, tracking_uri
    check_store(tracking_uri(cfg.models.tracking, cfg.work_dir),
                cfg.models.tracking.connect_timeout_seconds)
    base = f"http://{'[::1]' if host == '::1' else host}:{port}"
    console.print(f"Serving the risk API on {base} (docs: {base}/docs); Ctrl-C stops it.")
    if not cfg.api_keys:
        console.print("[yellow]No API keys configured: the API is open, on loopback only."
                      "[/yellow]")
    uvicorn.run("serve.api.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")


def _newest_snapshot(cfg: Settings) -> str:
    """The top dealer of the newest snapshot: the example curl shows a real one."""
    from serve.snapshots import list_snapshots, read_snapshot
    dates = list_snapshots(cfg.work_dir)
    return str(read_snapshot(cfg.work_dir, dates[-1])["dealer_id"].iloc[0])


@app.command()
def promote(
    model: Annotated[str, typer.Argument(help="churn, decline or forecast.")],
    version: Annotated[str, typer.Argument(help="The registered version to make champion.")],
    reason: Annotated[str, typer.Option(help="Why the gate is overridden (recorded as a "
                                       "tag on the version).")],
) -> None:
    """Make a version the champion by hand (overriding the gate), recording why."""
    from models.tracking import RegistryError, configure, registered_name
    from models.tracking import promote as set_champion
    cfg = settings()
    if model not in ("churn", "decline", "forecast"):
        raise fail(f"model must be churn, decline or forecast, got '{model}'")
    if not reason.strip():
        raise fail("--reason must say why the gate is overridden")
    _quiet_mlflow()
    configure(cfg.models.tracking, cfg.work_dir)
    name = registered_name(cfg.models.tracking, model)
    try:
        previous = set_champion(name, version, reason)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    console.print(f"{name} version {version} is now champion (was: {previous or 'none'}); "
                  f"reason recorded: {reason}")


@app.command()
def demo(
    serve_api: Annotated[bool, typer.Option(
        "--serve/--no-serve", help="Start the API on localhost at the end.")] = True,
    dealers: Annotated[int | None, typer.Option(help="Dealers in the sample network.")] = None,
    months: Annotated[int | None, typer.Option(help="Months in the sample network.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    data: Annotated[Path | None, typer.Option(
        help="Run on your own data folder instead of a simulated sample.")] = None,
) -> None:
    """The main job on the embedded defaults: simulate a sample network, validate it, build
    its point-in-time panel, train, gate and register the models, score every dealer, and
    serve the risk API on localhost. With --data, the same on your own folder."""
    cfg = settings()
    if data is None:
        sim = _simulator_settings(dealers, months, None, seed, None)
        out = cfg.sample_data_dir
        console.rule("1. Simulate a sample dealer network")
        summary = _simulate(out, sim)
        console.print(f"{summary.dealers:,} dealers, {summary.months} months from "
                      f"{summary.first_month}, {summary.rows['orders']:,} order lines -> {out}")
        as_of = date.fromisoformat(summary.as_of)
    else:
        out, as_of = data, None
        console.rule(f"1. Use your data in {data}")
    console.rule("2. Validate it against the data contract")
    loaded = _validate(out, cfg, as_of=as_of, as_json=False)
    console.rule("3. Build the point-in-time dealer x month panel")
    panel = _build_features(loaded, cfg, None, None)
    console.rule("4. Train, backtest the newest origins, register and gate the models")
    _train(out, cfg, loaded, panel, as_json=False)
    console.rule("5. Score every active dealer with the champion models")
    _score(loaded, cfg, None, None, cfg.scoring.history_snapshots)
    if serve_api:
        snapshot = _newest_snapshot(cfg)
        base = f"http://127.0.0.1:{cfg.api.port}"
        console.rule("6. Serve the risk API and the dashboard on localhost")
        console.print(f"Try:  {base}/dashboard                  (the managers' worklist)\n"
                      f"      {base}/docs                       (the API reference)\n"
                      f"      {base}/v1/risk?limit=5            (ranked list)\n"
                      f"      curl '{base}/v1/dealers/{snapshot}/risk?lang=zh'\n"
                      f"MLflow: {_invocation('mlflow')} ui --backend-store-uri sqlite:///"
                      f"{(cfg.work_dir / 'mlflow.db').resolve()}\n"
                      f"Later:  {_invocation()} serve   (the same API and dashboard again)",
                      highlight=False)
        _serve(cfg, "127.0.0.1", cfg.api.port, cfg.api.workers)
        return
    console.rule("Next")
    db = (cfg.work_dir / "mlflow.db").resolve()
    me = _invocation()
    console.print(f"Dashboard, API: {me} serve, then http://127.0.0.1:{cfg.api.port}/dashboard\n"
                  f"Your own data:  {me} validate PATH/TO/FOLDER\n"
                  f"                {me} train PATH/TO/FOLDER\n"
                  f"Full backtest:  {me} backtest   (12 monthly origins, model card)\n"
                  f"Monthly job:    {me} retrain; {me} monitor (docs/retraining.md)\n"
                  f"MLflow UI:      {_invocation('mlflow')} ui --backend-store-uri sqlite:///{db}\n"
                  f"The features:   {me} catalog   (--lang zh for Chinese)\n"
                  f"Settings:       {me} config show", highlight=False)


def _invocation(program: str = "dealer-risk") -> str:
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


def run() -> None:
    """The console script: the commands, with the failures no command can fix said in
    one line (exit 2) instead of a traceback: a tracking store that cannot be reached, an
    artefact that cannot be written (a full disk). Nothing earlier was replaced."""
    from models.errors import StoreUnreachable
    try:
        app()
    except (StoreUnreachable, WriteError) as exc:
        errors.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":  # pragma: no cover
    run()
