"""Fit the three models at an origin: churn and decline classifiers, the order forecast.

Everything is split by time (models/dataset.py): boosters learn on the oldest labelled
cutoffs, early stopping watches the next ones, and the newest calibrate. No random row
split anywhere; the only randomness (bagging) is seeded.
"""

from __future__ import annotations

from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.settings import LabelSettings
from models.bundle import ClassifierBundle, ForecastBundle
from models.calibration import fit_calibrator
from models.dataset import (
    TARGETS,
    FeatureSpec,
    Slices,
    known_cutoffs,
    rows_at,
    time_slices,
)
from models.settings import BoosterSettings, ModelSettings

CLASSIFIERS = ("churn", "decline", "leave")
MODELS = ("churn", "decline", "forecast")
"""The models every `train` fits; `leave` (LEAVE_MODELS) only when the history allows."""
LEAVE_MODELS = ("leave",)
"""The leave model learns from a label known `labels.leave.confirm_months` after the churn
label: a network with too short a history trains and serves without it."""


def booster_params(booster: BoosterSettings, seed: int, **objective) -> dict:
    return {
        "learning_rate": booster.learning_rate, "num_leaves": booster.num_leaves,
        "max_depth": booster.max_depth, "min_data_in_leaf": booster.min_child_samples,
        "bagging_fraction": booster.subsample, "bagging_freq": 1 if booster.subsample < 1
        else 0, "feature_fraction": booster.colsample_bytree, "lambda_l2": booster.reg_lambda,
        "max_bin": booster.max_bin,
        "num_threads": booster.threads, "seed": seed, "deterministic": True,
        "force_row_wise": True, "verbosity": -1, **objective,
    }


def fit_booster(params: dict, spec: FeatureSpec, fit: pd.DataFrame, y_fit: np.ndarray,
                valid: pd.DataFrame, y_valid: np.ndarray, settings: BoosterSettings, *,
                refit: bool = True) -> tuple[lgb.Booster, int]:
    """Early stopping on the later slice picks the trees; then refit on both slices, so the
    newest months before calibration are learned from too."""
    x_fit, x_valid = spec.matrix(fit), spec.matrix(valid)
    train = lgb.Dataset(x_fit, y_fit, free_raw_data=False)
    probe = lgb.train(params, train, num_boost_round=settings.n_estimators,
                      valid_sets=[lgb.Dataset(x_valid, y_valid, reference=train)],
                      callbacks=[lgb.early_stopping(settings.early_stopping_rounds,
                                                    verbose=False)])
    trees = max(probe.best_iteration, 1)
    if not refit:
        return lgb.Booster(model_str=probe.model_to_string(num_iteration=trees)), trees
    both = lgb.Dataset(pd.concat([x_fit, x_valid]), np.concatenate([y_fit, y_valid]))
    return lgb.train(params, both, num_boost_round=trees), trees


def slices_for(panel: pd.DataFrame, model: str, origin: pd.Timestamp, settings: ModelSettings,
               labels: LabelSettings) -> Slices:
    return time_slices(known_cutoffs(panel, model, origin, labels), settings.split, model)


def fit_classifier(panel: pd.DataFrame, model: str, origin: pd.Timestamp,
                   settings: ModelSettings, labels: LabelSettings) -> ClassifierBundle:
    """A calibrated LightGBM classifier for `model`, knowing only labels complete by origin."""
    sl = slices_for(panel, model, origin, settings, labels)
    target = TARGETS[model]
    spec = FeatureSpec.from_panel(panel)
    fit, es, cal = (rows_at(panel, model, c) for c in (sl.fit, sl.early_stopping,
                                                        sl.calibration))
    params = booster_params(settings.booster, settings.seed, objective="binary",
                            metric="binary_logloss")
    booster, trees = fit_booster(params, spec, fit, fit[target].to_numpy(), es,
                                 es[target].to_numpy(), settings.booster)
    margin = booster.predict(spec.matrix(cal), raw_score=True)
    calibrator, losses = fit_calibrator(margin, cal[target].to_numpy(),
                                        cal["cutoff"].to_numpy(), settings.calibration.method)
    return ClassifierBundle(model=model, spec=spec, booster=booster, calibrator=calibrator,
                            metadata=_metadata(model, origin, sl, trees, fit, es, cal, target)
                            | {"calibration_losses": losses,
                               "feature_ranges": feature_ranges(spec, fit, es, cal)})


