"""Sends the alert outbox to Slack, paced by Slack's answers, never dropping an alert.

An alert is a row of `alerts` with status "pending" until Slack has accepted it. Each run
takes the due alerts oldest first and, for each one:

1. claims it in a short transaction (its next attempt is pushed a lease ahead), so a
   second delivery run, in this process or another replica, leaves it alone;
2. posts it with chat.postMessage, as stored at that moment: to its owner's DM when it
   has one (an email owner is looked up with users.lookupByEmail, once), to its channel
   otherwise or when the DM cannot be reached; about one a second into any one channel
   (Slack's per-channel pace). The channel is worked out again now, from the current
   TIPOFF_ALERT_CHANNEL and model routing, so fixing a wrong channel also rescues the
   alerts queued for it;
3. records the outcome in its own transaction: "sent" with the channel ID and ts Slack
   gave, a later next attempt, or "failed" with Slack's reason. When `tipoff forget`
   rewrote the alert while it was on its way, the message is updated in Slack at once.

A crash between 2 and 3 can post that one alert twice (once the lease runs out); nothing
else can. What a refusal leads to is decided by tipoff.slack.failures:

- 5xx, timeouts and Slack's internal errors are retried with exponential back-off capped
  at an hour; a 429 holds the whole outbox until Slack's Retry-After has passed;
- `not_in_channel` in a public channel given by ID: Tipoff joins it and posts again;
- a refusal that cannot succeed as it is (channel_not_found, is_archived, missing_scope,
  msg_too_long, invalid_blocks …) marks the alert "failed" with the reason, keeping its
  content: `tipoff alerts --retry` queues it again once the cause is fixed; so does
  Tipoff's own refusal to post into a channel shared with another organisation
  (channel_externally_shared, unless TIPOFF_ALERT_SHARED_CHANNELS; tipoff.slack.audience);
- a dead token (invalid_auth, token_revoked, account_inactive) pauses all posting
  (tipoff.slack.install_state); the alert stays pending, and is sent once the token works.

Without Slack configured, each alert is printed once to the console and stays queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tipoff.alerts.erased import PostedMessage, update_posted_alerts
from tipoff.controls import strip_controls
from tipoff.core.routing import Track, alert_channel
from tipoff.runtime import Runtime
from tipoff.slack.blocks import SlackMessage, message_as_text
from tipoff.slack.failures import (
    SLACK_CALL_ERRORS,
    FailureKind,
    SlackFailure,
    failure_of,
)
from tipoff.slack.install_state import may_post, pause_if_token_dead
from tipoff.slack.posting import post_message
from tipoff.store import alerts as alert_rows
from tipoff.store.accounts import routed_accounts
from tipoff.store.alerts import ClaimedAlert
from tipoff.store.slack_users import looked_up_user, remember_user

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
# Slack names a Retry-After on every 429; this is for a proxy that answers 429 without one.
DEFAULT_RETRY_AFTER = timedelta(seconds=30)
# Slack's rate for posting into one channel: about one message a second.
PACE_SECONDS = 1.0
# How long a claimed alert is left alone while its post is in flight.
CLAIM_LEASE = timedelta(minutes=2)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # attempts that failed and were rescheduled
    previewed: int = 0  # printed to the console because Slack is not configured
    rate_limited_until: datetime | None = None  # set when a 429 stopped the run
    failed: int = 0  # refused for good: marked failed with Slack's reason
    paused: bool = False  # posting is paused (a dead token): nothing was tried


async def deliver_pending_alerts(
    runtime: Runtime, *, limit: int = 50, pace_seconds: float = PACE_SECONDS
) -> DeliveryReport:
    """Delivers up to `limit` due alerts (see the module docstring for the guarantees),
    at most one per `pace_seconds` into any one channel or DM."""
    report = DeliveryReport()
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        rows = await alert_rows.due_alerts(
            conn, now=now, limit=limit, unpreviewed_only=runtime.slack is None
        )
    if runtime.slack is None:
        for row in rows:
            if await _preview(runtime, row.id):
                report.previewed += 1
        return report
    # Asked even with nothing due: while posting is paused, this is the job that finds
    # (once every PROBE_EVERY) that the token works again and resumes it.
    if not await may_post(runtime):
        report.paused = True
        return report
    if not rows:
        return report

    last_post: dict[str, float] = {}
    for row in rows:
        # Slack takes about one message a second per channel: a second alert for the same
        # place waits out the rest of that second (a 429 remains the backstop).
        place = row.owner_user_id or row.owner_email or row.target
        if place in last_post:
            wait = last_post[place] + pace_seconds - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        alert = await _claim(runtime, row.id)
        if alert is None:
            continue  # taken by another run, or already sent
        channel = await _destination(runtime, alert)
        try:
            response, posted = await _post(runtime, runtime.slack, alert, channel)
        except SLACK_CALL_ERRORS as exc:
            failure = failure_of(exc)
            if failure.kind is FailureKind.RATE_LIMITED:
                seconds = failure.retry_after
                until = runtime.clock() + (
                    timedelta(seconds=seconds) if seconds else DEFAULT_RETRY_AFTER
                )
                await _retry(runtime, alert, at=until, error=failure.summary)
                await _hold_outbox(runtime, until)
                report.retrying += 1
                report.rate_limited_until = until
                log.warning(
                    "Slack rate-limited alert %s; holding the outbox until %s",
                    alert.id,
                    until.isoformat(),
                )
                break
            if await pause_if_token_dead(runtime, failure):
                # Not the alert's fault: it waits, uncounted, for the token to work again.
                await _retry(runtime, alert, at=runtime.clock(), error=failure.summary, count=0)
                report.paused = True
                break
            if failure.kind is FailureKind.TRANSIENT:
                await _back_off(runtime, alert, channel, failure.summary)
                report.retrying += 1
                continue
            await _fail(runtime, alert, channel, failure)
            report.failed += 1
        else:
            last_post[place] = time.monotonic()
            await _mark_sent(
                runtime, alert, channel=response["channel"], ts=response["ts"], posted=posted
            )
            report.sent += 1
    return report


async def _destination(runtime: Runtime, alert: ClaimedAlert) -> str:
    """The channel for `alert` under the current settings and model routing (the owner's
    DM aside), recorded as its target when that changed since it was queued."""
    async with runtime.db.transaction() as conn:
        account = (await routed_accounts(conn, [alert.account_id])).get(alert.account_id)
        if account is None:
            return alert.target
        channel = alert_channel(
            Track(alert.track),
            employees=account.employees,
            region=account.region,
            routing=runtime.model.routing,
            default=runtime.settings.alert_channel,
        )
        if channel != alert.target:
            await alert_rows.set_target(conn, alert.id, channel)
    if channel != alert.target:
        log.info(
            "alert %s: queued for %s, now goes to %s (the settings or routing changed)",
            alert.id,
            alert.target,
            channel,
        )
    return channel


async def _post(
    runtime: Runtime, slack: AsyncWebClient, alert: ClaimedAlert, channel: str
) -> tuple[Any, SlackMessage]:
    """Posts to the owner's DM when the alert has an owner Slack can reach, else (and when
    the DM fails) to `channel`, joining it first when Slack says Tipoff is not in it.
    Slack's answer, and the message as posted: as stored at that moment, which is not
    as claimed when an erasure rewrote it meanwhile (tipoff.privacy)."""
    if alert.owner_user_id or alert.owner_email:
        dm = await _owner_dm(runtime, slack, alert)
        if dm is not None:
            try:
                message = await _stored_message(runtime, alert.id)
                return await slack.chat_postMessage(
                    channel=dm, text=message.text, blocks=message.blocks
                ), message
            except SlackApiError as exc:
                failure = failure_of(exc)
                if failure.kind in (FailureKind.RATE_LIMITED, FailureKind.INSTALL):
                    raise
                log.warning(
                    "alert %s: the owner's DM refused it (%s); posting to %s",
                    alert.id,
                    failure.summary,
                    channel,
                )
    await runtime.audience.check_channel(
        slack,
        channel,
        allow_external=runtime.settings.alert_shared_channels,
        now=runtime.clock(),
    )
    message = await _stored_message(runtime, alert.id)
    return await post_message(
        slack, channel=channel, text=message.text, blocks=message.blocks
    ), message


async def _stored_message(runtime: Runtime, alert_id: int) -> SlackMessage:
    async with runtime.db.transaction() as conn:
        text, blocks = await alert_rows.alert_message(conn, alert_id)
    return SlackMessage(text=text, blocks=blocks)


async def _owner_dm(runtime: Runtime, slack: AsyncWebClient, alert: ClaimedAlert) -> str | None:
    """The DM channel with the alert's owner, or None when they have no Slack user."""
    user = alert.owner_user_id
    try:
        if user is None and alert.owner_email is not None:
            user = await slack_user_for(runtime, slack, alert.owner_email)
        if user is None:
            return None
        if user in runtime.dm_channels:
            return runtime.dm_channels[user]
        opened = await slack.conversations_open(users=user)
    except SlackApiError as exc:
        failure = failure_of(exc)
        if failure.kind in (FailureKind.RATE_LIMITED, FailureKind.INSTALL):
            raise
        log.warning("alert %s: cannot reach its owner (%s)", alert.id, failure.summary)
        return None
    channel = (opened.get("channel") or {}).get("id")
    if not channel:
        return None
    runtime.dm_channels[user] = str(channel)
    return str(channel)


