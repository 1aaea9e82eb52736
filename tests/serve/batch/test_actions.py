"""The playbook: actions follow the dealer's risk-raising factors, alerts and stage, each marked
with what it answers, in the reader's language."""

from __future__ import annotations

import pytest

from serve.batch.actions import recommend
from serve.playbook import PlaybookSettings

PLAYBOOK = PlaybookSettings()


def _factor(group: str, direction: str = "raises", feature: str = "f") -> dict:
    return {"group": group, "direction": direction, "feature": feature,
            "sentence": f"{group} sentence"}


def test_each_factor_group_gets_its_action_marked_with_the_factor():
    factors = {"churn": [_factor("service", feature="service_overdue_open"),
                         _factor("complaints")],
               "decline": [_factor("logistics"), _factor("price", "lowers")]}
    actions = recommend(factors, [], "declining", "high", PLAYBOOK, "en")
    ids = [a["id"] for a in actions]
    assert ids == ["clear_overdue_support", "quality_programme", "fix_logistics"]
    first = actions[0]["answers"][0]
    assert first == {"kind": "factor", "model": "churn", "group": "service",
                     "feature": "service_overdue_open", "sentence": "service sentence"}
    # a factor that lowers risk asks for nothing
    assert "margin_support" not in ids


def test_alerts_are_answered_and_merged_into_the_same_action():
    alerts = [{"group": "service", "rule": "support_overdue", "title": "overdue"}]
    actions = recommend({"churn": [_factor("service")]}, alerts, "mature", "high",
                        PLAYBOOK, "en")
    assert len(actions) == 1
    assert [a["kind"] for a in actions[0]["answers"]] == ["factor", "alert"]


@pytest.mark.parametrize("stage,band,expected", [
    ("mature", "low", "recognise"), ("growing", "low", "recognise"),
    ("dormant", "high", "reactivate"), ("new", "medium", "onboarding_support")])
def test_stage_actions_follow_stage_and_band(stage, band, expected):
    actions = recommend({}, [], stage, band, PLAYBOOK, "en")
    assert [a["id"] for a in actions] == [expected]
    assert actions[0]["answers"] == [{"kind": "stage", "stage": stage}]


def test_no_recognition_for_a_dealer_at_risk():
    assert recommend({}, [], "mature", "critical", PLAYBOOK, "en") == []


def test_chinese_titles_and_steps():
    actions = recommend({"churn": [_factor("engagement")]}, [], "mature", "high", PLAYBOOK,
                        "zh")
    assert actions[0]["title"] == "业务员拜访并制定联合经营计划"
    assert "业务员" in actions[0]["steps"]


def test_every_default_action_is_bilingual_and_reachable():
    for action in PLAYBOOK.actions:
        assert action.title_en and action.title_zh and action.steps_en and action.steps_zh
        assert action.groups or action.stages, action.id
