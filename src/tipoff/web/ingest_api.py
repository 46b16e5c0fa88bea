"""Segment-compatible HTTP Tracking API: `POST /v1/{track,identify,group,alias,page,screen,
batch}`.

Each handler finds the source by its write key (HTTP Basic user name, checked before the
body is read; or `writeKey` in the body), reads the body within Segment's size limits (gzip
accepted), validates the payload, and stores it in one transaction. `{"success": true}` means committed; anything
else is a JSON error `{code, message}` and has changed nothing.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tipoff.errors import InvalidInput, Unauthorized
from tipoff.ingest.segment import (
    CALL_KINDS,
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    CallKind,
    SegmentCall,
    decode_json,
    gunzip,
    parse_batch,
    parse_call,
    write_key_in_body,
)
from tipoff.ingest.service import store_calls
from tipoff.runtime import Runtime
from tipoff.sources import authenticate
from tipoff.store.sources import Source
from tipoff.web.bodies import read_bounded

log = logging.getLogger(__name__)


def ingest_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route(f"/v1/{kind}", _call_endpoint(kind), methods=["POST"]) for kind in CALL_KINDS
    ]
    routes.append(Route("/v1/batch", _batch, methods=["POST"]))
    return routes


def _call_endpoint(kind: CallKind) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        source, body = await _authenticated_body(request, MAX_EVENT_BYTES, "a single call")
        return await store_and_answer(request, source, [parse_call(kind, body)])

    endpoint.__name__ = f"segment_{kind}"
    return endpoint


async def _batch(request: Request) -> Response:
    source, body = await _authenticated_body(request, MAX_BATCH_BYTES, "a batch")
    return await store_and_answer(request, source, parse_batch(body))


async def _authenticated_body(
    request: Request, limit: int, what: str
) -> tuple[Source, dict[str, Any]]:
    """The source the request's write key belongs to, and its body as a JSON object.

    A key in the Authorization header is checked before the body is read. Segment also
    allows it as `writeKey` in the body, which must then be parsed to find it; a body
    that cannot be is then a request without a key (401), whatever else is wrong with
    it, so that nothing about parsing is answered to a caller not yet authenticated."""
    header = request.headers.get("authorization")
    if header:
        source = await _authenticate(request, _basic_user(header))
        return source, decode_json(await read_body(request, limit, what))
    data = await read_body(request, limit, what)
    try:
        body = decode_json(data)
    except InvalidInput:
        body = {}
    return await _authenticate(request, write_key_in_body(body)), body


async def store_and_answer(
    request: Request, source: Source, messages: list[SegmentCall]
) -> Response:
    """Stores `source`'s calls and answers 200 once they are committed: every ingest
    route ends here."""
    runtime: Runtime = request.app.state.runtime
    result = await store_calls(
        runtime, source=source, messages=messages, received_at=runtime.clock()
    )
    log.debug(
        "ingest source=%s accepted=%d duplicates=%d",
        source.id,
        result.accepted,
        result.duplicates,
    )
    return JSONResponse({"success": True})


async def _authenticate(request: Request, write_key: str | None) -> Source:
    if not write_key:
        raise Unauthorized(
            "a write key is required: HTTP Basic auth with the key as user name, "
            "or writeKey in the body"
        )
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.transaction() as conn:
        return await authenticate(conn, write_key=write_key)


def _basic_user(header: str) -> str:
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized(
            f"unsupported Authorization scheme {scheme!r}: use HTTP Basic with the write "
            "key as user name"
        )
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed HTTP Basic credentials") from None
    return decoded.partition(":")[0]


async def read_body(request: Request, limit: int, what: str) -> bytes:
    """The body, decompressed, refusing anything over `limit` bytes before and after
    decompression without reading more than `limit` + one chunk into memory."""
    data = await read_bounded(request, limit, what)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return gunzip(data, limit=limit, what=what)
    if encoding not in ("", "identity"):
        raise InvalidInput(
            f"unsupported Content-Encoding {encoding!r}: send the body plain or gzip",
            code="unsupported_encoding",
        )
    return data
