"""The champion models as scoring uses them: loaded from the registry by alias, and their
outputs on a frame of dealer rows (TreeSHAP contributions and the forecast's quantiles),
the one stage of scoring that calls the models. serve.batch.scoring explains these outputs;
serve.batch.spark_scoring computes the same outputs on Spark."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.bundle import ClassifierBundle, ForecastBundle, SurvivalBundle
from models.dataset import ModelInput
from serve.settings import Settings

RISK_MODELS = ("churn", "decline")
"""The models whose scores are explained (TreeSHAP reasons, levers, alerts)."""
LEAVE = "leave"
"""The leave model: a probability only, beside the churn risk it splits (leaving against a
quiet spell); optional, as a short history trains none (models.training.LEAVE_MODELS)."""
SURVIVAL = "survival"
"""The survival model: each dealer's chance of still ordering month by month over the next
year; optional like the leave model, as it needs the same extra year of history."""
OPTIONAL = (LEAVE, SURVIVAL)
FORECAST_COLUMNS = ("p10", "p50", "p90", "expected")


UNAVAILABLE = "unavailable"
"""The band of a dealer whose churn model has no usable version: no probability to band."""


@dataclass(frozen=True)
class Champions:
    """The serving models. A model with no usable version is None: scoring goes on with the
    others and its columns are unknown (`missing` says why)."""

    churn: ClassifierBundle | None
    decline: ClassifierBundle | None
    forecast: ForecastBundle | None
    versions: dict[str, str]
    provisional: dict[str, str] = field(default_factory=dict)
    """Model -> why its champion is provisional (made champion with none before it, though
    it misses a limit of the gate)."""
    missing: dict[str, str] = field(default_factory=dict)
    """Model -> why it has no usable version."""
    leave: ClassifierBundle | None = None
    survival: SurvivalBundle | None = None

    def status(self) -> dict[str, dict]:
        """Per model: its version, and whether it is provisional or unavailable (for the
        snapshot, `score`'s output, the API's meta and the dashboard)."""
        out: dict[str, dict] = {}
        for model in (*RISK_MODELS, "forecast", *OPTIONAL):
            if model in self.missing or getattr(self, model) is None:
                out[model] = {"version": None, "state": UNAVAILABLE,
                              "reason": self.missing.get(model, "no usable version")}
            elif model in self.provisional:
                out[model] = {"version": self.versions.get(model), "state": "provisional",
                              "reason": self.provisional[model]}
            else:
                out[model] = {"version": self.versions.get(model), "state": "champion",
                              "reason": None}
        return out

    @property
    def reference(self) -> ClassifierBundle | None:
        """A classifier whose training ranges the data-quality flags compare with."""
        return self.churn or self.decline


def load_champions(settings: Settings) -> Champions:
    """Each model's `champion` from the registry; a model without one is left out (its
    columns unavailable). An error only when none of the three has a champion."""
    from models.tracking import RegistryError, configure, load_alias, registered_name

    configure(settings.models.tracking, settings.work_dir)
    bundles: dict[str, object] = {}
    versions, provisional, missing = {}, {}, {}
    for model in (*RISK_MODELS, "forecast", *OPTIONAL):
        try:
            found = load_alias(registered_name(settings.models.tracking, model))
        except RegistryError as exc:
            bundles[model], missing[model] = None, str(exc)
            continue
        bundles[model], versions[model] = found.bundle, found.version
        if found.provisional:
            provisional[model] = found.provisional
    if all(m in missing for m in (*RISK_MODELS, "forecast")):
        raise RegistryError(missing[RISK_MODELS[0]])
    return Champions(**bundles, versions=versions, provisional=provisional,  # type: ignore[arg-type]
                     missing=missing)


@dataclass(frozen=True)
class ModelOutputs:
    """What the champions say of each row: the risk models' TreeSHAP contributions (log-odds,
    base value last; the probabilities are their calibrated sums) and the forecast's p10,
    p50, p90 and expected amount. The one costly stage of scoring, and the only one that
    calls the models: computed here in one process, or by partitions of dealers on Spark
    (serve.batch.spark_scoring), then explained the same way."""

    contributions: dict[str, np.ndarray]
    forecast: pd.DataFrame
    leave: np.ndarray | None = None
    """The leave model's probabilities; None without a leave champion."""
    survival: np.ndarray | None = None
    """[row, month 1..horizon]: the survival model's curves; None without its champion."""


def model_outputs(rows: pd.DataFrame, champions: Champions) -> ModelOutputs:
    """The champions' outputs on `rows`, in this process."""
    rows = ModelInput(rows.reset_index(drop=True))  # the champions share their inputs
    contributions = {m: getattr(champions, m).contributions(rows) for m in RISK_MODELS
                     if getattr(champions, m) is not None}
    forecast = (champions.forecast.predict(rows) if champions.forecast is not None else
                pd.DataFrame({c: np.full(len(rows.frame), np.nan) for c in FORECAST_COLUMNS}))
    leave = champions.leave.predict(rows) if champions.leave is not None else None
    curves = champions.survival.curves(rows) if champions.survival is not None else None
    return ModelOutputs(contributions, forecast[list(FORECAST_COLUMNS)], leave, curves)
