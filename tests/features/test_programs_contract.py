"""The programs table (retention programs given to dealers): checked like the others, by
hand, on both engines."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import load_data

HEADER = "program_id,dealer_id,program,started_on,ended_on,cost,assigned_by,note\n"
GOOD = ("P1,D1,rebate,2024-03-01,2024-05-31,12000,pilot,\n"
        "P2,D2,priority_service,2024-04-01,2024-09-30,3000,manager,季度复盘\n")


def programs(lines: str) -> dict[str, str]:
    return {"programs.csv": HEADER + GOOD + lines}


@pytest.mark.parametrize(("line", "reason", "column", "value", "detail"), [
    ("P9,D1,rebate,2024-03-01,2024-02-01,10,pilot,", "ended_before_started", "ended_on",
     "2024-02-01", "ended_on: 2024-02-01 is before started_on 2024-03-01"),
    ("P9,D1,rebate,2024-03-01,2024-05-01,-10,pilot,", "negative_cost", "cost", "-10",
     "cost: -10 is negative"),
    ("P9,D1,free lunch,2024-03-01,2024-05-01,10,pilot,", "unknown_program", "program",
     "free lunch", "program: 'free lunch' is not one of rebate, functional_discount, "
     "cash_discount, volume_reward, advertising_allowance, freight_sharing, display_samples, "
     "store_fitout, sales_contest, priority_service, extra_visits"),
    ("P9,D1,rebate,2024-03-01,2024-05-01,10,boss,", "unknown_assignment", "assigned_by",
     "boss", "assigned_by: 'boss' is not one of pilot, manager, rule"),
    ("P9,D7,rebate,2024-03-01,2024-05-01,10,pilot,", "unknown_dealer", "dealer_id", "D7",
     "dealer_id: 'D7' is not an accepted dealer (not in the dealers table)"),
    ("P9,D2,rebate,2018-03-01,2018-05-01,10,pilot,", "before_dealer_opened", "started_on",
     "2018-03-01", "started_on: 2018-03-01 is more than 31 days before the dealer's "
     "opened_on 2021-03-01 (settings: contract.opened_grace_days)"),
    ("P9,D1,rebate,2024-08-01,2024-10-01,10,pilot,", "future_date", "started_on",
     "2024-08-01", "started_on: 2024-08-01 is after the data's as-of date 2024-07-01"),
    ("P1,D1,rebate,2024-03-01,2024-05-31,999,pilot,", "duplicate_id", "program_id", "P1",
     "program_id: 'P1' was already used in row 1 with different values"),
])
def test_program_defects(folder, settings, line, reason, column, value, detail):
    loaded = load_data(folder(programs(line + "\n")), settings)
    rejects = loaded.rejects["programs"]
    assert len(rejects) == 1, rejects
    assert rejects.iloc[0][["row", "reason", "column", "value", "detail"]].to_dict() == {
        "row": 3, "reason": reason, "column": column, "value": value, "detail": detail}
    assert loaded.report.tables["programs"].accepted == 2


def test_chinese_names_and_other_spellings_are_read_as_the_kind(folder, settings):
    lines = ("P3,D1,返点,2024-03-01,2024-03-31,10,试点,\n"
             "P4,D2,Store Fit-Out,2024-03-01,2024-06-30,50000,经理,\n"
             "P5,D2,加强拜访,2024-05-01,2024-10-31,800,,\n")
    loaded = load_data(folder(programs(lines)), settings)
    table = loaded.frame("programs").set_index("program_id")
    assert table.loc["P3", "program"] == "rebate" and table.loc["P3", "assigned_by"] == "pilot"
    assert table.loc["P4", "program"] == "store_fitout"
    assert table.loc["P5", "program"] == "extra_visits" and pd.isna(table.loc["P5",
                                                                                "assigned_by"])
    alias = loaded.report.tables["programs"].notices["category_alias"]
    assert alias["count"] == 5  # three programs and two assignments written another way
    assert {e["before"] for e in alias["examples"]} >= {"返点", "Store Fit-Out", "试点"}
    assert loaded.report.tables["programs"].rejected == 0


def test_an_end_ahead_of_the_as_of_date_is_fine(folder, settings):
    loaded = load_data(folder(programs("P3,D1,extra_visits,2024-06-01,2024-12-31,0,rule,\n")),
                       settings)
    assert loaded.report.tables["programs"].rejected == 0


def test_programs_give_no_feature_and_no_silence_flag(folder, settings):
    """What was done about a dealer is not a signal of its state: the panel is the same
    with and without the programs table."""
    from features.panel import build_panel

    without = build_panel(load_data(folder(), settings).tables)
    loaded = load_data(folder(programs("")), settings)
    pd.testing.assert_frame_equal(build_panel(loaded.tables), without)
