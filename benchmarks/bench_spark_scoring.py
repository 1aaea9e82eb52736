"""Scoring's model stage in this process and on Spark, on the same dealers and champions.

    python benchmarks/bench_spark_scoring.py [--work .dealer-risk] [--runs 3] [--master 'local[*]']

Needs the demo's work folder (champions in its MLflow registry, its sample data). In one
process, one engine at a time: the panel at the newest cutoff, then per run the models'
outputs in process (serve.batch.scoring.model_outputs: TreeSHAP of churn and decline, the
forecast's quantiles) and on Spark (serve.batch.spark_scoring.model_outputs_on_spark:
mapInPandas by partitions of dealers), then the rest of scoring on the driver
(explanations against peers and own past, alerts, flags) from those outputs. Prints the
median of the runs, the ratio Spark / in process, and checks that the outputs are equal.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(".dealer-risk"))
    parser.add_argument("--data", type=Path, help="default: <work>/sample-data")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()

    from features.settings import ContractSettings, SparkSettings
    from features.spark import session
    from features.validation import load_data
    from models.tracking import configure, load_registered
    from serve.batch.champions import Champions, model_outputs
    from serve.batch.scoring import panel_for_scoring, score_rows, scoring_cutoff
    from serve.batch.spark_scoring import model_outputs_on_spark
    from serve.settings import Settings

    work = args.work.resolve()
    settings = Settings(work_dir=work)
    configure(settings.models.tracking, work)
    bundles = {m: load_registered(f"dealer-risk-{m}")[0] for m in ("churn", "decline",
                                                                     "forecast")}
    champions = Champions(**bundles, versions={})
    loaded = load_data((args.data or work / "sample-data").resolve(), ContractSettings())
    cutoff = scoring_cutoff(loaded.tables, None)
    population, past = panel_for_scoring(loaded.tables, cutoff, settings)
    rows = population[population["active"]].reset_index(drop=True)
    started = time.perf_counter()
    spark = session(SparkSettings(master=args.master, driver_memory="4g"), "Asia/Shanghai")
    session_s = time.perf_counter() - started
    model_outputs_on_spark(spark, rows.head(50), champions)  # the Python workers start

    def timed(fn):
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out

    here, there, rest = [], [], []
    for _ in range(args.runs):
        s, local = timed(lambda: model_outputs(rows, champions))
        here.append(s)
        s, remote = timed(lambda: model_outputs_on_spark(spark, rows, champions))
        there.append(s)
        for model, values in local.contributions.items():
            assert np.array_equal(values, remote.contributions[model]), model
        assert local.forecast.equals(remote.forecast)
        s, _ = timed(lambda: score_rows(rows, peers=rows, past=past, tables=loaded.tables,
                                        cutoff=cutoff, champions=champions,
                                        settings=settings, previous=None,
                                        outputs=remote))  # noqa: B023 (called at once)
        rest.append(s)
    m_here, m_there, m_rest = (statistics.median(x) for x in (here, there, rest))
    print(f"# python {' '.join(sys.argv)}")
    print(f"# {platform.node()} {platform.machine()} Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; median of {args.runs}")
    print(f"{len(rows):,} active dealers; Spark session start {session_s:.1f} s (once)")
    print("| stage | in process | Spark " + args.master + " |")
    print("|---|---:|---:|")
    print(f"| model outputs (TreeSHAP x2, forecast quantiles) | {m_here:.2f} s | "
          f"{m_there:.2f} s |")
    print(f"| the rest on the driver (explanations, alerts, flags) | {m_rest:.2f} s | "
          f"{m_rest:.2f} s |")
    print(f"spark / in process (model outputs): {m_there / m_here:.1f}x; outputs equal")


if __name__ == "__main__":
    main()
