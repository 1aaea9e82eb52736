"""Batch scoring: parity with the training panel, determinism, change, flags, snapshots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.training import fit_models
from serve.batch.champions import Champions
from serve.batch.scoring import band, score_snapshot, scoring_cutoff
from serve.batch.snapshots import list_snapshots, previous_snapshot, read_snapshot, write_snapshot
from serve.settings import Settings
from tests.models.conftest import small_settings


@pytest.fixture(scope="module")
def champions(network):
    origin = network.panel["cutoff"].max()
    bundles = fit_models(network.panel, origin, small_settings(), network.labels)
    return Champions(**bundles, versions={"churn": "1", "decline": "1", "forecast": "1"})


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    return Settings(work_dir=tmp_path_factory.mktemp("work"), models=small_settings())


def test_bands_by_hand():
    bands = {"low": 0.0, "medium": 0.1, "high": 0.25, "critical": 0.5}
    got = band(np.array([0.0, 0.099, 0.1, 0.3, 0.5, 0.99]), bands)
    assert got.tolist() == ["low", "low", "medium", "high", "critical", "critical"]


def test_scoring_cutoff_maps_a_date_to_its_month(network):
    tables = network.loaded.tables
    assert scoring_cutoff(tables, pd.Timestamp("2024-03-17").date()) == pd.Timestamp(
        "2024-03-01")
    assert scoring_cutoff(tables, None) == network.panel["cutoff"].max()


def test_snapshot_scores_equal_the_training_panel_path(network, champions, cfg):
    cutoff = network.panel["cutoff"].max()
    snap = score_snapshot(network.loaded.tables, champions, cutoff, cfg)
    rows = network.panel[(network.panel["cutoff"] == cutoff) & network.panel["active"]]
    assert sorted(snap["dealer_id"]) == sorted(rows["dealer_id"].astype(str))
    expected = pd.Series(champions.churn.predict(rows), index=rows["dealer_id"].astype(str))
    np.testing.assert_allclose(snap.set_index("dealer_id")["churn_probability"],
                               expected.reindex(snap["dealer_id"]), rtol=0, atol=1e-12)
    assert snap["revenue_at_risk"].is_monotonic_decreasing
    np.testing.assert_allclose(snap["revenue_at_risk"],
                               snap["churn_probability"] * snap["expected_revenue_12m"])
    assert (snap["forecast_p10"] <= snap["forecast_p90"]).all()
    assert set(snap["band"]) <= set(cfg.scoring.bands)
    factors = json.loads(snap["factors"].iloc[0])
    assert set(factors) == {"churn", "decline"}
    first = factors["churn"][0]
    assert first["sentence_en"] == snap["top_reason_en"].iloc[0]
    assert first["sentence_zh"] == snap["top_reason_zh"].iloc[0]
    assert json.loads(snap["model_versions"].iloc[0]) == champions.versions


def test_scoring_twice_gives_the_same_snapshot(network, champions, cfg, tmp_path):
    cutoff = network.panel["cutoff"].max()
    a = score_snapshot(network.loaded.tables, champions, cutoff, cfg)
    b = score_snapshot(network.loaded.tables, champions, cutoff, cfg)
    pd.testing.assert_frame_equal(a, b)
    first = write_snapshot(a, tmp_path, "2024-06-01").read_bytes()
    assert write_snapshot(b, tmp_path, "2024-06-01").read_bytes() == first
    assert list_snapshots(tmp_path) == ["2024-06-01"]


def test_change_since_the_previous_snapshot(network, champions, cfg, tmp_path):
    cutoff = network.panel["cutoff"].max()
    before = cutoff - pd.DateOffset(months=1)
    old = score_snapshot(network.loaded.tables, champions, before, cfg)
    write_snapshot(old, tmp_path, f"{before:%Y-%m-%d}")
    prev = previous_snapshot(tmp_path, f"{cutoff:%Y-%m-%d}")
    assert prev is not None and previous_snapshot(tmp_path, f"{before:%Y-%m-%d}") is None
    new = score_snapshot(network.loaded.tables, champions, cutoff, cfg, prev)
    both = new.merge(old[["dealer_id", "churn_probability"]], on="dealer_id",
                     suffixes=("", "_old"))
    assert len(both) > 0
    np.testing.assert_allclose(both["churn_probability_change"],
                               both["churn_probability"] - both["churn_probability_old"])
    assert (new["previous_as_of"] == f"{before:%Y-%m-%d}").all()
    newcomers = new[~new["dealer_id"].isin(old["dealer_id"])]
    assert newcomers["previous_churn_probability"].isna().all()


def test_data_quality_flags(network, champions, cfg):
    """A table that stops reporting for a dealer whose own rate made silence unlikely is
    flagged; a dealer that never had any of its records, or has them rarely, is not (that
    is the dealer's state, and the features say so)."""
    tables = dict(network.loaded.tables)
    cutoff = network.panel["cutoff"].max()
    snap = score_snapshot(tables, champions, cutoff, cfg)
    visits = tables["visits"]
    mine = visits["dealer_id"].astype(str)
    year = (visits["visited_on"] < cutoff - pd.Timedelta(days=90)) & (
        visits["visited_on"] >= cutoff - pd.Timedelta(days=455))
    counts = mine[year].value_counts().reindex(snap["dealer_id"]).dropna()
    stopped, never = counts.index[0], counts.index[1]
    rare = counts.index[(counts >= 1) & (counts <= 4)][0]
    assert counts[stopped] >= 13  # a visit a month or more: 90 silent days are news
    recent = visits["visited_on"] >= cutoff - pd.Timedelta(days=90)
    tables["visits"] = visits[~((mine.isin([stopped, rare])) & recent) & (mine != never)]
    flagged = score_snapshot(tables, champions, cutoff, cfg).set_index("dealer_id")
    assert "no_visits_in_90_days" in json.loads(flagged.at[stopped, "flags"])
    for quiet in (never, rare):
        assert "no_visits_in_90_days" not in json.loads(flagged.at[quiet, "flags"])
    ranges = champions.churn.metadata["feature_ranges"]
    assert ranges["orders_amount_12m"][0] <= ranges["orders_amount_12m"][1]


def test_a_feature_outside_the_training_range_is_flagged_only_where_it_weighs(
        network, champions, cfg):
    from serve.batch.champions import model_outputs
    from serve.batch.scoring import _flags
    cutoff = network.panel["cutoff"].max()
    rows = network.panel[(network.panel["cutoff"] == cutoff)
                         & network.panel["active"]].reset_index(drop=True).head(40).copy()
    contributions = model_outputs(rows, champions).contributions
    names = list(champions.churn.spec.names)
    weight = np.abs(contributions["churn"][:, :-1])
    heaviest, lightest = names[int(weight[0].argmax())], names[int(weight[0].argmin())]
    ranges = champions.churn.metadata["feature_ranges"]
    assert heaviest in ranges and lightest in ranges
    moved = rows.copy()  # both far outside, with the contributions of the real values
    moved[heaviest] = moved[heaviest].astype(float)
    moved[lightest] = moved[lightest].astype(float)
    moved.loc[0, [heaviest, lightest]] = [ranges[heaviest][1] + 1e6, ranges[lightest][1] + 1e6]
    flags = _flags(network.loaded.tables, moved, cutoff, champions, cfg, contributions)
    out = [f for f in flags[0] if f.startswith("outside_training_range:")]
    assert out == [f"outside_training_range:{heaviest}"]


def test_few_dealers_carry_a_flag(served):
    settings, _, _ = served
    snapshot = read_snapshot(settings.work_dir, list_snapshots(settings.work_dir)[-1])
    flagged = snapshot["flags"].map(lambda f: bool(json.loads(f)))
    # few, but some: the network has dealers with silent tables, and the dashboard's flag
    # test reads one of them
    assert 0 < flagged.mean() <= 0.15, flagged.mean()


@pytest.mark.parametrize("categorical", [True, False])
def test_orders_by_month_counts_each_month_before_the_cutoff(categorical):
    from serve.batch.scoring import _orders_by_month
    ids = pd.Series(["A", "A", "B", "A", "C"])
    orders = pd.DataFrame({
        "dealer_id": ids.astype("category") if categorical else ids,
        "order_date": pd.to_datetime(["2024-11-30", "2024-12-15", "2024-12-01",
                                      "2025-01-01", "2024-12-02"]),
        "net_amount": [10.0, 5.0, -2.0, 99.0, 7.0]})
    got = [json.loads(x) for x in _orders_by_month(
        {"orders": orders}, pd.Series(["B", "A", "Z"]), pd.Timestamp("2025-01-01"), 2)]
    assert got == [{"2024-11": 0.0, "2024-12": -2.0},  # returns make a month negative
                   {"2024-11": 10.0, "2024-12": 5.0},  # the cutoff day itself is after
                   {"2024-11": 0.0, "2024-12": 0.0}]


def test_a_model_without_a_usable_version_leaves_its_columns_empty(network, champions, cfg):
    """Scoring goes on with the other models; the missing one is said, never guessed."""
    cutoff = network.panel["cutoff"].max()
    full = score_snapshot(network.loaded.tables, champions, cutoff, cfg).set_index("dealer_id")
    partial = Champions(churn=champions.churn, decline=None, forecast=champions.forecast,
                        versions={"churn": "1", "forecast": "1"},
                        provisional={"churn": "ECE 0.0400 (limit 0.03)"},
                        missing={"decline": "no 'champion' version of dealer-risk-decline"})
    snap = score_snapshot(network.loaded.tables, partial, cutoff, cfg).set_index("dealer_id")
    assert snap["decline_probability"].isna().all()
    pd.testing.assert_series_equal(snap["churn_probability"],
                                   full["churn_probability"].reindex(snap.index))
    assert all(json.loads(f)["decline"] == [] for f in snap["factors"])
    status = json.loads(snap["model_status"].iloc[0])
    assert status["decline"] == {"version": None, "state": "unavailable",
                                 "reason": "no 'champion' version of dealer-risk-decline"}
    assert status["churn"]["state"] == "provisional" and status["forecast"]["state"] == "champion"
    # without a churn model there is no probability to band: the band says so
    no_churn = Champions(churn=None, decline=champions.decline, forecast=None,
                         versions={"decline": "1"}, missing={"churn": "none", "forecast": "none"})
    snap = score_snapshot(network.loaded.tables, no_churn, cutoff, cfg)
    assert set(snap["band"]) == {"unavailable"} and snap["churn_probability"].isna().all()
    assert snap["forecast_p50"].isna().all()
    np.testing.assert_allclose(snap["expected_revenue_12m"],
                               snap["orders_amount_12m"].clip(lower=0).fillna(0))
    assert snap["decline_probability"].notna().all()


def test_calibration_is_checked_on_the_newest_matured_months(network, champions, cfg):
    from dataclasses import replace

    from models.calibration import Calibrator
    from serve.batch.scoring import calibration_check, matured_rows

    cutoff = network.panel["cutoff"].max()
    rows = matured_rows(network.loaded.tables, cutoff, cfg)
    months = sorted(pd.to_datetime(rows["cutoff"]).unique())
    # only months whose labels are complete by the cutoff: none newer than 3 months back
    assert len(months) == cfg.scoring.calibration_months
    assert months[-1] + pd.DateOffset(months=3) <= cutoff
    check = calibration_check(network.loaded.tables, champions, cutoff, cfg)
    churn = check["churn"]
    known = rows[rows["churn"].notna()]
    assert churn["rows"] == len(known)
    assert churn["observed_rate"] == pytest.approx(known["churn"].mean())
    assert churn["mean_probability"] == pytest.approx(champions.churn.predict(known).mean())
    # a calibrator far from the truth (a straight line over the log-odds) drifts, and the
    # check says so
    doubled = replace(champions.churn, calibrator=Calibrator(
        "isotonic", {"x": [-20.0, 20.0], "y": [0.0, 1.0]}))
    skewed = replace(champions, churn=doubled)
    again = calibration_check(network.loaded.tables, skewed, cutoff, cfg)["churn"]
    assert again["drifting"] and abs(again["gap"]) > cfg.scoring.calibration_tolerance


def test_the_value_if_it_stays_by_hand():
    """The issue's dealer: 93% churn risk, a forecast of ¥8 for a dealer of ¥3.4M a year.
    Staying, its quarter is 8 / 0.07 = ¥114 against ¥850k last year: the clip's floor
    (x0.5), weighed by its 7% chance of staying against no change: x0.965, ¥3.28M at
    stake and 93% of that at risk; a dealer the forecast sees growing if it stays is
    scaled up (x1.2 at 90% staying: x1.18); no forecast: the year as it was."""
    from serve.batch.scoring import _expected_12m, quarter_if_stays
    rows = pd.DataFrame({"orders_amount_12m": [3.4e6, 1.0e6, 1.0e6, 2.0e5],
                         "orders_amount_3m": [8.0e5, 2.5e5, 2.5e5, 5.0e4],
                         "season_orders_same_quarter_last_year": [8.5e5, 2.5e5, 2.5e5, 0.0]})
    forecast = np.array([8.0, 2.7e5, np.nan, 6.0e4])
    p = np.array([0.93, 0.10, 0.10, 0.0])
    value = _expected_12m(rows, forecast, p)
    np.testing.assert_allclose(value, [3.4e6 * (0.07 * 0.5 + 0.93),
                                       1.0e6 * (0.9 * 1.2 + 0.1), 1.0e6, 4 * 6.0e4])
    np.testing.assert_allclose(quarter_if_stays(8.0, 0.93), 8.0 / 0.07)
    assert quarter_if_stays(5.0, np.nan) == 5.0


def test_the_money_figures_agree_for_every_dealer(served):
    """Revenue at risk is the churn probability times the value if it stays; that value is
    the last 12 months moved the way the forecast's quarter-if-it-stays says, never by more
    than the clip; the forecast's interval is ordered."""
    from models.baselines import TREND_CLIP
    from serve.batch.scoring import outlook, quarter_if_stays
    from serve.batch.snapshots import read_population
    settings, _, _ = served
    as_of = list_snapshots(settings.work_dir)[-1]
    snap = read_snapshot(settings.work_dir, as_of)
    panel = read_population(settings.work_dir, as_of)
    panel = panel[pd.to_datetime(panel["cutoff"]) == pd.Timestamp(as_of)].set_index("dealer_id")
    np.testing.assert_allclose(snap["revenue_at_risk"],
                               snap["churn_probability"] * snap["expected_revenue_12m"])
    assert (snap["revenue_at_risk"] <= snap["expected_revenue_12m"]).all()
    assert (snap["forecast_p10"] <= snap["forecast_p50"]).all()
    assert (snap["forecast_p50"] <= snap["forecast_p90"]).all()
    last_year = panel["season_orders_same_quarter_last_year"].reindex(snap["dealer_id"]).to_numpy()
    trailing = snap["orders_amount_12m"].to_numpy()
    seasoned = (last_year > 0) & (trailing > 0)
    assert seasoned.sum() > len(snap) / 2
    ratio = snap["expected_revenue_12m"].to_numpy()[seasoned] / trailing[seasoned]
    assert ((ratio >= TREND_CLIP[0] - 1e-9) & (ratio <= TREND_CLIP[1] + 1e-9)).all()
    stays = quarter_if_stays(snap["forecast_expected"].to_numpy(),
                             snap["churn_probability"].to_numpy())[seasoned]
    staying = 1 - snap["churn_probability"].to_numpy()[seasoned]
    np.testing.assert_allclose(ratio, outlook(stays / last_year[seasoned], staying))


def test_a_cutoff_taken_from_a_panel_built_at_more_is_the_one_built_alone(network, cfg):
    """Scoring and its checks share one panel (Panels): each cutoff's rows, peers, order
    rhythm and labels included, must be what a panel built at that cutoff alone holds."""
    from features.panel import build_panel, default_cutoffs
    from serve.batch.scoring import Panels

    tables = network.loaded.tables
    cuts = default_cutoffs(tables)
    picked = [cuts[5], cuts[-13], cuts[-1]]
    outside = pd.Timestamp("1990-01-01")
    wide = Panels.build(tables, cfg, [*picked, cuts[-2], outside])
    assert outside not in wide.cutoffs and len(wide.cutoffs) == 4
    for cutoff in picked:
        alone = build_panel(tables, [cutoff], panel=cfg.panel, labels=cfg.labels)
        assert len(alone)
        pd.testing.assert_frame_equal(wide.at([cutoff]), alone)
    both = build_panel(tables, picked[1:], panel=cfg.panel, labels=cfg.labels)
    pd.testing.assert_frame_equal(wide.at(picked[1:]), both)
    # the panel `retrain` and `demo` trained on, lent as is
    lent = Panels(tables, cfg, network.panel, cuts)
    pd.testing.assert_frame_equal(lent.at(picked[1:]), both)
    # a cutoff it was not built at is built
    pd.testing.assert_frame_equal(wide.at([cuts[0]]), build_panel(
        tables, [cuts[0]], panel=cfg.panel, labels=cfg.labels))


def test_the_snapshot_and_its_checks_from_one_panel_are_those_built_apart(
        network, champions, cfg, monkeypatch):
    import serve.batch.scoring as scoring

    tables = network.loaded.tables
    cutoff = network.panel["cutoff"].max()
    apart = scoring.score_batch(tables, champions, cutoff, cfg)
    checked_apart = scoring.calibration_check(tables, champions, cutoff, cfg)
    panels = scoring.Panels.build(tables, cfg, [
        *scoring.scoring_cutoffs(cutoff, cfg),
        *scoring.check_cutoffs(tables, champions, cutoff, cfg)])
    built = []
    monkeypatch.setattr(scoring, "build_panel", lambda *a, **k: built.append(a) or
                        pytest.fail("a panel was built again"))
    shared = scoring.score_batch(tables, champions, cutoff, cfg, panels=panels)
    checked = scoring.calibration_check(tables, champions, cutoff, cfg, panels=panels)
    assert not built
    pd.testing.assert_frame_equal(shared.snapshot, apart.snapshot)
    pd.testing.assert_frame_equal(shared.population, apart.population)
    pd.testing.assert_frame_equal(shared.reps, apart.reps)
    assert checked == checked_apart and set(checked) == {"churn", "decline"}
