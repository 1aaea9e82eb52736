"""The feature catalog: one definition of every feature, used by training, scoring and the API.

Each entry has a name derived from its parameters, a business group, a unit, whether the
manufacturer can act on it, a short description and a sentence template in English and
Chinese, and a pure compute function over the monthly aggregates (features/families.py).
Templates take {value} (formatted in the feature's unit) and {dir} (a direction word from
the unit's pair, by the value's sign): see features/text.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from features import families as f

GROUPS = ("orders", "price", "mix", "service", "complaints", "logistics", "engagement",
          "profile", "peers", "season")
GROUP_NAMES = {
    "orders": ("orders", "订单"), "price": ("price", "价格"), "mix": ("product mix", "产品结构"),
    "service": ("service", "服务"), "complaints": ("complaints", "投诉"),
    "logistics": ("logistics", "物流"), "engagement": ("rep visits", "业务员拜访"),
    "profile": ("profile", "基本属性"), "peers": ("peers", "同行"), "season": ("season", "季节"),
}
"""Each business group in plain words (English, Chinese): how a score's change is told."""
CATEGORICAL = "category"


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    unit: str
    actionable: bool
    description_en: str
    description_zh: str
    template_en: str
    template_zh: str
    compute: Callable[..., np.ndarray] | None
    """None for features computed across dealers (peers, order rhythm: their `params` say
    which) or read from the dealer's profile."""
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    requires: str = "orders"
    """The table the feature needs; it is left out when that optional table is absent."""
    words: tuple[tuple[str, str], tuple[str, str]] | None = None
    """Direction words (for a negative/false value, for a positive/true one) in English and
    Chinese, where the unit's defaults do not fit (flags)."""
    template_none: tuple[str, str] | None = None
    """The sentence for a change of exactly -100%, nothing at all in the window (English,
    Chinese): "no orders last month", not "100% below the month before"."""

    @property
    def categorical(self) -> bool:
        return self.unit == CATEGORICAL


def _feature(feature_name, group, unit, actionable, desc, template, compute=None, /,
             requires="orders", words=None, none=None, **params) -> Feature:
    return Feature(name=feature_name, group=group, unit=unit, actionable=actionable,
                   description_en=desc[0], description_zh=desc[1], template_en=template[0],
                   template_zh=template[1], compute=compute,
                   params=MappingProxyType(params), requires=requires, words=words,
                   template_none=none)


