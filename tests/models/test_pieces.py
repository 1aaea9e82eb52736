"""Pure pieces with written-out expectations: slices, calibration, metrics, baselines, gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score

from features.settings import LabelSettings
from models.backtest import metrics_table
from models.baselines import CLASSIFIER_BASELINES, rule_points, seasonal_naive, trailing_naive
from models.calibration import (
    Calibrator,
    fit_calibrator,
    fit_isotonic,
    fit_platt,
    fit_platt_by_month,
)
from models.dataset import (
    FeatureSpec,
    TrainingDataError,
    as_numbers,
    known_cutoffs,
    label_end,
    time_slices,
)
from models.explain import Context
from models.gate import champion_checks, decide
from models.metrics import (
    classification_metrics,
    expected_calibration_error,
    forecast_metrics,
    pinball,
    top_mask,
)
from models.settings import GateSettings, ModelSettings, RuleBaselineSettings, SplitSettings


def test_label_end_per_model():
    labels = LabelSettings()
    cut = pd.DatetimeIndex(["2024-02-01"])
    assert label_end(cut, "churn", labels)[0] == pd.Timestamp("2024-05-01")  # 90 days (leap)
    assert label_end(cut, "decline", labels)[0] == pd.Timestamp("2024-05-01")
    cut = pd.DatetimeIndex(["2023-02-01"])
    assert label_end(cut, "churn", labels)[0] == pd.Timestamp("2023-05-02")


def test_only_labels_complete_by_the_origin_are_known():
    cutoffs = pd.date_range("2023-01-01", periods=12, freq="MS")
    panel = pd.DataFrame({"cutoff": cutoffs, "churn": 0.0, "decline": 0.0, "next_amount": 1.0})
    known = known_cutoffs(panel, "churn", pd.Timestamp("2023-08-01"), LabelSettings())
    # 2023-05-01 + 90 days = 2023-07-30 <= origin; 2023-06-01 + 90 days = 2023-08-30 > origin
    assert known[-1] == pd.Timestamp("2023-05-01")
    known = known_cutoffs(panel, "decline", pd.Timestamp("2023-08-01"), LabelSettings())
    assert known[-1] == pd.Timestamp("2023-05-01")


def test_time_slices_are_ordered_and_too_few_is_a_clear_error():
    cuts = pd.date_range("2022-01-01", periods=15, freq="MS")
    sl = time_slices(cuts, SplitSettings(), "churn")
    assert sl.fit[-1] < sl.early_stopping[0] and sl.early_stopping[-1] < sl.calibration[0]
    assert (len(sl.fit), len(sl.early_stopping), len(sl.calibration)) == (8, 3, 4)
    with pytest.raises(TrainingDataError, match=r"churn: 12 labelled cutoffs before the "
                       r"origin, need at least 13 \(6 to fit, 3 for early stopping, 4 to"):
        time_slices(cuts[:12], SplitSettings(), "churn")


def test_feature_spec_rebuilds_the_training_columns():
    panel = pd.DataFrame({"orders_amount_3m": [1.0, 2.0],
                          "profile_region": pd.Categorical(["华东", "华南"])})
    spec = FeatureSpec.from_panel(panel)
    assert spec.names == ("orders_amount_3m", "profile_region")
    x = spec.matrix(pd.DataFrame({"orders_amount_3m": ["3"], "profile_region": ["西北"]}))
    assert x["orders_amount_3m"].tolist() == [3.0]
    assert list(x["profile_region"].cat.categories) == ["华东", "华南"]
    assert x["profile_region"].isna().all()  # unseen region: missing, not an error
    with pytest.raises(TrainingDataError, match="lacks 1 feature.*: profile_region"):
        spec.matrix(pd.DataFrame({"orders_amount_3m": [1.0]}))
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    codes = spec.codes(pd.DataFrame({"orders_amount_3m": ["3", "x", None],
                                     "profile_region": ["华南", "西北", None]}))
    np.testing.assert_array_equal(codes, [[3.0, 1.0], [np.nan, np.nan], [np.nan, np.nan]])
    with pytest.raises(TrainingDataError, match="lacks 1 feature.*: profile_region"):
        spec.codes(pd.DataFrame({"orders_amount_3m": [1.0]}))


def test_numbers_from_mixed_columns_are_each_column_read_as_a_number():
    frame = pd.DataFrame({"a": [1, 2], "b": ["3.5", "oops"], "c": [None, None],
                          "d": [0.5, np.nan], "e": pd.array([True, None], dtype="boolean")})
    np.testing.assert_array_equal(as_numbers(frame, ["d", "b", "a", "c", "e"]).to_numpy(),
                                  [[0.5, 3.5, 1, np.nan, 1.0], [np.nan, np.nan, 2, np.nan,
                                                                np.nan]])
    assert as_numbers(frame, []).shape == (2, 0)


def test_past_values_are_the_asked_dealers_own_and_missing_where_unknown():
    """The explanations' "12 months ago" values: one row per dealer asked for, in that
    order; NaN for a dealer without a past row and for a feature the past lacks."""
    past = pd.DataFrame({"dealer_id": ["D1", "D2"], "orders_amount_3m": [10.0, 20.0],
                         "orders_count_3m": ["4", None]})
    context = Context(past, past, min_peer_group=1, months=12)
    got = context.pasts(["orders_count_3m", "tickets_open", "orders_amount_3m"],
                        np.array(["D2", "D9", "D1"]))
    np.testing.assert_array_equal(got, [[np.nan, np.nan, 20.0], [np.nan] * 3,
                                        [4.0, np.nan, 10.0]])
    assert Context(past, None, min_peer_group=1, months=12).pasts(
        ["orders_amount_3m"], np.array(["D1"])).shape == (1, 1)


def test_calibrators_are_monotone_and_round_trip():
    rng = np.random.default_rng(0)
    margin = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * margin - 1)))).astype(float)
    grid = np.linspace(-3, 3, 50)
    for cal in (fit_platt(margin, y), fit_isotonic(margin, y)):
        assert np.all(np.diff(cal(grid)) >= 0)
        assert np.allclose(Calibrator.from_dict(cal.to_dict())(grid), cal(grid))
    platt = fit_platt(margin, y)
    assert platt.params["a"] == pytest.approx(2, abs=0.2)
    assert platt.params["b"] == pytest.approx(-1, abs=0.2)


def test_a_hazard_calibrator_by_month_recovers_a_slope_that_fades():
    """Hazards whose log-odds follow the booster's less the further ahead the month
    (slope 1.2 - 0.3 log m): the calibrator by month finds the fading, one Platt slope
    for every month cannot, and the slope is never below zero however far it is taken."""
    rng = np.random.default_rng(5)
    n = 60_000
    margin, months = rng.normal(-3, 1, n), rng.integers(1, 8, n).astype(float)
    log_m = np.log(months)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.5 + (1.2 - 0.3 * log_m) * margin
                                            - 0.4 * log_m)))).astype(float)
    cal = fit_platt_by_month(margin, months, y)
    assert cal.params["a"] == pytest.approx(1.2, abs=0.1)
    assert cal.params["d"] == pytest.approx(-0.3, abs=0.1)
    assert cal.params["c"] == pytest.approx(-0.4, abs=0.3)
    far = np.full(50, 12.0)  # beyond the months it saw: log(m) carries on
    grid = np.linspace(-6, 0, 50)
    truth = 1 / (1 + np.exp(-(0.5 + (1.2 - 0.3 * np.log(12)) * grid - 0.4 * np.log(12))))
    assert np.abs(cal(grid, months=far) - truth).max() < 0.02
    assert np.abs(fit_platt(margin, y)(grid) - truth).max() > 0.05
    assert np.allclose(Calibrator.from_dict(cal.to_dict())(grid, months=far), cal(grid, far))
    steep = Calibrator("platt_by_month", {"a": 1.0, "b": -2.0, "c": 0.0, "d": -1.0})
    assert np.all(np.diff(steep(grid, months=np.full(50, 100.0))) >= 0)
    with pytest.raises(ValueError, match="months ahead"):
        cal(grid)


def test_isotonic_calibration_keeps_the_boosters_ranking():
    """A staircase would tie every dealer on a step (and lose ROC AUC); the centred form
    is strictly increasing between its outermost steps and as well calibrated."""
    rng = np.random.default_rng(3)
    margin = rng.normal(size=6000)
    truth = 1 / (1 + np.exp(-(1.5 * margin - 1)))
    y = (rng.random(6000) < truth).astype(float)
    cal = fit_isotonic(margin, y)
    knots = np.asarray(cal.params["x"])
    assert np.all(np.diff(knots) > 0) and np.all(np.diff(cal.params["y"]) > 0)
    inside = np.sort(margin[(margin > knots[0]) & (margin < knots[-1])])
    assert np.all(np.diff(cal(inside)) > 0)
    fresh = rng.normal(size=20000)
    y_fresh = (rng.random(20000) < 1 / (1 + np.exp(-(1.5 * fresh - 1)))).astype(float)
    assert roc_auc_score(y_fresh, cal(fresh)) == pytest.approx(roc_auc_score(y_fresh, fresh),
                                                                abs=2e-4)
    assert np.abs(cal(fresh) - 1 / (1 + np.exp(-(1.5 * fresh - 1)))).mean() < 0.02
    staircase = IsotonicRegression(out_of_bounds="clip").fit(margin, y).predict(fresh)
    assert len(np.unique(cal(fresh))) > 10 * len(np.unique(staircase))


def test_auto_calibration_is_judged_on_the_newest_cutoff():
    rng = np.random.default_rng(1)
    margin = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-margin))).astype(float)
    group = np.repeat(np.array(["2024-01", "2024-02", "2024-03"]), 1000)
    cal, losses = fit_calibrator(margin, y, group, "auto")
    assert set(losses) == {"platt", "isotonic"}
    assert cal.method == min(losses, key=losses.get)
    assert fit_calibrator(margin, y, group, "isotonic")[0].method == "isotonic"


def test_ece_by_hand():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.95, 0.5])
    # bins: [0,.1): rate 0 vs .05; [.5,.6): 1 vs .5; [.9,1]: 1 vs .95
    expected = (2 * 0.05 + 1 * 0.5 + 2 * 0.05) / 5
    assert expected_calibration_error(y, p, 10) == pytest.approx(expected)


def test_top_share_metrics_by_hand():
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    p = np.array([0.9, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05])
    revenue = np.array([300.0, 1, 1, 1, 1, 1, 1, 1, 1, 100.0])
    assert top_mask(p, 0.1).tolist() == [True] + [False] * 9
    m = classification_metrics(y, p, revenue, top_share=0.1, bins=10)
    assert m["top_precision"] == 1.0
    assert m["top_lift"] == pytest.approx(5.0)
    assert m["top_revenue_captured"] == pytest.approx(0.75)
    assert m["positives"] == 2 and m["rows"] == 10


def test_forecast_metrics_by_hand():
    y = np.array([100.0, 0.0, 50.0])
    m = forecast_metrics(y, np.array([80.0, 10.0, 50.0]), np.array([50.0, 0.0, 60.0]),
                         np.array([120.0, 5.0, 70.0]))
    assert m["wape"] == pytest.approx(30 / 150)
    assert m["mae"] == pytest.approx(10.0)
    assert m["coverage"] == pytest.approx(2 / 3)
    assert pinball(np.array([10.0]), np.array([4.0]), 0.1) == pytest.approx(0.6)
    assert pinball(np.array([10.0]), np.array([14.0]), 0.1) == pytest.approx(3.6)


def test_rule_points_and_naive_forecasts_by_hand():
    frame = pd.DataFrame({
        "orders_days_since_last": [10.0, 75.0, np.nan],
        "orders_change_yoy_3m": [-0.5, 0.1, np.nan],
        "service_overdue_open": [0.0, 2.0, np.nan],
        "complaints_surge_3m": [3.0, 0.0, np.nan],
        "season_orders_same_quarter_last_year": [1000.0, 0.0, 500.0],
        "orders_amount_3m": [300.0, 200.0, np.nan],
    })
    assert rule_points(frame, RuleBaselineSettings()).tolist() == [2.0, 2.0, 0.0]
    assert trailing_naive(frame).tolist() == [300.0, 200.0, 0.0]
    # trend 0.5 (clipped at 0.5); no history last year -> trailing; unknown trend -> 1
    assert seasonal_naive(frame).tolist() == [500.0, 200.0, 500.0]


def _table(model_auc: float) -> pd.DataFrame:
    rows = []
    for predictor, auc in (("model", model_auc), ("rules", 0.70), ("best_rule", 0.71),
                           ("days_since", 0.81), ("rhythm", 0.79), ("logistic", 0.80)):
        rows.append({"model": "churn", "predictor": predictor, "origin": "pooled",
                     "segment": "all", "roc_auc": auc, "pr_auc": auc / 2, "brier": 0.1 - auc / 20,
                     "ece": 0.01})
    return pd.DataFrame(rows)


def test_gate_refuses_a_model_that_loses_to_a_baseline_and_says_why():
    gate = GateSettings()
    good = decide("churn", _table(0.9), {"roc_auc": 0.9}, None, gate, (0.1, 0.9))
    assert good.promote and "no current champion" in good.summary()
    bad = decide("churn", _table(0.78), {"roc_auc": 0.78}, None, gate, (0.1, 0.9))
    assert not bad.promote
    assert "roc_auc 0.7800 vs logistic 0.8000" in bad.reasons
    # beating the hand-written rules and the best cut is not enough: the plain ranking by
    # days since the last order is a baseline of its own
    short = decide("churn", _table(0.805), {"roc_auc": 0.805}, None, gate, (0.1, 0.9))
    assert "roc_auc 0.8050 vs days_since 0.8100" in short.reasons
    assert not any("logistic" in r or "rules" in r for r in short.reasons)


def test_gate_tolerates_small_losses_to_the_champion_only():
    gate = GateSettings(auc_tolerance=0.01)
    assert all(c.passed for c in champion_checks({"roc_auc": 0.895}, {"roc_auc": 0.9},
                                                 "churn", gate))
    worse = champion_checks({"roc_auc": 0.88}, {"roc_auc": 0.9}, "churn", gate)
    assert [c.detail for c in worse if not c.passed] == [
        "roc_auc 0.8800 vs champion 0.9000 (tolerance 0.01)"]


def test_metrics_table_has_pooled_per_origin_and_segment_rows():
    from models.backtest import Backtest
    origins = pd.DatetimeIndex(["2024-01-01", "2024-02-01"])
    rng = np.random.default_rng(3)
    n = 200
    cls = pd.DataFrame({"model": "churn", "origin": np.repeat(origins, n // 2),
                        "dealer_id": [f"D{i}" for i in range(n)],
                        "profile_region": rng.choice(["华东", "华南"], n),
                        "profile_tier": rng.choice(["A", "B"], n),
                        "y": rng.integers(0, 2, n).astype(float), "revenue": 1.0,
                        **{f"p_{k}": rng.random(n) for k in ("model", *CLASSIFIER_BASELINES)}})
    fc = cls[["origin", "dealer_id", "profile_region", "profile_tier"]].assign(
        y=100.0, p10=50.0, p50=90.0, p90=150.0, expected=95.0, seasonal_naive=80.0,
        trailing_naive=70.0)
    bt = Backtest(origins, cls, fc, pd.DataFrame(), {})
    table = metrics_table(bt, ModelSettings())
    churn = table[(table["model"] == "churn") & (table["predictor"] == "model")]
    assert set(churn["origin"]) == {"pooled", "2024-01-01", "2024-02-01"}
    assert {"region=华东", "tier=B", "all"} <= set(churn["segment"])
    assert table.loc[(table["predictor"] == "seasonal_naive") & (table["origin"] == "pooled")
                     & (table["segment"] == "all"), "wape"].item() == pytest.approx(0.2)


def _carrier_one_row(contrib, idx, total, known):
    """The definition, one row and group at a time: the feature moving the score most in
    the group's direction, among those with a known value if any."""
    sign = 1.0 if total >= 0 else -1.0
    ranked = sorted(idx, key=lambda j: -sign * contrib[j])  # stable: spec order on ties
    with_value = [j for j in ranked if known[j] and sign * contrib[j] > 0]
    return (with_value or ranked)[0]


