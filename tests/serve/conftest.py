"""Shared fixtures of the serving tests: the small simulated network of tests/models, and
a work directory with champions registered in a real MLflow store and two snapshots."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest
import uvicorn

from features.fingerprint import data_fingerprint
from features.monthly import history_start
from models.pipeline import RunInputs, train
from serve.batch.champions import Champions
from serve.batch.plan import UNPROVEN, snapshot_effects
from serve.batch.roster import roster
from serve.batch.scoring import score_batch
from serve.batch.snapshots import write_snapshot
from serve.batch.support import snapshot_support
from serve.settings import Settings
from tests.models.conftest import network, small_settings  # noqa: F401  (network: a fixture)

READER = {"X-API-Key": "reader-key-123"}
ADMIN = {"X-API-Key": "admin-key-456"}


def make_settings(work, **changes) -> Settings:
    models = small_settings()
    models.tracking.tracking_uri = f"sqlite:///{work / 'mlflow.db'}"
    return Settings(work_dir=work, models=models,
                    api_keys={READER["X-API-Key"]: "reader", ADMIN["X-API-Key"]: "admin"},
                    api={"reload_check_seconds": 0, "page_size": 50}, **changes)


@pytest.fixture(scope="session")
def served(network, tmp_path_factory):  # noqa: F811  (the imported fixture)
    """Train and register on the small network; score two monthly snapshots. Shared by
    the serving tests, which read it (the reload test rewrites a snapshot with the same
    rows): training it once per module cost 15 s each."""
    work = tmp_path_factory.mktemp("api")
    settings = make_settings(work)
    inputs = RunInputs(settings=settings.public_dump(),
                       fingerprint=data_fingerprint(network.loaded.report),
                       data_dir=str(network.data_dir))
    result = train(network.panel, inputs, settings.models, network.labels, work)
    from models.tracking import load_registered
    bundles = {m: load_registered(f"dealer-risk-{m}")[0] for m in ("churn", "decline",
                                                                     "forecast")}
    newest = network.panel["cutoff"].max()
    # 36 months are too few for `train` to judge a leave model (tests/models/
    # test_leave_model.py trains one on 40); fitted here so the snapshots carry the split
    from models.training import fit_models
    leave = fit_models(network.panel, newest, settings.models, network.labels,
                       models=("leave",))["leave"]
    # nor to judge a survival model (it needs a year more too); fitted here the same way
    from models.survival import fit_survival
    survival = fit_survival(network.panel, newest, settings.models, network.labels)
    champions = Champions(**bundles, versions=result.versions, leave=leave,
                          survival=survival)
    before = newest - pd.DateOffset(months=1)
    quarter = newest - pd.DateOffset(months=3)
    # scored, not written: the newest scorecard's expected losses read it, and the
    # service keeps two snapshots
    scored = {quarter: score_batch(network.loaded.tables, champions, quarter,
                                   settings).snapshot}
    start = str(history_start(network.loaded.tables))
    effects = served_effects(network, inputs, settings, work)
    for cutoff, previous in ((before, None), (newest, before)):
        batch = score_batch(network.loaded.tables, champions, cutoff, settings,
                            scored.get(previous), quarter_snapshots=scored)
        write_snapshot(batch.snapshot, work, f"{cutoff:%Y-%m-%d}", batch.population, start,
                       snapshot_support(network.loaded.tables, cutoff,
                                        settings.support.window_days), batch.reps,
                       roster(network.loaded.tables["dealers"], batch.snapshot, cutoff),
                       snapshot_effects(batch.population, batch.snapshot, cutoff, effects,
                                        settings))
        scored[cutoff] = batch.snapshot
    new, old = scored[newest], scored[before]
    return settings, new, old




def served_effects(network, inputs, settings, work):  # noqa: F811
    """An effect model fitted on the network's programs and registered, used as
    `score` uses it with plan.unproven on (it has too few pilots to pass its gate)."""
    from models.effects.pipeline import MODEL, load_effects, train_effects
    from models.tracking import CHALLENGER, CHAMPION
    models = settings.models.model_copy(update={"effects": settings.models.effects.model_copy(
        update={"min_treated": 5, "nuisance_trees": 30, "bootstrap": 20, "test_months": 6})})
    result = train_effects(network.panel, network.loaded.tables["programs"], inputs, models,
                           work)
    alias = CHAMPION if result.promote else CHALLENGER
    model, version = load_effects(f"dealer-risk-{MODEL}", alias)
    return model, version, "champion" if result.promote else UNPROVEN


@pytest.fixture(scope="module")
def client(served):
    """The real app on the served snapshot, through Starlette's test client."""
    from fastapi.testclient import TestClient

    from serve.app import create_app
    settings, _, _ = served
    with TestClient(create_app(settings)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def uvicorn_server(app) -> Iterator[str]:
    """The app on a real uvicorn server in a thread, on a free loopback port: its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def sign_in(client, key: str, next_path: str = "/dashboard", **kwargs):
    """Post the sign-in form as a browser does: open the page first (it sets the CSRF
    cookie), then send its token with the key."""
    import re

    page = client.get("/dashboard/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/dashboard/login", data={"key": key, "next": next_path,
                                                 "csrf": token}, **kwargs)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run each command in an empty folder with no settings leaking in from outside."""
    import os

    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("DEALER_RISK_"):
            monkeypatch.delenv(key)
    return tmp_path
