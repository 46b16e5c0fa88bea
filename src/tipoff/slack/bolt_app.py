"""The Slack edge: one Bolt app over the Runtime, reached over HTTP or Socket Mode.

HTTP mode: Slack POSTs commands and interactivity to /slack/events; every request must
carry Slack's signature (Bolt verifies it and answers 401 otherwise). Socket Mode, when an
app-level token is set: the app dials out to Slack over a WebSocket and needs no public URL.

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
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tipoff.errors import TipoffError
from tipoff.runtime import Runtime
from tipoff.slack.audience import only_our_people
from tipoff.slack.listeners import register_all
from tipoff.slack.listeners.commands import SORRY

log = logging.getLogger(__name__)


class SlackEdge:
    def __init__(self, runtime: Runtime) -> None:
        """`runtime.slack` is the Web API client every listener uses (its token is the
        bot token); the signing secret and app token are read from `runtime.settings`."""
        if runtime.slack is None:
            raise ValueError("SlackEdge needs a Slack client: set SLACK_BOT_TOKEN")
        settings = runtime.settings
        self.runtime = runtime
        secret = settings.slack_signing_secret
        # Token and signing secret are passed explicitly: given None, Bolt would quietly
        # fall back to reading the environment. An empty secret makes every HTTP request
        # fail verification, which is right for a Socket-Mode-only setup.
        self.app = AsyncApp(
            client=runtime.slack,
            signing_secret=secret.get_secret_value() if secret is not None else "",
            name="tipoff",
            logger=logging.getLogger("tipoff.slack.bolt"),
        )
        self.app.error(_log_and_answer)
        self.app.use(only_our_people(runtime.audience, runtime.clock))
        register_all(self.app, runtime)
        self._http = AsyncSlackRequestHandler(self.app)
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
        """One HTTP request from Slack, verified and dispatched by Bolt; a body of a shape
        Slack never sends is a 400, never a 500."""
        # Bolt reads the body into its context before it checks the signature, and crashes
        # on a payload that is not a JSON object; such a body cannot be from Slack at all.
        problem = slack_body_problem(await request.body(), request.headers.get("content-type", ""))
        if problem is not None:
            return JSONResponse({"code": "invalid_request", "message": problem}, status_code=400)
        try:
            return await self._http.handle(request)
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
    """Why `body` cannot be a request from Slack, or None when its shape is plausible."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            payload: object = json.loads(text)
        else:
            form = parse_qs(text, keep_blank_values=True)
            if "payload" not in form:
                return None  # a slash command: plain form fields
            payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, ValueError):
        return "the body is not valid UTF-8 form data or JSON"
    return None if isinstance(payload, dict) else "the payload must be a JSON object"


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
    if isinstance(error, SQLAlchemyError | OSError):
        return None
    return BoltResponse(status=error.status if isinstance(error, TipoffError) else 400, body="")