def test_factor_carriers_prefer_a_known_value_in_the_groups_direction():
    from features.catalog import BY_NAME
    from models.explain import _carriers

    gnames = ["orders", "price", "service"]
    names = [n for g in gnames for n in [n for n in BY_NAME if BY_NAME[n].group == g][:8]]
    rng = np.random.default_rng(7)
    rows = 300
    per_feature = rng.normal(size=(rows, len(names))).round(1)  # rounding makes ties
    known = rng.random((rows, len(names))) > 0.4
    groups = np.column_stack([per_feature[:, [BY_NAME[n].group == g for n in names]].sum(1)
                              for g in gnames])
    chosen = np.argsort(-np.abs(groups), axis=1, kind="stable")[:, :2]
    picked = np.take_along_axis(groups, chosen, axis=1)
    got = _carriers(per_feature, known, names, gnames, chosen, picked)
    for i in range(rows):
        for k in range(2):
            idx = [j for j, n in enumerate(names) if BY_NAME[n].group == gnames[chosen[i, k]]]
            assert got[i, k] == _carrier_one_row(per_feature[i], idx, picked[i, k], known[i])


def test_a_first_version_that_beats_every_baseline_is_a_provisional_champion():
    gate = GateSettings(max_ece=0.005)  # the table's ECE is 0.01: a limit missed
    first = decide("churn", _table(0.9), {"roc_auc": 0.9}, None, gate, (0.1, 0.9))
    assert first.promote and first.provisional
    assert first.reasons == ["ECE 0.0100 (limit 0.005)"]
    assert first.summary().startswith("churn: provisional champion")
    # with a champion in place the same version stays challenger: the champion serves on
    later = decide("churn", _table(0.9), {"roc_auc": 0.9}, {"roc_auc": 0.9}, gate,
                   (0.1, 0.9))
    assert not later.promote and not later.provisional
    # a first version that loses to a baseline is never champion, provisional or not
    losing = decide("churn", _table(0.805), {"roc_auc": 0.805}, None, gate, (0.1, 0.9))
    assert not losing.promote and not losing.provisional
    # passing everything is a full champion
    full = decide("churn", _table(0.9), {"roc_auc": 0.9}, None, GateSettings(), (0.1, 0.9))
    assert full.promote and not full.provisional


def test_a_factor_and_a_note_as_dicts_are_their_fields_in_order():
    """to_dict reads the instance's __dict__ (dataclasses.fields was the slow part of
    batch scoring's factors): it must stay exactly the fields."""
    from dataclasses import fields

    from models.explain import Factor, Note

    factor = Factor(group="orders", direction="raises", contribution=0.4, share=0.5,
                    effect=0.2, feature="orders_amount_3m", value=1.0, past_value=None,
                    peer_median=2.0, actionable=True, sentence_en="en", sentence_zh="zh")
    note = Note(feature="profile_tier", value="C", contribution=0.2, sentence_en="en",
                sentence_zh="zh")
    for item in (factor, note):
        assert list(item.to_dict()) == [f.name for f in fields(item)]
        assert item.to_dict() == {f.name: getattr(item, f.name) for f in fields(item)}
