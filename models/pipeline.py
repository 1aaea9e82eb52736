"""The `train` and `backtest` runs: fit, evaluate, explain, and track it all in MLflow.

One parent run per command with a child run per model. Every run records what is needed
to repeat it: the effective settings, the package version and git commit, the data
fingerprint and the seed.
"""

from __future__ import annotations

import json
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from features.failpoints import failpoint
from features.settings import LabelSettings
from models import plots
from models.backtest import (
    Backtest,
    evaluation_origins,
    fittable_origins,
    headline,
    metrics_table,
    run_backtest,
)
from models.bundle import ClassifierBundle, SurvivalBundle
from models.calibration import fit_calibrator
from models.card import render_card
from models.dataset import TARGETS, TrainingDataError, known_cutoffs
from models.explain import grouped_contributions
from models.fidelity import cause_hits, fidelity_table, rows_for_churners
from models.gate import Decision, decide
from models.settings import ModelSettings
from models.survival import LABEL as SURVIVAL_LABEL
from models.survival import (
    SURVIVAL,
    fit_survival,
    run_survival_backtest,
    survival_origins,
    survival_table,
    training_cutoffs,
)
from models.tracking import (
    CHAMPION,
    METRIC_TAG,
    PROVISIONAL_TAG,
    alias_metrics,
    configure,
    log_bundle,
    record_outcome,
    registered_name,
)
from models.training import CLASSIFIERS, LEAVE_MODELS, MODELS, fit_models

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RunInputs:
    """What a run was given besides the panel: logged so the run can be repeated."""

    settings: dict
    fingerprint: dict
    data_dir: str


@dataclass
class TrainResult:
    run_id: str
    origin: pd.Timestamp
    versions: dict[str, str]
    decisions: dict[str, Decision]
    table: pd.DataFrame
    tracking_uri: str
    skipped: dict[str, str] = field(default_factory=dict)
    """Optional model -> why it was not trained (the leave model on a short history)."""


@dataclass
class BacktestResult:
    run_id: str
    backtest: Backtest
    table: pd.DataFrame
    fidelity: pd.DataFrame | None
    card: str
    tracking_uri: str
    hits: pd.DataFrame | None = field(default=None)


def provenance() -> dict[str, str]:
    try:
        pkg = version("dealer-risk")
    except PackageNotFoundError:
        pkg = "unknown"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"package_version": pkg, "git_commit": commit or "unknown",
            "python": platform.python_version(), "lightgbm": version("lightgbm"),
            "mlflow": version("mlflow")}


