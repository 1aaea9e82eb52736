"""The model bundle, the unit of deployment: feature order, boosters, calibrator, metadata.

A bundle saves to a folder of plain files (LightGBM's text model format and JSON, no
pickles) that MLflow logs as the registered model's artifacts; load(save(b)) predicts and
explains identically (tests/models/test_bundle.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.calibration import Calibrator
from models.dataset import FeatureSpec, ModelInput

BUNDLE_FILE = "bundle.json"
SURVIVAL = "survival"
MONTHS_AHEAD = "months_ahead"
"""The survival model's person-period month after the cutoff (1 = the cutoff's own month):
the hazard's clock, an input beside the cutoff's features (models.survival)."""


Frame = pd.DataFrame | ModelInput
"""Panel rows, or their ModelInput when several models read the same rows (scoring)."""


def _booster_text(booster: lgb.Booster) -> str:
    return booster.model_to_string(num_iteration=-1)


def _reads_codes(booster: lgb.Booster, spec: FeatureSpec) -> bool:
    """Whether the booster's categories are the spec's, in order, so that the spec's codes
    mean to it what its own pandas conversion would (true of every booster fitted on
    spec.matrix; a booster that is not gets the DataFrame and maps them itself)."""
    return (booster.pandas_categorical or []) == [list(v) for v in spec.categories.values()]


def model_input(booster: lgb.Booster, spec: FeatureSpec, frame: Frame
                ) -> np.ndarray | pd.DataFrame:
    """What `booster` predicts from for these rows."""
    rows = ModelInput.of(frame)
    return rows.codes(spec) if _reads_codes(booster, spec) else spec.matrix(rows.frame)


@dataclass
class ClassifierBundle:
    """A calibrated probability of `model` (churn or decline) within the label's horizon."""

    model: str
    spec: FeatureSpec
    booster: lgb.Booster
    calibrator: Calibrator
    metadata: dict = field(default_factory=dict)
    kind = "classifier"

    def margin(self, frame: Frame) -> np.ndarray:
        """Raw log-odds: what the contributions add up to."""
        return self.booster.predict(model_input(self.booster, self.spec, frame),
                                    raw_score=True)

    def predict(self, frame: Frame) -> np.ndarray:
        return self.calibrator(self.margin(frame))

    def contributions(self, frame: Frame) -> np.ndarray:
        """TreeSHAP per feature in log-odds, plus the base value as the last column."""
        return np.asarray(self.booster.predict(model_input(self.booster, self.spec, frame),
                                               pred_contrib=True))

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "booster.txt").write_text(_booster_text(self.booster), encoding="utf-8")
        _write_json(folder / BUNDLE_FILE, {
            "kind": self.kind, "model": self.model, "spec": self.spec.to_dict(),
            "calibrator": self.calibrator.to_dict(), "metadata": self.metadata})
        return folder


@dataclass
class ForecastBundle:
    """Next quarter's net amount: the expected value and an interval (p10, p50, p90).

    The expected value comes from a Tweedie booster (zero-inflated sales); the quantiles
    from quantile boosters on log(1 + amount) (quantiles survive monotone transforms), with
    the interval's ends shifted on the calibration slice so that its coverage holds.
    """

    spec: FeatureSpec
    mean: lgb.Booster
    quantiles: dict[float, lgb.Booster]
    shifts: dict[float, float]
    metadata: dict = field(default_factory=dict)
    model = "forecast"
    kind = "forecast"

    def predict(self, frame: Frame) -> pd.DataFrame:
        rows = ModelInput.of(frame)
        logs = {q: b.predict(model_input(b, self.spec, rows)) + self.shifts.get(q, 0.0)
                for q, b in self.quantiles.items()}
        qs = sorted(logs)
        stacked = np.sort(np.column_stack([logs[q] for q in qs]), axis=1)  # no crossing
        out = pd.DataFrame({_quantile_name(q): np.expm1(np.maximum(stacked[:, i], 0.0))
                            for i, q in enumerate(qs)}, index=rows.frame.index)
        out["expected"] = self.mean.predict(model_input(self.mean, self.spec, rows))
        return out

    def contributions(self, frame: Frame) -> np.ndarray:
        """TreeSHAP of the expected-amount model, in log(amount), base value last."""
        return np.asarray(self.mean.predict(model_input(self.mean, self.spec, frame),
                                            pred_contrib=True))

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "mean.txt").write_text(_booster_text(self.mean), encoding="utf-8")
        for q, booster in self.quantiles.items():
            (folder / f"{_quantile_name(q)}.txt").write_text(_booster_text(booster),
                                                             encoding="utf-8")
        _write_json(folder / BUNDLE_FILE, {
            "kind": self.kind, "model": self.model, "spec": self.spec.to_dict(),
            "quantiles": sorted(self.quantiles), "shifts": {str(k): v for k, v in
                                                            self.shifts.items()},
            "metadata": self.metadata})
        return folder


