"""Commands on retention programs: `programs train` (the effect models)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from serve.cli.base import (
    AsOf,
    DataDir,
    EngineOption,
    SparkMaster,
    console,
    data_folder,
    fail,
    panel_shown,
    parse_date,
    quiet_mlflow,
    run_inputs,
    settings,
    validate_data,
    with_engine,
)

app = typer.Typer(help="Retention programs: what each does for which dealer.",
                  no_args_is_help=True)


@app.command("train")
def train(
    data_dir: DataDir = None,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
    = False,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Estimate each program's effect on each dealer's chance of leaving from the programs
    table (doubly robust, econml over LightGBM), judge it on the randomized pilots out of
    time, and register it in MLflow: champion only if it beats "no effect" and "highest
    risk first" there."""
    from models.effects.pipeline import train_effects
    cfg = with_engine(settings(), engine, spark_master)
    folder = data_folder(data_dir, cfg)
    loaded = validate_data(folder, cfg, as_of=parse_date(as_of), as_json=False, quiet=True)
    programs = loaded.tables.get("programs")
    if programs is None or programs.empty:
        raise fail(f"{folder}: no programs table (programs.csv or programs.parquet): the "
                   "effect models learn from the programs given; see docs/data-contract.md")
    panel = panel_shown(loaded, cfg)
    quiet_mlflow()
    with console.status("fitting the effect models"):
        result = train_effects(panel, programs, run_inputs(loaded, cfg, folder), cfg.models,
                               cfg.work_dir)
    if as_json:
        sys.stdout.write(json.dumps({
            "run_id": result.run_id, "tracking_uri": result.tracking_uri,
            "version": result.version, "promoted": result.promote, "reasons": result.reasons,
            "randomized_rows_out_of_time": result.test_pilots,
            "qini": {k: {"value": v.value, "low": v.low, "high": v.high}
                     for k, v in result.judged.items()},
            "programs": json.loads(result.summary.to_json(orient="records"))},
            ensure_ascii=False, default=str) + "\n")
        return
    console.print(f"Effect models at cutoff {result.origin:%Y-%m-%d}; MLflow run "
                  f"{result.run_id} ({result.tracking_uri})")
    table = Table(title="Programs: estimated change of the chance of leaving within "
                  f"{cfg.models.effects.horizon_months} months, mean over today's dealers")
    for col in ("program", "given", "pilots", "managers", "effect", "interval",
                "Qini (out of time)"):
        table.add_column(col, justify="left" if col == "program" else "right")
    for row in result.summary.itertuples():
        modelled = bool(row.modelled)
        table.add_row(row.program, f"{row.given:.0f}", f"{row.pilots:.0f}",
                      f"{row.managers:.0f}",
                      f"{row.effect * 100:+.1f} pts" if modelled else "not modelled",
                      f"{row.low * 100:+.1f} to {row.high * 100:+.1f}" if modelled else
                      f"fewer than {cfg.models.effects.min_treated} given",
                      "" if row.qini_out_of_time != row.qini_out_of_time
                      else f"{row.qini_out_of_time:+.4f}")
    console.print(table)
    verdict = "champion" if result.promote else "challenger (not used)"
    version = f"v{result.version}" if result.version else "nothing registered"
    console.print(f"{version}: {verdict}")
    for reason in result.reasons:
        console.print(f"  - {reason}", highlight=False)
