"""The API on a real uvicorn server: reloads under concurrent requests lose none, and the
serve command refuses to expose an open API."""

from __future__ import annotations

import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from serve.app import create_app
from serve.batch.snapshots import list_snapshots, read_snapshot, write_snapshot
from tests.cli import CLI, cli_env
from tests.serve.conftest import ADMIN, READER, uvicorn_server


@pytest.fixture
def server(served):
    settings, _, _ = served
    with uvicorn_server(create_app(settings)) as url:
        yield url


def test_reloads_under_load_lose_no_request(server, served):
    settings, new, _ = served
    dealers = list(new["dealer_id"].head(20))
    newest = list_snapshots(settings.work_dir)[-1]
    frame = read_snapshot(settings.work_dir, newest)
    stop = threading.Event()
    reloads = []

    def reload_loop():
        with httpx.Client(base_url=server, timeout=30) as c:
            while not stop.is_set():
                write_snapshot(frame, settings.work_dir, newest)  # a new file: a real swap
                r = c.post("/v1/admin/reload", headers=ADMIN)
                reloads.append((r.status_code, r.json().get("reloaded")))

    def hit(i: int) -> int:
        with httpx.Client(base_url=server, timeout=30) as c:
            if i % 3 == 0:
                return c.get("/v1/risk", params={"limit": 20}, headers=READER).status_code
            return c.get(f"/v1/dealers/{dealers[i % len(dealers)]}/risk",
                         headers=READER).status_code

    reloader = threading.Thread(target=reload_loop)
    reloader.start()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(hit, range(300)))
    stop.set()
    reloader.join()
    assert codes.count(200) == len(codes)
    assert reloads and all(code == 200 for code, _ in reloads)
    assert any(changed for _, changed in reloads)


def test_serve_refuses_an_open_api_on_the_network(tmp_path):
    result = subprocess.run([*CLI, "serve", "--host", "0.0.0.0"], capture_output=True,
                            text=True, cwd=tmp_path, env=cli_env(), timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: refusing to bind 0.0.0.0 without api_keys")
