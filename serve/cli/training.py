"""Commands on models: `train`, `retrain` (the monthly job), `backtest`, `promote`."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from features.failpoints import failpoint
from features.io import write_text_atomically
from features.storage import Location, as_location
from serve.cli.base import (
    AsOf,
    DataDir,
    EngineOption,
    SparkMaster,
    champions_or_fail,
    console,
    data_folder,
    errors,
    fail,
    invocation,
    panel_shown,
    parse_date,
    quiet_mlflow,
    run_inputs,
    settings,
    validate_data,
    with_bar,
    with_engine,
)
from serve.cli.scoring import score_shown
from serve.settings import Settings


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
        from serve.batch.reproduce import RunMismatch, settings_of_run
        try:
            given = as_location(data_dir) if data_dir else None
            cfg, folder, as_of, notes = settings_of_run(from_run, cfg, given)
        except RunMismatch as exc:
            raise fail(str(exc)) from None
        for note in notes:
            console.print(f"[yellow]note:[/yellow] {note}")
        loaded = validate_data(folder, cfg, as_of=parse_date(as_of), as_json=False, quiet=True)
        from serve.batch.reproduce import check_fingerprint
        try:
            check_fingerprint(from_run, loaded, cfg)
        except RunMismatch as exc:
            raise fail(str(exc)) from None
    else:
        folder = data_folder(data_dir, cfg)
        loaded = validate_data(folder, cfg, as_of=parse_date(as_of), as_json=False, quiet=True)
    train_shown(folder, cfg, loaded, panel_shown(loaded, cfg), as_json)


def train_shown(folder: Location, cfg: Settings, loaded, panel, as_json: bool, show: bool = True):
    from models.dataset import TrainingDataError
    from models.pipeline import train as run_train
    quiet_mlflow()
    bar, tick = with_bar("training")
    try:
        with bar:
            result = run_train(panel, run_inputs(loaded, cfg, folder), cfg.models, cfg.labels,
                               cfg.work_dir, progress=tick)
    except TrainingDataError as exc:
        raise fail(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps({
            "run_id": result.run_id, "tracking_uri": result.tracking_uri,
            "origin": f"{result.origin:%Y-%m-%d}", "versions": result.versions,
            "promoted": {m: d.promote for m, d in result.decisions.items()},
            "provisional": {m: d.provisional for m, d in result.decisions.items()},
            "reasons": {m: d.reasons for m, d in result.decisions.items()},
            "skipped": result.skipped},
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
    for model, why in result.skipped.items():
        lines.append(f"{model}: not trained: {why}. Scores and the dashboard go on without "
                     "the leaving risk.")
    me = invocation()
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


def retrain(
    data_dir: DataDir = None,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON "
                                          "line (for cron logs).")] = False,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """The monthly job, safe from cron: validate, build the panel, train and backtest the
    gate, promote or keep each champion, then rescore the newest month.

    Exit codes: 0 promoted, 0 kept the champion (the reasons are printed), 2 the data or
    settings are unusable, 3 training failed, 75 another retrain is running. On any
    failure nothing changes: aliases move only after the gate, snapshots are written
    atomically.
    """
    import fcntl

    cfg = with_engine(settings(), engine, spark_master)
    folder = data_folder(data_dir, cfg)
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    with open(cfg.work_dir / "retrain.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            errors.print(f"error: another retrain is running (lock "
                              f"{cfg.work_dir / 'retrain.lock'}); try again later")
            raise typer.Exit(RETRAIN_BUSY) from None
        loaded = validate_data(folder, cfg, as_of=parse_date(as_of), as_json=False, quiet=True)
        panel = panel_shown(loaded, cfg)
        try:
            result = train_shown(folder, cfg, loaded, panel, as_json=False, show=not as_json)
        except typer.Exit:
            raise
        except Exception as exc:  # training blew up: report; aliases have not moved
            errors.print(f"error: training failed: {type(exc).__name__}: {exc}",
                         highlight=False, markup=False)
            raise typer.Exit(3) from None
        try:
            recalibrated = _recalibrate_drifting(loaded, cfg, folder, result, panel)
        except Exception as exc:  # the champions keep their aliases: nothing moved
            errors.print(f"error: recalibration failed: {type(exc).__name__}: {exc}",
                         highlight=False, markup=False)
            raise typer.Exit(3) from None
        failpoint("retrain.trained")
        day = score_shown(loaded, cfg, None, None, show=not as_json, panel=panel)
    from serve.cli.notify import notify_after_scoring
    notified = notify_after_scoring(cfg, show=not as_json)
    promoted = [m for m, d in result.decisions.items() if d.promote]
    outcome = "promoted" if promoted else "kept"
    if as_json:
        sys.stdout.write(json.dumps({
            "outcome": outcome, "promoted": promoted, "run_id": result.run_id,
            "versions": result.versions, "snapshot": day, "recalibrated": recalibrated,
            "reasons": {m: d.reasons for m, d in result.decisions.items() if not d.promote},
            "skipped": result.skipped, "notified": notified},
            ensure_ascii=False) + "\n")
        return
    for model, version in recalibrated.items():
        console.print(f"Recalibrated the {model} champion on the newest matured months (its "
                      f"calibration drifted): now v{version}.")
    if promoted:
        console.print(f"Promoted: {', '.join(promoted)}. Rescored as of {day}.")
    else:
        console.print(f"Kept the champions (see the reasons above). Rescored as of {day}.")


def _recalibrate_drifting(loaded, cfg: Settings, folder: Location, result, panel
                          ) -> dict[str, str]:
    """Champions kept by the gate whose calibration drifts on the newest months get a
    calibrator refitted there (same booster): the classifiers (churn, decline, leave) on
    their matured months, the survival model's hazards on the person-periods it would
    calibrate on at the training origin (expected against observed losses). Returns
    model -> new version."""
    from features.panel import default_cutoffs
    from models.pipeline import recalibrate, register_recalibrated
    from models.survival import newest_periods, recalibrated_survival, survival_calibration
    from serve.batch.champions import SURVIVAL
    from serve.batch.scoring import (
        CHECKED_MODELS,
        Panels,
        calibration_check,
        matured_by_model,
        scoring_cutoff,
    )
    kept = [m for m in (*CHECKED_MODELS, SURVIVAL)
            if m in result.decisions and not result.decisions[m].promote]
    if not kept:
        return {}
    champions = champions_or_fail(cfg)
    inputs = functools.cache(lambda: run_inputs(loaded, cfg, folder))  # hashes the files
    out: dict[str, str] = {}
    classifiers = [m for m in kept if m in CHECKED_MODELS]
    if classifiers:
        cutoff = scoring_cutoff(loaded.tables, None)
        present = [m for m in CHECKED_MODELS if getattr(champions, m) is not None]
        matured = matured_by_model(loaded.tables, cutoff, cfg, present, Panels(
            loaded.tables, cfg, panel, default_cutoffs(loaded.tables)))
        check = calibration_check(loaded.tables, champions, cutoff, cfg, matured)
        for m in classifiers:
            if check.get(m, {}).get("drifting"):
                out[m] = recalibrate(getattr(champions, m), matured[m][matured[m][m].notna()],
                                     champions.versions[m], inputs(), cfg.models, cfg.work_dir)
    if SURVIVAL in kept and champions.survival is not None:
        periods = newest_periods(champions.survival, panel, result.origin, cfg.models,
                                 cfg.labels)
        if survival_calibration(champions.survival, periods,
                                cfg.scoring.calibration_tolerance)["drifting"]:
            out[SURVIVAL] = register_recalibrated(
                recalibrated_survival(champions.survival, periods, cfg.models), periods.rows,
                champions.versions[SURVIVAL], inputs(), cfg.models, cfg.work_dir)
    return out


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
    folder = data_folder(data_dir, cfg)
    loaded = validate_data(folder, cfg, as_of=parse_date(as_of), as_json=False, quiet=True)
    panel = panel_shown(loaded, cfg)
    quiet_mlflow()
    bar, tick = with_bar("backtest")
    try:
        with bar:
            inputs = run_inputs(loaded, cfg, folder)
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
    from serve.batch.alerts_doc import render_alerts_doc
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
    quiet_mlflow()
    configure(cfg.models.tracking, cfg.work_dir)
    name = registered_name(cfg.models.tracking, model)
    try:
        previous = set_champion(name, version, reason)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    console.print(f"{name} version {version} is now champion (was: {previous or 'none'}); "
                  f"reason recorded: {reason}")


