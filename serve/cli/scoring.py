"""Commands on scores: `score` (snapshots of every active dealer) and `monitor` (drift and
how past scores turned out)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from features.io import write_text_atomically
from features.panel import CutoffError
from serve.cli.base import (
    AsOf,
    DataDir,
    EngineOption,
    SparkMaster,
    champions_or_fail,
    console,
    data_folder,
    fail,
    panel_shown,
    parse_date,
    progress_bar,
    quiet_mlflow,
    run_inputs,
    settings,
    spark_session,
    validate_data,
    with_engine,
)
from serve.settings import Settings


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
    folder = data_folder(data_dir, cfg)
    loaded = validate_data(folder, cfg, as_of=None, as_json=False, quiet=True)
    score_shown(loaded, cfg, as_of, out, history)
    from serve.cli.notify import notify_after_scoring
    notify_after_scoring(cfg, show=True)


def score_shown(loaded, cfg: Settings, as_of: str | None, out: Path | None,
                history: int = 1, show: bool = True, panel=None) -> str:
    """Write the snapshots; returns the newest as-of date. The panel is built once for
    every snapshot and the calibration checks (serve.batch.scoring.Panels); `panel`: one
    the caller built at every default cutoff (retrain and demo train on it), used as is."""
    import pandas as pd

    from features.monthly import history_start
    from features.panel import default_cutoffs
    from serve.batch.plan import load_effect_model, snapshot_effects
    from serve.batch.reps import quarter_starts
    from serve.batch.roster import roster
    from serve.batch.scoring import (
        Panels,
        calibration_check,
        check_cutoffs,
        score_batch,
        scoring_cutoff,
        scoring_cutoffs,
        survival_check,
    )
    from serve.batch.snapshots import export_rows, previous_snapshot, snapshot_on, write_snapshot
    from serve.batch.support import snapshot_support
    try:
        newest = scoring_cutoff(loaded.tables, parse_date(as_of))
        first = default_cutoffs(loaded.tables)[0]
    except CutoffError as exc:
        raise fail(str(exc)) from None
    cutoffs = [c for c in (newest - pd.DateOffset(months=k) for k in range(history - 1, -1, -1))
               if c >= first]
    quiet_mlflow()
    champions = champions_or_fail(cfg)
    versions = champions.versions
    effect_model = load_effect_model(cfg)
    horizon = cfg.labels.forecast.horizon_months
    with progress_bar() as bar:
        task = bar.add_task("scoring", total=len(cutoffs))
        if panel is not None:
            panels = Panels(loaded.tables, cfg, panel, default_cutoffs(loaded.tables))
        else:
            bar.update(task, description="building the panel")
            panels = Panels.build(loaded.tables, cfg, [
                *(c for cutoff in cutoffs for c in scoring_cutoffs(cutoff, cfg)),
                *check_cutoffs(loaded.tables, champions, newest, cfg)])
        for cutoff in cutoffs:
            day = f"{cutoff:%Y-%m-%d}"
            bar.update(task, description=f"scoring as of {day}")
            earlier = snapshot_on(cfg.work_dir,
                                  f"{cutoff - pd.DateOffset(months=horizon):%Y-%m-%d}")
            quarters = {s: snapshot_on(cfg.work_dir, f"{s:%Y-%m-%d}")
                        for s in quarter_starts(cutoff)[1:]}
            snapshot, population, reps = score_batch(
                loaded.tables, champions, cutoff, cfg, previous_snapshot(cfg.work_dir, day),
                earlier, spark=spark_session(cfg), quarter_snapshots=quarters, panels=panels)
            path = write_snapshot(snapshot, cfg.work_dir, day, population,
                                  str(history_start(loaded.tables)),
                                  snapshot_support(loaded.tables, cutoff,
                                                   cfg.support.window_days), reps,
                                  roster(loaded.tables["dealers"], snapshot, cutoff),
                                  snapshot_effects(population, snapshot, cutoff, effect_model,
                                                   cfg))
            bar.advance(task)
    check = calibration_check(loaded.tables, champions, newest, cfg, panels=panels)
    survival = survival_check(loaded.tables, champions, newest, cfg, panels)
    if survival is not None:
        check["survival"] = survival
    write_text_atomically(json.dumps(check, indent=1), path.with_name(f"{day}.calibration.json"))
    if show:
        _print_snapshot(snapshot, day, versions, path)
        _print_model_status(champions)
        _print_calibration(check, cfg)
    if out is not None:
        console.print(f"Rows exported to {export_rows(snapshot, out)}")
    return day


def _print_calibration(check: dict, cfg: Settings) -> None:
    """The champions' calibration on the newest matured months, and what to do if it drifts."""
    for model, c in check.items():
        if model == "survival":
            line = (f"survival calibration on {c['months'][0]} .. {c['months'][-1]} (each "
                    f"dealer followed as far as the data settles): the curves expect "
                    f"{c['expected_losses']:,.0f} losses where {c['observed_losses']:,.0f} "
                    f"were observed ({c['gap']:+.1%} relative)")
            fix = "it recalibrates the survival champion's hazards on those months"
        else:
            line = (f"{model} calibration on {c['months'][0]} .. {c['months'][-1]} (labels "
                    f"complete): mean probability {c['mean_probability']:.1%} against "
                    f"{c['observed_rate']:.1%} observed ({c['gap']:+.1%} relative)")
            fix = "it recalibrates on the newest matured months"
        if c["drifting"]:
            console.print(f"[yellow]warning:[/yellow] {line}, beyond "
                          f"±{cfg.scoring.calibration_tolerance:.0%}: run `dealer-risk retrain` "
                          f"({fix}).", highlight=False)
        else:
            console.print(line, highlight=False)


