"""The sign-in page's guards: CSRF tokens on every form, growing waits after failed
sign-ins, and the security headers of every dashboard page.

CSRF: a double-submit token. Each page sets a random token in an HttpOnly, SameSite=Strict
cookie and in a hidden field of its forms; a POST whose field does not match its cookie is
refused. Another site can make a browser post our form but can neither read nor set that
cookie.

Failed sign-ins are counted per client address and per key tried, in memory (each server
process keeps its own counts): after `api.login_free_attempts` failures each further try
must wait, 2 s, then 4, 8 ... up to `api.login_max_wait_seconds`; a success clears the
client's count.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

CSRF_COOKIE = "dealer_risk_csrf"
CSRF_FIELD = "csrf"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
"""On every dashboard page: no inline script (the pages have none), no framing, no MIME
sniffing, no full URLs (with their filters) leaked to other sites."""


def csrf_token(cookie: str | None) -> tuple[str, bool]:
    """The token this browser holds, or a new one (and whether it is new)."""
    if cookie and len(cookie) >= 32:
        return cookie, False
    return secrets.token_urlsafe(32), True


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie and submitted) and hmac.compare_digest(cookie, submitted)


@dataclass
class _Count:
    failures: int = 0
    blocked_until: float = 0.0


@dataclass
class LoginThrottle:
    free: int
    max_wait: float
    _counts: dict[str, _Count] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _keys(client: str, key: str) -> list[str]:
        return [f"client:{client}", "key:" + hashlib.sha256(key.encode()).hexdigest()[:24]]

    def wait(self, client: str, key: str, now: float | None = None) -> float:
        """Seconds this client (or this key) must still wait before trying again."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return max([0.0, *(c.blocked_until - now for k in self._keys(client, key)
                               if (c := self._counts.get(k)))])

    def failed(self, client: str, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for k in self._keys(client, key):
                c = self._counts.setdefault(k, _Count())
                c.failures += 1
                if c.failures >= self.free:
                    c.blocked_until = now + min(self.max_wait,
                                                2.0 ** (c.failures - self.free + 1))
            if len(self._counts) > 100_000:  # a flood of addresses: forget the oldest
                for k in list(self._counts)[:50_000]:
                    del self._counts[k]

    def succeeded(self, client: str, key: str) -> None:
        with self._lock:
            for k in self._keys(client, key):
                self._counts.pop(k, None)
