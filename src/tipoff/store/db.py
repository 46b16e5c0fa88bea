"""The database handle: one async engine per process, a connection per unit of work."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from sqlalchemy import Connection as SyncConnection
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tipoff.errors import DatabaseUnreachable
from tipoff.store.dialect import (
    bound_lock_waits,
    configure_engine,
    empty_write_ahead_log,
    engine_options,
    locks_rows,
    read_row_by_row,
    transient_conflict,
)

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

T = TypeVar("T")

# One unit of work's connection, as the code above store/ names it: services hold one and
# pass it to store functions without importing SQLAlchemy themselves.
Connection: TypeAlias = AsyncConnection

# A transaction that loses a race runs at most this many times in all. Each wait before
# the next run is drawn between 0 and a ceiling that doubles from 10 ms, so the racers
# come back at different moments (at most 1.27 s of waiting in all).
RACE_ATTEMPTS = 8
_FIRST_BACKOFF_CEILING = 0.01


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "tipoff.store:migrations")
    return config


class Database:
    """Owns the engine. Built once by the composition root and disposed at shutdown."""

    def __init__(self, url: str) -> None:
        """`url` is an async SQLAlchemy URL (sqlite+aiosqlite or postgresql+asyncpg)."""
        self.url = make_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url, **engine_options(self.url.get_backend_name())
        )
        configure_engine(self.engine)
        # `one_writer_here`'s lock, one for each event loop the engine is used from.
        self._writer_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def locks_rows(self) -> bool:
        """Whether units of work can lock single rows (PostgreSQL), so that replicas each
        claim their own share of the work; else one writer at a time (SQLite)."""
        return locks_rows(self.dialect)

    @asynccontextmanager
    async def one_writer_here(self) -> AsyncIterator[None]:
        """On SQLite, one unit of work at a time in this process among those that run in
        this context (ingest's), each handed the turn the moment the last one ends.
        Waiting on SQLite's own lock instead, a unit of work polls with sleeps growing to
        100 ms, and wakes up to that long after the lock is free. (Other processes on
        the same file still wait on SQLite's lock.) Nothing on PostgreSQL."""
        if self.locks_rows:
            yield
            return
        loop = asyncio.get_running_loop()
        lock = self._writer_locks.get(loop)
        if lock is None:
            lock = self._writer_locks[loop] = asyncio.Lock()
        async with lock:
            yield

    @property
    def sqlite_file(self) -> Path | None:
        """The file a SQLite database lives in (created on first connect); None for an
        in-memory one and for PostgreSQL."""
        if self.dialect != "sqlite" or self.url.database in (None, "", ":memory:"):
            return None
        return Path(self.url.database)

    @asynccontextmanager
    async def transaction(
        self, *, lock_wait_seconds: float | None = None, row_by_row: bool = False
    ) -> AsyncIterator[Connection]:
        """One unit of work: commits on success, rolls back on any exception.

        `lock_wait_seconds` bounds how long it waits for a lock another unit of work
        holds (it then fails with the driver's error): for work someone is waiting on
        with a deadline, as Slack waits three seconds for a click's acknowledgement.
        `row_by_row` is for a unit of work that only reads while nothing else computes
        beside it (a rescoring worker): see `dialect.fetch_rows_at_once`."""
        async with self.engine.begin() as connection:
            if row_by_row:
                await read_row_by_row(connection)
            if lock_wait_seconds is None:
                yield connection
                return
            async with bound_lock_waits(connection, lock_wait_seconds):
                yield connection

    async def run_retrying(
        self,
        work: Callable[[Connection], Awaitable[T]],
        *,
        what: str,
        integrity_races: bool = False,
        on_retry: Callable[[str], None] | None = None,
    ) -> T:
        """`work(conn)` in one transaction, committed before this returns its result.

        A transaction that loses a race with a concurrent one (`dialect.transient_conflict`:
        a deadlock or serialization failure on PostgreSQL; with `integrity_races`, a row
        another transaction inserted or deleted meanwhile) is rolled back whole and `work`
        runs again from the start on a new transaction, up to RACE_ATTEMPTS runs in all;
        so `work` must hold no state of its own across runs. Each rerun is logged at
        warning with `what` (what the transaction does) and the error code, and passed
        to `on_retry` (the code: a metric). Any other error, and the last run's, is raised."""
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                async with self.transaction() as connection:
                    return await work(connection)
            except DBAPIError as error:
                code = transient_conflict(error, integrity_races=integrity_races)
                if code is None or attempt == RACE_ATTEMPTS:
                    raise
                log.warning(
                    "%s lost a race with another transaction (%s), run %d of at most %d;"
                    " running it again",
                    what,
                    code,
                    attempt,
                    RACE_ATTEMPTS,
                )
                if on_retry is not None:
                    on_retry(code)
            await asyncio.sleep(random.uniform(0, _FIRST_BACKOFF_CEILING * 2 ** (attempt - 1)))
        raise AssertionError("unreachable: the last run returns or raises")

    async def check_connection(self) -> None:
        """Connects once; raises DatabaseUnreachable, saying where and why, when that
        fails (no server there, a name that does not resolve, a refused login, a
        database that does not exist), rather than the driver's own error."""
        try:
            async with self.engine.connect():
                pass
        except (OSError, DBAPIError) as error:
            cause = error.orig if isinstance(error, DBAPIError) else error
            if isinstance(cause, ConnectionRefusedError):
                reason = "connection refused (nothing listens at that host and port)"
            elif isinstance(cause, OSError) and cause.strerror:
                reason = cause.strerror
            else:
                reason = str(cause) or type(cause).__name__
            where = self.url.render_as_string(hide_password=True)
            raise DatabaseUnreachable(
                f"Cannot connect to the database at {where}: {reason.splitlines()[0]}."
                " Check DATABASE_URL, and that the database server is running and"
                " reachable from here."
            ) from None

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest migration, or up to `revision` (idempotent)."""

        from alembic import command

        def upgrade(sync_connection: SyncConnection) -> None:
            config = alembic_config()
            config.attributes["connection"] = sync_connection
            command.upgrade(config, revision)

        async with self.engine.begin() as connection:
            await connection.run_sync(upgrade)

    async def schema_revisions(self) -> tuple[str | None, str]:
        """The migration the database is at (None: it has no Tipoff schema yet) and the
        newest one this Tipoff ships. Read without Alembic (see `schema_head`): every
        command checks this before it starts."""

        def current(sync_connection: SyncConnection) -> str | None:
            if not inspect(sync_connection).has_table("alembic_version"):
                return None
            found = sync_connection.execute(text("SELECT version_num FROM alembic_version"))
            return found.scalar()

        async with self.engine.connect() as connection:
            return await connection.run_sync(current), schema_head()

    async def empty_write_ahead_log(self) -> bool:
        """See `dialect.empty_write_ahead_log`."""
        return await empty_write_ahead_log(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()


_REVISION = re.compile(r"""^(down_revision|revision)\s*=\s*["']?([^"'\s]+)["']?\s*$""", re.M)


@functools.cache
def schema_head() -> str:
    """The newest migration this Tipoff ships: the one no other migration revises. Read
    from the `revision = ...` and `down_revision = ...` lines of the migration files
    (Alembic's own reading imports Alembic and every migration, which takes longer than
    the lookup a command then makes); tests/integration/test_migrations.py checks that
    Alembic finds the same head."""
    versions = resources.files("tipoff.store.migrations").joinpath("versions")
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in versions.iterdir():
        if not script.name.endswith(".py"):
            continue
        for key, value in _REVISION.findall(script.read_text("utf-8")):
            (revisions if key == "revision" else revised).add(value)
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


async def ping(conn: Connection) -> None:
    """One round trip to the database, reading nothing: whether it answers."""
    await conn.execute(text("SELECT 1"))


def is_database_failure(error: BaseException) -> bool:
    """Whether `error` is the database's (unreachable, refused, a statement failed), for
    edges that answer it differently from their own refusals."""
    return isinstance(error, SQLAlchemyError)
