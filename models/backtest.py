"""Rolling-origin backtest: refit at each monthly origin, score the dealers at that origin,
and judge the scores once their horizon has passed, beside every baseline.

The same code feeds `dealer-risk backtest` (6+ origins) and the promotion gate of
`dealer-risk train` (the newest few origins).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.settings import LabelSettings
from models.baselines import (
    CLASSIFIER_BASELINES,
    FORECAST_BASELINES,
    fit_classifier_baselines,
    forecast_baselines,
)
from models.bundle import SURVIVAL
from models.dataset import TARGETS, TrainingDataError, known_cutoffs, rows_at
from models.metrics import classification_metrics, forecast_metrics
from models.settings import ModelSettings
from models.training import CLASSIFIERS, LEAVE_MODELS, MODELS, fit_models, slices_for

SEGMENTS = ("profile_region", "profile_tier")
REVENUE = "orders_amount_12m"
"""A dealer's revenue for 'share of churned revenue captured': its last 12 months."""


@dataclass(frozen=True)
class Backtest:
    origins: pd.DatetimeIndex
    classifiers: pd.DataFrame
    """One row per model x origin x dealer: label, revenue, and each predictor's probability."""
    forecast: pd.DataFrame
    """One row per origin x dealer: next quarter's amount, the forecast, the naive ones."""
    calibration: pd.DataFrame
    """The calibration method chosen at each origin, per classifier."""
    bundles: dict[pd.Timestamp, dict]
    """The models fitted at each origin (for explanations of the rows they scored)."""


def evaluation_origins(panel: pd.DataFrame, count: int,
                       models: tuple[str, ...] = MODELS) -> pd.DatetimeIndex:
    """The newest `count` cutoffs at which the label of every one of `models` is complete."""
    labelled = [set(panel.loc[panel[TARGETS[m]].notna(), "cutoff"].unique()) for m in models]
    common = pd.DatetimeIndex(sorted(set.intersection(*labelled)))
    return common[-count:]


def fittable_origins(panel: pd.DataFrame, model: str, count: int, settings: ModelSettings,
                     labels: LabelSettings) -> pd.DatetimeIndex:
    """The newest `count` cutoffs at which `model`'s label is complete and enough labelled
    cutoffs came before to fit it (models.dataset.time_slices)."""
    split = settings.split
    need = split.min_fit_cutoffs + split.early_stopping_cutoffs + split.calibration_cutoffs
    candidates = evaluation_origins(panel, panel["cutoff"].nunique(), (model,))
    ok = [o for o in candidates if len(known_cutoffs(panel, model, o, labels)) >= need]
    return pd.DatetimeIndex(ok[-count:])


def run_backtest(panel: pd.DataFrame, settings: ModelSettings, labels: LabelSettings,
                 origins: pd.DatetimeIndex | None = None,
                 progress: Callable[[str, int, int], None] | None = None,
                 models: tuple[str, ...] = MODELS) -> Backtest:
    origins = evaluation_origins(panel, settings.backtest.origins, models) if origins is None \
        else pd.DatetimeIndex(origins)
    if not len(origins):
        span = (f"{panel['cutoff'].min():%Y-%m} .. {panel['cutoff'].max():%Y-%m}"
                if len(panel) else "none")
        raise TrainingDataError(
            f"no cutoff has every model's label complete (panel cutoffs: {span}; churn needs "
            f"{labels.churn.horizon_days} days of data after a cutoff, decline and forecast "
            f"{labels.decline.horizon_months} months): the backtest and the gate need more "
            "history")
    cls_parts, fc_parts, cal_rows, fitted = [], [], [], {}
    for i, origin in enumerate(origins):
        def step(model: str, i: int = i, origin: pd.Timestamp = origin) -> None:
            if progress:
                progress(f"origin {origin:%Y-%m}: {model}", i, len(origins))
        bundles = fit_models(panel, origin, settings, labels, models=models, progress=step)
        fitted[origin] = bundles
        for model in (m for m in models if m in CLASSIFIERS):
            cls_parts.append(_score_classifier(panel, model, origin, bundles[model], settings,
                                               labels))
            cal_rows.append({"origin": origin, "model": model,
                             "method": bundles[model].calibrator.method})
        if "forecast" in models:
            fc_parts.append(_score_forecast(panel, origin, bundles["forecast"]))
    if progress:
        progress("done", len(origins), len(origins))
    return Backtest(origins=origins, classifiers=pd.concat(cls_parts, ignore_index=True),
                    forecast=pd.concat(fc_parts, ignore_index=True) if fc_parts else
                    pd.DataFrame(columns=["origin", "dealer_id", "y"]),
                    calibration=pd.DataFrame(cal_rows), bundles=fitted)


