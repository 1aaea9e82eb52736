"""A dealer's order rhythm read by the BG/NBD model (Fader, Hardie & Lee, 2005).

"Buy till you die": while a customer is alive it orders at its own Poisson rate (rates
gamma-distributed across customers, r and alpha), and after each order it may drop out
for good with its own probability (beta-distributed, a and b). Fitted on every dealer's
order days before a cutoff, it turns (repeat orders x, time of the last order t_x, age T)
into the chance that the dealer is still ordering, that it orders nothing in a coming
window, and the days it will order on in that window (times its own amount per order
day: the amount to expect). These mean the same at any age, which is what trees cannot
extrapolate from raw counts and recencies when the training cutoffs hold only young
dealers (a single cohort).

Pure numpy/scipy; time in weeks. One purchase occasion per dealer-day, as in the
literature.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

DAYS_PER_WEEK = 7.0
BOUND = 12.0
"""Log-parameters stay within exp(+-12): a population that almost never drops out drives
a and b apart without limit, and the probabilities no longer move at that point."""


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float


def log_likelihood(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                   T: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood (FHL 2005, eq. 6), in logs throughout."""
    return _Likelihood(x, t_x, T)(log_params)


class _Likelihood:
    """The log-likelihood and its gradient in the log-parameters, with the special
    functions evaluated once per distinct repeat count: the optimiser calls it tens of
    times per cutoff."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
        self.ux, self.inv = np.unique(x, return_inverse=True)
        self.x, self.t_x, self.T = x, t_x, T
        self.repeat = x > 0

    def _parts(self, log_params: np.ndarray):
        r, alpha, a, b = np.exp(log_params)
        ux, inv = self.ux, self.inv
        base = betaln(a, b)
        log_stay_age = np.log(alpha + self.T)
        log_drop_age = np.log(alpha + self.t_x)
        common = (gammaln(r + ux) - gammaln(r))[inv] + r * np.log(alpha)
        stay = (betaln(a, b + ux) - base)[inv] - (r + self.x) * log_stay_age
        with np.errstate(divide="ignore", invalid="ignore"):
            drop = np.where(self.repeat, (betaln(a + 1, np.maximum(b + ux - 1, 1e-12))
                                          - base)[inv] - (r + self.x) * log_drop_age,
                            -np.inf)
        total = np.logaddexp(stay, drop)
        return (r, alpha, a, b), common + total, np.exp(stay - total), log_stay_age, \
            log_drop_age

    def __call__(self, log_params: np.ndarray) -> np.ndarray:
        return self._parts(log_params)[1]

    def mean_and_gradient(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean log-likelihood, its gradient in log r, log alpha, log a, log b)."""
        (r, alpha, a, b), ll, w, log_stay_age, log_drop_age = self._parts(log_params)
        ux, inv, x = self.ux, self.inv, self.x
        d_r = (digamma(r + ux) - digamma(r))[inv] + np.log(alpha) \
            - w * log_stay_age - (1 - w) * log_drop_age
        d_alpha = r / alpha - (r + x) * (w / (alpha + self.T) + (1 - w) / (alpha + self.t_x))
        whole = digamma(a + b + ux)[inv]
        base_a, base_b = digamma(a) - digamma(a + b), digamma(b) - digamma(a + b)
        stay_a = -whole + digamma(a) - base_a
        stay_b = digamma(b + ux)[inv] - whole - base_b
        drop_a = digamma(a + 1) - whole - base_a
        drop_b = digamma(np.maximum(b + ux - 1, 1e-12))[inv] - whole - base_b
        d_a = w * stay_a + (1 - w) * np.where(self.repeat, drop_a, 0.0)
        d_b = w * stay_b + (1 - w) * np.where(self.repeat, drop_b, 0.0)
        grad = np.array([d_r.mean() * r, d_alpha.mean() * alpha, d_a.mean() * a,
                         d_b.mean() * b])
        return float(ll.mean()), grad


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBD | None:
    """Maximum likelihood from a fixed start (the same inputs always give the same fit);
    None when the optimiser fails or there is nothing to learn the dropout from."""
    if len(x) == 0 or not (x > 0).any():
        return None
    init = np.log([0.5, max(float(T.mean()), 1.0), 1.0, 1.0])
    likelihood = _Likelihood(x, t_x, T)

    def cost(p: np.ndarray) -> tuple[float, np.ndarray]:
        mean, grad = likelihood.mean_and_gradient(p)
        return -mean, -grad

    result = minimize(cost, np.clip(init, -BOUND, BOUND), jac=True, method="L-BFGS-B",
                      bounds=[(-BOUND, BOUND)] * 4, options={"ftol": 1e-13, "gtol": 1e-9})
    if not np.isfinite(result.fun):
        return None
    return BGNBD(*np.exp(result.x))


def p_alive(p: BGNBD, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still ordering | x, t_x, T); 1 for a customer with no repeat order."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds = (np.log(p.a) - np.log(np.maximum(p.b + x - 1, 1e-12))
                    + (p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + t_x)))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)


def p_none(p: BGNBD, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float
           ) -> np.ndarray:
    """P(no order in the next t | x, t_x, T): dropped out, or alive with no order."""
    alive = p_alive(p, x, t_x, T)
    quiet = np.exp((p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + T + t)))
    return (1.0 - alive) + alive * quiet


