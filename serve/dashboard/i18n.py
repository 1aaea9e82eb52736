"""The dashboard's words in English and Chinese. Feature and alert texts come from the
catalog and the settings; these are the page's own labels."""

from __future__ import annotations

import re

from features.catalog import BY_NAME
from models.monitoring import survival_month

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Dealer risk", "经销商风险"),
    "worklist": ("Worklist", "工作清单"),
    "overview": ("Overview", "总览"),
    "guide": ("Guide", "使用指南"),
    "guide_rules": ("The alert rules in force", "当前启用的预警规则"),
    "guide_rule": ("Rule", "规则"),
    "guide_severity": ("Severity", "严重程度"),
    "guide_rule_name": ("Name in the settings", "设置中的名称"),
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
    "leave": ("Leaving", "离开"),
    "survival_within": ("Gone within {months} months (survival curves)",
                        "{months} 个月内离开（生存曲线）"),
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
    "expected_12m": ("Next 12 months if it stays", "若继续合作，未来12个月收入"),
    "money": ("What is at stake", "涉及金额"),
    "money_forecast": ("Next quarter, forecast", "下季度订单预测"),
    "money_forecast_note": ("Expected amount; 80% of outcomes between {p10} and {p90}. It "
                            "weighs every outcome, including the {p} chance that the dealer "
                            "stops ordering.",
                            "期望金额；80%的情况在{p10}至{p90}之间。已计入该经销商{p}的停止订货"
                            "可能。"),
    "money_forecast_lumpy": ("It lies above most outcomes: this dealer orders in lumps, and "
                             "a rare large order lifts the average.",
                             "期望值高于大多数情况：该经销商订货集中，偶尔的大额订单拉高了平均值。"),
    "money_stays_note": ("Its last 12 months ({last}), scaled by the forecast's next "
                         "quarter if it stays ({quarter}) against the same quarter last "
                         "year, within ×0.5–×2, and the more surely it leaves, the less "
                         "that outlook counts against its last year as it was.",
                         "以近12个月订单额（{last}）为基础，按其继续合作时的下季度预测（{quarter}）"
                         "相对去年同季度的变化调整，幅度限于0.5至2倍；流失越确定，该预测的权重越低，"
                         "越接近近12个月的实际水平。"),
    "money_risk_note": ("Churn probability × next 12 months if it stays: {p} × {value}.",
                        "流失概率 × 继续合作时的未来12个月收入：{p} × {value}。"),
    "since_last": ("since last snapshot", "较上期"),
    "factors": ("Why: the main factors", "原因：主要因素"),
    "factors_note": ("▲ raises the risk, ▼ lowers it, each measured against the dealer's "
                     "peers (same region and channel), so what all of them share is not "
                     "counted; a slump that hits only its city or its rep's dealers is not "
                     "shared by all of them, and shows as the dealer's own. Bars: the "
                     "dealer's value, its own value 12 months earlier, and its peers' median "
                     "(scaled per factor).",
                     "▲ 提高风险，▼ 降低风险，均与同区域、同渠道的经销商相比，大家共同面临的"
                     "情况不计入；只影响其所在城市或其业务员所管经销商的下滑并非大家共有，会显示为"
                     "该经销商自身的原因。条形：经销商当前值、12个月前的自身值与同组中位数（每个因素"
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
    "tasks": ("Tasks", "任务"),
    "my_tasks": ("My tasks", "我的任务"),
    "tasks_intro": ("Each new alert of high severity opens a task for the dealer's rep, due "
                    "by severity; overdue tasks come first. Record what was done: a program "
                    "offered becomes a row of the programs the effect models learn from.",
                    "每条新的高等级预警会为该经销商的业务员生成一项任务，按等级设定截止日期；"
                    "逾期任务排在最前。请记录所做的处理：提供的项目会进入效果模型学习的项目记录。"),
    "task_show": ("Show", "显示"),
    "task_show_active": ("Open and in progress", "未完成"),
    "task_open": ("Open", "未完成"),
    "task_overdue": ("Overdue", "逾期"),
    "task_on_time": ("Done on time", "按时完成"),
    "task_due": ("Due", "截止"),
    "task_status": ("Status", "状态"),
    "task_record": ("Record", "记录"),
    "task_cost": ("Cost (CNY)", "费用（元）"),
    "task_dismiss_reason": ("Reason to dismiss", "撤销原因"),
    "task_none": ("No tasks here.", "这里没有任务。"),
    "task_count": ("{n} tasks", "共{n}项任务"),
    "task_forbidden": ("Recording a task needs a key with the field or admin role.",
                       "记录任务需要 field 或 admin 角色的密钥。"),
    "task_status_open": ("open", "待处理"),
    "task_status_in_progress": ("in progress", "处理中"),
    "task_status_done": ("done", "已完成"),
    "task_status_dismissed": ("dismissed", "已撤销"),
    "task_outcome_called": ("called", "已电话联系"),
    "task_outcome_visited": ("visited", "已拜访"),
    "task_outcome_program_offered": ("program offered", "已提供项目"),
    "task_outcome_dealer_kept": ("dealer kept", "已留住经销商"),
    "task_outcome_dealer_lost": ("dealer lost", "经销商已流失"),
    "situation_heading": ("Known situation", "已知情况"),
    "situation_none": ("No known situation: alerts fire as usual.",
                       "没有已知情况：预警照常触发。"),
    "situation_holds": ("{name} until {until}: its alerts are held until then; the dealer "
                        "is still scored and listed.",
                        "{name}，至 {until}：在此之前暂缓预警；经销商仍照常评分和列出。"),
    "situation_by": ("Recorded by {by} on {on}", "由 {by} 于 {on} 登记"),
    "situation_record": ("Record a known situation", "登记已知情况"),
    "situation_kind": ("Kind", "类型"),
    "situation_note": ("Note", "备注"),
    "situation_expires": ("Hold alerts until", "暂缓预警至"),
    "situation_your_name": ("Your name", "您的姓名"),
    "situation_save": ("Save", "保存"),
    "situation_change": ("Change", "修改"),
    "situation_end": ("End now", "立即结束"),
    "situation_history": ("History and audit trail", "历史与审计记录"),
    "situation_created": ("recorded", "登记"),
    "situation_changed": ("changed", "修改"),
    "situation_ended": ("ended", "结束"),
    "situation_forbidden": ("Recording a known situation needs a key with the field or "
                            "admin role.", "登记已知情况需要 field 或 admin 角色的密钥。"),
    "situation_missing": ("This dealer has no such known situation.",
                          "该经销商没有此已知情况。"),
    "situation_refused": ("Not saved: {detail}", "未保存：{detail}"),
    "alerts_held": ("Held until {until} by the known situation.", "因已知情况暂缓至 {until}。"),
    "situation_pill": ("Known situation until {until}", "已知情况至 {until}"),
    "no_flags": ("None.", "无。"),
    "flag_silent": ("No {table} recorded for this dealer in the last {days} days, though "
                    "there were some in the year before: the feed may have stopped, and the "
                    "factors built on {table} may be stale.",
                    "近{days}天没有该经销商的{table}记录，而此前一年有：数据可能中断，基于{table}的"
                    "因素可能已过时。"),
    "flag_outside": ("{features}: outside the range the model learned from, and among what "
                     "weighs most on this dealer's score: read the score with care.",
                     "{features}：超出模型训练时见过的范围，且是影响该经销商评分最大的因素之一，"
                     "请谨慎解读该评分。"),
    "table_tickets": ("support requests", "支持请求"),
    "table_complaints": ("consumer complaints", "消费者投诉"),
    "table_deliveries": ("deliveries", "发货"),
    "table_visits": ("rep visits", "业务员拜访"),
    "opened": ("opened", "开启于"),
    "seen_once": ("seen in 1 snapshot", "出现于1期快照"),
    "seen_times": ("seen in {n} snapshots", "出现于{n}期快照"),
    "by_region": ("Risk by region", "各区域风险分布"),
    "by_tier": ("Risk by tier", "各等级风险分布"),
    "alert_counts": ("Open alerts by rule", "各规则未关闭预警数"),
    "severity": ("Severity", "严重程度"),
    "count": ("Count", "数量"),
    "snapshot": ("Snapshot", "快照"),
    "plan": ("Plan", "计划"),
    "plan_intro": ("Which dealers to give which retention program for a budget: one program "
                   "per dealer, the most margin kept per yuan spent first, only where the "
                   "program's estimated effect helps beyond its uncertainty and keeps more "
                   "margin than it costs.",
                   "在预算内给哪些经销商安排哪项保留方案：每家经销商一项，"
                   "按每花一元保住的毛利从高到低，"
                   "只选估计效果在不确定范围之外仍有帮助、"
                   "且保住的毛利高于成本的方案。"),
    "plan_budget": ("Budget (CNY)", "预算（元）"),
    "plan_program": ("Program", "方案"),
    "plan_uncertain": ("Also effects whose interval covers zero", "包括区间含零的效果"),
    "plan_submit": ("Plan", "生成计划"),
    "plan_missing": ("No program effects for this snapshot: no effect model has passed its "
                     "test on the randomized pilots yet, so nothing would be spent on a guess. "
                     "A data scientist runs `dealer-risk programs train`, then `dealer-risk "
                     "score`.",
                     "本快照没有方案效果：还没有效果模型通过随机试点的检验，"
                     "因此不会凭猜测花钱。请数据分析人员运行 "
                     "`dealer-risk programs train`，然后运行 `dealer-risk score`。"),
    "plan_unproven": ("These effects come from effect model v{version}, which has not passed "
                      "its test on the randomized pilots: they are estimates nobody has "
                      "confirmed.",
                      "这些效果来自效果模型 v{version}，它尚未通过随机试点的检验："
                      "是未经证实的估计。"),
    "plan_spent": ("Spent", "已用"),
    "plan_of_budget": ("of {budget}", "预算{budget}"),
    "plan_dealers": ("Dealers in the plan", "计划内经销商"),
    "plan_revenue_kept": ("Expected revenue kept", "预计保住的收入"),
    "plan_margin_kept": ("Expected margin kept", "预计保住的毛利"),
    "plan_margin_rate": ("at a margin of {rate}", "按毛利率{rate}"),
    "plan_leave": ("Chance of leaving in 12 months: without → with",
                   "12个月内流失概率：无方案 → 有方案"),
    "plan_effect": ("Effect", "效果"),
    "plan_cost": ("Cost", "成本"),
    "support": ("Support requests", "支持请求"),
    "support_intro": ("Dealers' requests (orders, design, advertising, sales guidance, "
                      "promotion ...) over the {days} days before {as_of}, against their "
                      "deadlines, as known on that day. The share on time counts the "
                      "requests whose deadline fell in those days, so every outcome is known.",
                      "截至{as_of}前{days}天内经销商提出的请求（订单、设计、广告、销售指导、促销等）"
                      "与其答复时限的对照，以当日所知为准。按时答复率只统计时限落在这段时间内的请求，"
                      "因此每个结果都已知。"),
    "support_missing": ("This snapshot has no support board: the data has no tickets table, "
                        "or it was scored before the board existed (run dealer-risk score "
                        "again).", "本期快照没有支持请求看板：数据中没有工单表，或评分早于该看板"
                        "（请重新运行 dealer-risk score）。"),
    "support_by": ("Group by", "分组"),
    "support_board_link": ("Its rep's requests against their deadlines →",
                           "查看该业务员名下请求的答复时限情况 →"),
    "dim_category": ("Request type", "请求类型"),
    "dim_channel": ("Channel", "渠道"),
    "dim_region": ("Region", "区域"),
    "dim_sales_rep_id": ("Sales rep", "业务员"),
    "dim_sales_rep": ("Sales rep", "业务员"),
    "support_by_category": ("By request type", "按请求类型"),
    "support_by_channel": ("By channel", "按渠道"),
    "support_by_region": ("By region", "按区域"),
    "support_by_sales_rep_id": ("By sales rep", "按业务员"),
    "support_requests": ("Requests", "请求数"),
    "support_due": ("Due", "到期数"),
    "support_on_time": ("Answered on time", "按时答复率"),
    "support_of_due": ("of {n} due", "共{n}件到期"),
    "support_median": ("Median time to answer", "答复时长中位数"),
    "support_overdue": ("Open past deadline now", "当前超时未答复"),
    "support_oldest": ("Oldest, days late", "最久超时（天）"),
    "support_late_now": ("Open past their deadline now, the oldest first",
                         "当前超时未答复的请求（最早到期的在前）"),
    "support_opened": ("Raised", "提出"),
    "support_deadline": ("Deadline", "时限"),
    "support_days_late": ("Days late", "超时天数"),
    "support_escalated": ("escalated", "已升级"),
    "support_more": ("The oldest {shown} of {total} shown.",
                     "仅显示最早的{shown}件（共{total}件）。"),
    "support_none_late": ("No request is open past its deadline.", "没有超时未答复的请求。"),
    "reps": ("Sales reps", "业务员"),
    "reps_intro": ("How each sales rep maintains the dealers they hold, as of {as_of}. The "
                   "maintenance score (0-100) is the weighted mean of five parts, each from 0 "
                   "(worst) to 1 (best); a part without data is left out. Ranked within the "
                   "rep's region (where most of their dealers are).",
                   "截至{as_of}，各业务员对名下经销商的维护情况。维护得分（0-100）是五项分项"
                   "（0为最差，1为最好）的加权平均，缺数据的分项不计入。在业务员所属区域"
                   "（名下多数经销商所在区域）内排名。"),
    "reps_missing": ("This snapshot has no rep scorecard: it was scored before the scorecard "
                     "existed (run dealer-risk score again).",
                     "本期快照没有业务员评分卡：评分早于该功能（请重新运行 dealer-risk score）。"),
    "reps_sort": ("Sort by", "排序"),
    "reps_sort_score": ("Score, weakest first", "得分（低的在前）"),
    "reps_sort_revenue_at_risk": ("Revenue at risk", "风险收入"),
    "reps_sort_lost_365d": ("Dealers lost in the year", "全年流失经销商"),
    "reps_sort_support_overdue": ("Requests past deadline", "超时请求"),
    "reps_sort_not_visited": ("Dealers not visited", "未拜访经销商"),
    "reps_sort_revenue_change": ("Revenue change, steepest fall first", "收入变化（降幅大的在前）"),
    "reps_sort_dealers": ("Dealers held", "名下经销商"),
    "reps_sort_sales_rep_id": ("Rep id", "业务员编号"),
    "rep_rank": ("Rank in region", "区域排名"),
    "rep_rank_of": ("{rank} of {n}", "{n}人中第{rank}"),
    "rep_rank_in": ("Rank {rank} of {n} in {region}", "在{region}的{n}名业务员中排第{rank}"),
    "rep_score": ("Maintenance score", "维护得分"),
    "rep_score_short": ("Score", "得分"),
    "rep_no_score": ("No score: the rep holds no dealer now.",
                     "无得分：该业务员目前名下没有经销商。"),
    "part_visited": ("Visited", "拜访覆盖"),
    "part_on_time": ("On time", "按时答复"),
    "part_kept": ("Kept", "留存"),
    "part_growth": ("Growth", "增长"),
    "part_safe": ("Safe", "收入安全"),
    "part_visited_means": ("Share of the rep's dealers visited or called within {days} days",
                           "{days}天内拜访或致电过的经销商占比"),
    "part_on_time_means": ("Share of their dealers' requests answered by the deadline",
                           "名下经销商请求按时答复的占比"),
    "part_kept_means": ("Share of the year's dealers not lost",
                        "全年经销商中未流失的占比"),
    "part_growth_means": ("Revenue against the same dealers' year before: {low} is 0, {high} "
                          "is 1", "与同批经销商上年收入相比：{low}记0，{high}记1"),
    "part_safe_means": ("Share of the 12 months' revenue not at risk",
                        "近12个月收入中不在风险中的占比"),
    "part": ("Part", "分项"),
    "part_value": ("Value", "分值"),
    "weight": ("Weight", "权重"),
    "points_of_score": ("Points", "得分贡献"),
    "rep_dealers": ("Dealers held", "名下经销商"),
    "revenue_12m": ("Revenue, 12 months", "近12个月收入"),
    "revenue_change": ("vs last year", "同比"),
    "revenue_change_long": ("{change} against the same dealers' 12 months before ({before})",
                           "同批经销商上一年为{before}，变化{change}"),
    "lost_90d": ("Lost, last 90 days", "近90天流失"),
    "lost_365d": ("Lost, last 365 days", "近365天流失"),
    "lost_vs_expected": ("{n} (models expected {e})", "{n}（模型预计{e}）"),
    "lost_no_expectation": ("{n} (no snapshot kept from then to compare)",
                            "{n}（未保留当时的快照，无法对照）"),
    "lost_unknown": ("unknown: the data does not reach back", "未知：数据时间不够长"),
    "expected_next_90d": ("{n} expected to leave in the next 90 days", "预计未来90天流失{n}家"),
    "visits_per_dealer_month": ("Visits per dealer per month", "每家每月拜访次数"),
    "not_visited": ("Not visited for {days} days", "超过{days}天未拜访"),
    "complaints_3m": ("Complaints, 3 months", "近3个月投诉"),
    "rep_dealers_ranked": ("Dealers, by revenue at risk", "名下经销商（按风险收入排序）"),
    "rep_dealers_more": ("The first {shown} of {total}.", "仅显示前{shown}家（共{total}家）。"),
    "rep_lost": ("Dealers lost in the last year", "近一年流失的经销商"),
    "rep_lost_none": ("No dealer lost in the last year.", "近一年没有流失经销商。"),
    "lost_in_quarter": ("Quarter from", "所在季度起始"),
    "held_by": ("Known from", "归属依据"),
    "held_by_snapshot": ("snapshot of that day", "当日快照"),
    "held_by_visit": ("last visit before", "此前最后一次拜访"),
    "held_by_today": ("today's dealers table", "当前经销商表"),
    "expected_then": ("Churn probability then", "当时流失概率"),
    "rep_support_link": ("Their requests against deadlines →", "查看其名下请求的答复时限 →"),
    "rep_link": ("Rep's scorecard →", "业务员评分卡 →"),
    "reps_lost_note": ("Lost: a dealer active when a quarter began that placed no order "
                       "before the next began, or closed; each counted once. The small figure "
                       "is how many the models expected (the snapshot scored when each quarter "
                       "began); none where that snapshot was not kept.",
                       "流失：季度开始时活跃、在下一季度开始前没有下单或已关闭的经销商，每家只计"
                       "一次。小字为模型当时的预计流失数（来自每个季度开始时的评分快照）；未保留"
                       "该快照则不显示。"),
    "rep_figures": ("Maintenance", "维护情况"),
    "rep_not_found": ("No sales rep '{rep}' holds a dealer, or lost one, in the year before "
                      "{as_of}.", "截至{as_of}的一年内，没有编号为“{rep}”且名下有经销商或流失过"
                      "经销商的业务员。"),
    "no_rep_match": ("No rep matches these filters.", "没有符合条件的业务员。"),
    "programs": ("Retention programs: estimated effects", "挽留方案：估计效果"),
    "programs_note": ("Estimated by the effect model from which dealers got which program "
                      "(randomized pilots, and managers' choices weighted by how likely each "
                      "dealer was to be chosen), with its interval; a grey line's interval "
                      "covers zero: the program may do nothing for this dealer.",
                      "由效果模型根据哪些经销商获得了哪些方案（随机试点，以及按被选中可能性加权的"
                      "经理选择）估计，并给出区间；灰色行的区间含零：该方案对这家经销商可能没有效果。"),
    "programs_none": ("No program effects for this snapshot: no effect model has passed its "
                      "gate (see the Plan page).",
                      "本期快照没有方案效果：尚无效果模型通过准入（见计划页面）。"),
    "levers": ("Associated with lower risk (not an effect)", "与较低风险相关的调整（非因果效果）"),
    "lever_moved": ("Moves the lever", "对应的调整"),
    "levers_none": ("None of the levers lowers this dealer's churn risk by half a point or "
                    "more.", "没有任何调整能将该经销商的流失风险降低0.5个百分点以上。"),
    "levers_not_computed": ("Levers are worked out for dealers at {p} churn risk or more.",
                            "仅为流失风险不低于{p}的经销商计算可调整项。"),
    "levers_note": ("What the models associate with lower risk for dealers like this one, "
                    "not a promise that the change will lower it: they learned from dealers "
                    "who differed, not from dealers who changed one thing. Ask the dealer "
                    "before acting on it.",
                    "这是模型在类似经销商身上观察到的与较低风险相关的因素，并不保证做出改变后风险"
                    "就会下降：模型是从彼此不同的经销商身上学到的，而不是从只改变了一件事的"
                    "经销商身上学到的。行动前请先与经销商沟通。"),
    "hours_fmt": ("{n} h", "{n}小时"),
    "days_fmt": ("{n} d", "{n}天"),
    "ticket_order": ("order", "订单"),
    "ticket_design": ("design", "设计"),
    "ticket_advertising": ("advertising", "广告"),
    "ticket_sales_guidance": ("sales guidance", "销售指导"),
    "ticket_promotion": ("promotion", "促销"),
    "ticket_logistics": ("logistics", "物流"),
    "ticket_quality": ("quality", "质量"),
    "bad_link": ("This link has a value the page cannot read: {params}. Start again from "
                 "the worklist.", "链接中有无法识别的参数：{params}。请从工作清单重新进入。"),
    "page_not_found": ("There is no page at {path}.", "没有这个页面：{path}。"),
    "page_error": ("The page could not be shown (HTTP {status}).",
                   "无法显示该页面（HTTP {status}）。"),
    "snapshots_kept": ("{n} monthly snapshots kept, {first} to {last}",
                       "共保留{n}期月度快照：{first}至{last}"),
    "snapshots_kept_one": ("The only snapshot kept", "仅有这一期快照"),
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
    "kind_leaving": ("leaving", "正在离开"),
    "kind_quiet_spell": ("quiet spell", "暂时停单"),
    "kind_unknown": ("unknown", "未知"),
    "kind_low": ("low risk", "低风险"),
    "kind": ("Risk kind", "风险类型"),
    "leaving": ("Leaving", "离开"),
    "sort": ("Order by", "排序"),
    "sort_revenue_at_risk": ("revenue at risk", "风险收入"),
    "sort_leave_probability": ("chance of leaving", "离开概率"),
    "sort_months_ordering": ("soonest to stop ordering", "预计最早停止订货"),
    "months_ordering": ("Months ordering (of 12)", "仍订货月数（12个月内）"),
    "leaving_heading": ("Leaving or a quiet spell", "正在离开还是暂时停单"),
    "leaving_none": ("No leave model yet (the history is too short to train one): the churn "
                     "risk cannot be split.",
                     "尚无离开模型（历史数据不足以训练）：无法拆分流失风险。"),
    "survival_heading": ("Time to leaving", "预计还能留多久"),
    "survival_month": ("{} mo", "{}个月"),
    "survival_note": ("The chance the dealer still orders after each month from today "
                      "(not yet gone: no long order silence begun, contract open), from the "
                      "survival model; the months it is expected to keep ordering are the "
                      "area under the line.",
                      "从今天起每过一个月，该经销商仍在订货（尚未出现长期停单、合同未终止）的"
                      "概率，来自生存模型；曲线下的面积即预计仍在订货的月数。"),
    "survival_none": ("No survival model yet (the history is too short to train one).",
                      "尚无生存模型（历史数据不足以训练）。"),
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


def model_name(model: str, lang: str) -> str:
    """A judged model in the reader's words; the survival curves' month k (monitor's
    "survival_3m") as "Gone within 3 months"."""
    months = survival_month(model)
    if months is not None:
        return translate("survival_within", lang, months=months)
    return translate(model, lang)


def label(kind: str, value: str | None, lang: str) -> str:
    """A stage, band or severity value in the reader's language."""
    if value is None:
        return ""
    return translate(f"{kind}_{value}", lang) if f"{kind}_{value}" in TEXT else str(value)


def flag_sentence(code: str, lang: str) -> str:
    """A data-quality flag's code (serve.batch.scoring._flags) in the reader's words."""
    silent = re.fullmatch(r"no_([a-z]+)_in_(\d+)_days", code)
    if silent:
        return translate("flag_silent", lang, table=translate(f"table_{silent[1]}", lang),
                         days=silent[2])
    if code.startswith("outside_training_range:"):
        names = code.split(":", 1)[1].split(",")
        words = [getattr(BY_NAME[n], "description_zh" if lang == "zh" else "description_en")
                 if n in BY_NAME else n for n in names]
        return translate("flag_outside", lang, features=("；" if lang == "zh" else "; ").join(
            words))
    return code
