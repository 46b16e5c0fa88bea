"""chat.postMessage as every job uses it: into a channel Tipoff may not be in yet."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from tipoff.slack.failures import FailureKind, failure_of

log = logging.getLogger(__name__)


async def post_message(
    slack: AsyncWebClient, *, channel: str, **message: Any
) -> AsyncSlackResponse:
    """Posts `message` (text, blocks, thread_ts …) into `channel`. When Slack answers
    not_in_channel for a public channel given by its ID, joins it (conversations.join,
    the channels:join scope) and posts once more. Raises what Slack refused otherwise: a
    channel that cannot be joined (private, archived) as the original not_in_channel; a
    missing channels:join scope, a dead token or a rate limit as itself."""
    try:
        return await slack.chat_postMessage(channel=channel, **message)
    except SlackApiError as exc:
        if failure_of(exc).kind is not FailureKind.NOT_IN_CHANNEL or not joinable(channel):
            raise
        not_in_channel = exc
    try:
        await slack.conversations_join(channel=channel)
    except SlackApiError as exc:
        joining = failure_of(exc)
        if joining.kind is FailureKind.PERMANENT and joining.code != "missing_scope":
            raise not_in_channel from exc
        raise
    log.info("joined %s, which Tipoff was not in, to post there", channel)
    return await slack.chat_postMessage(channel=channel, **message)


def joinable(channel: str) -> bool:
    """conversations.join takes a public channel's ID (C…), never a name."""
    return channel.startswith("C") and channel.isalnum() and channel.isupper()
