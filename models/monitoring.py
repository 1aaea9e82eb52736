"""Is the champion still fit for the data? Drift of the inputs and scores since training, and
how past scores (and past survival curves, month by month) turned out once their horizon
passed.

Pure functions over DataFrames; `dealer-risk monitor` (serve/cli/) reads the data, the
champions and the snapshots, and logs what these return to MLflow.

Population stability index (PSI): sum over bins of (current share - reference share) x
ln(current share / reference share), with bins at the reference's deciles (numeric
features; a bin of its own for missing values) or at its categories. The usual reading:
under 0.1 stable, 0.1-0.25 moving, over 0.25 shifted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.settings import LabelSettings
from models.metrics import classification_metrics
from models.survival import LABEL, follow_up

EPSILON = 1e-4
"""Share given to an empty bin, so a bin seen on one side only counts but stays finite."""


def _psi_from_counts(ref: np.ndarray, cur: np.ndarray) -> float:
    if ref.sum() == 0 or cur.sum() == 0:
        return float("nan")
    r = np.maximum(ref / ref.sum(), EPSILON)
    c = np.maximum(cur / cur.sum(), EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def psi(reference: pd.Series, current: pd.Series, bins: int = 10) -> float:
    """PSI of one column, numeric or categorical."""
    if not pd.api.types.is_numeric_dtype(reference) or pd.api.types.is_bool_dtype(reference):
        ref = reference.astype("string").fillna("<missing>")
        cur = current.astype("string").fillna("<missing>")
        cats = sorted(set(ref) | set(cur))
        return _psi_from_counts(ref.value_counts().reindex(cats, fill_value=0).to_numpy(),
                                cur.value_counts().reindex(cats, fill_value=0).to_numpy())
    ref = reference.to_numpy(dtype=float)
    cur = current.to_numpy(dtype=float)
    known = ref[~np.isnan(ref)]
    if not len(known):
        edges = np.array([-np.inf, np.inf])
    else:
        inner = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]))
        edges = np.concatenate([[-np.inf], inner, [np.inf]])

    def counts(values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        hist = np.histogram(values[~missing], bins=edges)[0]
        return np.append(hist, missing.sum())

    return _psi_from_counts(counts(ref), counts(cur))


def drift_table(reference: pd.DataFrame, current: pd.DataFrame, columns: Iterable[str],
                bins: int = 10, groups: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per column: PSI, missing shares and medians on both sides; worst first."""
    rows = []
    for col in columns:
        r, c = reference[col], current[col]
        numeric = pd.api.types.is_numeric_dtype(r) and not pd.api.types.is_bool_dtype(r)
        rows.append({
            "column": col, "group": (groups or {}).get(col, ""), "psi": psi(r, c, bins),
            "reference_missing": float(r.isna().mean()), "current_missing": float(
                c.isna().mean()),
            "reference_median": float(r.median()) if numeric and r.notna().any() else None,
            "current_median": float(c.median()) if numeric and c.notna().any() else None})
    return pd.DataFrame(rows).sort_values("psi", ascending=False, na_position="last",
                                          kind="stable").reset_index(drop=True)


def drift_status(value: float, warn: float, alert: float) -> str:
    if value is None or np.isnan(value):
        return "unknown"
    return "shifted" if value >= alert else "moving" if value >= warn else "stable"


MONITORED = ("churn", "decline", "leave")
"""The classifiers whose past scores are judged once their labels are known (the leave
label a year after its snapshot: 3 months' horizon, then 9 of silence to confirm it)."""


MATURED_COLUMNS = ["as_of", "model", "segment", "value", "rows", "predicted_rate",
                   "realized_rate", "roc_auc", "brier", "ece"]


def matured_performance(predictions: pd.DataFrame, outcomes: pd.DataFrame,
                        segments: Iterable[str], *, bins: int, min_rows: int,
                        top_share: float) -> pd.DataFrame:
    """How past scores turned out: per snapshot, model and segment (all dealers, then each
    value of each segment column), the mean predicted probability against the realized
    rate, ROC AUC, Brier and calibration error.

    `predictions`: dealer_id, as_of, <model>_probability and the segment columns (a score
    snapshot). `outcomes`: dealer_id, cutoff and the labels (the panel); only rows whose
    label is now known count. Segments with fewer than `min_rows` rows are left out.
    """
    keyed = _keyed(outcomes)
    rows = []
    for model in MONITORED:
        if model not in keyed.columns or f"{model}_probability" not in predictions.columns:
            continue  # no leave model scored these snapshots (older ones lack the column;
            # newer ones scored without it leave it empty: _judged drops those rows)
        known = keyed.loc[keyed[model].notna(), ["dealer_id", "as_of", model]]
        joined = _keyed(predictions).merge(known, on=["dealer_id", "as_of"], how="inner")
        rows += _judged(joined.rename(columns={model: "outcome",
                                               f"{model}_probability": "predicted"}),
                        model, segments, bins=bins, min_rows=min_rows, top_share=top_share)
    return pd.DataFrame(rows, columns=MATURED_COLUMNS)


