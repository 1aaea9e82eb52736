"""Recommended actions: the playbook that turns a dealer's reasons into a manager's next step.

The playbook lives in the settings (serve/playbook.py; `[[playbook.actions]]` in TOML,
English and Chinese), so a channel team can write its own. An action answers factor groups
(the catalog's groups, or 'scores' for model alerts) and may be limited to life-cycle
stages and risk bands; an action with no groups answers the dealer's stage itself
(recognition for strong dealers, reactivation for dormant ones). `recommend` is pure: the
dealer's top factors, open alerts, stage and band in; the actions out, each marked with
what it answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from serve.playbook import Action, PlaybookSettings


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
