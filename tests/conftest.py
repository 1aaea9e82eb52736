"""The whole suite's set-up: with pytest-xdist (`./run test` runs `-n auto`), each worker
runs on its own share of the cores, so that the settings' LightGBM threads (the cores the
process may use, models.settings.available_cores), the command-line runs it starts and its
Spark session stay there. Two workers each running LightGBM on every core slowed each
other several-fold: the suite took longer on two workers than on one."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config) -> None:
    # hand out files in LONG_FIRST's order: pytest-xdist otherwise re-sorts them by their
    # count of tests, which put a 78-second file of two tests last (see LONG_FIRST)
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker or workers < 2 or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < workers:
        return
    index = int(worker.removeprefix("gw"))
    os.sched_setaffinity(0, cores[index::workers])


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL cluster for this test process (tests/postgres.py): its URL."""
    import shutil
    import tempfile
    from pathlib import Path

    from tests.postgres import postgres_server
    folder = Path(tempfile.mkdtemp(prefix="dealer-risk-pg-"))
    folder.chmod(0o755)  # the postgres user (the server's, when run as root) walks in
    try:
        with postgres_server(folder / "cluster") as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """An empty store database on each backend the store supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    from sqlalchemy import create_engine, text
    server = request.getfixturevalue("postgres")
    name = f"t_{abs(hash(request.node.nodeid)) % 10**12}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


LONG_FIRST = (
    "tests/features/test_spark.py",
    "tests/serve/cli/test_cli_models.py",
    "tests/serve/cli/test_faults.py",
    "tests/test_notebooks.py",
    "tests/serve/cli/test_cli.py",
    "tests/serve/cli/test_first_run.py",
    "tests/serve/batch/test_scoring.py",
    "tests/serve/dashboard/test_dashboard.py",
    "tests/models/test_leave_model.py",
    "tests/serve/dashboard/test_dashboard_browser.py",
    "tests/serve/batch/test_monitor.py",
)
"""Files of half a minute or more, longest first (measured on 2 cores, 2026-12-06), and
started in this order: pytest-xdist (--dist loadfile) hands a worker the next whole file
when it is free, so with the long ones first the short ones fill in at the end and both
workers finish together. Collected in path order (or by xdist's default count of tests)
the Spark scoring file (two tests, 78 s) started last and one worker ran alone for 39 s.
A file missing here only starts later; it is never skipped."""


ONE_WORKER = {"tests/serve/batch/test_spark_scoring.py": "tests/features/test_spark.py"}
"""Files run on the same worker as another file, right after it: both Spark files use one
session (a JVM of about 1 GB that takes some 15 s to start), which a worker starts once."""


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile, with ONE_WORKER's files handed out together with their partner."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Together(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return ONE_WORKER.get(scope, scope)

    return Together(config, log)


def pytest_collection_modifyitems(session, config, items) -> None:
    rank = {path: i for i, path in enumerate(LONG_FIRST)}
    for path, partner in ONE_WORKER.items():  # right after its partner
        rank[path] = rank.get(partner, len(LONG_FIRST)) + 0.5
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(LONG_FIRST)))
