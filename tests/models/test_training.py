"""Fitting on a small simulated network: parity, additivity, no leakage, explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.simulator.truth import CAUSE_GROUPS, read_churners
from models.backtest import evaluation_origins, metrics_table, run_backtest
from models.bundle import ClassifierBundle, load_bundle, model_input
from models.dataset import FeatureSpec, ModelInput, label_end
from models.explain import CONTEXT_GROUPS, Context, explain, grouped_contributions
from models.fidelity import cause_hits, fidelity_table
from models.training import fit_classifier, fit_forecast, fit_models
from tests.models.conftest import small_settings


@pytest.fixture(scope="module")
def fitted(network):
    origin = network.panel["cutoff"].max()
    return origin, fit_models(network.panel, origin, small_settings(), network.labels)


def newest(network) -> pd.DataFrame:
    return network.panel[network.panel["cutoff"] == network.panel["cutoff"].max()]


def test_save_load_predicts_and_explains_identically(fitted, network, tmp_path):
    _, bundles = fitted
    rows = newest(network)
    for name, bundle in bundles.items():
        again = load_bundle(bundle.save(tmp_path / name))
        if isinstance(bundle, ClassifierBundle):
            np.testing.assert_array_equal(again.predict(rows), bundle.predict(rows))
        else:
            pd.testing.assert_frame_equal(again.predict(rows), bundle.predict(rows))
        np.testing.assert_array_equal(again.contributions(rows), bundle.contributions(rows))
        assert again.spec == bundle.spec and again.metadata == bundle.metadata


def test_contributions_add_up_to_the_raw_score(fitted, network):
    _, bundles = fitted
    rows = newest(network)
    for name in ("churn", "decline"):
        contrib = bundles[name].contributions(rows)
        np.testing.assert_allclose(contrib.sum(axis=1), bundles[name].margin(rows), atol=1e-9)
        groups = grouped_contributions(bundles[name], contrib)
        np.testing.assert_allclose(groups.sum(axis=1) + contrib[:, -1],
                                   bundles[name].margin(rows), atol=1e-9)
    fc = bundles["forecast"]
    np.testing.assert_allclose(np.exp(fc.contributions(rows).sum(axis=1)),
                               fc.predict(rows)["expected"], rtol=1e-9)


def with_odd_categories(rows: pd.DataFrame) -> pd.DataFrame:
    """The newest rows with a region never trained on and a missing tier, as text."""
    rows = rows.reset_index(drop=True).copy()
    for name in ("profile_region", "profile_tier"):
        rows[name] = rows[name].astype(object)
    rows.loc[0, "profile_region"] = "海外"
    rows.loc[1, "profile_tier"] = None
    return rows


def test_shared_inputs_give_what_lightgbm_reads_from_the_frame(fitted, network):
    """Scoring hands every champion one ModelInput (float codes, built once) instead of
    each building its DataFrame for LightGBM to convert: the predictions and TreeSHAP must
    be LightGBM's own from the DataFrame, unseen and missing categories included."""
    _, bundles = fitted
    rows = with_odd_categories(newest(network))
    shared = ModelInput(rows)
    for name, bundle in bundles.items():
        booster = bundle.booster if isinstance(bundle, ClassifierBundle) else bundle.mean
        frame = bundle.spec.matrix(rows)
        assert isinstance(model_input(booster, bundle.spec, shared), np.ndarray), name
        for how in ({"raw_score": True}, {"pred_contrib": True}):
            np.testing.assert_array_equal(booster.predict(shared.codes(bundle.spec), **how),
                                          booster.predict(frame, **how), err_msg=name)
        if isinstance(bundle, ClassifierBundle):
            np.testing.assert_array_equal(bundle.predict(shared), bundle.predict(rows))
        else:
            pd.testing.assert_frame_equal(bundle.predict(shared), bundle.predict(rows))
    assert shared.codes(bundles["churn"].spec) is shared.codes(bundles["decline"].spec)
    assert not shared.codes(bundles["churn"].spec).flags.writeable


def test_a_booster_with_other_categories_reads_the_frame(fitted, network):
    """Codes mean something only against the booster's own categories: a spec whose
    categories are not the booster's, in order, gets the DataFrame and LightGBM's mapping."""
    _, bundles = fitted
    bundle = bundles["churn"]
    name, known = next(iter(bundle.spec.categories.items()))
    other = FeatureSpec(bundle.spec.names,
                        bundle.spec.categories | {name: tuple(reversed(known))})
    rows = newest(network)
    assert isinstance(model_input(bundle.booster, other, ModelInput(rows)), pd.DataFrame)
    np.testing.assert_array_equal(
        bundle.booster.predict(model_input(bundle.booster, other, rows), raw_score=True),
        bundle.booster.predict(other.matrix(rows), raw_score=True))


def test_probabilities_and_intervals_are_well_formed(fitted, network):
    _, bundles = fitted
    rows = newest(network)
    p = bundles["churn"].predict(rows)
    assert ((p > 0) & (p < 1)).all()
    fc = bundles["forecast"].predict(rows)
    assert (fc["p10"] <= fc["p50"]).all() and (fc["p50"] <= fc["p90"]).all()
    assert (fc["p10"] >= 0).all() and (fc["expected"] >= 0).all()


