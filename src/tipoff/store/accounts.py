"""The accounts table: what alert delivery and digests read of accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.tables import accounts


@dataclass(frozen=True)
class RoutedAccount:
    """What routing and a digest line read of an account."""

    name: str | None
    domain: str | None
    employees: int | None
    traits: Any  # as stored: an object, or whatever a source sent


async def routed_accounts(
    conn: AsyncConnection, account_ids: Sequence[int]
) -> dict[int, RoutedAccount]:
    """Per existing account among `account_ids`: its name, domain, size and traits."""
    return {
        r.id: RoutedAccount(r.name, r.domain, r.employees, r.traits)
        for r in await conn.execute(
            select(
                accounts.c.id, accounts.c.name, accounts.c.domain, accounts.c.employees,
                accounts.c.traits,
            ).where(accounts.c.id.in_(sorted(account_ids)))
        )
    }  # fmt: skip
