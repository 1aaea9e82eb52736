"""The models layer's errors that the command line reports, importable without MLflow."""

from __future__ import annotations


class StoreUnreachable(RuntimeError):
    """The tracking store cannot be used at all (a server that does not answer, a SQLite
    file that is not a database): said at once, instead of after minutes of retries."""
