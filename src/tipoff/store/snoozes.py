"""The snoozes table: accounts a rep hid from alerts until a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from tipoff.store.db import Connection
from tipoff.store.tables import snoozes


def snoozed_account_ids(now: datetime) -> Select[Any]:
    """The ids of accounts snoozed at `now`, for other queries to filter on."""
    return select(snoozes.c.account_id).where(snoozes.c.until > now)


@dataclass(frozen=True, slots=True)
class Snooze:
    slack_user_id: str
    until: datetime


async def current_snooze(conn: Connection, account_id: int, now: datetime) -> Snooze | None:
    """The account's newest snooze still running at `now`, if any."""
    row = (
        await conn.execute(
            select(snoozes.c.slack_user_id, snoozes.c.until)
            .where(snoozes.c.account_id == account_id, snoozes.c.until > now)
            .order_by(snoozes.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return Snooze(row.slack_user_id, row.until) if row is not None else None


async def snooze_ends(conn: Connection, account_ids: Sequence[int]) -> dict[int, datetime]:
    """Per account ever snoozed: when its latest-ending snooze ends (or ended)."""
    return {
        r.account_id: r.until
        for r in await conn.execute(
            select(snoozes.c.account_id, func.max(snoozes.c.until).label("until"))
            .where(snoozes.c.account_id.in_(list(account_ids)))
            .group_by(snoozes.c.account_id)
        )
    }


async def add_snooze(
    conn: Connection, *, account_id: int, slack_user_id: str, until: datetime, at: datetime
) -> None:
    """Stores a snooze of the account by `slack_user_id` until `until`, made `at`."""
    await conn.execute(
        snoozes.insert().values(
            account_id=account_id, slack_user_id=slack_user_id, until=until, created_at=at
        )
    )
