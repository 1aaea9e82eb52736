"""What a question about the loaded state can fail with, said without HTTP.

The service layer answers both the API and the dashboard; each turns these into its own
form (a JSON `{"detail": ...}` with the status, or a page in the reader's language). The
status a failure maps to travels with it, so the two never disagree on what a 404 is.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A question the loaded state cannot answer; `status` is its HTTP equivalent."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    """No such dealer, rep or document in the served snapshot."""

    status = 404


class Invalid(ServiceError):
    """A filter value, posted row or change the answer cannot be computed for; the message
    names it and what is allowed."""

    status = 422


class Conflict(ServiceError):
    """A change that the store's current records forbid (a second situation while one
    runs, a change to one that is over); the message says what to do instead."""

    status = 409
