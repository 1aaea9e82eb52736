"""Bad data end to end: a required table with no usable row, events long before the
dealer opened, an empty folder, --json errors, conversions reported as notices. Each
case states the exact outcome, and the later stages run or stop with the same clear
message instead of a traceback."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from tests.cli import cli_env, run_cli
from tests.features.conftest import DEALERS, ORDERS
from tests.serve.cli.test_cli import make_folder

SERIAL_DEALERS = DEALERS.replace("2020-01-15", "43845").replace("2021-03-01", "44256")
"""Excel's serial day numbers instead of dates: no dealer survives the checks."""


def run(args: list[str], cwd) -> subprocess.CompletedProcess:
    return run_cli(args, cwd)


def test_dealers_with_excel_serial_dates_stop_every_stage_with_a_clear_message(workdir):
    data = make_folder(workdir, {"dealers.csv": SERIAL_DEALERS, "orders.csv": ORDERS})
    expected = (f"error: {data}/dealers.csv: required table 'dealers' has no usable row: "
                "all 2 were rejected (unparseable_date 2); every rejected row, with its "
                "reason, is in .dealer-risk/rejects/")
    for command in (["validate"], ["features"], ["train"], ["score"]):
        result = run([*command, str(data), "--as-of", "2024-07-01"], workdir)
        assert result.returncode == 2, (command, result.stderr)
        assert " ".join(result.stderr.split()) == expected, command
        assert "Traceback" not in result.stderr
    rejects = pd.read_csv(workdir / ".dealer-risk" / "rejects" / "dealers.csv",
                          encoding="utf-8-sig")
    assert rejects["reason"].tolist() == ["unparseable_date", "unparseable_date"]
    assert rejects["value"].astype(str).tolist() == ["43845", "44256"]


def test_validate_json_speaks_json_on_errors_too(workdir):
    data = make_folder(workdir, {"dealers.csv": SERIAL_DEALERS, "orders.csv": ORDERS})
    result = run(["validate", str(data), "--as-of", "2024-07-01", "--json"], workdir)
    assert result.returncode == 2 and result.stderr == ""
    out = json.loads(result.stdout)
    assert out["ok"] is False and out["rejects_dir"] == ".dealer-risk/rejects"
    assert "required table 'dealers' has no usable row" in out["error"]
    (workdir / "e").mkdir()
    empty = make_folder(workdir / "e", {})
    result = run(["validate", str(empty), "--json"], workdir)
    out = json.loads(result.stdout)
    assert result.returncode == 2 and out["ok"] is False and out["rejects_dir"] is None


def test_an_empty_folder_names_every_missing_required_table(workdir):
    data = make_folder(workdir, {})
    result = run(["validate", str(data)], workdir)
    assert result.returncode == 2
    text = " ".join(result.stderr.split())
    assert f"{data}: required table 'dealers' is missing" in text
    assert f"{data}: required table 'orders' is missing" in text


def orders_parquet(text: str, workdir) -> bytes:
    """The orders CSV as a typed Parquet file: with stream_order_lines 0 DuckDB checks it
    on disk, the path large files take."""
    orders = pd.read_csv(pd.io.common.StringIO(text), dtype=str)
    for col in ("quantity", "net_amount", "list_amount"):
        orders[col] = orders[col].astype(float)
    orders["order_date"] = pd.to_datetime(orders["order_date"]).dt.date
    path = workdir / "orders.parquet"
    orders.to_parquet(path, index=False)
    return path.read_bytes()


ORDERS_EARLY = ORDERS + (
    "O3,D1,2009-03-02,cabinets,1,2000,2400,completed\n"  # 11 years before D1 opened
    "O4,D1,2019-12-20,cabinets,1,2000,2400,completed\n"  # 26 days before: within the grace
)


