"""Snapshot rows as the API's JSON documents, in the reader's language."""

from __future__ import annotations

import json
import math

import pandas as pd

from serve.batch.actions import recommend
from serve.batch.changes import change_sentence, group_name
from serve.settings import Settings

LANGS = ("en", "zh")


def pick_lang(query: str | None, accept_language: str | None) -> str:
    """?lang= wins; else the first of Accept-Language we speak; else English."""
    if query:
        return query
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def _num(value: object) -> float | None:
    if value is None:
        return None
    v = float(value)  # type: ignore[arg-type]
    return None if math.isnan(v) else v


def meta(settings: Settings, as_of: str, versions: dict[str, str],
         status: dict[str, dict] | None = None) -> dict:
    labels = settings.labels
    return {
        "as_of": as_of,
        "model_versions": versions,
        "model_status": status or {m: {"version": v, "state": "champion", "reason": None}
                                   for m, v in versions.items()},
        "horizon": {"churn_days": labels.churn.horizon_days,
                    "leave_months": leave_months(settings),
                    "decline_months": labels.decline.horizon_months,
                    "forecast_months": labels.forecast.horizon_months},
        "meaning": {
            "churn_probability": f"Probability that the dealer places no positive net order "
            f"in the {labels.churn.horizon_days} days from as_of, or its contract closes "
            "within them. Calibrated: 0.30 means about 30 in 100 such dealers churn.",
            "leave_probability": f"Probability that the dealer is leaving: no positive net "
            f"order in the {labels.churn.horizon_days} days from as_of and the "
            f"{labels.leave.confirm_months} months after them either (or its contract "
            "closes), learned from dealers whose silence lasted that long. Calibrated. Null "
            "without a leave model (a history too short to train one).",
            "quiet_probability": "The rest of the churn risk: a quiet spell, likely to order "
            "again after a gap (churn_probability - leave_probability, at least 0).",
            "risk_kind": "leaving when the leaving part of the churn risk (leave_probability, "
            "at most churn_probability) >= quiet_probability, else quiet_spell; low below a "
            f"churn probability of {settings.scoring.kind_min_probability:.0%}; unknown "
            "without a leave model.",
            "decline_probability": f"Probability that the next "
            f"{labels.decline.horizon_months} months' net orders fall more than "
            f"{labels.decline.drop:.0%} below the same months a year earlier.",
            "forecast": f"Net order amount (CNY) over the next "
            f"{labels.forecast.horizon_months} months: p10, p50, p90 and expected value.",
            "expected_revenue_12m": "Next 12 months' revenue if the dealer stays (CNY): its "
            "last 12 months scaled by the forecast's next quarter given that it stays "
            "(expected / (1 - churn_probability)) against the same quarter last year, "
            "within x0.5 .. x2, the scale weighed by the chance of staying against no "
            "change. The forecast itself weighs every outcome, leaving included.",
            "revenue_at_risk": "churn_probability x expected_revenue_12m (CNY).",
            "band": "Churn probability band: " + ", ".join(
                f"{k} from {v:.0%}" for k, v in sorted(settings.scoring.bands.items(),
                                                        key=lambda kv: kv[1])),
        },
    }


def factors(raw: str, lang: str) -> dict[str, list[dict]]:
    out = {}
    for model, items in json.loads(raw).items():
        out[model] = [{
            "group": f["group"], "direction": f["direction"],
            "contribution": f["contribution"], "share": f["share"], "effect": f["effect"],
            "feature": f["feature"], "value": f["value"], "past_value": f["past_value"],
            "peer_median": f["peer_median"], "actionable": f["actionable"],
            "sentence": f["sentence_zh"] if lang == "zh" else f["sentence_en"],
        } for f in items]
    return out


def context_notes(raw: str | None, lang: str) -> dict[str, list[dict]]:
    """The fixed attributes said as context, per model (snapshots written before they
    existed have none)."""
    if not raw:
        return {}
    return {model: [{"feature": n["feature"], "value": n["value"],
                     "contribution": n["contribution"],
                     "sentence": n["sentence_zh"] if lang == "zh" else n["sentence_en"]}
                    for n in items]
            for model, items in json.loads(raw).items()}


