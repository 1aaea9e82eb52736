"""The whole suite's set-up: with pytest-xdist (`./run test` runs `-n auto`), each worker
runs on its own share of the cores, so that the settings' LightGBM threads (the cores the
process may use, models.settings.available_cores), the command-line runs it starts and its
Spark session stay there. Two workers each running LightGBM on every core slowed each
other several-fold: the suite took longer on two workers than on one."""

from __future__ import annotations

import os


def pytest_configure(config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker or workers < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < workers:
        return
    index = int(worker.removeprefix("gw"))
    os.sched_setaffinity(0, cores[index::workers])
