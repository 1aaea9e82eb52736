"""Programs in the simulator: true, varied effects; randomized pilots beside confounded
managers; a truth that gives every dealer's uplift of every program, zero where a program
does nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.settings import ContractSettings
from features.simulator import simulate
from features.simulator.network import simulate_network
from features.simulator.oracle import NO_PROGRAM, program_oracle
from features.simulator.settings import SimulatorSettings
from features.simulator.world import CAUSES, World
from features.simulator.worlds import WORLDS, _effects
from features.validation import load_data

TRUTH = {"program_truth_months": 2, "program_truth_horizon_months": 9,
         "program_oracle_paths": 48}


@pytest.fixture(scope="module")
def null_world():
    """The world where extra visits relieve nothing, small, with the programs' truth."""
    world = WORLDS["program-null"].world().model_copy(update=TRUTH)
    net = simulate_network(600, 30, "2022-03", 31, world)
    return net, world, program_oracle(net, world, 31)


def uplift(truth: pd.DataFrame) -> pd.DataFrame:
    """Per dealer-month and program: the fall in the chance of leaving it brings."""
    wide = truth.pivot_table(index=["dealer_id", "month"], columns="program",
                             values="p_leave")
    return (-wide.sub(wide[NO_PROGRAM], axis=0)).drop(columns=NO_PROGRAM)


def test_a_program_that_does_nothing_has_an_uplift_of_exactly_zero(null_world):
    _, _, truth = null_world
    up = uplift(truth)
    assert len(up) > 500
    # extra visits do nothing in this world; advertising moves orders, never the hazard
    assert (up["extra_visits"] == 0).all() and (up["advertising_allowance"] == 0).all()
    assert (up["priority_service"] > 0).any()


def test_programs_help_the_dealers_whose_trouble_they_reach(null_world):
    net, world, truth = null_world
    up = uplift(truth).reset_index()
    months = sorted(up["month"].unique())
    t = list(net.month_starts.date).index(months[0])
    ramps = pd.DataFrame({c: net.ramps[i][:, t] for i, c in enumerate(CAUSES)},
                         index=net.dealers["dealer_id"])
    first = up[up["month"] == months[0]].set_index("dealer_id").join(ramps)
    serviced = first["service"] >= 0.5
    assert serviced.sum() >= 5
    assert first.loc[serviced, "priority_service"].mean() > 0.05
    assert first.loc[serviced, "priority_service"].mean() > \
        5 * first.loc[~serviced, "priority_service"].mean()
    # and differently from dealer to dealer among those it reaches
    assert first.loc[serviced, "priority_service"].std() > 0.01


def test_a_program_can_harm_a_segment():
    world = WORLDS["program-harm"].world().model_copy(update=TRUTH)
    net = simulate_network(600, 30, "2021-11", 47, world)
    up = uplift(program_oracle(net, world, 47)).reset_index()
    channel = net.dealers.set_index("dealer_id")["channel"]
    up["channel"] = up["dealer_id"].map(channel)
    by_channel = up.groupby("channel")["rebate"].mean()
    assert by_channel["project"] < -0.01 < 0 < by_channel["showroom"]


def test_a_program_that_touches_one_segment_leaves_every_other_dealer_exactly_alone():
    """The scenarios share their random numbers row by row: a program that changes the
    project dealers' months must not shift the draws of anyone else, or the truth of every
    other dealer would carry Monte-Carlo noise (several points) instead of zero."""
    harm_only = {"relief": {}, "recovery": 0.0, "harm_channel": "project", "harm": 0.35}
    effects = _effects(rebate=harm_only)
    world = World(program_effects=effects, **TRUTH)
    net = simulate_network(400, 30, "2022-01", 5, world)
    up = uplift(program_oracle(net, world, 5)).reset_index()
    project = up["dealer_id"].map(net.dealers.set_index("dealer_id")["channel"]) == "project"
    assert project.sum() > 20 and (~project).sum() > 200
    assert (up.loc[~project, "rebate"] == 0).all()
    assert up.loc[project, "rebate"].mean() < -0.01


def test_pilots_are_random_and_managers_target_the_troubled(null_world):
    net, _, _ = null_world
    given = net.programs
    assert set(given["assigned_by"]) == {"pilot", "manager"}
    visible = np.array([net.ramps[:, d, max(t - 1, 0)].max()
                        for d, t in zip(given["dealer"], given["start"], strict=True)])
    by = pd.Series(visible).groupby(given["assigned_by"].to_numpy()).mean()
    assert by["manager"] > 2 * by["pilot"]
    pilots = given[given["assigned_by"] == "pilot"]
    assert (pilots["start"] % 3 == 0).all()  # drawn at each quarter's start
    assert pilots["kind"].nunique() == len(net.inputs.programs.kinds)


def test_without_programs_none_is_given_and_the_table_is_empty(tmp_path):
    world = World(program_pilot_share=0.0, program_manager_rate=0.0)
    net = simulate_network(200, 24, "2022-01", 3, world)
    assert net.programs.empty and (net.program_on == -1).all()


def test_the_simulated_programs_table_keeps_the_contract(tmp_path):
    out = tmp_path / "net"
    simulate(out, SimulatorSettings(dealers=300, months=30, seed=3, format="csv"))
    loaded = load_data(out, ContractSettings())
    report = loaded.report.tables["programs"]
    assert report.rows_read > 50 and report.rejected == 0
    programs = loaded.frame("programs")
    assert programs["cost"].gt(0).all() and (programs["ended_on"] >= programs["started_on"]).all()
    truth = pd.read_parquet(out / "_truth" / "dealer_months.parquet")
    running = truth.dropna(subset=["program"])
    assert len(running) > 0 and set(running["program"]) <= set(programs["program"])
