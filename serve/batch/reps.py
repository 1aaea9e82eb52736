"""The sales reps' scorecard: how well each rep maintains the dealers they hold.

A manufacturer judges its sales staff on dealer maintenance. At each snapshot, per rep: the
dealers they hold, their revenue over 12 months against the same dealers' year before,
revenue at risk, dealers lost in the last quarter and the last year against how many the
models expected, visit cadence, their dealers' support requests against the deadlines,
complaints; and a maintenance score made of parts whose weights are settings, ranked
within the rep's region.

Losses, quarter by quarter. A dealer active when a quarter (3 calendar months) began, as
the panel defines active, is lost in that quarter when it placed no positive order before
the next quarter began, or its contract closed in it: the churn label's definition, read
from the panel at the next quarter's start, so only facts dated before it. Each dealer
counts once, in the first quarter of the year in which it was lost. The models' expectation
is the sum of the churn probabilities (90 days ahead) that the snapshot scored when the
quarter began gave the same dealers; unknown when that snapshot was not kept.

Who held a dealer when. The dealers table knows only today's rep, so a loss is attributed
to the rep who held the dealer when its quarter began, from the first source that knows:
the snapshot scored that day (it stored the dealers table's rep then); else the rep of the
dealer's last visit before that day (the visits table records who visited); else today's
rep, which the row says (`held_by` = "today") because that is the present read into the
past. Today's book is the dealers table's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract import VISITS
from features.events import EventRows, moment
from serve.settings import MAINTENANCE_PARTS, RepSettings

QUARTER_MONTHS = 3
"""A quarter matches the churn horizon (90 days): the expectation is the churn probability."""
YEAR_QUARTERS = 4
YEAR_MONTHS = QUARTER_MONTHS * YEAR_QUARTERS
UNKNOWN = "unknown"
"""A dealer without a rep."""

ROW_COLUMNS = ("quarter", "start", "dealer_id", "dealer_name", "region", "sales_rep_id",
               "held_by", "lost", "expected", "churn_probability", "revenue_at_risk",
               "revenue_12m", "revenue_last_year", "visits_3m", "days_since_visit",
               "complaints_3m")
SCORE_COLUMNS = ("sales_rep_id", "region", "dealers", "revenue_12m", "revenue_last_year",
                 "revenue_change", "revenue_at_risk", "expected_losses_next_90d", "lost_90d",
                 "expected_lost_90d", "lost_365d", "expected_lost_365d",
                 "visits_per_dealer_month", "not_visited", "complaints_3m", "support_due",
                 "support_on_time", "on_time_share", "support_overdue",
                 *(f"part_{p}" for p in MAINTENANCE_PARTS), "score", "rank_in_region",
                 "reps_in_region", "held_by_today")


def quarter_starts(cutoff: pd.Timestamp) -> list[pd.Timestamp]:
    """The cutoff and the start of each of the year's quarters before it, newest first."""
    return [cutoff - pd.DateOffset(months=QUARTER_MONTHS * k) for k in range(YEAR_QUARTERS + 1)]


def rep_rows(tables: dict[str, pd.DataFrame], snapshot: pd.DataFrame,
             panels: dict[pd.Timestamp, pd.DataFrame], cutoff: pd.Timestamp,
             earlier: dict[pd.Timestamp, pd.DataFrame | None]) -> pd.DataFrame:
    """What the scorecard at this cutoff is made of, stored beside the snapshot: quarter 0,
    the dealers held now (the snapshot's rows) with their figures; quarter k = 1..4, the
    dealers active when the quarter k quarters back began, whether each was lost in it and
    the probability the models gave. `panels`: the panel at each quarter start within the
    data (a start outside it has no rows: its losses are unknown); `earlier`: the snapshot
    scored at each start, if kept. Pure: no I/O."""
    dealers = tables["dealers"].assign(dealer_id=lambda d: d["dealer_id"].astype(str))
    info = dealers.set_index("dealer_id")
    starts = quarter_starts(cutoff)
    year_ago = panels.get(cutoff - pd.DateOffset(months=YEAR_MONTHS))
    parts = [_held_now(snapshot, panels[cutoff], year_ago)]
    lost_before: set[str] = set()
    for k in range(YEAR_QUARTERS, 0, -1):  # oldest first: a dealer counts once, when first lost
        start, end = starts[k], starts[k - 1]
        if start not in panels or end not in panels:
            continue
        then = panels[start]
        active = then.loc[then["active"], "dealer_id"].astype(str)
        active = active[~active.isin(lost_before)].to_numpy()
        lost = _lost(active, panels[end], info, start, end)
        lost_before |= set(active[lost])
        rep, how = _held_by(active, start, earlier.get(start), tables.get("visits"), info)
        expected = np.full(len(active), np.nan)
        if earlier.get(start) is not None:
            p = earlier[start].assign(dealer_id=lambda s: s["dealer_id"].astype(str)
                                      ).set_index("dealer_id")["churn_probability"]
            expected = p.reindex(active).to_numpy(dtype=float)
        parts.append(pd.DataFrame({
            "quarter": k, "start": start.date().isoformat(), "dealer_id": active,
            "dealer_name": info["name"].reindex(active).to_numpy() if "name" in info else "",
            "region": info["region"].reindex(active).to_numpy(), "sales_rep_id": rep,
            "held_by": how, "lost": lost, "expected": expected}))
    out = pd.concat(parts, ignore_index=True)
    for column in ("dealer_name", "region", "sales_rep_id"):
        out[column] = out[column].astype("string").fillna("" if column == "dealer_name"
                                                          else UNKNOWN)
    out["lost"] = out["lost"].fillna(False).astype(bool)
    return out[list(ROW_COLUMNS)]


