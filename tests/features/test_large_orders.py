"""A large Parquet orders file checked by DuckDB first gives exactly what the row-level
checks give on the whole file: same report, same rejects, same lines, same panel."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pandas as pd
import pytest

from features.orderlines import OrderLines
from features.panel import build_panel
from features.reading import ContractError
from features.settings import ContractSettings
from features.simulator import simulate
from features.simulator.settings import SimulatorSettings
from features.validation import load_data

LINE = ["dealer_id", "order_id", "order_date", "product_category", "quantity", "net_amount",
        "list_amount"]


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """Simulated lines plus every kind of line the fast path must not wave through."""
    out = tmp_path_factory.mktemp("large") / "net"
    summary = simulate(out, SimulatorSettings(dealers=60, months=14, seed=9))
    orders = pd.read_parquet(out / "orders.parquet").assign(note="")
    orders["order_date"] = pd.to_datetime(orders["order_date"])  # a timestamp column
    rows = [orders.iloc[i].to_dict() for i in range(50, 64)]
    bad = [
        rows[0] | {"net_amount": -5.0},                               # not a return
        rows[1] | {"dealer_id": " " + rows[1]["dealer_id"]},          # padded: accepted
        rows[2] | {"order_id": rows[2]["order_id"] + "\u3000"},       # ideographic space
        rows[3] | {"status": " Cancelled"},                           # cancelled, padded
        rows[4] | {"list_amount": float("nan")},
        rows[5] | {"list_amount": float("inf")},
        rows[6] | {"order_id": ""},
        rows[7] | {"product_category": "Cabinets "},
        rows[8] | {"quantity": 20_000.0},
        rows[9] | {"order_date": pd.Timestamp("2099-01-01")},
        rows[10] | {"note": "differs only in an ignored column"},      # an exact repeat
        rows[11] | {"list_amount": None},                             # NaN and missing ...
        rows[11] | {"list_amount": float("nan")},                     # ... are one value
        rows[12] | {"status": "cancelled"}, rows[12] | {"status": "cancelled"},
        rows[13] | {"order_date": rows[13]["order_date"] + pd.Timedelta(hours=15)},  # a notice
    ]
    messy = pd.concat([orders, orders.iloc[[3, 10, 25]], pd.DataFrame(bad)],
                      ignore_index=True)
    messy.to_parquet(out / "orders.parquet", row_group_size=1000)
    return out, date.fromisoformat(summary.as_of)


def both(out, as_of):
    whole = load_data(out, ContractSettings(as_of=as_of, stream_order_lines=10**9))
    streamed = load_data(out, ContractSettings(as_of=as_of, stream_order_lines=0))
    return whole, streamed


def test_streamed_and_whole_checks_agree(messy):
    whole, streamed = both(*messy)
    assert isinstance(streamed.tables["orders"], OrderLines)
    assert streamed.tables["orders"].parquet is not None
    assert len(streamed.tables["orders"].frame) < 100  # only suspects went through pandas
    assert whole.report.to_dict() == streamed.report.to_dict()
    for name in whole.rejects:
        pd.testing.assert_frame_equal(whole.rejects[name], streamed.rejects[name])
    report = whole.report.tables["orders"]
    assert report.duplicates >= 5 and report.cancelled >= 2 and report.balanced
    reasons = set(whole.rejects["orders"]["reason"])
    assert {"negative_amount_not_return", "unparseable_number", "missing_id",
            "absurd_quantity", "future_date"} <= reasons
    assert {"trimmed", "time_dropped"} <= set(report.notices)

    def lines(x):
        frame = OrderLines.of(x).to_frame()[LINE].astype(
            {"dealer_id": str, "order_id": str, "product_category": str})
        return frame.sort_values(LINE).reset_index(drop=True)

    pd.testing.assert_frame_equal(lines(whole.tables["orders"]),
                                  lines(streamed.tables["orders"]), check_dtype=False)


def test_streamed_lines_give_the_same_panel(messy):
    whole, streamed = both(*messy)
    pd.testing.assert_frame_equal(build_panel(whole.tables), build_panel(streamed.tables))


def test_a_file_replaced_during_the_run_is_refused(messy, tmp_path):
    out, as_of = messy
    copy = tmp_path / "net"
    copy.mkdir()
    for f in out.glob("*.parquet"):
        (copy / f.name).write_bytes(f.read_bytes())
    streamed = load_data(copy, ContractSettings(as_of=as_of, stream_order_lines=0))
    stat = (copy / "orders.parquet").stat()
    os.utime(copy / "orders.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(ContractError, match="changed while it was being read"):
        build_panel(streamed.tables)


def test_threads_aggregating_at_once_never_see_each_others_lines():
    """The API scores posted histories on a thread pool; every aggregation opens its own
    connection to the process's one DuckDB database."""
    import numpy as np

    from features.orderlines import aggregate_orders

    def frame(seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        n = 2000
        return pd.DataFrame({
            "dealer_id": r.choice(["a", "b", "c"], n), "order_id": r.integers(0, 500, n)
            .astype(str), "order_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(r.integers(0, 300, n), unit="D"),
            "product_category": r.choice(["x", "y"], n),
            "quantity": r.integers(1, 5, n).astype(float), "net_amount": r.random(n) * 100,
            "list_amount": r.random(n) * 120})

    def amounts(f: pd.DataFrame) -> np.ndarray:
        return aggregate_orders(OrderLines.of(f), pd.Index(["a", "b", "c"]),
                                pd.Period("2024-01", "M"), 10).sums["amount"]

    frames = [frame(i) for i in range(6)]
    alone = [amounts(f) for f in frames]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(amounts, frames * 3))
    for i, got in enumerate(together):
        np.testing.assert_array_equal(got, alone[i % len(frames)])
