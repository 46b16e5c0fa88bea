"""The score_history table: what a lookup reads of an account's past scores."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.tables import score_history


async def recent_history(
    conn: AsyncConnection, account_id: int, now: datetime, *, weeks: int
) -> list[tuple[datetime, int, str]]:
    """Score history for a sparkline, newest first: the last `weeks` weeks, and the
    newest entry before them (the score the first week started from)."""
    since = now - timedelta(weeks=weeks)
    rows = await conn.execute(
        select(score_history.c.scored_at, score_history.c.score, score_history.c.track)
        .where(score_history.c.account_id == account_id, score_history.c.scored_at >= since)
        .order_by(score_history.c.scored_at.desc(), score_history.c.id.desc())
    )
    recent = [(r.scored_at, r.score, r.track) for r in rows]
    before = (
        await conn.execute(
            select(score_history.c.scored_at, score_history.c.score, score_history.c.track)
            .where(score_history.c.account_id == account_id, score_history.c.scored_at < since)
            .order_by(score_history.c.scored_at.desc(), score_history.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return recent + ([(before.scored_at, before.score, before.track)] if before else [])
