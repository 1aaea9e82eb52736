"""How good a survival curve is, on right-censored months to leaving.

- Uno's C: the share of comparable pairs (one dealer gone before the other) that the
  predicted risk orders rightly, weighted by the inverse chance of being followed that long
  (IPCW), so heavy censoring late in the horizon does not flatter it. 0.5 is a constant.
- Integrated Brier score: the squared error of each month's survival probability, averaged
  over the horizon, again with censoring weights. Kaplan-Meier (one curve for every dealer)
  is the constant to beat.
- D-calibration (Haider et al., 2020): if the curves are right, the predicted survival at a
  dealer's observed time is uniform on [0, 1]; a chi-square test of that over ten bins.

Uno's C and the IBS come from scikit-survival (the field's reference implementation); it
has no D-calibration, so that is written here, tested against worked values
(tests/models/test_survival.py). Times are whole months: K = k means the dealer is gone from
the k-th month after the cutoff, so the survival at month t is P(K > t).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2


def outcome(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """scikit-survival's structured array (event flag, time)."""
    out = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    out["event"], out["time"] = np.asarray(event, dtype=bool), np.asarray(time, dtype=float)
    return out


def uno_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray, tau: float) -> float:
    """Uno's concordance for pairs separated before `tau`; censoring weights estimated on the
    same rows. NaN without an event before tau."""
    from sksurv.metrics import concordance_index_ipcw

    y = outcome(time, event)
    if not (y["event"] & (y["time"] < tau)).any():
        return float("nan")
    return float(concordance_index_ipcw(y, y, np.asarray(risk, dtype=float), tau=tau)[0])


def integrated_brier(time: np.ndarray, event: np.ndarray, curves: np.ndarray,
                     months: np.ndarray) -> float:
    """IBS over `months` (curves[:, i] is the survival at months[i]); the months must lie
    inside the follow-up (scikit-survival checks it). NaN when the follow-up is too short."""
    from sksurv.metrics import integrated_brier_score

    y = outcome(time, event)
    inside = months < y["time"].max()
    if inside.sum() < 2:
        return float("nan")
    return float(integrated_brier_score(y, y, curves[:, inside], months[inside]))


def pit_intervals(time: np.ndarray, event: np.ndarray, curves: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Where each dealer's predicted survival at its observed time lies, as an interval its
    probability mass spreads evenly over: [S(k), S(k-1)] for a dealer gone in month k (whole
    months: the continuous PIT is somewhere inside that month's step), [0, S(c)] for one
    still ordering when followed for c months (it leaves later, so lower)."""
    n, months = curves.shape
    full = np.concatenate([np.ones((n, 1)), curves], axis=1)  # S(0) = 1
    t = np.clip(np.asarray(time, dtype=int), 0, months)
    rows = np.arange(n)
    at = full[rows, t]
    before = full[rows, np.maximum(t - 1, 0)]
    gone = np.asarray(event, dtype=bool)
    return np.where(gone, at, 0.0), np.where(gone, before, at)


def d_calibration(time: np.ndarray, event: np.ndarray, curves: np.ndarray, bins: int = 10
                  ) -> dict[str, float]:
    """The share of the dealers' probability mass in each of `bins` equal bins of predicted
    survival, and the chi-square test that they are equal (p-value: higher is better; a
    model is D-calibrated at 5% when p >= 0.05). `worst_bin` is the largest bin's share over
    the even share 1/bins."""
    lo, hi = pit_intervals(time, event, curves)
    edges = np.linspace(0.0, 1.0, bins + 1)
    width = np.maximum(hi - lo, 1e-12)
    overlap = np.clip(np.minimum(hi[:, None], edges[None, 1:])
                      - np.maximum(lo[:, None], edges[None, :-1]), 0.0, None)
    mass = np.where((hi - lo)[:, None] > 1e-12, overlap / width[:, None],
                    # a point mass (S(k) = S(k-1)) sits in the bin holding it
                    (np.digitize(lo, edges[1:-1])[:, None] == np.arange(bins)[None, :]))
    counts = mass.sum(axis=0)
    n = len(lo)
    expected = n / bins
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return {"d_calibration_p": float(chi2.sf(statistic, bins - 1)),
            "d_calibration_chi2": statistic,
            "d_calibration_worst_bin": float(counts.max() / expected)}


def kaplan_meier(time: np.ndarray, event: np.ndarray, months: int) -> np.ndarray:
    """The product-limit survival at months 1..months from whole-month times: the constant
    curve every dealer gets, and the survival model's baseline."""
    time, event = np.asarray(time, dtype=int), np.asarray(event, dtype=bool)
    out, s = np.empty(months), 1.0
    for t in range(1, months + 1):
        at_risk = (time >= t).sum()
        gone = (event & (time == t)).sum()
        s *= 1.0 - gone / at_risk if at_risk else 1.0
        out[t - 1] = s
    return out
