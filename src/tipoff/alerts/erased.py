"""Alerts that Slack already shows, updated after an erasure rewrote their stored rows:
each is redrawn from its row as a click redraws it (alerts.redraw). Called by the erasure
(tipoff.privacy) and by delivery, for an alert posted while an erasure rewrote it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from tipoff.alerts.redraw import redraw
from tipoff.runtime import Runtime


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """A message Slack shows (here, a posted alert), by the channel and ts it has there.
    (store.alerts.PostedAlert is the stored alert behind one, with its blocks.)"""

    channel: str
    ts: str


@dataclass(frozen=True, slots=True)
class SlackUpdate:
    """What became of the posted alerts that named an erased person: `left` are those
    Slack still shows as they were (Slack is not configured, or refused the update,
    with its error in `failed`)."""

    configured: bool
    updated: int
    failed: tuple[tuple[PostedMessage, str], ...]
    left: tuple[PostedMessage, ...]


async def update_posted_alerts(runtime: Runtime, posted: Sequence[PostedMessage]) -> SlackUpdate:
    """Updates each alert in `posted` in Slack (chat.update) from its stored, erased row,
    drawn as a click redraws it (verdicts, owner, snooze), so nothing else on it changes.
    A message Slack refuses to update is reported with Slack's error, not raised: the
    erasure in the database stands either way."""
    if runtime.slack is None:
        return SlackUpdate(configured=False, updated=0, failed=(), left=tuple(posted))
    updated = 0
    failed: list[tuple[PostedMessage, str]] = []
    for message in posted:
        try:
            if not await redraw(runtime, runtime.slack, message.channel, message.ts):
                failed.append((message, "a bundle of several accounts, left as posted"))
                continue
        except SlackApiError as exc:
            data = exc.response.data
            error = data.get("error") if isinstance(data, Mapping) else None
            failed.append(
                (message, f"{error or 'no error code'} (HTTP {exc.response.status_code})")
            )
        except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            failed.append((message, type(exc).__name__))
        else:
            updated += 1
    return SlackUpdate(
        configured=True,
        updated=updated,
        failed=tuple(failed),
        left=tuple(message for message, _ in failed),
    )