async def slack_user_for(runtime: Runtime, slack: AsyncWebClient, email: str) -> str | None:
    """The Slack user with `email` (users.lookupByEmail), remembered in `slack_users` so each
    email is asked once; None, also remembered, when Slack knows nobody by it (or only a
    deactivated user): that answer for TIPOFF_SLACK_USER_NOT_FOUND_TTL_HOURS, then Slack
    is asked again."""
    forget_nobody_before = runtime.clock() - timedelta(
        hours=runtime.settings.slack_user_not_found_ttl_hours
    )
    async with runtime.db.transaction() as conn:
        cached = await looked_up_user(conn, email)
    if cached is not None and (
        cached.slack_user_id is not None or cached.looked_up_at > forget_nobody_before
    ):
        return cached.slack_user_id
    try:
        found = await slack.users_lookupByEmail(email=email)
        user = found.get("user") or {}
        user_id: str | None = None if user.get("deleted") else str(user.get("id") or "") or None
    except SlackApiError as exc:
        if exc.response.get("error") != "users_not_found":
            raise
        user_id = None
    async with runtime.db.transaction() as conn:
        await remember_user(conn, email, user_id, at=runtime.clock())
    return user_id


async def _claim(runtime: Runtime, alert_id: int) -> ClaimedAlert | None:
    async with runtime.db.transaction() as conn:
        return await alert_rows.claim_alert(conn, alert_id, now=runtime.clock(), lease=CLAIM_LEASE)


