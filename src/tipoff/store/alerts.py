"""The alerts table, the outbox: the alerts rescoring queues, their delivery to Slack
(claims, retries, failures), the SLA steps of posted ones and what the rep workflow reads
and writes of them, what digests and `tipoff alerts` read, and the figures /metrics
reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, or_, select, update

from tipoff.core.routing import Track
from tipoff.core.workflow import BUNDLE, AlertStatus, LastAlert
from tipoff.store.db import Connection
from tipoff.store.dialect import insert_rows
from tipoff.store.owners import owned_accounts
from tipoff.store.snoozes import snoozed_account_ids
from tipoff.store.tables import accounts, alerts


async def queue_alerts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Adds `rows` (alerts table columns, the same in each) to the outbox, in order."""
    await insert_rows(conn, alerts, rows)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as the quality loop counts it: queued for an account, maybe posted."""

    id: int
    account_id: int
    track: str
    score: int
    created_at: datetime
    sent_at: datetime | None


async def alerts_queued_since(conn: Connection, since: datetime) -> list[AlertRecord]:
    """Every alert queued at or after `since`, oldest first."""
    rows = await conn.execute(
        select(
            alerts.c.id,
            alerts.c.account_id,
            alerts.c.track,
            alerts.c.score,
            alerts.c.created_at,
            alerts.c.sent_at,
        )
        .where(alerts.c.created_at >= since)
        .order_by(alerts.c.created_at, alerts.c.id)
    )
    return [
        AlertRecord(r.id, r.account_id, r.track, r.score, r.created_at, r.sent_at) for r in rows
    ]


# An SLA step, marked on the alert when it is taken.
SlaStep = Literal["reminded_at", "escalated_at"]


@dataclass(frozen=True)
class DueAlert:
    """A pending alert whose next attempt is due: where it goes, for pacing."""

    id: int
    target: str
    owner_user_id: str | None
    owner_email: str | None


@dataclass(frozen=True)
class ClaimedAlert:
    """A pending alert this delivery run holds the lease of."""

    id: int
    account_id: int
    track: str
    target: str
    owner_user_id: str | None
    owner_email: str | None
    attempts: int


@dataclass(frozen=True)
class AlertContent:
    """An alert's message as stored now (an erasure may rewrite it)."""

    id: int
    target: str
    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class TroubledRow:
    """A failed or stuck alert, with its account's name and domain."""

    id: int
    target: str
    status: str
    failure_reason: str | None
    last_error: str | None
    attempts: int
    created_at: datetime
    name: str | None
    domain: str | None


@dataclass(frozen=True)
class AwaitingClaim:
    """A posted alert nobody claimed, with what its SLA steps say of it."""

    id: int
    track: str
    score: int
    channel: str  # the channel ID Slack posted it into
    ts: str
    sent_at: datetime
    reminded_at: datetime | None
    escalated_at: datetime | None
    name: str | None
    domain: str | None


@dataclass(frozen=True)
class UnclaimedAlert:
    account_id: int
    score: int
    track: str


@dataclass(frozen=True)
class OutboxFigures:
    by_status: dict[str, int]  # alerts per status
    retries: int  # attempts beyond each sent alert's successful one
    oldest_pending: datetime | None  # when the oldest alert still waiting was queued


async def due_alerts(
    conn: Connection, *, now: datetime, limit: int, unpreviewed_only: bool = False
) -> list[DueAlert]:
    """Pending alerts due at `now`, oldest first; with `unpreviewed_only`, those not yet
    printed to the console."""
    due = select(alerts.c.id, alerts.c.target, alerts.c.owner_user_id, alerts.c.owner_email).where(
        alerts.c.status == AlertStatus.PENDING, alerts.c.next_attempt_at <= now
    )
    if unpreviewed_only:
        due = due.where(alerts.c.previewed_at.is_(None))
    rows = await conn.execute(due.order_by(alerts.c.created_at, alerts.c.id).limit(limit))
    return [DueAlert(r.id, r.target, r.owner_user_id, r.owner_email) for r in rows]