def _orders() -> list[Feature]:
    out = []
    for w in (1, 3, 6, 12):
        span = "month" if w == 1 else f"{w} months"
        out.append(_feature(
            f"orders_amount_{w}m", "orders", "CNY", False,
            (f"Net order amount over the last {span}", f"近{w}个月净订单额"),
            (f"Orders in the last {span}: {{value}}", f"近{w}个月订单额{{value}}"),
            f.window_sum, name="amount", months=w))
    for w in (3, 12):
        out.append(_feature(
            f"orders_quantity_{w}m", "orders", "units", False,
            (f"Units ordered over the last {w} months", f"近{w}个月订货数量"),
            (f"{{value}} units ordered in the last {w} months", f"近{w}个月订货{{value}}件"),
            f.window_sum, name="quantity", months=w))
        out.append(_feature(
            f"orders_count_{w}m", "orders", "count", False,
            (f"Orders placed over the last {w} months", f"近{w}个月下单次数"),
            (f"{{value}} orders in the last {w} months", f"近{w}个月下单{{value}}次"),
            f.window_sum, name="orders", months=w))
    for w in (6, 12):
        out.append(_feature(
            f"orders_active_months_{w}m", "orders", "months", False,
            (f"Months with orders among the last {w}", f"近{w}个月中有订单的月数"),
            (f"Ordered in {{value}} of the last {w} months", f"近{w}个月中有{{value}}个月下单"),
            f.window_sum, name="active_month", months=w))
    out += [
        _feature("orders_days_since_last", "orders", "days", False,
                 ("Days since the last order", "距上次下单天数"),
                 ("Last order {value} days ago", "已有{value}天未下单"),
                 f.days_since, event="order"),
        _feature("orders_monthly_mean_12m", "orders", "CNY", False,
                 ("Mean monthly net order amount over 12 months", "近12个月月均订单额"),
                 ("Average monthly orders over the last year: {value}",
                  "近一年月均订单额{value}"),
                 f.window_mean, name="amount", months=12),
        _feature("orders_volatility_12m", "orders", "ratio", False,
                 ("Coefficient of variation of monthly amounts over 12 months",
                  "近12个月月度订单额波动系数"),
                 ("Monthly orders vary by {value} of their mean", "月度订单额波动为均值的{value}"),
                 f.monthly_cv, months=12),
        _feature("orders_trend_12m", "orders", "per_month", False,
                 ("Trend of monthly amounts over 12 months (share of the mean per month)",
                  "近12个月订单额趋势（每月占均值比例）"),
                 ("Orders have been {dir} by {value} a month over the last year",
                  "近一年订单额每月{dir}{value}"),
                 f.trend_slope, months=12),
        _feature("orders_change_mom", "orders", "change", False,
                 ("Last month's amount against the month before", "上月订单额环比变化"),
                 ("Orders last month were {value} {dir} the month before",
                  "上月订单额环比{dir}{value}"),
                 f.window_change, name="amount", months=1, lag=1,
                 none=("No orders last month (the month before had some)",
                       "上月无订单（前一个月有订单）")),
        _feature("orders_change_qoq", "orders", "change", False,
                 ("Last 3 months' amount against the 3 months before", "近3个月订单额环比变化"),
                 ("Orders in the last 3 months are {value} {dir} the 3 months before",
                  "近3个月订单额较前3个月{dir}{value}"),
                 f.window_change, name="amount", months=3, lag=3,
                 none=("No orders in the last 3 months (the 3 months before had some)",
                       "近3个月无订单（此前3个月有订单）")),
        _feature("orders_change_yoy_3m", "orders", "change", False,
                 ("Last 3 months' amount against the same months a year earlier",
                  "近3个月订单额同比变化"),
                 ("Orders in the last 3 months are {value} {dir} the same period last year",
                  "近3个月订单额较去年同期{dir}{value}"),
                 f.window_change, name="amount", months=3, lag=12,
                 none=("No orders in the last 3 months (the same months last year had some)",
                       "近3个月无订单（去年同期有订单）")),
        _feature("orders_change_yoy_12m", "orders", "change", False,
                 ("Last 12 months' amount against the 12 months before", "近12个月订单额同比变化"),
                 ("Orders over the last year are {value} {dir} the year before",
                  "近一年订单额较上一年{dir}{value}"),
                 f.window_change, name="amount", months=12, lag=12,
                 none=("No orders in the last 12 months (the year before had some)",
                       "近12个月无订单（上一年有订单）")),
        _feature("orders_per_month_lifetime", "orders", "count", False,
                 ("Orders per month since the first order", "自首次下单以来月均下单次数"),
                 ("{value} orders a month since its first order",
                  "自首次下单以来平均每月下单{value}次"),
                 f.per_month_since_first, name="orders"),
        _feature("orders_quiet_share_lifetime", "orders", "share", False,
                 ("Days since the last order over days since the first order",
                  "未下单天数占首次下单以来天数的比例"),
                 ("Silent for {value} of the time since its first order",
                  "自首次下单以来{value}的时间未再下单"),
                 f.quiet_share),
        _feature("orders_order_days_lifetime", "orders", "count", False,
                 ("Days with an order since its first order", "首次下单以来有下单的天数"),
                 ("Ordered on {value} days since its first order",
                  "自首次下单以来共有{value}天下单"),
                 f.order_days_lifetime),
        _feature("orders_days_since_first", "orders", "days", False,
                 ("Days since its first order in the data", "距数据中首次下单的天数"),
                 ("First order {value} days ago", "首次下单距今{value}天"),
                 f.days_since_first),
        _feature("orders_amount_lifetime", "orders", "CNY", False,
                 ("Net order amount since its first order in the data",
                  "数据中首次下单以来的净订单额"),
                 ("{value} of orders since its first order", "自首次下单以来订单额{value}"),
                 f.amount_lifetime),
        _feature("orders_rhythm_alive", "orders", "share", False,
                 ("Chance it is still ordering, by its order rhythm (BG/NBD model fitted on "
                  "all dealers)", "按下单节奏估计仍在持续下单的概率（基于全体经销商的BG/NBD模型）"),
                 ("By its order rhythm, a {value} chance it is still ordering",
                  "按其下单节奏，仍在持续下单的概率为{value}"),
                 rhythm="alive"),
        _feature("orders_rhythm_none_3m", "orders", "share", False,
                 ("Chance of no order in the next 3 months, by its order rhythm (BG/NBD "
                  "model fitted on all dealers)",
                  "按下单节奏估计未来3个月不下单的概率（基于全体经销商的BG/NBD模型）"),
                 ("By its order rhythm, a {value} chance of no order in the next 3 months",
                  "按其下单节奏，未来3个月不下单的概率为{value}"),
                 rhythm="none", months=3),
        _feature("orders_rhythm_amount_3m", "orders", "CNY", False,
                 ("Expected order amount in the next 3 months, by its order rhythm (BG/NBD) "
                  "and its amount per order day",
                  "按下单节奏（BG/NBD）与每个下单日的金额估计的未来3个月订单额"),
                 ("By its order rhythm, about {value} of orders in the next 3 months",
                  "按其下单节奏，未来3个月订单额约{value}"),
                 rhythm="amount", months=3),
        _feature("orders_returns_share_6m", "orders", "share", True,
                 ("Returns as a share of gross orders over 6 months", "近6个月退货额占比"),
                 ("Returns were {value} of orders in the last 6 months",
                  "近6个月退货额占订单额的{value}"),
                 f.window_share, num="returns", den="gross", months=6),
    ]
    return out


