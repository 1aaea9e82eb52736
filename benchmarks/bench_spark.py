"""The same data folder through both engines: checks and the newest cutoff's panel.

With Spark every table but the dealers is scanned there (suspects found, the rest left in
the files) and reduced there; DuckDB does the same for files above the stream thresholds.

    python benchmarks/bench_spark.py --data FOLDER [--runs 3] [--master 'local[*]']
    python benchmarks/bench_spark.py --engines duckdb,duckdb+split --data FOLDER
    python benchmarks/bench_spark.py --engines spark --runs 1 \
        --data NET5M --data NET20M --data NET50M            # Spark's growth curve

Folders of a given size come from the simulator (about 40 order lines per dealer-month):
`dealer-risk simulate NET5M --dealers 2100 --months 60` (5M lines), 8,400 dealers for 20M,
21,000 for 50M. With several folders it also fits seconds and peak memory as a line in
the number of order lines and prints what the line says of 1 billion.

Each run is a fresh process (Python start-up and, for Spark, the JVM's start included),
one engine at a time on an otherwise idle machine: two engines at once on 2 cores slow
each other several-fold. It prints, per engine, the median wall time of the checks
(load_data) and of the panel at the newest cutoff (build_panel), the peak memory of the
process tree (the driver's JVM included, from each process's VmHWM), and the ratio of
Spark to DuckDB; and it checks that both panels agree to 1e-9.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = r"""
import json, os, sys, time
from pathlib import Path
import pandas as pd
from features.panel import build_panel
from features.settings import ContractSettings, SparkSettings
from features.validation import load_data

data, engine, master, out = sys.argv[1:5]
spark = None
started = time.perf_counter()
if engine == "spark":
    from features.spark import session
    spark = session(SparkSettings(master=master, driver_memory="6g"), "Asia/Shanghai")
ready = time.perf_counter()
# duckdb+split: every Parquet event file split by DuckDB, as Spark splits any file
contract = ContractSettings(**({"stream_event_rows": 0} if engine == "duckdb+split" else {}))
loaded = load_data(Path(data), contract, spark=spark)
checked = time.perf_counter()
from features.panel import default_cutoffs
panel = build_panel(loaded.tables, [default_cutoffs(loaded.tables)[-1]])
built = time.perf_counter()
panel.to_parquet(out)

def tree(pid):
    found = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    found += tree(int(child))
    except OSError:
        pass
    return found

def peak_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        return 0

lines = len(loaded.tables["orders"])
events = sum(len(loaded.tables[t]) for t in ("tickets", "complaints", "deliveries", "visits")
             if loaded.tables.get(t) is not None)
print(json.dumps({"session_s": ready - started, "checks_s": checked - ready,
                  "panel_s": built - checked, "lines": lines, "events": events,
                  "rows": len(panel),
                  "peak_mb": sum(peak_kb(p) for p in tree(os.getpid())) / 1024}))
"""


def run(data: Path, engine: str, master: str, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", WORKER, str(data), engine, master, str(out)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{engine} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, action="append",
                        help="a data folder; repeat for a growth curve")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--engines", default="duckdb,spark",
                        help="duckdb, spark, duckdb+split (DuckDB with every Parquet event "
                        "file split, contract.stream_event_rows = 0)")
    args = parser.parse_args()
    print(f"# python {' '.join(sys.argv)}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; one engine at a time")
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, data in enumerate(args.data):
            outs = {}
            for engine in args.engines.split(","):
                outs[engine] = Path(tmp) / f"{k}-{engine}.parquet"
                results[(str(data), engine)] = [run(data, engine, args.master, outs[engine])
                                                for _ in range(args.runs)]
            for other in [e for e in outs if e != "duckdb" and "duckdb" in outs]:
                import pandas as pd
                a, b = pd.read_parquet(outs["duckdb"]), pd.read_parquet(outs[other])
                pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)
                print(f"{data}: {other}'s panel agrees with duckdb's to 1e-9: {len(a):,} rows "
                      f"x {a.shape[1]} columns")
    print("| engine | order lines | event rows | session start | checks | "
          "panel (newest cutoff) | checks + panel | peak memory (process tree) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    medians = {}
    for (data, engine), rows in results.items():
        m = {k: statistics.median(r[k] for r in rows)
             for k in ("session_s", "checks_s", "panel_s", "peak_mb")}
        m["total"] = statistics.median(r["checks_s"] + r["panel_s"] for r in rows)
        m["lines"], m["events"] = rows[0]["lines"], rows[0]["events"]
        medians[(data, engine)] = m
        print(f"| {engine} | {m['lines']:,} | {m['events']:,} | {m['session_s']:.1f} s | "
              f"{m['checks_s']:.1f} s | {m['panel_s']:.1f} s | {m['total']:.1f} s | "
              f"{m['peak_mb']:,.0f} MB |")
    for data in map(str, args.data):
        for other in [e for (d, e) in medians if d == data and e != "duckdb"]:
            if (data, "duckdb") in medians:
                ratio = medians[(data, other)]["total"] / medians[(data, "duckdb")]["total"]
                print(f"{data}: {other} / duckdb (checks + panel): {ratio:.2f}x")
    for engine in args.engines.split(","):
        points = [medians[(str(d), engine)] for d in args.data]
        if len(points) >= 2:
            _growth(engine, points)


def _growth(engine: str, points: list[dict]) -> None:
    """A least-squares line through (lines, seconds) and (lines, MB), and its 1B value."""
    import numpy as np
    lines = np.array([p["lines"] for p in points], dtype=float) / 1e6
    for what, key, unit in (("checks + panel", "total", "s"), ("peak memory", "peak_mb", "MB")):
        slope, intercept = np.polyfit(lines, [p[key] for p in points], 1)
        print(f"{engine} {what}: {intercept:,.1f} {unit} + {slope:,.2f} {unit} per 1M lines; "
              f"1B lines on this machine by that line: {intercept + 1000 * slope:,.0f} {unit}")

if __name__ == "__main__":
    main()
