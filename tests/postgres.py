"""A real PostgreSQL for the store's tests, started by the test run itself: a throwaway
cluster (initdb) in a temporary folder, on a free loopback port, stopped at the end.

Debian's postgresql package puts the server's programs in /usr/lib/postgresql/N/bin
(`./run test` installs it). PostgreSQL refuses to run as root: as root, the cluster is
made and run as the package's `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path


def server_bin(program: str) -> str | None:
    found = shutil.which(program)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server(folder: Path):
    """Yields a SQLAlchemy URL to an empty database of a fresh cluster."""
    initdb, pg_ctl = server_bin("initdb"), server_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("no PostgreSQL server programs (initdb, pg_ctl): `./run test` "
                           "installs Debian's postgresql package")
    as_user: list[str] = []
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        folder.chmod(0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l",
                    str(folder / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
