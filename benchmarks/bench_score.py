"""`dealer-risk score` end to end, as a user waits for it: wall time of the command on a
copy of the demo's work directory (its champions, snapshots and sample data).

    ./run demo --no-serve                              # once
    python benchmarks/bench_score.py                   # --history 1 and 13, 3 runs each
    git worktree add /tmp/before <rev>                 # a tree to compare with
    python benchmarks/bench_score.py --peer-tree /tmp/before

Each run copies the work directory afresh (a run writes snapshots) and starts the command
as a child process (imports, MLflow, validation, panel, scoring, checks, notifications).
With --peer-tree the same command runs from that tree too (PYTHONPATH), the two
alternated run by run, and the ratio of their medians is printed. `--history 13` is what
`dealer-risk demo` writes (scoring.history_snapshots).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(tree: Path, work: Path, history: int, scratch: Path) -> float:
    """Seconds of one `dealer-risk score --history N` from `tree` on a fresh copy."""
    copy = scratch / "work"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(work, copy)
    env = {**os.environ, "DEALER_RISK_WORK_DIR": str(copy), "PYTHONPATH": str(tree)}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "serve.cli", "score",
                           str(copy / "sample-data"), "--history", str(history)],
                          env=env, cwd=scratch, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"score from {tree} failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / ".dealer-risk")
    parser.add_argument("--history", type=int, nargs="+", default=[1, 13])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-tree", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    work = args.work.resolve()
    if not (work / "snapshots").is_dir():
        raise SystemExit(f"no snapshots in {work}: run ./run demo --no-serve first")
    trees = {"this tree": ROOT}
    if args.peer_tree:
        trees["peer"] = args.peer_tree.resolve()
    print(f"# {' '.join(['python', *sys.argv])}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; work {work}")
    print("| command | tree | runs (s) | median s |")
    print("|---|---|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for history in args.history:
            times: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.runs):
                for name, tree in trees.items():
                    times[name].append(run(tree, work, history, Path(tmp)))
            for name, seconds in times.items():
                print(f"| dealer-risk score --history {history} | {name} | "
                      f"{', '.join(f'{s:.1f}' for s in seconds)} | "
                      f"{statistics.median(seconds):.1f} |")
            if "peer" in times:
                ratio = statistics.median(times["peer"]) / statistics.median(times["this tree"])
                print(f"--history {history}: the peer takes {ratio:.2f}x this tree's time")


if __name__ == "__main__":
    main()
