"""Reasons measured against the dealer's peers, fixed attributes as context, and a world
with a regional price war whose shared price cut is nobody's reason."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from features.catalog import BY_NAME
from features.panel import build_panel
from features.settings import ContractSettings, LabelSettings
from features.simulator import simulate
from features.simulator.settings import SimulatorSettings
from features.simulator.world import World
from features.validation import load_data
from models.explain import (
    CONTEXT_GROUPS,
    Context,
    explain,
    grouped_contributions,
    peer_means,
    reason_groups,
)
from models.training import fit_models
from tests.models.conftest import small_settings


def test_peer_means_by_region_and_channel_fall_back_to_the_region():
    keys = pd.DataFrame({"cutoff": ["c"] * 7, "region": list("AAAAABB"),
                         "channel": ["x", "x", "x", "y", "y", "x", "x"]})
    values = np.array([[1.0], [2.0], [3.0], [10.0], [20.0], [5.0], [7.0]])
    # groups of at least 3: (A, x) is one; (A, y) falls back to region A; (B, x) has 2 -> B
    got = peer_means(values, keys, min_group=3)
    np.testing.assert_allclose(got[:, 0], [2, 2, 2, 7.2, 7.2, 6, 6])
    np.testing.assert_allclose(peer_means(values, keys, min_group=2)[:, 0],
                               [2, 2, 2, 15, 15, 6, 6])


@pytest.fixture(scope="module")
def fitted(network):
    origin = network.panel["cutoff"].max()
    return fit_models(network.panel, origin, small_settings(), network.labels)


def population_of(network) -> pd.DataFrame:
    panel = network.panel
    newest = panel[(panel["cutoff"] == panel["cutoff"].max()) & panel["active"]]
    return newest.reset_index(drop=True)


def test_a_shift_every_peer_shares_changes_no_reason(fitted, network):
    """Add a large price contribution to every dealer of one region (what a regional price
    war does to a naive explanation): the reasons of every dealer stay as they were."""
    bundle = fitted["churn"]
    population = population_of(network)
    context = Context(population, None, min_peer_group=10, months=12)
    contributions = bundle.contributions(population)
    names = list(bundle.spec.names)
    price = [j for j, n in enumerate(names) if BY_NAME[n].group == "price"]
    region = population["profile_region"].astype(str).value_counts().index[0]
    shocked = contributions.copy()
    hit = (population["profile_region"].astype(str) == region).to_numpy()
    shocked[np.ix_(hit, price)] += 2.0
    before = explain(bundle, population, context=context, contributions=contributions,
                     population_contributions=contributions)
    after = explain(bundle, population, context=Context(population, None, min_peer_group=10,
                                                        months=12),
                    contributions=shocked, population_contributions=shocked)
    for b, a in zip(before, after, strict=True):
        assert [(f.group, f.feature) for f in b.factors] == [(f.group, f.feature)
                                                              for f in a.factors]
        np.testing.assert_allclose([f.contribution for f in b.factors],
                                   [f.contribution for f in a.factors], atol=1e-9)


def test_no_reason_is_a_fixed_attribute_and_context_reads_in_both_languages(fitted, network):
    population = population_of(network)
    context = Context(population, None, min_peer_group=10, months=12)
    for model in ("churn", "decline"):
        explained = explain(fitted[model], population, context=context, notes=2, note_min=0.0)
        assert all(f.group not in CONTEXT_GROUPS for e in explained for f in e.factors)
        notes = [n for e in explained for n in e.context]
        assert notes, "a fixed attribute raises some dealer's score: it should be said"
        for n in notes:
            assert BY_NAME[n.feature].group in CONTEXT_GROUPS and n.contribution >= 0
            assert n.sentence_en and n.sentence_zh
            # no raw code value (project, showroom, online) in a Chinese sentence
            assert not re.search(r"project|showroom|online", n.sentence_zh), n.sentence_zh
    channel_notes = {n.sentence_zh for e in explain(fitted["churn"], population,
                                                    context=context, notes=5, note_min=0.0)
                     for n in e.context if n.feature == "profile_channel"}
    assert all("工程" in s or "线上" in s or "门店" in s for s in channel_notes)


def test_a_regional_price_war_is_not_given_as_the_region_dealers_reason(tmp_path):
    """A small world whose price wars hit whole regions: price is among the top-3 reasons in
    the war's region about as often as elsewhere (at most 1.25x; the target is 2x), where
    the naive ranking (raw contributions against the average dealer) names it more often
    there: the check can tell the two apart."""
    world = World(price_war_rate=0.04, price_war_discount=(0.15, 0.2),
                  price_war_months=(8, 10))
    summary = simulate(tmp_path / "net", SimulatorSettings(dealers=500, months=30, seed=8,
                                                           world=world))
    loaded = load_data(tmp_path / "net", ContractSettings(
        as_of=date.fromisoformat(summary.as_of)))
    labels = LabelSettings()
    panel = build_panel(loaded.tables, labels=labels)
    shocks = pd.read_parquet(tmp_path / "net" / "_truth" / "shocks.parquet")
    wars = shocks[shocks["kind"] == "price_war"]
    origin = panel["cutoff"].max() - pd.DateOffset(months=3)
    bundle = fit_models(panel, origin, small_settings(), labels)["churn"]
    shares = []
    for _, war in wars.iterrows():
        cutoff = pd.Timestamp(war["start"]) + pd.DateOffset(months=4)
        if not (panel["cutoff"].min() + pd.DateOffset(months=12) <= cutoff <= origin):
            continue
        rows = panel[(panel["cutoff"] == cutoff) & panel["active"]].reset_index(drop=True)
        tops = reason_groups(bundle, rows, rows, peer_keys=["profile_region", "profile_channel"],
                             min_peer_group=10, top=3)
        raw = grouped_contributions(bundle, bundle.contributions(rows))
        naive = [raw.columns[np.argsort(-np.abs(r), kind="stable")[:3]] for r in raw.to_numpy()]
        has_price = np.array(["price" in t for t in tops])
        naive_price = np.array(["price" in t for t in naive])
        inside = (rows["profile_region"].astype(str) == war["region"]).to_numpy()
        shares.append((has_price[inside].mean(), has_price[~inside].mean(),
                       naive_price[inside].mean(), naive_price[~inside].mean()))
    assert shares, wars
    inside, outside, naive_inside, naive_outside = np.mean(shares, axis=0)
    assert inside <= 1.25 * max(outside, 0.02), (inside, outside)
    assert naive_inside > 1.25 * naive_outside, (naive_inside, naive_outside)