def _held_now(snapshot: pd.DataFrame, now: pd.DataFrame, year_ago: pd.DataFrame | None
              ) -> pd.DataFrame:
    """Quarter 0: the snapshot's dealers with the figures the scorecard sums."""
    ids = snapshot["dealer_id"].astype(str)
    panel = now.assign(dealer_id=now["dealer_id"].astype(str)).set_index("dealer_id")

    def feature(name: str) -> np.ndarray:
        if name not in panel:
            return np.full(len(ids), np.nan)
        return panel[name].reindex(ids).to_numpy(dtype=float)

    if year_ago is None:
        last_year = np.full(len(ids), np.nan)
    else:  # not in the panel a year ago: not yet open, or silent for a year (no orders)
        then = year_ago.assign(dealer_id=year_ago["dealer_id"].astype(str)).set_index(
            "dealer_id")["orders_amount_12m"]
        last_year = np.where(ids.isin(then.index), then.reindex(ids).to_numpy(dtype=float), 0.0)
    return pd.DataFrame({
        "quarter": 0, "start": None, "dealer_id": ids.to_numpy(),
        "dealer_name": snapshot["dealer_name"].to_numpy(),
        "region": snapshot["region"].to_numpy(),
        "sales_rep_id": snapshot["sales_rep_id"].to_numpy(), "held_by": "dealers",
        "lost": False, "expected": np.nan,
        "churn_probability": snapshot["churn_probability"].to_numpy(dtype=float),
        "revenue_at_risk": snapshot["revenue_at_risk"].to_numpy(dtype=float),
        "revenue_12m": snapshot["orders_amount_12m"].to_numpy(dtype=float),
        "revenue_last_year": last_year,
        "visits_3m": feature("engagement_visits_3m"),
        "days_since_visit": feature("engagement_days_since_visit"),
        "complaints_3m": feature("complaints_count_3m")})


def _lost(active: np.ndarray, after: pd.DataFrame, info: pd.DataFrame, start: pd.Timestamp,
          end: pd.Timestamp) -> np.ndarray:
    """Which of the dealers active at `start` placed no positive order before `end`, or
    closed in between (the panel at `end` uses only what is dated before it). A dealer
    gone from that panel is closed or silent for longer than the quarter: lost."""
    panel = after.assign(dealer_id=after["dealer_id"].astype(str)).set_index("dealer_id")
    since = panel["orders_days_since_last"].reindex(active).to_numpy(dtype=float)
    silent = ~(since <= (end - start).days)  # NaN (not in the panel) is silent
    closed_on = pd.to_datetime(info["closed_on"].reindex(active))
    closed = ((closed_on >= start) & (closed_on < end)).to_numpy(dtype=bool)
    return silent | closed


