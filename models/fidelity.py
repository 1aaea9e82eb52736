"""Do the explanations name the real reason? Checked on the simulator, whose causes are known.

For each churner with a cause other than `sudden`, take its row at the last cutoff before
it churned (the first day of its first month without orders) and the churn model that a
monthly retrain would have used then (the backtest's newest origin on or before that
cutoff, so the row is out of sample). A hit is the cause's business group among the top
risk-raising reasons, ranked as the served explanations rank them: against the dealer's
peers at that cutoff (models.explain), fixed attributes never counted.
"""

from __future__ import annotations

import pandas as pd

from models.explain import reason_groups


def cause_hits(bundle, rows: pd.DataFrame, causes: pd.Series,
               cause_groups: dict[str, frozenset[str]], top: int, *,
               population: pd.DataFrame, peer_keys: list[str],
               min_peer_group: int) -> pd.DataFrame:
    """Per row: the cause, the groups of its top risk-raising reasons, and whether they hit.
    `population`: every dealer scored at the rows' cutoffs (their peers)."""
    tops = reason_groups(bundle, rows, population, peer_keys=peer_keys,
                         min_peer_group=min_peer_group, top=top)
    return pd.DataFrame({
        "dealer_id": rows["dealer_id"].to_numpy(), "cutoff": rows["cutoff"].to_numpy(),
        "cause": causes.to_numpy(), "top_groups": [", ".join(t) for t in tops],
        "hit": [bool(cause_groups[c] & set(t)) for c, t in zip(causes, tops, strict=True)]})


def rows_for_churners(panel: pd.DataFrame, churners: pd.DataFrame, start: pd.Timestamp,
                      end: pd.Timestamp, cause_groups: dict) -> pd.DataFrame:
    """Panel rows at each churner's last cutoff, for churn months in [start, end)."""
    chosen = churners[churners["cause"].isin(list(cause_groups))
                      & (churners["churn_month"] >= start) & (churners["churn_month"] < end)]
    keys = chosen.rename(columns={"churn_month": "cutoff"})
    return panel.merge(keys, on=["dealer_id", "cutoff"], how="inner")


def fidelity_table(hits: pd.DataFrame) -> pd.DataFrame:
    """Hit rate per cause and overall."""
    per = hits.groupby("cause")["hit"].agg(churners="size", hit_rate="mean").reset_index()
    total = pd.DataFrame({"cause": ["all (not sudden)"], "churners": [len(hits)],
                          "hit_rate": [hits["hit"].mean() if len(hits) else float("nan")]})
    return pd.concat([per, total], ignore_index=True)
