"""Time to leaving: a discrete-time hazard model and each dealer's survival curve.

The churn and leave models answer "within the horizon, yes or no". A manager planning the
year asks "how long is this dealer likely to keep ordering": the chance of still ordering
at 3, 6 and 12 months, and the mean months it orders in the next 12 (the restricted mean).

The model: every active dealer at a cutoff is followed month by month (person-periods);
LightGBM learns the chance of being gone in month j given still there before it, from the
cutoff's features and j. The curve is the product of one minus those hazards. The event is
the leave label's loss (features.labels.leave_month: the first month of an order silence of
`leave.confirm_months`, or the contract's close). A silence is known `confirm_months`
after it starts, so at an origin each row is followed only as far as the origin's data
tells (`observed`) and censored there: the rows of the last year teach the first months of
the curve, the older rows all of it, and nothing is learned from data after the origin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.settings import LabelSettings
from models.bundle import MONTHS_AHEAD, SURVIVAL, SurvivalBundle
from models.calibration import Calibrator, fit_platt, fit_platt_by_month
from models.dataset import FeatureSpec, TrainingDataError
from models.settings import ModelSettings, SurvivalSettings
from models.survival_metrics import d_calibration, integrated_brier, kaplan_meier, uno_c
from models.training import booster_params, fit_booster

LABEL = "leave_month"


def _months_between(start: pd.Series | pd.DatetimeIndex, end: pd.Timestamp) -> np.ndarray:
    s = pd.DatetimeIndex(start)
    return ((end.year - s.year) * 12 + (end.month - s.month)).to_numpy(dtype=int)


def follow_up(cutoffs: pd.Series | pd.DatetimeIndex, origin: pd.Timestamp,
              labels: LabelSettings) -> np.ndarray:
    """Months after each cutoff whose gone-or-not the data before `origin` settles: month k
    (gone from month cutoff + k - 1) needs its `confirm_months` of silence before the
    origin. Below 1: nothing known yet."""
    return _months_between(cutoffs, origin) - labels.leave.confirm_months + 1


def observed(rows: pd.DataFrame, origin: pd.Timestamp, labels: LabelSettings, horizon: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) of each row as seen at `origin`: months followed (at most `horizon`)
    and whether the dealer was gone by then. time 0: the row tells nothing yet."""
    month = rows[LABEL].to_numpy(dtype=float)
    limit = np.minimum(follow_up(rows["cutoff"], origin, labels), horizon).astype(float)
    event = month <= limit
    time = np.where(event, month, np.maximum(limit, 0))
    return time.astype(int), event


def person_periods(x: pd.DataFrame, time: np.ndarray, event: np.ndarray
                   ) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per dealer and month it was still at risk (months 1..time); the target is 1
    in the month it was gone."""
    repeat = np.repeat(np.arange(len(x)), time)
    starts = np.cumsum(time) - time  # each row's first person-period
    months = np.arange(len(repeat)) - np.repeat(starts, time) + 1
    out = x.iloc[repeat].reset_index(drop=True)
    out[MONTHS_AHEAD] = months.astype(float)
    y = (event[repeat] & (months == time[repeat])).astype(float)
    return out, y


def training_cutoffs(panel: pd.DataFrame, origin: pd.Timestamp, settings: ModelSettings,
                     labels: LabelSettings) -> pd.DatetimeIndex:
    """The newest `fit_cutoffs` cutoffs with any follow-up at the origin, every
    `cutoff_stride`-th counted back from the newest."""
    return strided_cutoffs(panel.loc[panel[LABEL].notna(), "cutoff"].unique(), origin,
                           settings, labels)


def strided_cutoffs(cutoffs: Iterable[pd.Timestamp] | np.ndarray, origin: pd.Timestamp,
                    settings: ModelSettings, labels: LabelSettings) -> pd.DatetimeIndex:
    """training_cutoffs among `cutoffs` (the data's, or a panel's labelled ones)."""
    cuts = pd.DatetimeIndex(cutoffs).sort_values()
    cuts = cuts[follow_up(cuts, origin, labels) >= 1]
    sv = settings.survival
    return cuts[-sv.fit_cutoffs:][::-1][::sv.cutoff_stride][::-1]


def newest_cutoffs(strided: pd.DatetimeIndex, origin: pd.Timestamp,
                   settings: ModelSettings) -> pd.DatetimeIndex:
    """Of the strided cutoffs at an origin, those a model fitted there calibrates on: what
    `retrain` and `score` check a champion's curves on."""
    least = settings.survival.calibration_cutoffs
    if len(strided) < least:
        raise TrainingDataError(
            f"{SURVIVAL}: {len(strided)} cutoffs with follow-up before {origin:%Y-%m-%d}, "
            f"need {least} (models.survival.calibration_cutoffs) to check or refit its "
            "calibration")
    return strided[-calibration_count(len(strided), settings):]


