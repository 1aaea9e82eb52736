"""BG/NBD, Pareto/NBD and Gamma-Gamma on CDNOW, run in the helper virtualenv that holds
`lifetimes` 0.11.3 (bench_cdnow.py creates it). Not imported by the package.

    python peers.py OUT.csv 1997-10-01 1998-01-01 1998-04-01

For each cutoff: fitted on the purchases before it (one purchase occasion per
customer-day, the lifetimes convention, days as the time unit); per customer the
probability of no purchase in the 90 days from the cutoff (BG/NBD closed form; Pareto/NBD
by Monte Carlo over the posterior of its rates), and the expected spend over the next
3 calendar months (BG/NBD expected purchases x Gamma-Gamma expected value).
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")

import lifetimes  # noqa: E402
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter  # noqa: E402
from lifetimes.utils import summary_data_from_transaction_data  # noqa: E402

CHURN_DAYS = 90
DRAWS = 4000


def cdnow() -> pd.DataFrame:
    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_master.txt")
    df = pd.read_csv(path, sep=r"\s+", header=0, names=["customer_id", "date", "qty", "amount"],
                     dtype={"date": str, "customer_id": str})
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


def pareto_p0(pn: ParetoNBDFitter, s: pd.DataFrame, t: float, rng) -> np.ndarray:
    r, alpha, s_, beta = (pn.params_[k] for k in ("r", "alpha", "s", "beta"))
    alive = pn.conditional_probability_alive(s["frequency"], s["recency"], s["T"]).to_numpy()
    x, age = s["frequency"].to_numpy()[:, None], s["T"].to_numpy()[:, None]
    lam = rng.gamma(r + x, 1 / (alpha + age), size=(len(s), DRAWS))
    mu = rng.gamma(s_, 1 / (beta + age), size=(len(s), DRAWS))
    # alive at T: no purchase in (T, T+t] if it drops out before its first purchase there
    rate = lam + mu
    none = mu / rate * (1 - np.exp(-rate * t)) + np.exp(-rate * t)
    return (1 - alive) + alive * none.mean(axis=1)


def main(out: str, cutoffs: list[str]) -> None:
    df = cdnow()
    rng = np.random.default_rng(7)
    parts = []
    for text in cutoffs:
        cut = pd.Timestamp(text)
        hist = df[df["date"] < cut]
        s = summary_data_from_transaction_data(hist, "customer_id", "date",
                                               monetary_value_col="amount",
                                               observation_period_end=cut - pd.Timedelta(days=1),
                                               freq="D")
        bg = BetaGeoFitter(penalizer_coef=0.0).fit(s["frequency"], s["recency"], s["T"])
        pn = ParetoNBDFitter(penalizer_coef=0.0).fit(s["frequency"], s["recency"], s["T"])
        r, alpha = bg.params_["r"], bg.params_["alpha"]
        alive = bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
        p0_bg = (1 - alive) + alive * ((alpha + s["T"]) / (alpha + s["T"] + CHURN_DAYS)) ** (
            r + s["frequency"])
        horizon = ((cut + pd.DateOffset(months=3)) - cut).days
        purchases = bg.conditional_expected_number_of_purchases_up_to_time(
            horizon, s["frequency"], s["recency"], s["T"])
        repeat = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
        gg = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"],
                                                      repeat["monetary_value"])
        value = gg.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
        parts.append(pd.DataFrame({
            "customer_id": s.index.to_numpy(), "cutoff": text,
            "p0_bgnbd": p0_bg.to_numpy(), "p0_pareto": pareto_p0(pn, s, CHURN_DAYS, rng),
            "spend_bgnbd_gg": (purchases * value).to_numpy()}))
        print(text, "BG/NBD", dict(bg.params_.round(4)), "Pareto/NBD", dict(pn.params_.round(4)),
              file=sys.stderr)
    pd.concat(parts, ignore_index=True).to_csv(out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
