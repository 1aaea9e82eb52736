"""Turn a booster's raw log-odds into probabilities a manager can read as percentages.

Fitted on a time slice later than the booster's training data. Stored as plain numbers
(JSON), so a saved model holds no pickles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

EPS = 1e-4


@dataclass(frozen=True)
class Calibrator:
    """Maps raw log-odds to a probability, monotonically."""

    method: str
    params: dict

    def __call__(self, margin: np.ndarray, months: np.ndarray | None = None) -> np.ndarray:
        """Probabilities for `margin`; a hazard calibrator by month ("platt_by_month")
        also needs each row's months ahead."""
        margin = np.asarray(margin, dtype=float)
        if self.method == "platt":
            p = 1.0 / (1.0 + np.exp(-(self.params["a"] * margin + self.params["b"])))
        elif self.method == "platt_by_month":
            if months is None:
                raise ValueError("a calibrator by month needs each row's months ahead")
            p = 1.0 / (1.0 + np.exp(-_by_month_logit(self.params, margin, months)))
        elif self.method == "isotonic":
            p = np.interp(margin, self.params["x"], self.params["y"])
        else:
            p = 1.0 / (1.0 + np.exp(-margin))
        return np.clip(p, EPS, 1 - EPS)

    def to_dict(self) -> dict:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        return cls(method=data["method"], params=data["params"])


def fit_platt(margin: np.ndarray, y: np.ndarray) -> Calibrator:
    lr = LogisticRegression(C=1e6).fit(np.asarray(margin).reshape(-1, 1), y)
    return Calibrator("platt", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])})


def fit_platt_by_month(margin: np.ndarray, months: np.ndarray, y: np.ndarray) -> Calibrator:
    """Platt scaling of a discrete-time hazard whose slope and intercept move with the
    months ahead: logit h = b + a*s + c*log(m) + d*s*log(m), s the booster's log-odds.

    Why: the survival booster's hazards were calibrated by one slope and intercept, and
    out of time its curves came out too spread at 12 months (the riskiest fifth of dealers
    predicted 51% still ordering where 72% were, the safest 97% where 90% were) while
    right at 3: today's signs of trouble say less about the hazard a year on than the
    booster assumes. The slope by log(m) lets the calibration slice, whose newest cutoffs
    are followed only a few months, say how fast that fades; log(m) extrapolates gently to
    the months it has not seen. The slope is kept at zero or above at every month, so the
    hazard never falls as the booster's risk rises."""
    months = np.asarray(months, dtype=float)
    margin = np.asarray(margin, dtype=float)
    log_m = np.log(months)
    design = np.column_stack([margin, log_m, margin * log_m])
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(design, y)
    a, c, d = (float(v) for v in lr.coef_[0])
    return Calibrator("platt_by_month", {"a": a, "b": float(lr.intercept_[0]), "c": c, "d": d})


def _by_month_logit(params: dict, margin: np.ndarray, months: np.ndarray) -> np.ndarray:
    log_m = np.log(np.asarray(months, dtype=float))
    slope = np.maximum(params["a"] + params["d"] * log_m, 0.0)
    return params["b"] + slope * margin + params["c"] * log_m


def fit_isotonic(margin: np.ndarray, y: np.ndarray) -> Calibrator:
    """Centred isotonic regression (Oron and Flournoy, 2017).

    Plain isotonic regression is a staircase: every dealer on a step gets the same
    probability, so the booster's ranking within a step is lost (ties in the managers'
    ranked list, a lower ROC AUC than the booster's own). Here each step collapses to one
    point at the mean margin of its rows, and the map is linear between those points:
    increasing strictly between the outermost points, equally monotone and, by the paper,
    closer to the true curve. Beyond the outermost points it is flat, as before.
    """
    margin, y = np.asarray(margin, dtype=float), np.asarray(y, dtype=float)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
    steps, step = np.unique(iso.predict(margin), return_inverse=True)
    centres = np.bincount(step, weights=margin) / np.bincount(step)
    return Calibrator("isotonic", {"x": centres.tolist(), "y": steps.tolist()})


FITTERS = {"platt": fit_platt, "isotonic": fit_isotonic}


def fit_calibrator(margin: np.ndarray, y: np.ndarray, group: np.ndarray, method: str
                   ) -> tuple[Calibrator, dict[str, float]]:
    """Fit the calibrator; with method "auto", choose by time on the slice itself.

    `group` orders the rows in time (their cutoffs): both candidates are fitted on all but
    the newest group and judged by log loss on it, as the backtest would judge them; the
    winner is then refitted on the whole slice. Returns the calibrator and the judged losses.
    """
    if method != "auto":
        return FITTERS[method](margin, y), {}
    group = np.asarray(group)
    newest = group == max(group)
    losses = {}
    for name, fitter in FITTERS.items():
        if newest.all() or y[~newest].min() == y[~newest].max():
            losses[name] = np.nan
            continue
        p = fitter(margin[~newest], y[~newest])(margin[newest])
        losses[name] = float(log_loss(y[newest], p, labels=[0, 1]))
    known = {k: v for k, v in losses.items() if np.isfinite(v)}
    best = min(known, key=known.get) if known else "platt"
    return FITTERS[best](margin, y), losses
