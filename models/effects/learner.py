"""Heterogeneous program effects: econml's doubly robust learner over LightGBM.

Why econml's DRLearner: it takes every program kind at once as a categorical treatment
against "none", fits the outcome and the propensity with any scikit-learn estimator (here
LightGBM, which takes the panel's missing values as they are), corrects the managers'
targeting through the propensity (doubly robust: right if either model is), and its final
stage gives each dealer an effect with a confidence interval. It installs beside pandas 3
and scikit-learn 1.9 with four small dependencies; causalml pulled xgboost and a 350 MB
CUDA library into the install (measured with pip's dry run, 2026-12-05).

The final stage is chosen by measurement (benchmarks/bench_programs.py, settings
`effects.final_stage`): "linear" (LinearDRLearner over a few symptom features: few
treated rows per program, so a small model with honest intervals) or "forest"
(ForestDRLearner over all features).

Programs given to fewer than `min_treated` dealers are not modelled: their rows leave the
training set (they were not "none"), and the effect tables say so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier

from models.effects.rows import NONE
from models.settings import EffectSettings, available_cores

SYMPTOMS = (
    "orders_change_yoy_3m", "orders_days_since_last", "price_unit_change_12m",
    "price_discount_change_12m", "service_overdue_share_3m", "service_open_backlog",
    "complaints_per_million_6m", "complaints_quality_share_6m", "logistics_late_share_3m",
    "logistics_damage_share_6m", "engagement_visits_vs_usual_3m",
    "engagement_visits_vs_rep_3m", "peers_orders_yoy_gap", "peers_price_yoy_gap",
    "profile_tenure_months",
)
"""The features the linear final stage lets an effect vary with: one or two per kind of
trouble a program can reach (orders, price, service, quality, logistics, neglect)."""


@dataclass
class EffectModel:
    """A fitted effect model: each modelled program's change of the chance of leaving,
    per dealer, with its interval."""

    kinds: tuple[str, ...]
    features: tuple[str, ...]
    heterogeneity: tuple[str, ...]
    fill: dict[str, float]
    estimator: object
    treated: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    cost_months: dict[str, float] = field(default_factory=dict)
    """Program -> median cost of the programs given, in months of the receiving dealer's
    orders (its 12-month monthly mean at the start): what a program costs a dealer."""
    baseline: object = None
    """A classifier of the chance of leaving with no program (fitted on the untreated
    rows): where an effect starts from, and "highest risk first"."""

    def leave_without(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's chance of leaving within the horizon if given no program."""
        if self.baseline is None:
            return np.full(len(frame), np.nan)
        return self.baseline.predict_proba(self.matrix(frame, self.features))[:, 1]

    def matrix(self, frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
        cols = []
        for name in names:
            col = frame[name] if name in frame.columns else pd.Series(np.nan, index=frame.index)
            if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object:
                col = col.astype("category").cat.codes.replace(-1, np.nan)
            values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            cols.append(np.where(np.isnan(values), self.fill.get(name, 0.0), values))
        return np.column_stack(cols) if cols else np.empty((len(frame), 0))

    def effects(self, frame: pd.DataFrame, alpha: float = 0.1) -> pd.DataFrame:
        """Long table: one row per dealer row and program: `effect` (change of the chance
        of leaving within the horizon; negative keeps the dealer), `low`, `high`."""
        x = self.matrix(frame, self.heterogeneity)
        parts = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for kind in self.kinds:
                effect = np.asarray(self.estimator.effect(x, T0=NONE, T1=kind)).ravel()
                low, high = self.estimator.effect_interval(x, T0=NONE, T1=kind, alpha=alpha)
                parts.append(pd.DataFrame({
                    "row": np.arange(len(frame)), "program": kind, "effect": effect,
                    "low": np.asarray(low).ravel(), "high": np.asarray(high).ravel()}))
        if not parts:
            return pd.DataFrame(columns=["row", "program", "effect", "low", "high"])
        return pd.concat(parts, ignore_index=True)


def cost_months(rows: pd.DataFrame) -> dict[str, float]:
    """Program -> median of cost / the dealer's 12-month monthly mean, over the rows given
    it (outcome known or not: a cost is known when it is given)."""
    if "cost" not in rows.columns or "orders_monthly_mean_12m" not in rows.columns:
        return {}
    given = rows.loc[(rows["program"] != NONE) & (rows["cost"] > 0)]
    size = pd.to_numeric(given["orders_monthly_mean_12m"], errors="coerce")
    ratio = given["cost"] / size.where(size > 0)
    return {k: float(v) for k, v in ratio.groupby(given["program"]).median().dropna().items()}


def fit_effects(rows: pd.DataFrame, features: list[str], settings: EffectSettings,
                seed: int, threads: int | None = None) -> EffectModel:
    """Fit on the rows whose outcome is known; controls are subsampled to at most
    `controls_per_treated` per treated row (the effect is relative to them; tens of
    thousands of untreated dealer-months add time, not information). `threads`: LightGBM's
    (default: the cores this process may use)."""
    from econml.dr import ForestDRLearner, LinearDRLearner

    threads = threads or available_cores()
    everyone = rows.loc[rows["left"].notna()]
    known = everyone
    if settings.learn_from == "randomized":
        # the months pilots were drawn: the piloted against every other free dealer of
        # those months, whatever a manager then gave them (intent to treat)
        known = everyone.loc[everyone["randomized"].astype(bool)].assign(
            program=lambda f: f["pilot"])
    counts = known.loc[known["program"] != NONE, "program"].value_counts()
    kinds = tuple(sorted(k for k, n in counts.items() if n >= settings.min_treated))
    skipped = {k: int(n) for k, n in counts.items() if k not in kinds}
    treated = known.loc[known["program"].isin(kinds)]
    controls = known.loc[known["program"] == NONE]
    most = max(1, settings.controls_per_treated * len(treated))
    if len(controls) > most:
        controls = controls.sample(most, random_state=seed)
    train = pd.concat([treated, controls])
    fill = {n: float(np.nanmedian(pd.to_numeric(train[n], errors="coerce")))
            if not isinstance(train[n].dtype, pd.CategoricalDtype) else -1.0
            for n in features}
    fill = {k: (0.0 if np.isnan(v) else v) for k, v in fill.items()}
    heterogeneity = tuple(n for n in SYMPTOMS if n in features) \
        if settings.final_stage == "linear" else tuple(features)
    model = EffectModel(kinds=kinds, features=tuple(features), heterogeneity=heterogeneity,
                        fill=fill, estimator=None, treated={k: int(counts[k]) for k in kinds},
                        skipped=skipped, settings=settings.model_dump())
    model.cost_months = cost_months(rows)
    untreated = everyone.loc[everyone["program"] == NONE]  # the risk without a program
    if untreated["left"].nunique() == 2:
        model.baseline = LGBMClassifier(
            n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=20,
            random_state=seed, verbose=-1, n_jobs=threads,
        ).fit(model.matrix(untreated, tuple(features)), untreated["left"].to_numpy(dtype=int))
    if not kinds:
        return model
    x = model.matrix(train, heterogeneity)
    w = model.matrix(train, tuple(features))
    t = train["program"].to_numpy(dtype=object)
    y = train["left"].to_numpy(dtype=float)
    nuisance = dict(n_estimators=settings.nuisance_trees, learning_rate=0.05,
                    num_leaves=15, min_child_samples=20, subsample=0.8, subsample_freq=1,
                    colsample_bytree=0.8, random_state=seed, verbose=-1, n_jobs=threads)
    common = dict(model_regression=LGBMClassifier(**nuisance),
                  model_propensity=LGBMClassifier(**nuisance), discrete_outcome=True,
                  categories=[NONE, *kinds], cv=settings.folds,
                  min_propensity=settings.min_propensity, random_state=seed)
    if settings.final_stage == "linear":
        estimator = LinearDRLearner(**common)
    else:
        estimator = ForestDRLearner(**common, n_estimators=settings.forest_trees,
                                    min_samples_leaf=settings.forest_min_leaf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(y, t, X=x, W=w if settings.final_stage == "linear" else None)
    model.estimator = estimator
    return model
