"""Dashboard sign-in: a key is checked once, then a signed, expiring session cookie.

The cookie carries a fingerprint of the key and an expiry, signed with HMAC-SHA256 under a
secret derived from that key itself (and `api.session_secret`, when set); never the key.
A session is valid while its key is in force (serve.web.keys), so withdrawing one key ends
its sessions at their next request and nobody else's; changing `api.session_secret` signs
everyone out. Stateless, so every uvicorn worker accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from serve.settings import ApiSettings

COOKIE = "dealer_risk_session"


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _secret(key: str, api: ApiSettings) -> bytes:
    return hashlib.sha256(b"dealer-risk-session\n" + (api.session_secret or "").encode()
                          + b"\n" + key.encode()).digest()


def _sign(payload: bytes, key: str, api: ApiSettings) -> str:
    return hmac.new(_secret(key, api), payload, hashlib.sha256).hexdigest()


def issue(key: str, api: ApiSettings, now: float | None = None) -> str:
    """The cookie value for a key that has been checked."""
    expires = int((now or time.time()) + api.session_hours * 3600)
    payload = base64.urlsafe_b64encode(json.dumps(
        {"k": _fingerprint(key), "e": expires}).encode())
    return f"{payload.decode()}.{_sign(payload, key, api)}"


def role_of_session(value: str | None, keys: Mapping[str, str], api: ApiSettings,
                    now: float | None = None) -> str | None:
    """The role of a valid, unexpired session whose key is among `keys` (those in force)."""
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        fingerprint, expires = str(data["k"]), float(data["e"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires < (now or time.time()):
        return None
    for key, role in keys.items():
        if hmac.compare_digest(_fingerprint(key), fingerprint):
            if hmac.compare_digest(signature, _sign(payload.encode(), key, api)):
                return role
            return None
    return None


def credential_of_session(value: str | None) -> str:
    """What the audit trail keeps of the key behind a session: the first 16 characters of
    the key's fingerprint, the same as serve.service.situations.credential_of gives for the
    key sent to the API (the cookie was checked by role_of_session first)."""
    try:
        payload = value.rsplit(".", 1)[0]
        return str(json.loads(base64.urlsafe_b64decode(payload.encode()))["k"])[:16]
    except (AttributeError, ValueError, KeyError, TypeError):
        return "open"