def _counts(settings: ModelSettings) -> tuple[int, int, int]:
    """The least fit cutoffs, the early-stopping and the calibration cutoffs, counted in the
    survival model's strided cutoffs (models.dataset.time_slices' split, strided)."""
    sv, split = settings.survival, settings.split
    return (split.min_fit_cutoffs // sv.cutoff_stride,
            max(1, split.early_stopping_cutoffs // sv.cutoff_stride), sv.calibration_cutoffs)


def calibration_count(available: int, settings: ModelSettings) -> int:
    """How many of the newest of `available` strided cutoffs calibrate the hazards: at
    least `calibration_cutoffs`, and up to `calibration_cutoffs_most` once the booster keeps
    its least fit and early-stopping cutoffs.

    Why more where the history allows: the newest cutoffs are followed only a few months,
    so with four of them months 7-12 of the curve were extrapolated; with up to six the
    curves pass D-calibration out of time in six of nine worlds where four passed in three
    (benchmarks/RESULTS.md, survival-worlds; worse on the demo sample's origins, recorded
    there too). A short export keeps four, so it trains as before."""
    fit, es, cal = _counts(settings)
    return int(min(max(available - fit - es, cal), settings.survival.calibration_cutoffs_most))


def _slices(cuts: pd.DatetimeIndex, settings: ModelSettings
            ) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex, pd.DatetimeIndex]:
    """Oldest to newest: fit | early stopping | calibration."""
    _, es, _ = _counts(settings)
    cal = calibration_count(len(cuts), settings)
    return cuts[:-(es + cal)], cuts[-(es + cal):-cal], cuts[-cal:]


def _needed(settings: ModelSettings) -> int:
    return sum(_counts(settings))


def fit_survival(panel: pd.DataFrame, origin: pd.Timestamp, settings: ModelSettings,
                 labels: LabelSettings) -> SurvivalBundle:
    """The hazard booster at `origin` (early stopping on later cutoffs, then a refit, as
    models.training.fit_booster), and a Platt calibrator of its hazards on the newest
    cutoffs, which the booster never saw.

    Why the calibrator: a month's loss is settled 9 months late, so the booster learns
    from cutoffs a year or more before the origin; out of time its curves came out too
    spread (the riskiest fifth of dealers predicted 46% still ordering at 12 months where
    72% were, the safest 98% where 91% were; benchmarks/bench_survival.py). The newest
    cutoffs, followed only a few months, carry the most recent behaviour; a slope and an
    intercept fitted on them pull the hazards back. One of each for every month still
    left them too spread at 12 months (the riskiest fifth 51% where 72%) and failed
    D-calibration in every world; the slope and intercept now move with the months ahead
    (settings.survival.calibration, models.calibration.fit_platt_by_month), and the
    calibration takes more cutoffs where the history allows (calibration_count)."""
    sv = settings.survival
    cuts = training_cutoffs(panel, origin, settings, labels)
    if len(cuts) < _needed(settings):
        raise TrainingDataError(
            f"{SURVIVAL}: {len(cuts)} cutoffs with follow-up before {origin:%Y-%m-%d}, "
            f"need {_needed(settings)}; a month's loss is known "
            f"{labels.leave.confirm_months} months later (labels.leave.confirm_months), so "
            "the survival model needs about a year more history than the churn model")
    spec = FeatureSpec.from_panel(panel)
    parts = {}
    slices = _slices(cuts, settings)
    for name, which in zip(("fit", "es", "cal"), slices, strict=True):
        rows = panel[panel["cutoff"].isin(which) & panel[LABEL].notna()]
        time, event = observed(rows, origin, labels, sv.horizon_months)
        parts[name] = person_periods(spec.matrix(rows), time, event)
    params = booster_params(settings.booster, settings.seed, objective="binary",
                            metric="binary_logloss")
    wide = FeatureSpec(names=(*spec.names, MONTHS_AHEAD), categories=spec.categories)
    booster, trees = fit_booster(params, wide, *parts["fit"], *parts["es"], settings.booster)
    x_cal, y_cal = parts["cal"]
    margin = booster.predict(wide.matrix(x_cal), raw_score=True)
    calibrator = _hazard_calibrator(margin, x_cal[MONTHS_AHEAD].to_numpy(), y_cal, sv)
    months = np.concatenate([x[MONTHS_AHEAD].to_numpy() for x, _ in parts.values()])
    gone = np.concatenate([y for _, y in parts.values()])
    return SurvivalBundle(
        spec=spec, booster=booster, horizon=sv.horizon_months, calibrator=calibrator,
        metadata={"model": SURVIVAL, "origin": f"{origin:%Y-%m-%d}", "trees": trees,
                  "cutoffs": [f"{c:%Y-%m-%d}" for c in cuts],
                  "calibration_cutoffs": [f"{slices[2][0]:%Y-%m-%d}",
                                          f"{slices[2][-1]:%Y-%m-%d}"],
                  "person_periods": sum(len(x) for x, _ in parts.values()),
                  "events": int(sum(y.sum() for _, y in parts.values())),
                  "horizon_months": sv.horizon_months,
                  "report_months": list(sv.report_months),
                  "kaplan_meier": period_kaplan_meier(months, gone, sv.horizon_months)})


def _hazard_calibrator(margin: np.ndarray, months: np.ndarray, gone: np.ndarray,
                       sv: SurvivalSettings) -> Calibrator:
    """The hazards' calibrator on person-periods: their margins, months ahead and losses."""
    return (fit_platt_by_month(margin, months, gone) if sv.calibration == "platt_by_month"
            else fit_platt(margin, gone))


@dataclass(frozen=True)
class NewestPeriods:
    """The person-periods of the newest calibration cutoffs at an origin (those a model
    fitted there would calibrate on), with a bundle's raw hazards on them."""

    cutoffs: pd.DatetimeIndex
    rows: pd.DataFrame
    margin: np.ndarray
    months: np.ndarray
    gone: np.ndarray


def newest_periods(bundle: SurvivalBundle, panel: pd.DataFrame, origin: pd.Timestamp,
                   settings: ModelSettings, labels: LabelSettings) -> NewestPeriods:
    """fit_survival's calibration slice at `origin`, scored by `bundle`'s booster."""
    cuts = newest_cutoffs(training_cutoffs(panel, origin, settings, labels), origin, settings)
    return periods_at(bundle, panel, cuts, origin, labels)


def periods_at(bundle: SurvivalBundle, panel: pd.DataFrame, cuts: pd.DatetimeIndex,
               origin: pd.Timestamp, labels: LabelSettings) -> NewestPeriods:
    """The person-periods of the panel's rows at `cuts`, scored by `bundle`'s booster: each
    row followed as far as the origin's data settles (months 1..time), lost in its last
    month if the event came."""
    rows = panel[panel["cutoff"].isin(cuts) & panel[LABEL].notna()].reset_index(drop=True)
    time, event = observed(rows, origin, labels, bundle.horizon)
    margins = bundle.margins(rows)
    months = np.arange(1, bundle.horizon + 1)
    at_risk = months[None, :] <= time[:, None]  # row-major: person_periods' order
    gone = event[:, None] & (months[None, :] == time[:, None])
    return NewestPeriods(cutoffs=cuts, rows=rows, margin=margins[at_risk],
                         months=np.broadcast_to(months, margins.shape)[at_risk].astype(float),
                         gone=gone[at_risk].astype(float))


def survival_calibration(bundle: SurvivalBundle, periods: NewestPeriods,
                         tolerance: float) -> dict:
    """The curves' calibration in the large on the newest months: losses the calibrated
    hazards expect over the person-periods against those observed, their relative gap, and
    whether it drifts beyond `tolerance` (scoring.calibration_tolerance, as the
    classifiers' check)."""
    expected = float(bundle.calibrator(periods.margin, months=periods.months).sum())
    observed_ = float(periods.gone.sum())
    gap = expected / observed_ - 1 if observed_ else float("nan")
    return {"months": [f"{c:%Y-%m-%d}" for c in periods.cutoffs],
            "person_periods": len(periods.gone), "expected_losses": expected,
            "observed_losses": observed_, "gap": gap,
            "drifting": bool(observed_) and abs(gap) > tolerance}


def recalibrated_survival(bundle: SurvivalBundle, periods: NewestPeriods,
                          settings: ModelSettings) -> SurvivalBundle:
    """The same booster with its hazards' calibrator refitted on the newest periods: what
    fit_survival would have fitted there, so a champion whose curves drift follows the
    data without a new booster (the ranking and Uno's C stay)."""
    calibrator = _hazard_calibrator(periods.margin, periods.months, periods.gone,
                                    settings.survival)
    return replace(bundle, calibrator=calibrator, metadata={
        **bundle.metadata, "recalibration_cutoffs": [f"{periods.cutoffs[0]:%Y-%m-%d}",
                                                     f"{periods.cutoffs[-1]:%Y-%m-%d}"]})


def period_kaplan_meier(months: np.ndarray, gone: np.ndarray, horizon: int) -> list[float]:
    """Kaplan-Meier from person-periods: in discrete time the hazard of month j is the
    share gone among the periods at risk in month j (models.survival_metrics.kaplan_meier
    on the rows' times gives the same curve)."""
    at_risk = np.bincount(months.astype(int), minlength=horizon + 1)[1:horizon + 1]
    events = np.bincount(months.astype(int), weights=gone, minlength=horizon + 1)[
        1:horizon + 1]
    hazard = np.divide(events, at_risk, out=np.zeros(horizon), where=at_risk > 0)
    return np.cumprod(1.0 - hazard).tolist()


def survival_origins(panel: pd.DataFrame, count: int, settings: ModelSettings,
                     labels: LabelSettings) -> pd.DatetimeIndex:
    """The newest `count` cutoffs whose dealers are followed the whole horizon by the data's
    end and before which the model can be fitted."""
    end = pd.Timestamp(panel["cutoff"].max())
    cuts = pd.DatetimeIndex(panel.loc[panel[LABEL].notna(), "cutoff"].unique()).sort_values()
    full = cuts[follow_up(cuts, end, labels) >= settings.survival.horizon_months]
    ok = [o for o in full
          if len(training_cutoffs(panel, o, settings, labels)) >= _needed(settings)]
    return pd.DatetimeIndex(ok[-count:])


@dataclass(frozen=True)
class SurvivalBacktest:
    origins: pd.DatetimeIndex
    rows: pd.DataFrame
    """One row per origin x dealer: time and event, followed to the data's end."""
    curves: np.ndarray
    """[row, month]: the model's survival curve fitted at the row's origin."""
    baseline: np.ndarray
    """[row, month]: Kaplan-Meier over the rows the model learned from, the same for all."""
    bundles: dict[pd.Timestamp, SurvivalBundle]


def run_survival_backtest(panel: pd.DataFrame, settings: ModelSettings, labels: LabelSettings,
                          origins: pd.DatetimeIndex) -> SurvivalBacktest:
    """Fit at each origin, follow its dealers to the data's end, and set the curves beside
    Kaplan-Meier's."""
    if not len(origins):
        raise TrainingDataError(
            f"{SURVIVAL}: no cutoff has its dealers followed for "
            f"{settings.survival.horizon_months} months plus labels.leave.confirm_months "
            f"({labels.leave.confirm_months}) with enough history before it to fit on")
    end = pd.Timestamp(panel["cutoff"].max())
    horizon = settings.survival.horizon_months
    parts, curves, base, fitted = [], [], [], {}
    for origin in origins:
        bundle = fit_survival(panel, origin, settings, labels)
        fitted[origin] = bundle
        test = panel[(panel["cutoff"] == origin) & panel[LABEL].notna()]
        time, event = observed(test, end, labels, horizon)
        parts.append(pd.DataFrame({"origin": origin, "dealer_id": test["dealer_id"].to_numpy(),
                                   "time": time, "event": event}))
        curves.append(bundle.curves(test))
        base.append(np.tile(bundle.metadata["kaplan_meier"], (len(test), 1)))
    return SurvivalBacktest(origins=pd.DatetimeIndex(origins),
                            rows=pd.concat(parts, ignore_index=True),
                            curves=np.concatenate(curves), baseline=np.concatenate(base),
                            bundles=fitted)


PREDICTORS = {"model": "curves", "kaplan_meier": "baseline"}


def survival_metrics(time: np.ndarray, event: np.ndarray, curves: np.ndarray,
                     settings: ModelSettings) -> dict[str, float]:
    """Uno's C at the horizon (risk: 1 - S(horizon)), the IBS over months 1..horizon - 1,
    D-calibration, and the mean predicted against the Kaplan-Meier share still ordering at
    the horizon (calibration in the large)."""
    horizon = settings.survival.horizon_months
    months = np.arange(1, horizon + 1, dtype=float)
    return {"rows": float(len(time)), "events": float(np.sum(event)),
            "uno_c": uno_c(time, event, 1.0 - curves[:, -1], tau=float(horizon)),
            "ibs": integrated_brier(time, event, curves, months),
            **d_calibration(time, event, curves, settings.survival.d_calibration_bins),
            "predicted_still_ordering": float(curves[:, -1].mean()),
            "observed_still_ordering": float(kaplan_meier(time, event, horizon)[-1])}


def survival_table(bt: SurvivalBacktest, settings: ModelSettings) -> pd.DataFrame:
    """Rows in the shape of models.backtest.metrics_table: per predictor, pooled and per
    origin."""
    out = []
    scopes = [({"origin": "pooled", "segment": "all"}, np.ones(len(bt.rows), dtype=bool))]
    scopes += [({"origin": f"{o:%Y-%m-%d}", "segment": "all"},
                (bt.rows["origin"] == o).to_numpy()) for o in bt.origins]
    for scope, mask in scopes:
        for predictor, attr in PREDICTORS.items():
            out.append({"model": SURVIVAL, "predictor": predictor, **scope,
                        **survival_metrics(bt.rows["time"].to_numpy()[mask],
                                           bt.rows["event"].to_numpy()[mask],
                                           getattr(bt, attr)[mask], settings)})
    return pd.DataFrame(out)
