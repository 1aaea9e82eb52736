"""The catalog: complete metadata for every feature, and sentences in both languages."""

from __future__ import annotations

import re

import pytest

from features.catalog import BY_NAME, CATALOG, GROUPS
from features.text import format_value, sentence


def test_names_are_unique_and_groups_known():
    assert len(BY_NAME) == len(CATALOG)
    assert {f.group for f in CATALOG} == set(GROUPS)


@pytest.mark.parametrize("feature", CATALOG, ids=lambda f: f.name)
def test_every_feature_is_fully_described(feature):
    for text in (feature.description_en, feature.description_zh, feature.template_en,
                 feature.template_zh):
        assert text.strip()
    assert re.search(r"[\u4e00-\u9fff]", feature.description_zh)
    slot = "{dir}" if feature.unit == "flag" else "{value}"  # a flag speaks through {dir}
    assert slot in feature.template_en and slot in feature.template_zh
    assert ("{dir}" in feature.template_en) == ("{dir}" in feature.template_zh)
    assert feature.name.startswith(feature.group + "_")
    # the name carries the window: "_change_Nm" compares with the N months before, any
    # other name ends with its recent window
    comparison = "_change_" in feature.name and "base_months" in feature.params
    months = feature.params["base_months" if comparison else "months"] if (
        "months" in feature.params) else None
    if months is not None and re.search(r"_\d+m$", feature.name) and "lag" not in feature.params:
        assert feature.name.endswith(f"_{months}m"), "the name carries the window"


@pytest.mark.parametrize("feature", CATALOG, ids=lambda f: f.name)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_feature_renders_in_both_languages(feature, lang):
    value = "华东" if feature.categorical else -0.42
    text = sentence(feature.name, value, lang)
    assert text and "{" not in text


@pytest.mark.parametrize(
    ("name", "value", "en", "zh"),
    [
        ("orders_change_yoy_3m", -0.42,
         "Orders in the last 3 months are 42% below the same period last year",
         "近3个月订单额较去年同期下降42%"),
        ("orders_change_yoy_3m", 0.15,
         "Orders in the last 3 months are 15% above the same period last year",
         "近3个月订单额较去年同期上升15%"),
        ("orders_amount_3m", 1_234_567, "Orders in the last 3 months: ¥1.23M",
         "近3个月订单额123.5万元"),
        ("service_overdue_open", 3, "3 support requests are past their deadline and still open",
         "有3个支持请求已超期仍未解决"),
        ("engagement_days_since_visit", 95, "No rep visit for 95 days", "业务员已95天未拜访"),
        ("engagement_rep_changed_6m", 1, "The sales rep has changed in the last 6 months",
         "近6个月业务员已更换"),
        ("complaints_surge_3m", 2.0, "2 more complaints than usual in the last 3 months",
         "近3个月投诉较常态增加2起"),
        ("price_discount_change_12m", 0.05,
         "Discounts are 5.0 points higher than in the 12 months before",
         "折扣深度较此前12个月上升5.0个百分点"),
        ("peers_orders_yoy_gap", -0.37,
         "Its order change against last year is 37.0 points lower than its peers' median",
         "订单同比变化较同组中位数下降37.0个百分点"),
        # nothing at all in the window: said as such, not as "100% below"
        ("orders_change_mom", -1.0, "No orders last month (the month before had some)",
         "上月无订单（前一个月有订单）"),
        ("orders_change_yoy_12m", -1.0,
         "No orders in the last 12 months (the year before had some)",
         "近12个月无订单（上一年有订单）"),
        ("orders_change_mom", -0.99, "Orders last month were 99% below the month before",
         "上月订单额环比下降99%"),
    ],
)
def test_sentences_read_naturally(name, value, en, zh):
    assert sentence(name, value, "en") == en
    assert sentence(name, value, "zh") == zh


def test_unknown_values_have_no_sentence_and_languages_are_checked():
    assert sentence("orders_change_yoy_3m", float("nan")) is None
    with pytest.raises(ValueError, match="language must be one of en, zh"):
        sentence("orders_change_yoy_3m", 0.1, "fr")
    assert format_value("CNY", 8_500, "zh") == "8,500元"



def test_values_beside_a_sentence_carry_their_unit_and_no_negative_zero():
    from features.text import format_signed, sentence_with_context
    assert format_signed("peers_price_yoy_gap", -0.0004) == "0.0 points"
    assert format_signed("peers_price_yoy_gap", -0.0004, "zh") == "0.0个百分点"
    assert format_signed("peers_price_yoy_gap", -0.021) == "-2.1 points"
    assert format_signed("orders_change_yoy_3m", 0.001) == "+0.1%"
    assert format_signed("orders_change_yoy_3m", -0.0001) == "0.0%"
    assert format_signed("engagement_days_since_visit", 45) == "45 days"
    assert format_signed("engagement_days_since_visit", 45, "zh") == "45天"
    assert format_signed("engagement_days_since_visit", 1) == "1 day"
    said = sentence_with_context("engagement_days_since_visit", 120, past=30, peer=45)
    assert said == "No rep visit for 120 days (12 months earlier: 30 days; peer median: 45 days)"


def test_calendar_facts_are_not_compared_with_the_past_or_peers():
    from features.text import sentence_with_context
    for lang, want in (("en", "The Spring Festival falls in the next 3 months"),
                       ("zh", "未来3个月包含春节")):
        assert sentence_with_context("season_festival_next_3m", 1.0, lang, past=1.0,
                                     peer=1.0) == want
    assert "earlier" not in sentence_with_context("season_month_of_year", 2, past=2, peer=2)
    # a seasonal amount is the dealer's own: compared as any other
    assert "earlier" in sentence_with_context("season_orders_same_quarter_last_year", 1e5,
                                              past=2e5, peer=1e5)
