"""The feedback table: reps' verdicts (Right, Wrong, a claim, a snooze) as stored rows."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime

from sqlalchemy import func, select

from tipoff.store.db import Connection
from tipoff.store.dialect import lock_for_writing, locks_rows
from tipoff.store.tables import accounts, feedback


async def verdicts_given_since(conn: Connection, since: datetime) -> list[FeedbackRecord]:
    """Every verdict given at or after `since`, in the order they were given."""
    rows = await conn.execute(
        select(feedback).where(feedback.c.created_at >= since).order_by(feedback.c.id)
    )
    return [
        FeedbackRecord(
            r.id,
            r.alert_id,
            r.account_id,
            r.slack_user_id,
            r.slack_user_name,
            r.verdict,
            r.reason,
            r.created_at,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    id: int
    alert_id: int | None
    account_id: int
    slack_user_id: str
    slack_user_name: str | None
    verdict: str
    reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewestVerdict:
    """A rep's newest answer of some kind, as `record_verdict` compares a click with it."""

    verdict: str
    reason: str | None
    created_at: datetime


async def serialize_verdicts(conn: Connection, account_id: int) -> None:
    """Makes this transaction the only one storing clicks on `account_id` until it ends,
    so it reads the verdicts stored before it: on PostgreSQL by locking the account's row,
    on SQLite by taking the write lock now (its first write would take it anyway)."""
    if locks_rows(conn.dialect.name):
        await conn.execute(
            select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
        )
    else:
        await lock_for_writing(conn, feedback)


async def newest_verdict(
    conn: Connection,
    *,
    account_id: int,
    slack_user_id: str,
    verdicts: Collection[str],
    alert_id: int | None,
) -> NewestVerdict | None:
    """The rep's newest of `verdicts` on this alert, or on this account outside any alert
    (`alert_id` None)."""
    newest = (
        await conn.execute(
            select(feedback.c.verdict, feedback.c.reason, feedback.c.created_at)
            .where(
                feedback.c.account_id == account_id,
                feedback.c.slack_user_id == slack_user_id,
                feedback.c.verdict.in_(list(verdicts)),
                feedback.c.alert_id.is_(None)
                if alert_id is None
                else feedback.c.alert_id == alert_id,
            )
            .order_by(feedback.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if newest is None:
        return None
    return NewestVerdict(newest.verdict, newest.reason, newest.created_at)


async def insert_verdict(conn: Connection, record: FeedbackRecord) -> FeedbackRecord:
    """Stores `record` (its `id` ignored); returns it with the id it was stored under."""
    values = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "id"}
    result = await conn.execute(feedback.insert().values(**values))
    assert result.inserted_primary_key is not None
    return replace(record, id=int(result.inserted_primary_key[0]))


async def verdicts_on_alert(conn: Connection, alert_id: int) -> list[FeedbackRecord]:
    """Every verdict given on one alert, oldest first."""
    rows = await conn.execute(
        select(feedback).where(feedback.c.alert_id == alert_id).order_by(feedback.c.id)
    )
    return [
        FeedbackRecord(
            id=r.id,
            alert_id=r.alert_id,
            account_id=r.account_id,
            slack_user_id=r.slack_user_id,
            slack_user_name=r.slack_user_name,
            verdict=r.verdict,
            reason=r.reason,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def newest_verdicts(
    conn: Connection, account_ids: Sequence[int], verdict: str
) -> dict[int, datetime]:
    """Per account with any: when `verdict` was last given on it."""
    return {
        r.account_id: r.at
        for r in await conn.execute(
            select(feedback.c.account_id, func.max(feedback.c.created_at).label("at"))
            .where(feedback.c.account_id.in_(list(account_ids)), feedback.c.verdict == verdict)
            .group_by(feedback.c.account_id)
        )
    }
