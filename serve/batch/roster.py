"""Where every dealer stands at a cutoff: scored (active), closed, or inactive.

A snapshot holds the active dealers only, so a dealer missing from it could have closed
its contract, gone quiet, or be unknown to the data. The roster, stored beside the
snapshot, keeps that difference, so the API can tell a CRM why a dealer it holds left
(GET /v1/risk?changed_since=..., serve.service.risk.removed_dealers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ROSTER_STATUSES = ("active", "closed", "inactive")


def roster(dealers: pd.DataFrame, snapshot: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """One row per dealer opened before the cutoff: `active` when the snapshot scores it,
    `closed` when its contract ended before the cutoff (closed_on), else `inactive` (no
    positive order within labels.churn.active_days, or silent so long it left the panel)."""
    ids = dealers["dealer_id"].astype(str)
    opened = pd.to_datetime(dealers["opened_on"]).to_numpy()
    before = opened < np.datetime64(cutoff)
    closed_on = (pd.to_datetime(dealers["closed_on"]) if "closed_on" in dealers.columns
                 else pd.Series(pd.NaT, index=dealers.index))
    closed = (closed_on < cutoff).to_numpy()
    scored = ids.isin(set(snapshot["dealer_id"].astype(str))).to_numpy()
    status = np.where(scored, "active", np.where(closed, "closed", "inactive"))
    out = pd.DataFrame({"dealer_id": ids.to_numpy(), "status": status,
                        "closed_on": closed_on.to_numpy()})
    return out[before | scored].sort_values("dealer_id", kind="stable").reset_index(drop=True)
