"""Accounts: their ids, locks, and the versions that say whether one is due for rescoring.
(Finding accounts by name and reading them with their people: store.queries.)

The accounts table: what alert delivery and digests read of accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.db import Connection
from tipoff.store.dialect import lock_for_writing, lock_in_order
from tipoff.store.tables import accounts


async def all_account_ids(conn: Connection) -> list[int]:
    """Every account's id, in id order."""
    result = await conn.execute(select(accounts.c.id).order_by(accounts.c.id))
    return [int(i) for i in result.scalars()]


async def lock_accounts(conn: Connection, account_ids: Sequence[int]) -> None:
    """Locks these accounts for this transaction, in id order (`dialect.lock_in_order`)."""
    await lock_in_order(conn, accounts, account_ids)


async def lock_accounts_for_writing(conn: Connection) -> None:
    """On SQLite, takes the write lock now (`dialect.lock_for_writing`), so what this
    transaction reads next stays true until it commits."""
    await lock_for_writing(conn, accounts)


async def record_scored_versions(conn: Connection, versions: Sequence[tuple[int, int]]) -> None:
    """Sets each (account id, signal_version) account's scored_version to that version:
    the one its score was computed from."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == bindparam("b_id"))
        .values(scored_version=bindparam("b_version")),
        [{"b_id": account_id, "b_version": version} for account_id, version in versions],
    )


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