async def _mark_sent(
    runtime: Runtime, alert: ClaimedAlert, *, channel: str, ts: str, posted: SlackMessage
) -> None:
    """Records where Slack shows the alert; and when an erasure rewrote it while it was
    on its way (`posted` is no longer what is stored), updates it in Slack at once. An
    erasure that commits after this sees the channel and ts, and updates it itself."""
    async with runtime.db.transaction() as conn:
        stored = await alert_rows.mark_sent(
            conn, alert.id, channel=channel, ts=ts, at=runtime.clock(), attempts=alert.attempts + 1
        )
    log.info("alert %s posted to %s as %s", alert.id, channel, ts)
    if stored == (posted.text, posted.blocks):
        return
    redrawn = await update_posted_alerts(runtime, [PostedMessage(channel, ts)])
    for _, error in redrawn.failed:
        log.error(
            "alert %s: a person it named was erased while it was being posted, and Slack"
            " refused the update (%s): Slack shows it as it was before the erasure",
            alert.id,
            error,
        )


async def _back_off(runtime: Runtime, alert: ClaimedAlert, channel: str, error: str) -> None:
    delay = min(FIRST_RETRY * 2**alert.attempts, LONGEST_RETRY)
    at = runtime.clock() + delay
    await _retry(runtime, alert, at=at, error=error)
    log.warning(
        "alert %s to %s failed (%s); attempt %d, next at %s",
        alert.id,
        channel,
        error,
        alert.attempts + 1,
        at.isoformat(),
    )


async def _retry(
    runtime: Runtime, alert: ClaimedAlert, *, at: datetime, error: str, count: int = 1
) -> None:
    async with runtime.db.transaction() as conn:
        await alert_rows.reschedule(
            conn, alert.id, at=at, attempts=alert.attempts + count, error=error
        )


async def _fail(runtime: Runtime, alert: ClaimedAlert, channel: str, failure: SlackFailure) -> None:
    """Slack will not take this alert as it is: it stops being retried and waits, with its
    content and the reason, for `tipoff alerts --retry` once the cause is fixed."""
    async with runtime.db.transaction() as conn:
        await alert_rows.mark_failed(
            conn,
            alert.id,
            attempts=alert.attempts + 1,
            reason=failure.code,
            error=failure.description,
            at=runtime.clock(),
        )
    log.error(
        "alert %s to %s failed for good (%s); fix it, then `tipoff alerts --retry %s`",
        alert.id,
        channel,
        failure.description,
        alert.id,
    )


async def _hold_outbox(runtime: Runtime, until: datetime) -> None:
    """Keeps every pending alert back until `until`: Slack asked for a pause, and the
    next run must not spend it on another alert."""
    async with runtime.db.transaction() as conn:
        await alert_rows.hold_pending(conn, until=until)


async def _preview(runtime: Runtime, alert_id: int) -> bool:
    async with runtime.db.transaction() as conn:
        alert = await alert_rows.mark_previewed(conn, alert_id, at=runtime.clock())
    if alert is None:
        return False
    body = message_as_text(SlackMessage(text=alert.text, blocks=alert.blocks))
    # Names and titles in the body are data: no escape sequence of theirs reaches the
    # terminal (tipoff.controls).
    print(
        strip_controls(
            f"\n[tipoff] alert #{alert.id} for {alert.target} "
            "(Slack is not configured: it stays queued)\n"
            f"{body}\n",
            keep="\n",
        ),
        flush=True,
    )
    return True