def _price_and_mix() -> list[Feature]:
    return [
        _feature("price_unit_3m", "price", "CNY_per_unit", False,
                 ("Net amount per unit over the last 3 months", "近3个月平均单价"),
                 ("Average unit price in the last 3 months: {value}", "近3个月平均单价{value}"),
                 f.window_share, num="gross", den="quantity", months=3),
        _feature("price_unit_change_6m", "price", "change", True,
                 ("Unit price of the last 3 months against the 6 months before",
                  "近3个月单价较此前6个月的变化"),
                 ("Unit price is {value} {dir} its level of the 6 months before",
                  "单价较此前6个月{dir}{value}"),
                 f.ratio_change, num="gross", den="quantity", months=3, base_months=6,
                 base_lag=3),
        _feature("price_unit_change_12m", "price", "change", True,
                 ("Unit price of the last 3 months against the 12 months before",
                  "近3个月单价较此前12个月的变化"),
                 ("Unit price is {value} {dir} its level of the 12 months before",
                  "单价较此前12个月{dir}{value}"),
                 f.ratio_change, num="gross", den="quantity", months=3, base_months=12,
                 base_lag=3),
        _feature("price_unit_change_yoy_3m", "price", "change", True,
                 ("Unit price of the last 3 months against the same months a year earlier",
                  "近3个月单价同比变化"),
                 ("Unit price is {value} {dir} the same period last year",
                  "单价较去年同期{dir}{value}"),
                 f.ratio_change, num="gross", den="quantity", months=3, base_months=3,
                 base_lag=12),
        _feature("price_discount_3m", "price", "share", True,
                 ("Discount off list price over the last 3 months", "近3个月折扣深度"),
                 ("Discount off list price in the last 3 months: {value}",
                  "近3个月平均折扣{value}"),
                 f.one_minus_share, num="listed_net", den="listed_list", months=3),
        _feature("price_discount_change_12m", "price", "points", True,
                 ("Discount of the last 3 months against the 12 months before",
                  "近3个月折扣较此前12个月的变化"),
                 ("Discounts are {value} {dir} than in the 12 months before",
                  "折扣深度较此前12个月{dir}{value}"),
                 f.discount_change, months=3, base_months=12, base_lag=3),
        _feature("mix_category_breadth_6m", "mix", "count", True,
                 ("Product categories ordered over the last 6 months", "近6个月订购品类数"),
                 ("Ordered {value} product categories in the last 6 months",
                  "近6个月订购{value}个品类"),
                 f.category_breadth, months=6),
        _feature("mix_category_breadth_change_6m", "mix", "count_change", True,
                 ("Categories ordered in the last 6 months minus the 6 months before",
                  "近6个月品类数较前6个月的变化"),
                 ("{value} {dir} product categories than in the 6 months before",
                  "品类数较前6个月{dir}{value}个"),
                 f.category_breadth_change, months=6),
        _feature("mix_top_category_share_6m", "mix", "share", False,
                 ("Share of the largest category in the last 6 months' orders",
                  "近6个月最大品类占比"),
                 ("The largest category is {value} of orders", "最大品类占订单额的{value}"),
                 f.top_category_share, months=6),
    ]


