"""The charts a run logs: calibration curve, gain chart, grouped SHAP summary, importance.

Each returns a matplotlib figure (headless Agg backend); tracking.py logs them.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from models.baselines import CLASSIFIER_BASELINES  # noqa: E402


def calibration_curve(frame: pd.DataFrame, model: str, bins: int = 10):
    """Observed rate against mean score per bin, for the model and each baseline."""
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect")
    edges = np.linspace(0, 1, bins + 1)
    for predictor in ("model", *CLASSIFIER_BASELINES):
        p, y = frame[f"p_{predictor}"].to_numpy(), frame["y"].to_numpy()
        which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        pts = [(p[which == b].mean(), y[which == b].mean()) for b in range(bins)
               if (which == b).sum() >= 10]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker="o", lw=1.5 if predictor == "model" else 0.8,
                    label=predictor)
    return _finish(fig, ax, "predicted probability", "observed rate",
                   f"{model}: calibration (backtest, pooled)")


def gain_chart(frame: pd.DataFrame, model: str):
    """Share of positives caught when calling the top x% of dealers by score."""
    fig, ax = plt.subplots(figsize=(5, 5))
    y = frame["y"].to_numpy()
    for predictor in ("model", *CLASSIFIER_BASELINES):
        order = np.argsort(-frame[f"p_{predictor}"].to_numpy(), kind="stable")
        caught = np.cumsum(y[order]) / max(y.sum(), 1)
        ax.plot(np.arange(1, len(y) + 1) / len(y), caught, label=predictor,
                lw=1.5 if predictor == "model" else 0.8)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="random")
    return _finish(fig, ax, "share of dealers called", "share of positives caught",
                   f"{model}: gain (backtest, pooled)")


def _finish(fig, ax, xlabel: str, ylabel: str, title: str):
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def grouped_shap_summary(groups: pd.DataFrame, model: str):
    """Mean absolute contribution per business group across scored dealers."""
    mean_abs = groups.abs().mean().sort_values()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.barh(mean_abs.index, mean_abs.to_numpy())
    ax.set(xlabel="mean |contribution| (raw score)", title=f"{model}: factors by group")
    fig.tight_layout()
    return fig


def importance(booster, model: str, top: int = 20):
    gain = pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
    gain = gain.sort_values().tail(top)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh(gain.index, gain.to_numpy())
    ax.set(xlabel="total gain", title=f"{model}: feature importance (top {top})")
    fig.tight_layout()
    return fig


def close(fig) -> None:
    plt.close(fig)
