"""What in Slack delivery needs a person: failed and stuck alerts, other posts Slack
refused, and a paused workspace; and requeueing alerts once the cause is fixed.

`tipoff alerts`, `/healthz`, `/metrics` and the admin note in App Home all read this."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Executable, func, or_, select, update

from tipoff.core.evidence import plural
from tipoff.core.workflow import AlertStatus
from tipoff.errors import InvalidInput, NotFound
from tipoff.runtime import Runtime
from tipoff.slack.failures import FIXES, SLACK_CALL_ERRORS, FailureKind, failure_of
from tipoff.slack.install import current_pause, pause_if_token_dead
from tipoff.slack.posting import post_message
from tipoff.store.tables import accounts, alerts, slack_failures
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


@dataclass(frozen=True)
class RefusedPost:
    kind: str  # reminder | escalation | digest
    subject: str
    channel: str
    reason: str
    failed_at: datetime


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
        failed = await conn.execute(
            select(alerts.c.failure_reason, func.count())
            .where(alerts.c.status == AlertStatus.FAILED)
            .group_by(alerts.c.failure_reason)
        )
        health.failed = {str(reason or "unknown"): count for reason, count in failed}
        health.stuck = (
            await conn.execute(
                select(func.count()).where(
                    alerts.c.status == AlertStatus.PENDING, alerts.c.created_at <= now - STUCK_AFTER
                )
            )
        ).scalar_one()
        refused = await conn.execute(
            select(slack_failures.c.kind, slack_failures.c.reason, func.count())
            .where(slack_failures.c.failed_at > now - RECENT)
            .group_by(slack_failures.c.kind, slack_failures.c.reason)
        )
        health.refused = {(kind, reason): count for kind, reason, count in refused}
    return health


async def pending_count(runtime: Runtime) -> int:
    """How many alerts wait in the outbox to be posted."""
    async with runtime.db.transaction() as conn:
        return (
            await conn.execute(select(func.count()).where(alerts.c.status == AlertStatus.PENDING))
        ).scalar_one()


def _troubled(now: datetime) -> ColumnElement[bool]:
    """An alert `tipoff alerts` lists and `--retry` queues again: failed, or stuck
    (pending for over STUCK_AFTER, or tried and not yet accepted)."""
    stuck = (alerts.c.status == AlertStatus.PENDING) & or_(
        alerts.c.created_at <= now - STUCK_AFTER, alerts.c.attempts > 0
    )
    return or_(alerts.c.status == AlertStatus.FAILED, stuck)


async def troubled_alerts(runtime: Runtime, *, limit: int = 100) -> list[TroubledAlert]:
    """Failed alerts, then stuck ones (pending for over STUCK_AFTER, or tried and not yet
    accepted), oldest first."""
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        rows = (
            await conn.execute(
                select(
                    alerts.c.id,
                    alerts.c.target,
                    alerts.c.status,
                    alerts.c.failure_reason,
                    alerts.c.last_error,
                    alerts.c.attempts,
                    alerts.c.created_at,
                    accounts.c.name,
                    accounts.c.domain,
                )
                .join(accounts, accounts.c.id == alerts.c.account_id)
                .where(_troubled(now))
                .order_by((alerts.c.status != AlertStatus.FAILED), alerts.c.created_at, alerts.c.id)
                .limit(limit)
            )
        ).all()
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
        rows = await conn.execute(
            select(slack_failures)
            .where(slack_failures.c.failed_at > runtime.clock() - RECENT)
            .order_by(slack_failures.c.failed_at.desc(), slack_failures.c.id.desc())
        )
        return [RefusedPost(r.kind, r.subject, r.channel, r.reason, r.failed_at) for r in rows]


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
    undo: Executable,
    **message: Any,
) -> Posted:
    """Posts an SLA reminder, escalation or digest (`kind` about `subject`) that the caller
    has marked as done. A refusal that cannot succeed is recorded once and left done, so
    no run retries it every minute; any other failure runs `undo` (clearing the mark), so
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
            await conn.execute(undo)
        if await pause_if_token_dead(runtime, failure):
            return Posted.PAUSED
        return Posted.LATER
    return Posted.YES


async def record_refusal(
    runtime: Runtime, *, kind: str, subject: str, channel: str, reason: str
) -> None:
    async with runtime.db.transaction() as conn:
        await conn.execute(
            slack_failures.insert().values(
                kind=kind,
                subject=subject[:255],
                channel=channel[:255],
                reason=reason[:64],
                failed_at=runtime.clock(),
            )
        )


async def retry_alerts(runtime: Runtime, ids: Sequence[int] | None) -> list[int]:
    """Queues failed and stuck alerts (those `troubled_alerts` lists) to be posted on
    the next delivery run: the ones in `ids`, or every one when `ids` is None. The
    channel is worked out again then, so a fixed TIPOFF_ALERT_CHANNEL applies. An id
    that is not a failed or stuck alert is an error and nothing is requeued: a sent
    alert is done, and one queued moments ago is posted on the next run anyway."""
    now = runtime.clock()
    troubled = _troubled(now)
    async with runtime.db.transaction() as conn:
        if ids is not None:
            if not ids:
                raise InvalidInput("name the alerts to retry, or use --all")
            found: dict[int, tuple[str, bool]] = {
                row.id: (row.status, row.troubled)
                for row in await conn.execute(
                    select(alerts.c.id, alerts.c.status, troubled.label("troubled")).where(
                        alerts.c.id.in_(list(ids))
                    )
                )
            }
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
            chosen: ColumnElement[bool] = alerts.c.id.in_(list(ids))
        else:
            chosen = troubled
        requeued = list(
            (await conn.execute(select(alerts.c.id).where(chosen, troubled).order_by(alerts.c.id)))
            .scalars()
            .all()
        )
        await conn.execute(
            update(alerts)
            .where(chosen, troubled)
            .values(
                status=AlertStatus.PENDING, next_attempt_at=now, failure_reason=None, failed_at=None
            )
        )
    if requeued:
        log.info("alerts %s queued again for delivery", ", ".join(map(str, requeued)))
    return requeued
