"""The accounts table: what the rep workflow reads of accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.history import account_label
from tipoff.store.tables import accounts


@dataclass(frozen=True, slots=True)
class AccountSize:
    """What routing reads of an account: its size and its traits (region, owner_email)."""

    employees: int | None
    traits: dict[str, Any]


async def account_label_of(conn: AsyncConnection, account_id: int) -> str | None:
    """How the account is named to a rep (`core.history.account_label`); None if unknown."""
    row = (
        await conn.execute(
            select(accounts.c.name, accounts.c.domain).where(accounts.c.id == account_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return account_label(account_id, row.name, row.domain)


async def account_exists(conn: AsyncConnection, account_id: int) -> bool:
    """Whether an account has this id (not merged away, not deleted)."""
    found = await conn.scalar(select(accounts.c.id).where(accounts.c.id == account_id))
    return found is not None


async def account_traits(conn: AsyncConnection, account_id: int) -> Any:
    """The account's traits as stored (None for no such account)."""
    return await conn.scalar(select(accounts.c.traits).where(accounts.c.id == account_id))


async def account_sizes(
    conn: AsyncConnection, account_ids: Sequence[int]
) -> dict[int, AccountSize]:
    """Per existing account: its size and traits (`{}` when they are not an object)."""
    return {
        a.id: AccountSize(a.employees, a.traits if isinstance(a.traits, dict) else {})
        for a in await conn.execute(
            select(accounts.c.id, accounts.c.employees, accounts.c.traits).where(
                accounts.c.id.in_(list(account_ids))
            )
        )
    }
