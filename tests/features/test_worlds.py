"""Several worlds: shared shocks, pauses, the named worlds and the oracle of each dealer-month.

The oracle is checked against the labels the pipeline itself computes from the simulated
tables: its mean must match the label rate within sampling noise, bin by bin.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from features.panel import build_panel
from features.settings import ContractSettings
from features.simulator import simulate
from features.simulator.network import simulate_network
from features.simulator.settings import SimulatorSettings
from features.simulator.truth import left_within
from features.simulator.world import World
from features.simulator.worlds import WORLDS
from features.validation import load_data


def test_shared_shocks_leave_every_dealer_hazard_unchanged():
    """Nobody's fault: a world with price wars, channel slumps and disruptions draws them from
    a stream of its own, so the latent health and hazard are those of the calm world."""
    calm = simulate_network(300, 30, "2022-01", 4, World())
    shocked = simulate_network(300, 30, "2022-01", 4, World(
        price_war_rate=0.1, channel_slump_rate=0.1, logistics_disruption_rate=0.1))
    assert len(shocked.shocks.table) >= 3
    assert set(shocked.shocks.table["kind"]) == {"price_war", "channel_slump",
                                                 "logistics_disruption"}
    np.testing.assert_array_equal(calm.hazard, shocked.hazard)
    np.testing.assert_array_equal(calm.alive, shocked.alive)
    assert calm.shocks.table.empty and np.all(calm.shocks.price_war == 0)
    # a project slump lowers every project dealer's expected orders in its months, by its size
    slump = shocked.shocks.table.query("kind == 'channel_slump'").iloc[0]
    project = (shocked.dealers["channel"] == "project").to_numpy()
    month = int(slump["start"]) + 2
    both = project & calm.alive[:, month] & (calm.expected_amount[:, month] > 0)
    ratio = shocked.expected_amount[both, month] / calm.expected_amount[both, month]
    factor = shocked.shocks.channel_factor[2, month]  # CHANNELS: showroom, online, project
    assert factor < 0.8
    np.testing.assert_allclose(ratio, factor)


def test_a_price_war_cuts_prices_across_its_region(tmp_path):
    world = World(price_war_rate=0.05, price_war_discount=(0.15, 0.15), price_war_months=(6, 6))
    summary = simulate(tmp_path / "net", SimulatorSettings(dealers=300, months=24, seed=9,
                                                           world=world))
    shocks = pd.read_parquet(tmp_path / "net" / "_truth" / "shocks.parquet")
    assert (shocks["kind"] == "price_war").any()
    war = shocks.iloc[0]
    orders = pd.read_parquet(tmp_path / "net" / "orders.parquet")
    dealers = pd.read_parquet(tmp_path / "net" / "dealers.parquet")
    orders = orders.merge(dealers[["dealer_id", "region"]], on="dealer_id")
    orders = orders[(orders["quantity"] > 0) & (orders["list_amount"] > 0)]
    month = pd.to_datetime(orders["order_date"]).dt.to_period("M")
    height = (pd.Period(war["start"], "M") + 2)  # a full-strength month of the war
    in_war = orders[month == height]
    discount = 1 - in_war["net_amount"] / in_war["list_amount"]
    gap = discount[in_war["region"] == war["region"]].mean() - discount[
        in_war["region"] != war["region"]].mean()
    assert 0.10 < gap < 0.20, (gap, summary)


def test_pauses_silence_a_dealer_for_a_few_months_then_it_comes_back():
    net = simulate_network(400, 36, "2022-01", 5, World(pause_rate=0.02, pause_months=(3, 3)))
    paused = net.paused & net.alive
    assert paused.sum() > 50
    d, t = np.nonzero(paused[:, :-4])
    level = net.expected_amount / np.where(net.paused, World().pause_level, 1.0)
    # while paused, the expected orders are the pause level of what they would have been
    np.testing.assert_allclose(net.expected_amount[d, t], level[d, t] * World().pause_level)
    # pauses last exactly their drawn length: three months on, then off again
    starts = paused[:, 1:] & ~paused[:, :-1]
    dd, tt = np.nonzero(starts[:, :-4])
    tt = tt + 1
    back = net.alive[dd, tt + 3]
    assert np.all(paused[dd, tt + 2][back])
    # then orders come back, unless a new pause starts at once (at the pause rate)
    assert paused[dd, tt + 3][back].mean() < 0.1


@pytest.fixture(scope="module")
def oracle_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("oracle") / "net"
    summary = simulate(out, SimulatorSettings(dealers=700, months=36, seed=21,
                                              world=WORLDS["disrupted"].world()))
    loaded = load_data(out, ContractSettings(as_of=date.fromisoformat(summary.as_of)))
    panel = build_panel(loaded.tables)
    truth = pd.read_parquet(out / "_truth" / "dealer_months.parquet")
    truth["cutoff"] = pd.to_datetime(truth["month"])
    rows = panel.merge(truth[["dealer_id", "cutoff", "oracle_churn", "oracle_leave"]],
                       on=["dealer_id", "cutoff"], how="left")
    rows = rows[rows["churn"].notna()].reset_index(drop=True)
    return rows.assign(left=left_within(out, rows, 90).to_numpy())


def test_the_oracle_is_known_for_every_labelled_row(oracle_world):
    assert len(oracle_world) > 10_000
    assert oracle_world["oracle_churn"].notna().all()
    assert oracle_world["oracle_churn"].between(0, 1).all()


def test_the_oracle_matches_the_label_rate_within_noise(oracle_world):
    y, p = oracle_world["churn"].to_numpy(), oracle_world["oracle_churn"].to_numpy()
    # the labels of one dealer's neighbouring months are correlated: allow 4 standard errors
    # of a sample a third this size
    se = np.sqrt(p.mean() * (1 - p.mean()) / (len(p) / 3))
    assert abs(y.mean() - p.mean()) < 4 * se, (y.mean(), p.mean())
    bins = pd.qcut(p, 5, duplicates="drop")
    by_bin = pd.DataFrame({"y": y, "p": p, "bin": bins}).groupby("bin", observed=True).mean()
    top = by_bin.iloc[-1]
    assert abs(top["y"] - top["p"]) < 0.05, by_bin
    assert roc_auc_score(y, p) > 0.85


def test_the_leaving_oracle_tells_leavers_from_quiet_spells(oracle_world):
    """In a world of store refits, the label's oracle ranks quiet spells high; the leaving
    oracle ranks the dealers that truly leave, and not the quiet spells."""
    w = oracle_world
    assert w["oracle_leave"].between(0, 1).all()
    gone = w["left"] & w["oracle_leave"].eq(1.0)
    assert gone.any()  # left before the cutoff though still active: certain
    quiet = (w["churn"] == 1) & ~w["left"]
    ordering = (w["churn"] == 0) & ~w["left"]
    assert quiet.sum() > 100 and w["left"].sum() > 100
    assert roc_auc_score(w["left"], w["oracle_leave"]) > 0.9
    assert roc_auc_score(w["left"], w["oracle_leave"]) > roc_auc_score(w["left"],
                                                                      w["oracle_churn"])
    spells = w[quiet | ordering]
    assert roc_auc_score(spells["churn"], spells["oracle_leave"]) < roc_auc_score(
        spells["churn"], spells["oracle_churn"]) - 0.2
    # the realized rate of leaving matches its oracle
    se = np.sqrt(w["oracle_leave"].mean() * (1 - w["oracle_leave"].mean()) / (len(w) / 3))
    assert abs(w["left"].mean() - w["oracle_leave"].mean()) < 4 * se


def test_named_worlds_from_the_command_line(tmp_path):
    from serve.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["simulate", str(tmp_path / "w"), "--dealers", "60",
                                 "--months", "14", "--world", "price-war"])
    assert result.exit_code == 0, result.output
    assert "2021-07" in result.output  # the named world's start month
    manifest = (tmp_path / "w" / "_truth" / "manifest.json").read_text()
    assert '"price_war_rate": 0.04' in manifest
    result = runner.invoke(app, ["simulate", str(tmp_path / "x"), "--world", "mars"])
    assert result.exit_code == 2
    assert "unknown world 'mars'; choose one of: baseline, price-war" in result.output


def test_a_scheduled_shock_runs_on_its_months():
    from features.simulator.world import ScheduledShock

    war = ScheduledShock(kind="price_war", unit="华南", start="2022-05", months=6, size=0.2)
    net = simulate_network(200, 18, "2022-01", 3, World(scheduled_shocks=(war,)))
    region = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"].index("华南")
    np.testing.assert_allclose(net.shocks.price_war[region],
                               [0] * 4 + [0.1, 0.2, 0.2, 0.2, 0.2, 0.1] + [0] * 8)
    assert net.shocks.price_war.sum() == pytest.approx(1.0)  # nowhere else
    row = net.shocks.table.iloc[0]
    assert (row["kind"], row["region"], row["start"], row["end"]) == ("price_war", "华南", 4, 10)
    with pytest.raises(ValueError, match="unknown region '火星'"):
        simulate_network(50, 12, "2022-01", 3, World(scheduled_shocks=(
            war.model_copy(update={"unit": "火星"}),)))


@pytest.mark.parametrize("unit,members", [
    ("tier:B", lambda net, t: (net.dealers["tier"] == "B").to_numpy()),
    ("city:成都", lambda net, t: (net.dealers["city"] == "成都").to_numpy()),
    ("rep-of:D00007", lambda net, t: net.rep_of[:, t] == net.rep_of[6, t]),  # D00001 is 0
    ("region-part:华东", lambda net, t: net.dealers["city"].isin(
        ["上海", "南京", "合肥"]).to_numpy()),  # the first half of 华东's cities, by name
])
def test_a_line_slump_cuts_the_orders_of_its_dealers_only(unit, members):
    """Shocks along lines the reasons' peers are not drawn on: the dealers on the line order
    less by the slump's depth in its months; the others, and everyone's health, not at all."""
    from features.simulator.world import ScheduledShock

    calm = simulate_network(300, 18, "2022-01", 4, World())
    slump = ScheduledShock(kind="line_slump", unit=unit, start="2022-05", months=6, size=0.4)
    net = simulate_network(300, 18, "2022-01", 4, World(scheduled_shocks=(slump,)))
    np.testing.assert_array_equal(calm.hazard, net.hazard)
    hit = members(net, 4)
    assert 0 < hit.sum() < len(hit)
    assert set(net.shocks.hit[0]) == set(np.flatnonzero(hit))
    month = 6  # at full height
    live = calm.alive[:, month] & (calm.expected_amount[:, month] > 0)
    ratio = net.expected_amount[live, month] / calm.expected_amount[live, month]
    np.testing.assert_allclose(ratio[hit[live]], 0.6)
    np.testing.assert_allclose(ratio[~hit[live]], 1.0)
    assert net.shocks.table.iloc[0][["kind", "line"]].tolist() == ["line_slump", unit]


def test_a_line_slump_names_a_known_line():
    from features.simulator.world import ScheduledShock

    with pytest.raises(ValueError, match="a line_slump's unit is one of"):
        ScheduledShock(kind="line_slump", unit="colour:red", start="2022-05", months=6,
                       size=0.4)
    with pytest.raises(ValueError, match="unknown city '火星'"):
        simulate_network(50, 12, "2022-01", 3, World(scheduled_shocks=(ScheduledShock(
            kind="line_slump", unit="city:火星", start="2022-05", months=6, size=0.4),)))
