"""What in Slack delivery needs a person: failed and stuck alerts, other posts Slack
refused, and a paused workspace; and requeueing alerts once the cause is fixed.

`tipoff alerts`, `/healthz`, `/metrics` and the admin note in App Home all read this."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from tipoff.core.evidence import plural
from tipoff.core.workflow import AlertStatus
from tipoff.errors import InvalidInput, NotFound
from tipoff.runtime import Runtime
from tipoff.slack.failures import FIXES, SLACK_CALL_ERRORS, FailureKind, failure_of
from tipoff.slack.install_state import current_pause, pause_if_token_dead
from tipoff.slack.posting import post_message
from tipoff.store import alerts as alert_rows
from tipoff.store import slack_failures
from tipoff.store.db import Connection
from tipoff.store.slack_failures import RefusedPost
from tipoff.store.workspace import Pause

log = logging.getLogger(__name__)

# A pending alert still not posted this long after it was queued is "stuck".
STUCK_AFTER = timedelta(minutes=15)
# Refused reminders and digests count as a problem for this long after the refusal.
RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class TroubledAlert:
    id: int
    account: str
    target: str
    status: str  # failed | stuck
    reason: str  # Slack's error code, or the last transient error
    attempts: int
    created_at: datetime
    detail: str  # what happened and what fixes it


@dataclass
class DeliveryHealth:
    pause: Pause | None = None
    failed: dict[str, int] = field(default_factory=dict)  # failed alerts by reason
    stuck: int = 0
    refused: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, reason) → n

    def reasons(self) -> list[str]:
        """One sentence for each problem, for /healthz and the admin note."""
        said = []
        if self.pause is not None:
            said.append(
                f"Slack posting paused since {self.pause.since:%Y-%m-%d %H:%M} UTC: "
                f"{self.pause.detail or self.pause.reason}"
            )
        for reason, count in sorted(self.failed.items()):
            fix = FIXES.get(reason)
            said.append(
                f"{plural(count, 'alert')} failed: {reason}" + (f" ({fix})" if fix else "")
                + "; then `tipoff alerts --retry --all`"
            )  # fmt: skip
        if self.stuck:
            said.append(
                f"{plural(self.stuck, 'alert')} waiting over {_minutes(STUCK_AFTER)} minutes"
            )
        for (kind, reason), count in sorted(self.refused.items()):
            fix = FIXES.get(reason)
            said.append(
                f"{plural(count, kind)} refused in the last day: {reason}" + (f" ({fix})" if fix else "")
            )  # fmt: skip
        return said


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


async def delivery_health(runtime: Runtime) -> DeliveryHealth:
    now = runtime.clock()
    health = DeliveryHealth(pause=await current_pause(runtime))
    async with runtime.db.transaction() as conn:
        health.failed = await alert_rows.failed_by_reason(conn)
        health.stuck = await alert_rows.pending_since(conn, now - STUCK_AFTER)
        health.refused = await slack_failures.refusal_counts(conn, now - RECENT)
    return health


async def pending_count(runtime: Runtime) -> int:
    """How many alerts wait in the outbox to be posted."""
    async with runtime.db.transaction() as conn:
        return await alert_rows.pending_count(conn)


async def troubled_alerts(runtime: Runtime, *, limit: int = 100) -> list[TroubledAlert]:
    """Failed alerts, then stuck ones (pending for over STUCK_AFTER, or tried and not yet
    accepted), oldest first."""
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        rows = await alert_rows.troubled_alerts(conn, stuck_before=now - STUCK_AFTER, limit=limit)
    return [
        TroubledAlert(
            id=r.id,
            account=r.name or r.domain or f"account {r.id}",
            target=r.target,
            status=AlertStatus.FAILED if r.status == AlertStatus.FAILED else "stuck",
            reason=r.failure_reason
            or (r.last_error or "not tried yet").split(" (HTTP", 1)[0].split(":", 1)[0],
            attempts=r.attempts,
            created_at=r.created_at,
            detail=r.last_error or "",
        )
        for r in rows
    ]


async def refused_posts(runtime: Runtime) -> list[RefusedPost]:
    """Reminders, escalations and digests Slack refused in the last day, newest first."""
    async with runtime.db.transaction() as conn:
        return await slack_failures.refusals_since(conn, runtime.clock() - RECENT)


class Posted(Enum):
    """How a post other than an alert went (`post_or_record`)."""

    YES = "posted"
    REFUSED = "refused for good: recorded, not retried"
    LATER = "not posted: the next run retries"
    PAUSED = "not posted: the token is dead, posting is paused"


async def post_or_record(
    runtime: Runtime,
    *,
    kind: str,
    subject: str,
    channel: str,
    undo: Callable[[Connection], Awaitable[None]],
    **message: Any,
) -> Posted:
    """Posts an SLA reminder, escalation or digest (`kind` about `subject`) that the caller
    has marked as done. A refusal that cannot succeed is recorded once and left done, so
    no run retries it every minute; any other failure runs `undo` (clearing the mark, in
    its own unit of work), so
    the next run posts it, and a dead token pauses posting too."""
    assert runtime.slack is not None
    try:
        # Account names and scores are no more for another organisation than alerts are.
        await runtime.audience.check_channel(
            runtime.slack,
            channel,
            allow_external=runtime.settings.alert_shared_channels,
            now=runtime.clock(),
        )
        await post_message(runtime.slack, channel=channel, **message)
    except SLACK_CALL_ERRORS as exc:
        failure = failure_of(exc)
        if failure.kind in (FailureKind.PERMANENT, FailureKind.NOT_IN_CHANNEL):
            log.error(
                "%s %s to %s refused for good (%s)", kind, subject, channel, failure.description
            )
            await record_refusal(
                runtime, kind=kind, subject=subject, channel=channel, reason=failure.code
            )
            return Posted.REFUSED
        log.warning(
            "%s %s to %s not posted (%s); next run retries", kind, subject, channel, failure.summary
        )
        async with runtime.db.transaction() as conn:
            await undo(conn)
        if await pause_if_token_dead(runtime, failure):
            return Posted.PAUSED
        return Posted.LATER
    return Posted.YES


async def record_refusal(
    runtime: Runtime, *, kind: str, subject: str, channel: str, reason: str
) -> None:
    async with runtime.db.transaction() as conn:
        await slack_failures.record_refusal(
            conn, kind=kind, subject=subject, channel=channel, reason=reason, at=runtime.clock()
        )


async def retry_alerts(runtime: Runtime, ids: Sequence[int] | None) -> list[int]:
    """Queues failed and stuck alerts (those `troubled_alerts` lists) to be posted on
    the next delivery run: the ones in `ids`, or every one when `ids` is None. The
    channel is worked out again then, so a fixed TIPOFF_ALERT_CHANNEL applies. An id
    that is not a failed or stuck alert is an error and nothing is requeued: a sent
    alert is done, and one queued moments ago is posted on the next run anyway."""
    now = runtime.clock()
    stuck_before = now - STUCK_AFTER
    async with runtime.db.transaction() as conn:
        if ids is not None:
            if not ids:
                raise InvalidInput("name the alerts to retry, or use --all")
            found = await alert_rows.troubled_states(conn, ids, stuck_before=stuck_before)
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(f"no alert {', '.join(map(str, missing))}")
            done = [i for i in ids if not found[i][1]]
            if done:
                states = ", ".join(
                    "queued, not stuck" if found[i][0] == AlertStatus.PENDING else found[i][0]
                    for i in done
                )
                raise InvalidInput(
                    f"alert {', '.join(map(str, done))} is not failed or stuck ({states}):"
                    " nothing to retry"
                )
        requeued = await alert_rows.requeue_troubled(conn, ids, stuck_before=stuck_before, now=now)
    if requeued:
        log.info("alerts %s queued again for delivery", ", ".join(map(str, requeued)))
    return requeued