def alert_doc(alert: dict, settings: Settings, lang: str) -> dict:
    """One alert with its title in the reader's language."""
    rule = settings.alerts.by_name().get(alert["rule"])
    title = (rule.title_zh if lang == "zh" else rule.title_en) if rule else alert["rule"]
    return {"alert_id": alert.get("alert_id"), "dealer_id": alert.get("dealer_id"),
            "rule": alert["rule"], "title": title, "severity": alert["severity"],
            "group": alert["group"], "reason": alert.get("reason"),
            "status": alert.get("status", "open"), "opened_at": alert.get("opened_at"),
            "last_seen": alert.get("last_seen"), "closed_at": alert.get("closed_at"),
            "times_seen": int(alert.get("times_seen", 1)),
            "reopened": int(alert.get("reopened", 0)), "numbers": alert["numbers"]}


def posted_alerts(row, settings: Settings, lang: str) -> list[dict]:
    """The rules firing on a freshly scored row (POST /v1/score): no timeline yet."""
    return [alert_doc({**hit, "dealer_id": row["dealer_id"], "last_seen": row["as_of"]},
                      settings, lang) for hit in json.loads(row["alerts"])]


def dealer_risk(row: dict, lang: str, settings: Settings,
                alerts: list[dict] | None = None) -> dict:
    """The full risk document of one dealer (GET /v1/dealers/{id}/risk): scores, factors,
    open alerts and the playbook's actions for them."""
    why = factors(row["factors"], lang)
    notes = context_notes(row.get("context"), lang)
    shown = [a if "title" in a else alert_doc(a, settings, lang) for a in alerts or []]
    changed = score_changes(row, lang)
    return {
        "dealer_id": row["dealer_id"], "dealer_name": row.get("dealer_name"),
        "region": row["region"], "tier": row["tier"], "channel": row["channel"],
        "sales_rep_id": row.get("sales_rep_id"), "band": row["band"],
        "stage": row.get("stage"),
        "churn": {"probability": _num(row["churn_probability"]),
                  "previous": _num(row["previous_churn_probability"]),
                  "change": _num(row["churn_probability_change"]),
                  **changed["churn"],
                  "factors": why["churn"], "context": notes.get("churn", [])},
        "leaving": leaving(row, lang, leave_months(settings)),
        "survival": survival(row, lang, settings),
        "decline": {"probability": _num(row["decline_probability"]),
                    "previous": _num(row["previous_decline_probability"]),
                    "change": _num(row["decline_probability_change"]),
                    **changed["decline"],
                    "factors": why["decline"], "context": notes.get("decline", [])},
        "forecast": {"p10": _num(row["forecast_p10"]), "p50": _num(row["forecast_p50"]),
                     "p90": _num(row["forecast_p90"]),
                     "expected": _num(row["forecast_expected"])},
        "orders_amount_12m": _num(row["orders_amount_12m"]),
        "expected_revenue_12m": _num(row["expected_revenue_12m"]),
        "revenue_at_risk": _num(row["revenue_at_risk"]),
        "previous_as_of": row.get("previous_as_of"),
        "flags": json.loads(row["flags"]),
        "alerts": shown,
        "actions": recommend(why, shown, row.get("stage"), row["band"], settings.playbook,
                             lang),
    }


def leaving(row: dict, lang: str, months: int) -> dict:
    """The churn risk split into signs of leaving and a quiet spell (serve.batch.scoring:
    quiet_spell, risk_kind), with a sentence; all null without a leave model (or in a
    snapshot written before it)."""
    churn, leave = _num(row.get("churn_probability")), _num(row.get("leave_probability"))
    quiet = _num(row.get("quiet_probability"))
    kind = row.get("risk_kind") or "unknown"
    sentence = None
    if None not in (churn, leave, quiet) and kind == "low":
        sentence = (f"流失风险低（{churn:.0%}），不作拆分；未来{months}个月内不再订货的概率为"
                    f"{leave:.0%}。" if lang == "zh" else
                    f"Churn risk is low ({churn:.0%}) and not split; chance of no order in the "
                    f"next {months} months: {leave:.0%}.")
    elif None not in (churn, leave, quiet):
        if lang == "zh":
            sentence = (f"{churn:.0%}的流失风险中，离开的迹象占{min(leave, churn) * 100:.0f}"
                        f"个百分点，暂时停单（停一段后可能恢复订货）占{quiet * 100:.0f}个百分点；"
                        f"未来{months}个月内不再订货的概率为{leave:.0%}。")
        else:
            sentence = (f"Of the {churn:.0%} churn risk, {min(leave, churn) * 100:.0f} points "
                        f"are signs of leaving and {quiet * 100:.0f} points a quiet spell "
                        f"(likely to order again after a gap); chance of no order in the "
                        f"next {months} months: {leave:.0%}.")
    return {"probability": leave, "quiet_spell_probability": quiet, "kind": kind,
            "sentence": sentence}


