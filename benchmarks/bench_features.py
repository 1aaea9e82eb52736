"""Feature build: wall time, rows per second, peak memory; our aggregation vs bare DuckDB.

    python benchmarks/bench_features.py                      # simulate 2,000 x 48, 3 runs
    python benchmarks/bench_features.py --data DIR --runs 1  # an existing data folder

Each run is its own process (peak RSS is the run's own): validate the folder, build the
full monthly panel, then build the newest cutoff alone. The peer, in the same script:
the bare monthly aggregation of the order lines (sum, count, distinct categories per
dealer-month, 3- and 12-month rolling sums, MoM and YoY) in one DuckDB SQL query over
an in-memory frame, against our order aggregation (features.monthly: four DuckDB
queries and the numpy arrays) of the same frame.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = r"""
import json, resource, sys, time
from features.panel import build_panel
from features.settings import ContractSettings
from features.validation import load_data
t0 = time.perf_counter()
loaded = load_data(sys.argv[1], ContractSettings())  # as of today
t1 = time.perf_counter()
panel = build_panel(loaded.tables)
t2 = time.perf_counter()
single = build_panel(loaded.tables, [panel["cutoff"].max()])
t3 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "panel_s": t2 - t1, "single_s": t3 - t2,
                  "rows": len(panel), "single_rows": len(single), "columns": panel.shape[1],
                  "order_lines": loaded.report.tables["orders"].accepted,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PEER = r"""
import json, sys, time
import duckdb
from features.monthly import build_monthly
from features.panel import data_end
from features.settings import ContractSettings
from features.validation import load_data
from features.orderlines import OrderLines
loaded = load_data(sys.argv[1], ContractSettings())  # as of today
orders = OrderLines.of(loaded.tables["orders"]).to_frame()  # both engines read this frame
only_orders = {"dealers": loaded.tables["dealers"], "orders": orders}
last = data_end(loaded.tables).to_period("M").to_timestamp()
SQL = '''
WITH monthly AS (
  SELECT dealer_id, date_trunc('month', order_date) AS month,
         sum(net_amount) AS amount, count(*) AS lines,
         count(DISTINCT product_category) AS categories
  FROM orders WHERE net_amount > 0 GROUP BY ALL)
SELECT dealer_id, month, amount, lines, categories,
       sum(amount) OVER w3 AS amount_3m, sum(amount) OVER w12 AS amount_12m,
       amount / lag(amount, 1) OVER (PARTITION BY dealer_id ORDER BY month) - 1 AS mom,
       amount / lag(amount, 12) OVER (PARTITION BY dealer_id ORDER BY month) - 1 AS yoy
FROM monthly
WINDOW w3 AS (PARTITION BY dealer_id ORDER BY month ROWS 2 PRECEDING),
       w12 AS (PARTITION BY dealer_id ORDER BY month ROWS 11 PRECEDING)
'''
con = duckdb.connect()
con.execute("SET threads TO 2")
out = {}
for name, fn in (("ours", lambda: build_monthly(only_orders, last)),
                 ("duckdb", lambda: con.execute(SQL).fetchnumpy())):
    times = []
    for _ in range(3):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    out[name] = sorted(times)[1]
print(json.dumps(out))
"""


def run(script: str, data: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", script, str(data)], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="data folder (default: simulate 2,000 x 48)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip the DuckDB comparison")
    args = parser.parse_args()
    print(f"# {' '.join(['python', *sys.argv])}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            from features.simulator import simulate
            from features.simulator.settings import SimulatorSettings

            data = Path(tmp) / "net"
            simulate(data, SimulatorSettings())
        results = [run(RUN, data) for _ in range(args.runs)]
        peer = None if args.no_peer else run(PEER, data)
    med = {k: statistics.median(r[k] for r in results) for k in ("load_s", "panel_s",
                                                                   "single_s")}
    r = results[0]
    print(f"order lines {r['order_lines']:,}; panel {r['rows']:,} rows x {r['columns']} "
          f"columns; newest cutoff {r['single_rows']:,} rows; runs {args.runs}")
    print("| step | median s | per second | peak MB |")
    print("|---|---:|---:|---:|")
    peak = max(x["peak_mb"] for x in results)
    print(f"| validate (load_data) | {med['load_s']:.1f} | "
          f"{r['order_lines'] / med['load_s']:,.0f} lines | {peak:,.0f} |")
    print(f"| full panel (every cutoff) | {med['panel_s']:.1f} | "
          f"{r['rows'] / med['panel_s']:,.0f} rows | (same process) |")
    print(f"| newest cutoff only | {med['single_s']:.2f} | "
          f"{r['single_rows'] / med['single_s']:,.0f} rows | (same process) |")
    if peer:
        print(f"peer, monthly aggregation of the order lines: ours (features.monthly) "
              f"{peer['ours']:.2f} s, bare DuckDB {peer['duckdb']:.2f} s (ours / bare = "
              f"{peer['ours'] / peer['duckdb']:.2f}x)")


if __name__ == "__main__":
    main()
