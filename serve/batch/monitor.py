"""`dealer-risk monitor`: the champions against today's data, and past snapshots against what
happened. The numbers come from models/monitoring.py; this module picks the rows, logs the
result to MLflow and writes `<work_dir>/monitor/latest.json` for the dashboard.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from features.catalog import BY_NAME
from features.io import write_text_atomically
from features.panel import feature_columns
from models.monitoring import (
    MONITORED,
    drift_status,
    drift_table,
    matured_performance,
    matured_survival,
    survival_month,
)
from models.pipeline import provenance
from models.survival import LABEL
from serve.batch.champions import Champions
from serve.batch.snapshots import list_snapshots, read_snapshot
from serve.settings import Settings

MONITOR_DIR = "monitor"
LATEST = "latest.json"
SEGMENTS = ("region", "tier", "channel", "stage")
CALENDAR_GROUPS = ("season",)
"""Features of the calendar (month, festival): one month always differs from a year's mix."""


def reference_rows(panel: pd.DataFrame, champions: Champions, months: int) -> pd.DataFrame:
    """Active rows of the newest `months` cutoffs the champion churn model learned from
    (its metadata: fit, early-stopping and calibration cutoffs)."""
    meta = champions.reference.metadata
    last = pd.Timestamp(meta["calibration_cutoffs"][1])
    first = max(pd.Timestamp(meta["fit_cutoffs"][0]),
                last - pd.DateOffset(months=months - 1))
    cut = panel["cutoff"]
    return panel[(cut >= first) & (cut <= last) & panel["active"]].reset_index(drop=True)


def monitor(panel: pd.DataFrame, champions: Champions, settings: Settings) -> dict:
    """Feature and score drift at the panel's newest cutoff against the training rows, and
    the matured performance of every snapshot on disk whose labels are now known."""
    cfg = settings.models.monitor
    newest = panel["cutoff"].max()
    current = panel[(panel["cutoff"] == newest) & panel["active"]].reset_index(drop=True)
    reference = reference_rows(panel, champions, cfg.reference_months)
    columns = [c for c in feature_columns(panel) if c in reference.columns
               and (c not in BY_NAME or BY_NAME[c].group not in CALENDAR_GROUPS)]
    features = drift_table(reference, current, columns, cfg.bins,
                           {c: BY_NAME[c].group for c in columns if c in BY_NAME})
    ref_scores, cur_scores = ({f"{m}_probability": getattr(champions, m).predict(rows)
                               for m in MONITORED if getattr(champions, m, None)}
                              for rows in (reference, current))
    score_rows = drift_table(pd.DataFrame(ref_scores), pd.DataFrame(cur_scores),
                             list(ref_scores), cfg.bins)
    snapshots = [read_snapshot(settings.work_dir, d) for d in list_snapshots(settings.work_dir)]
    predictions = pd.concat(snapshots, ignore_index=True) if snapshots else pd.DataFrame(
        columns=["dealer_id", "as_of", "churn_probability", "decline_probability",
                 *SEGMENTS])
    segments = [s for s in SEGMENTS if s in predictions.columns]
    judged = {"bins": cfg.bins, "min_rows": cfg.min_rows,
              "top_share": settings.models.backtest.top_share}
    matured = matured_performance(
        predictions, panel[["dealer_id", "cutoff",
                            *(m for m in MONITORED if m in panel.columns)]],
        segments, **judged)
    if LABEL in panel.columns:  # the survival curves, at each report month settled
        matured = pd.concat([matured, matured_survival(
            predictions, panel[["dealer_id", "cutoff", LABEL]], newest, settings.labels,
            settings.models.survival.report_months, segments, **judged)],
            ignore_index=True)
    matured["in_sample"] = _in_sample(matured, snapshots, champions)
    predicted = pd.to_numeric(matured["predicted_rate"], errors="coerce").astype(float)
    realized = pd.to_numeric(matured["realized_rate"], errors="coerce").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = predicted / realized - 1
    gap = gap.where(np.isfinite(gap))
    matured["calibration_gap"] = gap
    tolerance = settings.scoring.calibration_tolerance
    matured["calibration"] = np.where(gap.abs() > tolerance, "drifting", "ok")
    for table in (features, score_rows):
        table["status"] = [drift_status(v, cfg.psi_warn, cfg.psi_alert) for v in table["psi"]]
    return {
        "as_of": f"{newest:%Y-%m-%d}",
        "reference": {"from": f"{reference['cutoff'].min():%Y-%m-%d}",
                      "to": f"{reference['cutoff'].max():%Y-%m-%d}", "rows": len(reference)},
        "current_rows": len(current), "model_versions": champions.versions,
        "thresholds": {"psi_warn": cfg.psi_warn, "psi_alert": cfg.psi_alert},
        "scores": score_rows.to_dict("records"),
        "features": features.to_dict("records"),
        "matured": matured.to_dict("records"),
        "shifted": [r["column"] for r in (*score_rows.to_dict("records"),
                                          *features.to_dict("records"))
                    if r["status"] == "shifted"],
        "calibration_tolerance": tolerance,
        "calibration_drifting": _drifting(matured, lambda m: m in MONITORED),
        "survival_drifting": _drifting(matured, lambda m: survival_month(m) is not None),
    }


