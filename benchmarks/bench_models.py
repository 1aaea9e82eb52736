"""Models: train and backtest wall time and peak memory; scoring and TreeSHAP for 100,000
rows; and what the depth constraint costs in accuracy and buys in speed.

    python benchmarks/bench_models.py                      # simulate 2,000 x 48, 3 runs each
    python benchmarks/bench_models.py --data DIR --runs 1  # an existing data folder
    python benchmarks/bench_models.py --only scoring       # one part: commands|scoring
    python benchmarks/bench_models.py --card docs/model-card.md   # also write the card
                                                                   # and docs/alerts.md beside it

commands: `dealer-risk train` and `dealer-risk backtest` as separate processes, each with
its own MLflow store in a temporary work directory (peak RSS from the child's rusage).
scoring: the churn model fitted at the newest cutoff with the default (shallow) trees and,
as the peer in the same process, with deep trees (no depth limit, 63 leaves, up to 300
trees, the number chosen by early stopping as for the default): prediction for 100,000
rows, contributions for 100,000 rows (shallow) or 5,000 rows (deep: milliseconds per
row), and ROC AUC / PR AUC over the newest 3 backtest origins for both.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 100_000
PEER_ROWS = 5_000
"""The deep peer's contributions cost milliseconds per row: time them on fewer rows."""


def run_command(args: list[str], work: Path) -> dict:
    env = {**os.environ, "DEALER_RISK_WORK_DIR": str(work)}
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "serve.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.read()}")
    return {"wall_s": wall, "peak_mb": usage.ru_maxrss / 1024}


def commands(data: Path, as_of: str, runs: int, card: Path | None) -> None:
    results: dict[str, list[dict]] = {"train": [], "backtest": []}
    for i in range(runs):
        for name in results:
            extra = ["--card", str(card.resolve()),
                     "--alerts-doc", str(card.resolve().with_name("alerts.md"))] \
                if card and name == "backtest" and i == 0 \
                else []
            with tempfile.TemporaryDirectory() as work:
                results[name].append(run_command([name, str(data), "--as-of", as_of, *extra],
                                                 Path(work)))
    print("| command | runs (s) | median s | peak MB |")
    print("|---|---|---:|---:|")
    for name, rs in results.items():
        walls = ", ".join(f"{r['wall_s']:.1f}" for r in rs)
        print(f"| dealer-risk {name} | {walls} | {statistics.median(r['wall_s'] for r in rs):.1f}"
              f" | {max(r['peak_mb'] for r in rs):,.0f} |")


def scoring(data: Path, as_of: str, runs: int) -> None:
    from datetime import date

    import numpy as np
    import pandas as pd
    from sklearn.metrics import average_precision_score, roc_auc_score

    from features.panel import build_panel
    from features.settings import ContractSettings, LabelSettings
    from features.validation import load_data
    from models.backtest import evaluation_origins
    from models.dataset import rows_at
    from models.settings import ModelSettings
    from models.training import fit_classifier

    loaded = load_data(data, ContractSettings(as_of=date.fromisoformat(as_of)))
    labels = LabelSettings()
    panel = build_panel(loaded.tables, labels=labels)
    shallow = ModelSettings()
    deep = ModelSettings.model_validate(shallow.model_dump() | {"booster": shallow.booster
                                        .model_dump() | {"max_depth": 64,
                                                         "num_leaves": 63,
                                                         "n_estimators": 300,
                                                         "early_stopping_rounds": 300}})
    rng = np.random.default_rng(0)
    rows = panel.iloc[rng.integers(0, len(panel), ROWS)].reset_index(drop=True)
    origin = panel["cutoff"].max()
    print(f"| churn model | trees | mean depth | predict {ROWS:,} rows (s) | contributions (s) "
          "| contributions ms per row | ROC AUC | PR AUC |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    timings = {}
    for name, settings, n_contrib in (("shallow (default)", shallow, ROWS),
                                      ("deep (peer)", deep, PEER_ROWS)):
        bundle = fit_classifier(panel, "churn", origin, settings, labels)
        predict, contrib = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            bundle.predict(rows)
            t1 = time.perf_counter()
            bundle.contributions(rows.head(n_contrib))
            t2 = time.perf_counter()
            predict.append(t1 - t0)
            contrib.append(t2 - t1)
        dump = bundle.booster.dump_model()["tree_info"]
        depth = statistics.mean(_depth(t["tree_structure"]) for t in dump)
        ys, ps = [], []
        for o in evaluation_origins(panel, 3):
            b = fit_classifier(panel, "churn", o, settings, labels)
            test = rows_at(panel, "churn", pd.DatetimeIndex([o]))
            ys.append(test["churn"].to_numpy())
            ps.append(b.predict(test))
        y, p = np.concatenate(ys), np.concatenate(ps)
        med_p, med_c = statistics.median(predict), statistics.median(contrib)
        timings[name] = med_c / n_contrib
        print(f"| {name} | {len(dump)} | {depth:.1f} | {med_p:.2f} | {med_c:.2f} "
              f"({n_contrib:,} rows) | {med_c / n_contrib * 1000:.3f} | "
              f"{roc_auc_score(y, p):.4f} | {average_precision_score(y, p):.4f} |")
    ratio = timings["deep (peer)"] / timings["shallow (default)"]
    print(f"contributions: deep / shallow = {ratio:.1f}x the time per row")


def _depth(node: dict) -> int:
    if "split_feature" not in node:  # a leaf
        return 0
    return 1 + max(_depth(node["left_child"]), _depth(node["right_child"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="data folder (default: simulate 2,000 x 48)")
    parser.add_argument("--as-of", default=None, help="the data's as-of date (default: the "
                        "simulation's, or today)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("commands", "scoring"))
    parser.add_argument("--card", type=Path, help="write the first backtest's model card here")
    args = parser.parse_args()
    print(f"# {' '.join(['python', *sys.argv])}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        data, as_of = args.data, args.as_of
        if data is None:
            from features.simulator import simulate
            from features.simulator.settings import SimulatorSettings

            data = Path(tmp) / "net"
            as_of = as_of or simulate(data, SimulatorSettings()).as_of
        as_of = as_of or time.strftime("%Y-%m-%d")
        if args.only in (None, "scoring"):
            scoring(data, as_of, args.runs)
        if args.only in (None, "commands"):
            commands(data, as_of, args.runs, args.card)


if __name__ == "__main__":
    main()