def test_training_never_sees_labels_completed_after_the_origin(network):
    """Change every label that was not yet known at the origin: the model must not move."""
    panel, labels = network.panel, network.labels
    origin = panel["cutoff"].max() - pd.DateOffset(months=4)
    settings = small_settings()
    before = fit_classifier(panel, "churn", origin, settings, labels)
    forecast_before = fit_forecast(panel, origin, settings, labels)
    future = panel.copy()
    unknown = label_end(future["cutoff"], "churn", labels) > origin
    rng = np.random.default_rng(5)
    future.loc[unknown & future["churn"].notna(), "churn"] = rng.integers(
        0, 2, (unknown & future["churn"].notna()).sum()).astype(float)
    future.loc[unknown, "next_amount"] = future.loc[unknown, "next_amount"] * 7 + 1
    assert unknown.any()
    after = fit_classifier(future, "churn", origin, settings, labels)
    forecast_after = fit_forecast(future, origin, settings, labels)
    rows = newest(network)
    np.testing.assert_array_equal(before.predict(rows), after.predict(rows))
    pd.testing.assert_frame_equal(forecast_before.predict(rows), forecast_after.predict(rows))


def test_same_seed_same_model(network):
    origin = network.panel["cutoff"].max()
    a = fit_classifier(network.panel, "decline", origin, small_settings(), network.labels)
    b = fit_classifier(network.panel, "decline", origin, small_settings(), network.labels)
    rows = newest(network)
    np.testing.assert_array_equal(a.predict(rows), b.predict(rows))


def test_explanations_in_both_languages(fitted, network):
    _, bundles = fitted
    population = newest(network).reset_index(drop=True)
    rows = population.head(20)
    past = network.panel[network.panel["cutoff"] == rows["cutoff"].iloc[0]
                         - pd.DateOffset(months=12)]
    context = Context(population, past, min_peer_group=10, months=12)
    explained = explain(bundles["churn"], rows, context=context, top=3, top_lowering=2)
    assert len(explained) == len(rows)
    for e in explained:
        reasons = e.reasons
        lowering = [f for f in e.factors if f.direction == "lowers"]
        assert e.factors == reasons + lowering  # the reasons first, then what lowers the risk
        assert len(reasons) <= 3 and len(lowering) <= 2
        assert [f.contribution for f in reasons] == sorted(
            [f.contribution for f in reasons], reverse=True)
        assert all(f.contribution > 0 and f.effect >= 0 for f in reasons)
        assert all(f.contribution < 0 and f.effect <= 0 for f in lowering)
        assert sum(f.share for f in e.factors) <= 1 + 1e-9
        for f in e.factors:
            assert f.group not in CONTEXT_GROUPS
            assert f.sentence_en and f.sentence_zh and f.sentence_en != f.sentence_zh
    with_context = [f for e in explained for f in e.factors if f.peer_median is not None]
    assert with_context and all("peer median" in f.sentence_en for f in with_context)
    assert all("同组中位数" in f.sentence_zh for f in with_context)


def test_fidelity_machinery_on_the_simulator_truth(fitted, network):
    _, bundles = fitted
    churners = read_churners(network.data_dir)
    assert churners is not None and len(churners) > 0
    keys = churners.rename(columns={"churn_month": "cutoff"})
    rows = network.panel.merge(keys[keys["cause"] != "sudden"], on=["dealer_id", "cutoff"])
    population = network.panel[network.panel["cutoff"].isin(rows["cutoff"].unique())]
    hits = cause_hits(bundles["churn"], rows, rows["cause"], CAUSE_GROUPS, 3,
                      population=population, peer_keys=["profile_region", "profile_channel"],
                      min_peer_group=10)
    table = fidelity_table(hits)
    assert table["churners"].iloc[-1] == len(rows)
    # a hit is the cause's group among the (at most 3) groups of the top reasons
    tops = [set(filter(None, t.split(", "))) for t in hits["top_groups"]]
    assert all(len(t) <= 3 for t in tops)
    assert hits["hit"].tolist() == [bool(CAUSE_GROUPS[c] & t)
                                    for c, t in zip(hits["cause"], tops, strict=True)]
    per_cause = table.set_index("cause")["hit_rate"]
    for cause, rate in hits.groupby("cause")["hit"].mean().items():
        assert per_cause[cause] == pytest.approx(rate)
    # the reasons know something: they beat naming the same three groups for everyone
    # (the three that are most often a churner's cause group)
    counts = pd.Series([g for c in hits["cause"] for g in CAUSE_GROUPS[c]]).value_counts()
    constant = set(counts.index[:3])
    constant_rate = np.mean([bool(CAUSE_GROUPS[c] & constant) for c in hits["cause"]])
    print(f"hit rate {hits['hit'].mean():.3f} against the constant {constant_rate:.3f}")
    assert hits["hit"].mean() > constant_rate
    assert read_churners(network.data_dir / "nowhere") is None


def test_backtest_scores_each_origin_out_of_sample(network):
    settings = small_settings()
    origins = evaluation_origins(network.panel, 2)
    bt = run_backtest(network.panel, settings, network.labels, origins)
    assert list(bt.classifiers["origin"].unique()) == list(origins)
    for origin, bundles in bt.bundles.items():
        assert bundles["churn"].metadata["origin"] == f"{origin:%Y-%m-%d}"
        cal_end = pd.Timestamp(bundles["churn"].metadata["calibration_cutoffs"][1])
        assert label_end(pd.DatetimeIndex([cal_end]), "churn", network.labels)[0] <= origin
    table = metrics_table(bt, settings)
    pooled_model = table[(table["origin"] == "pooled") & (table["segment"] == "all")
                         & (table["predictor"] == "model")]
    assert set(pooled_model["model"]) == {"churn", "decline", "forecast"}
    assert pooled_model.set_index("model").loc["churn", "roc_auc"] > 0.75