def _held_by(ids: np.ndarray, start: pd.Timestamp, snapshot: pd.DataFrame | None,
             visits: pd.DataFrame | EventRows | None, info: pd.DataFrame
             ) -> tuple[np.ndarray, np.ndarray]:
    """(rep, source) of each dealer when `start` began: the snapshot of that day, else the
    last visit before it, else today's dealers table."""
    rep = pd.Series(pd.NA, index=ids, dtype="string")
    how = pd.Series("today", index=ids, dtype="string")
    if snapshot is not None:
        then = snapshot.assign(dealer_id=snapshot["dealer_id"].astype(str)).set_index(
            "dealer_id")["sales_rep_id"].astype("string")
        known = then.reindex(ids)
        rep, how = rep.fillna(known), how.mask(known.notna(), "snapshot")
    if visits is not None:
        by_visit = _last_visit_rep(EventRows.of(VISITS, visits), start).reindex(ids)
        fill = rep.isna() & by_visit.notna()
        rep, how = rep.fillna(by_visit), how.mask(fill, "visit")
    today = info["sales_rep_id"].astype("string").reindex(ids) if "sales_rep_id" in info \
        else pd.Series(pd.NA, index=ids, dtype="string")
    rep = rep.fillna(today).fillna(UNKNOWN)
    return rep.to_numpy(dtype=object), how.to_numpy(dtype=object)


def _last_visit_rep(visits: EventRows, start: pd.Timestamp) -> pd.Series:
    """Per dealer, the rep of its last visit before `start` naming one (the later in the
    file of two on the same day), in SQL: the visits may be a file scanned by Spark."""
    with visits.query() as q:
        got = q.frame(f"""
            SELECT dealer_id, sales_rep_id FROM (
                SELECT dealer_id, sales_rep_id, row_number() OVER (
                    PARTITION BY dealer_id ORDER BY visited_on DESC, row__ DESC) AS n
                FROM events WHERE visited_on < {moment(start)} AND dealer_id IS NOT NULL
                  AND sales_rep_id IS NOT NULL) AS ranked
            WHERE n = 1""")
    return pd.Series(got["sales_rep_id"].to_numpy(dtype=object),
                     index=got["dealer_id"].astype(str).to_numpy(), dtype="string")


def scorecard(rows: pd.DataFrame, support: pd.DataFrame | None, settings: RepSettings
              ) -> pd.DataFrame:
    """One line per rep who holds a dealer now or lost one this year: the figures, the
    maintenance score's parts and score, and the rank within the rep's region (1 = best).
    A rep who holds no dealer now (moved on, or their book was handed over) keeps their
    year's losses on the list but gets no score."""
    now = rows[rows["quarter"] == 0]
    past = rows[rows["quarter"] > 0]
    known = sorted(set(past["quarter"]))
    lost_year = past[past["lost"]]
    reps = pd.Index(sorted(set(now["sales_rep_id"].astype(str))
                           | set(lost_year["sales_rep_id"].astype(str))), name="sales_rep_id")
    g = now.groupby("sales_rep_id", observed=True)
    out = pd.DataFrame(index=reps)
    out["region"] = _main_region(now).reindex(reps).fillna(_main_region(past))
    out["dealers"] = g.size().reindex(reps, fill_value=0)
    for column, source in (("revenue_12m", "revenue_12m"),
                           ("revenue_last_year", "revenue_last_year"),
                           ("revenue_at_risk", "revenue_at_risk"),
                           ("expected_losses_next_90d", "churn_probability"),
                           ("complaints_3m", "complaints_3m")):
        out[column] = g[source].sum(min_count=1).reindex(reps)
    out["revenue_change"] = _ratio(out["revenue_12m"] - out["revenue_last_year"],
                                   out["revenue_last_year"])
    _losses(out, past, known)
    has_visits = now["days_since_visit"].notna().any() or now["visits_3m"].notna().any()
    if has_visits:
        out["visits_per_dealer_month"] = _ratio(
            g["visits_3m"].sum().reindex(reps), out["dealers"] * QUARTER_MONTHS)
        unvisited = ~(now["days_since_visit"] <= settings.not_visited_days)
        out["not_visited"] = unvisited.groupby(now["sales_rep_id"]).sum().reindex(
            reps, fill_value=0)
    else:
        out["visits_per_dealer_month"] = np.nan
        out["not_visited"] = np.nan
    _support(out, support)
    out["held_by_today"] = (lost_year["held_by"] == "today").groupby(
        lost_year["sales_rep_id"]).sum().reindex(reps, fill_value=0).astype(int)
    _parts(out, now, lost_year, settings)
    _rank(out)
    return out.reset_index()[list(SCORE_COLUMNS)]


def _main_region(rows: pd.DataFrame) -> pd.Series:
    """Each rep's region: where most of their dealers are (ties: the first by name)."""
    counts = rows.groupby(["sales_rep_id", "region"], observed=True).size().reset_index(
        name="n").sort_values(["sales_rep_id", "n", "region"], ascending=[True, False, True])
    return counts.drop_duplicates("sales_rep_id").set_index("sales_rep_id")["region"]


