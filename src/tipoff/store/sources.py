"""The sources table: the named senders of signals, each row with its write key's hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from tipoff.names import SIGNATURE_HEADER
from tipoff.store.db import Connection
from tipoff.store.dialect import locks_rows
from tipoff.store.tables import sources


@dataclass(frozen=True)
class Source:
    id: int
    name: str
    category: str | None  # product | marketing | outcome, or None when mixed
    key_hint: str  # "AbCd…wXyZ": enough to tell keys apart, useless to an attacker
    created_at: datetime
    revoked_at: datetime | None
    kind: str = "api"  # one of tipoff.names.SOURCE_KINDS
    auth_header: str | None = None  # a webhook source's secret header; None: X-Signature
    secret_salt: str | None = None  # an X-Signature source's salt (see tipoff.sources)
    write_key_hash: str = field(default="", repr=False)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def webhook_path(self) -> str | None:
        """Where the vendor posts, for a webhook source."""
        return None if self.kind == "api" else f"/v1/webhooks/{self.id}"

    @property
    def authentication(self) -> str:
        """How requests prove they come from this source, in a few words."""
        if self.kind == "api":
            return "write key"
        if self.auth_header is None:
            return SIGNATURE_HEADER
        return f"header {self.auth_header}"


async def source_named(conn: Connection, name: str) -> Source | None:
    """The source called `name`, revoked or not."""
    row = (await conn.execute(select(sources).where(sources.c.name == name))).one_or_none()
    return None if row is None else _source(row)


async def source_with_id(conn: Connection, source_id: int) -> Source | None:
    """The source with this id, revoked or not."""
    row = (await conn.execute(select(sources).where(sources.c.id == source_id))).one_or_none()
    return None if row is None else _source(row)


async def source_with_key_hash(conn: Connection, write_key_hash: str) -> Source | None:
    """The source whose write key hashes to `write_key_hash`, revoked or not."""
    row = (
        await conn.execute(select(sources).where(sources.c.write_key_hash == write_key_hash))
    ).one_or_none()
    return None if row is None else _source(row)


async def all_sources(conn: Connection) -> list[Source]:
    """Every source, revoked ones included, in the order they were created."""
    rows = await conn.execute(select(sources).order_by(sources.c.id))
    return [_source(row) for row in rows]


async def add_source(
    conn: Connection,
    *,
    name: str,
    category: str | None,
    write_key_hash: str,
    key_hint: str,
    created_at: datetime,
    kind: str,
    auth_header: str | None,
    secret_salt: str | None,
) -> Source | None:
    """The new source row; None when another transaction stored that name (or key hash)
    first (a unique index)."""
    values = {
        "name": name,
        "category": category,
        "write_key_hash": write_key_hash,
        "key_hint": key_hint,
        "created_at": created_at,
        "revoked_at": None,
        "kind": kind,
        "auth_header": auth_header,
        "secret_salt": secret_salt,
    }
    try:
        result = await conn.execute(insert(sources).values(values).returning(sources))
    except IntegrityError:
        return None
    return _source(result.one())


async def add_import_source(
    conn: Connection,
    *,
    name: str,
    category: str | None,
    write_key_hash: str,
    key_hint: str,
    created_at: datetime,
) -> int:
    """The id of a new source row that no write key opens (files import under it)."""
    result = await conn.execute(
        insert(sources).values(
            name=name,
            category=category,
            write_key_hash=write_key_hash,
            key_hint=key_hint,
            created_at=created_at,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


async def set_revoked(conn: Connection, source_id: int, *, at: datetime) -> Source:
    """The source, revoked at `at`."""
    result = await conn.execute(
        update(sources).where(sources.c.id == source_id).values(revoked_at=at).returning(sources)
    )
    return _source(result.one())


async def revocation_held(conn: Connection, source_id: int) -> tuple[str, datetime | None] | None:
    """The source's name and when it was revoked (None: it is live), or None when there is
    no such source. On PostgreSQL the row stays locked FOR SHARE until this transaction
    ends, so a revocation waits for it; SQLite's write lock, held by then, does as much."""
    query = select(sources.c.name, sources.c.revoked_at).where(sources.c.id == source_id)
    if locks_rows(conn.dialect.name):
        query = query.with_for_update(read=True)
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else (row.name, row.revoked_at)


def _source(row: Row[Any]) -> Source:
    m = row._mapping
    return Source(
        id=m["id"],
        name=m["name"],
        category=m["category"],
        key_hint=m["key_hint"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
        kind=m["kind"],
        auth_header=m["auth_header"],
        secret_salt=m["secret_salt"],
        write_key_hash=m["write_key_hash"],
    )
