"""The features layer's section of the settings.

Each layer owns its section and receives it as an argument; the full settings object
(serve.settings.Settings) composes them, so nothing here imports models or serve.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class ContractSettings(BaseModel):
    """How strictly incoming data is checked."""

    as_of: date | None = Field(
        default=None,
        description="The data's as-of date: events dated after it are rejected as future "
        "dates. Empty means the day the check runs.",
    )
    max_abs_quantity: float = Field(
        default=10_000,
        gt=0,
        description="Order lines with |quantity| above this are rejected as absurd.",
    )
