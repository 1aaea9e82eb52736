"""API keys are added and withdrawn without a restart (api.keys_file), in every worker;
withdrawing one ends only its API access and dashboard sessions; a broken or missing file
never opens the service."""

from __future__ import annotations

import json
import os
import subprocess
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from serve.app import create_app
from serve.web.keys import KeyFileError, KeyRing, read_key_file
from tests.cli import CLI, cli_env
from tests.serve.conftest import free_port, sign_in

NORTH, SOUTH, OPS = "team-north-key", "team-south-key", "ops-key-789"


def write_keys(path, keys: dict[str, str] | str) -> None:
    """Replace the file as an operator should: a new file renamed over the old."""
    text = keys if isinstance(keys, str) else json.dumps(keys)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def status(client, key: str) -> int:
    return client.get("/v1/risk", params={"limit": 1}, headers={"X-API-Key": key}).status_code


@pytest.fixture
def keyed(served, tmp_path):
    """The served app with no keys in the settings, only a keys file checked at once."""
    settings, _, _ = served
    path = tmp_path / "keys.json"
    write_keys(path, {NORTH: "reader", SOUTH: "reader", OPS: "admin"})
    cfg = settings.model_copy(update={"api_keys": {}, "api": settings.api.model_copy(
        update={"keys_file": path, "keys_check_seconds": 0})})
    with TestClient(create_app(cfg)) as client:
        yield client, path


def test_a_withdrawn_key_stops_working_without_a_restart(keyed):
    client, path = keyed
    assert status(client, NORTH) == 200 and status(client, SOUTH) == 200
    write_keys(path, {SOUTH: "reader", OPS: "admin", "team-east-key": "reader"})
    assert status(client, NORTH) == 401
    assert status(client, SOUTH) == 200 and status(client, "team-east-key") == 200


def test_withdrawing_a_key_signs_out_only_its_sessions(keyed):
    client, path = keyed
    north, south = {}, {}
    for key, jar in ((NORTH, north), (SOUTH, south)):
        client.cookies.clear()
        assert sign_in(client, key, follow_redirects=False).status_code == 303
        jar.update(client.cookies)
    write_keys(path, {SOUTH: "reader", OPS: "admin"})
    pages = {}
    for name, jar in (("north", north), ("south", south)):
        client.cookies.clear()
        client.cookies.update(jar)
        pages[name] = client.get("/dashboard", follow_redirects=False)
    assert pages["north"].status_code == 303
    assert pages["north"].headers["location"].startswith("/dashboard/login")
    assert pages["south"].status_code == 200


def test_a_broken_file_keeps_the_keys_and_a_missing_one_closes(keyed):
    client, path = keyed
    write_keys(path, '{"team-north-key": "reader", ')  # half written
    assert status(client, NORTH) == 200  # the keys read before stay
    reload = client.post("/v1/admin/reload", headers={"X-API-Key": OPS}).json()
    assert reload["keys_error"].startswith(f"{path}: not a JSON object of keys to roles")
    write_keys(path, {NORTH: "owner"})
    assert status(client, NORTH) == 200
    path.unlink()
    assert status(client, NORTH) == 401 and status(client, OPS) == 401
    assert status(client, "") == 401  # closed, never open


def test_the_keys_file_is_checked_when_read():
    with pytest.raises(KeyFileError, match="keys file not found"):
        read_key_file(__import__("pathlib").Path("/nonexistent/keys.json"))


@pytest.mark.parametrize("text,problem", [
    ("[1, 2]", "not a JSON object of keys to roles"),
    ('{"k": "root"}', "key ending 'k' has role 'root'; allowed: reader, field, admin"),
    ('{" ": "reader"}', "an empty key"),
])
def test_a_bad_keys_file_is_named(tmp_path, text, problem):
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(KeyFileError) as caught:
        read_key_file(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_the_ring_reads_the_file_at_most_every_check_interval(served, tmp_path):
    settings, _, _ = served
    path = tmp_path / "keys.json"
    write_keys(path, {NORTH: "reader"})
    ring = KeyRing(settings.model_copy(update={"api": settings.api.model_copy(
        update={"keys_file": path, "keys_check_seconds": 3600})}))
    assert ring.role_of(NORTH) == "reader" and not ring.open
    write_keys(path, {})
    assert ring.role_of(NORTH) == "reader"  # not looked at again yet
    assert ring.refresh(force=True) and ring.role_of(NORTH) is None
    # the settings' keys stay whatever the file says
    assert ring.role_of(next(iter(settings.api_keys))) is not None


def test_two_workers_both_follow_the_file(served, tmp_path):
    """`dealer-risk serve --workers 2`: each worker re-reads the file; after a withdrawal no
    request reaches a worker that still takes the key."""
    settings, _, _ = served
    path = tmp_path / "keys.json"
    write_keys(path, {NORTH: "reader", SOUTH: "reader"})
    config = tmp_path / "dealer-risk.toml"
    config.write_text(f'work_dir = "{settings.work_dir}"\n\n[models.tracking]\n'
                      f'tracking_uri = "{settings.models.tracking.tracking_uri}"\n\n[api]\n'
                      f'keys_file = "{path}"\nkeys_check_seconds = 0.2\n'
                      'reload_check_seconds = 0\n', encoding="utf-8")
    port = free_port()
    server = subprocess.Popen([*CLI, "--config", str(config), "serve", "--port", str(port),
                               "--workers", "2"], cwd=tmp_path, env=cli_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "the server did not get ready"
            time.sleep(0.3)

        def codes(key: str) -> set[int]:  # a new connection each: both workers answer
            return {httpx.get(f"{base}/v1/risk?limit=1", headers={"X-API-Key": key},
                              timeout=30).status_code for _ in range(30)}

        assert codes(NORTH) == {200}
        write_keys(path, {SOUTH: "reader"})
        time.sleep(1.0)
        assert codes(NORTH) == {401}
        assert codes(SOUTH) == {200}
    finally:
        server.terminate()
        server.wait(30)