def fit_forecast(panel: pd.DataFrame, origin: pd.Timestamp, settings: ModelSettings,
                 labels: LabelSettings) -> ForecastBundle:
    """Expected next-quarter amount (Tweedie) and its interval (quantiles, conformalized)."""
    model = "forecast"
    sl = slices_for(panel, model, origin, settings, labels)
    target = TARGETS[model]
    spec = FeatureSpec.from_panel(panel)
    fit, es, cal = (rows_at(panel, model, c) for c in (sl.fit, sl.early_stopping,
                                                        sl.calibration))
    amount = {k: np.maximum(v[target].to_numpy(), 0.0) for k, v in
              (("fit", fit), ("es", es), ("cal", cal))}
    fc, b = settings.forecast, settings.booster
    mean, trees = fit_booster(
        booster_params(b, settings.seed, objective="tweedie",
                       tweedie_variance_power=fc.tweedie_variance_power),
        spec, fit, amount["fit"], es, amount["es"], b)
    lo, hi = fc.interval
    quantiles, shifts = {}, {}
    for q in (lo, 0.5, hi):
        # No refit: the quantile objective is the slowest to train, and the interval is
        # conformalized on the calibration slice anyway.
        quantiles[q], _ = fit_booster(
            booster_params(b, settings.seed, objective="quantile", alpha=q),
            spec, fit, np.log1p(amount["fit"]), es, np.log1p(amount["es"]), b, refit=False)
    if fc.conformal:
        shifts = conformal_shifts(quantiles, spec.matrix(cal), np.log1p(amount["cal"]), lo, hi)
    return ForecastBundle(spec=spec, mean=mean, quantiles=quantiles, shifts=shifts,
                          metadata=_metadata(model, origin, sl, trees, fit, es, cal, target)
                          | {"feature_ranges": feature_ranges(spec, fit, es, cal)})


def conformal_shifts(quantiles: dict[float, lgb.Booster], x_cal: pd.DataFrame,
                     z_cal: np.ndarray, lo: float, hi: float) -> dict[float, float]:
    """Shifts of the interval's ends (log scale) so each tail holds its share on calibration.

    The lower end moves down by the (1 - lo) quantile of (prediction - actual), so that a
    share lo of actuals falls below it; likewise the upper end (conformalized quantile
    regression, one tail at a time).
    """
    n = len(z_cal)
    level = lambda share: min(1.0, np.ceil((n + 1) * share) / n)  # noqa: E731
    below = quantiles[lo].predict(x_cal) - z_cal
    above = z_cal - quantiles[hi].predict(x_cal)
    return {lo: -float(np.quantile(below, level(1 - lo))),
            hi: float(np.quantile(above, level(hi)))}


def feature_ranges(spec: FeatureSpec, *frames: pd.DataFrame) -> dict[str, list[float]]:
    """Each numeric feature's [min, max] in the data the model learned from: scoring flags
    values outside it (the model extrapolates there)."""
    both = pd.concat([spec.matrix(f) for f in frames])
    out = {}
    for name in spec.names:
        if name in spec.categories or both[name].isna().all():
            continue
        out[name] = [float(both[name].min()), float(both[name].max())]
    return out


def _metadata(model: str, origin: pd.Timestamp, sl: Slices, trees: int, fit: pd.DataFrame,
              es: pd.DataFrame, cal: pd.DataFrame, target: str) -> dict:
    def span(c: pd.DatetimeIndex) -> list[str]:
        return [f"{c[0]:%Y-%m-%d}", f"{c[-1]:%Y-%m-%d}"]

    return {
        "model": model, "target": target, "origin": f"{origin:%Y-%m-%d}", "trees": trees,
        "fit_cutoffs": span(sl.fit), "early_stopping_cutoffs": span(sl.early_stopping),
        "calibration_cutoffs": span(sl.calibration),
        "rows": {"fit": len(fit), "early_stopping": len(es), "calibration": len(cal)},
        "label_mean": float(pd.concat([fit[target], es[target]]).mean()),
    }


def fit_models(panel: pd.DataFrame, origin: pd.Timestamp, settings: ModelSettings,
               labels: LabelSettings, *, models: tuple[str, ...] = MODELS,
               progress: Callable[[str], None] | None = None) -> dict:
    """Every requested model fitted at one origin."""
    out: dict = {}
    for model in models:
        if progress:
            progress(model)
        out[model] = (fit_forecast(panel, origin, settings, labels) if model == "forecast"
                      else fit_classifier(panel, model, origin, settings, labels))
    return out
