"""`POST /v1/webhooks/<source id>`: the webhook destinations of Segment, RudderStack and
PostHog, so a team connects Tipoff where it already collects events, with no code.

The source (from the URL) says what to expect. Its proof is checked on the raw body before
anything is parsed: Segment's `X-Signature` (hex HMAC-SHA1 of the body with the shared
secret), or the header the source was created with. Then the body, one event, goes the
way of `/v1/*`: the same limits, validation, event names, identity, messageId dedupe
(PostHog's event `uuid`) and `{code, message}` errors, in one transaction.

A request without that proof gets one answer, whatever was wrong: no such source, a
revoked or api one, a missing header, a wrong signature, no TIPOFF_SECRET_KEY. Telling
these apart would let anyone list the webhook sources and learn their names; the reason is
logged for the operator instead.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tipoff.errors import InvalidInput, Unauthorized
from tipoff.ingest.posthog import parse_posthog
from tipoff.ingest.segment import CALL_KINDS, MAX_EVENT_BYTES, SegmentCall, decode_json, parse_call
from tipoff.names import SIGNATURE_HEADER
from tipoff.runtime import Runtime
from tipoff.sources import (
    body_signature,
    derived_secret,
    hash_write_key,
    webhook_source,
)
from tipoff.store.sources import Source
from tipoff.web.ingest_api import read_body, store_and_answer

log = logging.getLogger(__name__)

# The one answer to a webhook request without its source's proof (see the module docstring).
NOT_AUTHENTICATED = (
    "not authenticated as a webhook source: check the destination's URL and its secret "
    "against `tipoff sources list` (the server's log says what did not match)"
)


def webhook_routes() -> list[BaseRoute]:
    return [Route("/v1/webhooks/{source_id}", _webhook, methods=["POST"])]


async def _webhook(request: Request) -> Response:
    # The body (bounded) is read before any check, for every request alike: a signature
    # needs it, and whether it was read must not tell one source from another either.
    body = await read_body(request, MAX_EVENT_BYTES, "one webhook event")
    source = await _authenticated_source(request, body)
    return await store_and_answer(request, source, webhook_calls(source.kind, decode_json(body)))


async def _authenticated_source(request: Request, body: bytes) -> Source:
    """The live webhook source the URL names, if `request` carries its proof for `body`;
    otherwise Unauthorized with the one message, and the reason logged."""
    runtime: Runtime = request.app.state.runtime
    source_id: str = request.path_params["source_id"]
    secret_key = runtime.settings.secret_key
    try:
        async with runtime.db.transaction() as conn:
            source = await webhook_source(conn, source_id=source_id)
        verify(
            source, request, body, server_key=secret_key.get_secret_value() if secret_key else None
        )
    except Unauthorized as refused:
        # The reasons name sources and headers, never a secret or what was sent as one.
        log.warning("refused a webhook request (URL id %.40r): %s", source_id, refused.message)
        raise Unauthorized(NOT_AUTHENTICATED) from None
    return source


def verify(source: Source, request: Request, body: bytes, *, server_key: str | None) -> None:
    """Unauthorized unless `request` carries `source`'s proof for exactly `body`."""
    if source.auth_header is not None:
        given = request.headers.get(source.auth_header)
        if not given:
            raise Unauthorized(
                f"missing {source.auth_header} header: add it to the destination with "
                f"source {source.name!r}'s secret as its value"
            )
        if not hmac.compare_digest(hash_write_key(given.strip()), source.write_key_hash):
            raise Unauthorized(
                f"the {source.auth_header} header is not source {source.name!r}'s secret"
            )
        return
    if server_key is None or source.secret_salt is None:
        raise Unauthorized(
            f"source {source.name!r} checks {SIGNATURE_HEADER}, but this server has no "
            "TIPOFF_SECRET_KEY to derive its secret from: set the one it was created with"
        )
    given = request.headers.get(SIGNATURE_HEADER)
    if not given:
        raise Unauthorized(
            f"missing {SIGNATURE_HEADER} header: set the destination's Shared Secret to "
            f"source {source.name!r}'s secret"
        )
    expected = body_signature(derived_secret(server_key, source.secret_salt), body)
    # Header values arrive as latin-1 text; compared as bytes, whatever they hold.
    if not hmac.compare_digest(given.strip().lower().encode("latin-1"), expected.encode()):
        hint = ""
        if body.lstrip().startswith(b"["):
            hint = (
                " (a batch: Segment signs only its first event, so a batch cannot be "
                "verified; turn batching off in the mapping)"
            )
        raise Unauthorized(
            f"{SIGNATURE_HEADER} does not match the body signed with source "
            f"{source.name!r}'s secret{hint}"
        )


def webhook_calls(kind: str, body: dict[str, Any]) -> list[SegmentCall]:
    """The calls one webhook body of a `kind` source stands for."""
    if kind == "posthog-webhook":
        return parse_posthog(body)
    # Segment (classic and Actions) and RudderStack send the event as their spec has it.
    call_type = body.get("type")
    if call_type == "delete" and kind == "segment-webhook":
        raise InvalidInput(
            "Segment's deletion notices are not acted on: erase the person with "
            "`tipoff forget EMAIL`",
            code="unsupported_type",
        )
    if not isinstance(call_type, str) or call_type not in CALL_KINDS:
        expected = ", ".join(CALL_KINDS)
        raise InvalidInput(
            "type: field required (one of " + expected + ")"
            if call_type is None
            else f"type: unknown type {call_type!r} (expected one of {expected})",
            code="invalid_payload",
        )
    return [parse_call(call_type, body)]
