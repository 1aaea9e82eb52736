"""Levers: for each dealer at risk, the changes the models associate with the largest drop
in its churn risk, computed in the batch so that the API and the dashboard read them
without calling a model.

The candidates are the settings' scenarios (what_if.scenarios) and, for each actionable
feature among the reasons raising the dealer's churn risk, that feature back at the
dealer's own level 12 months earlier and at its peer group's median: the two comparisons
every reason already shows. Each candidate is the dealer's row with those values, scored
by the churn champion, as the what-if endpoint would; a value outside the range the
model learned from is not a candidate. They are association, not cause (docs/api.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalog import BY_NAME
from features.text import format_signed
from models.bundle import ClassifierBundle
from models.dataset import as_numbers
from serve.settings import Settings


def batch_levers(rows: pd.DataFrame, churn_p: np.ndarray, reasons: list[list[dict]],
                 churn: ClassifierBundle | None, settings: Settings) -> list[list[dict]]:
    """Per row, its levers (largest drop in churn risk first), for the rows at or above
    `levers.min_probability`; an empty list for the others. `reasons`: each row's churn
    factors as dicts (feature, direction, actionable, value, past_value, peer_median)."""
    out: list[list[dict]] = [[] for _ in range(len(rows))]
    if churn is None or not len(rows):
        return out
    cfg = settings.levers
    ranges = churn.metadata.get("feature_ranges", {})
    candidates, owners = [], []
    at_risk = np.flatnonzero(np.nan_to_num(churn_p, nan=-1.0) >= cfg.min_probability)
    names = [f for f in rows.columns if f in BY_NAME]
    numbers = as_numbers(rows.iloc[at_risk], names).to_numpy()
    for k, i in enumerate(at_risk):
        current = {f: None if np.isnan(v) else float(v)
                   for f, v in zip(names, numbers[k], strict=True)}
        for lever in _candidates(current, reasons[i], settings, ranges):
            candidates.append(lever)
            owners.append(i)
    if not candidates:
        return out
    after = churn.predict(_variants(rows, owners, [c["changes"] for c in candidates]))
    for lever, i, p in zip(candidates, owners, after, strict=True):
        points = (churn_p[i] - p) * 100
        if points >= cfg.min_points:
            out[i].append({**lever, "churn_before": float(churn_p[i]),
                           "churn_after": float(p), "points": float(points)})
    for i in at_risk:
        ranked = sorted(out[i], key=lambda x: (-x["points"], x["name"], x["kind"]))
        out[i] = [_with_sentences(x) for x in ranked[:cfg.top]]
    return out


def _variants(rows: pd.DataFrame, owners: list[int], changes: list[dict]) -> pd.DataFrame:
    """Each candidate's row: its owner's row with the candidate's changes (numeric
    features), built column by column rather than row by row."""
    out = rows.iloc[owners].reset_index(drop=True)
    by_feature: dict[str, tuple[list[int], list[float]]] = {}
    for k, change in enumerate(changes):
        for feature, value in change.items():
            at, values = by_feature.setdefault(feature, ([], []))
            at.append(k)
            values.append(value)
    for feature, (at, values) in by_feature.items():
        column = out[feature].to_numpy(dtype=float, copy=True)
        column[at] = values
        out[feature] = column
    return out


def _candidates(current: dict[str, float | None], reasons: list[dict], settings: Settings,
                ranges: dict) -> list[dict]:
    """The row's candidate levers; `current`: its features' values as numbers (None where
    missing or not a number)."""
    def usable(feature: str, value: float) -> bool:
        now = current.get(feature)
        if value is None or not np.isfinite(value) or (now is not None and now == value):
            return False
        low, high = ranges.get(feature, (-np.inf, np.inf))
        return bool(low <= value <= high)

    out = []
    for scenario in settings.what_if.scenarios:
        changes = {f: v for f, v in scenario.applied_to(current).items() if usable(f, v)}
        if changes:
            out.append({"kind": "scenario", "name": scenario.name, "changes": changes,
                        "title_en": scenario.title_en, "title_zh": scenario.title_zh})
    for reason in reasons:
        feature = reason["feature"]
        if reason["direction"] != "raises" or not BY_NAME[feature].actionable:
            continue
        for kind, key in (("own_past", "past_value"), ("peers", "peer_median")):
            value = _float(reason.get(key))
            if usable(feature, value):
                out.append({"kind": kind, "name": feature, "changes": {feature: value}})
    return out


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _with_sentences(lever: dict) -> dict:
    """The lever in both languages: "If its overdue requests were answered as its peers'
    are, its churn risk would fall from 42% to 27%"."""
    a, b = (f"{lever[k]:.0%}" for k in ("churn_before", "churn_after"))
    if a == b:  # a drop of a point or less: one decimal, never "from 30% to 30%"
        a, b = (f"{lever[k]:.1%}" for k in ("churn_before", "churn_after"))
    if lever["kind"] == "scenario":
        en = f"{lever['title_en']}: its churn risk would fall from {a} to {b}"
        zh = f"{lever['title_zh']}：流失风险将从{a}降至{b}"
    else:
        feature = BY_NAME[lever["name"]]
        value = lever["changes"][lever["name"]]
        what_en = feature.description_en[0].lower() + feature.description_en[1:]
        if lever["kind"] == "own_past":
            en = (f"If {what_en} were back at its level of 12 months earlier "
                  f"({format_signed(feature.name, value, 'en')}), its churn risk would fall "
                  f"from {a} to {b}")
            zh = (f"若{feature.description_zh}恢复到12个月前的水平"
                  f"（{format_signed(feature.name, value, 'zh')}），流失风险将从{a}降至{b}")
        else:
            en = (f"If {what_en} were at its peers' median "
                  f"({format_signed(feature.name, value, 'en')}), its churn risk would fall "
                  f"from {a} to {b}")
            zh = (f"若{feature.description_zh}达到同组中位数"
                  f"（{format_signed(feature.name, value, 'zh')}），流失风险将从{a}降至{b}")
    out = {k: v for k, v in lever.items() if k not in ("title_en", "title_zh")}
    return {**out, "sentence_en": en, "sentence_zh": zh}