def _service() -> list[Feature]:
    out = []
    for w in (3, 12):
        out.append(_feature(
            f"service_tickets_{w}m", "service", "count", False,
            (f"Support requests raised over the last {w} months", f"近{w}个月支持请求数"),
            (f"{{value}} support requests in the last {w} months",
             f"近{w}个月提出{{value}}个支持请求"),
            f.window_sum, requires="tickets", name="tickets", months=w))
        out.append(_feature(
            f"service_overdue_share_{w}m", "service", "share", True,
            (f"Share of requests due in the last {w} months answered late or still open",
             f"近{w}个月到期请求中超期比例"),
            (f"{{value}} of support requests due in the last {w} months were overdue",
             f"近{w}个月到期的支持请求有{{value}}超期"),
            f.window_share, requires="tickets", num="tickets_overdue", den="tickets_due",
            months=w))
    out += [
        _feature("service_overdue_share_change", "service", "points", True,
                 ("Overdue share of the last 3 months against the 12 months before",
                  "近3个月超期比例较此前12个月的变化"),
                 ("The overdue share of support requests is {value} {dir} than in the year "
                  "before", "支持请求超期比例较此前一年{dir}{value}"),
                 f.share_change, requires="tickets", num="tickets_overdue", den="tickets_due",
                 months=3, base_months=12, base_lag=3),
        _feature("service_escalations_3m", "service", "count", True,
                 ("Requests escalated over the last 3 months", "近3个月升级的请求数"),
                 ("{value} support requests escalated in the last 3 months",
                  "近3个月有{value}个支持请求被升级"),
                 f.window_sum, requires="tickets", name="escalated", months=3),
        _feature("service_resolution_hours_3m", "service", "hours", True,
                 ("Mean hours to answer requests closed in the last 3 months",
                  "近3个月请求平均处理时长（小时）"),
                 ("Support requests took {value} hours on average to answer",
                  "支持请求平均{value}小时才答复"),
                 f.window_share, requires="tickets", num="resolution_hours",
                 den="tickets_closed", months=3),
        _feature("service_open_backlog", "service", "count", True,
                 ("Requests open at the cutoff", "截至当前未关闭的请求数"),
                 ("{value} support requests are still open", "仍有{value}个支持请求未关闭"),
                 f.running_count, requires="tickets", name="tickets_open"),
        _feature("service_overdue_open", "service", "count", True,
                 ("Requests past their deadline and still open at the cutoff",
                  "已超期且仍未关闭的请求数"),
                 ("{value} support requests are past their deadline and still open",
                  "有{value}个支持请求已超期仍未解决"),
                 f.running_count, requires="tickets", name="tickets_overdue_open"),
    ]
    return out


