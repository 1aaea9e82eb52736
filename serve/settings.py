"""The one settings object: defaults that work, a TOML file, and DEALER_RISK_* variables.

Precedence, highest first: values passed in code, environment variables
(``DEALER_RISK_WORK_DIR``, nested with ``__`` as in ``DEALER_RISK_CONTRACT__AS_OF``),
the TOML file (``dealer-risk.toml`` in the current folder, or the path in
``DEALER_RISK_CONFIG``), then the defaults below. Each layer gets only its own section.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from features.settings import ContractSettings, LabelSettings, PanelSettings, SparkSettings
from features.simulator.settings import SimulatorSettings
from features.storage import Location, as_location
from models.alerts import AlertSettings, RuleError, band_constants, check_rules
from models.settings import ModelSettings
from serve.playbook import PlaybookSettings

CONFIG_ENV = "DEALER_RISK_CONFIG"
DEFAULT_CONFIG = Path("dealer-risk.toml")
_explicit_config: ContextVar[Path | None] = ContextVar("explicit_config", default=None)


class ScoringSettings(BaseModel):
    """Batch scoring: the risk bands managers see, and the data-quality flags."""

    bands: dict[str, float] = Field(
        default={"low": 0.0, "medium": 0.10, "high": 0.25, "critical": 0.50},
        description="Band name -> lowest churn probability in the band.")
    quiet_days: int = Field(default=90, gt=0, description="A dealer is flagged when an "
                            "optional table (tickets, visits ...) has nothing for it in this "
                            "many days before the cutoff, although its own rate in the "
                            "`reporting_days` before made such a silence unlikely.")
    reporting_days: int = Field(default=365, gt=0, description="The window before the "
                                "quiet days whose records give the dealer's own rate.")
    silence_probability: float = Field(
        default=0.05, gt=0, lt=1, description="Flag a silent table only when, at the "
        "dealer's own rate, no record in the quiet days had at most this probability "
        "(Poisson): 13 complaints a year and none in 90 days is news, 2 is not.")
    range_exempt: list[str] = Field(
        default=["orders_days_since_first", "profile_tenure_months",
                 "orders_order_days_lifetime", "orders_amount_lifetime"],
        description="Features that grow with the calendar for every dealer: past the "
        "training range by the months since training, which trees read as the range's "
        "edge; never an `outside_training_range` flag.")
    chart_months: int = Field(default=24, ge=1, description="Months of orders kept per "
                              "dealer in the snapshot for the dashboard's chart.")
    history_snapshots: int = Field(default=13, ge=1, description="`dealer-risk demo` scores "
                                   "this many monthly snapshots, oldest first, so changes "
                                   "and alerts have a past, and the reps' scorecard has the "
                                   "snapshots of the year's quarter starts to compare its "
                                   "losses with.")
    calibration_months: int = Field(default=3, ge=1, description="`score` checks the "
                                    "champions' calibration on this many newest months whose "
                                    "labels are complete.")
    kind_min_probability: float = Field(
        default=0.10, ge=0, le=1, description="Below this churn probability a dealer's risk "
        "is not split into leaving and a quiet spell (`risk_kind` is `low`): the leave "
        "model's year-long horizon exceeds the churn risk of most healthy dealers, which "
        "would mark them all 'leaving'.")
    calibration_tolerance: float = Field(default=0.15, gt=0, description="The mean "
                                         "probability may stray this far (relative) from the "
                                         "observed rate before the check says 'drifting'.")

    @field_validator("bands")
    @classmethod
    def _starts_at_zero(cls, bands: dict[str, float]) -> dict[str, float]:
        if not bands or min(bands.values()) != 0.0 or not all(0 <= v < 1 for v in
                                                                bands.values()):
            raise ValueError("bands need lower bounds in [0, 1) and one band starting at 0")
        return bands


class SupportSettings(BaseModel):
    """The support board (serve/batch/support.py, GET /v1/support, /dashboard/support)."""

    window_days: int = Field(default=90, gt=0, description="Requests raised, due or "
                             "answered in this many days before the cutoff make the board.")


MAINTENANCE_PARTS = ("visited", "on_time", "kept", "growth", "safe")
"""The maintenance score's parts (serve/batch/reps.py), each from 0 (worst) to 1 (best)."""


