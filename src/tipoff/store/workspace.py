"""The workspace's install state (slack_workspace, one row): whether posting is paused, why,
and when auth.test was last asked while paused. The rules (when to pause, when to probe)
are the Slack gateway's (tipoff.slack.install_state); this module only reads and writes the row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from tipoff.store.db import Connection
from tipoff.store.dialect import upsert
from tipoff.store.tables import slack_workspace

# The one row every replica reads and writes.
_ROW = 1


@dataclass(frozen=True)
class Pause:
    reason: str  # Slack's error code or the event's type
    detail: str  # what happened and what fixes it
    since: datetime


async def posting_pause(conn: Connection) -> Pause | None:
    """Why and since when posting is paused; None while posting."""
    row = (
        await conn.execute(select(slack_workspace).where(slack_workspace.c.id == _ROW))
    ).one_or_none()
    if row is None or row.paused_reason is None:
        return None
    return Pause(row.paused_reason, row.paused_detail or "", row.paused_at)


async def record_pause(conn: Connection, *, reason: str, detail: str, at: datetime) -> bool:
    """Pauses posting from `at`; False (and nothing written) when it is paused already,
    since the first reason is the cause."""
    row = (
        await conn.execute(
            select(slack_workspace.c.paused_reason).where(slack_workspace.c.id == _ROW)
        )
    ).one_or_none()
    if row is not None and row.paused_reason is not None:
        return False
    await conn.execute(
        upsert(
            slack_workspace,
            conn.dialect.name,
            key=["id"],
            update=["paused_reason", "paused_detail", "paused_at", "checked_at"],
        ),
        [
            {
                "id": _ROW,
                "paused_reason": reason,
                "paused_detail": detail,
                "paused_at": at,
                "checked_at": at,
            }
        ],
    )
    return True


async def clear_pause(conn: Connection, *, at: datetime) -> bool:
    """Posting again from `at`; False when it was not paused."""
    resumed = await conn.execute(
        update(slack_workspace)
        .where(slack_workspace.c.id == _ROW, slack_workspace.c.paused_reason.is_not(None))
        .values(paused_reason=None, paused_detail=None, paused_at=None, resumed_at=at)
    )
    return resumed.rowcount == 1


async def claim_probe(conn: Connection, *, now: datetime, every: timedelta) -> bool:
    """True when posting is paused and no probe was claimed within `every` before `now`
    (here or by another replica); the claim is then `now`'s."""
    due = await conn.execute(
        update(slack_workspace)
        .where(
            slack_workspace.c.id == _ROW,
            slack_workspace.c.paused_reason.is_not(None),
            slack_workspace.c.checked_at <= now - every,
        )
        .values(checked_at=now)
    )
    return due.rowcount == 1
