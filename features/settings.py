"""The features layer's section of the settings.

Each layer owns its section and receives it as an argument; the full settings object
(serve.settings.Settings) composes them, so nothing here imports models or serve.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator


class ContractSettings(BaseModel):
    """How strictly incoming data is checked."""

    as_of: date | None = Field(
        default=None,
        description="The data's as-of date: events dated after it are rejected as future "
        "dates. Empty means the day the check runs.",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="The data's one clock (an IANA zone name): times written without an "
        "offset are taken as times in this zone; times with one (+08:00, Z) are converted "
        "into it, and reported as a notice. Days are cut in this zone.",
    )
    max_abs_quantity: float = Field(
        default=10_000,
        gt=0,
        description="Order lines with |quantity| above this are rejected as absurd.",
    )
    fractional_categories: list[str] = Field(
        default_factory=list,
        description="Product categories sold in fractions (metres of countertop, kilograms): "
        "their fractional quantities pass silently. Elsewhere a fractional quantity (2.5 "
        "cabinets) is kept but reported as a notice naming the rows.",
    )
    opened_grace_days: int = Field(
        default=31,
        ge=0,
        description="Orders and other events dated more than this many days before their "
        "dealer's opened_on are rejected (before_dealer_opened): a contract date a few weeks "
        "after the first stock order is common; years before it is an error.",
    )
    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone name (e.g. Asia/Shanghai, "
                             "UTC)") from None
        return value

    chunk_rows: int = Field(
        default=2_000_000,
        ge=1,
        description="Parquet tables are checked this many rows at a time, which bounds the "
        "memory the checks need; results do not depend on it.",
    )
    stream_order_lines: int = Field(
        default=1_000_000,
        ge=0,
        description="A Parquet orders file with more lines than this is not loaded: DuckDB "
        "finds the lines that could fail a check, only those are checked row by row, the "
        "rest are read from the file when aggregated. Results do not depend on it.",
    )
    stream_event_rows: int = Field(
        default=100_000,
        ge=0,
        description="The same for a Parquet file of tickets, complaints, deliveries or "
        "visits: above this many rows only the rows that could fail a check are loaded "
        "(on the demo's 0.94M event rows the checks take half the time and 14% less "
        "memory than loading them whole). Results do not depend on it.",
    )
    sql_memory_mb: int = Field(
        default=2048,
        ge=256,
        description="Memory DuckDB may use for the order lines (it spills to a temporary "
        "folder beyond this).",
    )


class SparkSettings(BaseModel):
    """The Spark session, when `engine = "spark"`. Spark Connect ($SPARK_REMOTE) wins
    over the master."""

    master: str | None = Field(
        default=None,
        description="spark.master: local[*] (this machine), yarn, spark://host:7077, "
        "k8s://... Empty: local[*] (or $SPARK_REMOTE for Spark Connect).")
    driver_memory: str = Field(default="4g", description="spark.driver.memory (the driver "
                               "holds the dealer x month arrays after the reduction).")
    config: dict[str, str] = Field(
        default_factory=dict,
        description="Further Spark settings, as spark-submit's --conf (e.g. "
        "\"spark.executor.memory\" = \"8g\").")


class ChurnLabel(BaseModel):
    """A dealer churns when it stops ordering, or its contract closes, within the horizon."""

    horizon_days: int = Field(default=90, gt=0, description="Days after the cutoff.")
    active_days: int = Field(
        default=180, gt=0,
        description="Population: a positive order within this many days before the cutoff, "
        "and the contract not closed.")


class LeaveLabel(BaseModel):
    """A dealer leaves when the churn label's silence goes on: no order for a further
    `confirm_months` after the churn horizon (or the contract closes within the horizon).
    What tells a loss from a quiet spell (a store refit, a gap between project orders)."""

    confirm_months: int = Field(
        default=9, gt=0,
        description="Months without an order after the churn horizon that confirm a loss; "
        "the label is known this long after the churn label.")


class DeclineLabel(BaseModel):
    """A dealer declines when next quarter's orders fall well below its reference quarter."""

    drop: float = Field(default=0.30, gt=0, lt=1,
                        description="Relative fall that counts as a decline (0.30 = 30%).")
    horizon_months: int = Field(default=3, gt=0, description="Months summed after the cutoff.")
    min_tenure_months: int = Field(
        default=15, gt=0,
        description="From this tenure the reference is the same months a year earlier; "
        "younger dealers are compared with the trailing months.")


class ForecastTarget(BaseModel):
    horizon_months: int = Field(default=3, gt=0, description="Net orders summed over these "
                                "months after the cutoff.")


class LabelSettings(BaseModel):
    churn: ChurnLabel = Field(default_factory=ChurnLabel)
    leave: LeaveLabel = Field(default_factory=LeaveLabel)
    decline: DeclineLabel = Field(default_factory=DeclineLabel)
    forecast: ForecastTarget = Field(default_factory=ForecastTarget)


class StageSettings(BaseModel):
    """Life-cycle stage criteria, checked in this order: churned, dormant, new, declining,
    growing, mature (docs/features.md, "Life-cycle stage")."""

    dormant_after_days: int = Field(default=90, gt=0, description="No order for this many "
                                    "days: dormant (not yet churned).")
    churned_after_days: int = Field(default=180, gt=0, description="No order for this many "
                                    "days, or the contract closed: churned.")
    new_months: int = Field(default=12, gt=0, description="Tenure below this: new.")
    change: float = Field(default=0.15, gt=0, lt=1, description="Last 12 months' orders at "
                          "least this far below (above) the 12 months before: declining "
                          "(growing).")
    recent_change: float = Field(default=0.3, gt=0, le=1, description="Last 3 months' "
                                 "orders at least this far below the same months a year "
                                 "earlier: declining, whatever the 12 months say.")


class PanelSettings(BaseModel):
    """How the dealer x cutoff panel is built."""

    min_peer_group: int = Field(
        default=10, ge=2,
        description="A region x tier group smaller than this falls back to the whole region.")
    dormant_after_months: int = Field(
        default=12, gt=0,
        description="Dealers without any order for this long (and past their first year) "
        "leave the panel: they are dormant, not at risk.")
    stages: StageSettings = Field(default_factory=StageSettings)
