"""The promotion gate: a new model version becomes `champion` only if it beats every
baseline on the backtest and does not fall behind the current champion beyond a tolerance.

It protects without stopping the business: a version that falls short stays `challenger`
and the current champion keeps serving. Where a model has no champion yet (a new
installation), a first version that beats every baseline becomes champion even if it
misses a limit (calibration, the forecast interval's coverage), marked **provisional** with
the reason, so that a new user's first run always scores; the next version that passes
everything replaces it.

Pure: takes metrics tables and returns a decision with its reasons in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from models.backtest import pooled
from models.baselines import CLASSIFIER_BASELINES
from models.bundle import SURVIVAL
from models.metrics import HIGHER_IS_BETTER
from models.settings import GateSettings

CLASSIFIER_GATE_METRICS = ("roc_auc", "pr_auc", "brier")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    baseline: bool = False
    """A comparison with a baseline: a model that loses one is never promoted."""


@dataclass(frozen=True)
class Decision:
    model: str
    promote: bool
    checks: list[Check] = field(default_factory=list)
    provisional: bool = False
    """Champion because there was none, though it misses a limit (see `reasons`)."""

    @property
    def reasons(self) -> list[str]:
        """What failed, or, when nothing did, what passed."""
        failed = [c.detail for c in self.checks if not c.passed]
        return failed or [c.detail for c in self.checks]

    def summary(self) -> str:
        verdict = ("provisional champion (no champion yet; misses a limit)" if self.provisional
                   else "promoted to champion" if self.promote else "kept as challenger")
        return f"{self.model}: {verdict}: " + "; ".join(self.reasons)


def _value(rows: pd.DataFrame, model: str, predictor: str, metric: str) -> float:
    hit = rows[(rows["model"] == model) & (rows["predictor"] == predictor)]
    return float(hit.iloc[0][metric]) if len(hit) else float("nan")


def _beats(a: float, b: float, metric: str) -> bool:
    return a > b if HIGHER_IS_BETTER[metric] else a < b


def baseline_checks(table: pd.DataFrame, model: str, gate: GateSettings,
                    interval: tuple[float, float]) -> list[Check]:
    rows = pooled(table)
    checks = []
    if model == "forecast":
        own = _value(rows, model, "model", "wape")
        naive = _value(rows, model, "seasonal_naive", "wape")
        checks.append(Check("beats seasonal_naive on wape", _beats(own, naive, "wape"),
                            f"WAPE {own:.3f} vs seasonal naive {naive:.3f}", baseline=True))
        cov = _value(rows, model, "model", "coverage")
        target = interval[1] - interval[0]
        tol = gate.coverage_tolerance
        checks.append(Check("interval coverage", abs(cov - target) <= tol,
                            f"{target:.0%} interval covers {cov:.1%} "
                            f"(allowed {target - tol:.0%}-{target + tol:.0%})"))
        return checks
    if model == SURVIVAL:
        return survival_checks(rows, gate)
    for baseline in CLASSIFIER_BASELINES:
        for metric in CLASSIFIER_GATE_METRICS:
            own = _value(rows, model, "model", metric)
            other = _value(rows, model, baseline, metric)
            checks.append(Check(f"beats {baseline} on {metric}", _beats(own, other, metric),
                                f"{metric} {own:.4f} vs {baseline} {other:.4f}",
                                baseline=True))
    ece = _value(rows, model, "model", "ece")
    checks.append(Check("calibrated", ece <= gate.max_ece,
                        f"ECE {ece:.4f} (limit {gate.max_ece})"))
    return checks


def survival_checks(rows: pd.DataFrame, gate: GateSettings) -> list[Check]:
    """The curves must rank (Uno's C) and fit (integrated Brier) better than Kaplan-Meier's
    one curve for all, and their mean must be near the observed share still ordering.
    D-calibration is reported, not gated: over thousands of dealers its test rejects
    small, harmless departures (Kaplan-Meier's own curve fails it)."""
    checks = []
    for metric in ("uno_c", "ibs"):
        own = _value(rows, SURVIVAL, "model", metric)
        other = _value(rows, SURVIVAL, "kaplan_meier", metric)
        checks.append(Check(f"beats kaplan_meier on {metric}", _beats(own, other, metric),
                            f"{metric} {own:.4f} vs kaplan_meier {other:.4f}", baseline=True))
    predicted = _value(rows, SURVIVAL, "model", "predicted_still_ordering")
    seen = _value(rows, SURVIVAL, "model", "observed_still_ordering")
    checks.append(Check("calibrated", abs(predicted - seen) <= gate.max_survival_gap,
                        f"still ordering at the horizon: predicted {predicted:.1%}, observed "
                        f"{seen:.1%} (limit {gate.max_survival_gap:.0%} apart)"))
    return checks


def champion_checks(new: dict[str, float], champion: dict[str, float] | None, model: str,
                    gate: GateSettings) -> list[Check]:
    """Not worse than the champion's recorded backtest beyond the tolerances."""
    if not champion:
        return [Check("no champion yet", True, "no current champion to compare with")]
    tolerances = ({"wape": gate.wape_tolerance} if model == "forecast" else
                  {"uno_c": gate.uno_c_tolerance, "ibs": gate.ibs_tolerance}
                  if model == SURVIVAL else
                  {"roc_auc": gate.auc_tolerance, "pr_auc": gate.pr_auc_tolerance,
                   "brier": gate.brier_tolerance})
    checks = []
    for metric, tol in tolerances.items():
        if metric not in champion or metric not in new:
            continue
        a, b = new[metric], champion[metric]
        ok = a >= b - tol if HIGHER_IS_BETTER[metric] else a <= b + tol
        checks.append(Check(f"holds up against champion on {metric}", ok,
                            f"{metric} {a:.4f} vs champion {b:.4f} (tolerance {tol})"))
    return checks


def decide(model: str, table: pd.DataFrame, new: dict[str, float],
           champion: dict[str, float] | None, gate: GateSettings,
           interval: tuple[float, float]) -> Decision:
    checks = baseline_checks(table, model, gate, interval) + champion_checks(
        new, champion, model, gate)
    if all(c.passed for c in checks):
        return Decision(model=model, promote=True, checks=checks)
    first = not champion
    beats_baselines = all(c.passed for c in checks if c.baseline)
    return Decision(model=model, promote=first and beats_baselines, checks=checks,
                    provisional=first and beats_baselines)
