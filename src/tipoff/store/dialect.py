"""Every difference between SQLite and PostgreSQL that Tipoff cares about, in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type and hands back naive values; PostgreSQL keeps the offset.
    Values are stored as UTC and always come back aware, so the core can compare them with
    a `now` that is aware too.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Tipoff stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def insert_ignoring_conflicts(table: Table, dialect_name: str) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` for the connection's dialect."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def configure_engine(engine: AsyncEngine) -> None:
    """Connection settings a backend needs before Tipoff may trust it."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets lookups read while ingest writes; synchronous=FULL makes a commit
        # durable before ingest answers 200; busy_timeout queues writers instead of
        # failing them (the scheduler and ingest write from the same process).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def upsert(table: Table, dialect_name: str, *, key: list[str], update: list[str]) -> Insert:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET update = excluded.update`."""
    insert = postgresql.insert(table) if dialect_name == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_update(
        index_elements=key, set_={name: insert.excluded[name] for name in update}
    )