def _keys(test: pd.DataFrame, origin: pd.Timestamp) -> dict:
    return {"origin": origin, "dealer_id": test["dealer_id"].to_numpy(),
            **{s: test[s].astype("string").to_numpy() for s in SEGMENTS}}


def _score_classifier(panel, model, origin, bundle, settings, labels) -> pd.DataFrame:
    sl = slices_for(panel, model, origin, settings, labels)
    train = rows_at(panel, model, sl.fit.append(sl.early_stopping))
    cal = rows_at(panel, model, sl.calibration)
    base = fit_classifier_baselines(train, cal, TARGETS[model], settings.rules, settings.seed)
    test = rows_at(panel, model, pd.DatetimeIndex([origin]))
    out = pd.DataFrame({"model": model, **_keys(test, origin),
                        "y": test[TARGETS[model]].to_numpy(),
                        "revenue": test[REVENUE].to_numpy(dtype=float),
                        "p_model": bundle.predict(test)})
    for name in CLASSIFIER_BASELINES:
        out[f"p_{name}"] = base[name].predict(test)
    return out


def _score_forecast(panel, origin, bundle) -> pd.DataFrame:
    test = rows_at(panel, "forecast", pd.DatetimeIndex([origin]))
    pred = bundle.predict(test)
    out = pd.DataFrame({**_keys(test, origin), "y": test[TARGETS["forecast"]].to_numpy()})
    for col in pred.columns:
        out[col] = pred[col].to_numpy()
    for name, values in forecast_baselines(test).items():
        out[name] = values
    return out


def metrics_table(bt: Backtest, settings: ModelSettings) -> pd.DataFrame:
    """Metrics per model x predictor x origin (and pooled), and pooled per region and tier."""
    rows = []
    interval = settings.forecast.interval
    lo, hi = (f"p{round(q * 100):02d}" for q in interval)
    for scope, part in _scopes(bt.classifiers):
        for model, frame in part.groupby("model", sort=False):
            for predictor in ("model", *CLASSIFIER_BASELINES):
                rows.append({"model": model, "predictor": predictor, **scope,
                             **classification_metrics(
                                 frame["y"].to_numpy(), frame[f"p_{predictor}"].to_numpy(),
                                 frame["revenue"].to_numpy(),
                                 top_share=settings.backtest.top_share,
                                 bins=settings.calibration.ece_bins)})
    for scope, frame in _scopes(bt.forecast) if len(bt.forecast) else ():
        y = frame["y"].to_numpy()
        rows.append({"model": "forecast", "predictor": "model", **scope,
                     **forecast_metrics(y, frame["p50"].to_numpy(), frame[lo].to_numpy(),
                                        frame[hi].to_numpy(), interval)})
        rows.append({"model": "forecast", "predictor": "model_expected", **scope,
                     **forecast_metrics(y, frame["expected"].to_numpy())})
        for name in FORECAST_BASELINES:
            rows.append({"model": "forecast", "predictor": name, **scope,
                         **forecast_metrics(y, frame[name].to_numpy())})
    return pd.DataFrame(rows)


def _scopes(frame: pd.DataFrame):
    yield {"origin": "pooled", "segment": "all"}, frame
    for origin, part in frame.groupby("origin", sort=True):
        yield {"origin": f"{origin:%Y-%m-%d}", "segment": "all"}, part
    for seg in SEGMENTS:
        for value, part in frame.groupby(seg, sort=True):
            yield {"origin": "pooled", "segment": f"{seg.removeprefix('profile_')}={value}"}, \
                part


def pooled(table: pd.DataFrame) -> pd.DataFrame:
    """The headline rows: every model and predictor over all origins and dealers."""
    return table[(table["origin"] == "pooled") & (table["segment"] == "all")]


def headline(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """model -> metric -> value for the models themselves, pooled; what MLflow and the gate
    compare across versions."""
    out: dict[str, dict[str, float]] = {}
    rows = pooled(table)
    for model in (*MODELS, *LEAVE_MODELS, SURVIVAL):
        own = rows[(rows["model"] == model) & (rows["predictor"] == "model")]
        if len(own):
            out[model] = {k: float(v) for k, v in own.iloc[0].items()
                          if isinstance(v, (int, float, np.floating)) and np.isfinite(v)}
    return out