def _print_model_status(champions) -> None:
    """Say plainly when a score comes from a provisional champion or is missing."""
    for model, status in champions.status().items():
        if status["state"] == "provisional":
            console.print(f"[yellow]note:[/yellow] the {model} champion (v{status['version']}) "
                          f"is provisional: {status['reason']}. Its scores are usable; a "
                          "later `dealer-risk train` that passes the whole gate replaces it.")
        elif status["state"] == "unavailable" and model == "leave":
            console.print("[yellow]note:[/yellow] no leave model (`train` makes one once the "
                          "history is about a year longer than the churn model needs): the "
                          "churn risk is not split into leaving and a quiet spell.")
        elif status["state"] == "unavailable" and model == "survival":
            console.print("[yellow]note:[/yellow] no survival model (`train` makes one once "
                          "the history is about a year longer than the churn model needs): "
                          "no time to leaving in this snapshot.")
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


DRIFT_EXIT = 4
"""monitor --strict: something shifted beyond models.monitor.psi_alert."""


def monitor(
    data_dir: DataDir = None,
    as_of: AsOf = None,
    strict: Annotated[bool, typer.Option(
        help=f"Exit {DRIFT_EXIT} when a score or feature shifted (PSI over "
        "models.monitor.psi_alert): for cron.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
    = False,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Drift of each feature and of the scores at the newest cutoff against the champions'
    training data, and realized churn and decline against past snapshots' predictions
    (AUC, calibration) by region, tier, channel and stage. Logged to MLflow; the dashboard's
    overview shows the latest report."""
    from serve.batch.monitor import log_and_write
    from serve.batch.monitor import monitor as run_monitor
    cfg = with_engine(settings(), engine, spark_master)
    folder = data_folder(data_dir, cfg)
    loaded = validate_data(folder, cfg, as_of=parse_date(as_of), as_json=False, quiet=True)
    panel = panel_shown(loaded, cfg)
    quiet_mlflow()
    champions = champions_or_fail(cfg)
    if champions.reference is None:
        raise fail("monitor compares with a churn or decline champion, and there is none: "
                   "run `dealer-risk train` first")
    report = run_monitor(panel, champions, cfg)
    run_id, path = log_and_write(report, run_inputs(loaded, cfg, folder), cfg)
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
    from models.monitoring import survival_month

    if any(survival_month(r["model"]) is not None for r in matured):
        console.print("survival_Km: the chance of being gone within K months that each "
                      "snapshot's survival curves gave (1 - the curve at K), against the share "
                      "that was (settled K + labels.leave.confirm_months months later).")
    if report.get("survival_drifting"):
        console.print("Survival curves drifting (beyond the same tolerance): "
                      + ", ".join(report["survival_drifting"])
                      + ". `dealer-risk retrain` fits a new survival model on the newest "
                      "months; its gate decides whether it replaces the champion.")
    if any(r["in_sample"] for r in matured):
        console.print("* scored by a champion that learned from that month's outcome (a "
                      "backfilled snapshot): optimistic. Snapshots scored month by month, "
                      "before their outcome was known, give the honest figure.")