@dataclass
class SurvivalBundle:
    """The hazard booster with its inputs; curves for any frame of panel rows."""

    spec: FeatureSpec
    booster: lgb.Booster
    horizon: int
    calibrator: Calibrator
    """Maps the booster's hazard log-odds to calibrated hazards (models.survival)."""
    metadata: dict = field(default_factory=dict)
    model = SURVIVAL
    kind = SURVIVAL

    def margins(self, frame: Frame) -> np.ndarray:
        """[row, month 1..horizon]: the booster's hazard log-odds, before calibration."""
        x = model_input(self.booster, self.spec, frame)
        n = len(x)
        months = np.repeat(np.arange(1, self.horizon + 1), n).astype(float)
        if isinstance(x, np.ndarray):  # the months ahead are the booster's last input
            stacked = np.column_stack([np.tile(x, (self.horizon, 1)), months])
        else:
            stacked = x.reset_index(drop=True).iloc[np.tile(np.arange(n), self.horizon)
                                                    ].reset_index(drop=True)
            stacked[MONTHS_AHEAD] = months
        return self.booster.predict(stacked, raw_score=True).reshape(self.horizon, n).T

    def hazards(self, frame: Frame) -> np.ndarray:
        """[row, month 1..horizon]: the chance of being gone in that month if still there."""
        margins = self.margins(frame)
        months = np.broadcast_to(np.arange(1, self.horizon + 1, dtype=float), margins.shape)
        return self.calibrator(margins.ravel(), months=months.ravel()).reshape(margins.shape)

    def curves(self, frame: Frame) -> np.ndarray:
        """[row, month 1..horizon]: the chance of still ordering after that many months."""
        return np.cumprod(1.0 - self.hazards(frame), axis=1)

    def predict(self, frame: Frame, report_months: list[int] | None = None
                ) -> pd.DataFrame:
        """The chance of still ordering at the report months (those it was fitted with
        unless given) and the months expected to keep ordering: the pyfunc's output."""
        months = report_months or self.metadata.get("report_months") or [self.horizon]
        rows = ModelInput.of(frame)
        return summarize(self.curves(rows), months, index=rows.frame.index)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "booster.txt").write_text(_booster_text(self.booster), encoding="utf-8")
        _write_json(folder / BUNDLE_FILE, {
            "kind": self.kind, "model": self.model, "spec": self.spec.to_dict(),
            "horizon": self.horizon, "calibrator": self.calibrator.to_dict(),
            "metadata": self.metadata})
        return folder


def still_ordering_column(month: int) -> str:
    return f"still_ordering_{month}m"


MONTHS_COLUMN = "months_ordering"
"""The restricted mean: the months a dealer is expected to keep ordering in the horizon."""


def months_ordering(curves: np.ndarray) -> np.ndarray:
    """The restricted mean months of the horizon still ordering: the sum of the curve
    (min(K - 1, horizon) is the number of months t <= horizon with K > t)."""
    return curves.sum(axis=1)


def summarize(curves: np.ndarray, report_months: list[int], index=None) -> pd.DataFrame:
    """The chance of still ordering at each report month, and the restricted mean."""
    out = {still_ordering_column(m): curves[:, m - 1] for m in report_months}
    out[MONTHS_COLUMN] = months_ordering(curves)
    return pd.DataFrame(out, index=index)


Bundle = ClassifierBundle | ForecastBundle | SurvivalBundle


def _quantile_name(q: float) -> str:
    return f"p{round(q * 100):02d}"


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str),
                    encoding="utf-8")


def _booster(path: Path) -> lgb.Booster:
    return lgb.Booster(model_str=path.read_text(encoding="utf-8"))


def load_bundle(folder: Path) -> Bundle:
    data = json.loads((folder / BUNDLE_FILE).read_text(encoding="utf-8"))
    spec = FeatureSpec.from_dict(data["spec"])
    if data["kind"] == SURVIVAL:
        return SurvivalBundle(spec=spec, booster=_booster(folder / "booster.txt"),
                              horizon=int(data["horizon"]),
                              calibrator=Calibrator.from_dict(data["calibrator"]),
                              metadata=data["metadata"])
    if data["kind"] == "classifier":
        return ClassifierBundle(model=data["model"], spec=spec,
                                booster=_booster(folder / "booster.txt"),
                                calibrator=Calibrator.from_dict(data["calibrator"]),
                                metadata=data["metadata"])
    quantiles = {float(q): _booster(folder / f"{_quantile_name(float(q))}.txt")
                 for q in data["quantiles"]}
    return ForecastBundle(spec=spec, mean=_booster(folder / "mean.txt"), quantiles=quantiles,
                          shifts={float(k): v for k, v in data["shifts"].items()},
                          metadata=data["metadata"])
