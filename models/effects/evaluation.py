"""Judging effect estimates where the truth is unbiased: the randomized rows, out of time.

The measure is the Qini coefficient (Radcliffe 2007): rank the dealers of a randomized
month by the benefit a score promises, and at each depth compare the retained dealers
among the treated with those among the controls, scaled to the treated count. A score
that knows nothing (a constant: "no effect") has a coefficient of zero on average; one
that ranks the dealers a program truly keeps first has a positive one. It is computed
per program (its pilots against the month's unpiloted dealers) and pooled with the
pilots' counts as weights. Neither econml nor scikit-learn offers it and the uplift
libraries that do (causalml, scikit-uplift) come with heavy or unmaintained dependencies
for twenty lines, so it is written here.

Intervals are percentile bootstraps over dealers, resampling treated and controls apart
(the design's strata); the differences to the baselines are paired (same resamples).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from models.effects.rows import NONE


def qini(score: np.ndarray, treated: np.ndarray, kept: np.ndarray) -> float:
    """Qini coefficient per treated dealer: mean height of the Qini curve above the random
    line, over the fraction of dealers targeted. Ties in `score` are taken together (a
    constant score gives exactly zero)."""
    n = len(score)
    n_t = int(treated.sum())
    if n_t == 0 or n_t == n:
        return float("nan")
    order = np.argsort(-score, kind="stable")
    s, t, k = score[order], treated[order].astype(float), kept[order].astype(float)
    cum_t, cum_c = np.cumsum(t), np.cumsum(1 - t)
    kept_t, kept_c = np.cumsum(t * k), np.cumsum((1 - t) * k)
    ends = np.r_[np.flatnonzero(np.diff(s) != 0), n - 1]  # the last row of each tie group
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = kept_t[ends] - np.where(cum_c[ends] > 0, kept_c[ends] * cum_t[ends]
                                        / cum_c[ends], 0.0)
    x = np.r_[0.0, (ends + 1) / n]
    y = np.r_[0.0, curve]
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    return (area - y[-1] / 2) / n_t


@dataclass(frozen=True)
class Judged:
    """One scorer's pooled Qini on the randomized rows, with its bootstrap interval."""

    value: float
    low: float
    high: float
    per_program: dict[str, float]


def _sets(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Program -> positions of its pilots and of the month's unpiloted dealers, only in
    the months the program was piloted in."""
    out = {}
    for kind in sorted(set(rows["pilot"]) - {NONE}):
        months = rows.loc[rows["pilot"] == kind, "cutoff"].unique()
        in_months = rows["cutoff"].isin(months).to_numpy()
        mask = in_months & rows["pilot"].isin([kind, NONE]).to_numpy()
        out[kind] = np.flatnonzero(mask)
    return out


def pooled_qini(rows: pd.DataFrame, scores: dict[str, np.ndarray],
                sets: dict[str, np.ndarray] | None = None,
                pick: dict[str, np.ndarray] | None = None) -> tuple[float, dict[str, float]]:
    """Pooled Qini of `scores` (program -> benefit score per row of `rows`)."""
    sets = sets if sets is not None else _sets(rows)
    kept = 1.0 - rows["left"].to_numpy(dtype=float)
    pilot = rows["pilot"].to_numpy(dtype=object)
    per, weights = {}, {}
    for kind, where in sets.items():
        at = where[pick[kind]] if pick is not None else where
        treated = pilot[at] == kind
        value = qini(scores[kind][at], treated, kept[at])
        if not np.isnan(value):
            per[kind], weights[kind] = value, treated.sum()
    if not per:
        return float("nan"), per
    total = sum(weights.values())
    return float(sum(per[k] * weights[k] for k in per) / total), per


def judge(rows: pd.DataFrame, scorers: dict[str, Callable[[str], np.ndarray]],
          resamples: int, seed: int, level: float = 0.95) -> dict[str, Judged]:
    """Each scorer's pooled Qini with a bootstrap interval, and for every scorer after the
    first, the paired difference first - it (under the key 'first - name')."""
    sets = _sets(rows)
    pilot = rows["pilot"].to_numpy(dtype=object)
    scores = {name: {k: np.asarray(f(k), dtype=float) for k in sets}
              for name, f in scorers.items()}
    point = {name: pooled_qini(rows, s, sets) for name, s in scores.items()}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in scores}
    for _ in range(resamples):
        pick = {}
        for kind, where in sets.items():
            treated = np.flatnonzero(pilot[where] == kind)
            control = np.flatnonzero(pilot[where] != kind)
            pick[kind] = np.r_[rng.choice(treated, len(treated)),
                               rng.choice(control, len(control))]
        for name, s in scores.items():
            draws[name].append(pooled_qini(rows, s, sets, pick)[0])
    tail = (1 - level) / 2 * 100
    out = {}
    names = list(scores)
    for name in names:
        d = np.asarray(draws[name])
        out[name] = Judged(point[name][0], *np.nanpercentile(d, [tail, 100 - tail]),
                           point[name][1])
    first = names[0]
    for name in names[1:]:
        d = np.asarray(draws[first]) - np.asarray(draws[name])
        out[f"{first} - {name}"] = Judged(point[first][0] - point[name][0],
                                          *np.nanpercentile(d, [tail, 100 - tail]), {})
    return out


def detectable(randomized: pd.DataFrame, alpha: float = 0.05, power: float = 0.8
               ) -> pd.DataFrame:
    """Per program, from randomized rows whose outcome is known (columns `pilot`: the
    program piloted or NONE, `left`: 0/1): its pilots, and the smallest mean effect on the
    chance of leaving that a two-sided test at `alpha` detects with `power`, its pilots
    against the other free dealers of the same months (the normal approximation for two
    proportions at the rows' leaving rate).

    Why: an estimate is only as good as the pilots behind it. A true mean effect far below
    this cannot be learned from them by any estimator, however it varies from dealer to
    dealer; it falls with the square root of the pilots, so it also says how many more a
    program needs (four times the pilots halve it)."""
    known = randomized.loc[randomized["left"].notna()]
    base = float(known["left"].mean()) if len(known) else np.nan
    controls = int(known["pilot"].eq(NONE).sum())
    pilots = known.loc[known["pilot"] != NONE, "pilot"].value_counts()
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    spread = np.sqrt(base * (1 - base) * (1 / pilots + 1 / max(controls, 1)))
    return pd.DataFrame({"pilots": pilots, "detectable": z * spread})
