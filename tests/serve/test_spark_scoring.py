"""`score --engine spark` writes the snapshot the embedded engine writes: every score,
factor and sentence, to 1e-9 (the JSON columns compared value by value)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="the spark extra is not installed")

from features.settings import ContractSettings  # noqa: E402
from features.validation import load_data  # noqa: E402
from serve.scoring import load_champions, score_batch  # noqa: E402
from tests.features.test_spark import spark  # noqa: E402, F401  (the shared session)
from tests.serve.conftest import served  # noqa: E402, F401  (a fixture)

JSON_COLUMNS = ("factors", "context", "flags", "alerts", "orders_by_month", "model_status",
                "model_versions")


def close(a, b) -> bool:
    """Equal JSON values, numbers to 1e-9 (relative or absolute)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_the_spark_snapshot_is_the_embedded_one(network, served, spark):  # noqa: F811
    settings, _, _ = served
    as_of = pd.Timestamp(network.panel["cutoff"].max())
    contract = ContractSettings(as_of=network.loaded.report.as_of)
    embedded = load_data(network.data_dir, contract)
    on_spark = load_data(network.data_dir, contract, spark=spark)
    champions = load_champions(settings)
    a, pop_a = score_batch(embedded.tables, champions, as_of, settings)
    b, pop_b = score_batch(on_spark.tables, champions, as_of, settings)
    pd.testing.assert_frame_equal(pop_a, pop_b, check_exact=False, rtol=1e-9, atol=1e-9)
    plain = [c for c in a.columns if c not in JSON_COLUMNS]
    pd.testing.assert_frame_equal(a[plain], b[plain], check_exact=False, rtol=1e-9,
                                  atol=1e-9)
    for column in JSON_COLUMNS:
        for x, y in zip(a[column], b[column], strict=True):
            assert close(json.loads(x), json.loads(y)), column