class RepSettings(BaseModel):
    """The sales reps' scorecard (serve/batch/reps.py, GET /v1/reps, /dashboard/reps)."""

    not_visited_days: int = Field(default=90, gt=0, description="A dealer with no visit for "
                                  "this many days counts as not visited.")
    growth_span: float = Field(default=0.5, gt=0, description="The growth part maps a "
                               "revenue change of -span..+span against last year to 0..1.")
    weights: dict[str, float] = Field(
        default_factory=lambda: {"visited": 0.25, "on_time": 0.2, "kept": 0.2,
                                 "growth": 0.15, "safe": 0.2},
        description="The maintenance score's parts and weights: visited (share of the rep's "
        "dealers visited within not_visited_days), on_time (share of their requests answered "
        "by the deadline), kept (share of the year's dealers not lost), growth (revenue "
        "against last year), safe (share of revenue not at risk). A part without data is "
        "left out and the others' weights rescaled.")

    @field_validator("weights")
    @classmethod
    def _known_parts(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(MAINTENANCE_PARTS))
        if unknown:
            raise ValueError(f"unknown parts {', '.join(unknown)}; allowed: "
                             f"{', '.join(MAINTENANCE_PARTS)}")
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        return weights


class Scenario(BaseModel):
    """A change a manager can make, as the features it moves together (resolving the
    overdue requests changes both their count and their share). Each feature is raised to
    at least, or lowered to at most, its value: a dealer already visited more often than
    the scenario asks keeps its visits."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title_en: str
    title_zh: str
    at_least: dict[str, float] = Field(default_factory=dict)
    at_most: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _moves_something(self) -> Scenario:
        if not self.at_least and not self.at_most:
            raise ValueError(f"scenario {self.name}: give at_least or at_most")
        return self

    def applied_to(self, current: dict[str, float]) -> dict[str, float]:
        """The values after the scenario, from the dealer's current ones."""
        def known(f: str) -> bool:  # a missing or NaN value is simply set
            return current.get(f) is not None and current[f] == current[f]

        out = {f: max(v, current[f]) if known(f) else v for f, v in self.at_least.items()}
        out.update({f: min(v, current[f]) if known(f) else v
                    for f, v in self.at_most.items()})
        return out


class WhatIfSettings(BaseModel):
    """What-if over actionable features (POST /v1/dealers/{id}/what-if)."""

    scenarios: list[Scenario] = Field(default_factory=lambda: [
        Scenario(name="resolve_overdue_requests", title_en="Answer the overdue requests",
                 title_zh="答复所有超时请求",
                 at_most={"service_overdue_open": 0, "service_overdue_share_3m": 0}),
        Scenario(name="visit_as_the_rep_s_other_dealers",
                 title_en="Visit as often as the rep's other dealers of its tier",
                 title_zh="按业务员其他同级经销商的频率拜访",
                 at_least={"engagement_visits_vs_rep_3m": 0,
                           "engagement_visits_vs_usual_3m": 0}),
        Scenario(name="deliver_on_time", title_en="Deliver on time", title_zh="按时交付",
                 at_most={"logistics_late_share_3m": 0, "logistics_delay_days_3m": 0}),
        Scenario(name="resolve_complaints", title_en="Resolve the open complaints",
                 title_zh="解决未结投诉", at_most={"complaints_unresolved": 0}),
    ], description="Named sets of feature changes, accepted as {\"scenario\": name}.")

    @field_validator("scenarios")
    @classmethod
    def _actionable(cls, scenarios: list[Scenario]) -> list[Scenario]:
        from features.catalog import BY_NAME
        for scenario in scenarios:
            wrong = [f for f in (*scenario.at_least, *scenario.at_most) if f not in BY_NAME
                     or not BY_NAME[f].actionable]
            if wrong:
                raise ValueError(f"scenario {scenario.name}: {', '.join(wrong)} not an "
                                 "actionable feature of the catalog")
        names = [s.name for s in scenarios]
        if len(set(names)) != len(names):
            raise ValueError("scenario names must be unique")
        return scenarios

    def by_name(self) -> dict[str, Scenario]:
        return {s.name: s for s in self.scenarios}