def _losses(out: pd.DataFrame, past: pd.DataFrame, known: list[int]) -> None:
    """Dealers lost in the last quarter and the last year, and the models' expectation
    (unknown when a quarter's panel or snapshot is missing)."""
    for name, quarters in (("90d", [1]), ("365d", list(range(1, YEAR_QUARTERS + 1)))):
        span = past[past["quarter"].isin(quarters)]
        complete = all(q in known for q in quarters)
        lost = span.groupby("sales_rep_id", observed=True)["lost"].sum()
        out[f"lost_{name}"] = lost.reindex(out.index, fill_value=0).astype(float) \
            if complete else np.nan
        scored = complete and bool(len(span)) and all(
            span.loc[span["quarter"] == q, "expected"].notna().any() for q in quarters)
        expected = span.groupby("sales_rep_id", observed=True)["expected"].sum()
        out[f"expected_lost_{name}"] = expected.reindex(out.index, fill_value=0.0) \
            if scored else np.nan


def _support(out: pd.DataFrame, support: pd.DataFrame | None) -> None:
    """Their dealers' requests (the support board's rows, by the dealer's rep today)."""
    if support is None or not len(support):
        for column in ("support_due", "support_on_time", "support_overdue"):
            out[column] = np.nan if support is None else 0
        out["on_time_share"] = np.nan
        return
    g = support.groupby("sales_rep_id", observed=True)
    out["support_due"] = g["due_in_window"].sum().reindex(out.index, fill_value=0)
    out["support_on_time"] = g["on_time"].sum().reindex(out.index, fill_value=0)
    out["support_overdue"] = g["overdue"].sum().reindex(out.index, fill_value=0)
    out["on_time_share"] = _ratio(out["support_on_time"], out["support_due"])


def _parts(out: pd.DataFrame, now: pd.DataFrame, lost: pd.DataFrame,
           settings: RepSettings) -> None:
    """The maintenance score's parts (0..1, higher is better) and the score (0..100):
    the weighted mean of the parts a rep has data for."""
    # the year's dealers: held now, or lost during it
    year = pd.concat([now[["sales_rep_id", "dealer_id"]], lost[["sales_rep_id", "dealer_id"]]]
                     ).drop_duplicates().groupby("sales_rep_id").size().reindex(out.index)
    span = settings.growth_span
    out["part_visited"] = 1 - _ratio(out["not_visited"], out["dealers"])
    out["part_on_time"] = out["on_time_share"]
    out["part_kept"] = 1 - _ratio(out["lost_365d"], year)
    out["part_growth"] = ((out["revenue_change"] + span) / (2 * span)).clip(0, 1)
    out["part_safe"] = (1 - _ratio(out["revenue_at_risk"], out["revenue_12m"])).clip(0, 1)
    weights = pd.Series({p: settings.weights.get(p, 0.0) for p in MAINTENANCE_PARTS})
    parts = out[[f"part_{p}" for p in MAINTENANCE_PARTS]].to_numpy(dtype=float)
    w = np.where(np.isnan(parts), 0.0, weights.to_numpy()[None, :])
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = 100 * (np.nan_to_num(parts) * w).sum(axis=1) / total
    out["score"] = np.where((total > 0) & (out["dealers"] > 0), weighted, np.nan)


def _rank(out: pd.DataFrame) -> None:
    """Rank within the region by score, best first (ties by rep id); no score, no rank."""
    ranked = out[out["score"].notna()].reset_index().sort_values(
        ["region", "score", "sales_rep_id"], ascending=[True, False, True])
    ranked["rank"] = ranked.groupby("region").cumcount() + 1
    out["rank_in_region"] = ranked.set_index("sales_rep_id")["rank"].reindex(
        out.index).astype("Int64")
    out["reps_in_region"] = pd.array(ranked.groupby("region").size().reindex(
        out["region"]).to_numpy(), dtype="Int64")


def _ratio(a: pd.Series, b: pd.Series) -> pd.Series:
    a, b = a.astype(float), b.astype(float)
    return (a / b.where(b > 0)).astype(float)


def lost_dealers(rows: pd.DataFrame, rep: str) -> pd.DataFrame:
    """The dealers a rep lost this year, the most recent quarter first."""
    lost = rows[(rows["quarter"] > 0) & rows["lost"] & (rows["sales_rep_id"] == rep)]
    return lost.sort_values(["quarter", "dealer_id"])[
        ["dealer_id", "dealer_name", "region", "start", "held_by", "expected"]]
