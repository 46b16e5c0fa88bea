"""The Slack edge: one Bolt app over the Runtime, reached over HTTP or Socket Mode.

HTTP mode: Slack POSTs commands and interactivity to /slack/events. A request is read up
to MAX_BODY_BYTES and no further, refused with 401 unless Slack's signature matches its raw
bytes, and refused with 400 if it nests deeper than MAX_NESTING; only then is it parsed and
handed to Bolt. Socket Mode, when an app-level token is set: the app dials out to Slack
over a WebSocket and needs no public URL. Without a signing secret nothing arrives over
HTTP: /slack/events does not exist (an empty secret is a key anyone can sign with).

Tipoff serves one organisation: the workspace its bot token belongs to (auth.test) and, on
Enterprise Grid, that workspace's enterprise. Guests, and people of another organisation
in a shared channel (Slack Connect), get a short note and their clicks store nothing
(tipoff.slack.audience).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tipoff.core.nesting import nesting_depth
from tipoff.errors import TipoffError
from tipoff.runtime import Runtime
from tipoff.settings import Settings
from tipoff.slack.audience import only_our_people
from tipoff.slack_app.listeners import register_all
from tipoff.slack_app.listeners.commands import SORRY
from tipoff.store.db import is_database_failure
from tipoff.web.bodies import read_bounded

log = logging.getLogger(__name__)

# Slack's requests are small: a click or a submission carries back the message or view it
# came from, and Slack caps those at 100 blocks of at most 3,000 characters (Tipoff's own
# are a few KB). A body over 1 MB is not from Slack, and is refused as it streams in.
MAX_BODY_BYTES = 1024 * 1024
# Objects and arrays one inside another in a payload: Slack's deepest, rich text in a
# view's state, nests about a dozen.
MAX_NESTING = 64
# Bolt's own answer to a request whose signature does not match, kept for every refusal.
_NOT_SIGNED = {"error": "invalid request"}


def signing_secret(settings: Settings) -> str | None:
    """The secret Slack signs HTTP requests with; None when there is none (or it is blank),
    and /slack/events is then not served."""
    secret = settings.slack_signing_secret
    value = secret.get_secret_value() if secret is not None else ""
    return value if value.strip() else None


class SlackEdge:
    def __init__(self, runtime: Runtime) -> None:
        """`runtime.slack` is the Web API client every listener uses (its token is the
        bot token); the signing secret and app token are read from `runtime.settings`."""
        if runtime.slack is None:
            raise ValueError("SlackEdge needs a Slack client: set SLACK_BOT_TOKEN")
        self.runtime = runtime
        secret = signing_secret(runtime.settings)
        # Without a secret (Socket Mode only) no request arrives over HTTP, so there is no
        # signature for Bolt to check: Socket Mode's requests carry none.
        self._verifier = SignatureVerifier(secret) if secret is not None else None
        # Token and signing secret are passed explicitly: given None, Bolt would quietly
        # fall back to reading the environment.
        self.app = AsyncApp(
            client=runtime.slack,
            signing_secret=secret or "",
            request_verification_enabled=secret is not None,
            name="tipoff",
            logger=logging.getLogger("tipoff.slack.bolt"),
        )
        self.app.error(_log_and_answer)
        self.app.use(only_our_people(runtime.audience, runtime.clock))
        register_all(self.app, runtime)
        self._socket: AsyncSocketModeHandler | None = None

    async def start(self) -> None:
        app_token = self.runtime.settings.slack_app_token
        if app_token is None:
            log.info("Slack: HTTP mode, requests arrive at POST /slack/events")
            return
        token = app_token.get_secret_value()
        # Ask for the WebSocket URL ourselves first: given a bad token, the Socket Mode
        # client would retry for ever and start-up would hang without saying why.
        try:
            opened = await self.app.client.apps_connections_open(app_token=token)
        except SlackApiError as exc:
            error = exc.response.get("error") or f"HTTP {exc.response.status_code}"
            raise TipoffError(
                f"Slack refused SLACK_APP_TOKEN ({error}): it must be an app-level token "
                "(xapp-…) with the connections:write scope, from the app's Basic Information."
            ) from None
        self._socket = AsyncSocketModeHandler(self.app, app_token=token, logger=log)
        self._socket.client.wss_uri = opened["url"]
        await self._socket.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack: Socket Mode connected")

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None

    async def handle(self, request: Request) -> Response:
        """One HTTP request from Slack: its signature checked on the raw bytes, read to
        MAX_BODY_BYTES at most; then a body of a shape or depth Slack never sends is a 400,
        never a 500; then Bolt dispatches it (and checks the signature again)."""
        timestamp = request.headers.get("x-slack-request-timestamp")
        signature = request.headers.get("x-slack-signature")
        if self._verifier is None or not timestamp or not signature:
            return JSONResponse(_NOT_SIGNED, status_code=401)  # before reading any of it
        body = await read_bounded(request, MAX_BODY_BYTES, "a Slack request")
        try:
            signed = self._verifier.is_valid(body, timestamp, signature)
        except ValueError:  # a timestamp that is not a number, a body that is not UTF-8
            signed = False
        if not signed:
            return JSONResponse(_NOT_SIGNED, status_code=401)
        problem = slack_body_problem(body, request.headers.get("content-type", ""))
        if problem is not None:
            return JSONResponse({"code": "invalid_request", "message": problem}, status_code=400)
        try:
            return to_starlette_response(
                await self.app.async_dispatch(to_async_bolt_request(request, body))
            )
        except Exception:
            # Our listeners' errors are caught by Bolt's error handler; what escapes Bolt is
            # Bolt failing to read a payload of a shape Slack never sends (e.g. block_actions
            # without actions). That is bad input, not a server fault.
            log.exception("Slack request could not be dispatched")
            return JSONResponse(
                {"code": "invalid_request", "message": "the Slack payload has an unexpected shape"},
                status_code=400,
            )


def slack_body_problem(body: bytes, content_type: str) -> str | None:
    """Why `body` cannot be a request from Slack, or None when its shape is plausible. It
    is read as Bolt reads it: JSON when so declared or when it starts with "{", otherwise
    form fields, of which `payload` (the last one, if repeated) holds JSON."""
    too_deep = f"the payload nests more than {MAX_NESTING} levels of objects and arrays"
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json") or text.startswith("{"):
            payload: object = json.loads(text)
        else:
            form = parse_qs(text, keep_blank_values=True)
            if "payload" not in form:
                return None  # a slash command: plain form fields
            payload = json.loads(form["payload"][-1])
    except (UnicodeDecodeError, ValueError):
        return "the body is not valid UTF-8 form data or JSON"
    except RecursionError:  # json.loads recurses: nested deeper than Python can follow
        return too_deep
    if not isinstance(payload, dict):
        return "the payload must be a JSON object"
    if nesting_depth(payload, limit=MAX_NESTING) > MAX_NESTING:
        return too_deep
    return None


async def _log_and_answer(
    error: Exception, body: dict[str, Any], response: BoltResponse | None
) -> BoltResponse | None:
    """Bolt's last resort for an exception in a listener: log the traceback (never the
    body: it carries Slack's verification token). A slash command still gets a short
    apology rather than "dispatch_failed". A click or modal submission that failed before
    it was acknowledged was not stored (listeners store first), so it is not answered
    200, which Slack would show the rep as kept: a database failure keeps Bolt's 500,
    our own refusals their status (an account gone: 404), a payload the listener could
    not read is a 400."""
    kind = body.get("type") or ("slash_command" if "command" in body else "unknown")
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    log.error("Slack %s from %s failed", kind, user, exc_info=error)
    if response is None:  # acknowledged already: nothing more to say to Slack
        return None
    if "command" in body:
        return BoltResponse(status=200, body=SORRY)
    if is_database_failure(error) or isinstance(error, OSError):
        return None
    return BoltResponse(status=error.status if isinstance(error, TipoffError) else 400, body="")
