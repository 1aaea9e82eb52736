"""Reading the simulator's ground truth, for evaluation only (never for features or labels).

CAUSE_GROUPS says in which of the catalog's business groups each churn cause leaves its
footprint (docs/simulator.md, "Health, problems and churn"); the explanations' fidelity
check asks whether the model names that group among a churner's top factors.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.storage import as_location, parquet_file

TRUTH_DIR = "_truth"
CAUSE_GROUPS: dict[str, frozenset[str]] = {
    "service": frozenset({"service"}),
    "quality": frozenset({"complaints"}),
    "logistics": frozenset({"logistics"}),
    "price": frozenset({"price"}),
    "competitor": frozenset({"orders", "mix"}),
    "neglect": frozenset({"engagement"}),
}
"""`sudden` churn leaves no footprint, so it has no group and is not scored."""


def read_churners(data_dir: Path) -> pd.DataFrame | None:
    """Churners with their primary cause and first month without orders; None when the
    folder holds no simulator truth (real data)."""
    path = as_location(data_dir) / TRUTH_DIR / "dealers.parquet"
    if not path.is_file():
        return None
    truth = parquet_file(path).read().to_pandas()
    churned = truth[truth["churned"] & truth["primary_cause"].notna()]
    return pd.DataFrame({"dealer_id": churned["dealer_id"].astype(str).to_numpy(),
                         "cause": churned["primary_cause"].astype(str).to_numpy(),
                         "churn_month": pd.to_datetime(churned["churn_month"]).to_numpy()})


def left_within(data_dir: Path, rows: pd.DataFrame, horizon_days: int) -> pd.Series:
    """For each row (dealer_id, cutoff), whether the dealer truly left (churned, never to
    order again) in one of the months the churn horizon after the cutoff touches: the event
    the truth's `oracle_leave` gives the probability of. A quiet spell (a pause, a gap
    between project orders) fires the churn label but not this."""
    truth = parquet_file(as_location(data_dir) / TRUTH_DIR / "dealers.parquet").read(
        columns=["dealer_id", "churned", "churn_month"]).to_pandas()
    churned = truth[truth["churned"]]
    month = dict(zip(churned["dealer_id"].astype(str), pd.to_datetime(churned["churn_month"]),
                     strict=True))
    churn_month = pd.to_datetime(rows["dealer_id"].astype(str).map(month))
    end = pd.to_datetime(rows["cutoff"]) + pd.Timedelta(days=horizon_days)
    return (churn_month < end + pd.offsets.MonthBegin(0)).rename("left")
