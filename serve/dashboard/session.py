"""Dashboard sign-in: a reader key is checked once, then a signed, expiring session cookie.

The cookie carries a fingerprint of the key and an expiry, signed with HMAC-SHA256; never
the key itself. The role comes from the settings at each request, so removing a key from
`api_keys` ends its sessions at once. Stateless, so every uvicorn worker accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from serve.settings import Settings

COOKIE = "dealer_risk_session"


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _secret(settings: Settings) -> bytes:
    if settings.api.session_secret:
        return settings.api.session_secret.encode()
    material = "\n".join(sorted(settings.api_keys))
    return hashlib.sha256(b"dealer-risk-session\n" + material.encode()).digest()


def _sign(payload: bytes, settings: Settings) -> str:
    return hmac.new(_secret(settings), payload, hashlib.sha256).hexdigest()


def issue(key: str, settings: Settings, now: float | None = None) -> str:
    """The cookie value for a key that has been checked."""
    expires = int((now or time.time()) + settings.api.session_hours * 3600)
    payload = base64.urlsafe_b64encode(json.dumps(
        {"k": _fingerprint(key), "e": expires}).encode())
    return f"{payload.decode()}.{_sign(payload, settings)}"


def role_of_session(value: str | None, settings: Settings,
                    now: float | None = None) -> str | None:
    """The role of a valid, unexpired session whose key is still configured."""
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(payload.encode(), settings)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        fingerprint, expires = str(data["k"]), float(data["e"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires < (now or time.time()):
        return None
    for key, role in settings.api_keys.items():
        if hmac.compare_digest(_fingerprint(key), fingerprint):
            return role
    return None
