"""Rule-based early warning: alerts a manager can read without a model.

A rule is a condition over one dealer's row at a cutoff: the catalog's indicators (its own
history and its peer gaps side by side) and, when scored, the model's probabilities and the
change since the last snapshot. `fire` evaluates the rules on a frame (pure); `track` replays
the firings of successive snapshots into alerts that open, update and close, so an alert
already open for the same dealer, rule and reason is updated rather than duplicated;
`rule_quality` measures each rule against the churn and decline labels of a backtest.

Default severities follow each rule's measured churn lift on the default simulated network
(docs/alerts.md): high from 3x, medium from 1.5x, low below (problems worth fixing for
their own sake, weak signs of leaving on their own).

Rules live in the settings (`[[alerts.rules]]` in TOML); their `when` is a pandas
expression over column names, with `@name` for constants such as the risk bands
(`@band_high`).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator

SEVERITIES = ("low", "medium", "high")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
"""Severity -> its rank, lowest first: what "at or above a severity" compares."""
PAST_FORECAST = "past_forecast_p10"
"""The p10 of the forecast made one forecast horizon before the cutoff, for the months just
ended: orders below it are below what the model thought nearly certain."""
SCORE_COLUMNS = ("churn_probability", "decline_probability", "previous_churn_probability",
                 "previous_decline_probability", "churn_probability_change",
                 "decline_probability_change", PAST_FORECAST)
"""Columns a scored frame adds to the panel's features; rules may use them."""


class AlertRule(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    group: str = Field(description="The catalog group it speaks to (orders, price, service "
                       "...; 'scores' for model scores): which playbook actions answer it.")
    severity: str = Field(default="medium", description="low, medium or high.")
    when: str = Field(description="pandas expression over the row's columns; @name for "
                      "constants (@band_<name> for the lower bound of each risk band).")
    show: list[str] = Field(description="The numbers the alert carries (why it fired).")
    reason_by: str | None = Field(default=None, description="A column whose value tells "
                                  "reasons apart (e.g. the band reached): a new value opens a "
                                  "new alert; by default one alert per dealer and rule.")
    cooldown_days: int = Field(default=60, ge=0, description="An alert that closed fires "
                               "again within this many days: the same alert reopens instead "
                               "of a new one (no flapping).")
    title_en: str
    title_zh: str

    @field_validator("severity")
    @classmethod
    def _known_severity(cls, value: str) -> str:
        if value not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        return value


def _rule(name, group, severity, when, show, en, zh, **extra) -> AlertRule:
    return AlertRule(name=name, group=group, severity=severity, when=when, show=show,
                     title_en=en, title_zh=zh, **extra)


DEFAULT_RULES: tuple[AlertRule, ...] = (
    _rule("orders_drop_month", "orders", "high",
          "orders_change_mom <= -0.6 and orders_amount_1m < orders_monthly_mean_12m * "
          "(1 - 2 * orders_volatility_12m)",
          ["orders_amount_1m", "orders_monthly_mean_12m", "orders_volatility_12m",
           "orders_change_mom"],
          "Last month's orders fell far below the dealer's normal range",
          "上月订单额远低于经销商的正常波动范围"),
    _rule("orders_drop_quarter", "orders", "high",
          "orders_change_qoq <= -0.5 and orders_change_yoy_3m <= -0.4",
          ["orders_amount_3m", "orders_change_qoq", "orders_change_yoy_3m"],
          "Orders of the last 3 months dropped against both the quarter before and last year",
          "近3个月订单额较上季度和去年同期均大幅下降"),
    _rule("orders_drop_vs_peers", "peers", "high",
          "orders_change_yoy_3m <= -0.4 and peers_orders_yoy_gap <= -0.4",
          ["orders_change_yoy_3m", "peers_orders_yoy_gap", "peers_orders_yoy_percentile"],
          "Orders are down against last year, much more than its peers'",
          "订单额同比下降，且明显差于同组经销商"),
    _rule("orders_below_forecast", "orders", "medium",
          f"orders_amount_3m < {PAST_FORECAST}",
          ["orders_amount_3m", PAST_FORECAST],
          "Orders of the last 3 months came in below the forecast's low end (p10)",
          "近3个月订单额低于此前预测的下限（P10）"),
    _rule("price_drop", "price", "low",
          "price_unit_change_6m <= -0.25 and peers_price_yoy_gap <= -0.2",
          ["price_unit_3m", "price_unit_change_6m", "peers_price_yoy_gap"],
          "Unit price fell against its own 6-month level while its peers' did not",
          "单价较自身近6个月水平下降，而同组经销商没有"),
    _rule("discount_deepening", "price", "medium", "price_discount_change_12m >= 0.05",
          ["price_discount_3m", "price_discount_change_12m"],
          "Discounts got deeper than in the year before", "折扣较前一年明显加深"),
    _rule("complaints_surge", "complaints", "low",
          "complaints_surge_3m >= 2 and peers_complaints_yoy_gap > 0",
          ["complaints_count_3m", "complaints_surge_3m", "peers_complaints_yoy_gap"],
          "Consumer complaints surged against its own past and its peers",
          "消费者投诉较自身以往和同组经销商明显增多"),
    _rule("support_overdue", "service", "low", "service_overdue_open >= 1",
          ["service_overdue_open", "service_open_backlog", "service_overdue_share_3m"],
          "Support requests are past their deadline and still open",
          "有支持请求已超期仍未解决"),
    _rule("support_slow", "service", "medium", "service_resolution_hours_3m >= 150",
          ["service_resolution_hours_3m", "service_tickets_3m"],
          "Support requests take very long to answer", "支持请求处理时间过长"),
    _rule("support_escalated", "service", "medium", "service_escalations_3m >= 3",
          ["service_escalations_3m", "service_tickets_3m"],
          "Several support requests were escalated in the last 3 months",
          "近3个月多次升级支持请求"),
    _rule("deliveries_late", "logistics", "medium", "logistics_late_share_3m >= 0.35",
          ["logistics_late_share_3m", "logistics_delay_days_3m"],
          "Many deliveries arrived late in the last 3 months", "近3个月较多交付延迟"),
    _rule("deliveries_damaged", "logistics", "medium", "logistics_damage_share_6m >= 0.1",
          ["logistics_damage_share_6m"],
          "Deliveries arrived damaged unusually often", "交付货损比例偏高"),
    _rule("no_rep_visit", "engagement", "high", "engagement_days_since_visit >= 90",
          ["engagement_days_since_visit", "engagement_visits_12m"],
          "No rep visit for 90 days or more", "超过90天没有业务员拜访"),
    _rule("churn_band_up", "scores", "high",
          "churn_probability >= @band_high and previous_churn_probability < @band_high",
          ["churn_probability", "previous_churn_probability"],
          "Churn risk crossed into the high band", "流失风险升入高风险档", reason_by="band"),
    _rule("churn_jump", "scores", "high", "churn_probability_change >= 0.15",
          ["churn_probability", "churn_probability_change"],
          "Churn risk jumped since the last snapshot", "流失风险较上期明显上升"),
    _rule("decline_jump", "scores", "medium", "decline_probability_change >= 0.25",
          ["decline_probability", "decline_probability_change"],
          "Decline risk jumped since the last snapshot", "下滑风险较上期明显上升"),
)


class AlertSettings(BaseModel):
    """The early-warning rules (docs/alerts.md has each rule's measured precision)."""

    rules: list[AlertRule] = Field(default_factory=lambda: [r.model_copy()
                                                            for r in DEFAULT_RULES])

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[AlertRule]) -> list[AlertRule]:
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names must be unique: {names}")
        return rules

    def by_name(self) -> dict[str, AlertRule]:
        return {r.name: r for r in self.rules}


