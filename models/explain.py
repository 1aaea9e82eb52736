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

from dataclasses import asdict, dataclass
from functools import cache

import numpy as np
import pandas as pd

from features.catalog import BY_NAME, GROUPS
from features.panel import peer_stats
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
        return asdict(self)


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
        self._peer = cache(self._peer_uncached)

    def _peer_uncached(self, feature: str) -> pd.Series | None:
        if BY_NAME[feature].categorical or feature not in self.population.columns:
            return None
        values = pd.to_numeric(self.population[feature], errors="coerce")
        frame = self.population[["cutoff", "profile_region", "profile_tier"]].assign(v=values)
        median, _ = peer_stats(frame, "v", self.min_peer_group)
        return median

    def peer(self, feature: str, index) -> object:
        median = self._peer(feature)
        return None if median is None or index not in median.index else _plain(median[index])

    def past_value(self, feature: str, dealer_id: str) -> object:
        if self.past is None or feature not in self.past.columns \
                or dealer_id not in self.past.index:
            return None
        return _plain(self.past.at[dealer_id, feature])


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
    row's own index label, when the frame is that population).
    """
    contributions = bundle.contributions(frame)
    groups = grouped_contributions(bundle, contributions)
    margin = contributions.sum(axis=1)
    names = list(bundle.spec.names)
    per_feature = contributions[:, : len(names)]
    out = []
    for i in range(len(frame)):
        row = groups.iloc[i]
        total = row.abs().sum()
        chosen = row.abs().sort_values(ascending=False, kind="stable").index[:top]
        factors = []
        for group in chosen:
            c = float(row[group])
            feature = _carrier(per_feature[i], names, group, c)
            at = context_index[i] if context_index is not None else frame.index[i]
            factors.append(_factor(bundle, frame, i, group, c, total, margin[i], feature,
                                   context, at))
        out.append(factors)
    return out


def _carrier(contrib: np.ndarray, names: list[str], group: str, total: float) -> str:
    """The group's feature with the largest contribution in the group's direction."""
    idx = [j for j, n in enumerate(names) if BY_NAME[n].group == group]
    sign = 1.0 if total >= 0 else -1.0
    return names[max(idx, key=lambda j: sign * contrib[j])]


def _factor(bundle, frame, i, group, c, total, margin, feature, context, at) -> Factor:
    row = frame.iloc[i]
    value = _plain(row[feature])
    past = peer = None
    if context is not None:
        past = context.past_value(feature, row["dealer_id"])
        peer = context.peer(feature, at)
    months = context.months if context is not None else 12
    if isinstance(bundle, ClassifierBundle):
        effect = float(bundle.calibrator(np.array([margin]))[0]
                       - bundle.calibrator(np.array([margin - c]))[0])
    else:
        effect = float(np.expm1(c))
    return Factor(
        group=group, direction="raises" if c >= 0 else "lowers", contribution=c,
        share=float(abs(c) / total) if total > 0 else 0.0, effect=effect, feature=feature,
        value=value, past_value=past, peer_median=peer,
        actionable=BY_NAME[feature].actionable,
        sentence_en=sentence_with_context(feature, value, "en", past=past, peer=peer,
                                          months=months),
        sentence_zh=sentence_with_context(feature, value, "zh", past=past, peer=peer,
                                          months=months))
