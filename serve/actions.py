"""Recommended actions: the playbook that turns a dealer's reasons into a manager's next step.

The playbook lives in the settings (`[[playbook.actions]]` in TOML, English and Chinese), so a
channel team can write its own. An action answers factor groups (the catalog's groups, or
'scores' for model alerts) and may be limited to life-cycle stages and risk bands; an
action with no groups answers the dealer's stage itself (recognition for strong dealers,
reactivation for dormant ones). `recommend` is pure: the dealer's top factors, open
alerts, stage and band in; the actions out, each marked with what it answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


def recommend(factors: Mapping[str, Iterable[Mapping]], alerts: Iterable[Mapping],
              stage: str | None, band: str | None, playbook: PlaybookSettings,
              lang: str) -> list[dict]:
    """The actions for the dealer's risk-raising factors (churn, then decline), its open
    alerts, and its stage; each lists what it answers, strongest reason first."""
    reasons: list[dict] = []
    for model in ("churn", "decline"):
        for f in factors.get(model, ()):
            if f.get("direction") == "raises":
                reasons.append({"kind": "factor", "model": model, "group": f["group"],
                                "feature": f.get("feature"),
                                "sentence": f.get("sentence") or
                                f.get(f"sentence_{lang}")})
    for a in alerts:
        reasons.append({"kind": "alert", "group": a["group"], "rule": a["rule"],
                        "sentence": a.get("title")})
    chosen: dict[str, dict] = {}

    def fits(action: Action) -> bool:
        return (not action.stages or stage in action.stages) and \
            (not action.bands or band in action.bands)

    for reason in reasons:
        for action in playbook.actions:
            if reason["group"] in action.groups and fits(action):
                _answer(chosen, action, reason, lang)
    for action in playbook.actions:
        if not action.groups and action.stages and fits(action):
            _answer(chosen, action, {"kind": "stage", "stage": stage}, lang)
    return list(chosen.values())


def _answer(chosen: dict[str, dict], action: Action, reason: dict, lang: str) -> None:
    entry = chosen.setdefault(action.id, {
        "id": action.id, "title": action.title_zh if lang == "zh" else action.title_en,
        "steps": action.steps_zh if lang == "zh" else action.steps_en, "answers": []})
    said = {a.get("sentence") for a in entry["answers"] if a.get("sentence")}
    if reason.get("sentence") is None or reason["sentence"] not in said:  # churn and decline
        entry["answers"].append(reason)  # often give the same reason: say it once
