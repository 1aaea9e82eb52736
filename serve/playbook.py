"""The playbook's schema and its default actions: recommended actions by factor group,
life-cycle stage and risk band, in English and Chinese. Part of the settings
(`[[playbook.actions]]` in TOML), so a channel team can write its own; serve.batch.actions
matches them to a dealer's reasons."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Action(BaseModel):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title_en: str
    title_zh: str
    steps_en: str = Field(description="What to do, who owns it, by when.")
    steps_zh: str
    groups: list[str] = Field(default_factory=list, description="Factor or alert groups it "
                              "answers. Empty: it answers the stage (needs stages).")
    stages: list[str] = Field(default_factory=list, description="Only for dealers in these "
                              "life-cycle stages (empty: any).")
    bands: list[str] = Field(default_factory=list, description="Only for dealers in these "
                             "risk bands (empty: any).")


def _action(id, groups, en, zh, steps_en, steps_zh, **limits) -> Action:
    return Action(id=id, groups=groups, title_en=en, title_zh=zh, steps_en=steps_en,
                  steps_zh=steps_zh, **limits)


DEFAULT_ACTIONS: tuple[Action, ...] = (
    _action("clear_overdue_support", ["service"],
            "Escalate and clear overdue support requests",
            "升级并清理超期支持请求",
            "Service manager names an owner for each overdue or escalated request, calls the "
            "dealer within 2 working days, and closes them within 5; report back to the "
            "channel manager.",
            "服务经理为每个超期或升级的请求指定负责人，2个工作日内致电经销商，5个工作日内解决，"
            "并向渠道经理汇报。"),
    _action("quality_programme", ["complaints"],
            "Quality audit and replacement programme", "质量排查与换货计划",
            "Quality team audits the complained batches and installation within 2 weeks; "
            "replace faulty units at the manufacturer's cost and brief the dealer's installers.",
            "质量团队2周内排查被投诉批次和安装问题；由厂家承担费用更换问题产品，并培训经销商安装人员。"),
    _action("fix_logistics", ["logistics"], "Fix deliveries", "解决物流问题",
            "Logistics owner reviews the late and damaged deliveries with the carrier this "
            "week, settles damage claims, and commits to delivery dates for open orders.",
            "物流负责人本周与承运商复盘延迟和货损交付，处理货损理赔，并对未交付订单承诺交期。"),
    _action("margin_support", ["price"],
            "Margin support", "利润支持",
            "Channel manager offers one of: a volume rebate, a functional discount for "
            "showroom and installation services, freight sharing, or display samples; agree "
            "it within the month.",
            "渠道经理在本月内从以下方式中选定一项：返利、展厅与安装服务的功能性折扣、运费分担或样品支持。"),
    _action("defend_territory", ["orders", "mix", "peers"],
            "Territory protection and a sales contest", "区域保护与销售竞赛",
            "Regional manager confirms the dealer's territory protection, checks for a "
            "competitor's approach, and enrols the dealer in the next sales contest with "
            "targets for the categories it dropped.",
            "区域经理确认经销商的区域保护，了解竞争对手接触情况，并让经销商参加下一期销售竞赛，"
            "为其减少的品类设定目标。"),
    _action("visit_and_plan", ["engagement"],
            "Rep visit and a joint business plan", "业务员拜访并制定联合经营计划",
            "Sales rep visits within 2 weeks and agrees a joint business plan for the next "
            "quarter (targets, promotions, support); regional manager reviews it.",
            "业务员2周内拜访，与经销商共同制定下季度经营计划（目标、促销、支持），区域经理审核。"),
    _action("risk_review", ["scores"],
            "Risk review call", "风险复盘沟通",
            "Channel manager calls the dealer this week to hear what changed, and logs the "
            "answer in the CRM; pick the matching action above.",
            "渠道经理本周致电经销商了解变化，在CRM中记录，并选择上面相应的措施。"),
    _action("onboarding_support", [], "Onboarding support", "新经销商扶持",
            "Rep checks in every month of the first year: showroom setup, first orders, "
            "training for sales staff and installers.",
            "首年内业务员每月跟进：展厅布置、首批订货、销售和安装人员培训。",
            stages=["new"], bands=["medium", "high", "critical"]),
    _action("reactivate", [], "Reactivation call", "激活沟通",
            "Regional manager calls within a week to learn why orders stopped and offers a "
            "restart package (samples, first-order discount).",
            "区域经理一周内致电了解停止订货原因，并提供重启支持（样品、首单折扣）。",
            stages=["dormant"]),
    _action("recognise", [], "Recognition for a strong dealer", "优秀经销商表彰",
            "Recognise the dealer in the regional meeting and offer priority on new "
            "products and co-marketing funds.",
            "在区域会议上表彰该经销商，并优先提供新品和联合营销资金。",
            stages=["growing", "mature"], bands=["low"]),
)


class PlaybookSettings(BaseModel):
    """Recommended actions by factor group, stage and band."""

    actions: list[Action] = Field(default_factory=lambda: [a.model_copy()
                                                           for a in DEFAULT_ACTIONS])