def band_constants(bands: Mapping[str, float]) -> dict[str, float]:
    """@band_<name> for each risk band's lower bound."""
    return {f"band_{name}": float(bound) for name, bound in bands.items()}


class RuleError(ValueError):
    """A rule that cannot be evaluated: names the rule and the reason."""


def check_rules(rules: Iterable[AlertRule], columns: Iterable[str],
                constants: Mapping[str, float]) -> None:
    """Evaluate every rule on an empty frame of these columns: unknown names fail early,
    at startup, rather than at the first scoring. Remembered per rule text, columns and
    constants: settings are built often (each command, each test) and the rules rarely
    change, and 17 pandas evaluations cost 40 ms."""
    _check_rules(tuple((r.name, r.when, tuple(r.show)) for r in rules), tuple(columns),
                 tuple(sorted(constants.items())))


@functools.lru_cache(maxsize=64)
def _check_rules(rules: tuple, columns: tuple, constants: tuple) -> None:
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
    for col in SCORE_COLUMNS:
        if col not in empty.columns:
            empty[col] = pd.Series(dtype=float)
    empty["band"] = pd.Series(dtype=object)
    for name, when, show in rules:
        _mask(empty, AlertRule(name=name, group="-", when=when, show=list(show),
                               title_en="-", title_zh="-"), dict(constants))
        missing = [c for c in show if c not in empty.columns]
        if missing:
            raise RuleError(f"alert rule {name}: show names unknown columns {missing}")


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _mask(frame: pd.DataFrame, rule: AlertRule, constants: Mapping[str, float]) -> np.ndarray:
    # only the columns the rule names: pandas prepares a resolver for every column of
    # the frame it evaluates on, which costs more than the rule itself on a wide frame
    named = [c for c in dict.fromkeys(_NAME.findall(rule.when)) if c in frame.columns]
    try:
        out = frame[named].eval(rule.when, local_dict=dict(constants), engine="python")
    except Exception as exc:  # pandas raises many kinds; name the rule and the reason
        raise RuleError(f"alert rule {rule.name}: cannot evaluate {rule.when!r}: {exc}") \
            from None
    values = np.asarray(out)
    if values.shape != (len(frame),):
        raise RuleError(f"alert rule {rule.name}: {rule.when!r} is not a yes/no per row")
    return np.asarray(pd.Series(values).fillna(False).astype(bool))