def _drifting(matured: pd.DataFrame, which) -> list[str]:
    """"<model> <as_of>" of every snapshot whose mean predicted rate is beyond the
    tolerance of the realized one, all dealers, for the models `which` accepts."""
    return sorted({f"{r['model']} {r['as_of']}" for r in matured.to_dict("records")
                   if r["segment"] == "all" and r["calibration"] == "drifting"
                   and which(r["model"])})


def _in_sample(matured: pd.DataFrame, snapshots: list[pd.DataFrame],
               champions: Champions) -> list[bool | None]:
    """Whether the model that scored a snapshot had learned from that month's outcome (a
    backfilled snapshot scored by today's champion): its performance is then optimistic.
    None when the scoring version is no longer the champion (its window is not at hand)."""
    versions = {str(s["as_of"].iloc[0]): json.loads(s["model_versions"].iloc[0])
                for s in snapshots if len(s)}
    out: list[bool | None] = []
    for row in matured.itertuples():
        name = "survival" if survival_month(row.model) is not None else row.model
        model = getattr(champions, name, None)
        if model is None or versions.get(row.as_of, {}).get(name) != \
                champions.versions.get(name):
            out.append(None)
        elif name == "survival":  # it learned from every cutoff it was followed from
            out.append(row.as_of <= max(model.metadata["cutoffs"]))
        else:
            out.append(row.as_of <= model.metadata["calibration_cutoffs"][1])
    return out


def log_and_write(report: dict, inputs, settings: Settings) -> tuple[str, Path]:
    """One MLflow run (tag dealer_risk.command=monitor) with the PSI and matured metrics,
    and the report as JSON in the work directory (written atomically)."""
    with mlflow.start_run(run_name="monitor") as run:
        mlflow.set_tags({"dealer_risk.command": "monitor", "as_of": report["as_of"],
                         "data.sha256": inputs.fingerprint["sha256"],
                         **{f"code.{k}": v for k, v in provenance().items()},
                         **{f"champion.{m}": v for m, v in report["model_versions"].items()}})
        for row in report["scores"]:
            mlflow.log_metric(f"psi.{row['column']}", row["psi"])
        psis = [r["psi"] for r in report["features"] if r["psi"] == r["psi"]]
        if psis:
            mlflow.log_metric("psi.features_max", max(psis))
            mlflow.log_metric("psi.features_shifted",
                              sum(p >= settings.models.monitor.psi_alert for p in psis))
        for row in report["matured"]:
            if row["segment"] == "all":
                step = int(pd.Timestamp(row["as_of"]).strftime("%Y%m"))
                for metric in ("roc_auc", "ece", "predicted_rate", "realized_rate"):
                    if row[metric] == row[metric]:
                        mlflow.log_metric(f"matured.{row['model']}.{metric}", row[metric],
                                          step=step)
        mlflow.log_dict(report, "monitor.json")
        run_id = run.info.run_id
    report = {**report, "run_id": run_id}
    folder = settings.work_dir / MONITOR_DIR
    text = json.dumps(report, ensure_ascii=False, indent=1, default=str)
    write_text_atomically(text, folder / f"{report['as_of']}.json")
    return run_id, write_text_atomically(text, folder / LATEST)


def read_latest(work_dir: Path) -> dict | None:
    path = work_dir / MONITOR_DIR / LATEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
