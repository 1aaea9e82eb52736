"""Batch scoring: every active dealer at one cutoff, scored by the champion models, with
its reasons, its change since the last snapshot, and data-quality flags.

`score_snapshot` is pure (tables and bundles in, a DataFrame out); reading the registry and
writing snapshots happen in serve/batch/snapshots.py and the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

import numpy as np
import orjson
import pandas as pd

from features.contract import EVENT_TABLES, TABLES
from features.events import EventRows, window_counts
from features.orderlines import OrderLines, monthly_amounts
from features.panel import CutoffError, build_panel, default_cutoffs, parse_cutoffs
from models.alerts import PAST_FORECAST, SCORE_COLUMNS, band_constants, fire
from models.bands import band
from models.baselines import TREND_CLIP
from models.bundle import MONTHS_COLUMN, months_ordering
from models.dataset import TrainingDataError, as_numbers, label_end
from models.explain import Context, Explanation, explain
from models.survival import newest_cutoffs, periods_at, strided_cutoffs, survival_calibration
from serve.batch.champions import (
    LEAVE,
    RISK_MODELS,
    UNAVAILABLE,
    Champions,
    ModelOutputs,
    model_outputs,
)
from serve.batch.changes import group_contributions, splits
from serve.batch.levers import batch_levers
from serve.batch.reps import quarter_starts, rep_rows
from serve.settings import Settings


def scoring_cutoff(tables: dict[str, pd.DataFrame], as_of: date | None) -> pd.Timestamp:
    """The newest cutoff, or for a date, the first day of its month: the features then use
    every complete month before it."""
    if as_of is None:
        return default_cutoffs(tables)[-1]
    start = pd.Timestamp(as_of).to_period("M").to_timestamp()
    return parse_cutoffs([start], tables)[0]


def panel_for_scoring(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp,
                      settings: Settings, covered_until: pd.Timestamp | None = None,
                      history_from: pd.Period | None = None, posted: bool = False
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(everyone in the panel at the cutoff, the same dealers `past_months` earlier).
    `posted`: one dealer's posted history, whose features across dealers the caller
    computes among the snapshot's population and whose labels nobody reads (build_panel's
    across_dealers and with_labels)."""
    panels = panels_at(tables, cutoff, [], settings, covered_until, history_from,
                       across_dealers=not posted, with_labels=not posted)
    return panels[cutoff], panels[past_cutoff(cutoff, settings)]


def past_cutoff(cutoff: pd.Timestamp, settings: Settings) -> pd.Timestamp:
    """The cutoff of the dealer's own past that its factors are compared with."""
    return cutoff - pd.DateOffset(months=settings.models.explain.past_months)


def panels_at(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp,
              also: list[pd.Timestamp], settings: Settings,
              covered_until: pd.Timestamp | None = None,
              history_from: pd.Period | None = None, *, across_dealers: bool = True,
              with_labels: bool = True, panels: Panels | None = None
              ) -> dict[pd.Timestamp, pd.DataFrame]:
    """The panel at the cutoff, `past_months` before it, and at the `also` cutoffs, built in
    one pass (or taken from `panels`, built once for more). A cutoff outside the data has
    an empty panel (the cutoff itself: an error)."""
    allowed = default_cutoffs(tables, covered_until, history_from)
    wanted = sorted({cutoff, past_cutoff(cutoff, settings), *also})
    inside = [c for c in wanted if allowed[0] <= c <= allowed[-1]]
    if cutoff not in inside:
        raise CutoffError(f"cutoff {cutoff:%Y-%m-%d} is outside the data (possible: "
                          f"{allowed[0]:%Y-%m-%d} .. {allowed[-1]:%Y-%m-%d})")
    if panels is not None:
        panel = panels.at(inside)
    else:
        panel = build_panel(tables, inside, panel=settings.panel, labels=settings.labels,
                            covered_until=covered_until, history_from=history_from,
                            across_dealers=across_dealers, with_labels=with_labels)
    return {c: panel[panel["cutoff"] == c].reset_index(drop=True) for c in wanted}