def _number(value: object) -> float | str | None:
    if value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return None if math.isnan(v) else round(v, 6)
    return str(value)


_SLOT = "__alert_rule_"


def _masks(frame: pd.DataFrame, rules: list[AlertRule],
           constants: Mapping[str, float]) -> list[np.ndarray]:
    """Every rule's yes/no per row, in one pandas eval of one line per rule: its set-up
    (about 1 ms) is paid once, not per rule, which was most of the alerts' time for one
    dealer. Rules come checked (_check_rules, when the settings load); should the joint
    evaluation fail all the same, each rule is evaluated alone, and the failing one named."""
    if rules and not any("\n" in rule.when for rule in rules):
        named = [c for c in dict.fromkeys(n for rule in rules for n in _NAME.findall(rule.when))
                 if c in frame.columns]
        lines = "\n".join(f"{_SLOT}{i} = {rule.when}" for i, rule in enumerate(rules))
        try:
            out = frame[named].eval(lines, local_dict=dict(constants), engine="python")
        except Exception:  # the rules one by one say which failed, and why
            out = None
        if out is not None:
            return [np.asarray(pd.Series(np.asarray(out[f"{_SLOT}{i}"])).fillna(False)
                               .astype(bool)) for i in range(len(rules))]
    return [_mask(frame, rule, constants) for rule in rules]


def fire(frame: pd.DataFrame, rules: Iterable[AlertRule],
         constants: Mapping[str, float]) -> list[list[dict]]:
    """Per row, the rules that hold, each with the numbers that made it fire."""
    frame = frame.reset_index(drop=True)
    out: list[list[dict]] = [[] for _ in range(len(frame))]
    rules = list(rules)
    for rule, mask in zip(rules, _masks(frame, rules, constants), strict=True):
        hits = np.flatnonzero(mask)
        if not len(hits):
            continue
        shown = {c: frame[c].to_numpy()[hits] for c in rule.show if c in frame.columns}
        reasons = frame[rule.reason_by].to_numpy()[hits] if rule.reason_by else None
        for k, i in enumerate(hits):
            out[i].append({"rule": rule.name, "severity": rule.severity, "group": rule.group,
                           "reason": str(reasons[k]) if reasons is not None else rule.name,
                           "numbers": {c: _number(v[k]) for c, v in shown.items()}})
    return out


ALERT_COLUMNS = ("alert_id", "dealer_id", "rule", "reason", "severity", "group", "status",
                 "opened_at", "last_seen", "closed_at", "times_seen", "reopened", "numbers")


def track(firings: Iterable[tuple[str, pd.DataFrame]],
          rules: Mapping[str, AlertRule]) -> pd.DataFrame:
    """Replay each snapshot's firings, oldest first, into alerts.

    `firings`: (as_of YYYY-MM-DD, frame with dealer_id and an `alerts` column of JSON
    lists as `fire` returns). An alert opens when its (dealer, rule, reason) fires with no
    alert open, is updated (last_seen, numbers) while it keeps firing, and closes at the
    first snapshot where it does not. If it fires again within the rule's cooldown after
    closing, the same alert reopens. Pure and deterministic: the same snapshots give the
    same alerts.
    """
    alerts: dict[str, dict] = {}
    latest: dict[tuple, str] = {}  # (dealer, rule, reason) -> its newest alert id
    for as_of, frame in sorted(firings, key=lambda kv: kv[0]):
        day = pd.Timestamp(as_of)
        seen: set[str] = set()
        for dealer, raw in zip(frame["dealer_id"].astype(str), frame["alerts"], strict=True):
            for hit in json.loads(raw) if isinstance(raw, str) else raw:
                key = (dealer, hit["rule"], hit["reason"])
                rule = rules.get(hit["rule"])
                cooldown = pd.Timedelta(days=rule.cooldown_days if rule else 0)
                alert = alerts.get(latest.get(key, ""))
                if alert is not None and alert["status"] == "closed" and \
                        day - pd.Timestamp(alert["closed_at"]) <= cooldown:
                    alert.update(status="open", closed_at=None,
                                 reopened=alert["reopened"] + 1)
                if alert is None or alert["status"] != "open":
                    alert = {"alert_id": f"{dealer}:{hit['rule']}:{as_of}", "dealer_id": dealer,
                             "rule": hit["rule"], "reason": hit["reason"],
                             "group": hit["group"], "status": "open", "opened_at": as_of,
                             "closed_at": None, "times_seen": 0, "reopened": 0}
                    alerts[alert["alert_id"]] = alert
                    latest[key] = alert["alert_id"]
                alert.update(severity=hit["severity"], last_seen=as_of,
                             times_seen=alert["times_seen"] + 1, numbers=hit["numbers"])
                seen.add(alert["alert_id"])
        for alert in alerts.values():
            if alert["status"] == "open" and alert["alert_id"] not in seen:
                alert.update(status="closed", closed_at=as_of)
    frame = pd.DataFrame(list(alerts.values()), columns=list(ALERT_COLUMNS))
    rank = frame["severity"].map(SEVERITY_RANK)
    return (frame.assign(_rank=rank)
            .sort_values(["last_seen", "_rank", "alert_id"], ascending=[False, False, True],
                         kind="stable")
            .drop(columns="_rank").reset_index(drop=True))


