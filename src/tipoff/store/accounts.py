"""Accounts: their ids, locks, and the versions that say whether one is due for rescoring.
(Finding accounts by name and reading them with their people: store.queries.)

The accounts table: what alert delivery and digests read of accounts.

The accounts table: the companies Tipoff scores, keyed by groupId and by domain.

The accounts table: what the rep workflow reads of accounts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.history import account_label
from tipoff.core.traits import ACCOUNT_COLUMNS, Stored
from tipoff.store.db import Connection
from tipoff.store.dialect import insert_returning_ids, lock_for_writing, lock_in_order
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


_IN_LIST = 1000  # values per IN list; far below either backend's limit


async def group_ids_of_domains(conn: AsyncConnection, domains: Sequence[str]) -> dict[str, str]:
    """domain -> the groupId of the account with that domain (the domain itself for an
    account without one), for those of `domains` (sorted) an account has."""
    found: dict[str, str] = {}
    for start in range(0, len(domains), _IN_LIST):
        rows = await conn.execute(
            select(accounts.c.domain, accounts.c.group_id).where(
                accounts.c.domain.in_(domains[start : start + _IN_LIST])
            )
        )
        found.update({r.domain: r.group_id or r.domain for r in rows})
    return found


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account's values as ingest writes them: its keys and its traits."""

    domain: str | None
    group_id: str | None
    name: str | None
    employees: int | None
    industry: str | None
    traits: dict[str, Any]
    trait_times: dict[str, int]


@dataclass(frozen=True, slots=True)
class KnownAccount(NewAccount):
    """A stored account, as ingest reads it."""

    id: int


async def accounts_where(
    conn: AsyncConnection, *, key: Literal["id", "group_id", "domain"], values: Sequence[Any]
) -> list[KnownAccount]:
    """The accounts whose `key` column is one of `values`."""
    column = accounts.c[key]
    found: list[KnownAccount] = []
    for start in range(0, len(values), _IN_LIST):
        rows = await conn.execute(
            select(accounts).where(column.in_(values[start : start + _IN_LIST]))
        )
        found.extend(
            KnownAccount(
                id=row.id,
                domain=row.domain,
                group_id=row.group_id,
                name=row.name,
                employees=row.employees,
                industry=row.industry,
                traits=dict(row.traits or {}),
                trait_times=dict(row.trait_times or {}),
            )
            for row in rows
        )
    return found


async def account_traits_now(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, Stored]:
    """id -> what traits set in that account's row, as stored now; an account not stored
    is left out."""
    columns = [accounts.c.id, accounts.c.traits, accounts.c.trait_times]
    columns += [accounts.c[name] for name in ACCOUNT_COLUMNS]
    ordered = sorted(ids)
    found: dict[int, Stored] = {}
    for start in range(0, len(ordered), _IN_LIST):
        rows = await conn.execute(
            select(*columns).where(accounts.c.id.in_(ordered[start : start + _IN_LIST]))
        )
        for row in rows:
            found[row.id] = Stored(
                dict(row.traits or {}),
                dict(row.trait_times or {}),
                {name: getattr(row, name) for name in ACCOUNT_COLUMNS},
            )
    return found


async def add_accounts(
    conn: AsyncConnection, new: Sequence[NewAccount], *, now: datetime
) -> list[int]:
    """The ids of new account rows, in the order of `new`, inserted in one round trip;
    each is due for scoring."""
    return await insert_returning_ids(
        conn,
        accounts,
        [
            {
                "domain": a.domain,
                "group_id": a.group_id,
                "name": a.name,
                "employees": a.employees,
                "industry": a.industry,
                "traits": a.traits,
                "trait_times": a.trait_times,
                "created_at": now,
                "updated_at": now,
                "signal_version": 0,
                "scored_version": 0,
            }
            for a in new
        ],
    )


async def write_account_traits(
    conn: AsyncConnection, writes: Sequence[tuple[int, Stored]], *, now: datetime
) -> None:
    """One executemany: each (account id, traits) of `writes` is what that row's traits,
    name, employees and industry are from now on."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == bindparam("b_id"))
        .values(
            name=bindparam("b_name"),
            employees=bindparam("b_employees"),
            industry=bindparam("b_industry"),
            traits=bindparam("b_traits", type_=accounts.c.traits.type),
            trait_times=bindparam("b_trait_times", type_=accounts.c.trait_times.type),
            updated_at=bindparam("b_updated_at", type_=accounts.c.updated_at.type),
        ),
        [
            {
                "b_id": account_id,
                "b_name": stored.columns["name"],
                "b_employees": stored.columns["employees"],
                "b_industry": stored.columns["industry"],
                "b_traits": stored.traits,
                "b_trait_times": stored.times,
                "b_updated_at": now,
            }
            for account_id, stored in writes
        ],
    )


async def adopt_group_id(
    conn: AsyncConnection, account_id: int, *, group_id: str, now: datetime
) -> None:
    """The account takes `group_id`, unless it has one by now (another request's stays)."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.group_id.is_(None))
        .values(group_id=group_id, updated_at=now)
    )


async def adopt_domain(
    conn: AsyncConnection, account_id: int, *, domain: str, now: datetime
) -> None:
    """The account takes `domain`, unless it has one by now (another request's stays)."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.domain.is_(None))
        .values(domain=domain, updated_at=now)
    )


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