def scoring_cutoffs(cutoff: pd.Timestamp, settings: Settings) -> list[pd.Timestamp]:
    """The cutoffs a snapshot at `cutoff` reads the panel at: the cutoff, the dealers' own
    past, and the year's quarter starts (the reps' scorecard)."""
    return sorted({cutoff, past_cutoff(cutoff, settings), *quarter_starts(cutoff)})


class Panels:
    """The panel at many cutoffs from one pass over the data, for `score`'s snapshots and
    the calibration checks after them.

    Most of build_panel's cost is the monthly aggregates, the same whichever cutoffs are
    asked, and each cutoff's rows are computed among that cutoff's dealers alone (peers,
    the same rep's dealers, order rhythm, labels), so a cutoff's rows taken from a panel
    built at more cutoffs are those built at it alone (tests/serve/batch/test_scoring.py). On
    the demo `score` built four panels for one snapshot (the snapshot's, the churn and
    decline checks', the leave check's, the survival check's) and one more per extra
    snapshot; now it builds one, and `retrain` and `demo` lend the panel they trained on
    and build none.
    """

    def __init__(self, tables: dict[str, pd.DataFrame], settings: Settings,
                 frame: pd.DataFrame | None, cutoffs: Iterable[pd.Timestamp]) -> None:
        self.tables, self.settings = tables, settings
        self.frame = frame
        self.cutoffs = frozenset(pd.DatetimeIndex(list(cutoffs)))
        """The cutoffs `frame` was built at (a cutoff may have no rows)."""

    @classmethod
    def build(cls, tables: dict[str, pd.DataFrame], settings: Settings,
              cutoffs: Iterable[pd.Timestamp]) -> Panels:
        """One build at every cutoff of `cutoffs` inside the data (the others are left
        out: their panels are empty)."""
        allowed = default_cutoffs(tables)
        inside = sorted({c for c in pd.DatetimeIndex(list(cutoffs))
                         if allowed[0] <= c <= allowed[-1]})
        frame = (build_panel(tables, inside, panel=settings.panel, labels=settings.labels)
                 if inside else None)
        return cls(tables, settings, frame, inside)

    def at(self, cutoffs: Iterable[pd.Timestamp]) -> pd.DataFrame:
        """The panel at `cutoffs` (each inside the data), in build_panel's order: taken
        from the one built when it holds them all, else built."""
        wanted = pd.DatetimeIndex(sorted(set(pd.DatetimeIndex(list(cutoffs)))))
        if self.frame is not None and set(wanted) <= self.cutoffs:
            return self.frame[self.frame["cutoff"].isin(wanted)].reset_index(drop=True)
        return build_panel(self.tables, wanted, panel=self.settings.panel,
                           labels=self.settings.labels)


class Batch(NamedTuple):
    snapshot: pd.DataFrame
    """One row per active dealer."""
    population: pd.DataFrame
    """The panel at the cutoff and `past_months` earlier: what POST /v1/score needs for
    the features computed across dealers, now and in the dealer's own past."""
    reps: pd.DataFrame
    """What the reps' scorecard is made of (serve.batch.reps.rep_rows)."""


