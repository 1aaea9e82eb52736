"""The models layer's section of the settings: boosters, splits, calibration, backtest, gate.

Composed into serve.settings.Settings as `models`; nothing here imports serve.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field, model_validator


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system has one (a
    container's cpuset, `taskset`, each test worker's own core), else the machine's. Two
    LightGBM jobs each asking for every core slow each other several-fold."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class BoosterSettings(BaseModel):
    """LightGBM parameters shared by every model.

    Trees are kept shallow on purpose: TreeSHAP's cost grows with depth squared, and the
    serving path computes contributions for every score (benchmarks/RESULTS.md shows the
    accuracy cost of the constraint).
    """

    n_estimators: int = Field(default=400, gt=0, description="Upper bound on trees; early "
                              "stopping on the held-out slice picks the number.")
    learning_rate: float = Field(default=0.08, gt=0, le=1)
    num_leaves: int = Field(default=15, ge=2)
    max_depth: int = Field(default=5, ge=1, description="Caps TreeSHAP's cost per row.")
    min_child_samples: int = Field(default=60, ge=1)
    subsample: float = Field(default=0.8, gt=0, le=1)
    colsample_bytree: float = Field(default=0.7, gt=0, le=1)
    reg_lambda: float = Field(default=2.0, ge=0)
    max_bin: int = Field(default=63, ge=2, description="Histogram bins per feature: fewer "
                         "bins train faster, at no measurable cost here (RESULTS.md).")
    early_stopping_rounds: int = Field(default=60, gt=0)
    threads: int = Field(default_factory=available_cores, ge=1,
                         description="LightGBM threads (default: the cores this process may "
                         "use, which a container or `taskset` can limit).")


class SplitSettings(BaseModel):
    """How the labelled cutoffs before an origin are split, always by time.

    Oldest to newest: fit | early stopping | calibration. After early stopping picks the
    number of trees, the booster is refitted on fit + early stopping; the calibration slice
    is never seen by the booster.
    """

    early_stopping_cutoffs: int = Field(default=3, ge=1)
    calibration_cutoffs: int = Field(default=4, ge=2)
    min_fit_cutoffs: int = Field(default=6, ge=1, description="Fewer labelled cutoffs than "
                                 "this before an origin is an error, not a weak model.")


class CalibrationSettings(BaseModel):
    method: Literal["auto", "isotonic", "platt"] = Field(
        default="auto",
        description="auto: fit both on the older part of the calibration slice, keep the one "
        "with the lower log loss on its newest cutoff, refit it on the whole slice.")
    ece_bins: int = Field(default=10, ge=2, description="Bins of the expected calibration "
                          "error.")


class ForecastSettings(BaseModel):
    tweedie_variance_power: float = Field(default=1.3, gt=1, lt=2, description="Tweedie "
                                          "objective of the expected-amount model.")
    interval: tuple[float, float] = Field(default=(0.1, 0.9), description="Quantiles of the "
                                          "interval (p10, p90 by default).")
    conformal: bool = Field(default=True, description="Widen or narrow the quantile models' "
                            "interval on the calibration slice (conformalized quantile "
                            "regression) so that its coverage holds.")


class RuleBaselineSettings(BaseModel):
    """The rule-based early-warning score a channel manager would write by hand."""

    days_since_order: int = Field(default=60, gt=0, description="One point when the last "
                                  "order is older than this.")
    yoy_drop: float = Field(default=0.30, gt=0, lt=1, description="One point when the last 3 "
                            "months are this far below the same months last year.")
    overdue_requests: int = Field(default=1, ge=1, description="One point for this many "
                                  "support requests overdue and open.")
    complaint_surge: float = Field(default=2.0, gt=0, description="One point when complaints "
                                   "exceed the usual 3 months by this many.")
    no_order_days_grid: tuple[int, ...] = Field(
        default=(30, 45, 60, 75, 90, 120, 150, 180),
        description="Candidates for the best single rule 'no order in N days'.")


class BacktestSettings(BaseModel):
    origins: int = Field(default=12, ge=1, description="Monthly origins, newest possible "
                         "first: each refits the models as a real monthly retrain would.")
    gate_origins: int = Field(default=6, ge=1, description="Origins `train` backtests to "
                              "feed the promotion gate: at least 6, as the quality bars "
                              "ask, since calibration wobbles from month to month.")
    top_share: float = Field(default=0.10, gt=0, lt=1, description="The share of dealers a "
                             "manager can call: lift, precision and revenue captured there.")


class GateSettings(BaseModel):
    """A new version becomes champion only if it beats every baseline and does not fall
    behind the current champion's recorded backtest by more than these tolerances."""

    auc_tolerance: float = Field(default=0.01, ge=0)
    pr_auc_tolerance: float = Field(default=0.02, ge=0)
    brier_tolerance: float = Field(default=0.002, ge=0)
    wape_tolerance: float = Field(default=0.02, ge=0)
    max_ece: float = Field(default=0.03, gt=0)
    uno_c_tolerance: float = Field(default=0.01, ge=0)
    ibs_tolerance: float = Field(default=0.002, ge=0)
    max_survival_gap: float = Field(default=0.05, gt=0, lt=1, description="The survival "
                                    "curves pass when the mean predicted chance of still "
                                    "ordering at the horizon is this close to the observed "
                                    "(Kaplan-Meier) share.")
    coverage_tolerance: float = Field(default=0.05, ge=0, description="The forecast's "
                                      "interval passes when its coverage is this close to "
                                      "nominal (80% +- 5 points).")