def _complaints() -> list[Feature]:
    out = [
        _feature(f"complaints_count_{w}m", "complaints", "count", True,
                 (f"Consumer complaints over the last {w} months", f"近{w}个月消费者投诉数"),
                 (f"{{value}} consumer complaints in the last {w} months",
                  f"近{w}个月有{{value}}起消费者投诉"),
                 f.window_sum, requires="complaints", name="complaints", months=w)
        for w in (3, 12)
    ]
    out += [
        _feature("complaints_per_million_6m", "complaints", "per_million", True,
                 ("Complaints per CNY 1M of orders over 6 months", "近6个月每百万元订单投诉数"),
                 ("{value} complaints per ¥1M of orders", "每百万元订单{value}起投诉"),
                 f.window_share, requires="complaints", num="complaints", den="gross",
                 months=6, scale=1e6),
        _feature("complaints_per_million_change_yoy_3m", "complaints", "per_million_change",
                 True,
                 ("Complaints per CNY 1M over 3 months minus the same months a year earlier",
                  "近3个月每百万元投诉数同比变化"),
                 ("{value} {dir} complaints per ¥1M than the same period last year",
                  "每百万元投诉数较去年同期{dir}{value}起"),
                 f.share_change, requires="complaints", num="complaints", den="gross",
                 months=3, base_months=3, base_lag=12, scale=1e6),
        _feature("complaints_surge_3m", "complaints", "count_change", True,
                 ("Complaints in the last 3 months minus the dealer's usual 3 months",
                  "近3个月投诉数较自身常态的增量"),
                 ("{value} {dir} complaints than usual in the last 3 months",
                  "近3个月投诉较常态{dir}{value}起"),
                 f.surge, requires="complaints", name="complaints", months=3, base_months=12),
        _feature("complaints_severe_share_6m", "complaints", "share", True,
                 ("Share of severe (level 3) complaints over 6 months", "近6个月严重投诉占比"),
                 ("{value} of complaints were severe", "严重投诉占{value}"),
                 f.window_share, requires="complaints", num="complaints_severe",
                 den="complaints", months=6),
        _feature("complaints_quality_share_6m", "complaints", "share", True,
                 ("Share of quality and installation complaints over 6 months",
                  "近6个月质量与安装类投诉占比"),
                 ("{value} of complaints were about quality or installation",
                  "质量与安装类投诉占{value}"),
                 f.window_share, requires="complaints", num="complaints_quality",
                 den="complaints", months=6),
        _feature("complaints_unresolved", "complaints", "count", True,
                 ("Complaints unresolved at the cutoff", "截至当前未解决的投诉数"),
                 ("{value} consumer complaints are unresolved", "有{value}起消费者投诉尚未解决"),
                 f.running_count, requires="complaints", name="complaints_open"),
    ]
    return out


def _logistics() -> list[Feature]:
    out = [
        _feature(f"logistics_late_share_{w}m", "logistics", "share", True,
                 (f"Share of deliveries due in the last {w} months that came late",
                  f"近{w}个月到期交付中延迟比例"),
                 (f"{{value}} of deliveries due in the last {w} months were late",
                  f"近{w}个月{{value}}的交付延迟"),
                 f.window_share, requires="deliveries", num="deliveries_late",
                 den="deliveries_due", months=w)
        for w in (3, 12)
    ]
    out += [
        _feature("logistics_delay_days_3m", "logistics", "days", True,
                 ("Mean days late of deliveries made in the last 3 months",
                  "近3个月交付平均延迟天数"),
                 ("Deliveries arrived {value} days late on average", "交付平均延迟{value}天"),
                 f.window_share, requires="deliveries", num="delay_days", den="delivered",
                 months=3),
        _feature("logistics_damage_share_6m", "logistics", "share", True,
                 ("Share of deliveries arriving damaged over 6 months", "近6个月货损比例"),
                 ("{value} of deliveries arrived damaged", "{value}的交付有货损"),
                 f.window_share, requires="deliveries", num="damaged", den="delivered",
                 months=6),
    ]
    return out