def score_batch(tables: dict[str, pd.DataFrame], champions: Champions, cutoff: pd.Timestamp,
                settings: Settings, previous: pd.DataFrame | None = None,
                earlier: pd.DataFrame | None = None, spark=None,
                quarter_snapshots: dict[pd.Timestamp, pd.DataFrame | None] | None = None,
                panels: Panels | None = None) -> Batch:
    """Score every active dealer at the cutoff.

    `previous`: the last snapshot (for the change); `earlier`: the snapshot one forecast
    horizon before, whose forecast covered the months just ended (for the alert on orders
    below the forecast's p10); `quarter_snapshots`: the snapshots kept at the year's
    quarter starts (the reps' expected losses); `panels`: the panel built once at more
    cutoffs (at least scoring_cutoffs), else it is built here. With a Spark session
    (engine 'spark') the models run there, by partitions of dealers; the rest is the
    same code."""
    starts = quarter_starts(cutoff)
    at = panels_at(tables, cutoff, starts, settings, panels=panels)
    population, past = at[cutoff], at[past_cutoff(cutoff, settings)]
    rows = population[population["active"]].reset_index(drop=True)
    outputs = None
    if spark is not None:
        from serve.batch.spark_scoring import model_outputs_on_spark
        outputs = model_outputs_on_spark(spark, rows, champions)
    snapshot = score_rows(rows, peers=rows, past=past, tables=tables, cutoff=cutoff,
                          champions=champions, settings=settings, previous=previous,
                          earlier=earlier, outputs=outputs)
    reps = rep_rows(tables, snapshot, {c: at[c] for c in starts if len(at[c])},
                    cutoff, quarter_snapshots or {})
    return Batch(snapshot, pd.concat([population, past], ignore_index=True), reps)


