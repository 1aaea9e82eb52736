"""From the panel to model inputs: targets, time slices and the design matrix.

Splits are by time only. At an origin T (the day a monthly retrain would run), a cutoff can
teach the models only if its label's horizon ended by T; the rows at T itself are what the
retrained models score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalog import BY_NAME
from features.panel import feature_columns
from features.settings import LabelSettings
from models.settings import SplitSettings

TARGETS = {"churn": "churn", "leave": "leave", "decline": "decline", "forecast": "next_amount"}
"""Model name -> the panel's label column it learns."""


class TrainingDataError(ValueError):
    """The panel cannot support the requested fit; the message says what is missing."""


def label_end(cutoffs: pd.Series | pd.DatetimeIndex, model: str, labels: LabelSettings
              ) -> pd.DatetimeIndex:
    """The first day after each cutoff's label horizon: the label is known from then on."""
    cut = pd.DatetimeIndex(cutoffs)
    if model == "churn":
        return cut + pd.Timedelta(days=labels.churn.horizon_days)
    if model == "leave":
        return cut + pd.Timedelta(days=labels.churn.horizon_days) + pd.DateOffset(
            months=labels.leave.confirm_months)
    months = labels.decline.horizon_months if model == "decline" else \
        labels.forecast.horizon_months
    return cut + pd.DateOffset(months=months)


def known_cutoffs(panel: pd.DataFrame, model: str, origin: pd.Timestamp,
                  labels: LabelSettings) -> pd.DatetimeIndex:
    """Cutoffs with labelled rows whose horizon ended by the origin, oldest first."""
    rows = panel[panel[TARGETS[model]].notna()]
    cuts = pd.DatetimeIndex(rows["cutoff"].unique()).sort_values()
    return cuts[label_end(cuts, model, labels) <= origin]


@dataclass(frozen=True)
class Slices:
    fit: pd.DatetimeIndex
    early_stopping: pd.DatetimeIndex
    calibration: pd.DatetimeIndex

    @property
    def last(self) -> pd.Timestamp:
        return self.calibration[-1]


def time_slices(cutoffs: pd.DatetimeIndex, split: SplitSettings, model: str) -> Slices:
    """Oldest cutoffs to fit, then early stopping, then the newest for calibration."""
    cal, es = split.calibration_cutoffs, split.early_stopping_cutoffs
    need = split.min_fit_cutoffs + es + cal
    if len(cutoffs) < need:
        raise TrainingDataError(
            f"{model}: {len(cutoffs)} labelled cutoffs before the origin, need at least {need} "
            f"({split.min_fit_cutoffs} to fit, {es} for early stopping, {cal} to calibrate); "
            "give more months of history or lower models.split settings")
    return Slices(fit=cutoffs[: -(es + cal)], early_stopping=cutoffs[-(es + cal): -cal],
                  calibration=cutoffs[-cal:])


def rows_at(panel: pd.DataFrame, model: str, cutoffs: pd.DatetimeIndex) -> pd.DataFrame:
    """The labelled rows of these cutoffs."""
    target = TARGETS[model]
    return panel[panel["cutoff"].isin(cutoffs) & panel[target].notna()]


@dataclass(frozen=True)
class FeatureSpec:
    """The ordered inputs a model was fitted on; scoring checks and rebuilds exactly these."""

    names: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    @classmethod
    def from_panel(cls, panel: pd.DataFrame) -> FeatureSpec:
        names = tuple(feature_columns(panel))
        cats = {n: tuple(str(c) for c in _categories(panel[n]))
                for n in names if BY_NAME[n].categorical}
        return cls(names=names, categories=cats)

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input: float columns, categoricals with the training categories.

        A category unseen in training becomes missing (LightGBM sends it down the missing
        branch) rather than an error, so a new region still gets a score.
        """
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise TrainingDataError(f"input lacks {len(missing)} feature(s) the model was "
                                    f"fitted on: {', '.join(missing)}")
        out = as_numbers(frame, [n for n in self.names if n not in self.categories])
        for name, known in self.categories.items():
            text = frame[name].astype("string")
            values = text.where(text.isin(known)).to_numpy(dtype=object, na_value=None)
            out[name] = pd.Categorical(values, categories=list(known))
        return out[list(self.names)]

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """What LightGBM makes of `matrix(frame)`, without its per-call conversion: floats,
        each categorical as its code among the training categories (missing or unseen:
        NaN). Valid for a booster whose categories are this spec's (one fitted on
        `matrix`; models.bundle checks); ~1.5 ms less per predict on a one-row call."""
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise TrainingDataError(f"input lacks {len(missing)} feature(s) the model was "
                                    f"fitted on: {', '.join(missing)}")
        numeric = [n for n in self.names if n not in self.categories]
        out = np.empty((len(frame), len(self.names)))
        position = {n: j for j, n in enumerate(self.names)}
        out[:, [position[n] for n in numeric]] = _floats(frame, numeric)
        for name, known in self.categories.items():
            text = frame[name].astype("string").to_numpy(dtype=object, na_value=None)
            code = pd.Index(known, dtype=object).get_indexer(text).astype(float)
            code[code < 0] = np.nan
            out[:, position[name]] = code
        return out

    @property
    def key(self) -> tuple:
        """Hashable identity: two specs with equal keys build the same inputs."""
        return self.names, tuple(self.categories.items())

    def to_dict(self) -> dict:
        return {"names": list(self.names),
                "categories": {k: list(v) for k, v in self.categories.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        return cls(names=tuple(data["names"]),
                   categories={k: tuple(v) for k, v in data["categories"].items()})


def as_numbers(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The columns `names` as floats: the panel's numeric columns converted in one block
    (per column, pandas costs ~30 us of set-up each, most of a one-row call); columns
    of text (from a file or a request) each read as a number, or missing."""
    return pd.DataFrame(_floats(frame, names), columns=names, index=frame.index)


def _floats(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """as_numbers' values: [row, name]. The numeric columns in one block, the others
    (text, or all missing) each read as numbers."""
    block = frame[names]
    numeric = np.array([dtype.kind in "biuf" for dtype in block.dtypes], dtype=bool)
    if numeric.all():
        return block.to_numpy(dtype=float, na_value=np.nan)
    out = np.empty((len(frame), len(names)))
    if numeric.any():
        out[:, numeric] = block.iloc[:, np.flatnonzero(numeric)].to_numpy(
            dtype=float, na_value=np.nan)
    for j in np.flatnonzero(~numeric):
        out[:, j] = pd.to_numeric(block.iloc[:, j], errors="coerce").to_numpy(dtype=float)
    return out


class ModelInput:
    """One frame's model inputs, built once per FeatureSpec and read by every model that
    shares it. The champions (churn, decline, forecast, leave, survival) are fitted on one
    panel, so one spec: built per model, the same inputs cost POST /v1/score ~3.5 ms five
    times over for a single row."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._codes: dict[tuple, np.ndarray] = {}

    @classmethod
    def of(cls, frame: pd.DataFrame | ModelInput) -> ModelInput:
        return frame if isinstance(frame, ModelInput) else cls(frame)

    def codes(self, spec: FeatureSpec) -> np.ndarray:
        """spec.codes(frame), computed on first use. Read-only: callers share it."""
        if spec.key not in self._codes:
            built = spec.codes(self.frame)
            built.flags.writeable = False
            self._codes[spec.key] = built
        return self._codes[spec.key]


def _categories(col: pd.Series) -> list:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    return sorted(col.dropna().astype(str).unique())


def numeric(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
