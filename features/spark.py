"""Apache Spark as the engine of the heavy passes, for networks one machine cannot hold.

Only what is large runs on Spark: finding the order lines that need a row-level look
(features.suspects, the same SQL as DuckDB's) and reducing the lines to dealer x
month aggregates (features.orderlines). What is small after that (the suspect lines'
checks, the dealer x month arrays, the catalog's features, labels, peers) runs on the
driver with the code every engine shares, so there is one definition of each.

pyspark is optional (`pip install 'dealer-risk[spark]'`, with Java 17); the session comes
from standard configuration: Spark Connect when $SPARK_REMOTE is set, else the master in
the settings (`spark.master`, e.g. `yarn` or `spark://host:7077`), else `local[*]`.
"""

from __future__ import annotations

import functools
import os
import sys

from features.reading import ContractError
from features.settings import SparkSettings


class EngineUnavailable(ContractError):
    """The Spark engine was asked for but cannot start; the message says what is missing."""


def session(settings: SparkSettings, timezone: str):
    """The process's Spark session (created on first use, then shared)."""
    return _session(settings.master, settings.driver_memory,
                    tuple(sorted(settings.config.items())), timezone)


@functools.lru_cache(maxsize=1)
def _session(master: str | None, driver_memory: str, config: tuple, timezone: str):
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailable("engine 'spark' needs pyspark: pip install "
                                "'dealer-risk[spark]' (and Java 17 or later)") from None
    builder = SparkSession.builder.appName("dealer-risk")
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        builder = builder.remote(remote)
    else:
        # the executors' Python is this one, with this project's packages
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if master or "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit
            master = master or "local[*]"
            builder = builder.master(master).config("spark.driver.memory", driver_memory)
        if master and master.startswith("local"):  # one machine: few partitions, no UI
            builder = (builder.config("spark.ui.enabled", "false")
                       .config("spark.sql.shuffle.partitions", str(2 * (os.cpu_count() or 2))))
    builder = (builder.config("spark.sql.session.timeZone", timezone)
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    for key, value in config:
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # no Java, a master that does not answer
        raise EngineUnavailable(f"Spark did not start ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}); Java 17 "
                                "or later must be installed, and the master reachable") from None
    if not remote:
        spark.sparkContext.setLogLevel("ERROR")
    return spark
