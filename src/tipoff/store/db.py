"""The database handle: one async engine per process, a connection per unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tipoff.store.dialect import bound_lock_waits, configure_engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "tipoff.store:migrations")
    return config


class Database:
    """Owns the engine. Built once by the composition root and disposed at shutdown."""

    def __init__(self, url: str) -> None:
        """`url` is an async SQLAlchemy URL (sqlite+aiosqlite or postgresql+asyncpg)."""
        self.url = make_url(url)
        self.engine: AsyncEngine = create_async_engine(self.url)
        configure_engine(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_file(self) -> Path | None:
        """The file a SQLite database lives in (created on first connect); None for an
        in-memory one and for PostgreSQL."""
        if self.dialect != "sqlite" or self.url.database in (None, "", ":memory:"):
            return None
        return Path(self.url.database)

    @asynccontextmanager
    async def transaction(
        self, *, lock_wait_seconds: float | None = None
    ) -> AsyncIterator[AsyncConnection]:
        """One unit of work: commits on success, rolls back on any exception.

        `lock_wait_seconds` bounds how long it waits for a lock another unit of work
        holds (it then fails with the driver's error): for work someone is waiting on
        with a deadline, as Slack waits three seconds for a click's acknowledgement."""
        async with self.engine.begin() as connection:
            if lock_wait_seconds is None:
                yield connection
                return
            async with bound_lock_waits(connection, lock_wait_seconds):
                yield connection

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest migration, or up to `revision` (idempotent)."""

        def upgrade(sync_connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_connection
            command.upgrade(config, revision)

        async with self.engine.begin() as connection:
            await connection.run_sync(upgrade)

    async def schema_revisions(self) -> tuple[str | None, str]:
        """The migration the database is at (None: it has no Tipoff schema yet) and the
        newest one this Tipoff ships."""
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None

        def current(sync_connection: Connection) -> str | None:
            return MigrationContext.configure(sync_connection).get_current_revision()

        async with self.engine.connect() as connection:
            return await connection.run_sync(current), head

    async def dispose(self) -> None:
        await self.engine.dispose()
