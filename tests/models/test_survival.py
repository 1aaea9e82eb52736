"""Time to leaving: the label's months, censoring at an origin that never reads later data,
the metrics against worked values, and the hazard model's curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from features.panel import build_panel
from features.settings import LabelSettings
from models.bundle import SurvivalBundle, summarize
from models.survival import (
    LABEL,
    fit_survival,
    observed,
    period_kaplan_meier,
    person_periods,
)
from models.survival_metrics import d_calibration, kaplan_meier, pit_intervals, uno_c
from tests.features.test_leave_label import months, with_dealers
from tests.features.test_panel import tables, ts
from tests.models.conftest import small_settings

CUTOFF = ts("2023-09-01")


def months_at(t: dict, cutoff) -> pd.Series:
    return build_panel(t, [cutoff]).set_index("dealer_id")[LABEL]


def test_the_label_counts_months_to_the_start_of_a_confirmed_silence():
    # GONE's last order is in 2023-08: gone from 2023-09, the cutoff's own month (1), and
    # from 2023-06 it orders three more months (4); PAUSE stops four months and comes back
    t = with_dealers(GONE=months("2022-06-01", "2023-08-01"),
                     PAUSE=months("2022-06-01", "2023-08-01") + months("2024-01-01",
                                                                     "2024-11-01"))
    at = months_at(t, CUTOFF)
    assert at["GONE"] == 1.0
    assert at["PAUSE"] == np.inf  # a quiet spell is not leaving
    assert at["D2"] == np.inf  # orders every month
    assert months_at(t, "2023-06-01")["GONE"] == 4.0


def test_a_closing_contract_is_gone_in_its_month():
    t = tables()
    t["dealers"].loc[1, "closed_on"] = ts("2023-10-20")
    assert months_at(t, CUTOFF)["D2"] == 2.0


def test_an_origin_sees_a_month_only_after_its_silence_is_confirmed():
    labels = LabelSettings()
    rows = pd.DataFrame({"cutoff": [ts("2023-06-01")] * 3, LABEL: [4.0, 9.0, np.inf]})
    # at 2024-06 months 1..4 of the cutoff are settled (month 4 is 2023-09; its nine silent
    # months end 2024-05): the dealer gone in month 4 is an event, the others censored at 4
    time, event = observed(rows, ts("2024-06-01"), labels, horizon=12)
    assert time.tolist() == [4, 4, 4] and event.tolist() == [True, False, False]
    time, event = observed(rows, ts("2024-05-01"), labels, horizon=12)
    assert time.tolist() == [3, 3, 3] and not event.any()
    time, event = observed(rows, ts("2026-01-01"), labels, horizon=12)
    assert time.tolist() == [4, 9, 12] and event.tolist() == [True, True, False]
    time, _ = observed(rows, ts("2024-02-01"), labels, horizon=12)
    assert time.tolist() == [0, 0, 0]  # nothing settled yet: the row teaches nothing


def test_orders_after_the_origin_never_change_what_the_origin_sees():
    """No leakage: the panel's label reads the whole data, so the training at an origin
    must censor before anything dated at or after it could matter."""
    origin = ts("2024-06-01")
    base = with_dealers(GONE=months("2022-06-01", "2023-08-01"),
                        LATE=months("2022-06-01", "2023-05-01"))
    future = with_dealers(GONE=months("2022-06-01", "2023-08-01") + ["2024-06-01",
                                                                      "2024-09-01"],
                          LATE=months("2022-06-01", "2023-05-01") + ["2024-08-01"])
    future["orders"]["net_amount"] = future["orders"]["net_amount"].where(
        future["orders"]["order_date"] < origin, 5 * future["orders"]["net_amount"])
    seen = []
    for t in (base, future):
        panel = build_panel(t, months("2023-01-01", "2023-09-01"))
        panel = panel[panel[LABEL].notna()].sort_values(["cutoff", "dealer_id"])
        seen.append(observed(panel, origin, LabelSettings(), horizon=12))
    assert np.array_equal(seen[0][0], seen[1][0]) and np.array_equal(seen[0][1], seen[1][1])
    assert seen[0][1].any()  # GONE's loss was seen: the test is not vacuous


def test_person_periods_follow_each_row_until_its_event_or_censoring():
    x = pd.DataFrame({"f": [1.0, 2.0]})
    out, y = person_periods(x, np.array([3, 2]), np.array([True, False]))
    assert out["f"].tolist() == [1, 1, 1, 2, 2]
    assert out["months_ahead"].tolist() == [1, 2, 3, 1, 2]
    assert y.tolist() == [0, 0, 1, 0, 0]


def test_kaplan_meier_on_worked_values():
    assert kaplan_meier(np.array([1, 2, 2, 3]), np.array([1, 1, 0, 0]), 3) == \
        pytest.approx([0.75, 0.5, 0.5])


def test_kaplan_meier_from_person_periods_is_the_same_curve():
    time, event = geometric(0.1, 300, 12)
    x, y = person_periods(pd.DataFrame({"f": np.zeros(len(time))}), time, event)
    assert period_kaplan_meier(x["months_ahead"].to_numpy(), y, 12) == pytest.approx(
        kaplan_meier(time, event, 12).tolist())


def test_pit_intervals_and_d_calibration_on_worked_values():
    curves = np.array([[0.95, 0.85, 0.5], [0.9, 0.8, 0.5]])
    lo, hi = pit_intervals(np.array([2, 3]), np.array([True, False]), curves)
    assert lo.tolist() == [0.85, 0.0] and hi.tolist() == [0.95, 0.5]
    # the event's mass: half in [0.8, 0.9), half in [0.9, 1.0); the censored dealer's spread
    # evenly over the five bins below 0.5. Two dealers, 0.2 expected per bin:
    got = d_calibration(np.array([2, 3]), np.array([True, False]), curves)
    counts = np.array([0.2] * 5 + [0, 0, 0, 0.5, 0.5])
    statistic = ((counts - 0.2) ** 2 / 0.2).sum()
    assert got["d_calibration_chi2"] == pytest.approx(statistic)
    assert got["d_calibration_p"] == pytest.approx(chi2.sf(statistic, 9))


def geometric(hazard: float, n: int, follow: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    k = rng.geometric(hazard, n)  # gone in month k
    censor = rng.integers(1, follow + 1, n)
    return np.minimum(k, censor), k <= censor


def test_d_calibration_accepts_the_true_curve_and_rejects_a_wrong_one():
    time, event = geometric(0.1, 4000, 12)
    true = np.tile(0.9 ** np.arange(1, 13), (len(time), 1))
    wrong = np.tile(0.98 ** np.arange(1, 13), (len(time), 1))
    assert d_calibration(time, event, true)["d_calibration_p"] > 0.01
    assert d_calibration(time, event, wrong)["d_calibration_p"] < 1e-6


def test_uno_c_is_one_for_a_perfect_ranking_and_a_half_for_a_constant():
    time, event = geometric(0.1, 500, 12)
    risk = -time - 0.5 * ~event  # sooner gone, higher risk; censored after events at a tie
    assert uno_c(time, event, risk, tau=12) == pytest.approx(1.0)
    assert uno_c(time, event, np.zeros(len(time)), tau=12) == pytest.approx(0.5)


def test_summary_is_the_report_months_and_the_area_under_the_curve():
    curves = np.array([[0.9, 0.8, 0.7, 0.6]])
    got = summarize(curves, [2, 4])
    assert got.iloc[0].to_dict() == pytest.approx({"still_ordering_2m": 0.8,
                                                   "still_ordering_4m": 0.6,
                                                   "months_ordering": 3.0})


def test_the_calibration_takes_more_cutoffs_only_beyond_the_booster_s_least():
    """Four cutoffs at the least; the fifth and sixth only once the booster keeps its
    least fit (6 // 2) and early-stopping (3 // 2) cutoffs; never more than six."""
    from models.settings import ModelSettings
    from models.survival import _slices, calibration_count

    settings = ModelSettings()
    counts = {n: calibration_count(n, settings) for n in range(8, 14)}
    assert counts == {8: 4, 9: 5, 10: 6, 11: 6, 12: 6, 13: 6}
    cuts = pd.date_range("2020-01-01", periods=12, freq="2MS")
    fit, es, cal = _slices(cuts, settings)
    assert (len(fit), len(es), len(cal)) == (5, 1, 6)
    assert fit.append(es).append(cal).equals(cuts)
    short = _slices(cuts[:8], settings)
    assert [len(s) for s in short] == [3, 1, 4]
    fixed = ModelSettings(survival={"calibration_cutoffs_most": 4})
    assert calibration_count(12, fixed) == 4
    with pytest.raises(ValueError, match="calibration_cutoffs_most"):
        ModelSettings(survival={"calibration_cutoffs": 5, "calibration_cutoffs_most": 4})


@pytest.fixture(scope="module")
def fitted(network):
    settings = small_settings()
    origin = network.panel["cutoff"].max()
    return fit_survival(network.panel, origin, settings, network.labels), settings


def test_curves_fall_from_one_and_save_and_load_identically(fitted, network, tmp_path):
    bundle, _ = fitted
    rows = network.panel[network.panel["cutoff"] == network.panel["cutoff"].max()]
    curves = bundle.curves(rows)
    assert curves.shape == (len(rows), 12)
    assert ((curves > 0) & (curves <= 1)).all()
    assert (np.diff(curves, axis=1) <= 0).all()
    from models.bundle import load_bundle
    again = load_bundle(bundle.save(tmp_path / "b"))
    assert isinstance(again, SurvivalBundle)
    assert np.array_equal(again.curves(rows), curves)


def test_curves_from_shared_inputs_are_the_frame_s(fitted, network):
    """Scoring passes a ModelInput (float codes, the months ahead stacked as the last
    column) where the curves were built from the DataFrame: the same hazards, unseen and
    missing categories included."""
    from models.dataset import ModelInput
    from tests.models.test_training import newest, with_odd_categories

    bundle, _ = fitted
    rows = with_odd_categories(newest(network))
    x = bundle.spec.matrix(rows)
    n = len(x)
    stacked = x.iloc[np.tile(np.arange(n), bundle.horizon)].reset_index(drop=True)
    stacked["months_ahead"] = np.repeat(np.arange(1, bundle.horizon + 1), n).astype(float)
    months = stacked["months_ahead"].to_numpy()
    expected = bundle.calibrator(bundle.booster.predict(stacked, raw_score=True),
                                 months=months).reshape(bundle.horizon, n).T
    np.testing.assert_array_equal(bundle.hazards(ModelInput(rows)), expected)
    pd.testing.assert_frame_equal(bundle.predict(ModelInput(rows)), bundle.predict(rows))


def test_recalibrating_at_the_fit_s_own_origin_gives_its_calibrator(fitted, network):
    """The newest periods are fit_survival's calibration slice, scored the same way: refit
    there, the calibrator is the one the fit made, and its losses match the observed."""
    from models.survival import newest_periods, recalibrated_survival, survival_calibration

    bundle, settings = fitted
    origin = network.panel["cutoff"].max()
    periods = newest_periods(bundle, network.panel, origin, settings, network.labels)
    assert [f"{c:%Y-%m-%d}" for c in periods.cutoffs[[0, -1]]] == \
        bundle.metadata["calibration_cutoffs"]
    assert periods.gone.sum() > 0 and len(periods.gone) > len(periods.rows)
    again = recalibrated_survival(bundle, periods, settings)
    assert again.calibrator.method == bundle.calibrator.method
    assert again.calibrator.params == pytest.approx(bundle.calibrator.params, rel=1e-9)
    check = survival_calibration(bundle, periods, tolerance=0.15)
    assert check["gap"] == pytest.approx(0.0, abs=0.01) and not check["drifting"]


def test_curves_that_drift_are_found_and_refitted_to_the_observed_losses(fitted, network):
    """Hazards twice too high on the newest months: the check says drifting; the refit
    keeps the booster and brings expected losses back to the observed."""
    from dataclasses import replace

    from models.calibration import Calibrator
    from models.survival import newest_periods, recalibrated_survival, survival_calibration

    bundle, settings = fitted
    params = bundle.calibrator.to_dict()["params"]
    drifted = replace(bundle, calibrator=Calibrator(
        "platt_by_month", {**params, "b": params["b"] + np.log(2.0)}))
    origin = network.panel["cutoff"].max()
    periods = newest_periods(drifted, network.panel, origin, settings, network.labels)
    check = survival_calibration(drifted, periods, tolerance=0.15)
    assert check["drifting"] and check["gap"] > 0.5
    fixed = recalibrated_survival(drifted, periods, settings)
    assert fixed.booster is drifted.booster
    assert fixed.metadata["recalibration_cutoffs"] == [check["months"][0], check["months"][-1]]
    assert abs(survival_calibration(fixed, periods, tolerance=0.15)["gap"]) < 0.01
