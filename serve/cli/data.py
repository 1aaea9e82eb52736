"""Commands on data: `config show`, `simulate`, `validate`, `features`, `catalog`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from features.io import write_parquet_atomically
from features.panel import feature_columns
from features.simulator import simulate as run_simulation
from features.simulator.worlds import WORLDS
from serve.cli.base import (
    AsOf,
    DataDir,
    EngineOption,
    SparkMaster,
    console,
    data_folder,
    errors,
    fail,
    panel_shown,
    parse_date,
    settings,
    validate_data,
    with_engine,
)
from serve.cli.report import catalog_markdown, catalog_rows
from serve.settings import Settings


def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML-like text.")]
    = False,
) -> None:
    """Print the effective settings (defaults, file and environment combined)."""
    values = settings().public_dump()  # keys are secrets: how many and their roles only
    if as_json:
        console.print_json(json.dumps(values, ensure_ascii=False))
        return
    _print_toml(values)


def _print_toml(values: dict, prefix: str = "") -> None:
    def is_tables(v: object) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    scalars = {k: v for k, v in values.items() if not isinstance(v, dict) and not is_tables(v)}
    if prefix and scalars:
        console.print(f"[{prefix}]", highlight=False, markup=False)
    for key, value in scalars.items():
        shown = "# not set" if value is None else json.dumps(value, ensure_ascii=False)
        console.print(f"{key} = {shown}", highlight=False, markup=False, soft_wrap=True)
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            console.print()
            _print_toml(value, name)
        elif is_tables(value):  # a list of tables: [[alerts.rules]], [[playbook.actions]]
            for item in value:
                console.print(f"\n[[{name}]]", highlight=False, markup=False)
                for k, v in item.items():
                    console.print(f"{k} = {json.dumps(v, ensure_ascii=False)}",
                                  highlight=False, markup=False, soft_wrap=True)


def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the data tables into.")],
    dealers: Annotated[int | None, typer.Option(help="Dealers in the network.")] = None,
    months: Annotated[int | None, typer.Option(help="Months to simulate.")] = None,
    start: Annotated[str | None, typer.Option(help="First month, YYYY-MM.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: same seed, same bytes.")] = None,
    file_format: Annotated[str | None, typer.Option(
        "--format", help="parquet or csv.")] = None,
    world: Annotated[str | None, typer.Option(
        help="A named world of the robustness benchmark (its seed, start and shocks): "
             + ", ".join(WORLDS) + ".")] = None,
) -> None:
    """Write a simulated dealer network (all six tables, plus ground truth in _truth/)."""
    sim = simulator_settings(dealers, months, start, seed, file_format, world)
    summary = simulate_shown(out_dir, sim)
    console.print(f"Simulated {summary.dealers:,} dealers over {summary.months} months from "
                  f"{summary.first_month} into {out_dir} (as of {summary.as_of}; "
                  f"{summary.churners:,} churned)")
    for name, rows in summary.rows.items():
        console.print(f"  {name:<11} {rows:>12,} rows")


def simulator_settings(dealers, months, start, seed, file_format, world_name=None):
    base = settings().simulator
    overrides = {k: v for k, v in dict(dealers=dealers, months=months, start=start, seed=seed,
                                       format=file_format).items() if v is not None}
    if world_name is not None:
        if world_name not in WORLDS:
            raise fail(f"unknown world {world_name!r}; choose one of: {', '.join(WORLDS)}")
        named = WORLDS[world_name]
        overrides = {"seed": named.seed, "start": named.start,
                     "world": named.world(base.world).model_dump()} | overrides
    try:
        return base.model_validate(base.model_dump() | overrides)
    except ValueError as exc:
        raise fail(f"invalid simulator option: {exc}") from None


def simulate_shown(out_dir: Path, sim):
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} dealer chunks"), TimeElapsedColumn(), console=errors,
                  transient=True) as bar:
        task = bar.add_task("simulate", total=None)
        try:
            return run_simulation(out_dir, sim,
                                  progress=lambda i, n: bar.update(task, completed=i, total=n))
        except (FileExistsError, PermissionError) as exc:
            raise fail(str(exc)) from None


def validate(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    as_of: Annotated[str | None, typer.Option(
        help="The data's as-of date YYYY-MM-DD (later events are rejected). Default: today.")]
    = None,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Check a data folder against the contract; write rejected rows to <work>/rejects/."""
    cfg = with_engine(settings(), engine, spark_master)
    validate_data(data_folder(data_dir, cfg), cfg, as_of=parse_date(as_of), as_json=as_json)


def features(
    data_dir: DataDir = None,
    out: Annotated[Path | None, typer.Option(
        help="Parquet file to write. Default: <work_dir>/panel.parquet.")] = None,
    cutoffs: Annotated[list[str] | None, typer.Option(
        "--cutoff", help="A cutoff YYYY-MM-01 (repeat for several). Default: every month.")]
    = None,
    as_of: AsOf = None,
    engine: EngineOption = None,
    spark_master: SparkMaster = None,
) -> None:
    """Build the dealer x cutoff panel (keys, features, labels) and write it as Parquet."""
    cfg = with_engine(settings(), engine, spark_master)
    loaded = validate_data(data_folder(data_dir, cfg), cfg, as_of=parse_date(as_of),
                       as_json=False, quiet=True)
    build_features_shown(loaded, cfg, cutoffs, out)


def build_features_shown(loaded, cfg: Settings, cutoffs: list[str] | None, out: Path | None):
    panel = panel_shown(loaded, cfg, cutoffs)
    target = out or cfg.work_dir / "panel.parquet"
    write_parquet_atomically(panel, target)
    cut = panel["cutoff"]
    console.print(f"Panel: {len(panel):,} rows ({panel['dealer_id'].nunique():,} dealers x "
                  f"{cut.nunique()} cutoffs {cut.min():%Y-%m-%d} .. {cut.max():%Y-%m-%d}), "
                  f"{len(feature_columns(panel))} features -> {target}")
    for label in ("churn", "decline"):
        known = panel[label].dropna()
        console.print(f"  {label}: {len(known):,} labelled rows, rate {known.mean():.1%}"
                      if len(known) else f"  {label}: no labelled rows (horizon not complete)")
    return panel


def catalog(
    lang: Annotated[str, typer.Option(help="en or zh.")] = "en",
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table.")]
    = False,
) -> None:
    """List every feature: name, group, unit, actionable, description."""
    if lang not in ("en", "zh"):
        raise fail(f"--lang must be en or zh, got '{lang}'")
    rows = catalog_rows(lang)
    if markdown:
        sys.stdout.write(catalog_markdown(rows))
        return
    table = Table(title=f"{len(rows)} features")
    for col in ("name", "group", "unit", "actionable", "needs", "description"):
        table.add_column(col)
    for row in rows:
        table.add_row(*[str(row[k]) for k in ("name", "group", "unit", "actionable", "needs",
                                              "description")])
    console.print(table)


