"""Why a dealer scores as it does: TreeSHAP contributions grouped into business factors,
measured against the dealer's peers.

LightGBM's own `pred_contrib` gives exact contributions in the raw score (log-odds for the
classifiers) on the very matrix the model scored; they add up to the raw score, and they
measure the dealer against the average dealer of the training data. A reason must say what
sets this dealer apart from its peers (the brief's horizontal comparison): a regional price
war moves the price contributions of every dealer in the region, and is not this dealer's
warning sign. So each feature's contribution is taken relative to the mean contribution of
the dealer's peers (the dealers scored at the same cutoff in the same region and channel:
`explain.peer_keys`); what every peer shares cancels out. Features are then grouped by the
catalog's business groups (orders, price, service ...):

- the **reasons** are the groups that raise the risk against the peers, largest first;
  those that lower it are listed apart;
- fixed attributes (CONTEXT_GROUPS: channel, tier, region, age, season) are never a reason:
  a manager cannot act on them. When one raises the score against the average dealer, a
  **context note** says in plain words what it means ("project dealers order in lumps").

Each factor is presented three ways:

- `contribution`: its log-odds against the peers' mean;
- `share`: its part of all the reason groups' absolute peer-relative contributions;
- `effect`: the percentage points it adds (the calibrated score minus the score with this
  factor at its peers' mean).

Each factor names the feature that carries it most, with the dealer's value, its own value
`past_months` earlier and its peer group's median, and a sentence in English and Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalog import BY_NAME, CONTEXT_NOTES, GROUPS
from features.panel import peer_medians
from features.text import context_sentence, sentence_with_context
from models.bundle import Bundle, ClassifierBundle
from models.dataset import as_numbers

CONTEXT_GROUPS = frozenset({"profile", "season"})
"""Fixed attributes: context for a score, never a reason (docs/model-card.md)."""


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
        """The fields in order, shallow: plain values. (A frozen dataclass's __dict__ is
        its fields; dataclasses.fields took most of the time of batch scoring's
        thousands of factors.)"""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Note:
    """A fixed attribute that raises the score, said as context, not as a reason."""

    feature: str
    value: object
    contribution: float
    sentence_en: str
    sentence_zh: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Explanation:
    factors: list[Factor]
    """The reasons (raising the risk against the peers, largest first), then the factors
    that lower it."""
    context: list[Note]

    @property
    def reasons(self) -> list[Factor]:
        return [f for f in self.factors if f.direction == "raises"]


def peer_means(values: np.ndarray, keys: pd.DataFrame, min_group: int) -> np.ndarray:
    """Each row's mean of `values` over its peers: the rows with the same values of every
    column of `keys`; the first two columns alone (the cutoff and the region) where that
    group holds fewer than `min_group` rows."""
    cols = list(keys.columns)
    codes = [pd.factorize(keys[c].astype("string").fillna("").to_numpy())[0] for c in cols]
    frame = pd.DataFrame(values)
    fine = frame.groupby(codes, sort=False).transform("mean").to_numpy()
    size = pd.Series(np.ones(len(keys))).groupby(codes, sort=False).transform("size")
    if len(cols) <= 2:
        return fine
    coarse = frame.groupby(codes[:2], sort=False).transform("mean").to_numpy()
    return np.where((size.to_numpy() >= min_group)[:, None], fine, coarse)


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
                 min_peer_group: int, months: int,
                 peer_keys: tuple[str, ...] | list[str] = ("profile_region",
                                                          "profile_channel")) -> None:
        self.population = population
        self.past = past if past is not None and len(past) else None
        """The dealers' rows `months` earlier, found by dealer_id (not set as the index:
        on a frame of many blocks that copy cost POST /v1/score ~7 ms)."""
        self.min_peer_group = min_peer_group
        self.months = months
        self.peer_keys = list(peer_keys)
        self._all_medians: pd.DataFrame | None = None
        self._past_ids: pd.Index | None = None
        self._baselines: dict[int, np.ndarray] = {}

    def baseline(self, bundle: Bundle, contributions: np.ndarray | None = None) -> np.ndarray:
        """Population rows x the bundle's features: the peers' mean contribution of each
        feature. `contributions`: the bundle's contributions on the population, when the
        caller has them (batch scoring: the population is what it scores)."""
        key = id(bundle)
        if key not in self._baselines:
            if contributions is None:
                contributions = bundle.contributions(self.population)
            n = len(bundle.spec.names)
            # the same peers in the same order give the same sums to the last bit, however
            # the population came (a batch, or POST /v1/score's region with a posted row)
            order = np.argsort(self.population["dealer_id"].astype(str).to_numpy(),
                               kind="stable")
            keys = self.population[["cutoff", *self.peer_keys]].iloc[order]
            means = peer_means(contributions[order, :n], keys.reset_index(drop=True),
                               self.min_peer_group)
            self._baselines[key] = np.empty_like(means)
            self._baselines[key][order] = means
        return self._baselines[key]

    def _medians(self) -> pd.DataFrame:
        """Every numeric feature's peer median, in one grouping (per feature: 5x slower)."""
        if self._all_medians is None:
            names = [c for c in self.population.columns
                     if c in BY_NAME and not BY_NAME[c].categorical]
            frame = self.population[["cutoff", "profile_region", "profile_tier"]].join(
                as_numbers(self.population, names))
            self._all_medians = peer_medians(frame, names, self.min_peer_group)
        return self._all_medians

    def peers(self, names: list[str], at: np.ndarray) -> np.ndarray:
        """Peer medians of `names` (columns) for the population rows at positions `at`;
        NaN where a feature has none."""
        medians = self._medians().reindex(columns=names)
        return np.array(medians.to_numpy(dtype=float)[at])

    def pasts(self, names: list[str], dealer_ids: np.ndarray) -> np.ndarray:
        """The dealers' own values of `names` `months` earlier; NaN where unknown."""
        out = np.full((len(dealer_ids), len(names)), np.nan)
        if self.past is None:
            return out
        if self._past_ids is None:
            self._past_ids = pd.Index(self.past["dealer_id"].astype(str).to_numpy())
        at = self._past_ids.get_indexer(np.asarray(dealer_ids, dtype=str))
        known = [j for j, n in enumerate(names) if n in self.past.columns and n != "dealer_id"]
        found = np.flatnonzero(at >= 0)
        if len(found) and known:  # only the rows asked for (POST: one of hundreds)
            out[np.ix_(found, known)] = as_numbers(self.past.iloc[at[found]],
                                                   [names[j] for j in known]).to_numpy()
        return out


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    return None if isinstance(value, float) and np.isnan(value) else value


