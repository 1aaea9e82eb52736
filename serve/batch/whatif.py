"""What if: a dealer's snapshot row with some actionable features changed, rescored by the
same champions. It says what the models associate with lower risk for this dealer, not
what would cause it: the models learned from dealers who differed, not from anyone who
changed one thing and nothing else.

The row is the dealer's features at the snapshot's cutoff (its population file), so no
data is read and no feature is computed again; the factors after the change are measured
against the same peers (the snapshot's active dealers, this one's row changed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalog import BY_NAME, CATALOG
from models.explain import Context, explain
from serve.batch.champions import RISK_MODELS, Champions, model_outputs
from serve.settings import Settings

FORECAST_FIELDS = ("p10", "p50", "p90", "expected")


class WhatIfError(ValueError):
    """A change the models cannot be asked about; the message names it."""


def actionable_features() -> list[str]:
    return [f.name for f in CATALOG if f.actionable]


def resolve_changes(changes: dict[str, float] | None, scenario: str | None,
                    settings: Settings, champions: Champions,
                    current: dict[str, float]) -> dict[str, float]:
    """The feature values asked for: a scenario's (from the dealer's `current` values),
    then the explicit ones on top. Unknown or non-actionable features, values that are not
    finite or lie outside the range the models learned from, and unknown scenarios are
    refused, each named."""
    out: dict[str, float] = {}
    if scenario is not None:
        scenarios = settings.what_if.by_name()
        if scenario not in scenarios:
            raise WhatIfError(f"scenario: unknown value {scenario!r}; allowed: "
                              f"{', '.join(scenarios)}")
        out.update(scenarios[scenario].applied_to(current))
    out.update(changes or {})
    allowed = actionable_features()
    unknown = [f for f in out if f not in BY_NAME]
    if unknown:
        raise WhatIfError(f"changes: unknown feature{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(map(repr, unknown))}; actionable features: "
                          f"{', '.join(allowed)}")
    fixed = [f for f in out if not BY_NAME[f].actionable]
    if fixed:
        raise WhatIfError(f"changes: {', '.join(map(repr, fixed))} "
                          f"{'is' if len(fixed) == 1 else 'are'} not actionable (a result "
                          f"or a fact about the dealer, not a lever); actionable features: "
                          f"{', '.join(allowed)}")
    ranges = champions.reference.metadata.get("feature_ranges", {}) \
        if champions.reference is not None else {}
    for feature, value in out.items():
        if not np.isfinite(value):
            raise WhatIfError(f"changes: {feature} = {value} is not a finite number")
        if value == current.get(feature):
            continue  # left as it is: whatever its range, it is the dealer's own
        if feature in ranges:
            low, high = ranges[feature]
            if not low <= value <= high:
                raise WhatIfError(f"changes: {feature} = {value:g} is outside the range the "
                                  f"models learned from ({low:g} .. {high:g})")
    return out


@dataclass(frozen=True)
class Rescored:
    churn_probability: float | None
    decline_probability: float | None
    forecast: dict[str, float | None]
    factors: dict[str, list[dict]]


def rescore(population: pd.DataFrame, past: pd.DataFrame | None, dealer_id: str,
            changes: dict[str, float], champions: Champions, settings: Settings,
            peer_contributions: dict[str, np.ndarray]) -> tuple[Rescored, Rescored]:
    """(before, after) for the dealer's row of the population (the snapshot's, at its
    cutoff) and the same row with `changes`. `peer_contributions`: the risk models'
    contributions on every population row, by position."""
    at = np.flatnonzero((population["dealer_id"].astype(str) == dealer_id).to_numpy()
                        & population["active"].to_numpy(dtype=bool))
    if not len(at):
        raise KeyError(dealer_id)
    row = population.iloc[at].reset_index(drop=True)
    changed = row.copy()
    for feature, value in changes.items():
        changed[feature] = float(value)
    both = pd.concat([row, changed], ignore_index=True)
    outputs = model_outputs(both, champions)
    active = np.flatnonzero(population["active"].to_numpy(dtype=bool))
    me = int(np.flatnonzero(active == at[0])[0])
    explain_settings = settings.models.explain
    peers = population.iloc[active].reset_index(drop=True)
    results = []
    for k, frame in ((0, row), (1, changed)):
        peers.iloc[me] = frame.iloc[0]  # the snapshot's peers, this dealer as it stands
        context = Context(peers, past, min_peer_group=settings.panel.min_peer_group,
                          months=explain_settings.past_months,
                          peer_keys=explain_settings.peer_keys)
        probabilities, factors = {}, {}
        for m in RISK_MODELS:
            bundle = getattr(champions, m)
            if bundle is None or m not in outputs.contributions:
                probabilities[m], factors[m] = None, []
                continue
            mine = outputs.contributions[m][k:k + 1]
            peer = peer_contributions[m][active].copy()
            peer[me] = mine[0]
            probabilities[m] = float(bundle.calibrator(mine.sum(axis=1))[0])
            explained = explain(bundle, frame, context=context,
                                top=explain_settings.top_factors,
                                top_lowering=explain_settings.top_lowering,
                                notes=explain_settings.context_notes,
                                note_min=explain_settings.context_min_logodds,
                                context_index=[me], contributions=mine,
                                population_contributions=peer)
            factors[m] = [x.to_dict() for x in explained[0].factors]
        forecast = outputs.forecast.iloc[k]
        results.append(Rescored(
            churn_probability=probabilities["churn"],
            decline_probability=probabilities["decline"],
            forecast={f: None if pd.isna(forecast[f]) else float(forecast[f])
                      for f in FORECAST_FIELDS},
            factors=factors))
    return results[0], results[1]
