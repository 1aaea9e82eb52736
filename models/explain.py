"""Why a dealer scores as it does: TreeSHAP contributions grouped into business factors.

LightGBM's own `pred_contrib` gives exact contributions in the raw score (log-odds for the
classifiers, log amount for the forecast) on the very matrix the model scored; they add up
to the raw score. Features are grouped by the catalog's business groups (orders, price,
service ...). Each factor is presented three ways:

- `contribution`: its log-odds, what the model adds up;
- `share`: its part of all the factors' absolute contributions, "how much of what sets
  this dealer apart from the average dealer is this factor";
- `effect`: for a probability, the percentage points it adds (the calibrated score minus
  the score without the factor's contribution); for the forecast, the relative change of
  the expected amount (exp(contribution) - 1).

Each factor names the feature that carries it most, with the dealer's value, its own value
`past_months` earlier and its peer group's median, and a sentence in English and Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

import numpy as np
import pandas as pd

from features.catalog import BY_NAME, GROUPS
from features.panel import peer_medians
from features.text import sentence_with_context
from models.bundle import Bundle, ClassifierBundle


@dataclass(frozen=True)
class Factor:
    group: str
    direction: str
    """'raises' or 'lowers' the score (risk, or the forecast amount)."""
    contribution: float
    share: float
    effect: float
    feature: str
    value: object
    past_value: object
    peer_median: object
    actionable: bool
    sentence_en: str
    sentence_zh: str

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: plain values


def grouped_contributions(bundle: Bundle, contributions: np.ndarray) -> pd.DataFrame:
    """Rows x business groups (log-odds), in the catalog's group order."""
    names = bundle.spec.names
    groups = [BY_NAME[n].group for n in names]
    frame = pd.DataFrame(contributions[:, : len(names)], columns=names)
    out = frame.T.groupby(groups, sort=False).sum().T
    return out[[g for g in GROUPS if g in out.columns]]


class Context:
    """The comparisons a factor shows: the dealer's own past and its peers' median.

    `population` is every dealer scored at the same cutoff (the peer groups); `past` holds
    the same dealers' features `months` earlier (None when not available).
    """

    def __init__(self, population: pd.DataFrame, past: pd.DataFrame | None, *,
                 min_peer_group: int, months: int) -> None:
        self.population = population
        self.past = past.set_index("dealer_id") if past is not None and len(past) else None
        self.min_peer_group = min_peer_group
        self.months = months
        self._all_medians: pd.DataFrame | None = None
        self._peer = cache(self._peer_uncached)
        self._past = cache(self._past_uncached)

    def _peer_uncached(self, feature: str) -> dict | None:
        medians = self._medians()
        return medians[feature].to_dict() if feature in medians.columns else None

    def _medians(self) -> pd.DataFrame:
        """Every numeric feature's peer median, in one grouping (per feature: 5x slower)."""
        if self._all_medians is None:
            names = [c for c in self.population.columns
                     if c in BY_NAME and not BY_NAME[c].categorical]
            frame = self.population[["cutoff", "profile_region", "profile_tier"]].join(
                self.population[names].apply(pd.to_numeric, errors="coerce"))
            self._all_medians = peer_medians(frame, names, self.min_peer_group)
        return self._all_medians

    def _past_uncached(self, feature: str) -> dict | None:
        if self.past is None or feature not in self.past.columns:
            return None
        return self.past[feature].to_dict()

    def peer(self, feature: str, index) -> object:
        medians = self._peer(feature)
        return None if medians is None else _plain(medians.get(index))

    def past_value(self, feature: str, dealer_id: str) -> object:
        values = self._past(feature)
        return None if values is None else _plain(values.get(dealer_id))


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    return None if isinstance(value, float) and np.isnan(value) else value


def explain(bundle: Bundle, frame: pd.DataFrame, *, context: Context | None = None,
            top: int = 3, context_index: list | None = None) -> list[list[Factor]]:
    """The top factors (by absolute contribution) for each row of `frame`.

    `context_index` gives each row's label in the context's population (default: the
    row's own index label, when the frame is that population). Ranking, shares and effects
    are computed for all rows at once; only the sentences are built row by row.
    """
    contributions = bundle.contributions(frame)
    names = list(bundle.spec.names)
    groups = grouped_contributions(bundle, contributions)
    gnames = list(groups.columns)
    g = groups.to_numpy()
    margin = contributions.sum(axis=1)
    per_feature = contributions[:, : len(names)]
    known = frame[names].notna().to_numpy()
    totals = np.abs(g).sum(axis=1)
    chosen = np.argsort(-np.abs(g), axis=1, kind="stable")[:, :top]
    picked = np.take_along_axis(g, chosen, axis=1)
    if isinstance(bundle, ClassifierBundle):
        effects = bundle.calibrator(margin)[:, None] - np.column_stack(
            [bundle.calibrator(margin - picked[:, k]) for k in range(picked.shape[1])])
    else:
        effects = np.expm1(picked)
    members = {name: np.array([j for j, n in enumerate(names) if BY_NAME[n].group == name])
               for name in gnames}
    columns = {n: frame[n].to_numpy() for n in names}
    dealer_ids = frame["dealer_id"].astype(str).to_numpy()
    labels = context_index if context_index is not None else list(frame.index)
    out = []
    for i in range(len(frame)):
        factors = []
        for k, gi in enumerate(chosen[i]):
            c = float(picked[i, k])
            feature = names[_carrier(per_feature[i], members[gnames[gi]], c, known[i])]
            factors.append(_factor(feature, gnames[gi], c, totals[i], float(effects[i, k]),
                                   _plain(columns[feature][i]), dealer_ids[i], labels[i],
                                   context))
        out.append(factors)
    return out


def _carrier(contrib: np.ndarray, idx: np.ndarray, total: float, known: np.ndarray) -> int:
    """The group's feature with the largest contribution in the group's direction,
    preferring one with a known value: "last order 75 days ago" tells a manager more than
    "month-on-month change: no data", though both moved the score."""
    sign = 1.0 if total >= 0 else -1.0
    ranked = idx[np.argsort(-sign * contrib[idx], kind="stable")]
    with_value = ranked[known[ranked] & (sign * contrib[ranked] > 0)]
    return int(with_value[0] if len(with_value) else ranked[0])


def _factor(feature: str, group: str, c: float, total: float, effect: float, value: object,
            dealer_id: str, at: object, context: Context | None) -> Factor:
    past = peer = None
    if context is not None and not BY_NAME[feature].categorical:  # region, tier: constant
        past = context.past_value(feature, dealer_id)
        peer = context.peer(feature, at)
    months = context.months if context is not None else 12
    return Factor(
        group=group, direction="raises" if c >= 0 else "lowers", contribution=c,
        share=float(abs(c) / total) if total > 0 else 0.0, effect=effect, feature=feature,
        value=value, past_value=past, peer_median=peer,
        actionable=BY_NAME[feature].actionable,
        sentence_en=sentence_with_context(feature, value, "en", past=past, peer=peer,
                                          months=months),
        sentence_zh=sentence_with_context(feature, value, "zh", past=past, peer=peer,
                                          months=months))
