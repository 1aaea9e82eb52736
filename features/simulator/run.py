"""Write a simulated network to a data folder, with its ground truth in ``_truth/``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.simulator.events import SCHEMAS, chunk_events
from features.simulator.mess import add_mess, messy_dealer_row, to_text
from features.simulator.network import NO_CAUSE, NO_MONTH, Network, simulate_network
from features.simulator.oracle import churn_oracle, program_oracle
from features.simulator.settings import SimulatorSettings
from features.simulator.world import ALL_CAUSES, World

CHUNK_DEALERS = 500  # fixed: the output depends on it, so it is not a setting
DEALER_SCHEMA = pa.schema([
    ("dealer_id", pa.string()), ("name", pa.string()), ("region", pa.string()),
    ("city", pa.string()), ("tier", pa.string()), ("channel", pa.string()),
    ("sales_rep_id", pa.string()), ("opened_on", pa.date32()), ("closed_on", pa.date32()),
])
PROGRAM_SCHEMA = pa.schema([
    ("program_id", pa.string()), ("dealer_id", pa.string()), ("program", pa.string()),
    ("started_on", pa.date32()), ("ended_on", pa.date32()), ("cost", pa.float64()),
    ("assigned_by", pa.string()),
])
EVENT_TABLES = ("orders", "tickets", "complaints", "deliveries", "visits")


@dataclass(frozen=True)
class SimulationSummary:
    out_dir: str
    rows: dict[str, int]
    dealers: int
    churners: int
    months: int
    first_month: str
    as_of: str
    """The day after the last simulated month: the data's as-of date."""


def simulate(
    out_dir: Path,
    settings: SimulatorSettings,
    *,
    world: World | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationSummary:
    """Simulate and write the network; the folder is replaced only once fully written."""
    world = world or settings.world
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / "_truth").is_dir():
        raise FileExistsError(
            f"{out_dir}: folder exists and is not a simulated network; choose another folder")
    net = simulate_network(settings.dealers, settings.months, settings.start, settings.seed, world)
    tmp = out_dir.parent / f".{out_dir.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "_truth").mkdir(parents=True)
    as_text = settings.format == "csv"
    writers = _Writers(tmp, as_text)
    n = settings.dealers
    chunks = range(0, n, CHUNK_DEALERS)
    last_order = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    intended: list[dict] = []
    try:
        for i, lo in enumerate(chunks):
            dealers = np.arange(lo, min(n, lo + CHUNK_DEALERS))
            tables = chunk_events(net, dealers, i, settings.seed, world)
            _track_last_order(tables["orders"], last_order)
            if i == 0:
                tables, intended = add_mess(
                    tables, np.random.default_rng([settings.seed, 2]), as_text=as_text,
                    period_end=net.period_end, duplicate_share=world.duplicate_share)
            for name in EVENT_TABLES:
                writers.write(name, tables[name])
            if progress:
                progress(i + 1, len(chunks))
        dealers_table, closed_on = _dealers_table(net, last_order, settings.seed, world)
        extra = pa.Table.from_pylist([messy_dealer_row(DEALER_SCHEMA.names, as_text)],
                                     schema=_schema(DEALER_SCHEMA, as_text))
        writers.write("dealers", pa.concat_tables([_maybe_text(dealers_table, as_text), extra]))
        intended.append({"table": "dealers", "key": "dealer_id=D99990", "column": "closed_on",
                         "reason": "closed_before_opened"})
        writers.write("programs", _programs_table(net, settings.seed, world))
    finally:
        writers.close()
    rows = writers.rows
    truth = _truth_dealers(net, last_order, closed_on)
    oracle, leave = churn_oracle(net, world, settings.seed)
    _write_truth(tmp / "_truth", net, truth, intended, settings, world, oracle, leave)
    program_oracle(net, world, settings.seed).to_parquet(
        tmp / "_truth" / "program_effects.parquet", index=False)
    _replace(tmp, out_dir)
    return SimulationSummary(
        out_dir=str(out_dir),
        rows=rows,
        dealers=n,
        churners=int(truth["churned"].sum()),
        months=settings.months,
        first_month=settings.start,
        as_of=(net.period_end + pd.Timedelta(days=1)).date().isoformat(),
    )


def _schema(schema: pa.Schema, as_text: bool) -> pa.Schema:
    return pa.schema([(f.name, pa.string()) for f in schema]) if as_text else schema


def _maybe_text(table: pa.Table, as_text: bool) -> pa.Table:
    return to_text(table) if as_text else table


OWN_SCHEMAS = {"dealers": DEALER_SCHEMA, "programs": PROGRAM_SCHEMA}
"""The writer's schemas of the tables events.py does not draw."""


