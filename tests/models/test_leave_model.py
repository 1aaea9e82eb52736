"""The leave model: trained, gated and registered by `train` when the history allows, left
out with the reason when it does not, and scored beside the churn risk it splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.fingerprint import data_fingerprint
from features.panel import build_panel
from features.settings import ContractSettings, LabelSettings
from features.simulator import simulate
from features.simulator.settings import SimulatorSettings
from features.validation import load_data
from models.backtest import fittable_origins
from models.pipeline import RunInputs, train
from tests.models.conftest import SMALL, small_settings

LONGER = SMALL.model_copy(update={"months": 46})
"""Ten months more than the shared network: enough for the leave label's gate and the
survival model's (its dealers followed 12 + 9 months, with 8 strided cutoffs before)."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("leave")
    summary = simulate(work / "data", SimulatorSettings.model_validate(LONGER.model_dump()))
    loaded = load_data(work / "data", ContractSettings(as_of=pd.Timestamp(summary.as_of).date()))
    labels = LabelSettings()
    panel = build_panel(loaded.tables, labels=labels)
    settings = small_settings()
    settings.tracking.tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
    inputs = RunInputs(settings=settings.model_dump(mode="json"),
                       fingerprint=data_fingerprint(loaded.report), data_dir=str(work / "data"))
    return train(panel, inputs, settings, labels, work), panel, loaded, settings, work


def test_train_gates_and_registers_the_leave_model(trained):
    result, panel, _, settings, _ = trained
    assert not result.skipped
    decision = result.decisions["leave"]
    assert decision.promote, decision.summary()
    assert any(c.baseline for c in decision.checks)  # it had baselines to beat
    mv = MlflowClient().get_model_version_by_alias("dealer-risk-leave", "champion")
    assert str(mv.version) == result.versions["leave"]
    # judged out of time at origins where its label is complete, which come a year earlier
    leave_rows = result.table[(result.table["model"] == "leave")
                              & (result.table["origin"] != "pooled")]
    origins = pd.to_datetime(leave_rows["origin"].unique())
    assert origins.max() <= panel.loc[panel["leave"].notna(), "cutoff"].max()
    assert origins.max() < result.origin - pd.DateOffset(months=9)
    pooled = result.table[(result.table["model"] == "leave") & (result.table["origin"] ==
                                                                "pooled")
                          & (result.table["segment"] == "all")].set_index("predictor")
    assert pooled.loc["model", "roc_auc"] > pooled.loc["days_since", "roc_auc"]


def test_train_gates_and_registers_the_survival_model(trained):
    result, panel, _, settings, _ = trained
    decision = result.decisions["survival"]
    assert decision.promote, decision.summary()
    assert {c.name for c in decision.checks if c.baseline} == {
        "beats kaplan_meier on uno_c", "beats kaplan_meier on ibs"}
    mv = MlflowClient().get_model_version_by_alias("dealer-risk-survival", "champion")
    assert str(mv.version) == result.versions["survival"]
    # judged out of time against Kaplan-Meier at origins followed 12 + 9 months
    rows = result.table[(result.table["model"] == "survival")
                        & (result.table["origin"] == "pooled")].set_index("predictor")
    assert rows.loc["model", "uno_c"] > rows.loc["kaplan_meier", "uno_c"] + 0.05
    assert rows.loc["model", "ibs"] < rows.loc["kaplan_meier", "ibs"]
    assert rows.loc["model", "events"] > 20
    origins = pd.to_datetime(result.table.loc[(result.table["model"] == "survival")
                                              & (result.table["origin"] != "pooled"),
                                              "origin"])
    assert origins.max() <= panel["cutoff"].max() - pd.DateOffset(months=20)
    assert float(mv.tags["metric.uno_c"]) == pytest.approx(rows.loc["model", "uno_c"],
                                                           rel=1e-5)


def test_scoring_splits_the_churn_risk_into_leaving_and_a_quiet_spell(trained):
    from serve.batch.champions import load_champions
    from serve.batch.scoring import score_batch
    from serve.settings import Settings
    _, panel, loaded, models, work = trained
    settings = Settings(work_dir=work, models=models)
    champions = load_champions(settings)
    assert champions.leave is not None and champions.status()["leave"]["state"] == "champion"
    snap = score_batch(loaded.tables, champions, panel["cutoff"].max(), settings).snapshot
    leave, churn, quiet = (snap[c].to_numpy(dtype=float) for c in (
        "leave_probability", "churn_probability", "quiet_probability"))
    assert np.isfinite(leave).all() and ((leave >= 0) & (leave <= 1)).all()
    assert np.allclose(quiet, np.clip(churn - leave, 0, None))
    # the dealers already silent for months are leaving, not pausing
    silent = panel[(panel["cutoff"] == panel["cutoff"].max()) & panel["active"]]
    long_gone = set(silent.loc[silent["orders_days_since_last"] > 120, "dealer_id"])
    assert long_gone
    rows = snap[snap["dealer_id"].isin(long_gone)]
    assert rows["leave_probability"].mean() > 3 * snap["leave_probability"].mean()


