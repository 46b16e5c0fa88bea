"""Requests into the bot, built and signed exactly as Slack builds and signs them.

Slack form-encodes every request (slash commands as fields, interactivity as a single
`payload=<json>` field) and signs it: `X-Slack-Signature: v0=hex(HMAC-SHA256(secret,
"v0:{timestamp}:{body}"))` with the timestamp in `X-Slack-Request-Timestamp`. Payloads
start from the JSON fixtures in tests/fixtures/slack/, which follow real Slack payloads.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tipoff.slack.blocks import WRONG_REASONS

SIGNING_SECRET = "8f742231b10e8888abcd99e2b1f7c5a5"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "slack"


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]


def load_payload(name: str) -> dict[str, Any]:
    """A fresh copy of tests/fixtures/slack/<name>.json."""
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return copy.deepcopy(loaded)


def signature(body: str, *, secret: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> SignedRequest:
    """`body` with Slack's headers; `timestamp` defaults to now (Bolt refuses > 5 minutes)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return SignedRequest(
        body=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature(body, secret=secret, timestamp=ts),
        },
    )


def slash_command(
    text: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None, **fields: str
) -> SignedRequest:
    """`/tipoff <text>` as Slack sends it; `fields` override the fixture's (user_id …)."""
    form = load_payload("slash_command")
    form.update(text=text, **fields)
    return signed(urlencode(form), secret=secret, timestamp=timestamp)


def interactivity(
    payload: dict[str, Any], *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> SignedRequest:
    body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)})
    return signed(body, secret=secret, timestamp=timestamp)


def block_action(
    action_id: str,
    *,
    account_id: int,
    channel: str,
    ts: str,
    message_blocks: list[dict[str, Any]] | None = None,
    user_id: str = "U0MAYAREP01",
    user_name: str = "maya.rep",
) -> dict[str, Any]:
    """A button click on the message `ts` in `channel` (the fixture's block_actions)."""
    payload = load_payload("block_actions")
    payload["user"].update(id=user_id, username=user_name, name=user_name)
    payload["container"].update(channel_id=channel, message_ts=ts)
    payload["channel"]["id"] = channel
    payload["message"]["ts"] = ts
    payload["message"]["blocks"] = message_blocks or []
    action = payload["actions"][0]
    action.update(action_id=action_id, value=str(account_id))
    if action_id == "feedback_wrong":
        action["text"]["text"] = "👎 Wrong"
        action.pop("style", None)
    return payload


def view_submission(
    *,
    account_id: int,
    channel: str | None,
    ts: str | None,
    reason: str | None,
    note: str | None = None,
    user_id: str = "U0JONREP002",
    user_name: str = "jon.rep",
) -> dict[str, Any]:
    """The Wrong modal submitted with option value `reason` (None: nothing picked)."""
    payload = load_payload("view_submission")
    payload["user"].update(id=user_id, username=user_name, name=user_name)
    view = payload["view"]
    view["private_metadata"] = json.dumps({"account_id": account_id, "channel": channel, "ts": ts})
    values = view["state"]["values"]
    if reason is None:
        values["reason"]["reason"]["selected_option"] = None
    else:
        option = values["reason"]["reason"]["selected_option"]
        option["value"] = reason
        option["text"]["text"] = dict(WRONG_REASONS).get(reason, reason)
    values["note"]["note"]["value"] = note
    return payload


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str = "Ev0TIPOFF001",
    team_id: str = "T0TIPOFF1",
    secret: str = SIGNING_SECRET,
) -> SignedRequest:
    """An Events API delivery of `event` as Slack POSTs it: a JSON `event_callback`
    envelope, signed like every request."""
    body = json.dumps(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": team_id,
            "api_app_id": "A0TIPOFFAPP",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1763650800,
        }
    )
    request = signed(body, secret=secret)
    return SignedRequest(
        body=request.body, headers={**request.headers, "Content-Type": "application/json"}
    )
