"""Levers against the simulator's truth: does a dealer's top lever name the true cause of
its trouble, and how does the drop in churn risk it promises compare with what happens
to the dealer's true churn chance when its problem ends?

    ./run demo --no-serve                          # once: sample data and champions
    python benchmarks/bench_levers.py              # cutoffs 2025-01, 2025-04, 2025-07
    python benchmarks/bench_levers.py --cutoff 2025-04-01 --cutoff 2025-07-01

At each cutoff, `score_batch` computes every at-risk dealer's levers with the served
champions (what `dealer-risk score` stores). The truth (`_truth/`): the cause whose
footprint is strongest in the month before the cutoff (`ramp_<cause>` >= 0.5), and the
episodes of that cause that end within 6 months with the dealer recovered: the true
churn chance (`oracle_churn`) at the cutoff against 3 months after the episode ended. A lever names
a cause through the catalog group of the features it moves (service -> service,
complaints -> quality, logistics -> logistics, price -> price, mix -> competitor,
engagement -> neglect). The champions were trained on the same network, so these
cutoffs lie inside their training window: the hit rate says whether the levers point at
the right cause, not how a new network would fare.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

GROUP_CAUSE = {"service": "service", "complaints": "quality", "logistics": "logistics",
               "price": "price", "mix": "competitor", "engagement": "neglect"}
"""The simulator's cause each feature group is the footprint of (docs/simulator.md)."""
CAUSES = ("service", "quality", "logistics", "price", "competitor", "neglect")
ACTIVE = 0.5
"""A cause is the dealer's trouble when its footprint is at least half-way ramped up."""
RECOVERY_MONTHS = 6
SETTLE_MONTHS = 3
"""The true churn chance after a problem is read this many months after it ended: health
comes back over months, not on the day the problem stops."""


def lever_cause(lever: dict) -> str | None:
    """The cause a lever acts on: the one of most of the features it moves."""
    from features.catalog import BY_NAME
    causes = [GROUP_CAUSE.get(BY_NAME[f].group) for f in lever["changes"]]
    causes = [c for c in causes if c]
    return max(set(causes), key=causes.count) if causes else None


