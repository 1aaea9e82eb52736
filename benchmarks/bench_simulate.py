"""Simulator speed and peak memory, each run in its own process so peak RSS is its own.

    python benchmarks/bench_simulate.py                 # default size, 3 runs each format
    python benchmarks/bench_simulate.py --large         # also 20,000 dealers x 60 months

Prints wall time (median of the runs), order lines, lines per second and peak resident
memory; the CSV run is the peer of the Parquet run at the same size (ratio printed).
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = """
import resource, sys, time, json
from features.simulator import simulate
from features.simulator.settings import SimulatorSettings
t0 = time.perf_counter()
s = simulate(sys.argv[1], SimulatorSettings(dealers=int(sys.argv[2]), months=int(sys.argv[3]),
                                            format=sys.argv[4]))
seconds = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "orders": s.rows["orders"], "peak_mb": peak_mb}))
"""


def run_once(dealers: int, months: int, fmt: str) -> dict:
    import json

    out = Path(tempfile.mkdtemp(prefix="bench-sim-")) / "net"
    try:
        result = subprocess.run([sys.executable, "-c", RUN, str(out), str(dealers), str(months),
                                 fmt], capture_output=True, text=True, check=True)
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def measure(dealers: int, months: int, fmt: str, runs: int) -> dict:
    results = [run_once(dealers, months, fmt) for _ in range(runs)]
    seconds = statistics.median(r["seconds"] for r in results)
    return {"dealers": dealers, "months": months, "format": fmt, "runs": runs,
            "seconds": seconds, "orders": results[0]["orders"],
            "lines_per_s": results[0]["orders"] / seconds,
            "peak_mb": max(r["peak_mb"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also 20,000 dealers x 60 months")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"# {' '.join(['python', *sys.argv])}")
    print(f"# {platform.node()} {platform.machine()} {platform.python_version()}, "
          f"{resource.getpagesize()} B pages, {time.strftime('%Y-%m-%d')}")
    rows = [measure(2000, 48, "parquet", args.runs), measure(2000, 48, "csv", args.runs)]
    if args.large:
        rows.append(measure(20000, 60, "parquet", args.runs))
    print("| dealers x months | format | order lines | median s | lines/s | peak MB |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['dealers']:,} x {r['months']} | {r['format']} | {r['orders']:,} | "
              f"{r['seconds']:.1f} | {r['lines_per_s']:,.0f} | {r['peak_mb']:,.0f} |")
    ratio = rows[1]["seconds"] / rows[0]["seconds"]
    print(f"CSV / Parquet wall time at default size: {ratio:.2f}x")


if __name__ == "__main__":
    main()
