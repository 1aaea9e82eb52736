"""Defaults of `dealer-risk simulate`, overridable in dealer-risk.toml under [simulator]."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from features.simulator.world import World


class SimulatorSettings(BaseModel):
    dealers: int = Field(default=2000, ge=10, description="Dealers in the network over the period.")
    months: int = Field(default=48, ge=6, le=240, description="Months simulated.")
    start: str = Field(default="2022-01", description="First simulated month, YYYY-MM.")
    seed: int = Field(default=42, ge=0, description="Same seed, same bytes.")
    format: Literal["parquet", "csv"] = "parquet"
    world: World = Field(default_factory=World,
                         description="Rates and effect sizes, shared shocks included.")

    @field_validator("start")
    @classmethod
    def _month(cls, value: str) -> str:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise ValueError(f"start must be YYYY-MM, got {value!r}")
        return value