class _Writers:
    """One streaming writer per table, so no table is ever whole in memory."""

    def __init__(self, folder: Path, as_text: bool) -> None:
        self.folder, self.as_text = folder, as_text
        self.open: dict[str, object] = {}
        self.rows: dict[str, int] = {}

    def write(self, name: str, table: pa.Table) -> None:
        schema = _schema(SCHEMAS.get(name) or OWN_SCHEMAS[name], self.as_text)
        table = _maybe_text(table, self.as_text) if table.schema != schema else table
        table = table.select(schema.names).cast(schema)
        if name not in self.open:
            if self.as_text:
                self.open[name] = pacsv.CSVWriter(self.folder / f"{name}.csv", schema)
            else:
                self.open[name] = pq.ParquetWriter(self.folder / f"{name}.parquet", schema,
                                                   compression="zstd")
        self.open[name].write_table(table)
        self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def close(self) -> None:
        for writer in self.open.values():
            writer.close()


def _track_last_order(orders: pa.Table, last: np.ndarray) -> None:
    placed = pc.and_(pc.greater(orders["net_amount"], 0),
                     pc.not_equal(orders["status"], "cancelled"))
    placed = orders.filter(pc.fill_null(placed, True))
    if placed.num_rows == 0:
        return
    grouped = placed.group_by("dealer_id").aggregate([("order_date", "max")]).to_pandas()
    idx = grouped["dealer_id"].str.slice(1).astype(int).to_numpy() - 1
    last[idx] = grouped["order_date_max"].to_numpy().astype("datetime64[D]")


def _dealers_table(net: Network, last_order: np.ndarray, seed: int,
                   world: World) -> tuple[pa.Table, np.ndarray]:
    rng = np.random.default_rng([seed, 3])
    frame = net.dealers
    n = len(frame)
    churn_month = frame["churn_month"].to_numpy()
    churned = churn_month != NO_MONTH
    formal = churned & ((rng.random(n) < world.closed_on_share) | frame["planned_closure"])
    lag = rng.integers(world.closed_on_lag_days[0], world.closed_on_lag_days[1] + 1, n)
    fallback = net.month_starts.values.astype("datetime64[D]")[np.maximum(churn_month, 0)]
    anchor = np.where(np.isnat(last_order), fallback, last_order)
    closed = anchor + lag * np.timedelta64(1, "D")
    closed_mask = ~formal | (closed > np.datetime64(net.period_end.date()))
    last_month = np.where(churned, np.maximum(churn_month - 1, 0), len(net.month_starts) - 1)
    rep = net.rep_of[np.arange(n), last_month]
    table = pa.table({
        "dealer_id": frame["dealer_id"],
        "name": frame["name"],
        "region": frame["region"],
        "city": frame["city"],
        "tier": frame["tier"],
        "channel": frame["channel"],
        "sales_rep_id": [f"R{r + 1:04d}" for r in rep],
        "opened_on": pa.array(frame["opened_on"].values.astype("datetime64[D]"), pa.date32()),
        "closed_on": pa.array(closed, pa.date32(), mask=closed_mask),
    }, schema=DEALER_SCHEMA)
    return table, np.where(closed_mask, np.datetime64("NaT"), closed)


def _programs_table(net: Network, seed: int, world: World) -> pa.Table:
    """The programs given, as the manufacturer records them: started on a day of the month
    they began, ended after their months, at a cost in proportion to the dealer's size."""
    rng = np.random.default_rng([seed, 10])
    given = net.programs
    kinds = net.inputs.programs.kinds
    effects = [world.program_effects[k] for k in kinds]
    months = np.array([effects[k].months for k in given["kind"]], dtype=int)
    first = pd.Period(net.month_starts[0], "M")
    start_month = pd.PeriodIndex.from_ordinals(first.ordinal + given["start"].to_numpy(),
                                               freq="M")
    started = start_month.to_timestamp().values.astype("datetime64[D]") + rng.integers(
        0, 10, len(given)) * np.timedelta64(1, "D")
    ended = (start_month + months).to_timestamp().values.astype("datetime64[D]") - np.timedelta64(
        1, "D")
    size = net.dealers["size"].to_numpy()[given["dealer"].to_numpy()]
    cost = np.array([effects[k].cost_months for k in given["kind"]]) * size * np.exp(
        rng.normal(0, 0.1, len(given)))
    return pa.table({
        "program_id": [f"PG{i + 1:06d}" for i in range(len(given))],
        "dealer_id": net.dealers["dealer_id"].to_numpy()[given["dealer"].to_numpy()],
        "program": [kinds[k] for k in given["kind"]],
        "started_on": pa.array(started, pa.date32()),
        "ended_on": pa.array(ended, pa.date32()),
        "cost": np.round(cost, -1),
        "assigned_by": given["assigned_by"].to_numpy(),
    }, schema=PROGRAM_SCHEMA)


