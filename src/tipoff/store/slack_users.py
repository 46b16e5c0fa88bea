"""The slack_users table: users.lookupByEmail answers, kept so each email is asked once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.tables import slack_users


async def known_user_ids(conn: AsyncConnection) -> set[str]:
    """The Slack users some stored email was found to belong to."""
    return set(
        (
            await conn.execute(
                select(slack_users.c.slack_user_id).where(slack_users.c.slack_user_id.is_not(None))
            )
        ).scalars()
    )


async def forget_user(conn: AsyncConnection, slack_user_id: str, *, at: datetime) -> None:
    """Emails found to be `slack_user_id`'s read as nobody in Slack (as looked up `at`)
    until they are looked up again."""
    await conn.execute(
        update(slack_users)
        .where(slack_users.c.slack_user_id == slack_user_id)
        .values(slack_user_id=None, looked_up_at=at)
    )