def _objects(values: np.ndarray) -> np.ndarray:
    """Floats as Python floats, NaN as None: what a factor holds and JSON writes."""
    return np.where(np.isnan(values), None, values.astype(object))


def explain(bundle: Bundle, frame: pd.DataFrame, *, context: Context | None = None,
            top: int = 3, top_lowering: int = 2, notes: int = 2, note_min: float = 0.1,
            context_index: list | None = None, contributions: np.ndarray | None = None,
            population_contributions: np.ndarray | None = None) -> list[Explanation]:
    """The reasons, the factors lowering the risk and the context notes of each row.

    `context_index` gives each row's position in the context's population (default: the
    row's own position, when the frame is that population). `contributions`: the
    bundle's contributions on `frame`, and `population_contributions` on the context's
    population, when the caller has them already. Without a context there are no peers:
    contributions are taken as they are (against the average dealer). Ranking, carriers,
    shares, effects and the values compared are computed for all rows at once; only the
    sentences are built row by row.
    """
    if contributions is None:
        contributions = bundle.contributions(frame)
    names = list(bundle.spec.names)
    at = np.asarray(context_index if context_index is not None else np.arange(len(frame)),
                    dtype=int)
    per_feature, gnames, g = _against_peers(bundle, contributions, context, at,
                                            population_contributions)
    margin = contributions.sum(axis=1)
    known = frame[names].notna().to_numpy()
    totals = np.abs(g).sum(axis=1)
    raising = np.argsort(-g, axis=1, kind="stable")[:, :top]
    lowering = np.argsort(g, axis=1, kind="stable")[:, :top_lowering]
    chosen = np.column_stack([raising, lowering])
    picked = np.take_along_axis(g, chosen, axis=1)
    keep = np.column_stack([picked[:, :raising.shape[1]] > 0,
                            picked[:, raising.shape[1]:] < 0])
    if isinstance(bundle, ClassifierBundle):
        effects = bundle.calibrator(margin)[:, None] - np.column_stack(
            [bundle.calibrator(margin - picked[:, k]) for k in range(picked.shape[1])])
    else:
        effects = np.expm1(picked)
    carriers = _carriers(per_feature, known, names, gnames, chosen, picked)
    numeric = np.array([not BY_NAME[n].categorical for n in names])
    values = frame[names].to_numpy(dtype=object)
    dealer_ids = frame["dealer_id"].astype(str).to_numpy()
    past = peer = np.full((len(frame), len(names)), np.nan)
    if context is not None:
        past, peer = context.pasts(names, dealer_ids), context.peers(names, at)
        past[:, ~numeric] = np.nan  # region, tier: constant, nothing to compare
        peer[:, ~numeric] = np.nan
    months = context.months if context is not None else 12
    past, peer = _objects(past), _objects(peer)
    context_notes = _notes(contributions[:, : len(names)], values, names, notes, note_min)
    return [Explanation(
        factors=[_factor(names[j], gnames[chosen[i, k]], float(picked[i, k]), totals[i],
                         float(effects[i, k]), _plain(values[i, j]), past[i, j], peer[i, j],
                         months)
                 for k, j in enumerate(carriers[i]) if keep[i, k]],
        context=context_notes[i])
        for i in range(len(frame))]