def test_scoring_gives_each_dealer_a_survival_curve(trained):
    import json

    from serve.batch.champions import load_champions
    from serve.batch.scoring import score_batch
    from serve.settings import Settings
    _, panel, loaded, models, work = trained
    settings = Settings(work_dir=work, models=models)
    champions = load_champions(settings)
    assert champions.status()["survival"]["state"] in ("champion", "provisional")
    snap = score_batch(loaded.tables, champions, panel["cutoff"].max(), settings).snapshot
    curves = np.array([json.loads(c) for c in snap["survival_curve"]])
    assert curves.shape == (len(snap), 12) and (np.diff(curves, axis=1) <= 1e-12).all()
    assert np.allclose(snap["months_ordering"], curves.sum(axis=1), atol=1e-3)
    # a dealer silent for months is expected to keep ordering for fewer of them
    silent = panel[(panel["cutoff"] == panel["cutoff"].max()) & panel["active"]]
    long_gone = snap["dealer_id"].isin(set(
        silent.loc[silent["orders_days_since_last"] > 120, "dealer_id"]))
    assert (snap.loc[long_gone, "months_ordering"].mean()
            < snap.loc[~long_gone, "months_ordering"].mean() - 2)


def test_the_leave_model_s_calibration_is_checked_on_its_own_matured_months(trained):
    """The leave label completes a year after its cutoff (3 months' horizon, then 9 of
    silence): its calibration is judged on the newest months where it is known, apart
    from churn's, and a drifting leave champion is recalibrated like the others."""
    from dataclasses import replace

    from models.calibration import Calibrator
    from models.pipeline import recalibrate
    from serve.batch.champions import load_champions
    from serve.batch.scoring import calibration_check, matured_rows
    from serve.settings import Settings
    _, panel, loaded, models, work = trained
    settings = Settings(work_dir=work, models=models)
    champions = load_champions(settings)
    cutoff = panel["cutoff"].max()
    check = calibration_check(loaded.tables, champions, cutoff, settings)
    assert {"churn", "decline", "leave"} <= set(check)
    rows = matured_rows(loaded.tables, cutoff, settings, "leave")
    known = rows[rows["leave"].notna()]
    months = sorted(pd.to_datetime(known["cutoff"]).unique())
    assert len(months) == settings.scoring.calibration_months
    assert months[-1] + pd.DateOffset(months=12) <= cutoff  # a year: its label is complete
    churn_months = pd.to_datetime(check["churn"]["months"])
    assert months[-1] < churn_months[-1] - pd.DateOffset(months=6)
    leave = check["leave"]
    assert leave["months"] == [f"{m:%Y-%m-%d}" for m in months]
    assert leave["rows"] == len(known)
    assert leave["observed_rate"] == pytest.approx(known["leave"].mean())
    assert leave["mean_probability"] == pytest.approx(champions.leave.predict(known).mean())
    # a calibrator far from the truth drifts; recalibrating on those months brings the mean
    # back to the observed rate with the same booster, as the new champion
    skewed = replace(champions.leave, calibrator=Calibrator(
        "isotonic", {"x": [-20.0, 20.0], "y": [0.0, 1.0]}))
    drifting = calibration_check(loaded.tables, replace(champions, leave=skewed), cutoff,
                                 settings)["leave"]
    assert drifting["drifting"]
    inputs = RunInputs(settings=models.model_dump(mode="json"),
                       fingerprint=data_fingerprint(loaded.report), data_dir=str(work / "data"))
    version = recalibrate(skewed, known, champions.versions["leave"], inputs, models, work)
    again = load_champions(settings)
    assert again.versions["leave"] == version != champions.versions["leave"]
    assert again.leave.booster.model_to_string() == champions.leave.booster.model_to_string()
    after = calibration_check(loaded.tables, again, cutoff, settings)["leave"]
    assert not after["drifting"] and abs(after["gap"]) < abs(drifting["gap"]) / 5


def test_a_short_history_trains_without_the_leave_model(network):
    """36 months: the leave label is complete for two years of cutoffs, too few to both
    fit and judge the model out of time; `train` says so and goes on without it."""
    assert not len(fittable_origins(network.panel, "leave", 2, small_settings(),
                                    network.labels))