def score_snapshot(tables: dict[str, pd.DataFrame], champions: Champions, cutoff: pd.Timestamp,
                   settings: Settings, previous: pd.DataFrame | None = None,
                   earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per active dealer at the cutoff, sorted by revenue at risk."""
    return score_batch(tables, champions, cutoff, settings, previous, earlier)[0]


def score_rows(rows: pd.DataFrame, *, peers: pd.DataFrame, past: pd.DataFrame,
               tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp, champions: Champions,
               settings: Settings, previous: pd.DataFrame | None,
               earlier: pd.DataFrame | None = None,
               outputs: ModelOutputs | None = None,
               peer_contributions: dict[str, np.ndarray] | None = None,
               levers: bool = True) -> pd.DataFrame:
    """Score panel rows: the one path of batch scoring and POST /v1/score.

    `peers` are the active dealers the explanations' peer medians come from, `past` the
    same dealers' rows `past_months` earlier; `outputs` the champions' outputs on `rows`
    when they were computed elsewhere (on Spark); `peer_contributions` the risk models'
    contributions on `peers`, row for row, when the caller has them (POST /v1/score keeps
    the snapshot population's); `levers`: work out the dealers' levers (the batch stores
    them; POST /v1/score's answer has none, so it skips the model calls).
    """
    rows = rows.reset_index(drop=True)
    explain_settings = settings.models.explain
    context = Context(peers.reset_index(drop=True), past,
                      min_peer_group=settings.panel.min_peer_group,
                      months=explain_settings.past_months, peer_keys=explain_settings.peer_keys)
    index = {d: i for i, d in enumerate(context.population["dealer_id"].astype(str))}
    at = [index[d] for d in rows["dealer_id"].astype(str)]
    outputs = model_outputs(rows, champions) if outputs is None else outputs
    contributions, forecast = outputs.contributions, outputs.forecast
    # batch scoring: the rows are the peer population itself, whose contributions are known
    same = len(at) == len(context.population) and bool(np.all(np.asarray(at) == np.arange(
        len(at))))
    unknown = np.full(len(rows), np.nan)
    churn_p, decline_p = (getattr(champions, m).calibrator(contributions[m].sum(axis=1))
                          if m in contributions else unknown for m in RISK_MODELS)
    leave_p = outputs.leave if outputs.leave is not None else unknown
    expected_12m = _expected_12m(rows, forecast["expected"].to_numpy(), churn_p)
    dealers = tables["dealers"].set_index("dealer_id")
    explained = {m: explain(getattr(champions, m), rows, context=context,
                            top=explain_settings.top_factors,
                            top_lowering=explain_settings.top_lowering,
                            notes=explain_settings.context_notes,
                            note_min=explain_settings.context_min_logodds,
                            context_index=at, contributions=contributions[m],
                            population_contributions=contributions[m] if same else
                            (peer_contributions or {}).get(m))
                 if m in contributions else [Explanation([], [])] * len(rows)
                 for m in RISK_MODELS}
    out = pd.DataFrame({
        "dealer_id": rows["dealer_id"].astype(str).to_numpy(),
        "dealer_name": dealers["name"].reindex(rows["dealer_id"]).astype("string").to_numpy()
        if "name" in dealers.columns else None,
        "region": rows["profile_region"].astype(str).to_numpy(),
        "tier": rows["profile_tier"].astype(str).to_numpy(),
        "channel": rows["profile_channel"].astype(str).to_numpy(),
        "sales_rep_id": dealers["sales_rep_id"].reindex(rows["dealer_id"]).astype("string")
        .to_numpy() if "sales_rep_id" in dealers.columns else None,
        "as_of": f"{cutoff:%Y-%m-%d}",
        "stage": rows["stage"].astype(str).to_numpy(),
        "churn_probability": churn_p,
        "decline_probability": decline_p,
        "leave_probability": leave_p,
        "survival_curve": _curves_json(outputs.survival, len(rows)),
        MONTHS_COLUMN: (months_ordering(outputs.survival) if outputs.survival is not None
                        else unknown),
        "quiet_probability": quiet_spell(churn_p, leave_p),
        "risk_kind": risk_kind(churn_p, leave_p, settings.scoring.kind_min_probability),
        "band": np.where(np.isnan(churn_p), UNAVAILABLE,
                         band(np.nan_to_num(churn_p), settings.scoring.bands)),
        "forecast_p10": forecast["p10"].to_numpy(),
        "forecast_p50": forecast["p50"].to_numpy(),
        "forecast_p90": forecast["p90"].to_numpy(),
        "forecast_expected": forecast["expected"].to_numpy(),
        "expected_revenue_12m": expected_12m,
        "revenue_at_risk": churn_p * expected_12m,
        "orders_amount_12m": rows["orders_amount_12m"].to_numpy(dtype=float),
        "top_reason_en": [e.reasons[0].sentence_en if e.reasons else None
                          for e in explained["churn"]],
        "top_reason_zh": [e.reasons[0].sentence_zh if e.reasons else None
                          for e in explained["churn"]],
        "factors": [_json({m: [x.to_dict() for x in explained[m][i].factors]
                           for m in RISK_MODELS}) for i in range(len(rows))],
        "context": [_json({m: [x.to_dict() for x in explained[m][i].context]
                           for m in RISK_MODELS}) for i in range(len(rows))],
        "flags": [_json(f) for f in _flags(tables, rows, cutoff, champions, settings,
                                           contributions)],
        "levers": [_json(x) for x in batch_levers(
            rows, churn_p, [[f.to_dict() for f in e.factors] for e in explained["churn"]],
            champions.churn, settings)] if levers else "[]",
        "group_contributions": _group_contributions(champions, contributions, len(rows)),
        "model_versions": json.dumps(champions.versions, sort_keys=True),
        "model_status": json.dumps(champions.status(), sort_keys=True, ensure_ascii=False),
    })
    out = _with_previous(out, previous)
    out["orders_by_month"] = _orders_by_month(tables, out["dealer_id"], cutoff,
                                              settings.scoring.chart_months)
    out["alerts"] = _alerts(rows, out, earlier, settings)
    return out.sort_values(["revenue_at_risk", "dealer_id"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def _curves_json(curves: np.ndarray | None, n: int) -> list[str]:
    """Each dealer's survival curve (chance of still ordering after 1..horizon months) as a
    JSON list; "[]" without a survival model."""
    if curves is None:
        return ["[]"] * n
    return [json.dumps([round(float(v), 5) for v in row]) for row in curves]


def quiet_spell(churn_p: np.ndarray, leave_p: np.ndarray) -> np.ndarray:
    """The part of the churn risk that is a quiet spell (no order for the horizon, then
    orders again): the churn probability less the leave probability, never below zero.
    The leave model's event (no order for months after the horizon) nearly always follows
    a silent horizon, so the churn risk splits into leaving and a quiet spell; a dealer
    that orders once more and then leaves has a leave probability above its churn risk,
    and no quiet spell. NaN without a leave model."""
    return np.clip(churn_p - leave_p, 0.0, None)


RISK_KINDS = ("leaving", "quiet_spell", "low", "unknown")


def risk_kind(churn_p: np.ndarray, leave_p: np.ndarray, floor: float) -> np.ndarray:
    """What most of a dealer's churn risk is: `leaving` when its leaving part (the leave
    probability, at most the churn risk) is at least the quiet spell's, else
    `quiet_spell`; `low` below `floor` (scoring.kind_min_probability); `unknown` without
    a leave model (or a churn model)."""
    quiet = quiet_spell(churn_p, leave_p)
    kind = np.where(np.minimum(leave_p, churn_p) >= quiet, RISK_KINDS[0], RISK_KINDS[1])
    kind = np.where(churn_p < floor, RISK_KINDS[2], kind)
    return np.where(np.isnan(leave_p) | np.isnan(churn_p), RISK_KINDS[3], kind)


def matured_cutoffs(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp,
                    settings: Settings, model: str | None = None) -> list[pd.Timestamp]:
    """The newest `scoring.calibration_months` cutoffs whose labels are complete by the
    cutoff (their windows end before it): the churn, decline and forecast labels
    (default), or `model`'s alone (the leave label, confirmed by months of silence,
    completes most of a year later)."""
    models = (*RISK_MODELS, "forecast") if model is None else (model,)
    cuts = pd.DatetimeIndex(default_cutoffs(tables))
    done = np.logical_and.reduce([label_end(cuts, m, settings.labels) <= cutoff
                                  for m in models])
    return list(cuts[done])[-settings.scoring.calibration_months:]


def matured_rows(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp,
                 settings: Settings, model: str | None = None,
                 panels: Panels | None = None) -> pd.DataFrame:
    """The active dealers of matured_cutoffs() (taken from `panels` when given)."""
    matured = matured_cutoffs(tables, cutoff, settings, model)
    if not matured:
        return pd.DataFrame(columns=["cutoff"])
    panel = (panels or Panels(tables, settings, None, [])).at(matured)
    return panel[panel["active"]].reset_index(drop=True)


CHECKED_MODELS = (*RISK_MODELS, LEAVE)
"""The classifiers whose calibration `score` checks and `retrain` follows."""


def matured_by_model(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp,
                     settings: Settings, models: list[str], panels: Panels | None = None
                     ) -> dict[str, pd.DataFrame]:
    """matured_rows() of each of `models`: churn and decline share theirs (built once), the
    leave model has its own months."""
    out: dict[str, pd.DataFrame] = {}
    for model in models:
        if model in RISK_MODELS:
            shared = next((out[m] for m in RISK_MODELS if m in out), None)
            out[model] = (matured_rows(tables, cutoff, settings, panels=panels)
                          if shared is None else shared)
        else:
            out[model] = matured_rows(tables, cutoff, settings, model, panels)
    return out


def calibration_check(tables: dict[str, pd.DataFrame], champions: Champions,
                      cutoff: pd.Timestamp, settings: Settings,
                      matured: dict[str, pd.DataFrame] | None = None,
                      panels: Panels | None = None) -> dict[str, dict]:
    """The champions' calibration on the newest months whose labels are complete by the
    cutoff: per classifier (churn, decline and, where there is one, leave), the mean
    probability against the observed rate over the active dealers of those months, their
    relative gap, and whether it drifts beyond the tolerance. A score is only as honest as
    this: `score` prints it, `retrain` refits. `matured`: matured_by_model() of the same
    cutoff, when the caller has it; else it is taken from `panels` (or built)."""
    cfg = settings.scoring
    present = [m for m in CHECKED_MODELS if getattr(champions, m) is not None]
    if matured is None:
        matured = matured_by_model(tables, cutoff, settings, present, panels)
    out = {}
    for model in present:
        rows = matured.get(model)
        if rows is None or model not in rows.columns:
            continue
        known = rows[rows[model].notna()]
        if not len(known) or known[model].mean() == 0:
            continue
        p = getattr(champions, model).predict(known)
        rate = float(known[model].mean())
        gap = float(p.mean() / rate - 1)
        months = sorted(pd.to_datetime(known["cutoff"]).unique())
        out[model] = {"months": [f"{c:%Y-%m-%d}" for c in months], "rows": len(known),
                      "mean_probability": float(p.mean()), "observed_rate": rate,
                      "gap": gap, "drifting": abs(gap) > cfg.calibration_tolerance}
    return out


def survival_cutoffs(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp,
                     settings: Settings) -> list[pd.Timestamp]:
    """The cutoffs whose person-periods a survival model fitted at the cutoff would
    calibrate on (models.survival.newest_cutoffs; only cutoffs with follow-up, all before
    the cutoff); none with too little settled history."""
    try:
        return list(newest_cutoffs(strided_cutoffs(default_cutoffs(tables), cutoff,
                                                   settings.models, settings.labels),
                                   cutoff, settings.models))
    except TrainingDataError:
        return []


def check_cutoffs(tables: dict[str, pd.DataFrame], champions: Champions,
                  cutoff: pd.Timestamp, settings: Settings) -> list[pd.Timestamp]:
    """Every cutoff calibration_check and survival_check read the panel at."""
    wanted = set(matured_cutoffs(tables, cutoff, settings))
    if getattr(champions, LEAVE) is not None:
        wanted |= set(matured_cutoffs(tables, cutoff, settings, LEAVE))
    if champions.survival is not None:
        wanted |= set(survival_cutoffs(tables, cutoff, settings))
    return sorted(wanted)


def survival_check(tables: dict[str, pd.DataFrame], champions: Champions,
                   cutoff: pd.Timestamp, settings: Settings,
                   panels: Panels | None = None) -> dict | None:
    """The survival champion's calibration at the cutoff, as `retrain` checks it: the
    losses its hazards expect over the person-periods a model fitted at the cutoff would
    calibrate on (survival_cutoffs, each row followed as far as the cutoff's data
    settles) against those observed. None without a survival champion or with too little
    settled history. The panel is taken from `panels`, or built at those few cutoffs."""
    bundle = champions.survival
    if bundle is None:
        return None
    picked = survival_cutoffs(tables, cutoff, settings)
    if not picked:  # too little settled history to check anything on
        return None
    panel = (panels or Panels(tables, settings, None, [])).at(picked)
    periods = periods_at(bundle, panel, pd.DatetimeIndex(picked), cutoff, settings.labels)
    return survival_calibration(bundle, periods, settings.scoring.calibration_tolerance)


def _alerts(rows: pd.DataFrame, scored: pd.DataFrame, earlier: pd.DataFrame | None,
            settings: Settings) -> list[str]:
    """The alert rules that hold for each row, with their numbers (JSON per row)."""
    frame = pd.concat([rows.reset_index(drop=True),
                       scored[[c for c in SCORE_COLUMNS if c in scored.columns] + ["band"]]],
                      axis=1)
    frame[PAST_FORECAST] = np.nan if earlier is None or not len(earlier) else \
        earlier.set_index("dealer_id")["forecast_p10"].reindex(
            scored["dealer_id"]).to_numpy(dtype=float)
    hits = fire(frame, settings.alerts.rules, band_constants(settings.scoring.bands))
    return [_json(h) for h in hits]


def _orders_by_month(tables: dict[str, pd.DataFrame], dealers: pd.Series,
                     cutoff: pd.Timestamp, months: int) -> list[str]:
    """Net order amount per month over the last `months` before the cutoff (JSON per
    dealer, oldest first, zeros included): the dashboard's orders chart."""
    first = pd.Period(cutoff, freq="M") - months
    grid = monthly_amounts(OrderLines.of(tables["orders"]), pd.Index(dealers.astype(str)),
                           first, months)
    labels = [str(p) for p in pd.period_range(first, periods=months, freq="M")]
    return [_json(dict(zip(labels, np.round(v, 2).tolist(), strict=True))) for v in grid]


def _json(value: object) -> str:
    """A snapshot cell's JSON: UTF-8 text as is, NaN as null (strict JSON), numpy
    scalars as numbers; orjson, 5-10x faster than json.dumps on the factor lists."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY,
                        default=str).decode()


def quarter_if_stays(expected: np.ndarray | float, churn_p: np.ndarray | float) -> np.ndarray:
    """The forecast's expected next quarter given that the dealer stays: the expectation
    weighs leaving (an amount near nothing) with its probability, so staying's share is
    expected / (1 - churn probability). An unknown churn probability leaves it as is."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.asarray(expected, dtype=float) / np.maximum(_staying(churn_p),
                                                              np.finfo(float).tiny)