def _cause_name(index: np.ndarray) -> list[str | None]:
    return [None if i == NO_CAUSE else ALL_CAUSES[i] for i in index]


def _truth_dealers(net: Network, last_order: np.ndarray, closed_on: np.ndarray) -> pd.DataFrame:
    frame = net.dealers
    month = frame["churn_month"].to_numpy()
    return pd.DataFrame({
        "dealer_id": frame["dealer_id"],
        "region": frame["region"],
        "tier": frame["tier"],
        "channel": frame["channel"],
        "churned": month != NO_MONTH,
        "churn_month": net.month_date(month),
        "last_order_date": pd.to_datetime(last_order),
        "closed_on": pd.to_datetime(closed_on),
        "primary_cause": _cause_name(frame["churn_cause"].to_numpy()),
        "secondary_cause": _cause_name(frame["churn_secondary"].to_numpy()),
        "cause_onset_month": net.month_date(frame["churn_onset"].to_numpy()),
        "planned_closure": frame["planned_closure"],
    })


def _write_truth(folder: Path, net: Network, truth: pd.DataFrame, intended: list[dict],
                 settings: SimulatorSettings, world: World, oracle: np.ndarray,
                 leave: np.ndarray) -> None:
    truth.to_parquet(folder / "dealers.parquet", index=False)
    n, m = net.alive.shape
    open_month = net.dealers["open_month"].to_numpy()
    opened = (np.arange(m)[None, :] >= open_month[:, None]).ravel()
    months = pd.DataFrame({
        "dealer_id": np.repeat(net.dealers["dealer_id"].to_numpy(), m),
        "month": np.tile(net.month_starts.date, n),
        "alive": net.alive.ravel(),
        "health": net.health.ravel(),
        "hazard": net.hazard.ravel(),
        "expected_amount": net.expected_amount.ravel().astype(np.float32),
        "paused": net.paused.ravel(),
        "program": pd.Categorical.from_codes(net.program_on.ravel().astype(int),
                                             categories=list(net.inputs.programs.kinds)),
        "oracle_churn": oracle.ravel(),
        "oracle_leave": leave.ravel(),
        **{f"ramp_{c}": net.ramps[i].ravel() for i, c in enumerate(ALL_CAUSES[:-1])},
    })[opened]
    months.to_parquet(folder / "dealer_months.parquet", index=False)
    episodes = net.episodes.assign(
        dealer_id=net.dealers["dealer_id"].to_numpy()[net.episodes["dealer"]],
        cause=[ALL_CAUSES[c] for c in net.episodes["cause"]],
        onset=net.month_date(net.episodes["onset"].to_numpy()),
        end=net.month_date(net.episodes["end"].to_numpy()),
    ).drop(columns="dealer")
    episodes.to_parquet(folder / "episodes.parquet", index=False)
    regions = list(pd.unique(net.dealers["region"]))
    slumps = net.slumps.assign(
        start=net.month_date(net.slumps["start"].to_numpy()),
        end=net.month_date(net.slumps["end"].to_numpy()),
    )
    slumps.to_parquet(folder / "slumps.parquet", index=False)
    shocks = net.shocks.table.assign(
        start=net.month_date(net.shocks.table["start"].to_numpy()),
        end=net.month_date(net.shocks.table["end"].to_numpy()),
    )
    shocks.to_parquet(folder / "shocks.parquet", index=False)
    ids = net.dealers["dealer_id"].to_numpy()
    pd.DataFrame([(row, ids[d]) for row, members in net.shocks.hit.items() for d in members],
                 columns=["shock", "dealer_id"]).to_parquet(folder / "shock_dealers.parquet",
                                                             index=False)
    pd.DataFrame(intended).to_csv(folder / "intended_rejects.csv", index=False)
    manifest = {
        "settings": settings.model_dump(mode="json", exclude={"world"}),
        "world": world.model_dump(mode="json"),
        "as_of": (net.period_end + pd.Timedelta(days=1)).date().isoformat(),
        "regions": regions,
        "note": "Ground truth of the simulation. The pipeline never reads this folder.",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2,
                                                     default=list), encoding="utf-8")


def _replace(tmp: Path, out_dir: Path) -> None:
    """Swap the finished folder in; the old one is removed only after the swap."""
    old = out_dir.parent / f".{out_dir.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)
