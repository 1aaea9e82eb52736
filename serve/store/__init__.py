"""The service's own records: what people in the field tell it (known situations, with
their audit trail), kept in a real database beside the snapshots.

Scores and alerts are recomputed from the data at every run; what a rep or a manager
records is not, so it cannot live in a snapshot that the next run replaces. It lives in
a SQL database through SQLAlchemy: SQLite under the work directory by default (nothing to
set up), any SQLAlchemy URL (PostgreSQL) by `store.url`. The schema is versioned with
Alembic and brought up to date whenever the store is opened (the API's start, the
commands that use it), so an upgrade of dealer-risk never needs a manual step.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError

log = logging.getLogger("dealer_risk.store")

MIGRATIONS = Path(__file__).parent / "migrations"


def store_url(url: str | None, work_dir: Path) -> str:
    """The configured URL, or a SQLite file in the work directory."""
    if url:
        return url
    work_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(work_dir / 'store.db').resolve()}"


def migrate(engine: Engine, attempts: int = 5) -> None:
    """Bring the schema to the newest version (Alembic's `upgrade head`). Several server
    processes may start at once: a lost race on the database lock is retried."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    for attempt in range(attempts):
        try:
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            return
        except OperationalError as exc:  # another process holds the lock mid-migration
            if attempt == attempts - 1:
                raise
            log.info("store migration waits for another process (%s)", exc.orig)
            time.sleep(0.2 * 2 ** attempt)


@cache
def open_engine(url: str) -> Engine:
    """One engine per URL and process, its schema up to date. SQLite waits up to 30 s for
    a lock (two workers writing at once) and enforces foreign keys."""
    sqlite = url.startswith("sqlite")
    engine = create_engine(url, connect_args={"timeout": 30} if sqlite else {},
                           pool_pre_ping=not sqlite)
    if sqlite:
        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record):  # pragma: no branch - sqlite only
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
    migrate(engine)
    return engine
