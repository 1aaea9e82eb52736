"""The order-rhythm model (BG/NBD): the likelihood's gradient, recovery of known
parameters, and the closed forms at their edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from features import rhythm
from features.catalog import CATALOG


def simulate(n: int, r: float, alpha: float, a: float, b: float, seed: int = 0):
    """Customers drawn from the BG/NBD story itself, observed for 20-52 weeks."""
    rng = np.random.default_rng(seed)
    rate, dropout = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.uniform(20, 52, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / rate[i])
            if t > T[i]:
                break
            x[i], t_x[i] = x[i] + 1, t
            if rng.random() < dropout[i]:
                break
    return x, t_x, T


@pytest.fixture(scope="module")
def customers():
    return simulate(6000, r=0.25, alpha=4.0, a=0.8, b=2.4)


def test_gradient_matches_finite_differences(customers):
    likelihood = rhythm._Likelihood(*customers)
    for point in ([0.1, 1.0, -0.3, 0.9], [-1.0, 2.0, 1.0, -1.0]):
        p = np.array(point)
        numeric = approx_fprime(p, lambda q: likelihood.mean_and_gradient(q)[0], 1e-7)
        np.testing.assert_allclose(likelihood.mean_and_gradient(p)[1], numeric, rtol=1e-4,
                                   atol=1e-6)
        assert likelihood.mean_and_gradient(p)[0] == pytest.approx(
            rhythm.log_likelihood(p, *customers).mean())


def test_fit_recovers_the_parameters_it_was_simulated_with(customers):
    fitted = rhythm.fit(*customers)
    assert fitted is not None
    assert fitted.r == pytest.approx(0.25, rel=0.25)
    assert fitted.alpha == pytest.approx(4.0, rel=0.3)
    # a and b trade off; their mean dropout per order is what is identified
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(0.8 / 3.2, rel=0.25)
    assert rhythm.fit(*customers) == fitted  # a fixed start: the same fit every time


def test_closed_forms_at_their_edges():
    p = rhythm.BGNBD(r=0.5, alpha=4.0, a=0.8, b=2.4)
    x, t_x, T = np.array([0.0, 3.0, 3.0]), np.array([0.0, 30.0, 5.0]), np.array([40.0] * 3)
    alive = rhythm.p_alive(p, x, t_x, T)
    assert alive[0] == 1.0  # no repeat order: never seen dropping out
    assert alive[1] > alive[2]  # the same orders, the last one recent: more likely alive
    none = rhythm.p_none(p, x, t_x, T, 13.0)
    assert none[0] == pytest.approx(((4 + 40) / (4 + 40 + 13)) ** 0.5)
    assert np.all(none >= 1 - alive) and np.all(none <= 1)
    # forever: only a dropped-out dealer never orders again
    np.testing.assert_allclose(rhythm.p_none(p, x, t_x, T, 1e12), 1 - alive, atol=1e-4)


def test_nothing_to_learn_from_is_no_fit():
    assert rhythm.fit(np.zeros(5), np.zeros(5), np.full(5, 10.0)) is None


def test_rhythm_features_come_from_a_fit_on_the_whole_cutoff(customers):
    """Population features: a row's values depend on the other dealers of its cutoff,
    and rows of other cutoffs do not enter its fit."""
    x, t_x, T = (a[: rhythm.FIT_ROWS] for a in customers)
    frame = pd.DataFrame({"dealer_id": [f"D{i}" for i in range(len(x))],
                          "cutoff": pd.Timestamp("2024-01-01"),
                          "orders_order_days_lifetime": x + 1,
                          "orders_days_since_first": T * 7,
                          "orders_days_since_last": (T - t_x) * 7})
    wanted = [f for f in CATALOG if "rhythm" in f.params]
    one = frame.copy()
    rhythm.add_rhythm(one, wanted)
    other = frame.assign(cutoff=pd.Timestamp("2023-12-01"),
                         orders_order_days_lifetime=1.0)  # nobody repeats: no fit there
    both = pd.concat([frame, other], ignore_index=True)
    rhythm.add_rhythm(both, wanted)
    names = [f.name for f in wanted]
    pd.testing.assert_frame_equal(both[names].iloc[: len(frame)], one[names])
    assert both[names].iloc[len(frame):].isna().all().all()
    fitted = rhythm.fit(x, t_x, T)
    np.testing.assert_allclose(one["orders_rhythm_alive"], rhythm.p_alive(fitted, x, t_x, T),
                               rtol=1e-6)


def test_a_large_cutoff_is_fitted_on_dealers_chosen_by_their_id_alone():
    ids = pd.Series([f"D{i:05d}" for i in range(3 * rhythm.FIT_ROWS)])
    rows = np.arange(len(ids))
    chosen = set(ids[rhythm._fit_rows(ids, rows)])
    assert 0.8 * rhythm.FIT_ROWS < len(chosen) < 1.2 * rhythm.FIT_ROWS
    replaced = ids.copy()
    replaced.iloc[7] = "posted dealer"  # another dealer's row in its place
    again = set(replaced[rhythm._fit_rows(replaced, rows)])
    assert chosen - {ids.iloc[7]} == again - {"posted dealer"}


def test_agrees_with_lifetimes_the_reference_implementation():
    """Values from lifetimes 0.11.3 (BetaGeoFitter with these parameters:
    conditional_probability_alive and conditional_expected_number_of_purchases_up_to_time
    at t = 13), computed once in the CDNOW benchmark's helper virtualenv."""
    p = rhythm.BGNBD(r=0.25, alpha=4.0, a=0.8, b=2.4)
    x, T = np.array([0.0, 1, 3, 10, 50]), np.full(5, 40.0)
    t_x = np.array([0.0, 30, 35, 39, 39.5])
    np.testing.assert_allclose(rhythm.p_alive(p, x, t_x, T),
                               [1.0, 0.68488772, 0.7879658, 0.91842327, 0.97310338], rtol=1e-7)
    np.testing.assert_allclose(rhythm.expected_orders(p, x, t_x, T, 13.0),
                               [0.07074122, 0.23848504, 0.70219065, 2.53759563, 13.03736646],
                               rtol=1e-7)
