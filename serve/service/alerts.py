"""Alerts with their dealer's keys, filtered: what GET /v1/alerts pages through and the
dashboard counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

import pandas as pd

from serve.service.situations import Situation
from serve.service.state import ServingState

Held = Literal["exclude", "include", "only"]


def select_alerts(state: ServingState, *, status: str = "open",
                  severity: list[str] | None = None, rule: list[str] | None = None,
                  group: list[str] | None = None, region: list[str] | None = None,
                  tier: list[str] | None = None, sales_rep: list[str] | None = None,
                  dealer_id: str | None = None, since: date | None = None,
                  held: Held = "exclude",
                  running: Mapping[str, Situation] | None = None) -> pd.DataFrame:
    """Alerts matching the filters, newest first, with the dealer's keys from the current
    snapshot (empty for dealers no longer in it) and `held_until`: the expiry of the known
    situation that holds an open alert (serve.service.situations; `running`: dealer ->
    its situation running today). `held`: leave held alerts out (the default: the team
    already knows), include them, or show only them."""
    alerts = state.alerts
    if alerts.empty:
        return alerts.assign(dealer_name=None, region=None, tier=None, sales_rep_id=None,
                             held_until=None)
    keys = state.current.frame.set_index("dealer_id")[
        ["dealer_name", "region", "tier", "sales_rep_id"]]
    frame = alerts.join(keys, on="dealer_id")
    until = {d: s.expires_on.isoformat() for d, s in (running or {}).items()}
    frame["held_until"] = frame["dealer_id"].map(until).where(frame["status"] == "open")
    mask = pd.Series(True, index=frame.index)
    if held == "exclude":
        mask &= frame["held_until"].isna()
    elif held == "only":
        mask &= frame["held_until"].notna()
    if status != "all":
        mask &= frame["status"] == status
    for col, wanted in (("severity", severity), ("rule", rule), ("group", group),
                        ("region", region), ("tier", tier), ("sales_rep_id", sales_rep)):
        if wanted:
            mask &= frame[col].isin(wanted)
    if dealer_id:
        mask &= frame["dealer_id"] == dealer_id
    if since is not None:
        day = since.isoformat()
        mask &= (frame["last_seen"] >= day) | (frame["closed_at"].fillna("") >= day)
    return frame[mask]


KEYS = ("dealer_name", "region", "tier", "sales_rep_id", "stage", "band")


def snapshot_alerts(settings) -> tuple[str | None, pd.DataFrame]:
    """The newest snapshot's date and its open alerts (the timeline replayed over every
    snapshot on disk, as the API serves them), with the dealers' keys and both titles:
    what `notify` and the tasks start from, without loading the models."""
    from serve.batch.snapshots import list_snapshots, read_snapshot
    from serve.service.state import alert_timeline

    dates = list_snapshots(settings.work_dir)
    if not dates:
        return None, pd.DataFrame(columns=["alert_id", "dealer_id", "rule", "severity",
                                           "group", *KEYS, "title_en", "title_zh"])
    frames = {d: read_snapshot(settings.work_dir, d) for d in dates}
    rules = settings.alerts.by_name()
    alerts = alert_timeline(frames, settings)
    alerts = alerts.loc[alerts["status"] == "open"]
    newest = frames[dates[-1]]
    keys = newest.set_index("dealer_id")[[k for k in KEYS if k in newest.columns]]
    alerts = alerts.join(keys, on="dealer_id")
    alerts["title_en"] = alerts["rule"].map(lambda r: rules[r].title_en if r in rules else r)
    alerts["title_zh"] = alerts["rule"].map(lambda r: rules[r].title_zh if r in rules else r)
    return dates[-1], alerts.reset_index(drop=True)