def test_retrain_recalibrates_a_kept_survival_champion_whose_curves_drift(trained):
    """Curves that expect twice the losses on the newest months: when the gate keeps the
    champion, `retrain` refits its hazards' calibrator there and registers it as the new
    champion, same booster, tagged with where it came from; curves that hold are left."""
    from dataclasses import replace
    from types import SimpleNamespace

    from features.storage import as_location
    from models.calibration import Calibrator
    from models.pipeline import register_recalibrated
    from models.survival import newest_periods, survival_calibration
    from serve.batch.champions import load_champions
    from serve.cli.training import _recalibrate_drifting
    from serve.settings import Settings

    result, panel, loaded, models, work = trained
    settings = Settings(work_dir=work, models=models)
    champions = load_champions(settings)
    kept = SimpleNamespace(decisions={"survival": SimpleNamespace(promote=False)},
                           origin=result.origin)
    folder = as_location(work / "data")
    tolerance = settings.scoring.calibration_tolerance
    periods = newest_periods(champions.survival, panel, result.origin, models, settings.labels)
    if not survival_calibration(champions.survival, periods, tolerance)["drifting"]:
        assert _recalibrate_drifting(loaded, settings, folder, kept, panel) == {}
    params = champions.survival.calibrator.params
    skewed = replace(champions.survival, calibrator=Calibrator(
        "platt_by_month", {**params, "b": params["b"] + np.log(2.0)}))
    inputs = RunInputs(settings=models.model_dump(mode="json"),
                       fingerprint=data_fingerprint(loaded.report), data_dir=str(work / "data"))
    bad = register_recalibrated(skewed, periods.rows, champions.versions["survival"], inputs,
                                models, work)
    assert survival_calibration(load_champions(settings).survival, periods,
                                tolerance)["drifting"]
    done = _recalibrate_drifting(loaded, settings, folder, kept, panel)
    again = load_champions(settings)
    assert done == {"survival": again.versions["survival"]} and done["survival"] != bad
    assert again.survival.booster.model_to_string() == \
        champions.survival.booster.model_to_string()
    assert abs(survival_calibration(again.survival, periods, tolerance)["gap"]) < 0.01
    tags = MlflowClient().get_model_version("dealer-risk-survival", done["survival"]).tags
    assert tags["recalibrated_from"] == bad and tags["gate"] == "recalibrated"
    assert again.survival.metadata["recalibration_cutoffs"][-1] == f"{periods.cutoffs[-1]:%Y-%m-%d}"


def test_score_checks_the_survival_curves_as_retrain_does(trained):
    """`score`'s survival check builds a panel at the calibration cutoffs alone and finds,
    at the newest cutoff and six months before it (data after it censored), exactly what
    retrain's check finds on the whole training panel; hazards twice too high drift."""
    from dataclasses import replace

    from models.calibration import Calibrator
    from models.survival import newest_periods, survival_calibration
    from serve.batch.champions import load_champions
    from serve.batch.scoring import survival_check
    from serve.settings import Settings

    _, panel, loaded, models, work = trained
    settings = Settings(work_dir=work, models=models)
    champions = load_champions(settings)
    tolerance = settings.scoring.calibration_tolerance
    newest = panel["cutoff"].max()
    for cutoff in (newest, newest - pd.DateOffset(months=6)):
        check = survival_check(loaded.tables, champions, cutoff, settings)
        periods = newest_periods(champions.survival, panel, cutoff, models, settings.labels)
        expected = survival_calibration(champions.survival, periods, tolerance)
        assert check["months"] == expected["months"]
        assert len(check["months"]) >= models.survival.calibration_cutoffs
        assert pd.Timestamp(check["months"][-1]) < cutoff
        assert check["person_periods"] == expected["person_periods"] > 0
        assert check["observed_losses"] == expected["observed_losses"] > 0
        assert check["expected_losses"] == pytest.approx(expected["expected_losses"], rel=1e-9)
    params = champions.survival.calibrator.params
    skewed = replace(champions, survival=replace(champions.survival, calibrator=Calibrator(
        "platt_by_month", {**params, "b": params["b"] + np.log(2.0)})))
    drifting = survival_check(loaded.tables, skewed, newest, settings)
    assert drifting["drifting"] and drifting["gap"] > 0.5
    assert survival_check(loaded.tables, replace(champions, survival=None), newest,
                          settings) is None
    early = panel["cutoff"].min() + pd.DateOffset(months=12)  # nothing settled yet
    assert survival_check(loaded.tables, champions, early, settings) is None