def _engagement() -> list[Feature]:
    """Rep visits. The raw counts and days since the last visit are not actionable: they
    carry the rep's habits (one rep visits every dealer half as often as another) and the
    dealer's tier as much as this dealer's care, so a lever moving them to the peers'
    level mostly asked for a different rep. The actionable ones compare the dealer with
    its own usual and with the same rep's other dealers: where those fall, this dealer is
    being neglected (features.panel.add_rep_relative)."""
    out = [
        _feature(f"engagement_visits_{w}m", "engagement", "count", False,
                 (f"Rep visits and calls over the last {w} months", f"近{w}个月业务员拜访次数"),
                 (f"{{value}} rep visits or calls in the last {w} months",
                  f"近{w}个月业务员拜访{{value}}次"),
                 f.window_sum, requires="visits", name="visits", months=w)
        for w in (3, 12)
    ]
    out += [
        _feature("engagement_visits_vs_usual_3m", "engagement", "count_change", True,
                 ("Visits in the last 3 months minus the dealer's usual 3 months",
                  "近3个月拜访次数较常态的变化"),
                 ("{value} {dir} rep visits than usual in the last 3 months",
                  "近3个月业务员拜访较常态{dir}{value}次"),
                 f.surge, requires="visits", name="visits", months=3, base_months=12),
        _feature("engagement_visits_vs_rep_3m", "engagement", "count_change", True,
                 ("Visits in the last 3 months minus the median of the same rep's dealers "
                  "of its tier", "近3个月拜访次数与同一业务员同等级经销商中位数之差"),
                 ("{value} {dir} rep visits in the last 3 months than the rep's other "
                  "dealers of its tier", "近3个月业务员拜访较其同等级经销商{dir}{value}次"),
                 requires="visits", across="rep", base="engagement_visits_3m"),
        _feature("engagement_days_since_visit", "engagement", "days", False,
                 ("Days since the last rep visit or call", "距上次业务员拜访天数"),
                 ("No rep visit for {value} days", "业务员已{value}天未拜访"),
                 f.days_since, requires="visits", event="visit"),
        _feature("engagement_rep_changed_6m", "engagement", "flag", True,
                 ("The visiting rep changed in the last 6 months", "近6个月更换了业务员"),
                 ("The sales rep {dir} changed in the last 6 months",
                  "近6个月业务员{dir}更换"),
                 f.rep_changed, requires="visits", words=(("has not", "has"), ("未", "已")),
                 months=6),
    ]
    return out


def _profile() -> list[Feature]:
    return [
        _feature("profile_region", "profile", CATEGORICAL, False, ("Sales region", "所属区域"),
                 ("Region {value}", "区域：{value}")),
        _feature("profile_tier", "profile", CATEGORICAL, False, ("Dealer tier", "经销商等级"),
                 ("Tier {value}", "等级：{value}")),
        _feature("profile_channel", "profile", CATEGORICAL, False, ("Sales channel", "渠道"),
                 ("Channel {value}", "渠道：{value}")),
        _feature("profile_tenure_months", "profile", "months", False,
                 ("Months since the contract started", "合作月数"),
                 ("Dealer for {value} months", "已合作{value}个月"), f.tenure_months),
        _feature("profile_is_new", "profile", "flag", False,
                 ("In its first 12 months", "合作未满12个月"),
                 ("The dealer {dir} in its first year", "经销商{dir}处于合作首年"),
                 f.is_new, words=(("is not", "is"), ("不", "正")), months=12),
    ]


PEER_BASES = {
    "orders": "orders_change_yoy_3m",
    "price": "price_unit_change_yoy_3m",
    "complaints": "complaints_per_million_change_yoy_3m",
}
_PEER_TEXT = {
    "orders": ("order change against last year", "订单同比变化", "orders"),
    "price": ("unit-price change against last year", "单价同比变化", "orders"),
    "complaints": ("complaint-rate change against last year", "投诉率同比变化", "complaints"),
}


def _peers() -> list[Feature]:
    out = []
    for key in PEER_BASES:
        en, zh, requires = _PEER_TEXT[key]
        gap_unit = "points" if key != "complaints" else "per_million_change"
        out.append(_feature(
            f"peers_{key}_yoy_gap", "peers", gap_unit, key != "orders",
            (f"Dealer's {en} minus its peer group's median", f"{zh}与同组经销商中位数之差"),
            (f"Its {en} is {{value}} {{dir}} than its peers' median",
             f"{zh}较同组中位数{{dir}}{{value}}"),
            requires=requires))
        out.append(_feature(
            f"peers_{key}_yoy_percentile", "peers", "percentile", False,
            (f"Percentile of the dealer's {en} in its peer group", f"{zh}在同组中的百分位"),
            (f"Its {en} ranks at the {{value}}th percentile of its peers",
             f"{zh}位于同组第{{value}}百分位"),
            requires=requires))
    return out


