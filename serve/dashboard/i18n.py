"""The dashboard's words in English and Chinese. Feature and alert texts come from the
catalog and the settings; these are the page's own labels."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Dealer risk", "经销商风险"),
    "worklist": ("Worklist", "工作清单"),
    "overview": ("Overview", "总览"),
    "logout": ("Sign out", "退出"),
    "as_of": ("Scores as of", "评分日期"),
    "model_provisional": ("The {model} scores come from a provisional model: the first "
                          "trained, it beats every baseline but misses a limit of the gate. "
                          "Use them, and retrain when more data has come in.",
                          "{model}评分来自临时模型：它是首个训练出的模型，优于所有基准，但未达到"
                          "发布门槛的某项限制。可以使用，待数据增多后重新训练。"),
    "model_name_churn": ("churn", "流失"),
    "model_name_decline": ("decline", "下滑"),
    "model_name_forecast": ("forecast", "订单预测"),
    "model_unavailable": ("No usable {model} model: those figures are missing from this "
                          "snapshot.", "没有可用的{model}模型：本快照中缺少这些数据。"),
    "models": ("Models", "模型版本"),
    "dealer": ("Dealer", "经销商"),
    "region": ("Region", "区域"),
    "tier": ("Tier", "等级"),
    "sales_rep": ("Sales rep", "业务员"),
    "stage": ("Stage", "生命周期"),
    "band": ("Band", "风险档"),
    "churn": ("Churn", "流失"),
    "decline": ("Decline", "下滑"),
    "change": ("Change", "变化"),
    "revenue_at_risk": ("Revenue at risk", "风险收入"),
    "top_reason": ("Top reason", "主要原因"),
    "alerts": ("Alerts", "预警"),
    "open_alerts": ("Open alerts", "未关闭预警"),
    "search": ("Name or id", "名称或编号"),
    "filter": ("Filter", "筛选"),
    "all": ("All", "全部"),
    "clear": ("Clear", "清除"),
    "export": ("Export CSV", "导出CSV"),
    "dealers_shown": ("dealers", "家经销商"),
    "total_at_risk": ("Total revenue at risk", "风险收入合计"),
    "next": ("Next", "下一页"),
    "previous": ("Previous", "上一页"),
    "no_match": ("No dealer matches these filters.", "没有符合条件的经销商。"),
    "churn_probability": ("Churn probability", "流失概率"),
    "decline_probability": ("Decline probability", "下滑概率"),
    "forecast": ("Next quarter's orders (p10 / p50 / p90)", "下季度订单额预测（P10 / P50 / P90）"),
    "expected_12m": ("Expected revenue, next 12 months", "未来12个月预计收入"),
    "since_last": ("since last snapshot", "较上期"),
    "factors": ("Why: the main factors", "原因：主要因素"),
    "factors_note": ("▲ raises the risk, ▼ lowers it, each measured against the dealer's "
                     "peers (same region and channel), so what all of them share is not "
                     "counted. Bars: the dealer's value, its own value 12 months earlier, "
                     "and its peers' median (scaled per factor).",
                     "▲ 提高风险，▼ 降低风险，均与同区域、同渠道的经销商相比，大家共同面临的"
                     "情况不计入。条形：经销商当前值、12个月前的自身值与同组中位数（每个因素"
                     "单独缩放）。"),
    "context": ("Context (not something to act on)", "背景（非可改变的因素）"),
    "legend_dealer": ("This dealer", "该经销商"),
    "legend_past": ("12 months earlier", "12个月前"),
    "legend_peers": ("Peer median", "同组中位数"),
    "raises": ("raises risk", "提高风险"),
    "lowers": ("lowers risk", "降低风险"),
    "risk_over_time": ("Risk over time", "风险走势"),
    "orders_by_month": ("Orders by month (CNY)", "月度订单额（元）"),
    "actions": ("Recommended actions", "建议措施"),
    "answers": ("Answers", "针对"),
    "flags": ("Data-quality flags", "数据质量提示"),
    "no_alerts": ("No open alerts.", "没有未关闭的预警。"),
    "no_flags": ("None.", "无。"),
    "opened": ("opened", "开启于"),
    "seen": ("seen", "出现"),
    "times": ("times", "次"),
    "by_region": ("Risk by region", "各区域风险分布"),
    "by_tier": ("Risk by tier", "各等级风险分布"),
    "alert_counts": ("Open alerts by rule", "各规则未关闭预警数"),
    "severity": ("Severity", "严重程度"),
    "count": ("Count", "数量"),
    "snapshot": ("Snapshot", "快照"),
    "dealers": ("Dealers", "经销商数"),
    "meaning": ("What the scores mean", "评分含义"),
    "meaning_churn": ("Probability that the dealer places no order in the next {days} days, "
                      "or closes its contract. Calibrated: 30% means about 30 in 100 such "
                      "dealers leave.",
                      "经销商在未来{days}天内没有订单或合同终止的概率。已校准：30%表示约100家此类经销商中有30家流失。"),
    "meaning_decline": ("Probability that the next {months} months' orders fall more than "
                        "{drop} below the same months a year earlier.",
                        "未来{months}个月订单额较去年同期下降超过{drop}的概率。"),
    "health": ("Model health", "模型健康"),
    "health_none": ("No monitoring report yet: run `dealer-risk monitor`.",
                    "尚无监控报告：请运行 `dealer-risk monitor`。"),
    "health_intro": ("Report of {as_of}: the newest month against the champions' training "
                     "rows {ref_from} .. {ref_to}. PSI under {warn} is stable, from {alert} "
                     "shifted.",
                     "{as_of}的报告：最新月份与冠军模型训练数据（{ref_from} .. {ref_to}）对比。"
                     "PSI低于{warn}为稳定，{alert}以上为明显偏移。"),
    "score_drift": ("Score drift", "评分漂移"),
    "feature_drift": ("Features that moved", "发生变化的特征"),
    "no_feature_drift": ("No feature moved.", "没有特征发生明显变化。"),
    "matured": ("Past scores against what happened", "历史评分与实际结果"),
    "predicted": ("Predicted", "预测"),
    "in_sample": ("Scored by a champion that had learned from that month's outcome "
                  "(backfilled): optimistic.",
                  "该快照由已学习过当月结果的冠军模型评分（回填）：结果偏乐观。"),
    "realized": ("Realized", "实际"),
    "status_stable": ("stable", "稳定"),
    "status_moving": ("moving", "变化中"),
    "status_shifted": ("shifted", "明显偏移"),
    "status_unknown": ("unknown", "未知"),
    "login": ("Sign in", "登录"),
    "api_key": ("Access key", "访问密钥"),
    "login_help": ("Enter the access key your administrator gave you. It is checked once; "
                   "the browser keeps only a session cookie.",
                   "请输入管理员提供的访问密钥。密钥只校验一次，浏览器只保存会话Cookie。"),
    "login_failed": ("This key is not valid.", "密钥无效。"),
    "login_throttled": ("Too many failed sign-ins from here: try again in {seconds} seconds.",
                        "登录失败次数过多：请在{seconds}秒后重试。"),
    "csrf_failed": ("This form has expired or came from another site: reload the page and "
                    "try again.", "表单已过期或来自其他网站：请刷新页面后重试。"),
    "not_found": ("Dealer {id} is not in the snapshot of {as_of}.",
                  "经销商{id}不在{as_of}的快照中。"),
    "back": ("Back to the worklist", "返回工作清单"),
    "not_ready": ("Not ready: {why}", "尚未就绪：{why}"),
    "language": ("中文", "English"),
    "past_forecast_p10": ("Forecast for these 3 months, low end (p10)",
                          "此前对这3个月的预测下限（P10）"),
    "churn_probability_change": ("Change in churn probability", "流失概率变化"),
    "decline_probability_change": ("Change in decline probability", "下滑概率变化"),
    "previous_churn_probability": ("Previous churn probability", "上期流失概率"),
    "previous_decline_probability": ("Previous decline probability", "上期下滑概率"),
    "stage_new": ("new", "新进"),
    "stage_growing": ("growing", "成长"),
    "stage_mature": ("mature", "成熟"),
    "stage_declining": ("declining", "下滑"),
    "stage_dormant": ("dormant", "休眠"),
    "stage_churned": ("churned", "流失"),
    "band_low": ("low", "低"),
    "band_medium": ("medium", "中"),
    "band_high": ("high", "高"),
    "band_critical": ("critical", "极高"),
    "severity_low": ("low", "低"),
    "severity_medium": ("medium", "中"),
    "severity_high": ("high", "高"),
}


def translate(key: str, lang: str, **values: object) -> str:
    """The label in the language; unknown keys show themselves (never a blank)."""
    pair = TEXT.get(key)
    text = key if pair is None else pair[1 if lang == "zh" else 0]
    return text.format(**values) if values else text


def label(kind: str, value: str | None, lang: str) -> str:
    """A stage, band or severity value in the reader's language."""
    if value is None:
        return ""
    return translate(f"{kind}_{value}", lang) if f"{kind}_{value}" in TEXT else str(value)