def rule_quality(frames: Iterable[pd.DataFrame], rules: Iterable[AlertRule],
                 constants: Mapping[str, float]) -> pd.DataFrame:
    """Each rule's precision, recall and lift against the churn and decline labels.

    `frames`: one per backtest origin, rows of active dealers with their features, the
    backtest scores (out of sample) and labels `churn` / `decline` (NaN: not in that
    label's population). Pooled over origins.
    """
    rules = list(rules)
    rows = []
    data = pd.concat(list(frames), ignore_index=True)
    for rule in rules:
        fired = _mask(data, rule, constants)
        row = {"rule": rule.name, "severity": rule.severity, "group": rule.group,
               "fired": int(fired.sum()), "fired_share": float(fired.mean())
               if len(data) else float("nan")}
        for label in ("churn", "decline"):
            known = data[label].notna().to_numpy()
            y = data[label].to_numpy(dtype=float)[known] == 1
            f = fired[known]
            hits = int((f & y).sum())
            base = float(y.mean()) if len(y) else float("nan")
            precision = hits / f.sum() if f.sum() else float("nan")
            row.update({f"{label}_precision": precision,
                        f"{label}_recall": hits / y.sum() if y.sum() else float("nan"),
                        f"{label}_lift": precision / base if base else float("nan"),
                        f"{label}_base_rate": base})
        rows.append(row)
    return pd.DataFrame(rows)


def backtest_frames(panel: pd.DataFrame, classifiers: pd.DataFrame, forecast: pd.DataFrame,
                    origins: Iterable[pd.Timestamp], horizon_months: int,
                    bands: Mapping[str, float]) -> list[pd.DataFrame]:
    """What the rules would have seen at each backtest origin: the active dealers' features,
    the out-of-sample scores of that origin's models, the previous origin's scores, the
    forecast made one horizon earlier, and the labels that came true afterwards."""
    from models.bands import band

    origins = list(origins)
    scores = classifiers.pivot_table(index=["origin", "dealer_id"], columns="model",
                                     values=["p_model", "y"], aggfunc="first")
    p10 = forecast.set_index(["origin", "dealer_id"])["p10"]
    frames = []
    for i, origin in enumerate(origins):
        rows = panel[(panel["cutoff"] == origin) & panel["active"]].reset_index(drop=True)
        keys = pd.MultiIndex.from_arrays([np.repeat(origin, len(rows)), rows["dealer_id"]])
        out = rows.copy()
        for model in ("churn", "decline"):
            out[f"{model}_probability"] = scores[("p_model", model)].reindex(keys).to_numpy()
            out[model] = scores[("y", model)].reindex(keys).to_numpy(dtype=float)
            out[f"previous_{model}_probability"] = np.nan
        if i > 0:
            before = pd.MultiIndex.from_arrays([np.repeat(origins[i - 1], len(rows)),
                                                rows["dealer_id"]])
            for model in ("churn", "decline"):
                out[f"previous_{model}_probability"] = \
                    scores[("p_model", model)].reindex(before).to_numpy()
        for model in ("churn", "decline"):
            out[f"{model}_probability_change"] = (out[f"{model}_probability"]
                                                  - out[f"previous_{model}_probability"])
        then = origin - pd.DateOffset(months=horizon_months)
        out[PAST_FORECAST] = p10.reindex(pd.MultiIndex.from_arrays(
            [np.repeat(then, len(rows)), rows["dealer_id"]])).to_numpy()
        out["band"] = band(out["churn_probability"].fillna(0).to_numpy(), dict(bands))
        frames.append(out)
    return frames
