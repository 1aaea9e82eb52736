"""The churn risk split into leaving and a quiet spell, and what most of it is."""

from __future__ import annotations

import numpy as np

from serve.batch.scoring import quiet_spell, risk_kind


def test_the_split_and_the_kind():
    churn = np.array([0.40, 0.40, 0.30, 0.04, 0.40, np.nan])
    leave = np.array([0.30, 0.10, 0.45, 0.02, np.nan, 0.10])
    np.testing.assert_allclose(quiet_spell(churn, leave),
                               [0.10, 0.30, 0.0, 0.02, np.nan, np.nan])
    assert risk_kind(churn, leave, 0.10).tolist() == [
        "leaving",  # 30 points of leaving, 10 of a quiet spell
        "quiet_spell",  # 10 against 30
        "leaving",  # leaves after one more order: all of its churn risk is leaving
        "low",  # below the floor: not split
        "unknown", "unknown"]  # no leave (or churn) probability
