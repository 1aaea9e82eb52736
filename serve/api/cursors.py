"""Opaque page cursors: what the client passes back to get the next page."""

from __future__ import annotations

import base64
import binascii
import hashlib
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


def filters_stamp(filters: dict) -> str:
    """A short fingerprint of the filters a cursor was issued for."""
    text = json.dumps(filters, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cursor_matches(cursor: dict, *, as_of: str, filters: dict, sort: str | None = None) -> None:
    """409 naming what differs when a cursor is used with another snapshot, sort or set of
    filters than it was issued for (a cursor only continues the very list it came from)."""
    differs = []
    if cursor["as_of"] != as_of:
        differs.append(f"the snapshot (cursor: {cursor['as_of']}, now {as_of})")
    if sort is not None and cursor.get("sort") != sort:
        differs.append(f"the sort (cursor: {cursor.get('sort')}, this request: {sort})")
    if "filters" in cursor and cursor["filters"] != filters_stamp(filters):
        differs.append("the filters")
    if differs:
        raise HTTPException(409, "this cursor belongs to another list: "
                                 + "; ".join(differs) + " differ" + ("s" if len(differs) == 1
                                                                     else "")
                                 + "; start again without a cursor, or repeat the request "
                                 "the cursor came from")