class ExplainSettings(BaseModel):
    top_factors: int = Field(default=3, ge=1, description="Risk-raising reasons shown per "
                             "score.")
    top_lowering: int = Field(default=2, ge=0, description="Factors that lower the risk, "
                              "shown apart from the reasons.")
    peer_keys: list[str] = Field(
        default_factory=lambda: ["profile_region", "profile_channel"], min_length=1,
        description="The peers a reason is measured against: the dealers scored at the same "
        "cutoff with the same values of these columns (the first alone where that group has "
        "fewer than panel.min_peer_group dealers). A factor all of them share (a regional "
        "price war, a slump of the channel) cancels out.")
    context_notes: int = Field(default=2, ge=0, description="Notes on fixed attributes "
                               "(channel, tier, age, season) shown as context per score.")
    context_min_logodds: float = Field(default=0.1, ge=0, description="A fixed attribute "
                                       "raising the score by at least this much (log-odds, "
                                       "against the average dealer) gets a context note.")
    past_months: int = Field(default=12, ge=1, description="The dealer's own past value is "
                             "the feature this many months before the cutoff.")


class MonitorSettings(BaseModel):
    """`dealer-risk monitor`: drift since training and how past scores turned out."""

    bins: int = Field(default=10, ge=2, description="Quantile bins of the population "
                      "stability index (PSI), and of the calibration error.")
    psi_warn: float = Field(default=0.10, gt=0, description="PSI from which a feature or "
                            "score is 'moving'.")
    psi_alert: float = Field(default=0.25, gt=0, description="PSI from which it has "
                             "'shifted': retrain, or find out why.")
    min_rows: int = Field(default=30, ge=1, description="Segments with fewer scored and "
                          "matured dealers are not reported.")
    reference_months: int = Field(default=12, ge=1, description="The reference for drift: "
                                  "the newest this many monthly cutoffs the champion learned "
                                  "from (older ones carry the history's warm-up, where "
                                  "12-month features are still missing).")


class TrackingSettings(BaseModel):
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI. Empty: $MLFLOW_TRACKING_URI, else a SQLite store "
        "<work_dir>/mlflow.db with artifacts in <work_dir>/mlartifacts.")
    experiment: str = Field(default="dealer-risk")
    connect_timeout_seconds: float = Field(
        default=5, gt=0,
        description="A tracking server that does not answer its /health within this many "
        "seconds stops the command at once with a clear error (MLflow itself would retry "
        "for minutes).")
    model_prefix: str = Field(default="dealer-risk", description="Registered models are "
                              "<prefix>-churn, <prefix>-decline, <prefix>-forecast.")


