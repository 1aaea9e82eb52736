"""One small simulated network, its panel, and model settings sized for it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from features.panel import build_panel
from features.settings import ContractSettings, LabelSettings
from features.simulator import simulate
from features.simulator.settings import SimulatorSettings
from features.validation import LoadedData, load_data
from models.settings import ModelSettings

SMALL = SimulatorSettings(dealers=400, months=36, seed=11)


def small_settings(**changes) -> ModelSettings:
    """Few trees and origins: the tests check behaviour, not accuracy at scale."""
    base = ModelSettings().model_dump()
    base["booster"] |= {"n_estimators": 80, "early_stopping_rounds": 20,
                        "min_child_samples": 20}
    base["backtest"] |= {"origins": 2, "gate_origins": 2}
    # 400 dealers x 2 origins: calibration and coverage are noisy
    base["gate"] |= {"max_ece": 0.10, "coverage_tolerance": 0.5}
    for path, value in changes.items():
        section, key = path.split("__")
        base[section][key] = value
    return ModelSettings.model_validate(base)


@dataclass(frozen=True)
class Network:
    data_dir: Path
    loaded: LoadedData
    panel: pd.DataFrame
    labels: LabelSettings


@pytest.fixture(scope="session")
def network(tmp_path_factory) -> Network:
    data_dir = tmp_path_factory.mktemp("sim") / "data"
    summary = simulate(data_dir, SMALL)
    loaded = load_data(data_dir, ContractSettings(as_of=pd.Timestamp(summary.as_of).date()))
    labels = LabelSettings()
    return Network(data_dir, loaded, build_panel(loaded.tables, labels=labels), labels)