def true_causes(months: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Series:
    """Dealer -> the cause whose footprint is strongest in the month before the cutoff, if
    it is at least ACTIVE; None otherwise. `months`: the truth's dealer_months."""
    before = months[pd.to_datetime(months["month"]) == cutoff - pd.DateOffset(months=1)]
    ramps = before[[f"ramp_{c}" for c in CAUSES]].to_numpy()
    return pd.Series(np.where(ramps.max(axis=1) >= ACTIVE,
                              np.array(CAUSES, dtype=object)[ramps.argmax(axis=1)], None),
                     index=before["dealer_id"].to_numpy())


def hit_rates(records: pd.DataFrame) -> dict:
    """Over the dealers with levers and a true active cause: how often the top lever names
    it, one of the levers does (up to 3), and the constant answers would (always the
    commonest cause; always the three commonest); how often the top lever is "visit more"
    against the share of those dealers whose cause is neglect."""
    caused = records[records["true_cause"].notna()]
    if caused.empty:
        return {"dealers": 0, "hit": np.nan, "any": np.nan, "naive": np.nan,
                "naive3": np.nan, "visit_top": np.nan, "neglect": np.nan}
    shares = caused["true_cause"].value_counts(normalize=True)
    return {"dealers": len(caused),
            "hit": float((caused["top_cause"] == caused["true_cause"]).mean()),
            "any": float(caused["any_cause"].mean()),
            "naive": float(shares.iloc[0]),
            "naive3": float(shares.iloc[:3].sum()),
            "visit_top": float((caused["top_cause"] == "neglect").mean()),
            "neglect": float(shares.get("neglect", 0.0))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(".dealer-risk"))
    parser.add_argument("--cutoff", action="append", default=None)
    args = parser.parse_args()
    cutoffs = [pd.Timestamp(c) for c in (args.cutoff or ["2025-01-01", "2025-04-01",
                                                         "2025-07-01"])]
    from features.settings import ContractSettings
    from features.validation import load_data
    from serve.batch.champions import load_champions
    from serve.batch.scoring import score_batch
    from serve.settings import Settings

    work = args.work.resolve()
    data = work / "sample-data"
    truth = data / "_truth"
    as_of = json.loads((truth / "manifest.json").read_text())["as_of"]
    settings = Settings(work_dir=work)
    loaded = load_data(data, ContractSettings(as_of=pd.Timestamp(as_of).date()))
    champions = load_champions(settings)
    months = pd.read_parquet(truth / "dealer_months.parquet")
    months["month"] = pd.to_datetime(months["month"])
    episodes = pd.read_parquet(truth / "episodes.parquet")
    for column in ("onset", "end"):
        episodes[column] = pd.to_datetime(episodes[column])
    print(f"# {' '.join(['python', *sys.argv])}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}; {data}; champions {champions.versions}")
    rows = []
    for cutoff in cutoffs:
        snapshot = score_batch(loaded.tables, champions, cutoff, settings).snapshot
        strongest = true_causes(months, cutoff)
        oracle = months.set_index(["dealer_id", "month"])["oracle_churn"]
        for row in snapshot.itertuples():
            levers = json.loads(row.levers)
            if not levers:
                continue
            cause = strongest.get(row.dealer_id)
            top = lever_cause(levers[0])
            record = {"cutoff": cutoff.date().isoformat(), "dealer_id": row.dealer_id,
                      "true_cause": cause, "top_cause": top,
                      "any_cause": cause in {lever_cause(x) for x in levers},
                      "predicted_points": levers[0]["points"], "truth_points": np.nan}
            if cause is not None and top == cause:
                ends = episodes[(episodes["dealer_id"] == row.dealer_id)
                                & (episodes["cause"] == cause)
                                & (episodes["onset"] < cutoff) & (episodes["end"] > cutoff)
                                & (episodes["end"] <= cutoff + pd.DateOffset(
                                    months=RECOVERY_MONTHS))
                                & (episodes["outcome"] == "recovered")]
                if len(ends):
                    end = ends["end"].min()
                    now = oracle.get((row.dealer_id, cutoff))
                    after = oracle.get((row.dealer_id,
                                        end + pd.DateOffset(months=SETTLE_MONTHS)))
                    if now is not None and after is not None:
                        record["truth_points"] = (now - after) * 100
            rows.append(record)
    frame = pd.DataFrame(rows)
    caused = frame[frame["true_cause"].notna()]
    print(f"dealers at risk with levers: {len(frame)}; with a true active cause: "
          f"{len(caused)}")
    print("| cutoff | dealers with a cause | top lever names it | always the commonest "
          "cause | one of the levers names it | always the 3 commonest | top lever is "
          "\"visit more\" | cause is neglect |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for cutoff, group in [*caused.groupby("cutoff"), ("all", caused)]:
        r = hit_rates(group)
        print(f"| {cutoff} | {r['dealers']} | {r['hit']:.2f} | {r['naive']:.2f} | "
              f"{r['any']:.2f} | {r['naive3']:.2f} | {r['visit_top']:.2f} | "
              f"{r['neglect']:.2f} |")
    print("\ntop lever's cause against the true cause (rows: truth):")
    print(pd.crosstab(caused["true_cause"], caused["top_cause"].fillna("none")).to_string())
    known = frame[frame["truth_points"].notna()]
    if len(known):
        ratio = known["predicted_points"] / known["truth_points"].where(
            known["truth_points"] > 0)
        print(f"\nright cause, problem ended and the dealer recovered within "
              f"{RECOVERY_MONTHS} months: {len(known)} dealers; predicted drop median "
              f"{known['predicted_points'].median():.1f} points, true drop of the oracle "
              f"churn chance ({SETTLE_MONTHS} months after the end) median "
              f"{known['truth_points'].median():.1f} points; predicted "
              f"/ true median {ratio.median():.2f}; Spearman "
              f"{known['predicted_points'].corr(known['truth_points'], method='spearman'):.2f}")


if __name__ == "__main__":
    main()
