"""score_history: what digests read of how scores moved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.tables import score_history


@dataclass(frozen=True)
class ScoredAt:
    account_id: int
    score: int
    track: str
    scored_at: datetime


async def scores_between(
    conn: AsyncConnection, *, since: datetime, until: datetime
) -> list[ScoredAt]:
    """The scores stored after `since` and up to `until`, in the order they were stored."""
    rows = await conn.execute(
        select(
            score_history.c.account_id,
            score_history.c.score,
            score_history.c.track,
            score_history.c.scored_at,
        )
        .where(score_history.c.scored_at > since, score_history.c.scored_at <= until)
        .order_by(score_history.c.scored_at, score_history.c.id)
    )
    return [ScoredAt(r.account_id, r.score, r.track, r.scored_at) for r in rows]


async def score_as_of(
    conn: AsyncConnection, account_id: int, at: datetime
) -> tuple[int, str] | None:
    """The account's score and track as last stored at or before `at`, if any."""
    row = (
        await conn.execute(
            select(score_history.c.score, score_history.c.track)
            .where(score_history.c.account_id == account_id, score_history.c.scored_at <= at)
            .order_by(score_history.c.scored_at.desc(), score_history.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else (row.score, row.track)
