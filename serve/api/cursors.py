"""Opaque page cursors: what the client passes back to get the next page."""

from __future__ import annotations

import base64
import binascii
import json

from fastapi import HTTPException


def encode_cursor(cursor: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


def decode_cursor(text: str, keys: set[str]) -> dict:
    """The cursor, or 422 if it is not one this API issued (with these keys)."""
    try:
        padded = text + "=" * (-len(text) % 4)
        cursor = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(cursor, dict) or keys - set(cursor):
            raise ValueError
        return cursor
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(422, "cursor is not one this API issued") from None