def _staying(churn_p: np.ndarray | float) -> np.ndarray:
    """The chance of staying; an unknown churn probability counts as staying."""
    return 1 - np.clip(np.nan_to_num(np.asarray(churn_p, dtype=float)), 0, 1)


def outlook(ratio: np.ndarray, staying: np.ndarray) -> np.ndarray:
    """The scale of the value-if-it-stays: the forecast's ratio within TREND_CLIP, weighed
    by the chance of staying against 1 (no change)."""
    return staying * np.clip(ratio, *TREND_CLIP) + (1 - staying)


def _expected_12m(rows: pd.DataFrame, next_quarter: np.ndarray,
                  churn_p: np.ndarray) -> np.ndarray:
    """Next 12 months' revenue if the dealer stays: what revenue at risk puts a price on.

    The forecast's expected next quarter weighs every outcome, leaving included; if the
    dealer stays, the quarter is that divided by its chance of staying. Its last 12 months
    are scaled by how that quarter compares with the same quarter last year (with no last
    year: its last 3 months, against 4 x those), within TREND_CLIP; and the scale is
    weighed by the chance of staying, towards 1 (its last 12 months as they were) as
    leaving becomes certain, where the quarter-if-it-stays is a near-zero forecast divided
    by a near-zero chance: noise. So a forecast that already counts the dealer as gone
    cannot shrink the value at stake, nor a small chance of staying inflate it. Without a
    forecast: the last 12 months as they are.
    """
    trailing = np.maximum(np.nan_to_num(rows["orders_amount_12m"].to_numpy(dtype=float)), 0)
    recent = np.maximum(np.nan_to_num(rows["orders_amount_3m"].to_numpy(dtype=float)), 0)
    last_year = np.nan_to_num(rows["season_orders_same_quarter_last_year"].to_numpy(
        dtype=float))
    if_stays = quarter_if_stays(next_quarter, churn_p)
    staying = _staying(churn_p)
    with np.errstate(divide="ignore", invalid="ignore"):
        seasonal = outlook(if_stays / last_year, staying)
        run_rate = outlook(if_stays / recent, staying)
    scaled = np.where(last_year > 0, trailing * seasonal,
                      np.where(recent > 0, 4 * recent * run_rate, 0.0))
    return np.where(np.isnan(next_quarter), trailing, scaled)


