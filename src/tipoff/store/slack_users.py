"""The slack_users table: users.lookupByEmail answers, kept so each email is asked once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from tipoff.store.db import Connection
from tipoff.store.dialect import upsert
from tipoff.store.tables import slack_users


@dataclass(frozen=True)
class LookedUp:
    """What Slack said of an email, and when it was asked."""

    slack_user_id: str | None  # None: Slack knew nobody (active) by it
    looked_up_at: datetime


async def looked_up_user(conn: Connection, email: str) -> LookedUp | None:
    """The stored answer for `email`; None when it was never looked up."""
    row = (
        await conn.execute(select(slack_users).where(slack_users.c.email == email))
    ).one_or_none()
    return None if row is None else LookedUp(row.slack_user_id, row.looked_up_at)


async def remember_user(
    conn: Connection, email: str, slack_user_id: str | None, *, at: datetime
) -> None:
    """Stores Slack's answer for `email`, asked `at`, replacing any earlier one."""
    await conn.execute(
        upsert(
            slack_users, conn.dialect.name, key=["email"], update=["slack_user_id", "looked_up_at"]
        ),
        [{"email": email, "slack_user_id": slack_user_id, "looked_up_at": at}],
    )


async def known_user_ids(conn: Connection) -> set[str]:
    """The Slack users some stored email was found to belong to."""
    return set(
        (
            await conn.execute(
                select(slack_users.c.slack_user_id).where(slack_users.c.slack_user_id.is_not(None))
            )
        ).scalars()
    )


async def forget_user(conn: Connection, slack_user_id: str, *, at: datetime) -> None:
    """Emails found to be `slack_user_id`'s read as nobody in Slack (as looked up `at`)
    until they are looked up again."""
    await conn.execute(
        update(slack_users)
        .where(slack_users.c.slack_user_id == slack_user_id)
        .values(slack_user_id=None, looked_up_at=at)
    )
