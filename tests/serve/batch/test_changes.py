"""Why a score changed: the change split by group adds up, and reads in both languages."""

from __future__ import annotations

import pytest

from serve.batch.changes import change_sentence, change_split


def test_the_split_adds_up_to_the_change_in_proportion_to_the_contributions():
    before = {"orders": 0.2, "service": 0.1, "season": 0.0, "model": -3.0}
    now = {"orders": 0.5, "service": 0.7, "season": -0.1, "model": -3.0}
    split = change_split(now, before, 0.16)
    assert [p["group"] for p in split] == ["service", "orders", "season"]  # largest first
    assert sum(p["points"] for p in split) == pytest.approx(16, abs=0.02)
    # moved log-odds 0.6, 0.3, -0.1 of 0.8 in all
    assert [p["points"] for p in split] == pytest.approx([12, 6, -2], abs=0.01)
    assert "model" not in {p["group"] for p in split}  # the same model: no share


def test_a_retrained_model_takes_the_base_values_share():
    split = change_split({"orders": 0.4, "model": -2.5}, {"orders": 0.4, "model": -3.0}, 0.05)
    assert split == [{"group": "model", "points": 5.0}]


@pytest.mark.parametrize("now,before,change", [
    (None, {"orders": 0.1}, 0.1), ({"orders": 0.1}, None, 0.1),
    ({"orders": 0.1}, {"orders": 0.1}, float("nan")), ({"orders": 0.1}, {"orders": 0.1}, 0.0)])
def test_nothing_to_split(now, before, change):
    assert change_split(now, before, change) == []


def test_the_sentence_names_the_largest_groups_in_both_languages():
    split = [{"group": "service", "points": 11.2}, {"group": "orders", "points": 6.1},
             {"group": "price", "points": 0.3}]
    assert change_sentence(split, 0.176, "2025-11-01", "en") == (
        "Risk rose 18 points since 2025-11-01: service +11, orders +6.")
    assert change_sentence(split, 0.176, "2025-11-01", "zh") == (
        "自2025-11-01以来风险上升18个百分点：服务 +11，订单 +6。")
    fell = [{"group": "engagement", "points": -4.0}]
    assert change_sentence(fell, -0.04, "2025-11-01", "en") == (
        "Risk fell 4 points since 2025-11-01: rep visits -4.")
    assert change_sentence([], 0.001, "2025-11-01", "en") == (
        "Risk about unchanged since 2025-11-01.")
    assert change_sentence(split, 0.1, None, "en") is None