async def claim_alert(
    conn: Connection, alert_id: int, *, now: datetime, lease: timedelta
) -> ClaimedAlert | None:
    """Holds a pending, due alert for `lease` (its next attempt pushed that far ahead);
    None when another run holds it or it is no longer pending."""
    claimed = await conn.execute(
        update(alerts)
        .where(
            alerts.c.id == alert_id,
            alerts.c.status == AlertStatus.PENDING,
            alerts.c.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease)
    )
    if claimed.rowcount != 1:
        return None
    r = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).one()
    return ClaimedAlert(
        r.id, r.account_id, r.track, r.target, r.owner_user_id, r.owner_email, r.attempts
    )


async def set_target(conn: Connection, alert_id: int, target: str) -> None:
    """The channel the alert goes to, worked out again."""
    await conn.execute(update(alerts).where(alerts.c.id == alert_id).values(target=target))


async def alert_message(conn: Connection, alert_id: int) -> tuple[str, list[dict[str, Any]]]:
    """The alert's text and blocks as stored now."""
    row = (
        await conn.execute(select(alerts.c.text, alerts.c.blocks).where(alerts.c.id == alert_id))
    ).one()
    return row.text, list(row.blocks)


async def mark_sent(
    conn: Connection, alert_id: int, *, channel: str, ts: str, at: datetime, attempts: int
) -> tuple[str, list[dict[str, Any]]]:
    """Records where Slack shows the alert; its text and blocks as stored after the write
    (on PostgreSQL the write waited for an erasure rewriting the row)."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(status=AlertStatus.SENT, channel=channel, ts=ts, sent_at=at, attempts=attempts)
    )
    return await alert_message(conn, alert_id)


async def reschedule(
    conn: Connection, alert_id: int, *, at: datetime, attempts: int, error: str
) -> None:
    """The alert's next attempt is `at`, after `attempts` in all; `error` the last one's."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(next_attempt_at=at, attempts=attempts, last_error=error)
    )


async def mark_failed(
    conn: Connection,
    alert_id: int,
    *,
    attempts: int,
    reason: str,
    error: str,
    at: datetime,
) -> None:
    """Slack will not take the alert as it is: failed with Slack's `reason`, content kept."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(
            status=AlertStatus.FAILED,
            attempts=attempts,
            failure_reason=reason[:64],
            last_error=error,
            failed_at=at,
        )
    )


async def hold_pending(conn: Connection, *, until: datetime) -> None:
    """No pending alert is attempted before `until`."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.status == AlertStatus.PENDING, alerts.c.next_attempt_at < until)
        .values(next_attempt_at=until)
    )


async def mark_previewed(conn: Connection, alert_id: int, *, at: datetime) -> AlertContent | None:
    """Marks the alert as printed to the console; None when it already was."""
    marked = await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.previewed_at.is_(None))
        .values(previewed_at=at)
    )
    if marked.rowcount != 1:
        return None
    r = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).one()
    return AlertContent(r.id, r.target, r.text, list(r.blocks))


async def failed_by_reason(conn: Connection) -> dict[str, int]:
    """Failed alerts per Slack reason ("unknown" for none recorded)."""
    failed = await conn.execute(
        select(alerts.c.failure_reason, func.count())
        .where(alerts.c.status == AlertStatus.FAILED)
        .group_by(alerts.c.failure_reason)
    )
    return {str(reason or "unknown"): count for reason, count in failed}


async def pending_since(conn: Connection, queued_before: datetime) -> int:
    """How many pending alerts were queued at or before `queued_before`."""
    found = await conn.execute(
        select(func.count()).where(
            alerts.c.status == AlertStatus.PENDING, alerts.c.created_at <= queued_before
        )
    )
    return int(found.scalar_one())


async def pending_count(conn: Connection) -> int:
    """How many alerts wait in the outbox to be posted."""
    found = await conn.execute(select(func.count()).where(alerts.c.status == AlertStatus.PENDING))
    return int(found.scalar_one())


def _troubled(stuck_before: datetime) -> ColumnElement[bool]:
    """Failed, or stuck: pending since `stuck_before` or earlier, or tried and not yet
    accepted."""
    stuck = (alerts.c.status == AlertStatus.PENDING) & or_(
        alerts.c.created_at <= stuck_before, alerts.c.attempts > 0
    )
    return or_(alerts.c.status == AlertStatus.FAILED, stuck)