class EffectSettings(BaseModel):
    """Program effect models (models.effects): what a retention program changes in a
    dealer's chance of leaving, learned from the programs table."""

    horizon_months: int = Field(default=12, ge=3, description="The outcome: the dealer is "
                                "no longer active this many months after the decision.")
    final_stage: Literal["linear", "forest"] = Field(
        default="linear", description="How an effect varies between dealers: linear in a "
        "few symptom features, or a causal forest over all features (chosen by "
        "benchmarks/bench_programs.py).")
    learn_from: Literal["all", "randomized"] = Field(
        default="all", description="Which rows the effects are learned from: every "
        "decision (managers' choices weighted by a propensity model), or only the months "
        "pilots were drawn (the piloted against the other free dealers of those months: "
        "no confounding, fewer rows).")
    min_treated: int = Field(default=30, ge=5, description="Programs given to fewer "
                             "dealers (with a known outcome) are not modelled.")
    controls_per_treated: int = Field(default=20, ge=1, description="Untreated rows kept "
                                      "per treated row when fitting.")
    nuisance_trees: int = Field(default=150, ge=10, description="LightGBM trees of the "
                                "outcome and propensity models.")
    folds: int = Field(default=3, ge=2, description="Cross-fitting folds.")
    min_propensity: float = Field(default=0.01, gt=0, lt=0.5, description="Propensities "
                                  "are clipped here, so a few dealers a manager would "
                                  "never have given a program cannot dominate.")
    forest_trees: int = Field(default=200, ge=10)
    forest_min_leaf: int = Field(default=20, ge=1)
    interval: float = Field(default=0.9, gt=0, lt=1, description="Coverage of the effect "
                            "intervals shown and planned with.")
    test_months: int = Field(default=12, ge=3, description="The newest months with a known "
                             "outcome are held out: the gate judges the model there, on the "
                             "randomized rows only.")
    bootstrap: int = Field(default=200, ge=20, description="Resamples for the gate's "
                           "intervals.")


class SurvivalSettings(BaseModel):
    """The time-to-leaving model (models.survival): a discrete-time hazard over the months
    after a cutoff, giving each dealer a survival curve."""

    horizon_months: int = Field(default=12, ge=3, le=24, description="Months ahead the "
                                "curve reaches; the event is labels.leave's loss (no order "
                                "for confirm_months, or the contract closes).")
    report_months: list[int] = Field(default_factory=lambda: [3, 6, 12], min_length=1,
                                     description="Months at which the snapshot, the API and "
                                     "the dealer page give the chance of still ordering.")
    fit_cutoffs: int = Field(default=24, ge=4, description="The newest cutoffs with any "
                             "follow-up before the origin that the hazard learns from.")
    cutoff_stride: int = Field(default=2, ge=1, description="Every this many of them: "
                               "neighbouring cutoffs repeat nearly the same dealer-months, so "
                               "this halves the training rows for little information.")
    calibration_cutoffs: int = Field(default=4, ge=1, description="The newest of those "
                                     "(strided) cutoffs, kept from the booster, on which its "
                                     "hazards are calibrated (Platt): the fewest.")
    calibration_cutoffs_most: int = Field(
        default=6, ge=1, description="Where the history allows, up to this many: the "
        "calibration takes older cutoffs, followed for more of the horizon, once the booster "
        "keeps its least fit and early-stopping cutoffs (models.survival.calibration_count).")
    calibration: Literal["platt_by_month", "platt"] = Field(
        default="platt_by_month", description="How the hazards are calibrated on those "
        "cutoffs: 'platt_by_month', a slope and intercept that move with the months ahead "
        "(models.calibration.fit_platt_by_month), or 'platt', one of each for every month.")
    d_calibration_bins: int = Field(default=10, ge=4)
    gate_origins: int = Field(default=3, ge=1, description="Origins `train` backtests the "
                              "survival model at for its gate: the newest whose dealers the "
                              "data follows for the whole horizon.")

    @model_validator(mode="after")
    def _inside(self) -> SurvivalSettings:
        if max(self.report_months) > self.horizon_months or min(self.report_months) < 1:
            raise ValueError(f"report_months {self.report_months} must lie in 1.."
                             f"{self.horizon_months} (horizon_months)")
        if self.calibration_cutoffs_most < self.calibration_cutoffs:
            raise ValueError(f"calibration_cutoffs_most {self.calibration_cutoffs_most} must "
                             f"be at least calibration_cutoffs {self.calibration_cutoffs}")
        return self


class ModelSettings(BaseModel):
    seed: int = Field(default=7, description="Seeds every random choice in training.")
    booster: BoosterSettings = Field(default_factory=BoosterSettings)
    split: SplitSettings = Field(default_factory=SplitSettings)
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    forecast: ForecastSettings = Field(default_factory=ForecastSettings)
    rules: RuleBaselineSettings = Field(default_factory=RuleBaselineSettings)
    backtest: BacktestSettings = Field(default_factory=BacktestSettings)
    gate: GateSettings = Field(default_factory=GateSettings)
    explain: ExplainSettings = Field(default_factory=ExplainSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    effects: EffectSettings = Field(default_factory=EffectSettings)
    survival: SurvivalSettings = Field(default_factory=SurvivalSettings)