def _notes(raw: np.ndarray, values: np.ndarray, names: list[str], count: int,
           min_logodds: float) -> list[list[Note]]:
    """Per row, the fixed attributes that raise the score most against the average dealer
    (at least `min_logodds`) and have words in catalog.CONTEXT_NOTES."""
    cols = [j for j, n in enumerate(names)
            if BY_NAME[n].group in CONTEXT_GROUPS and n in CONTEXT_NOTES]
    out: list[list[Note]] = [[] for _ in range(len(raw))]
    if not cols or count == 0:
        return out
    sub = raw[:, cols]
    order = np.argsort(-sub, axis=1, kind="stable")[:, :count]
    for i, row in enumerate(order):
        for k in row:
            c = float(sub[i, k])
            if c < min_logodds:
                break
            name = names[cols[k]]
            value = _plain(values[i, cols[k]])
            en, zh = context_sentence(name, value, "en"), context_sentence(name, value, "zh")
            if en is not None and zh is not None:
                out[i].append(Note(feature=name, value=value, contribution=c,
                                   sentence_en=en, sentence_zh=zh))
    return out


def reason_groups(bundle: Bundle, rows: pd.DataFrame, population: pd.DataFrame, *,
                  peer_keys: list[str], min_peer_group: int, top: int) -> list[list[str]]:
    """The groups of each row's top risk-raising reasons, as explain() ranks them, with its
    peers taken from `population` (the dealers scored at the row's cutoff; every row of
    `rows` must be in it): the explanations' fidelity check and the worlds benchmark."""
    population = population.reset_index(drop=True)
    context = Context(population, None, min_peer_group=min_peer_group, months=12,
                      peer_keys=peer_keys)
    index = {(d, c): i for i, (d, c) in enumerate(zip(
        population["dealer_id"].astype(str), population["cutoff"], strict=True))}
    at = [index[(d, c)] for d, c in zip(rows["dealer_id"].astype(str), rows["cutoff"],
                                        strict=True)]
    _, gnames, g = _against_peers(bundle, bundle.contributions(rows), context,
                                  np.asarray(at, dtype=int))
    order = np.argsort(-g, axis=1, kind="stable")[:, :top]
    return [[gnames[j] for j in row if g[i, j] > 0] for i, row in enumerate(order)]


def _against_peers(bundle: Bundle, contributions: np.ndarray, context: Context | None,
                   at: np.ndarray, population_contributions: np.ndarray | None = None
                   ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(per-feature contributions minus the peers' mean, group names, group sums with the
    fixed-attribute groups at zero): what explain() and reason_groups() rank."""
    per_feature = contributions[:, : len(bundle.spec.names)]
    if context is not None:
        per_feature = per_feature - context.baseline(bundle, population_contributions)[at]
    groups = grouped_contributions(bundle, per_feature)
    gnames = list(groups.columns)
    reason_cols = np.array([name not in CONTEXT_GROUPS for name in gnames])
    return per_feature, gnames, np.where(reason_cols[None, :], groups.to_numpy(), 0.0)


def _carriers(per_feature: np.ndarray, known: np.ndarray, names: list[str],
              gnames: list[str], chosen: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """Per row and chosen group, the group's feature with the largest contribution in the
    group's direction, preferring one with a known value: "last order 75 days ago" tells a
    manager more than "month-on-month change: no data", though both moved the score.
    Ties go to the feature first in the spec."""
    out = np.zeros(chosen.shape, dtype=int)
    sign = np.where(picked >= 0, 1.0, -1.0)
    for gi, group in enumerate(gnames):
        idx = np.array([j for j, n in enumerate(names) if BY_NAME[n].group == group],
                       dtype=int)
        rows, ks = np.nonzero(chosen == gi)
        if not len(rows):
            continue
        signed = per_feature[rows][:, idx] * sign[rows, ks][:, None]
        eligible = known[rows][:, idx] & (signed > 0)
        best_known = np.argmax(np.where(eligible, signed, -np.inf), axis=1)
        best_any = np.argmax(signed, axis=1)
        out[rows, ks] = idx[np.where(eligible.any(axis=1), best_known, best_any)]
    return out


def _factor(feature: str, group: str, c: float, total: float, effect: float, value: object,
            past: object, peer: object, months: int) -> Factor:
    return Factor(
        group=group, direction="raises" if c >= 0 else "lowers", contribution=c,
        share=float(abs(c) / total) if total > 0 else 0.0, effect=effect, feature=feature,
        value=value, past_value=past, peer_median=peer,
        actionable=BY_NAME[feature].actionable,
        sentence_en=sentence_with_context(feature, value, "en", past=past, peer=peer,
                                          months=months),
        sentence_zh=sentence_with_context(feature, value, "zh", past=past, peer=peer,
                                          months=months))
