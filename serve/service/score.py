"""Score one dealer from a posted recent history, through the batch scorer's code path.

The posted tables are checked by the same contract code as files (features.validation),
the features come from the same panel builder, and the peers are the population of the
snapshot for that date with the dealer's own row replaced: an existing dealer posting its
history gets exactly its snapshot row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from features.catalog import ACROSS_DEALERS, BY_NAME
from features.contract import TABLES
from features.panel import CutoffError, same_regions, with_peers_from
from features.reading import ContractError
from features.settings import ContractSettings
from features.validation import load_frames
from serve.batch.champions import model_outputs
from serve.batch.scoring import panel_for_scoring, score_rows
from serve.service.errors import Invalid
from serve.service.state import ServingState, population_contributions
from serve.settings import Settings

Row = dict[str, Any]
EXAMPLE = {
    "as_of": "2026-01-01",
    "dealer": {"dealer_id": "D09001", "name": "杭州新居橱柜", "region": "华东", "tier": "B",
               "opened_on": "2021-03-01", "city": "杭州", "channel": "showroom",
               "sales_rep_id": "R017"},
    "orders": [{"order_id": "SO-1", "dealer_id": "D09001", "order_date": "2025-11-12",
                "product_category": "cabinets", "quantity": 4, "net_amount": 26000,
                "list_amount": 30000}],
    "visits": [{"visit_id": "V-1", "dealer_id": "D09001", "visited_on": "2025-10-20",
                "kind": "visit"}],
}


class ScoreRequest(BaseModel):
    """A dealer and its recent history, table by table, in the data contract's columns
    (docs/data-contract.md). Post at least the 24 months before as_of so that year-on-year
    features exist; optional tables left out contribute no features."""

    model_config = {"json_schema_extra": {"examples": [EXAMPLE]}}

    as_of: date | None = Field(default=None, description="Score as of this date (the first "
                               "day of its month). Default: the served snapshot's date.")
    dealer: Row
    orders: list[Row] = Field(min_length=1)
    tickets: list[Row] | None = None
    complaints: list[Row] | None = None
    deliveries: list[Row] | None = None
    visits: list[Row] | None = None


def _frames(body: ScoreRequest, known: set[str]) -> dict[str, pd.DataFrame]:
    """The posted tables as frames, for the contract's own checks. A table the served
    models know (the batch data had it) but the body leaves out means "none for this
    dealer": it is given empty, so its features read zero, as in the batch."""
    tables = {"dealers": [body.dealer], "orders": body.orders, "tickets": body.tickets,
              "complaints": body.complaints, "deliveries": body.deliveries,
              "visits": body.visits}
    frames = {}
    for name, rows in tables.items():
        if not rows and name in known:
            frames[name] = pd.DataFrame(columns=list(TABLES[name].required_columns))
            continue
        if rows is None:
            continue
        if not rows:
            raise Invalid(f"{name}: an empty list, and the served models do not "
                                     "use this table; leave it out")
        columns = list(dict.fromkeys(k for r in rows for k in r))
        frames[name] = pd.DataFrame.from_records(rows, columns=columns)
    return frames


POSTED_NAMES = {"dealers": "dealer", "orders": "orders", "tickets": "tickets",
                "complaints": "complaints", "deliveries": "deliveries", "visits": "visits"}
"""Each contract table's field in the posted body."""


def posted_words(message: str) -> str:
    """A contract message in the words of the posted body: its field, never the table's
    file name ("dealer: required field 'region' is missing")."""
    for table, field in POSTED_NAMES.items():
        message = message.replace(f"{table}: ", f"{field}: ")
    return (message.replace("required column", "required field")
            .replace("the closest column in the file", "the closest field posted")
            .replace("columns found", "fields posted"))


def _load(body: ScoreRequest, contract: ContractSettings, known: set[str], as_of: date):
    try:
        loaded = load_frames(_frames(body, known), contract, as_of=as_of)
    except ContractError as exc:
        raise Invalid(posted_words(str(exc))) from None
    problems = []
    for table, rejected in loaded.rejects.items():
        for r in rejected.head(5).to_dict("records"):
            problems.append(f"{POSTED_NAMES.get(table, table)} row {r.get('row')}: "
                            f"{r.get('reason')} "
                            f"({r.get('column')}={r.get('value')!r})")
    if problems:
        raise Invalid("rows break the data contract: " + "; ".join(problems))
    return loaded


def score_posted(body: ScoreRequest, state: ServingState, settings: Settings) -> pd.Series:
    dealer_id = str(body.dealer.get("dealer_id", ""))
    as_of = (pd.Timestamp(body.as_of).to_period("M").to_timestamp() if body.as_of
             else pd.Timestamp(state.current.as_of))
    day = f"{as_of:%Y-%m-%d}"
    snap = state.snapshots.get(day)
    if snap is None or snap.population is None or snap.history_from is None:
        raise Invalid(f"as_of {day}: no snapshot with its peer population; "
                                 f"available: {', '.join(sorted(state.snapshots))}")
    known = {BY_NAME[c].requires for c in snap.population.columns if c in BY_NAME}
    loaded = _load(body, settings.contract, known, settings.contract.as_of or date.today())
    try:
        population, past = panel_for_scoring(loaded.tables, as_of, settings,
                                             covered_until=as_of,
                                             history_from=pd.Period(snap.history_from, "M"),
                                             posted=True)
    except CutoffError as exc:
        raise Invalid(f"the posted orders cannot be scored as of {day}: {exc}"
                            ) from None
    mine = population[population["dealer_id"].astype(str) == dealer_id]
    if mine.empty or not bool(mine["active"].iloc[0]):
        raise Invalid(f"dealer {dealer_id} is not active at {day} (no positive "
                                 f"order in the {settings.labels.churn.active_days} days "
                                 "before, or its contract closed): nothing to score")
    mine = with_peers_from(snap.population, mine, settings.panel.min_peer_group)
    past = _past_among_peers(past, snap.past_population, settings.panel.min_peer_group)
    population = same_regions(snap.population, mine)  # all its peer groups can hold
    peers = population[population["active"]
                       & (population["dealer_id"].astype(str) != dealer_id)]
    outputs = model_outputs(mine, state.champions)
    known_peers = population_contributions(state, snap)
    peer_contributions = {m: np.vstack([c[peers.index.to_numpy()], outputs.contributions[m]])
                          for m, c in known_peers.items() if m in outputs.contributions}
    peers = pd.concat([peers, mine[snap.population.columns]], ignore_index=True)
    earlier = [d for d in state.snapshots if d < day]
    previous = state.snapshots[max(earlier)].frame if earlier else None
    then = state.snapshots.get(
        f"{as_of - pd.DateOffset(months=settings.labels.forecast.horizon_months):%Y-%m-%d}")
    scored = score_rows(mine, peers=peers, past=past, tables=loaded.tables, cutoff=as_of,
                        champions=state.champions, settings=settings, previous=previous,
                        earlier=then.frame if then is not None else None, outputs=outputs,
                        peer_contributions=peer_contributions, levers=False)
    return scored.iloc[0]


def _past_among_peers(past: pd.DataFrame, population: pd.DataFrame | None,
                      min_group: int) -> pd.DataFrame:
    """The posted dealer's own row `past_months` earlier, its features across dealers
    (peers, order rhythm) recomputed among the snapshot's population of that month, as the
    batch computed them; without that population (an older snapshot) they are unknown,
    not a comparison with itself."""
    if past.empty:
        return past
    if population is not None:
        return with_peers_from(population, past, min_group)
    return past.assign(**{name: np.nan for name in ACROSS_DEALERS if name in past.columns})