def survival(row: dict, lang: str, settings: Settings) -> dict:
    """The dealer's time to leaving (models.survival): the chance of still ordering after
    each of the report months, the whole curve, the months it is expected to keep ordering
    in the horizon, and a sentence; nulls without a survival model (or in a snapshot
    written before it)."""
    sv = settings.models.survival
    curve = json.loads(row.get("survival_curve") or "[]")
    if not curve:
        return {"horizon_months": sv.horizon_months, "still_ordering": [], "curve": [],
                "months_ordering": None, "sentence": None}
    at = [{"months": m, "probability": curve[m - 1]} for m in sv.report_months
          if m <= len(curve)]
    months = _num(row.get("months_ordering"))
    horizon = len(curve)
    if lang == "zh":
        parts = "，".join(f"{p['months']}个月后{p['probability']:.0%}" for p in at)
        sentence = f"仍在订货的概率：{parts}；预计未来{horizon}个月中约{months:.1f}个月仍在订货。"
    else:
        parts = ", ".join(f"{p['months']} months {p['probability']:.0%}" for p in at)
        sentence = (f"Chance of still ordering after {parts}; expected to keep ordering "
                    f"for about {months:.1f} of the next {horizon} months.")
    return {"horizon_months": horizon, "still_ordering": at, "curve": curve,
            "months_ordering": months, "sentence": sentence}


def score_changes(row: dict, lang: str) -> dict[str, dict]:
    """Per risk model: its change since the previous snapshot split by group, each with
    its name in the reader's language, and the sentence (serve.batch.changes)."""
    raw = json.loads(row.get("change_by_group") or "{}")
    out = {}
    for model in ("churn", "decline"):
        split = raw.get(model, [])
        out[model] = {
            "change_by_group": [{**p, "name": group_name(p["group"], lang)} for p in split],
            "change_sentence": change_sentence(split, _num(row.get(f"{model}_probability_change")),
                                               row.get("previous_as_of"), lang)}
    return out


def leave_months(settings: Settings) -> int:
    """The leave label's silence in months: the churn horizon and the confirmation."""
    labels = settings.labels
    return round(labels.churn.horizon_days / 30) + labels.leave.confirm_months

SUMMARY_COLUMNS = ("dealer_id", "dealer_name", "region", "tier", "channel", "sales_rep_id",
                   "band", "stage", "churn_probability", "decline_probability",
                   "leave_probability", "quiet_probability", "risk_kind",
                   "churn_probability_change", "revenue_at_risk", "expected_revenue_12m",
                   "forecast_p50", "months_ordering")


def summary(row: dict, lang: str, open_alerts: int = 0) -> dict:
    """One line of the ranked list (GET /v1/risk)."""
    out = {c: (_num(row.get(c)) if isinstance(row.get(c), float) else row.get(c))
           for c in SUMMARY_COLUMNS}
    out["risk_kind"] = out["risk_kind"] or "unknown"
    out["top_reason"] = row["top_reason_zh"] if lang == "zh" else row["top_reason_en"]
    out["flags"] = json.loads(row["flags"])
    out["open_alerts"] = open_alerts
    return out


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: timestamps in ISO form, NaN as null, numpy as Python."""
    out = []
    for row in frame.to_dict("records"):
        doc = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            elif value is not None and not isinstance(value, str | bool) and pd.isna(value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            doc[key] = value
        out.append(doc)
    return out
