"""Commands on retention programs: `programs train` (the effect models) and `plan` (a
budget spent on programs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
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
                "pilots detect", "Qini (out of time)"):
        table.add_column(col, justify="left" if col == "program" else "right")
    for row in result.summary.itertuples():
        modelled = bool(row.modelled)
        table.add_row(row.program, f"{row.given:.0f}", f"{row.pilots:.0f}",
                      f"{row.managers:.0f}",
                      f"{row.effect * 100:+.1f} pts" if modelled else "not modelled",
                      f"{row.low * 100:+.1f} to {row.high * 100:+.1f}" if modelled else
                      f"fewer than {cfg.models.effects.min_treated} given",
                      "" if row.detectable != row.detectable
                      else f"±{row.detectable * 100:.0f} pts",
                      "" if row.qini_out_of_time != row.qini_out_of_time
                      else f"{row.qini_out_of_time:+.4f}")
    console.print(table)
    console.print("pilots detect: the smallest mean effect the program's randomized pilots "
                  "could show (80% power, 5% two-sided); an estimate well inside it is not "
                  "evidence, and four times the pilots halve it.", highlight=False)
    verdict = "champion" if result.promote else "challenger (not used)"
    version = f"v{result.version}" if result.version else "nothing registered"
    console.print(f"{version}: {verdict}")
    for reason in result.reasons:
        console.print(f"  - {reason}", highlight=False)


def plan(
    budget: Annotated[float, typer.Option("--budget", min=0.01, help="Retention budget "
                                          "(CNY).")],
    region: Annotated[list[str] | None, typer.Option("--region", help="Only dealers of "
                                                     "this region (repeat for several).")]
    = None,
    program: Annotated[list[str] | None, typer.Option("--program", help="Only this program "
                                                      "kind (repeat for several).")] = None,
    include_uncertain: Annotated[bool, typer.Option(
        "--include-uncertain", help="Also spend on effects whose interval covers zero.")]
    = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The snapshot to plan on "
                                              "(YYYY-MM-DD); default the newest.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write every row to this .csv "
                                             "(UTF-8 with BOM, for Excel) or .parquet.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Spend a retention budget: which dealers get which program, one per dealer, the most
    margin kept per unit of cost first, from the newest snapshot's program effects (written
    by `score` once an effect model has passed its gate)."""
    from serve.batch.snapshots import (
        export_rows,
        list_snapshots,
        read_effects,
        read_snapshot,
    )
    from serve.service.errors import ServiceError
    from serve.service.plan import effects_status, plan_document, snapshot_plan
    from serve.service.state import Snapshot
    cfg = settings()
    dates = list_snapshots(cfg.work_dir)
    if not dates:
        raise fail(f"no score snapshot in {cfg.work_dir}: run `dealer-risk score` first")
    day = as_of or dates[-1]
    if day not in dates:
        raise fail(f"--as-of {day}: no snapshot on that date; there are {', '.join(dates)}")
    snap = Snapshot.from_frame(day, read_snapshot(cfg.work_dir, day),
                               effects=read_effects(cfg.work_dir, day))
    try:
        chosen = snapshot_plan(snap, cfg, budget=budget, region=region, program=program,
                               include_uncertain=include_uncertain)
    except ServiceError as exc:
        raise fail(str(exc)) from None
    if out is not None:
        try:
            console.print(f"Plan exported to {export_rows(chosen.rows, out)}")
        except ValueError as exc:
            raise fail(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(plan_document(snap, cfg, chosen, len(chosen.rows)),
                                    ensure_ascii=False, default=str) + "\n")
        return
    status = effects_status(snap)
    console.print(f"Plan on the snapshot of {day} (effect model v{status['version']}, "
                  f"{status['state']}): {len(chosen.rows):,} dealers, "
                  f"¥{chosen.spent:,.0f} of ¥{chosen.budget:,.0f}; expected revenue kept "
                  f"¥{chosen.revenue_kept:,.0f}, margin kept ¥{chosen.margin_kept:,.0f} "
                  f"(at {cfg.plan.margin_rate:.0%})", highlight=False)
    for note in chosen.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    if len(chosen.rows):
        table = Table()
        for col in ("dealer", "region", "rep", "program", "leave: without -> with",
                    "revenue kept", "cost"):
            table.add_column(col, justify="right" if col in ("revenue kept", "cost")
                             else "left")
        for r in chosen.rows.head(30).itertuples():
            table.add_row(str(r.dealer_name or r.dealer_id), str(r.region), str(r.sales_rep_id),
                          r.program, f"{r.leave_without:.0%} -> {r.leave_with:.0%} "
                          f"({r.leave_with_low:.0%}-{r.leave_with_high:.0%})",
                          f"¥{r.revenue_kept:,.0f}", f"¥{r.cost:,.0f}")
        console.print(table)
        if len(chosen.rows) > 30:
            console.print(f"... and {len(chosen.rows) - 30:,} more (--out writes them all)")