@pytest.mark.parametrize("stream", [False, True])
def test_orders_long_before_the_dealer_opened_are_rejected_by_both_paths(workdir, stream):
    """The same outcome whether the orders are checked in pandas or, as a large Parquet
    file, left on disk with DuckDB picking the suspect lines."""
    files = {"dealers.csv": DEALERS, "orders.csv": ORDERS_EARLY}
    if stream:
        files = {"dealers.csv": DEALERS, "orders.parquet": orders_parquet(ORDERS_EARLY, workdir)}
    data = make_folder(workdir, files)
    env = {**cli_env(), "DEALER_RISK_CONTRACT__STREAM_ORDER_LINES": "0" if stream else "1000000"}
    result = run_cli(["validate", str(data), "--as-of", "2024-07-01", "--json"], workdir, env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["tables"]["orders"]["rejected_by_reason"] == {"before_dealer_opened": 1}
    assert report["tables"]["orders"]["accepted"] == 4
    rejects = pd.read_csv(workdir / ".dealer-risk" / "rejects" / "orders.csv",
                          encoding="utf-8-sig")
    row = rejects.iloc[0]
    assert row["reason"] == "before_dealer_opened" and row["column"] == "order_date"
    assert row["detail"] == ("order_date: 2009-03-02 is more than 31 days before the dealer's "
                             "opened_on 2020-01-15 (settings: contract.opened_grace_days)")


ORDERS_FRACTIONS = ORDERS + (
    "O5,D1,2024-03-02,cabinets,2.5,6000,7000,completed\n"      # 2.5 cabinets: a notice
    "O6,D1,2024-03-03,countertops,1.5,900,1000,completed\n"    # metres of countertop
)


@pytest.mark.parametrize("stream", [False, True])
def test_fractional_quantities_are_kept_and_named_unless_the_category_allows_them(workdir,
                                                                                  stream):
    files = {"dealers.csv": DEALERS, "orders.csv": ORDERS_FRACTIONS}
    if stream:
        files = {"dealers.csv": DEALERS,
                 "orders.parquet": orders_parquet(ORDERS_FRACTIONS, workdir)}
    data = make_folder(workdir, files)
    env = {**cli_env(), "DEALER_RISK_CONTRACT__STREAM_ORDER_LINES": "0" if stream else "1000000",
           "DEALER_RISK_CONTRACT__FRACTIONAL_CATEGORIES": '["countertops"]'}
    result = run_cli(["validate", str(data), "--as-of", "2024-07-01", "--json"], workdir, env)
    assert result.returncode == 0, result.stderr
    orders = json.loads(result.stdout)["tables"]["orders"]
    assert orders["accepted"] == 5 and orders["rejected_by_reason"] == {}
    note = orders["notices"]["fractional_quantity"]
    assert note["count"] == 1 and note["column"] == "quantity"
    assert note["examples"] == [{"row": 4, "value": 2.5, "product_category": "cabinets"}]
    text = run_cli(["validate", str(data), "--as-of", "2024-07-01"], workdir, env).stdout
    assert "notice orders: fractional_quantity: 1 row kept, e.g. row 4: quantity 2.5 " \
           "(cabinets)" in " ".join(text.split())


def test_conversions_are_reported_and_the_later_stages_run(workdir):
    """Padded ids, ¥ amounts with separators, dates in other forms, yyyymmdd, offsets and
    category aliases: every row kept, each conversion a notice in --json and in words,
    and `features` builds its panel from the converted values."""
    from tests.features.test_conversions import COMPLAINTS, MESSY_DEALERS, MESSY_ORDERS, TICKETS
    data = make_folder(workdir, {"dealers.csv": MESSY_DEALERS, "orders.csv": MESSY_ORDERS,
                                 "tickets.csv": TICKETS, "complaints.csv": COMPLAINTS})
    result = run(["validate", str(data), "--as-of", "2024-07-01", "--json"], workdir)
    assert result.returncode == 0, result.stderr
    tables = json.loads(result.stdout)["tables"]
    assert {name: sorted(t["notices"]) for name, t in tables.items()} == {
        "dealers": ["date_form", "trimmed"],
        "orders": ["currency_or_separators", "date_form", "integer_date", "time_dropped"],
        "tickets": ["time_zone"],
        "complaints": ["category_alias"]}
    assert all(t["rejected"] == 0 for t in tables.values())
    text = " ".join(run(["validate", str(data), "--as-of", "2024-07-01"], workdir)
                    .stdout.split())
    assert ("notice orders: currency_or_separators: 3 rows kept, e.g. row 1: net_amount "
            "'¥5,000.00' -> '5000'") in text
    assert "notice dealers: trimmed: 1 row kept, e.g. row 1: dealer_id ' D1 ' -> 'D1'" in text
    panel = workdir / "panel.parquet"
    result = run(["features", str(data), "--as-of", "2024-07-01", "--out", str(panel)],
                 workdir)
    assert result.returncode == 0, result.stderr
    dealers = set(pd.read_parquet(panel)["dealer_id"])
    assert "D1" in dealers and dealers <= {"D1", "D2", "D3"}
    # five months of history: too little to train, said in one line; nothing to score
    trained = run(["train", str(data), "--as-of", "2024-07-01"], workdir)
    assert trained.returncode == 2 and "Traceback" not in trained.stderr
    assert "error: no cutoff has every model's label complete (panel cutoffs: 2024-02 .. " \
           "2024-02;" in " ".join(trained.stderr.split())
    scored = run(["score", str(data)], workdir)
    assert scored.returncode == 2 and "Traceback" not in scored.stderr
    assert "no 'champion' version of dealer-risk-churn" in scored.stderr