class LeverSettings(BaseModel):
    """Levers computed in the batch for the dealers at risk (serve/batch/levers.py)."""

    min_probability: float = Field(default=0.25, ge=0, le=1, description="Dealers at or "
                                   "above this churn probability get their levers in the "
                                   "snapshot (the default is the high band's lower bound).")
    top: int = Field(default=3, ge=1, description="Levers kept per dealer, the largest drop "
                     "in churn risk first.")
    min_points: float = Field(default=0.5, ge=0, description="A lever must lower the churn "
                              "risk by at least this many percentage points.")


ROLES = ("reader", "field", "admin")
"""API key roles: reader (CRMs and dashboards), field (reps and managers: also record known
situations), admin (also reload)."""


class PlanSettings(BaseModel):
    """The retention plan (serve.batch.plan): how a budget is spent on programs."""

    margin_rate: float = Field(default=0.3, gt=0, le=1, description="Gross margin per unit "
                               "of revenue: the revenue a program keeps is worth this share "
                               "of it, which the plan weighs against the program's cost.")
    include_uncertain: bool = Field(default=False, description="Plan with effects whose "
                                    "interval covers zero too (default: never spend on "
                                    "them).")
    unproven: bool = Field(default=False, description="Estimate effects at scoring time "
                           "with an effect model that failed its gate (a `challenger`): its "
                           "effects are then marked unproven everywhere.")
    budget: float = Field(default=500_000, gt=0, description="The budget the dashboard's "
                          "Plan page opens with (CNY).")


class ApiSettings(BaseModel):
    """The risk API (dealer-risk serve)."""

    host: str = Field(default="127.0.0.1", description="Address to bind. Anything but "
                      "loopback needs api_keys.")
    port: int = Field(default=8000, gt=0, lt=65536)
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes.")
    reload_check_seconds: float = Field(default=60, ge=0, description="How often the service "
                                        "looks for a new champion or snapshot (0: never; "
                                        "POST /v1/admin/reload still works).")
    max_body_bytes: int = Field(default=16_000_000, gt=0, description="Larger request bodies "
                                "get 413.")
    page_size: int = Field(default=100, ge=1, description="Default page of GET /v1/risk.")
    document_cache: int = Field(default=50_000, ge=0, description="Rendered dealer "
                                "documents kept in memory (each a few kB).")
    max_page_size: int = Field(default=1000, ge=1)
    session_hours: float = Field(default=12, gt=0, description="How long a dashboard "
                                 "sign-in lasts.")
    keys_file: Path | None = Field(default=None, description="A JSON file of API keys to "
                                   "roles ({\"KEY\": \"reader\"}), beside api_keys; re-read "
                                   "when it changes, so keys are added and withdrawn without "
                                   "a restart. Set, even empty, it means keys are required.")
    keys_check_seconds: float = Field(default=2.0, ge=0, description="How often a worker "
                                      "looks whether keys_file changed (one stat).")
    session_secret: str | None = Field(default=None, description="Mixed into the signature "
                                       "of dashboard session cookies, each signed with its "
                                       "own key. Changing it signs everyone out; withdrawing "
                                       "a key signs out only that key's sessions.")
    behind_tls: bool = Field(default=False, description="The service is reached over HTTPS "
                             "(through a proxy): session cookies are marked Secure.")
    login_free_attempts: int = Field(default=5, ge=1, description="Failed dashboard sign-ins "
                                     "from one client (or with one key) before each further "
                                     "try must wait.")
    login_max_wait_seconds: int = Field(default=900, ge=1, description="The longest wait "
                                        "after repeated failed sign-ins (it doubles from "
                                        "2 seconds).")


class StoreSettings(BaseModel):
    """The service's own records (serve.store): known situations and their audit trail."""

    url: str | None = Field(default=None, description="A SQLAlchemy database URL, e.g. "
                            "postgresql+psycopg://user:pass@host/dealer_risk. Empty: a "
                            "SQLite file store.db in the work directory.")
    refresh_seconds: float = Field(default=2.0, ge=0, description="How often a server "
                                   "process checks the store for other processes' changes "
                                   "(the situations shown and the alerts held).")
    situation_max_days: int = Field(default=366, ge=1, description="The furthest a known "
                                    "situation may expire: a hold that never ends would "
                                    "silence a dealer for good.")