def _flags(tables: dict[str, pd.DataFrame], rows: pd.DataFrame, cutoff: pd.Timestamp,
           champions: Champions, settings: Settings,
           contributions: dict[str, np.ndarray]) -> list[list[str]]:
    """Per dealer, the data-quality warnings that matter for its score:
    - `no_<table>_in_<days>_days`: an optional table silent for the dealer in the quiet
      days although its own rate in the year before made that unlikely (a feed that
      stopped, so those factors are blind); a dealer that never had any record, or whose
      records are rare, is in its real state, not a data problem;
    - `outside_training_range:<features>`: features outside what the model learned from,
      among the dealer's `top_factors` largest contributions (one far out but weighing
      nothing does not make the score doubtful), calendar-driven ones left out.
    """
    cfg = settings.scoring
    quiet_since = cutoff - pd.Timedelta(days=cfg.quiet_days)
    reported_since = quiet_since - pd.Timedelta(days=cfg.reporting_days)
    # silence is news when exp(-rate x quiet days) <= silence_probability
    least = -np.log(cfg.silence_probability) * cfg.reporting_days / cfg.quiet_days
    flags: list[list[str]] = [[] for _ in range(len(rows))]
    ids = rows["dealer_id"].astype(str)
    for name in EVENT_TABLES:
        if name not in tables:
            continue
        counts = window_counts(EventRows.of(TABLES[name], tables[name]), {
            "recent": (quiet_since, cutoff), "before": (reported_since, quiet_since)})
        expected = set(counts.index[(counts["before"].to_numpy() >= least)
                                    & (counts["recent"].to_numpy() == 0)])
        for i in np.flatnonzero(ids.isin(expected).to_numpy()):
            flags[i].append(f"no_{name}_in_{cfg.quiet_days}_days")
    reference = champions.reference
    if reference is None:
        return flags
    ranges = reference.metadata.get("feature_ranges", {})
    spec = reference.spec
    names = [n for n in ranges if n in spec.names and n not in spec.categories
             and n not in cfg.range_exempt]
    if not names:
        return flags
    values = as_numbers(rows, names).to_numpy()
    lo = np.array([ranges[n][0] for n in names])
    hi = np.array([ranges[n][1] for n in names])
    outside = (values < lo) | (values > hi)
    weight = np.abs(contributions[reference.model][:, :-1])  # base value last
    order = list(reference.spec.names)
    top = np.argsort(-weight, axis=1, kind="stable")[:, :settings.models.explain.top_factors]
    position = {n: j for j, n in enumerate(order)}
    for i in np.flatnonzero(outside.any(axis=1)):
        heavy = set(top[i].tolist())
        which = [names[j] for j in np.flatnonzero(outside[i]) if position[names[j]] in heavy]
        if which:
            flags[i].append("outside_training_range:" + ",".join(which))
    return flags


