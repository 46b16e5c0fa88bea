"""Tipoff's exceptions. Each builds its own message; edges turn them into answers.

TipoffError
├── InvalidInput      bad data from a caller: the request changes nothing (HTTP 400)
├── Unauthorized      unknown or revoked write key (HTTP 401)
├── TooLarge          a body over Segment's limits (HTTP 413)
├── NotFound          no such account, source …
│   └── NoDatabase    a command that reads found no database to read
├── Conflict          the thing exists already
│   └── SchemaOutOfDate  the database's schema is not the one this Tipoff needs
└── DatabaseUnreachable  no connection to the database could be made (HTTP 503)
"""

from __future__ import annotations


class TipoffError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(TipoffError):
    code = "invalid_request"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class Unauthorized(TipoffError):
    code = "unauthorized"
    status = 401


class TooLarge(TipoffError):
    code = "payload_too_large"
    status = 413


class NotFound(TipoffError):
    code = "not_found"
    status = 404


class NoDatabase(NotFound):
    code = "no_database"


class Conflict(TipoffError):
    code = "conflict"
    status = 409


class SchemaOutOfDate(Conflict):
    code = "schema_out_of_date"


class DatabaseUnreachable(TipoffError):
    code = "database_unreachable"
    status = 503