def survival_model(month: int) -> str:
    """The name under which the survival curves' month `month` is judged: "survival_3m"."""
    return f"survival_{month}m"


def survival_month(model: str) -> int | None:
    """The month a matured row of the survival curves judges ("survival_3m": 3); None for
    the classifiers' rows."""
    found = re.fullmatch(r"survival_(\d+)m", model)
    return int(found.group(1)) if found else None


def matured_survival(predictions: pd.DataFrame, outcomes: pd.DataFrame, end: pd.Timestamp,
                     labels: LabelSettings, months: Iterable[int], segments: Iterable[str],
                     *, bins: int, min_rows: int, top_share: float) -> pd.DataFrame:
    """How past survival curves turned out, in the rows of matured_performance: per
    snapshot and report month k whose outcome the data up to `end` settles (k months
    followed, plus the `leave.confirm_months` of silence that confirm a loss), the chance of
    being gone within k months the curve gave (1 - S(k)) against the share that was.

    `predictions`: a score snapshot (dealer_id, as_of, survival_curve as JSON, "[]" without
    a survival model, and the segments). `outcomes`: the panel's dealer_id, cutoff and
    leave_month (models.survival.LABEL: inf when never gone, NaN outside the population)."""
    if "survival_curve" not in predictions.columns or LABEL not in outcomes.columns:
        return pd.DataFrame(columns=MATURED_COLUMNS)
    curves = [json.loads(c) if isinstance(c, str) else [] for c in predictions["survival_curve"]]
    known = _keyed(outcomes).loc[lambda o: o[LABEL].notna(), ["dealer_id", "as_of", LABEL]]
    followed = follow_up(pd.to_datetime(known["as_of"]), end, labels)
    rows = []
    for month in months:
        predicted = np.array([1.0 - c[month - 1] if len(c) >= month else np.nan
                              for c in curves])
        scored = _keyed(predictions).assign(predicted=predicted).dropna(subset=["predicted"])
        settled = known[followed >= month]
        joined = scored.merge(settled, on=["dealer_id", "as_of"], how="inner")
        joined["outcome"] = (joined[LABEL] <= month).astype(float)
        rows += _judged(joined, survival_model(month), segments, bins=bins,
                        min_rows=min_rows, top_share=top_share)
    return pd.DataFrame(rows, columns=MATURED_COLUMNS)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows keyed by text dealer_id and as_of (a panel's cutoff as YYYY-MM-DD)."""
    out = frame.assign(dealer_id=frame["dealer_id"].astype(str))
    if "as_of" not in out.columns:
        out["as_of"] = pd.to_datetime(out["cutoff"]).dt.strftime("%Y-%m-%d")
    return out


def _judged(joined: pd.DataFrame, model: str, segments: Iterable[str], *, bins: int,
            min_rows: int, top_share: float) -> list[dict]:
    """Per snapshot and segment of `joined` (its columns `predicted` and `outcome`): the
    rows of the matured table."""
    rows = []
    joined = joined[joined["predicted"].notna()]  # a snapshot scored without that model
    for as_of, snap in joined.groupby("as_of", sort=True):
        parts = [("all", "all", snap)] + [
            (seg, str(value), part) for seg in segments
            for value, part in snap.groupby(seg, sort=True)]
        for segment, value, part in parts:
            if len(part) < min_rows:
                continue
            y = part["outcome"].to_numpy(dtype=float)
            p = part["predicted"].to_numpy(dtype=float)
            m = classification_metrics(y, p, np.zeros(len(y)), top_share=top_share, bins=bins)
            rows.append({"as_of": as_of, "model": model, "segment": segment, "value": value,
                         "rows": len(part), "predicted_rate": float(p.mean()),
                         "realized_rate": m["rate"], "roc_auc": m.get("roc_auc", np.nan),
                         "brier": m.get("brier", np.nan), "ece": m.get("ece", np.nan)})
    return rows