def _season() -> list[Feature]:
    return [
        _feature("season_month_of_year", "season", "month", False,
                 ("Calendar month of the cutoff", "截止日所在月份"),
                 ("Scored in month {value}", "评分月份：{value}月"), f.month_of_year),
        _feature("season_festival_next_3m", "season", "flag", False,
                 ("The Spring Festival falls in the next 3 months", "未来3个月包含春节"),
                 ("The Spring Festival {dir} in the next 3 months", "未来3个月{dir}春节"),
                 f.festival_ahead, words=(("does not fall", "falls"), ("不含", "包含")),
                 months=3),
        _feature("season_orders_same_quarter_last_year", "season", "CNY", False,
                 ("Net orders in the coming 3 months of last year", "去年同期（未来3个月）订单额"),
                 ("Last year the coming 3 months brought {value} of orders",
                  "去年同期未来3个月订单额{value}"),
                 f.window_sum, name="amount", months=3, lag=9),
    ]


CATALOG: tuple[Feature, ...] = tuple(
    _orders() + _price_and_mix() + _service() + _complaints() + _logistics() + _engagement()
    + _profile() + _peers() + _season()
)
BY_NAME: dict[str, Feature] = {feat.name: feat for feat in CATALOG}
ACROSS_DEALERS: tuple[str, ...] = tuple(
    feat.name for feat in CATALOG if feat.group == "peers" or "rhythm" in feat.params
    or "across" in feat.params)
"""Features computed across the dealers of a cutoff (peer groups, order rhythm, the same
rep's dealers): a single
dealer's own history cannot give them (features.panel.with_peers_from)."""

VALUE_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "profile_channel": {"showroom": ("showroom", "门店"), "online": ("online", "线上"),
                        "project": ("project", "工程")},
}
"""Words for the contract's code values (English, Chinese): no raw code in a Chinese
sentence. Values not listed (a network's own channel names) are shown as written."""

CONTEXT_NOTES: dict[str, dict[str | None, tuple[str, str]]] = {
    # feature: {value (None: any value): (English, Chinese)}; {value} is the value in words
    "profile_channel": {
        "project": ("Project dealers order in lumps: a quiet quarter is common for them",
                    "工程渠道经销商按项目批量订货：一个季度没有订单并不少见"),
        "online": ("Online dealers' orders swing with the shopping festivals (Double 11)",
                   "线上经销商的订单随购物节（双十一）大幅波动"),
        None: ("{value} dealers as a whole carry more risk than the average dealer",
               "{value}渠道的经销商整体风险高于平均水平"),
    },
    "profile_tier": {
        None: ("Tier {value} dealers leave more often than the average dealer",
               "{value}级经销商的流失比平均水平更常见"),
    },
    "profile_region": {
        None: ("Dealers in {value} as a whole carry more risk than the average dealer",
               "{value}区域的经销商整体风险高于平均水平"),
    },
    "profile_tenure_months": {
        None: ("A dealer for {value} months: dealers at this stage leave more often",
               "已合作{value}个月：处于这一阶段的经销商更容易流失"),
    },
    "profile_is_new": {
        None: ("In its first year: new dealers are still finding their feet",
               "合作首年：新经销商仍在起步阶段"),
    },
    "season_month_of_year": {
        None: ("Month {value}: at this time of year more dealers go quiet",
               "{value}月：每年此时停止订货的经销商更多"),
    },
    "season_festival_next_3m": {
        None: ("The Spring Festival falls in the next 3 months: orders usually pause around it",
               "未来3个月包含春节：春节前后订单通常暂停"),
    },
    "season_orders_same_quarter_last_year": {
        None: ("Last year the coming 3 months brought {value}: a quiet season for this dealer",
               "去年同期未来3个月订单额{value}：这是该经销商的淡季"),
    },
}
"""Fixed attributes are context, never a reason: a manager cannot change a dealer's channel,
tier, region, age or the calendar. When one raises the score, the dealer page says what it
means for such dealers in these words."""
