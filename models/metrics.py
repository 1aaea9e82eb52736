"""Backtest metrics: how well scores rank, how honest they are as percentages, and what a
manager calling the top of the list would catch; for the forecast, error and coverage."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

HIGHER_IS_BETTER = {"roc_auc": True, "pr_auc": True, "brier": False, "log_loss": False,
                    "ece": False, "top_lift": True, "top_precision": True,
                    "top_revenue_captured": True, "wape": False, "mae": False,
                    "pinball_lo": False, "pinball_hi": False, "coverage_error": False,
                    "uno_c": True, "ibs": False, "d_calibration_p": True}


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean score| over equal-width score bins, weighted by rows."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.sum() * abs(y[m].mean() - p[m].mean())
    return float(total / len(y))


def top_mask(p: np.ndarray, share: float) -> np.ndarray:
    """The highest-scored `share` of rows (ties broken by position, deterministically)."""
    k = max(1, int(round(share * len(p))))
    order = np.argsort(-p, kind="stable")
    mask = np.zeros(len(p), dtype=bool)
    mask[order[:k]] = True
    return mask


def classification_metrics(y: np.ndarray, p: np.ndarray, revenue: np.ndarray, *,
                           top_share: float, bins: int) -> dict[str, float]:
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    out = {"rows": float(len(y)), "positives": float(y.sum()),
           "rate": float(y.mean()) if len(y) else np.nan}
    if len(y) == 0 or y.min() == y.max():
        return out | dict.fromkeys(("roc_auc", "pr_auc", "brier", "log_loss", "ece",
                                    "top_lift", "top_precision", "top_revenue_captured"),
                                   np.nan)
    top = top_mask(p, top_share)
    churned_revenue = np.maximum(revenue, 0) * y
    return out | {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p, bins),
        "top_precision": float(y[top].mean()),
        "top_lift": float(y[top].mean() / y.mean()),
        "top_revenue_captured": float(churned_revenue[top].sum() / churned_revenue.sum())
        if churned_revenue.sum() > 0 else np.nan,
    }


def pinball(y: np.ndarray, q: np.ndarray, alpha: float) -> float:
    diff = y - q
    return float(np.mean(np.maximum(alpha * diff, (alpha - 1) * diff)))


def forecast_metrics(y: np.ndarray, point: np.ndarray, lo: np.ndarray | None = None,
                     hi: np.ndarray | None = None, interval: tuple[float, float] = (0.1, 0.9)
                     ) -> dict[str, float]:
    y, point = np.asarray(y, dtype=float), np.asarray(point, dtype=float)
    total = np.abs(y).sum()
    out = {"rows": float(len(y)),
           "wape": float(np.abs(y - point).sum() / total) if total > 0 else np.nan,
           "mae": float(np.abs(y - point).mean()),
           "predicted_over_actual": float(point.sum() / y.sum()) if y.sum() else np.nan}
    if lo is not None and hi is not None:
        covered = float(np.mean((y >= lo) & (y <= hi)))
        out |= {"pinball_lo": pinball(y, lo, interval[0]), "pinball_hi": pinball(y, hi,
                                                                                interval[1]),
                "coverage": covered,
                "coverage_error": abs(covered - (interval[1] - interval[0]))}
    return out
