"""Which alerts a destination is due, and the messages that carry them. Pure functions
over DataFrames: the outbox reads and writes the store, channels send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

import pandas as pd

from models.alerts import SEVERITY_RANK
from serve.settings import Destination

SEVERITY_NAMES = {"low": ("low", "低"), "medium": ("medium", "中"), "high": ("high", "高")}
TEXT = {
    "subject": ("dealer-risk {as_of}: {n} new or changed alerts",
                "经销商风险 {as_of}：{n} 条新增或变化的预警"),
    "part": (" ({part}/{parts})", "（{part}/{parts}）"),
    "rep": ("rep", "业务员"),
    "open": ("open", "查看"),
    "footer": ("Alerts held by a known situation are not sent; each alert is sent again only "
               "when it changes or after {days} days.",
               "已登记已知情况的经销商暂不发送；同一预警仅在变化或 {days} 天后再次发送。"),
}


def text(key: str, lang: str, **values) -> str:
    en, zh = TEXT[key]
    if lang == "both":
        return f"{zh.format(**values)} / {en.format(**values)}"
    return (zh if lang == "zh" else en).format(**values)


@dataclass
class Message:
    subject: str
    body: dict
    alerts: list[dict]


def due_alerts(alerts: pd.DataFrame, dest: Destination, told: pd.DataFrame,
               held: set[str], now: datetime, cooldown_days: int) -> pd.DataFrame:
    """The open alerts this destination should hear about now.

    `alerts`: open alerts with dealer_id, rule, alert_id, severity, region, sales_rep_id.
    `told`: what it was told (dealer_id, rule, alert_id, severity, sent_at), newest per
    dealer and rule, including alerts waiting in its outbox. An alert is due when its
    severity reaches the destination's, its dealer is in the destination's regions and
    reps, no known situation holds it, and the destination was not told it yet: never, a
    different alert (it closed and opened again), another severity, or longer ago than
    the cool-down."""
    out = alerts.loc[alerts["severity"].map(SEVERITY_RANK)
                     >= SEVERITY_RANK[dest.min_severity]]
    if dest.regions:
        out = out.loc[out["region"].isin(dest.regions)]
    if dest.sales_reps:
        out = out.loc[out["sales_rep_id"].isin(dest.sales_reps)]
    out = out.loc[~out["dealer_id"].isin(held)]
    if told.empty or out.empty:
        return out
    last = told.sort_values("sent_at").drop_duplicates(["dealer_id", "rule"], keep="last")
    joined = out.merge(last[["dealer_id", "rule", "alert_id", "severity", "sent_at"]],
                       on=["dealer_id", "rule"], how="left", suffixes=("", "_told"))
    fresh = (joined["alert_id_told"].isna() | (joined["alert_id_told"] != joined["alert_id"])
             | (joined["severity_told"] != joined["severity"])
             | (pd.to_datetime(joined["sent_at"], utc=True)
                <= pd.Timestamp(now) - timedelta(days=cooldown_days)))
    return out.loc[fresh.to_numpy()]


def _title(row: dict, lang: str) -> str:
    if lang == "both":
        return f"{row['title_zh']} / {row['title_en']}"
    return row["title_zh"] if lang == "zh" else row["title_en"]


def _severity(value: str, lang: str) -> str:
    en, zh = SEVERITY_NAMES[value]
    return {"en": en, "zh": zh, "both": f"{zh}/{en}"}[lang]


def _link(base: str, dealer_id: str, lang: str) -> str:
    return f"{base.rstrip('/')}/dashboard/dealers/{dealer_id}?lang={'en' if lang == 'en' else 'zh'}"


def _dealer_blocks(alerts: pd.DataFrame, lang: str, base: str) -> list[tuple[str, str, str]]:
    """Per dealer, most severe first: (markdown, html, plain) blocks."""
    rank = alerts["severity"].map(SEVERITY_RANK)
    ordered = alerts.assign(_rank=rank).sort_values(["_rank", "dealer_id"],
                                                    ascending=[False, True])
    blocks = []
    for dealer_id, rows in ordered.groupby("dealer_id", sort=False):
        first = rows.iloc[0]
        name = first.get("dealer_name") or dealer_id
        where = " · ".join(str(v) for v in (first.get("region"),
                                            first.get("sales_rep_id") and
                                            f"{text('rep', lang)} {first['sales_rep_id']}")
                           if v and not pd.isna(v))
        link = _link(base, dealer_id, lang)
        items = [(r["severity"], _title(r, lang)) for r in rows.to_dict("records")]
        md = f"**[{name} ({dealer_id})]({link})** {where}\n" + "\n".join(
            f"> {_severity(s, lang)} · {t}" for s, t in items)
        html = (f'<tr><td><a href="{escape(link)}">{escape(str(name))}</a><br>'
                f"<small>{escape(dealer_id)} · {escape(where)}</small></td><td>"
                + "<br>".join(f"<b>{escape(_severity(s, lang))}</b> {escape(t)}"
                              for s, t in items) + "</td></tr>")
        plain = f"{name} ({dealer_id}) {where}\n" + "\n".join(
            f"  - {_severity(s, lang)}: {t}" for s, t in items) + f"\n  {link}"
        blocks.append((md, html, plain, rows))
    return blocks


def compose(alerts: pd.DataFrame, dest: Destination, as_of: str, dashboard_url: str,
            cooldown_days: int) -> list[Message]:
    """The digests carrying `alerts` to `dest`: as few messages as its size allows, each
    within it (a dealer's alerts never split across two)."""
    if alerts.empty:
        return []
    lang = "both" if dest.kind == "email" and dest.language == "both" else dest.language
    limit = dest.limits()[2]
    blocks = _dealer_blocks(alerts, lang, dashboard_url)
    groups: list[list] = [[]]
    room = limit - 400  # the header, the part number and the platform's wrapping
    for block in blocks:
        size = len((block[1] if dest.kind == "email" else block[0]).encode()) + 2
        used = sum(len((b[1] if dest.kind == "email" else b[0]).encode()) + 2
                   for b in groups[-1])
        if groups[-1] and used + size > room:
            groups.append([])
        groups[-1].append(block)
    messages = []
    for part, group in enumerate(groups, start=1):
        n = sum(len(b[3]) for b in group)
        subject = text("subject", lang, as_of=as_of, n=n) + (
            text("part", lang, part=part, parts=len(groups)) if len(groups) > 1 else "")
        footer = text("footer", lang, days=cooldown_days)
        carried = [{"dealer_id": r["dealer_id"], "rule": r["rule"], "alert_id": r["alert_id"],
                    "severity": r["severity"]}
                   for b in group for r in b[3].to_dict("records")]
        if dest.kind == "email":
            body = {"plain": f"{subject}\n\n" + "\n\n".join(b[2] for b in group)
                    + f"\n\n{footer}\n",
                    "html": f"<h3>{escape(subject)}</h3><table>"
                    + "".join(b[1] for b in group) + f"</table><p><small>{escape(footer)}"
                    "</small></p>"}
        else:
            body = {"title": subject, "markdown": f"### {subject}\n"
                    + "\n\n".join(b[0] for b in group)}
        messages.append(Message(subject=subject, body=body, alerts=carried))
    return messages
