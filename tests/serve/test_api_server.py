"""The API on a real uvicorn server: reloads under concurrent requests lose none, and the
serve command refuses to expose an open API."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from serve.api.app import create_app
from serve.snapshots import list_snapshots, read_snapshot, write_snapshot
from tests.serve.conftest import ADMIN, READER
from tests.serve.test_cli import CLI, _env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(served):
    settings, _, _ = served
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


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
                            text=True, cwd=tmp_path, env=_env(), timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: refusing to bind 0.0.0.0 without api_keys")