def _group_contributions(champions: Champions, contributions: dict[str, np.ndarray],
                         n: int) -> list[str]:
    """Per row, JSON: each risk model's log-odds per business group and its base value,
    for the next snapshot's "why the score changed" (serve.batch.changes)."""
    per_model = {m: group_contributions(getattr(champions, m), contributions[m])
                 for m in RISK_MODELS if m in contributions}
    return [_json({m: groups[i] for m, groups in per_model.items()}) for i in range(n)]


def _with_previous(out: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    cols = ("churn_probability", "decline_probability")
    if previous is None or not len(previous):
        for c in cols:
            out[f"previous_{c}"] = np.nan
            out[f"{c}_change"] = np.nan
        out["previous_as_of"] = None
        out["change_by_group"] = "{}"
        return out
    prev = previous.set_index("dealer_id")
    for c in cols:
        before = prev[c].reindex(out["dealer_id"]).to_numpy(dtype=float)
        out[f"previous_{c}"] = before
        out[f"{c}_change"] = out[c].to_numpy() - before
    out["previous_as_of"] = str(previous["as_of"].iloc[0])
    out["change_by_group"] = _change_by_group(out, prev)
    return out


def _change_by_group(out: pd.DataFrame, prev: pd.DataFrame) -> list[str]:
    """Per row, JSON: each risk model's change since the previous snapshot split by group
    (serve.batch.changes.change_split); empty where the previous snapshot has no group
    contributions (written before they were kept) or the dealer is new."""
    if "group_contributions" not in prev.columns:
        return ["{}"] * len(out)
    before = prev["group_contributions"].reindex(out["dealer_id"])
    parse = lambda cells: [orjson.loads(c) if isinstance(c, str) else None  # noqa: E731
                           for c in cells]
    now_groups, before_groups = parse(out["group_contributions"]), parse(before)
    per_model = {m: splits(now_groups, before_groups,
                           out[f"{m}_probability_change"].to_numpy(dtype=float), m)
                 for m in RISK_MODELS}
    return [_json({m: per_model[m][i] for m in RISK_MODELS}) for i in range(len(out))]