async def troubled_alerts(
    conn: Connection, *, stuck_before: datetime, limit: int
) -> list[TroubledRow]:
    """Failed alerts, then stuck ones (`_troubled`), oldest first."""
    rows = await conn.execute(
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
        .where(_troubled(stuck_before))
        .order_by((alerts.c.status != AlertStatus.FAILED), alerts.c.created_at, alerts.c.id)
        .limit(limit)
    )
    return [
        TroubledRow(
            r.id,
            r.target,
            r.status,
            r.failure_reason,
            r.last_error,
            r.attempts,
            r.created_at,
            r.name,
            r.domain,
        )
        for r in rows
    ]


async def troubled_states(
    conn: Connection, ids: Sequence[int], *, stuck_before: datetime
) -> dict[int, tuple[str, bool]]:
    """Per existing alert among `ids`: its status, and whether it is failed or stuck."""
    return {
        row.id: (row.status, row.troubled)
        for row in await conn.execute(
            select(alerts.c.id, alerts.c.status, _troubled(stuck_before).label("troubled")).where(
                alerts.c.id.in_(list(ids))
            )
        )
    }


async def requeue_troubled(
    conn: Connection, ids: Sequence[int] | None, *, stuck_before: datetime, now: datetime
) -> list[int]:
    """Queues the failed and stuck alerts among `ids` (all of them when None) to be posted
    from `now`; their ids, in order."""
    troubled = _troubled(stuck_before)
    chosen = troubled if ids is None else alerts.c.id.in_(list(ids))
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
    return requeued


async def awaiting_claim(conn: Connection, *, now: datetime) -> list[AwaitingClaim]:
    """Posted alerts (not bundles) nobody claimed and none escalated, whose account no one
    owns or snoozed at `now`, oldest first. One without the channel, ts or time Slack
    posted it at (none is, once sent) has no thread to remind in, and is left out."""
    rows = await conn.execute(
        select(
            alerts.c.id,
            alerts.c.track,
            alerts.c.score,
            alerts.c.channel,
            alerts.c.ts,
            alerts.c.sent_at,
            alerts.c.reminded_at,
            alerts.c.escalated_at,
            accounts.c.name,
            accounts.c.domain,
        )
        .join(accounts, accounts.c.id == alerts.c.account_id)
        .where(
            alerts.c.status == AlertStatus.SENT,
            alerts.c.reason != BUNDLE.text,
            alerts.c.claimed_at.is_(None),
            alerts.c.escalated_at.is_(None),
            alerts.c.account_id.not_in(owned_accounts()),
            alerts.c.account_id.not_in(snoozed_account_ids(now)),
        )
        .order_by(alerts.c.id)
    )
    return [
        AwaitingClaim(
            r.id,
            r.track,
            r.score,
            r.channel,
            r.ts,
            r.sent_at,
            r.reminded_at,
            r.escalated_at,
            r.name,
            r.domain,
        )
        for r in rows
        if r.channel is not None and r.ts is not None and r.sent_at is not None
    ]


async def mark_sla_step(conn: Connection, alert_id: int, step: SlaStep, *, at: datetime) -> bool:
    """Marks the step taken `at`; False when it was already, or the alert was claimed."""
    column = alerts.c[step]
    marked = await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, column.is_(None), alerts.c.claimed_at.is_(None))
        .values({step: at})
    )
    return marked.rowcount == 1


async def unmark_sla_step(conn: Connection, alert_id: int, step: SlaStep) -> None:
    """The step is to be taken again."""
    await conn.execute(update(alerts).where(alerts.c.id == alert_id).values({step: None}))


