"""A bounded load run with reloads: no request may fail while the state is swapped.

    ./run demo --no-serve                         # once: sample data, champions, a snapshot
    python benchmarks/bench_load.py               # uses .dealer-risk/ (or --work DIR)
    python benchmarks/bench_load.py --duration 30 --connections 32 --reload-every 3

The API runs on loopback (2 uvicorn workers) and wrk (Debian's `wrk` package) sends a
mix of requests: a dealer's risk (ids rotate), a page of the ranked list, a page of
alerts, the health check. Two runs of the same load, one after the other, in this
script: a quiet one, and one during which the newest snapshot is rewritten every few
seconds (same rows, a new file: each worker's periodic check reloads it) and
POST /v1/admin/reload is called as well. The figures: requests, failed requests (non-2xx,
socket errors, timeouts), throughput and latency of both runs, and the reloads done.
The work folder is copied: the original snapshots are never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_api import free_port, start, stop, wait  # noqa: E402  (a sibling script)

from features.io import write_parquet_atomically  # noqa: E402

MIX = """
ids = {IDS}
paths = {}
for i = 1, #ids do paths[#paths + 1] = '/v1/dealers/' .. ids[i] .. '/risk' end
local extra = {'/v1/risk?limit=50', '/v1/risk?band=high&limit=20', '/v1/alerts?limit=20',
               '/health'}
n = 0
request = function()
  n = n + 1
  if n % 5 == 0 then
    return wrk.format('GET', extra[(n / 5) % #extra + 1])
  end
  return wrk.format('GET', paths[n % #paths + 1])
end
"""


def run_wrk(url: str, script: Path, connections: int, duration: int) -> dict:
    import re
    import subprocess
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
                          "--timeout", "10s", "-s", str(script), url], capture_output=True,
                         text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     out)
    errors = [int(x) for x in sock.groups()] if sock else [0, 0, 0, 0]
    return {"requests": requests, "rps": rps, "p50": lat.get("50"), "p99": lat.get("99"),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": sum(errors[:3]), "timeouts": errors[3]}


class Reloader(threading.Thread):
    """Every `every` seconds: rewrite the newest snapshot (same rows, new file) and ask for
    a reload; counts the reloads the API reports."""

    def __init__(self, base: str, snapshot: Path, every: float) -> None:
        super().__init__(daemon=True)
        self.base, self.snapshot, self.every = base, snapshot, every
        self.frame = pd.read_parquet(snapshot)
        self.stop = threading.Event()
        self.rewrites = self.reloaded = 0
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.wait(self.every):
                write_parquet_atomically(self.frame, self.snapshot)
                self.rewrites += 1
                answer = client.post(f"{self.base}/v1/admin/reload")
                if answer.status_code != 200 or answer.json().get("error"):
                    self.failures.append(f"{answer.status_code} {answer.text[:200]}")
                elif answer.json().get("reloaded"):
                    self.reloaded += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(".dealer-risk"))
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reload-every", type=float, default=3.0)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    source = args.work.resolve()
    if not sorted((source / "snapshots").glob("????-??-??.parquet")):
        raise SystemExit(f"no snapshot in {source}/snapshots: run ./run demo --no-serve first")
    print(f"# python {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(source / "snapshots", work / "snapshots")
        newest = sorted((work / "snapshots").glob("????-??-??.parquet"))[-1]
        ids = list(pd.read_parquet(newest, columns=["dealer_id"])["dealer_id"])
        print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
              f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; {len(ids):,} dealers in "
              f"the snapshot of {newest.stem}; wrk -t2 -c{args.connections} "
              f"-d{args.duration}s; {args.workers} workers; reload every "
              f"{args.reload_every:g} s in the second run")
        script = Path(tmp) / "mix.lua"
        script.write_text(MIX.replace("{IDS}", "{" + ",".join(json.dumps(i) for i in ids)
                                      + "}"), encoding="utf-8")
        env = {**os.environ, "DEALER_RISK_WORK_DIR": str(work),
               "DEALER_RISK_API__RELOAD_CHECK_SECONDS": str(args.reload_every),
               "MLFLOW_TRACKING_URI": f"sqlite:///{source / 'mlflow.db'}"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start([sys.executable, "-m", "serve.cli", "serve", "--port", str(port),
                        "--workers", str(args.workers)], env)
        try:
            wait(f"{base}/ready")
            quiet = run_wrk(base, script, args.connections, args.duration)
            reloader = Reloader(base, newest, args.reload_every)
            reloader.start()
            busy = run_wrk(base, script, args.connections, args.duration)
            reloader.stop.set()
            reloader.join(60)
            ready = httpx.get(f"{base}/ready", timeout=10)
        finally:
            stop(server)
    print("| run | requests | failed (non-2xx / socket / timeout) | requests/s | p50 | p99 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in (("quiet", quiet), ("with reloads", busy)):
        print(f"| {name} | {r['requests']:,} | {r['non_2xx']} / {r['socket_errors']} / "
              f"{r['timeouts']} | {r['rps']:,.1f} | {r['p50']} | {r['p99']} |")
    print(f"snapshot rewritten {reloader.rewrites} times; POST /v1/admin/reload swapped the "
          f"state {reloader.reloaded} times (the other worker's periodic check reloads "
          f"too); reload failures: {len(reloader.failures)}; /ready after: "
          f"{ready.status_code}")
    print(f"throughput with reloads: {busy['rps'] / quiet['rps']:.2f}x the quiet run's")
    failed = sum(busy[k] + quiet[k] for k in ("non_2xx", "socket_errors", "timeouts"))
    if failed or reloader.failures or ready.status_code != 200:
        for failure in reloader.failures[:5]:
            print("reload failure:", failure)
        raise SystemExit(f"{failed} failed requests")


if __name__ == "__main__":
    main()