def expected_orders(p: BGNBD, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: float
                    ) -> np.ndarray:
    """E[order days in the next t | x, t_x, T] (FHL 2005, eq. 10), dropping out within
    the window included. Where the hypergeometric function does not converge, the rate of
    a dealer still alive times t (no dropout in the window) stands in."""
    alive = p_alive(p, x, t_x, T)
    rate = (p.r + x) / (p.alpha + T)
    with np.errstate(all="ignore"):
        z = t / (p.alpha + T + t)
        tail = np.exp((p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + T + t)))
        exact = alive * (p.a + p.b + x - 1) / (p.a - 1) * (
            1 - tail * hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z))
    fallback = alive * rate * t
    good = np.isfinite(exact) & (exact >= 0) & (abs(p.a - 1) > 1e-6)
    return np.where(good, exact, fallback)


# --- across the dealers of a cutoff (the panel's population), like the peer features ---

INPUTS = ("orders_order_days_lifetime", "orders_days_since_first", "orders_days_since_last")
AMOUNT = "orders_amount_lifetime"
"""With the days ordered, the amount per order day that turns expected orders into an
expected amount (the spend model's role in BG/NBD x Gamma-Gamma, without its shrinkage)."""
FIT_ROWS = 5000
"""Above this many dealers at a cutoff the fit uses a sample chosen by dealer id alone (the
same dealers whoever else is there): the parameters are population-level, and a fit on
20,000 dealers x 60 cutoffs would cost more than the rest of the panel."""
_FITS: dict[bytes, BGNBD | None] = {}
_FITS_KEPT = 256
_FITS_LOCK = threading.Lock()
"""Fits remembered by their inputs: POST /v1/score refits the snapshot's population with
one dealer's row replaced, the same population on every call that posts the same history."""


def _inputs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x repeat order days, t_x, T in weeks, rows where they are known)."""
    n, age, quiet = (pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
                     for c in INPUTS)
    known = (n >= 1) & (age > 0) & np.isfinite(quiet)
    T = age / DAYS_PER_WEEK
    t_x = np.clip(age - quiet, 0, None) / DAYS_PER_WEEK
    return np.maximum(n - 1, 0), t_x, T, known


def _fit_rows(dealer_ids: pd.Series, rows: np.ndarray) -> np.ndarray:
    if len(rows) <= FIT_ROWS:
        return rows
    hashed = pd.util.hash_array(dealer_ids.to_numpy()[rows].astype(str)) % np.uint64(10**6)
    return rows[hashed < np.uint64(10**6 * FIT_ROWS // len(rows))]


def fit_remembered(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBD | None:
    key = hashlib.blake2b(b"".join(np.ascontiguousarray(a).tobytes() for a in (x, t_x, T)),
                          digest_size=16).digest()
    with _FITS_LOCK:  # the API's threads share it
        if key in _FITS:
            return _FITS[key]
    params = fit(x, t_x, T)
    with _FITS_LOCK:
        while len(_FITS) >= _FITS_KEPT:
            _FITS.pop(next(iter(_FITS)))
        _FITS[key] = params
    return params


def add_rhythm(out: pd.DataFrame, features: list) -> None:
    """The order-rhythm features of every row: per cutoff, BG/NBD fitted on that cutoff's
    dealers (their order days before it only: point in time). NaN where the dealer has no
    order yet or the fit fails."""
    rhythm_into(out, out, features)


def rhythm_into(out: pd.DataFrame, population: pd.DataFrame, features: list) -> None:
    """`out`'s order-rhythm features from the fit on `population` (same cutoffs): the
    panel itself, or for POST /v1/score the snapshot's population with the dealer's row
    replaced."""
    wanted = [f for f in features if "rhythm" in f.params]
    if not all(c in population.columns for c in INPUTS):
        for f in wanted:  # a population from before these features: unknown, not a guess
            if f.name in out.columns:
                out[f.name] = np.nan
        return
    px, pt_x, pT, pknown = _inputs(population)
    x, t_x, T, known = (px, pt_x, pT, pknown) if out is population else _inputs(out)
    per_day = _amount_per_order_day(out, x)
    values = {f.name: np.full(len(out), np.nan) for f in wanted}
    cutoffs, pcutoffs = out["cutoff"].to_numpy(), population["cutoff"].to_numpy()
    for cutoff in np.unique(cutoffs):
        sample = _fit_rows(population["dealer_id"],
                           np.flatnonzero((pcutoffs == cutoff) & pknown))
        params = fit_remembered(px[sample], pt_x[sample], pT[sample])
        rows = np.flatnonzero((cutoffs == cutoff) & known)
        if params is None or not len(rows):
            continue
        for f in wanted:
            values[f.name][rows] = _apply(f, params, x[rows], t_x[rows], T[rows],
                                          per_day[rows])
    for name, column in values.items():
        out[name] = column


def _amount_per_order_day(frame: pd.DataFrame, x: np.ndarray) -> np.ndarray:
    if AMOUNT not in frame.columns:
        return np.full(len(frame), np.nan)
    total = pd.to_numeric(frame[AMOUNT], errors="coerce").to_numpy(dtype=float)
    return np.clip(total / (x + 1), 0, None)  # returns can exceed a day's orders


def _apply(feature, params: BGNBD, x, t_x, T, per_day) -> np.ndarray:
    kind = feature.params["rhythm"]
    if kind == "alive":
        return p_alive(params, x, t_x, T)
    horizon = feature.params["months"] * 365.25 / 12 / DAYS_PER_WEEK
    if kind == "none":
        return p_none(params, x, t_x, T, horizon)
    return expected_orders(params, x, t_x, T, horizon) * per_day
