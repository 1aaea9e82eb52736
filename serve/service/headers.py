"""Column headers of the CSV exports a person opens in a spreadsheet.

A CRM reads the columns by their names, which never change; a manager opening the
dashboard's export in Excel reads a header row, in the page's language. Every export's
columns have a label here (tests/serve/api/test_csv_headers.py checks that none is left
out); a column without one keeps its name.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

Header = Literal["columns", "labels"]
"""columns: the machine names (stable, for programs); labels: words in the language."""

COLUMN_LABELS: dict[str, tuple[str, str]] = {
    # the worklist (GET /v1/risk)
    "dealer_id": ("Dealer id", "经销商编号"),
    "dealer_name": ("Dealer", "经销商名称"),
    "region": ("Region", "区域"),
    "tier": ("Tier", "等级"),
    "channel": ("Channel", "渠道"),
    "sales_rep_id": ("Sales rep", "业务员"),
    "band": ("Risk band", "风险档"),
    "stage": ("Life-cycle stage", "生命周期"),
    "churn_probability": ("Churn probability (90 days)", "流失概率（90天）"),
    "decline_probability": ("Decline probability (next quarter)", "下滑概率（下季度）"),
    "leave_probability": ("Chance of leaving", "离开概率"),
    "quiet_probability": ("Chance of a quiet spell", "暂时停单概率"),
    "risk_kind": ("Risk kind", "风险类型"),
    "churn_probability_change": ("Churn probability change since last snapshot",
                                 "流失概率较上期变化"),
    "revenue_at_risk": ("Revenue at risk (CNY)", "风险收入（元）"),
    "expected_revenue_12m": ("Next 12 months' revenue if it stays (CNY)",
                             "如留下未来12个月收入（元）"),
    "forecast_p50": ("Next quarter's orders, median forecast (CNY)",
                     "下季度订单预测中位数（元）"),
    "months_ordering": ("Months expected to keep ordering, of the next 12",
                        "未来12个月中预计仍在订货的月数"),
    "top_reason": ("Main reason", "首要原因"),
    "flags": ("Data warnings", "数据提示"),
    "open_alerts": ("Open alerts", "未处理预警"),
    # the reps' scorecard (GET /v1/reps)
    "dealers": ("Dealers", "经销商数"),
    "revenue_12m": ("Revenue, last 12 months (CNY)", "近12个月收入（元）"),
    "revenue_last_year": ("Revenue, the 12 months before (CNY)", "上一年同期收入（元）"),
    "revenue_change": ("Revenue change vs last year", "收入同比变化"),
    "expected_losses_next_90d": ("Expected dealers lost, next 90 days",
                                 "未来90天预期流失经销商数"),
    "lost_90d": ("Dealers lost, last 90 days", "近90天流失经销商数"),
    "expected_lost_90d": ("Expected lost, last 90 days", "近90天预期流失数"),
    "lost_365d": ("Dealers lost, last 365 days", "近365天流失经销商数"),
    "expected_lost_365d": ("Expected lost, last 365 days", "近365天预期流失数"),
    "visits_per_dealer_month": ("Visits per dealer per month", "每家每月拜访次数"),
    "not_visited": ("Dealers not visited", "未拜访经销商数"),
    "complaints_3m": ("Complaints, last 3 months", "近3个月投诉数"),
    "support_due": ("Support requests due", "到期支持请求数"),
    "support_on_time": ("Answered on time", "按时答复数"),
    "on_time_share": ("Share answered on time", "按时答复比例"),
    "support_overdue": ("Support requests overdue", "逾期支持请求数"),
    "part_visited": ("Score part: visited", "得分项：拜访覆盖"),
    "part_on_time": ("Score part: on time", "得分项：按时答复"),
    "part_kept": ("Score part: kept", "得分项：留存"),
    "part_growth": ("Score part: growth", "得分项：增长"),
    "part_safe": ("Score part: safe", "得分项：收入安全"),
    "score": ("Maintenance score", "维护得分"),
    "rank_in_region": ("Rank in region", "区域内排名"),
    "reps_in_region": ("Reps in region", "区域业务员数"),
    "held_by_today": ("Dealers held today", "目前负责的经销商数"),
    "tasks_due": ("Tasks due", "到期任务数"),
    "tasks_done_on_time": ("Tasks done on time", "按时完成任务数"),
    # the retention plan (GET /v1/plan)
    "program": ("Program", "项目"),
    "program_zh": ("Program (Chinese)", "项目（中文）"),
    "leave_without": ("Chance of leaving without it", "不做时的离开概率"),
    "leave_with": ("Chance of leaving with it", "做了之后的离开概率"),
    "leave_with_low": ("With it, low end", "做了之后（区间下限）"),
    "leave_with_high": ("With it, high end", "做了之后（区间上限）"),
    "effect": ("Effect (probability)", "效果（概率变化）"),
    "low": ("Effect, low end", "效果区间下限"),
    "high": ("Effect, high end", "效果区间上限"),
    "revenue_kept": ("Expected revenue kept (CNY)", "预期保住的收入（元）"),
    "margin_kept": ("Expected margin kept (CNY)", "预期保住的毛利（元）"),
    "cost": ("Cost (CNY)", "费用（元）"),
    "net": ("Margin kept less cost (CNY)", "毛利减费用（元）"),
}


def labelled(frame: pd.DataFrame, lang: str, header: Header) -> pd.DataFrame:
    """The frame with its columns' labels in `lang` as headers when `header` asks for
    labels; as it is otherwise."""
    if header != "labels":
        return frame
    at = 1 if lang == "zh" else 0
    return frame.rename(columns={c: COLUMN_LABELS[c][at] for c in frame.columns
                                 if c in COLUMN_LABELS})
