"""Score snapshots on disk: one Parquet file per as-of date, written atomically.

`<work_dir>/snapshots/<YYYY-MM-DD>.parquet`. A new file is written beside the old one and
renamed over it, so readers (and the API) always see a complete snapshot, and a failed run
leaves the previous one serving. The same as-of date, data and models give the same rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from features.failpoints import failpoint
from features.io import write_csv_atomically, write_parquet_atomically, write_text_atomically

SNAPSHOT_DIR = "snapshots"
POPULATION_SUFFIX = ".population.parquet"
SUPPORT_SUFFIX = ".support.parquet"
REPS_SUFFIX = ".reps.parquet"
ROSTER_SUFFIX = ".roster.parquet"
EFFECTS_SUFFIX = ".effects.parquet"
MANIFEST_SUFFIX = ".json"
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")


def snapshot_dir(work_dir: Path) -> Path:
    return work_dir / SNAPSHOT_DIR


def list_snapshots(work_dir: Path) -> list[str]:
    """As-of dates with a snapshot, oldest first."""
    folder = snapshot_dir(work_dir)
    if not folder.is_dir():
        return []
    return sorted(m.group(1) for p in folder.iterdir() if (m := _NAME.match(p.name)))


def read_snapshot(work_dir: Path, as_of: str) -> pd.DataFrame:
    return pd.read_parquet(snapshot_dir(work_dir) / f"{as_of}.parquet")


def previous_snapshot(work_dir: Path, as_of: str) -> pd.DataFrame | None:
    """The newest snapshot strictly before `as_of`: what the change is measured against."""
    earlier = [d for d in list_snapshots(work_dir) if d < as_of]
    return read_snapshot(work_dir, earlier[-1]) if earlier else None


def snapshot_on(work_dir: Path, as_of: str) -> pd.DataFrame | None:
    """The snapshot of exactly this as-of date, if there is one."""
    return read_snapshot(work_dir, as_of) if as_of in list_snapshots(work_dir) else None


def write_snapshot(frame: pd.DataFrame, work_dir: Path, as_of: str,
                   population: pd.DataFrame | None = None, history_from: str | None = None,
                   support: pd.DataFrame | None = None,
                   reps: pd.DataFrame | None = None,
                   roster: pd.DataFrame | None = None,
                   effects: pd.DataFrame | None = None) -> Path:
    """Write the snapshot, and what POST /v1/score needs to score like it: the panel
    population at its cutoff (the peers) and the month the data's history starts; the
    support board's requests (serve.batch.support), the reps' scorecard rows
    (serve.batch.reps), where every dealer stands (serve.batch.roster) and each dealer's
    estimated program effects (serve.batch.plan).
    Each goes to a temporary file renamed into place, the snapshot last, so a visible
    snapshot always has its companions."""
    folder = snapshot_dir(work_dir)
    if support is not None:
        write_parquet_atomically(support, folder / f"{as_of}{SUPPORT_SUFFIX}")
    if reps is not None:
        write_parquet_atomically(reps, folder / f"{as_of}{REPS_SUFFIX}")
    if roster is not None:
        write_parquet_atomically(roster, folder / f"{as_of}{ROSTER_SUFFIX}")
    if effects is not None:
        write_parquet_atomically(effects, folder / f"{as_of}{EFFECTS_SUFFIX}")
    if population is not None:
        write_parquet_atomically(population, folder / f"{as_of}{POPULATION_SUFFIX}")
    if history_from is not None:
        write_text_atomically(json.dumps({"as_of": as_of, "history_from": history_from}),
                              folder / f"{as_of}{MANIFEST_SUFFIX}")
    failpoint("snapshot.population")
    return write_parquet_atomically(frame, folder / f"{as_of}.parquet", point="snapshot")


def read_population(work_dir: Path, as_of: str) -> pd.DataFrame | None:
    path = snapshot_dir(work_dir) / f"{as_of}{POPULATION_SUFFIX}"
    return pd.read_parquet(path) if path.is_file() else None


def read_support(work_dir: Path, as_of: str) -> pd.DataFrame | None:
    return _companion(work_dir, as_of, SUPPORT_SUFFIX)


def read_reps(work_dir: Path, as_of: str) -> pd.DataFrame | None:
    return _companion(work_dir, as_of, REPS_SUFFIX)


def read_roster(work_dir: Path, as_of: str) -> pd.DataFrame | None:
    return _companion(work_dir, as_of, ROSTER_SUFFIX)


def _companion(work_dir: Path, as_of: str, suffix: str) -> pd.DataFrame | None:
    """A file stored beside the snapshot; None when it was scored before the file existed."""
    path = snapshot_dir(work_dir) / f"{as_of}{suffix}"
    return pd.read_parquet(path) if path.is_file() else None


def read_effects(work_dir: Path, as_of: str) -> pd.DataFrame | None:
    return _companion(work_dir, as_of, EFFECTS_SUFFIX)


def read_history_from(work_dir: Path, as_of: str) -> str | None:
    path = snapshot_dir(work_dir) / f"{as_of}{MANIFEST_SUFFIX}"
    return json.loads(path.read_text(encoding="utf-8"))["history_from"] if path.is_file() \
        else None


def export_rows(frame: pd.DataFrame, path: Path) -> Path:
    """The snapshot's rows as CSV (UTF-8 with BOM, for Excel) or Parquet, atomically."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"{path}: --out must end in .csv or .parquet")
    if suffix == ".csv":
        return write_csv_atomically(frame, path)
    return write_parquet_atomically(frame, path)
