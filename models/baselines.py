"""What the models must beat, fitted on the same slices and scored on the same rows.

- rules: the early-warning score a channel manager writes by hand (one point each for a
  stale last order, a drop against last year, overdue requests, a complaint surge),
  turned into a probability on the calibration slice;
- best_rule: the best single rule "no order in N days", N chosen on the training slices;
- days_since: the plain ranking by days since the last positive order (a rule's cut throws
  most of its ranking away: on an independent network it reached ROC AUC 0.81 where the
  best cut reached 0.71);
- rhythm: the order-rhythm model's chance of no order in the next 3 months (BG/NBD, the
  textbook's answer to "has this customer stopped buying?") on its own;
- logistic: logistic regression on a handful of recency, frequency and value features;
- forecast: seasonal naive (same quarter last year, scaled by the dealer's recent trend)
  and trailing naive (the last quarter again).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from models.calibration import fit_isotonic
from models.dataset import numeric
from models.settings import RuleBaselineSettings

CLASSIFIER_BASELINES = ("rules", "best_rule", "days_since", "rhythm", "logistic")
RANK_BASELINES = {"days_since": "orders_days_since_last", "rhythm": "orders_rhythm_none_3m"}
"""One feature each, ranked as it is (higher: more risk) and turned into a probability on
the calibration slice."""
FORECAST_BASELINES = ("seasonal_naive", "trailing_naive")
RFM_FEATURES = ("orders_days_since_last", "orders_count_12m", "orders_amount_12m",
                "orders_active_months_12m", "orders_change_yoy_3m")
TREND_CLIP = (0.5, 2.0)
"""Seasonal naive scales last year's quarter by the recent trend, within these bounds."""


def rule_points(frame: pd.DataFrame, rules: RuleBaselineSettings) -> np.ndarray:
    """0-4 points; a missing indicator (table absent, no history) scores no point."""
    def above(name: str, threshold: float) -> np.ndarray:
        if name not in frame.columns:
            return np.zeros(len(frame))
        return np.nan_to_num(numeric(frame, name), nan=-np.inf) >= threshold

    return (above("orders_days_since_last", rules.days_since_order).astype(float)
            + (np.nan_to_num(numeric(frame, "orders_change_yoy_3m"), nan=0.0)
               <= -rules.yoy_drop)
            + above("service_overdue_open", rules.overdue_requests)
            + above("complaints_surge_3m", rules.complaint_surge))


@dataclass(frozen=True)
class RuleScore:
    rules: RuleBaselineSettings
    rate: dict[str, list[float]]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.interp(rule_points(frame, self.rules), self.rate["x"], self.rate["y"])


@dataclass(frozen=True)
class NoOrderRule:
    days: int
    rate: tuple[float, float]
    """Observed label rate when the rule is silent, and when it fires."""

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        fires = np.nan_to_num(numeric(frame, "orders_days_since_last"), nan=np.inf) > self.days
        return np.where(fires, self.rate[1], self.rate[0])


@dataclass(frozen=True)
class RankScore:
    """One feature's ranking, mapped to a probability by centred isotonic regression (which
    keeps the ranking); unknown values (no order yet, no rhythm) take the slice's median."""

    feature: str
    fill: float
    rate: dict[str, list[float]]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = np.nan_to_num(numeric(frame, self.feature), nan=self.fill)
        return np.interp(x, self.rate["x"], self.rate["y"])


def fit_rank_score(feature: str, cal: pd.DataFrame, y_cal: np.ndarray) -> RankScore:
    x = numeric(cal, feature)
    known = np.isfinite(x)
    fill = float(np.median(x[known])) if known.any() else 0.0
    iso = fit_isotonic(np.where(known, x, fill), y_cal)
    return RankScore(feature, fill, iso.params)


@dataclass(frozen=True)
class LogisticBaseline:
    pipeline: Pipeline

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(_rfm(frame))[:, 1]


def _rfm(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([numeric(frame, n) for n in RFM_FEATURES])


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def fit_classifier_baselines(train: pd.DataFrame, cal: pd.DataFrame, target: str,
                             rules: RuleBaselineSettings, seed: int) -> dict:
    """The baselines, fitted on the model's training rows and calibration slice."""
    y_train, y_cal = train[target].to_numpy(), cal[target].to_numpy()
    iso = fit_isotonic(rule_points(cal, rules), y_cal)
    rule_score = RuleScore(rules, iso.params)

    days = numeric(train, "orders_days_since_last")
    best_days = max(rules.no_order_days_grid, key=lambda d: _auc(
        y_train, (np.nan_to_num(days, nan=np.inf) > d).astype(float)))
    fires = np.nan_to_num(numeric(cal, "orders_days_since_last"), nan=np.inf) > best_days
    base = float(y_cal.mean())
    rate = tuple(float(y_cal[m].mean()) if m.any() else base for m in (~fires, fires))

    pipeline = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        FunctionTransformer(_signed_log), StandardScaler(),
        LogisticRegression(max_iter=2000, random_state=seed))
    pipeline.fit(_rfm(train), y_train)
    ranks = {name: fit_rank_score(feature, cal, y_cal)
             for name, feature in RANK_BASELINES.items()}
    return {"rules": rule_score, "best_rule": NoOrderRule(best_days, rate), **ranks,
            "logistic": LogisticBaseline(pipeline)}


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    return roc_auc_score(y, score) if 0 < y.sum() < len(y) else 0.5


def seasonal_naive(frame: pd.DataFrame) -> np.ndarray:
    """Last year's coming quarter, scaled by this year's trend against last year."""
    last_year = np.nan_to_num(numeric(frame, "season_orders_same_quarter_last_year"), nan=0.0)
    trend = np.clip(np.nan_to_num(1 + numeric(frame, "orders_change_yoy_3m"), nan=1.0),
                    *TREND_CLIP)
    young = last_year <= 0
    return np.where(young, trailing_naive(frame), np.maximum(last_year, 0.0) * trend)


def trailing_naive(frame: pd.DataFrame) -> np.ndarray:
    return np.maximum(np.nan_to_num(numeric(frame, "orders_amount_3m"), nan=0.0), 0.0)


def forecast_baselines(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {"seasonal_naive": seasonal_naive(frame), "trailing_naive": trailing_naive(frame)}
