"""The alerts table: what the rep workflow reads and writes of posted alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.routing import Track
from tipoff.core.workflow import LastAlert
from tipoff.store.tables import alerts


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


async def posted_alert(conn: AsyncConnection, *, channel: str, ts: str) -> PostedAlert | None:
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
    conn: AsyncConnection, *, account_id: int, channel: str, ts: str
) -> int | None:
    """The id of `account_id`'s (first) alert posted as message `ts` in `channel`."""
    found: int | None = await conn.scalar(
        select(alerts.c.id)
        .where(alerts.c.channel == channel, alerts.c.ts == ts, alerts.c.account_id == account_id)
        .order_by(alerts.c.id)
        .limit(1)
    )
    return found


async def newest_alerts(conn: AsyncConnection, account_ids: Sequence[int]) -> dict[int, LastAlert]:
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
    conn: AsyncConnection, *, account_id: int, slack_user_id: str, at: datetime
) -> None:
    """Records a claim (who, when) on every unclaimed alert of the account."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.account_id == account_id, alerts.c.claimed_at.is_(None))
        .values(claimed_by=slack_user_id, claimed_at=at)
    )


async def unmark_claimed_by(conn: AsyncConnection, slack_user_id: str) -> None:
    """Every alert `slack_user_id` claimed counts as unclaimed again."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.claimed_by == slack_user_id)
        .values(claimed_by=None, claimed_at=None)
    )
