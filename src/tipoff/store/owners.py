"""The account_owners table (claims and `/tipoff assign`) and the `owner_email` trait:
who owns which account, and the accounts a rep owns with their scores.

An owner_email trait counts as an owner once Slack knows the email (`slack_users`), and
only where no claim or assignment names one (see tipoff.reps)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, Select, and_, func, select, union
from sqlalchemy.sql.elements import ColumnElement

from tipoff.core.history import account_label
from tipoff.core.workflow import OwnerVia
from tipoff.store.db import Connection
from tipoff.store.scores import score_history
from tipoff.store.snoozes import snoozed_account_ids
from tipoff.store.tables import account_owners, accounts, scores, slack_users


def _trait_email() -> Any:
    """An account's `owner_email` trait in SQL, trimmed and lowercased as workflow reads it."""
    return func.lower(func.trim(accounts.c.traits["owner_email"].as_string()))


def _trait_owned(slack_user_id: str | None = None) -> Select[Any]:
    """Accounts without a claim or assignment whose `owner_email` Slack knows as an active
    user (`slack_user_id`'s, when given)."""
    known: ColumnElement[bool] = slack_users.c.slack_user_id.is_not(None)
    if slack_user_id is not None:
        known = slack_users.c.slack_user_id == slack_user_id
    return (
        select(accounts.c.id)
        .join(slack_users, slack_users.c.email == _trait_email())
        .where(known, accounts.c.id.not_in(select(account_owners.c.account_id)))
    )


def owned_accounts() -> CompoundSelect[Any]:
    """The ids of accounts someone in Slack owns: claimed, assigned, or a CRM owner."""
    return union(select(account_owners.c.account_id), _trait_owned())


@dataclass(frozen=True, slots=True)
class OwnerRow:
    """A claim or an assignment: the Slack user who owns the account, how, and since when."""

    slack_user_id: str
    via: OwnerVia  # a claim or an assignment
    assigned_at: datetime


@dataclass(frozen=True, slots=True)
class OwnedAccount:
    """One line of `/tipoff mine` and the App Home."""

    account_id: int
    label: str
    domain: str | None
    score: int | None
    track: str | None
    change: int | None  # since the previous stored score
    changed_at: datetime | None


def accounts_owned_by(slack_user_id: str) -> CompoundSelect[Any]:
    """The ids of the accounts `slack_user_id` owns (claimed, assigned or in the CRM)."""
    return union(
        select(account_owners.c.account_id).where(account_owners.c.slack_user_id == slack_user_id),
        _trait_owned(slack_user_id),
    )


async def owner_row(conn: Connection, account_id: int) -> OwnerRow | None:
    """The account's claim or assignment, if it has one."""
    row = (
        await conn.execute(select(account_owners).where(account_owners.c.account_id == account_id))
    ).one_or_none()
    return (
        OwnerRow(row.slack_user_id, OwnerVia(row.via), row.assigned_at) if row is not None else None
    )


async def owner_rows(conn: Connection, account_ids: Sequence[int]) -> dict[int, OwnerRow]:
    """Per account with a claim or assignment: that."""
    return {
        r.account_id: OwnerRow(r.slack_user_id, OwnerVia(r.via), r.assigned_at)
        for r in await conn.execute(
            select(account_owners).where(account_owners.c.account_id.in_(list(account_ids)))
        )
    }


async def add_owner(
    conn: Connection,
    *,
    account_id: int,
    slack_user_id: str,
    via: OwnerVia,
    assigned_by: str,
    at: datetime,
) -> None:
    """Stores `slack_user_id` as the owner of an account that has none."""
    await conn.execute(
        account_owners.insert().values(
            account_id=account_id,
            slack_user_id=slack_user_id,
            via=via,
            assigned_by=assigned_by,
            assigned_at=at,
        )
    )


async def replace_owner(
    conn: Connection,
    *,
    account_id: int,
    slack_user_id: str,
    via: OwnerVia,
    assigned_by: str,
    at: datetime,
) -> None:
    """Stores `slack_user_id` as the owner of the account, in place of any owner it had."""
    await conn.execute(account_owners.delete().where(account_owners.c.account_id == account_id))
    await add_owner(
        conn,
        account_id=account_id,
        slack_user_id=slack_user_id,
        via=via,
        assigned_by=assigned_by,
        at=at,
    )


async def end_ownerships(conn: Connection, slack_user_id: str) -> int:
    """Deletes every claim and assignment of `slack_user_id`; returns how many there were."""
    ended = await conn.execute(
        account_owners.delete().where(account_owners.c.slack_user_id == slack_user_id)
    )
    return int(ended.rowcount or 0)


async def owner_user_ids(conn: Connection) -> set[str]:
    """The Slack users who own an account by a claim or an assignment."""
    return set((await conn.execute(select(account_owners.c.slack_user_id))).scalars())


async def accounts_of(conn: Connection, slack_user_id: str, *, limit: int) -> list[OwnedAccount]:
    """The accounts `slack_user_id` owns (claimed, assigned or in the CRM), best score first."""
    return await _lines(conn, accounts.c.id.in_(accounts_owned_by(slack_user_id)), limit=limit)


async def best_unowned(
    conn: Connection, *, tracks: Collection[str], now: datetime, limit: int
) -> list[OwnedAccount]:
    """The best-scored accounts in `tracks` that nobody in Slack owns and nobody snoozed."""
    return await _lines(
        conn,
        and_(
            scores.c.track.in_(list(tracks)),
            accounts.c.id.not_in(owned_accounts()),
            accounts.c.id.not_in(snoozed_account_ids(now)),
        ),
        limit=limit,
    )


async def _lines(conn: Connection, where: Any, *, limit: int) -> list[OwnedAccount]:
    rows = (
        await conn.execute(
            select(
                accounts.c.id,
                accounts.c.name,
                accounts.c.domain,
                scores.c.score,
                scores.c.track,
            )
            .select_from(accounts.outerjoin(scores, scores.c.account_id == accounts.c.id))
            .where(where)
            # Unrounded points order equal scores, as in /tipoff top.
            .order_by(scores.c.score.desc(), scores.c.raw_points.desc(), accounts.c.id)
            .limit(limit)
        )
    ).all()
    lines = []
    for r in rows:
        recent = await score_history(conn, r.id, limit=2)
        change = changed_at = None
        if len(recent) == 2:
            (newest_at, newest, _), (_, previous, _) = recent
            change, changed_at = newest - previous, newest_at
        lines.append(
            OwnedAccount(
                r.id,
                account_label(r.id, r.name, r.domain),
                r.domain,
                r.score,
                r.track,
                change,
                changed_at,
            )
        )
    return lines
