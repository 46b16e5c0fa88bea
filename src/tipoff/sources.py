"""Sources: the named senders of signals, each with its own write key.

A write key is shown once, when its source is created. Tipoff keeps only its SHA-256 and a
short hint (the first and last four characters) that lets an admin tell keys apart. Keys
are 32 random bytes, so a fast unsalted hash is enough, and looking a key up by its hash
means no secret is ever compared in Python.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.errors import Conflict, InvalidInput, NotFound, Unauthorized
from tipoff.store.tables import sources

CATEGORIES = ("product", "marketing", "outcome")
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Source:
    id: int
    name: str
    category: str | None  # product | marketing | outcome, or None when mixed
    key_hint: str  # "AbCd…wXyZ": enough to tell keys apart, useless to an attacker
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class NewSource:
    source: Source
    write_key: str  # shown to the admin once; Tipoff cannot show it again


def hash_write_key(write_key: str) -> str:
    return hashlib.sha256(write_key.encode("utf-8")).hexdigest()


def key_hint(write_key: str) -> str:
    return f"{write_key[:4]}…{write_key[-4:]}"


async def create_source(
    *, conn: AsyncConnection, name: str, category: str | None = None, now: datetime
) -> NewSource:
    """Register a source and mint its write key. Conflict if the name is taken (a revoked
    source keeps its name, so that its history stays attributable)."""
    name = _valid_name(name)
    if category is not None and category not in CATEGORIES:
        raise InvalidInput(
            f"unknown category {category!r}: expected one of {', '.join(CATEGORIES)}"
        )
    existing = await _find(conn, name)
    if existing is not None:
        raise Conflict(_taken(existing))

    write_key = secrets.token_urlsafe(32)
    values = {
        "name": name,
        "category": category,
        "write_key_hash": hash_write_key(write_key),
        "key_hint": key_hint(write_key),
        "created_at": now,
        "revoked_at": None,
    }
    try:
        result = await conn.execute(insert(sources).values(values).returning(sources))
    except IntegrityError:
        # Another process added the same name between the check and the insert.
        raise Conflict(f"a source named {name!r} already exists") from None
    return NewSource(source=_source(result.one()), write_key=write_key)


async def import_source(
    conn: AsyncConnection, name: str, *, category: str | None, now: datetime
) -> int:
    """The id of the source a file import stores its rows under: the source of that name
    (one created with a write key too), else a new one that only imports files."""
    name = _valid_name(name)
    existing = await _find(conn, name)
    if existing is not None:
        if existing.revoked:
            raise InvalidInput(f"source {name!r} is revoked: import under another --source")
        return existing.id
    result = await conn.execute(
        insert(sources).values(
            name=name,
            category=category,
            # No write key: a value no key hashes to (a SHA-256 is 64 hex digits).
            write_key_hash="import:" + hash_write_key(name)[:57],
            key_hint="(import)",
            created_at=now,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


async def list_sources(*, conn: AsyncConnection) -> list[Source]:
    """Every source, revoked ones included, in the order they were created."""
    rows = await conn.execute(select(sources).order_by(sources.c.id))
    return [_source(row) for row in rows]


async def revoke_source(*, conn: AsyncConnection, name: str, now: datetime) -> Source:
    """Stop accepting the source's key from now on. Revoking twice keeps the first time."""
    found = await _find(conn, name.strip())
    if found is None:
        raise NotFound(f"no source named {name!r} (see `tipoff sources list`)")
    if found.revoked:
        return found
    result = await conn.execute(
        update(sources).where(sources.c.id == found.id).values(revoked_at=now).returning(sources)
    )
    return _source(result.one())


async def authenticate(*, conn: AsyncConnection, write_key: str) -> Source:
    """The live source that owns `write_key`, or Unauthorized."""
    if not write_key:
        raise Unauthorized("a write key is required")
    row = (
        await conn.execute(
            select(sources).where(sources.c.write_key_hash == hash_write_key(write_key))
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized("unknown write key")
    source = _source(row)
    if source.revoked:
        raise Unauthorized(f"the write key of source {source.name!r} has been revoked")
    return source


async def _find(conn: AsyncConnection, name: str) -> Source | None:
    row = (await conn.execute(select(sources).where(sources.c.name == name))).one_or_none()
    return None if row is None else _source(row)


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a source needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a source name is at most {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise InvalidInput("a source name cannot contain control characters")
    return name


def _taken(existing: Source) -> str:
    if existing.revoked:
        return (
            f"a source named {existing.name!r} already exists (revoked); "
            "choose another name for the new one"
        )
    return (
        f"a source named {existing.name!r} already exists (key {existing.key_hint}); "
        "choose another name"
    )


def _source(row: Row[Any]) -> Source:
    m = row._mapping
    return Source(
        id=m["id"],
        name=m["name"],
        category=m["category"],
        key_hint=m["key_hint"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )
