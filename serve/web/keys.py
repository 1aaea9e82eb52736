"""The API keys in force, and their roles: added or withdrawn without a restart.

Keys come from two places: `api_keys` in the settings (TOML or DEALER_RISK_API_KEYS; fixed
for the life of the process) and, when `api.keys_file` is set, a JSON file
`{"key": "reader" | "admin", ...}` that every worker re-reads when it changes (checked at
most every `api.keys_check_seconds`, and at once on POST /v1/admin/reload). Withdrawing a
key from the file ends its API access and its dashboard sessions within that time, in
every worker, and nobody else's.

A file that changes into something unreadable (half written, a typo) keeps the keys read
before and logs why; a file that disappears withdraws its keys. The service is open (no
key asked) only when no key is configured anywhere and no keys file is set: a keys file,
even empty, means keys are required.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from serve.settings import ROLES, Settings

log = logging.getLogger("dealer_risk.api")


class KeyFileError(ValueError):
    """The keys file cannot be used; the message names the file and what is wrong."""


def read_key_file(path: Path) -> dict[str, str]:
    """The file's keys and roles, checked: a JSON object of non-empty keys to a role."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyFileError(f"{path}: keys file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyFileError(f"{path}: not a JSON object of keys to roles ({exc})") from None
    if not isinstance(data, dict):
        raise KeyFileError(f"{path}: not a JSON object of keys to roles")
    for key, role in data.items():
        if not key.strip():
            raise KeyFileError(f"{path}: an empty key")
        if role not in ROLES:
            raise KeyFileError(f"{path}: key ending '{key[-4:]}' has role {role!r}; "
                               f"allowed: {', '.join(ROLES)}")
    return dict(data)


def role_of(key: str | None, keys: Mapping[str, str]) -> str | None:
    """The key's role; every configured key is compared in constant time."""
    found = None
    for known, role in keys.items():
        if key is not None and hmac.compare_digest(key.encode(), known.encode()):
            found = role
    return found


class KeyRing:
    """The keys of the settings and of the keys file, the file re-read when it changes."""

    def __init__(self, settings: Settings) -> None:
        self._fixed = dict(settings.api_keys)
        self._path = settings.api.keys_file
        self._every = settings.api.keys_check_seconds
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._checked = -float("inf")
        self._from_file: dict[str, str] = {}
        self.error: str | None = None
        if self._path is not None:
            self._from_file = read_key_file(self._path)  # at start, a bad file is fatal
            self._stamp = self._file_stamp()
            self._checked = time.monotonic()

    @property
    def open(self) -> bool:
        """No key asked: nothing configured anywhere (the server binds to loopback only)."""
        return self._path is None and not self._fixed

    def keys(self) -> dict[str, str]:
        """Every key in force with its role (the file's win over the settings' on a tie)."""
        self.refresh()
        return {**self._fixed, **self._from_file}

    def role_of(self, key: str | None) -> str | None:
        return role_of(key, self.keys())

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the keys file if it changed since last read; returns whether the keys
        changed. Cheap when nothing changed: one stat, at most every keys_check_seconds."""
        if self._path is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked < self._every:
            return False
        with self._lock:
            self._checked = now
            stamp = self._file_stamp()
            if stamp == self._stamp and not force:
                return False
            self._stamp = stamp
            if stamp is None:
                if self._from_file:
                    log.warning("keys file %s is gone: its keys are withdrawn", self._path)
                changed, self._from_file = bool(self._from_file), {}
                self.error = f"{self._path}: keys file not found"
                return changed
            try:
                fresh = read_key_file(self._path)
            except KeyFileError as exc:
                log.error("keys file not reloaded, the previous keys stay: %s", exc)
                self.error = str(exc)
                return False
            changed, self._from_file, self.error = fresh != self._from_file, fresh, None
            if changed:
                log.info("keys file %s reloaded: %d keys", self._path, len(fresh))
            return changed

    def _file_stamp(self) -> tuple | None:
        try:
            st = self._path.stat()  # type: ignore[union-attr]
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)
