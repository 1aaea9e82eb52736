"""Life-cycle stages: the documented criteria, row by row, and their order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.lifecycle import STAGES, stage
from features.settings import StageSettings


def test_stages_by_hand():
    frame = pd.DataFrame({
        #                         churned dormant new  declining growing mature  new, never
        "orders_days_since_last": [200.0, 100.0, 10.0, 10.0, 10.0, 10.0, np.nan],
        "profile_tenure_months": [40.0, 40.0, 5.0, 40.0, 40.0, 40.0, 2.0],
        "orders_change_yoy_12m": [-0.9, -0.5, 0.5, -0.15, 0.2, 0.1, np.nan],
        "orders_change_yoy_3m": [-1.0, -1.0, 0.0, -0.1, 0.1, 0.0, np.nan],
    })
    assert stage(frame, StageSettings()).tolist() == [
        "churned", "dormant", "new", "declining", "growing", "mature", "new"]


def test_unknown_change_is_mature_and_settings_move_the_lines():
    frame = pd.DataFrame({"orders_days_since_last": [10.0, 100.0],
                          "profile_tenure_months": [40.0, 40.0],
                          "orders_change_yoy_12m": [np.nan, 0.0],
                          "orders_change_yoy_3m": [np.nan, 0.0]})
    assert stage(frame, StageSettings()).tolist() == ["mature", "dormant"]
    assert stage(frame, StageSettings(dormant_after_days=120)).tolist() == ["mature",
                                                                             "mature"]


def test_a_steep_fall_in_the_last_quarter_is_declining_even_after_a_good_year():
    frame = pd.DataFrame({"orders_days_since_last": [10.0] * 4,
                          "profile_tenure_months": [40.0] * 4,
                          #                        steep fall, mild dip, unknown, at the line
                          "orders_change_yoy_12m": [0.4, 0.4, 0.4, 0.0],
                          "orders_change_yoy_3m": [-0.6, -0.2, np.nan, -0.3]})
    assert stage(frame, StageSettings()).tolist() == ["declining", "growing", "growing",
                                                      "declining"]
    assert stage(frame, StageSettings(recent_change=0.7)).tolist()[0] == "growing"


def test_every_panel_row_has_a_known_stage(network):
    stages = set(network.panel["stage"])
    assert stages <= set(STAGES) and {"new", "mature"} <= stages
    active = network.panel[network.panel["active"]]
    assert "churned" not in set(active["stage"])  # active: an order within 180 days
