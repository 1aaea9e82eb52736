"""Faults: `score`, `train` and `retrain` killed with SIGKILL at their riskiest moments
(features/failpoints.py), a full disk while a snapshot is written, a tracking store that
cannot be reached. After each, the previous snapshot and champions load and the API
serves them; the failures that are not kills say so in one line."""

from __future__ import annotations

import fcntl
import re
import shutil
import signal
import subprocess
import time

import pytest
from fastapi.testclient import TestClient

from tests.cli import cli_env, run_cli
from tests.serve.cli.test_cli_models import SMALL_MODELS
from tests.serve.conftest import READER, free_port

KEYS = "\n[api_keys]\n" + f'"{READER["X-API-Key"]}" = "reader"\n'
KILLED = -signal.SIGKILL


def run(args: list[str], cwd, **env) -> subprocess.CompletedProcess:
    return run_cli(args, cwd, cli_env(**env))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A network with champions and one snapshot (as of 2024-07-01), to be copied."""
    root = tmp_path_factory.mktemp("faults") / "project"
    root.mkdir()
    (root / "dealer-risk.toml").write_text(SMALL_MODELS + KEYS, encoding="utf-8")
    for step in (["simulate", "net", "--dealers", "200", "--months", "30", "--seed", "3"],
                 ["train", "net", "--as-of", "2024-07-01"], ["score", "net"]):
        done = run(step, root)
        assert done.returncode == 0, (step, done.stderr)
    return root


@pytest.fixture
def copy(project, tmp_path, monkeypatch):
    """A copy of the project to break (the registry's artefacts stay where the original
    put them: the copy's new versions are added beside them)."""
    target = tmp_path / "project"
    shutil.copytree(project, target)
    monkeypatch.chdir(target)
    return target


def snapshot_files(root) -> dict[str, bytes]:
    folder = root / ".dealer-risk" / "snapshots"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def champions(root) -> dict[str, str]:
    from serve.batch.champions import load_champions
    from serve.settings import load_settings
    return dict(load_champions(load_settings(root / "dealer-risk.toml")).versions)


def serves(root, as_of: str) -> None:
    """The real app on the copy: ready, and the risk list is the snapshot of `as_of`."""
    from serve.app import create_app
    from serve.settings import load_settings
    with TestClient(create_app(load_settings(root / "dealer-risk.toml"))) as client:
        assert client.get("/ready").status_code == 200
        page = client.get("/v1/risk", headers=READER)
        assert page.status_code == 200
        assert page.json()["meta"]["as_of"] == as_of


def test_score_killed_before_the_rename_leaves_the_snapshot_and_cleans_up_next_time(copy):
    before, versions = snapshot_files(copy), champions(copy)
    killed = run(["score", "net"], copy, DEALER_RISK_FAILPOINTS="snapshot.written=kill")
    assert killed.returncode == KILLED
    folder = copy / ".dealer-risk" / "snapshots"
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert leftovers and all(p.startswith(".2024-07-01.parquet.") for p in leftovers)
    assert {k: v for k, v in snapshot_files(copy).items() if not k.endswith(".tmp")} == {
        k: v for k, v in before.items()}
    assert champions(copy) == versions
    serves(copy, "2024-07-01")
    again = run(["score", "net"], copy)
    assert again.returncode == 0, again.stderr
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_score_killed_between_its_files_shows_no_new_snapshot(copy):
    before = snapshot_files(copy)
    killed = run(["score", "net", "--as-of", "2024-06-15"], copy,
                 DEALER_RISK_FAILPOINTS="snapshot.population=kill")
    assert killed.returncode == KILLED
    after = snapshot_files(copy)
    assert "2024-06-01.population.parquet" in after and "2024-06-01.parquet" not in after
    assert {k: after[k] for k in before} == before
    serves(copy, "2024-07-01")


def test_a_full_disk_while_writing_the_snapshot_keeps_the_previous_one(copy):
    before = snapshot_files(copy)
    full = run(["score", "net"], copy, DEALER_RISK_FAILPOINTS="snapshot.written=enospc")
    assert full.returncode == 2 and "Traceback" not in full.stderr
    said = "\n".join(line for line in full.stderr.splitlines()  # progress lines aside
                      if not re.match(r"\[ *\d+s\] ", line))
    assert " ".join(said.split()) == (
        "error: .dealer-risk/snapshots/2024-07-01.parquet: could not be written (No "
        "space left on device); the previous file, if there was one, is unchanged")
    assert snapshot_files(copy) == before  # no temporary file either
    serves(copy, "2024-07-01")


@pytest.mark.parametrize("point", ["train.registered", "train.promoted"])
def test_train_killed_while_registering_leaves_champions_that_load(copy, point):
    """Killed after the first model's version is registered (its alias not yet moved), or
    after its alias moved (the others not yet): every champion still loads and serves."""
    versions = champions(copy)
    killed = run(["train", "net", "--as-of", "2024-07-01"], copy,
                 DEALER_RISK_FAILPOINTS=f"{point}=kill")
    assert killed.returncode == KILLED
    after = champions(copy)
    assert set(after) == set(versions)
    if point == "train.registered":
        assert after == versions
    else:  # only the first model (churn) may have a new champion
        assert {m: v for m, v in after.items() if m != "churn"} == {
            m: v for m, v in versions.items() if m != "churn"}
    serves(copy, "2024-07-01")


def test_retrain_killed_before_rescoring_keeps_the_snapshot_serving(copy):
    before = snapshot_files(copy)
    killed = run(["retrain", "net"], copy, DEALER_RISK_FAILPOINTS="retrain.trained=kill")
    assert killed.returncode == KILLED
    assert snapshot_files(copy) == before
    champions(copy)  # whatever the gate decided, each champion loads
    serves(copy, "2024-07-01")
    with open(copy / ".dealer-risk" / "retrain.lock", "w") as lock:  # died with it
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.parametrize("command", [["score", "net"], ["train", "net"],
                                     ["serve", "--port", "0"]])
def test_an_unreachable_tracking_server_is_one_clear_line_at_once(copy, command):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    result = run(command, copy, DEALER_RISK_MODELS__TRACKING__TRACKING_URI=uri)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"error: the MLflow tracking server {uri} does not answer" in " ".join(
        result.stderr.split())
    assert time.monotonic() - started < 60  # not MLflow's minutes of retries


def test_a_damaged_store_file_is_named(copy):
    before = snapshot_files(copy)
    (copy / ".dealer-risk" / "mlflow.db").write_bytes(b"\0" * 4096)
    result = run(["score", "net"], copy)
    assert result.returncode == 2
    assert (f"error: the MLflow store {copy}/.dealer-risk/mlflow.db is not a SQLite "
            "database") in " ".join(result.stderr.split())
    assert snapshot_files(copy) == before


def test_failpoints_are_off_unless_named(copy, monkeypatch):
    from features.failpoints import POINTS, failpoint
    for point in POINTS:
        failpoint(point)  # nothing happens
    monkeypatch.setenv("DEALER_RISK_FAILPOINTS", "snapshot.written=explode")
    with pytest.raises(ValueError, match="unknown action 'explode'"):
        failpoint("snapshot.written")


def test_every_failpoint_is_documented():
    import re
    from pathlib import Path

    from features.failpoints import POINTS
    doc = (Path(__file__).parents[3] / "docs" / "retraining.md").read_text(encoding="utf-8")
    table = doc.split("| point | where the run stops |")[1].split("\n\n")[0]
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \| (.+) \|$", table, flags=re.MULTILINE))
    assert rows == POINTS
