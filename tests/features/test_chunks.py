"""Checking a Parquet table in chunks gives exactly what checking it whole gives."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.settings import ContractSettings
from features.simulator import simulate
from features.simulator.settings import SimulatorSettings
from features.validation import load_data


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """A simulated folder plus duplicates and reused ids placed far apart in the files."""
    out = tmp_path_factory.mktemp("chunks") / "net"
    summary = simulate(out, SimulatorSettings(dealers=60, months=14, seed=9))
    orders = pd.read_parquet(out / "orders.parquet")
    far = pd.concat([orders, orders.iloc[[3, 10, 25]], orders.iloc[[3]]], ignore_index=True)
    far.loc[len(far)] = far.loc[50].to_dict() | {"net_amount": -5.0}  # a bad row at the end
    far.to_parquet(out / "orders.parquet", row_group_size=1000)
    tickets = pd.read_parquet(out / "tickets.parquet")
    reused = tickets.iloc[[0]].assign(category="design")  # same id, other values
    padded = tickets.iloc[[2]].assign(ticket_id=" " + tickets.iloc[2]["ticket_id"] + "\u3000",
                                      category="warranty")  # the same id once trimmed
    pd.concat([tickets, reused, tickets.iloc[[1]], padded], ignore_index=True).to_parquet(
        out / "tickets.parquet")
    return out, date.fromisoformat(summary.as_of)


def test_chunked_and_whole_checks_agree(messy):
    out, as_of = messy
    whole = load_data(out, ContractSettings(as_of=as_of, chunk_rows=10**9))
    chunked = load_data(out, ContractSettings(as_of=as_of, chunk_rows=997))
    assert whole.report.to_dict() == chunked.report.to_dict()
    for name in whole.tables:
        pd.testing.assert_frame_equal(whole.tables[name], chunked.tables[name],
                                      check_categorical=False)
        pd.testing.assert_frame_equal(whole.rejects[name], chunked.rejects[name])
    orders = whole.report.tables["orders"]
    assert orders.duplicates >= 4  # the three far copies and the second copy of row 4
    assert whole.report.tables["tickets"].rejected_by_reason["duplicate_id"] == 2
    assert whole.report.tables["tickets"].duplicates >= 1
    reject = whole.rejects["tickets"].query("reason == 'duplicate_id'")
    assert reject["detail"].iloc[0].endswith("was already used in row 1 with different values")
    assert reject["detail"].iloc[1].endswith("was already used in row 3 with different values")


def test_parquet_and_csv_find_the_same_reused_ids(messy, tmp_path):
    """DuckDB picks the candidate ids in a Parquet file; the CSV path reads every id."""
    out, as_of = messy
    csv = tmp_path / "csv"
    csv.mkdir()
    for name in ("dealers", "orders", "tickets"):
        pd.read_parquet(out / f"{name}.parquet").to_csv(csv / f"{name}.csv", index=False)
        (csv / f"{name}.parquet").unlink(missing_ok=True)
    settings = ContractSettings(as_of=as_of)
    from_csv = load_data(csv, settings).rejects["tickets"]
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    for name in ("dealers", "orders", "tickets"):
        (parquet / f"{name}.parquet").write_bytes((out / f"{name}.parquet").read_bytes())
    from_parquet = load_data(parquet, settings).rejects["tickets"]
    columns = ["row", "reason", "detail"]
    assert from_csv[columns].equals(from_parquet[columns])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=300),
       st.integers(min_value=0, max_value=40))
def test_repeated_hashes_are_exactly_the_duplicated_values(values, copies):
    """The low-bits table may let extra rows through; the exact comparison after it must
    not, and no repeated value may be missed."""
    import numpy as np

    from features.validation import _repeated
    arr = np.array(values + values[:copies] + [v ^ (1 << 40) for v in values[:copies]],
                   dtype=np.uint64)
    assert (_repeated(arr) == pd.Series(arr).duplicated(keep=False).to_numpy()).all()
