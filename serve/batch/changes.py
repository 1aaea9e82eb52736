"""Why a score changed since the previous snapshot, split by the catalog's business groups.

A risk model's probability is its calibrator applied to the sum of its TreeSHAP
contributions (log-odds). Between two snapshots the sum moves by the change of each
group's contribution (plus the base value's, when the model itself changed); the
probability's change is shared out in those proportions. The shares add up exactly to the
change; a group whose contribution did not move gets nothing. "Risk rose 18 points since
November: service +11, orders +6."
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from features.catalog import GROUP_NAMES
from models.explain import grouped_contributions

BASE = "model"
"""The base value's share: it moves only when a new model version scores (`model` in the
split, "the model was retrained")."""
MIN_POINTS = 0.5
"""Groups moving the probability by less than this many points are left out of the
sentence (they stay in the split)."""


def group_contributions(bundle, contributions: np.ndarray) -> list[dict[str, float]]:
    """Per row: each group's log-odds and the base value (under BASE): what the next
    snapshot's split compares with."""
    groups = grouped_contributions(bundle, contributions)
    groups[BASE] = contributions[:, -1]
    return groups.round(6).to_dict("records")


def change_split(now: dict[str, float] | None, before: dict[str, float] | None,
                 change: float) -> list[dict]:
    """The probability change (`change`, 0-1) shared out over the groups in proportion to
    the change of their contributions, largest first: [{group, points}] (points: 0-100).
    Empty when either snapshot lacks the contributions or the change is unknown."""
    if not now or not before or change is None or not np.isfinite(change):
        return []
    groups = [g for g in now if g in before]
    moved = np.array([now[g] - before[g] for g in groups], dtype=float)
    total = moved.sum()
    if abs(total) < 1e-12:
        return []
    points = 100 * change * moved / total
    order = np.argsort(-np.abs(points), kind="stable")
    return [{"group": groups[i], "points": round(float(points[i]), 2)} for i in order
            if abs(points[i]) >= 0.005]


def change_sentence(split: list[dict], change: float | None, since: str | None,
                    lang: str, top: int = 3) -> str | None:
    """"Risk rose 18 points since 2025-11-01: service +11, orders +6" (or in Chinese)."""
    if change is None or not np.isfinite(change) or since is None:
        return None
    total = 100 * change
    parts = [p for p in split if abs(p["points"]) >= MIN_POINTS][:top]
    named = [f"{group_name(p['group'], lang)} {p['points']:+.0f}" for p in parts]
    if lang == "zh":
        head = (f"自{since}以来风险上升{total:.0f}个百分点" if total >= 0.5 else
                f"自{since}以来风险下降{-total:.0f}个百分点" if total <= -0.5 else
                f"自{since}以来风险基本不变")
        return head + ("：" + "，".join(named) if named and abs(total) >= 0.5 else "") + "。"
    head = (f"Risk rose {total:.0f} points since {since}" if total >= 0.5 else
            f"Risk fell {-total:.0f} points since {since}" if total <= -0.5 else
            f"Risk about unchanged since {since}")
    return head + (": " + ", ".join(named) if named and abs(total) >= 0.5 else "") + "."


def group_name(group: str, lang: str) -> str:
    """A group (or the base value's share) in the reader's language."""
    if group == BASE:
        return "模型更新" if lang == "zh" else "model update"
    en, zh = GROUP_NAMES.get(group, (group, group))
    return zh if lang == "zh" else en


def splits(now: Sequence[dict | None], before: Sequence[dict | None], change: np.ndarray,
           model: str) -> list[list[dict]]:
    """Each row's split of `model`'s change; `now`/`before`: the rows' group
    contributions (parsed JSON per row, None where unknown), aligned."""
    out = []
    for n, b, c in zip(now, before, change, strict=True):
        out.append(change_split((n or {}).get(model), (b or {}).get(model), c))
    return out
