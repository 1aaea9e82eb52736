"""The Spark engine gives exactly what the embedded one gives: the same report, rejects,
accepted lines and panel, on the simulator's output and on a file seeded with every kind
of line the checks must catch. One shared local[2] session, small data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="the spark extra is not installed")

from features.events import EventRows  # noqa: E402
from features.orderlines import OrderLines, monthly_amounts, orders_per_dealer  # noqa: E402
from features.panel import build_panel  # noqa: E402
from features.settings import ContractSettings, SparkSettings  # noqa: E402
from features.validation import load_data  # noqa: E402
from tests.features.test_large_events import EVENTS, messy_events, rows_of  # noqa: E402, F401
from tests.features.test_large_orders import LINE, messy  # noqa: E402, F401  (a fixture)


@pytest.fixture(scope="session")
def spark():
    from features.spark import session
    return session(SparkSettings(master="local[2]", driver_memory="1g"), "Asia/Shanghai")


def engines(out, as_of, spark, **contract):
    embedded = load_data(out, ContractSettings(as_of=as_of, **contract))
    on_spark = load_data(out, ContractSettings(as_of=as_of, **contract), spark=spark)
    return embedded, on_spark


@pytest.fixture(scope="module")
def messy_on_both(messy, spark):  # noqa: F811
    """The messy orders loaded by both engines once: the tests below only read them."""
    return engines(*messy, spark)


@pytest.fixture(scope="module")
def events_on_both(messy_events, spark):  # noqa: F811
    return engines(*messy_events, spark)


def test_checks_agree_on_a_messy_file(messy_on_both, spark):
    embedded, on_spark = messy_on_both
    lines = on_spark.tables["orders"]
    assert isinstance(lines, OrderLines) and lines.parquet is not None
    assert lines.spark is spark
    assert embedded.report.to_dict() == on_spark.report.to_dict()
    for name in embedded.rejects:
        pd.testing.assert_frame_equal(embedded.rejects[name], on_spark.rejects[name])
    reasons = set(on_spark.rejects["orders"]["reason"])
    assert {"negative_amount_not_return", "unparseable_number", "missing_id",
            "absurd_quantity", "future_date"} <= reasons

    def sorted_lines(x):
        frame = OrderLines.of(x).to_frame()[LINE].astype(
            {"dealer_id": str, "order_id": str, "product_category": str})
        frame["order_date"] = pd.to_datetime(frame["order_date"])
        return frame.sort_values(LINE).reset_index(drop=True)

    pd.testing.assert_frame_equal(sorted_lines(embedded.tables["orders"]),
                                  sorted_lines(on_spark.tables["orders"]), check_dtype=False)


def test_the_panel_agrees_to_1e9(messy_on_both):
    embedded, on_spark = messy_on_both
    a, b = build_panel(embedded.tables), build_panel(on_spark.tables)
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)


def test_lines_profiles_and_monthly_amounts_agree(messy_on_both):
    embedded, on_spark = messy_on_both
    x, y = OrderLines.of(embedded.tables["orders"]), on_spark.tables["orders"]
    assert x.date_range() == y.date_range()
    pd.testing.assert_series_equal(orders_per_dealer(x).sort_index(),
                                   orders_per_dealer(y).sort_index(), check_names=False)
    dealers = pd.Index(embedded.tables["dealers"]["dealer_id"].astype(str))
    np.testing.assert_allclose(
        monthly_amounts(x, dealers, pd.Period("2021-01", "M"), 30),
        monthly_amounts(y, dealers, pd.Period("2021-01", "M"), 30), rtol=1e-9)


def test_a_csv_orders_table_is_reduced_on_spark_too(folder, spark):
    """A small or CSV table is checked on the driver; its lines are still reduced by the
    engine (the same SQL)."""
    data = folder()
    embedded, on_spark = engines(data, pd.Timestamp("2024-07-01").date(), spark)
    assert on_spark.tables["orders"].spark is spark
    pd.testing.assert_frame_equal(build_panel(embedded.tables), build_panel(on_spark.tables),
                                  check_exact=False, rtol=1e-9, atol=1e-9)


def test_event_tables_are_checked_and_reduced_on_spark(events_on_both, spark):
    """Tickets, complaints, deliveries and visits seeded with every rule's failure: the
    same report, rejects, rows and panel as the embedded engine's."""
    embedded, on_spark = events_on_both
    for name in EVENTS:
        rows = on_spark.tables[name]
        assert isinstance(rows, EventRows) and rows.parquet is not None and rows.spark is spark
    assert embedded.report.to_dict() == on_spark.report.to_dict()
    for name in embedded.rejects:
        pd.testing.assert_frame_equal(embedded.rejects[name], on_spark.rejects[name])
    for name in EVENTS:
        pd.testing.assert_frame_equal(rows_of(name, embedded.tables[name]),
                                      rows_of(name, on_spark.tables[name]))
    pd.testing.assert_frame_equal(build_panel(embedded.tables), build_panel(on_spark.tables),
                                  check_exact=False, rtol=1e-9, atol=1e-9)


def test_a_lake_folder_given_as_a_uri_is_scanned_by_spark(
        messy_events, events_on_both, spark):  # noqa: F811
    """The folder as a URI (file:// here; s3://, abfs:// in a lake): Spark reads the
    files itself, the driver only their footers; same rejects and panel."""
    out, as_of = messy_events
    embedded = events_on_both[0]
    on_spark = load_data(out.resolve().as_uri(), ContractSettings(as_of=as_of), spark=spark)
    for name in EVENTS:
        assert on_spark.tables[name].parquet is not None
        assert str(on_spark.tables[name].parquet.path).startswith("file://")
    for name in embedded.rejects:
        pd.testing.assert_frame_equal(embedded.rejects[name], on_spark.rejects[name])
    pd.testing.assert_frame_equal(build_panel(embedded.tables), build_panel(on_spark.tables),
                                  check_exact=False, rtol=1e-9, atol=1e-9)


def test_programs_are_checked_alike_on_both_engines(tmp_path, spark):
    """The programs table is small: on Spark too the driver checks it with the same code."""
    from tests.features.conftest import DEALERS, ORDERS
    from tests.features.test_programs_contract import HEADER

    data = tmp_path / "data"
    data.mkdir()
    (data / "dealers.csv").write_text(DEALERS, encoding="utf-8")
    (data / "orders.csv").write_text(ORDERS, encoding="utf-8")
    pd.DataFrame({"program_id": ["P1", "P2", "P3", "P4"], "dealer_id": ["D1", "D2", "D9", "D1"],
                  "program": ["rebate", "优先服务", "rebate", "free lunch"],
                  "started_on": pd.to_datetime(["2024-03-01"] * 4).date,
                  "ended_on": pd.to_datetime(["2024-05-31", "2024-02-01", "2024-05-31",
                                              "2024-05-31"]).date,
                  "cost": [100.0, 5.0, 1.0, 2.0], "assigned_by": ["pilot"] * 4}
                 ).to_parquet(data / "programs.parquet")
    assert list(pd.read_parquet(data / "programs.parquet").columns) == HEADER.strip().split(
        ",")[:7]
    embedded, on_spark = engines(data, "2024-07-01", spark)
    assert embedded.report.to_dict() == on_spark.report.to_dict()
    pd.testing.assert_frame_equal(embedded.rejects["programs"], on_spark.rejects["programs"])
    assert set(embedded.rejects["programs"]["reason"]) == {
        "ended_before_started", "unknown_dealer", "unknown_program"}