NOTIFY_LIMITS = {"wecom": (20, None, 4096), "dingtalk": (20, None, 20000),
                 "feishu": (100, 5, 30000), "email": (30, None, 200_000)}
"""Destination kind -> (messages a minute, a second or None, bytes a message): the
platforms' published limits for group robots (WeCom: 20 a minute, 4,096 bytes of markdown;
DingTalk: 20 a minute; Feishu/Lark: 100 a minute and 5 a second)."""


class Destination(BaseModel):
    """Where `dealer-risk notify` sends digests of new and changed alerts, and which."""

    name: str = Field(min_length=1, description="How the outbox and the output name it.")
    kind: Literal["wecom", "dingtalk", "feishu", "email"]
    url: SecretStr | None = Field(default=None, description="The robot's webhook URL "
                                  "(wecom, dingtalk, feishu); secret: it carries the key.")
    secret: SecretStr | None = Field(default=None, description="The robot's signing secret "
                                     "(dingtalk, feishu: 'sign' security setting).")
    to: list[str] = Field(default_factory=list, description="E-mail recipients.")
    language: Literal["en", "zh", "both"] = Field(default="zh", description="The robots' "
                                                  "default: zh; e-mail's: both.")
    min_severity: Literal["low", "medium", "high"] = "medium"
    regions: list[str] = Field(default_factory=list, description="Only these regions "
                               "(empty: all).")
    sales_reps: list[str] = Field(default_factory=list, description="Only these reps' "
                                  "dealers (empty: all).")
    per_minute: int | None = Field(default=None, ge=1, description="Messages a minute; "
                                   "empty: the platform's limit (NOTIFY_LIMITS).")

    @model_validator(mode="after")
    def _complete(self) -> Destination:
        if self.kind == "email" and not self.to:
            raise ValueError(f"destination {self.name}: an email destination needs `to`")
        if self.kind != "email" and self.url is None:
            raise ValueError(f"destination {self.name}: a {self.kind} robot needs `url`")
        if self.kind == "email" and "language" not in self.model_fields_set:
            self.language = "both"  # a mail is read at leisure: both languages by default
        if self.kind == "dingtalk" and self.secret is None:
            raise ValueError(f"destination {self.name}: DingTalk robots are signed here: set "
                             "`secret` (the robot's 加签 secret)")
        return self

    def limits(self) -> tuple[int, int | None, int]:
        minute, second, size = NOTIFY_LIMITS[self.kind]
        return (min(self.per_minute, minute) if self.per_minute else minute), second, size


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=25, gt=0, lt=65536)
    starttls: bool = False
    user: str | None = None
    password: SecretStr | None = None
    sender: str = "dealer-risk@localhost"
    timeout_seconds: float = Field(default=30, gt=0)


class NotifySettings(BaseModel):
    """Alerts pushed where managers work (`dealer-risk notify`): digests of new and changed
    alerts to group robots and e-mail, de-duplicated, paced, retried, kept in an outbox."""

    destinations: list[Destination] = Field(default_factory=list)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    after_score: bool = Field(default=True, description="`score` and `retrain` run notify "
                              "when destinations are set.")
    dashboard_url: str = Field(default="http://127.0.0.1:8000", description="Links in "
                               "messages open /dashboard/dealers/{id} under it.")
    cooldown_days: int = Field(default=7, ge=0, description="An alert already sent to a "
                               "destination is sent again only when it changes (a new "
                               "alert, another severity) or after this many days.")
    max_attempts: int = Field(default=4, ge=1, description="Tries per message in one run "
                              "(429 and 5xx answers); then it is failed in the outbox "
                              "until `notify --resend`.")
    retry_seconds: float = Field(default=2.0, ge=0, description="The first wait before a "
                                 "retry; it doubles (a Retry-After header wins).")
    block_minutes: int = Field(default=10, ge=0, description="DingTalk blocks a robot this "
                               "long after its limit is exceeded: its messages wait.")
    timeout_seconds: float = Field(default=10, gt=0)


