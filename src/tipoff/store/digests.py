"""The digests table: which channel got which day's digest, so each is sent once."""

from __future__ import annotations

from datetime import datetime

from tipoff.store.db import Connection
from tipoff.store.dialect import insert_ignoring_conflicts
from tipoff.store.tables import digests


async def take_digest(conn: Connection, *, channel: str, day: str, at: datetime) -> bool:
    """Marks `day`'s digest for `channel` as sent `at`; False when it already was (by this
    run or another replica)."""
    taken = await conn.execute(
        insert_ignoring_conflicts(digests, conn.dialect.name).values(
            channel=channel, day=day, sent_at=at
        )
    )
    return taken.rowcount == 1


async def forget_digest(conn: Connection, *, channel: str, day: str) -> None:
    """`day`'s digest for `channel` is to be sent again."""
    await conn.execute(digests.delete().where(digests.c.channel == channel, digests.c.day == day))
