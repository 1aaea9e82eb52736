"""The snapshot's population file holds the cutoff and the month `past_months` earlier;
POST /v1/score takes the peers of the dealer's own past from the latter."""

from __future__ import annotations

import numpy as np
import pandas as pd

from serve.service.score import _past_among_peers
from serve.service.state import Snapshot


def _rows(cutoff: str, dealers: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"dealer_id": dealers, "cutoff": pd.Timestamp(cutoff),
                         "peers_orders_yoy_gap": 0.25, "orders_rhythm_alive": 0.9,
                         "orders_amount_3m": 100.0, "profile_region": "east"})


def test_the_population_file_splits_into_now_and_the_past():
    both = pd.concat([_rows("2025-01-01", ["A", "B"]), _rows("2026-01-01", ["A", "C", "D"])])
    frame = pd.DataFrame({"dealer_id": ["A"], "model_versions": ["{}"]})
    snap = Snapshot.from_frame("2026-01-01", frame, both)
    assert list(snap.population["dealer_id"]) == ["A", "C", "D"]
    assert list(snap.past_population["dealer_id"]) == ["A", "B"]
    older = Snapshot.from_frame("2026-01-01", frame, _rows("2026-01-01", ["A"]))
    assert older.past_population is None  # written before the past was kept


def test_without_the_past_population_features_across_dealers_are_unknown():
    past = _rows("2025-01-01", ["A"])
    out = _past_among_peers(past, None, min_group=10)
    assert np.isnan(out["peers_orders_yoy_gap"].iloc[0])
    assert np.isnan(out["orders_rhythm_alive"].iloc[0])
    assert out["orders_amount_3m"].iloc[0] == 100.0  # the dealer's own: kept