def flatten(values: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= flatten(value, f"{name}.")
        else:
            out[name] = json.dumps(value, ensure_ascii=False, default=str)[:6000]
    return out


def newest_origin(panel: pd.DataFrame) -> pd.Timestamp:
    """The cutoff a retrain today serves: the panel's newest."""
    return pd.Timestamp(panel["cutoff"].max())


def _start_parent(kind: str, inputs: RunInputs, settings: ModelSettings):
    run = mlflow.start_run(run_name=kind)
    prov = provenance()
    mlflow.set_tags({"dealer_risk.command": kind, "data.sha256": inputs.fingerprint["sha256"],
                     "data.dir": inputs.data_dir, "seed": str(settings.seed),
                     **{f"code.{k}": v for k, v in prov.items()}})
    mlflow.log_params(flatten(inputs.settings))
    mlflow.log_dict(inputs.settings, "settings.json")
    mlflow.log_dict(inputs.fingerprint, "data_fingerprint.json")
    mlflow.log_dict(prov, "provenance.json")
    return run


def _log_table(table: pd.DataFrame, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        table.to_csv(path, index=False)
        mlflow.log_artifact(str(path))


def _log_figure(fig, name: str) -> None:
    mlflow.log_figure(fig, name)
    plots.close(fig)


def _metric_key(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-/ " else "_" for c in text)


def _log_model_metrics(table: pd.DataFrame, model: str, model_id: str | None = None) -> None:
    """Pooled metrics of the model and its baselines, per origin as steps, and per segment:
    in one batch (MLflow splits it into its own chunks); one call per metric cost about
    14 s of every `train` on two thousand metrics. The model's own pooled metrics are
    linked to its logged model (`model_id`), which the MLflow UI shows beside it; logged
    after the model, because MLflow 3 otherwise reads back every metric's history to link
    it (another 4.5 s)."""
    from mlflow.entities import Metric
    rows = table[table["model"] == model]
    numeric = [c for c in rows.columns if c not in ("model", "predictor", "origin", "segment")]
    origins = sorted(o for o in rows["origin"].unique() if o != "pooled")
    stamp = int(time.time() * 1000)
    metrics = []
    for _, row in rows.iterrows():
        prefix = "" if row["predictor"] == "model" else f"{row['predictor']}."
        for metric in numeric:
            value = row[metric]
            if not np.isfinite(value):
                continue
            linked = None
            if row["origin"] == "pooled" and row["segment"] == "all":
                key, step = f"{prefix}{metric}", 0
                linked = model_id if not prefix else None
            elif row["origin"] == "pooled":
                key, step = f"{prefix}{metric}.{row['segment']}", 0
            else:
                key, step = f"{prefix}{metric}.per_origin", origins.index(row["origin"])
            metrics.append(Metric(_metric_key(key), float(value), stamp, step,
                                  model_id=linked))
    if metrics:
        MlflowClient().log_batch(mlflow.active_run().info.run_id, metrics=metrics)


def _log_charts(bt: Backtest, model: str, bundle, panel: pd.DataFrame) -> None:
    if model in CLASSIFIERS:
        frame = bt.classifiers[bt.classifiers["model"] == model]
        _log_figure(plots.calibration_curve(frame, model), "calibration_curve.png")
        _log_figure(plots.gain_chart(frame, model), "gain_chart.png")
    newest = panel[panel["cutoff"] == panel["cutoff"].max()]
    groups = grouped_contributions(bundle, bundle.contributions(newest))
    _log_figure(plots.grouped_shap_summary(groups, model), "shap_summary_grouped.png")
    booster = bundle.booster if model in CLASSIFIERS else bundle.mean
    _log_figure(plots.importance(booster, model), "feature_importance.png")


def train(panel: pd.DataFrame, inputs: RunInputs, settings: ModelSettings,
          labels: LabelSettings, work_dir: Path, *, progress: Progress | None = None
          ) -> TrainResult:
    """Backtest the newest origins for the gate, fit at the newest cutoff, register, gate."""
    uri = configure(settings.tracking, work_dir)
    origin = newest_origin(panel)
    gate_origins = evaluation_origins(panel, settings.backtest.gate_origins)
    steps = len(gate_origins) + 2

    def tick(step: str, i: int) -> None:
        if progress:
            progress(step, i, steps)

    bt = run_backtest(panel, settings, labels, gate_origins,
                      progress=lambda s, i, n: tick(f"gate backtest {s}", i))
    backtests = {m: bt for m in MODELS}
    table = metrics_table(bt, settings)
    tick("final models", len(gate_origins))
    bundles = fit_models(panel, origin, settings, labels,
                         progress=lambda m: tick(f"final model: {m}", len(gate_origins)))
    skipped: dict[str, str] = {}
    for model in LEAVE_MODELS:
        tick(f"final model: {model}", len(gate_origins))
        try:
            leave_bt, bundles[model] = _optional_model(panel, model, origin, settings, labels)
        except TrainingDataError as exc:
            skipped[model] = str(exc)
            continue
        backtests[model] = leave_bt
        table = pd.concat([table, metrics_table(leave_bt, settings)], ignore_index=True)
    tick(f"final model: {SURVIVAL}", len(gate_origins))
    try:
        survival_bt, bundles[SURVIVAL] = _survival_model(panel, origin, settings, labels)
        table = pd.concat([table, survival_table(survival_bt, settings)], ignore_index=True)
    except TrainingDataError as exc:
        skipped[SURVIVAL] = str(exc)
    heads = headline(table)
    tick("registering", len(gate_origins) + 1)
    versions, decisions = {}, {}
    with _start_parent("train", inputs, settings) as parent:
        mlflow.set_tag("origin", f"{origin:%Y-%m-%d}")
        _log_table(table, "gate_backtest.csv")
        mlflow.log_text(render_card(table, bt, None, settings, labels, inputs.fingerprint,
                                    provenance()), "model_card.md")
        if skipped:
            mlflow.log_dict(skipped, "skipped_models.json")
        for model in (m for m in (*MODELS, *LEAVE_MODELS, SURVIVAL) if m in bundles):
            with mlflow.start_run(run_name=model, nested=True):
                mlflow.set_tag("model", model)
                mlflow.log_dict(bundles[model].metadata, "bundle_metadata.json")
                name = registered_name(settings.tracking, model)
                champion = alias_metrics(name)
                mv = log_bundle(bundles[model], _train_rows(panel, model, origin, settings,
                                                            labels), name)
                _log_model_metrics(table, model, mv.logged_model_id)
                if model != SURVIVAL:
                    _log_charts(backtests[model], model, bundles[model], panel)
                failpoint("train.registered")
                decision = decide(model, table, heads.get(model, {}), champion,
                                  settings.gate, settings.forecast.interval)
                record_outcome(name, mv.version, heads.get(model, {}), decision)
                failpoint("train.promoted")
                mlflow.set_tags({"gate": "provisional" if decision.provisional else
                                 "promoted" if decision.promote else "refused",
                                 "registered_version": mv.version})
                versions[model], decisions[model] = str(mv.version), decision
        mlflow.log_text("\n".join(d.summary() for d in decisions.values()), "gate.txt")
        run_id = parent.info.run_id
    tick("done", steps)
    return TrainResult(run_id=run_id, origin=origin, versions=versions, decisions=decisions,
                       table=table, tracking_uri=uri, skipped=skipped)


def _train_rows(panel: pd.DataFrame, model: str, origin: pd.Timestamp,
                settings: ModelSettings, labels: LabelSettings) -> pd.DataFrame:
    """The rows a final model learned from (its MLflow input example comes from them)."""
    if model == SURVIVAL:
        return panel[panel["cutoff"].isin(training_cutoffs(panel, origin, settings, labels))
                     & panel[SURVIVAL_LABEL].notna()]
    return panel[panel["cutoff"].isin(known_cutoffs(panel, model, origin, labels))
                 & panel[TARGETS[model]].notna()]


def _survival_model(panel: pd.DataFrame, origin: pd.Timestamp, settings: ModelSettings,
                    labels: LabelSettings):
    """The survival model's gate backtest (at the newest origins whose dealers the data
    follows for the whole horizon) and its final fit at `origin`; TrainingDataError when
    the history is too short."""
    origins = survival_origins(panel, settings.survival.gate_origins, settings, labels)
    bt = run_survival_backtest(panel, settings, labels, origins)
    return bt, fit_survival(panel, origin, settings, labels)


def _optional_model(panel: pd.DataFrame, model: str, origin: pd.Timestamp,
                    settings: ModelSettings, labels: LabelSettings):
    """An optional model's gate backtest (at the newest origins where its label is complete
    and it can be fitted: the leave label matures months after the others) and its final
    fit at `origin`. TrainingDataError, saying what is missing, when the history is too
    short for either."""
    origins = fittable_origins(panel, model, settings.backtest.gate_origins, settings, labels)
    if not len(origins):
        raise TrainingDataError(
            f"{model}: no cutoff has its label complete with enough labelled cutoffs before "
            f"it to fit on; the {model} label is known {labels.leave.confirm_months} months "
            "after the churn label, so it needs about a year more history than the others")
    bt = run_backtest(panel, settings, labels, origins, models=(model,))
    return bt, fit_models(panel, origin, settings, labels, models=(model,))[model]


def backtest(panel: pd.DataFrame, inputs: RunInputs, settings: ModelSettings,
             labels: LabelSettings, work_dir: Path, *, churners: pd.DataFrame | None = None,
             cause_groups: dict | None = None, progress: Progress | None = None,
             min_peer_group: int) -> BacktestResult:
    """Rolling-origin backtest over `settings.backtest.origins` monthly origins."""
    uri = configure(settings.tracking, work_dir)
    bt = run_backtest(panel, settings, labels, progress=progress)
    table = metrics_table(bt, settings)
    hits = fidelity = None
    if churners is not None and cause_groups:
        hits = explanation_fidelity(panel, bt, churners, cause_groups, settings,
                                    min_peer_group)
        fidelity = fidelity_table(hits)
    survival_origins_ = survival_origins(panel, settings.backtest.origins, settings, labels)
    if len(survival_origins_):  # a history too short for it: the card says so
        if progress:
            progress(f"{SURVIVAL} at {len(survival_origins_)} origins", len(bt.origins),
                     len(bt.origins))
        survival_bt = run_survival_backtest(panel, settings, labels, survival_origins_)
        table = pd.concat([table, survival_table(survival_bt, settings)], ignore_index=True)
    card = render_card(table, bt, fidelity, settings, labels, inputs.fingerprint,
                       provenance())
    with _start_parent("backtest", inputs, settings) as parent:
        mlflow.set_tag("origins", ", ".join(f"{o:%Y-%m-%d}" for o in bt.origins))
        _log_table(table, "backtest.csv")
        _log_table(bt.calibration, "calibration_methods.csv")
        mlflow.log_text(card, "model_card.md")
        if fidelity is not None:
            _log_table(fidelity, "explanation_fidelity.csv")
            _log_table(hits, "explanation_fidelity_rows.csv")
        newest = bt.origins[-1]
        for model in MODELS:
            with mlflow.start_run(run_name=model, nested=True):
                mlflow.set_tag("model", model)
                _log_model_metrics(table, model)
                _log_charts(bt, model, bt.bundles[newest][model], panel)
                if model == "churn" and fidelity is not None:
                    for _, row in fidelity.iterrows():
                        mlflow.log_metric(_metric_key(f"fidelity.{row['cause']}"),
                                          float(row["hit_rate"]))
        if (table["model"] == SURVIVAL).any():
            with mlflow.start_run(run_name=SURVIVAL, nested=True):
                mlflow.set_tag("model", SURVIVAL)
                _log_model_metrics(table, SURVIVAL)
        run_id = parent.info.run_id
    return BacktestResult(run_id=run_id, backtest=bt, table=table, fidelity=fidelity,
                          card=card, tracking_uri=uri, hits=hits)


def explanation_fidelity(panel: pd.DataFrame, bt: Backtest, churners: pd.DataFrame,
                         cause_groups: dict, settings: ModelSettings,
                         min_peer_group: int) -> pd.DataFrame:
    """Each churner explained by the newest backtest model fitted on or before its last
    cutoff, on that (out-of-sample) row, against the dealers active at that cutoff."""
    parts = []
    origins = list(bt.origins)
    for i, origin in enumerate(origins):
        end = origins[i + 1] if i + 1 < len(origins) else origin + pd.DateOffset(months=1)
        rows = rows_for_churners(panel, churners, origin, end, cause_groups)
        if len(rows):
            population = panel[panel["cutoff"].isin(rows["cutoff"].unique())
                               & (panel["active"] | panel["dealer_id"].isin(rows["dealer_id"]))]
            parts.append(cause_hits(bt.bundles[origin]["churn"], rows, rows["cause"],
                                    cause_groups, settings.explain.top_factors,
                                    population=population,
                                    peer_keys=settings.explain.peer_keys,
                                    min_peer_group=min_peer_group))
    if not parts:
        return pd.DataFrame(columns=["dealer_id", "cutoff", "cause", "top_groups", "hit"])
    return pd.concat(parts, ignore_index=True)


def recalibrate(bundle: ClassifierBundle, rows: pd.DataFrame, version: str, inputs: RunInputs,
                settings: ModelSettings, work_dir: Path) -> str:
    """A champion whose calibration drifts, refitted on the newest matured months: the same
    booster (the same ranking and reasons) with a new calibrator, registered as a new
    version and made champion, with where it came from. `rows`: the active dealers of those
    months, labels known. Returns the new version."""
    target = TARGETS[bundle.model]
    y = rows[target].to_numpy(dtype=float)
    calibrator, _ = fit_calibrator(bundle.margin(rows), y, rows["cutoff"].to_numpy(),
                                   settings.calibration.method)
    months = sorted(pd.to_datetime(rows["cutoff"]).unique())
    fresh = replace(bundle, calibrator=calibrator, metadata={
        **bundle.metadata,
        "recalibration_cutoffs": [f"{months[0]:%Y-%m-%d}", f"{months[-1]:%Y-%m-%d}"]})
    return register_recalibrated(fresh, rows, version, inputs, settings, work_dir)


def register_recalibrated(fresh: ClassifierBundle | SurvivalBundle, rows: pd.DataFrame,
                          version: str, inputs: RunInputs, settings: ModelSettings,
                          work_dir: Path) -> str:
    """Register `fresh` (a champion with a refitted calibrator: a classifier, or the
    survival model's hazards, models.survival.recalibrated_survival) as a new version made
    champion, tagged with the version it came from and carrying its gate metrics. `rows`:
    what it was refitted on (the signature's example). Returns the new version."""
    configure(settings.tracking, work_dir)
    fresh = replace(fresh, metadata={**fresh.metadata, "recalibrated_from": version})
    name = registered_name(settings.tracking, fresh.model)
    with _start_parent("recalibrate", inputs, settings):
        mlflow.set_tags({"model": fresh.model, "recalibrated_from": version})
        mv = log_bundle(fresh, rows, name)
    client = MlflowClient()
    client.set_model_version_tag(name, mv.version, "recalibrated_from", version)
    for key, value in MlflowClient().get_model_version(name, version).tags.items():
        if key.startswith(METRIC_TAG) or key == PROVISIONAL_TAG:
            client.set_model_version_tag(name, mv.version, key, value)
    client.set_model_version_tag(name, mv.version, "gate", "recalibrated")
    client.set_registered_model_alias(name, CHAMPION, mv.version)
    return str(mv.version)