class TaskSettings(BaseModel):
    """Tasks opened from alerts (serve.service.tasks): who does what by when."""

    min_severity: Literal["low", "medium", "high"] = Field(
        default="high", description="Alerts at or above this severity open a task.")
    due_days: dict[Literal["low", "medium", "high"], int] = Field(
        default_factory=lambda: {"high": 7, "medium": 14, "low": 30},
        description="Days from opening to the due date, by the alert's severity.")
    program_months: int = Field(default=3, ge=1, description="How long a program offered "
                                "through a task runs in the programs export, when the task "
                                "does not say (ended_on = done day + this).")
    page_size: int = Field(default=50, ge=1, description="Tasks per page of the dashboard's "
                           "Tasks page (a network's alerts open hundreds; each row carries "
                           "its form).")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DEALER_RISK_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    work_dir: Path = Field(
        default=Path(".dealer-risk"),
        description="Where generated artefacts go: rejects, panels, MLflow store, snapshots.",
    )
    data_dir: str | None = Field(
        default=None,
        description="The data folder to use when a command is given none: a path, or a "
        "URI Spark and pyarrow read (s3://, gs://, abfs://, hdfs://). "
        "Empty means the sample network under the work directory.",
    )
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="Where the heavy passes over order lines and events run: duckdb (in "
        "this process, up to about 50M lines) or spark (a cluster; docs/scale.md).")
    spark: SparkSettings = Field(default_factory=SparkSettings)
    contract: ContractSettings = Field(default_factory=ContractSettings)
    panel: PanelSettings = Field(default_factory=PanelSettings)
    labels: LabelSettings = Field(default_factory=LabelSettings)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    support: SupportSettings = Field(default_factory=SupportSettings)
    reps: RepSettings = Field(default_factory=RepSettings)
    what_if: WhatIfSettings = Field(default_factory=WhatIfSettings)
    levers: LeverSettings = Field(default_factory=LeverSettings)
    plan: PlanSettings = Field(default_factory=PlanSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    playbook: PlaybookSettings = Field(default_factory=PlaybookSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    api_keys: dict[str, Literal["reader", "field", "admin"]] = Field(
        default_factory=dict,
        description="API key -> role (reader: CRMs and dashboards; field: also records "
        "known situations; admin: also reload). "
        "Set as JSON in DEALER_RISK_API_KEYS. Empty: the API runs open on loopback only.")

    @model_validator(mode="after")
    def _rules_evaluate(self) -> Settings:
        """Alert rules name real columns: a typo fails at startup, not at scoring."""
        from features.catalog import CATALOG
        from features.panel import KEYS

        try:
            check_rules(self.alerts.rules, [*KEYS, "active", "stage",
                                            *(f.name for f in CATALOG)],
                        band_constants(self.scoring.bands))
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        return self

    def public_dump(self) -> dict:
        """The settings as JSON values with the secrets masked: what `config show` prints
        and what MLflow records with every run (keys never leave the process)."""
        values = self.model_dump(mode="json")
        values["api_keys"] = {f"key_{i}": role for i, role in
                              enumerate(values["api_keys"].values(), start=1)}
        if values["api"].get("session_secret"):
            values["api"]["session_secret"] = "<set>"
        return values

    @property
    def sample_data_dir(self) -> Path:
        return self.work_dir / "sample-data"

    @property
    def effective_data_dir(self) -> Location:
        return as_location(self.data_dir) if self.data_dir else self.sample_data_dir

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)


def config_path() -> Path:
    """The TOML file in force: --config, else $DEALER_RISK_CONFIG, else ./dealer-risk.toml."""
    return _explicit_config.get() or Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


class ConfigError(Exception):
    """The settings could not be read; the message says where and what."""


def load_settings(config: Path | None = None) -> Settings:
    """Build the effective settings, optionally from an explicit TOML file."""
    if config is not None and not config.is_file():
        raise ConfigError(f"{config}: settings file not found")
    if config is None and os.environ.get(CONFIG_ENV) and not config_path().is_file():
        raise ConfigError(f"{config_path()}: settings file not found (from {CONFIG_ENV})")
    token = _explicit_config.set(config)
    try:
        return Settings()
    except Exception as exc:  # pydantic's ValidationError, TOML decode errors
        raise ConfigError(f"invalid settings ({config_path()} or DEALER_RISK_*): {exc}") from None
    finally:
        _explicit_config.reset(token)