async def unclaimed_alerts(conn: Connection, *, sent_after: datetime) -> list[UnclaimedAlert]:
    """Posted alerts (not bundles) sent after `sent_after` that nobody claimed, of
    accounts no one owns; highest score first."""
    rows = await conn.execute(
        select(alerts.c.account_id, alerts.c.score, alerts.c.track)
        .where(
            alerts.c.status == AlertStatus.SENT,
            alerts.c.reason != BUNDLE.text,
            alerts.c.claimed_at.is_(None),
            alerts.c.sent_at > sent_after,
            alerts.c.account_id.not_in(owned_accounts()),
        )
        .order_by(alerts.c.score.desc(), alerts.c.id)
    )
    return [UnclaimedAlert(r.account_id, r.score, r.track) for r in rows]


async def outbox_figures(conn: Connection) -> OutboxFigures:
    """How many alerts are in each status, how many attempts failed, and the oldest
    still waiting; index lookups and one small scan."""
    rows = await conn.execute(select(alerts.c.status, func.count()).group_by(alerts.c.status))
    by_status: dict[str, int] = {status: count for status, count in rows}
    failed = await conn.execute(
        select(
            func.coalesce(func.sum(alerts.c.attempts), 0)
            - func.count().filter(alerts.c.status == AlertStatus.SENT)
        )
    )
    retries = failed.scalar_one()
    oldest = (
        await conn.execute(
            select(func.min(alerts.c.created_at)).where(alerts.c.status == AlertStatus.PENDING)
        )
    ).scalar_one()
    return OutboxFigures(by_status, retries, oldest)


@dataclass(frozen=True, slots=True)
class PostedAlert:
    """An alert as Slack shows it: where it was posted and the blocks it was posted with."""

    id: int
    account_id: int
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, object]]
    reason: str = ""  # why it was queued (`AlertReason.text`); BUNDLE.text for a bundle


async def posted_alert(conn: Connection, *, channel: str, ts: str) -> PostedAlert | None:
    """The (first) alert posted as message `ts` in `channel`, if any."""
    row = (
        await conn.execute(
            select(
                alerts.c.id,
                alerts.c.account_id,
                alerts.c.channel,
                alerts.c.ts,
                alerts.c.text,
                alerts.c.blocks,
                alerts.c.reason,
            )
            .where(alerts.c.channel == channel, alerts.c.ts == ts)
            .order_by(alerts.c.id)
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    return PostedAlert(
        id=row.id,
        account_id=row.account_id,
        channel=row.channel,
        ts=row.ts,
        text=row.text,
        blocks=list(row.blocks),
        reason=row.reason,
    )


async def account_alert_posted_at(
    conn: Connection, *, account_id: int, channel: str, ts: str
) -> int | None:
    """The id of `account_id`'s (first) alert posted as message `ts` in `channel`."""
    found: int | None = await conn.scalar(
        select(alerts.c.id)
        .where(alerts.c.channel == channel, alerts.c.ts == ts, alerts.c.account_id == account_id)
        .order_by(alerts.c.id)
        .limit(1)
    )
    return found


async def newest_alerts(conn: Connection, account_ids: Sequence[int]) -> dict[int, LastAlert]:
    """Per account with any: its newest alert."""
    newest_alert = (
        select(alerts.c.account_id, func.max(alerts.c.id).label("id"))
        .where(alerts.c.account_id.in_(list(account_ids)))
        .group_by(alerts.c.account_id)
        .subquery()
    )
    last: dict[int, LastAlert] = {}
    for r in await conn.execute(
        select(
            alerts.c.account_id,
            alerts.c.track,
            alerts.c.score,
            alerts.c.evidence_rules,
            alerts.c.created_at,
        ).join(newest_alert, newest_alert.c.id == alerts.c.id)
    ):
        last[r.account_id] = LastAlert(
            Track(r.track), r.score, frozenset(r.evidence_rules or ()), r.created_at
        )
    return last


async def mark_claimed(
    conn: Connection, *, account_id: int, slack_user_id: str, at: datetime
) -> None:
    """Records a claim (who, when) on every unclaimed alert of the account."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.account_id == account_id, alerts.c.claimed_at.is_(None))
        .values(claimed_by=slack_user_id, claimed_at=at)
    )


async def unmark_claimed_by(conn: Connection, slack_user_id: str) -> None:
    """Every alert `slack_user_id` claimed counts as unclaimed again."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.claimed_by == slack_user_id)
        .values(claimed_by=None, claimed_at=None)
    )
