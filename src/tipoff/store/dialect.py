"""Every difference between SQLite and PostgreSQL that Tipoff cares about, in one place."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pydantic_core
from pydantic_core import PydanticSerializationError
from sqlalchemy import (
    JSON,
    DateTime,
    Join,
    Row,
    Select,
    Table,
    bindparam,
    event,
    false,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")


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


if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


def _dialect_insert(table: Table, dialect_name: str) -> postgresql.Insert | sqlite.Insert:
    """The dialect's own INSERT (with ON CONFLICT). Imported when used: the PostgreSQL
    dialect's modules take longer to import than a lookup on SQLite takes to run."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def insert_ignoring_conflicts(table: Table, dialect_name: str) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` for the connection's dialect."""
    return _dialect_insert(table, dialect_name).on_conflict_do_nothing()


# How long a SQLite statement waits for another connection's write lock, unless a unit
# of work bounds it (`bound_lock_waits`).
SQLITE_BUSY_TIMEOUT_MS = 10_000


# The mode of a SQLite file Tipoff creates: its owner's only. It holds people's names and
# emails; SQLite gives the -wal and -shm files beside it the same mode.
SQLITE_FILE_MODE = 0o600


def engine_options(backend: str) -> dict[str, Any]:
    """What `create_async_engine` takes for `backend` (a URL's backend name).

    On SQLite, SQLAlchemy's JSON type encodes with `json_text`, as the raw writes do, so
    a row holds the same bytes whichever way it was written.

    On PostgreSQL, statements are not kept prepared: each is prepared when it runs, and
    so planned for its own values on the table as it is then. A statement kept prepared
    is planned once for any values after five runs (a generic plan) and keeps that plan
    until its table is next analyzed. On a new database that plan is made while the
    tables are nearly empty, before autovacuum's first ANALYZE, and it compares every row
    with the whole list of ids a read names: a rescore of 1,000 accounts took 6.6 s at
    400 thousand events with such a plan, 0.7 s planned each run, and 0.5 s once the
    table was analyzed. The cost is one more round trip a statement (not a row:
    executemany still prepares once), which the ingest benchmarks did not show."""
    if backend == "sqlite":
        return {"json_serializer": json_text}
    return {"connect_args": {"prepared_statement_cache_size": 0}}


def configure_engine(engine: AsyncEngine) -> None:
    """Connection settings a backend needs before Tipoff may trust it."""
    if engine.dialect.name != "sqlite":
        return
    path = engine.url.database
    if path and path != ":memory:" and not path.startswith("file:"):

        @event.listens_for(engine.sync_engine, "do_connect")
        def _private_file(*_: Any) -> None:
            # Created here, before SQLite would create it with the umask's mode (0644 as
            # a rule). A file that exists is left as its owner set it; one that cannot be
            # created (no such folder) is left to SQLite to report, as it always has.
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, SQLITE_FILE_MODE))

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets lookups read while ingest writes; synchronous=FULL makes a commit
        # durable before ingest answers 200; busy_timeout queues writers instead of
        # failing them (the scheduler and ingest write from the same process).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten rows are zeroed on disk, not left in free space: an erased
        # person's name must not stay readable in the file (tipoff.privacy).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        try:
            cursor.execute("SELECT pow(2, 1)")
        except Exception:  # built without its math functions: rescoring's decay needs pow
            dbapi_connection.create_function("pow", 2, math.pow, deterministic=True)
        cursor.close()


async def empty_write_ahead_log(engine: AsyncEngine) -> bool:
    """SQLite: copies every committed page from the -wal file into the database and empties
    the -wal file (a TRUNCATE checkpoint), so no earlier version of a page, with erased
    data in it, stays on disk there. It waits for readers as a writer does
    (busy_timeout); False when one kept it from finishing. Nothing to do elsewhere."""
    if engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as conn:
        busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()[0]
    return not busy


def upsert(table: Table, dialect_name: str, *, key: list[str], update: list[str]) -> Insert:
    """`INSERT … ON CONFLICT (key) DO UPDATE SET update = excluded.update`."""
    insert = _dialect_insert(table, dialect_name)
    return insert.on_conflict_do_update(
        index_elements=key, set_={name: insert.excluded[name] for name in update}
    )


async def insert_returning_ids(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]
) -> list[int]:
    """Insert `rows` in one round trip; their new ids, in the order of `rows`.

    PostgreSQL returns them in order (RETURNING with SQLAlchemy's sort_by_parameter_order).
    SQLite cannot promise the order of RETURNING rows, and SQLAlchemy then falls back to
    one INSERT per row; instead, rely on how SQLite assigns an INTEGER PRIMARY KEY: one
    more than the largest in the table, row after row. After the insert this transaction
    holds SQLite's only write lock, so the largest len(rows) ids are these rows', in order.
    """
    if conn.dialect.name != "sqlite":
        result = await conn.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return list(result.scalars())
    if not rows:
        return []
    await insert_rows(conn, table, rows)
    # One trip to the driver's thread, without SQLAlchemy's Row for each id.
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    newest = await driver.execute_fetchall(
        f"SELECT id FROM {table.name} ORDER BY id DESC LIMIT ?",  # noqa: S608 (a name)
        (len(rows),),
    )
    return [row_id for (row_id,) in reversed(list(newest))]


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts `rows` (all with the same columns, every one the table needs: no Python
    defaults are applied) in one executemany, in their order.

    On SQLite straight to the driver, each JSON and time value as SQLAlchemy's types
    store it: their per-value processing cost more than the insert (benchmarks/,
    figures 2 and 7)."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        await conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    convert = _StoredOnSqlite()
    converted = [n for n, name in enumerate(columns) if _encoded_for_sqlite(table.c[name].type)]
    values = []
    for row in rows:
        value = [row[name] for name in columns]
        for n in converted:
            value[n] = convert(value[n])
        values.append(tuple(value))
    await insert_many(conn, table, columns, values)


class _StoredOnSqlite:
    """`_sqlite_stored` for the values of one insert, whose times repeat: each once (the
    rows' created_at and updated_at are one `now`)."""

    def __init__(self) -> None:
        self._times: dict[datetime, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, datetime):
            text = self._times.get(value)
            if text is None:
                text = self._times[value] = sqlite_utc_text(value)
            return text
        return json_text(value)


def _encoded_for_sqlite(column_type: Any) -> bool:
    """Whether a value of a column of `column_type` goes to the SQLite driver encoded, as
    SQLAlchemy's types send it (JSON: text, by `json_text`; `UTCDateTime`: naive UTC
    text), rather than as it is."""
    return isinstance(column_type, JSON | UTCDateTime)


async def select_where_in(
    conn: AsyncConnection,
    table: Table,
    columns: Sequence[str],
    *,
    key: str,
    values: Sequence[Any],
    equal: tuple[str, Any] | None = None,
) -> list[Sequence[Any]]:
    """The `columns` of the rows of `table` whose `key` is one of `values` (and, with
    `equal` (column, value), whose column has that value), read in IN lists of IN_LIST,
    JSON values decoded (each a new object, the caller's to keep). No time columns.

    On SQLite straight to the driver: SQLAlchemy's expansion of the IN list, its Row
    objects and its per-value processing cost ingest more than SQLite's own reads."""
    if any(isinstance(table.c[name].type, UTCDateTime) for name in columns):
        raise ValueError("select_where_in reads no time columns")
    found: list[Sequence[Any]] = []
    if conn.dialect.name != "sqlite":
        for chunk in chunks(values, IN_LIST):
            query = select(*(table.c[name] for name in columns)).select_from(
                among_values(table, key, chunk)
            )
            if equal is not None:
                query = query.where(table.c[equal[0]] == equal[1])
            found += (await conn.execute(query)).all()
        return found
    json_at = [n for n, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    prefix = f"SELECT {', '.join(columns)} FROM {table.name} WHERE "  # noqa: S608 (names)
    if equal is not None:
        prefix += f"{equal[0]} = ? AND "
    first = [] if equal is None else [equal[1]]
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    for chunk in chunks(values, IN_LIST):
        sql = f"{prefix}{key} IN ({', '.join('?' * len(chunk))})"
        # One trip to the driver's thread, not three (execute, fetch, close): each costs
        # both threads some 30-60 µs of CPU, and a batch makes a few dozen.
        rows = await driver.execute_fetchall(sql, [*first, *chunk])
        if not json_at:
            found += rows
            continue
        for row in rows:
            decoded = list(row)
            for n in json_at:
                decoded[n] = _json_value(decoded[n])
            found.append(decoded)
    return found


def among_values(table: Table, key: str, values: Sequence[Any]) -> Join:
    """PostgreSQL: `table` joined to `values` bound as one array, its rows whose `key` is
    one of them: what `key IN (values)` selects (a row once, however often named).

    One array, not a parameter per value: for new senders, whose batches look up a
    thousand messageIds, identities and people at a time, the server's CPU a call went
    from 107 to 82-88 µs. Each run is planned for its values (`engine_options`)."""
    from sqlalchemy.dialects import postgresql

    column = table.c[key]
    distinct = list(dict.fromkeys(values))
    wanted = (
        func.unnest(bindparam(None, distinct, type_=postgresql.ARRAY(column.type)))
        .table_valued("value")
        .render_derived(name="wanted")
    )
    return wanted.join(table, column == wanted.c.value)


def _json_value(stored: str | None) -> Any:
    # As SQLAlchemy's JSON type reads it; most traits are empty: no decoder for them.
    if stored is None:
        return None
    return {} if stored == "{}" else json.loads(stored)


def locks_rows(dialect_name: str) -> bool:
    """Whether the backend locks single rows while others keep writing (PostgreSQL).
    SQLite has one write lock for the whole file: held while a batch is read and scored,
    it would hold up ingest, so rescoring reads and scores first and locks to write."""
    return dialect_name == "postgresql"


async def lock_for_writing(conn: AsyncConnection, table: Table) -> None:
    """Takes SQLite's write lock now (a write that changes nothing), so that what this
    transaction reads next stays true until it commits. Other backends lock rows."""
    if conn.dialect.name == "sqlite":
        pk = next(iter(table.primary_key.columns))
        await conn.execute(update(table).where(false()).values({pk.name: pk}))


# The PostgreSQL advisory lock a unit of work holds while it creates people, accounts or
# identities (`lock_for_creating`): a number no other lock of Tipoff's uses.
_CREATING_ROWS_LOCK = 0x7469706F66_0001


async def lock_for_creating(conn: AsyncConnection) -> bool:
    """PostgreSQL: waits until no other unit of work that creates rows holds this lock,
    then holds it until this transaction ends; True, and what the caller found missing
    is to be read again: another may have committed it meanwhile. Two transactions that
    each read a new account as missing and insert it would otherwise both insert it, and
    the second, refused by the unique index, run again from the start, as often as it
    meets another batch of the same new rows. SQLite: False, nothing to do (one writer,
    whose lock ingest takes before it reads)."""
    if not locks_rows(conn.dialect.name):
        return False
    await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CREATING_ROWS_LOCK})")
    return True


@asynccontextmanager
async def bound_lock_waits(conn: AsyncConnection, seconds: float) -> AsyncIterator[None]:
    """Within this transaction, waiting for a lock fails after `seconds` instead of
    queueing: PostgreSQL's lock_timeout and statement_timeout (SET LOCAL: they end with
    the transaction), SQLite's busy_timeout (per connection: put back afterwards)."""
    ms = max(1, int(seconds * 1000))
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
        await conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
        yield
        return
    await conn.exec_driver_sql(f"PRAGMA busy_timeout={ms}")
    try:
        yield
    finally:
        await conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


async def claim(conn: AsyncConnection, query: Select[Any]) -> Sequence[Row[Any]]:
    """Rows of `query`, on PostgreSQL locked `FOR UPDATE SKIP LOCKED` for this transaction:
    another replica skips them and claims the next ones. Where rows cannot be locked
    (`locks_rows`: SQLite) they are only read, and the caller checks before writing that
    nobody wrote them meanwhile (see `lock_for_writing`)."""
    if locks_rows(conn.dialect.name):
        query = query.with_for_update(skip_locked=True)
    rows: Sequence[Row[Any]] = (await conn.execute(query)).all()
    return rows


async def lock_in_order(conn: AsyncConnection, table: Table, ids: Sequence[int]) -> None:
    """Locks the rows of `table` with these ids for this transaction, in id order
    (`FOR NO KEY UPDATE`: other writers wait, foreign keys pointing at the rows do not).
    Two transactions that each lock every row they are about to change through here, in
    one go, take their locks in the same order and cannot deadlock on those rows. Nothing
    on SQLite, whose one write lock covers the whole file."""
    if not locks_rows(conn.dialect.name) or not ids:
        return
    pk = next(iter(table.primary_key.columns))
    ordered = sorted(set(ids))
    for chunk in chunks(ordered, IN_LIST):
        # ORDER BY sits below the locking step in PostgreSQL's plan: rows lock in this order.
        await conn.execute(
            select(pk).where(pk.in_(chunk)).order_by(pk).with_for_update(key_share=True)
        )


# SQLSTATEs of a PostgreSQL transaction that lost a race with a concurrent one.
DEADLOCK_DETECTED = "40P01"  # aborted to break a cycle of lock waits
SERIALIZATION_FAILURE = "40001"  # another committed first (REPEATABLE READ and above)
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
# SQLite: a read transaction that became a writer after another writer committed; it is
# refused at once, without waiting out busy_timeout. (A plain SQLITE_BUSY comes only after
# busy_timeout: a writer held the lock for ten seconds, which is not a passing race.)
_SQLITE_RACES = frozenset({"SQLITE_BUSY_SNAPSHOT"})
_SQLITE_INTEGRITY_RACES = frozenset(
    {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_FOREIGNKEY"}
)


def transient_conflict(error: BaseException, *, integrity_races: bool = False) -> str | None:
    """The error code (SQLSTATE on PostgreSQL, SQLite's error name) when `error` says the
    transaction lost a race with a concurrent one, so that running the whole transaction
    again from the start can succeed; None for any other error.

    A deadlock and a serialization failure are such races on any transaction.
    `integrity_races` counts unique and foreign-key violations as races too: right for a
    transaction that writes what it read a moment before without locking it, as ingest
    does (a person another request created meanwhile, or `forget` deleted), and wrong
    where such a violation means bad input."""
    if not isinstance(error, DBAPIError):
        return None
    driver_error = error.orig
    sqlstate = getattr(driver_error, "sqlstate", None)  # asyncpg, through SQLAlchemy
    if isinstance(sqlstate, str):
        if sqlstate in (DEADLOCK_DETECTED, SERIALIZATION_FAILURE):
            return sqlstate
        if integrity_races and sqlstate in (UNIQUE_VIOLATION, FOREIGN_KEY_VIOLATION):
            return sqlstate
        return None
    name = getattr(driver_error, "sqlite_errorname", None)  # sqlite3, through aiosqlite
    if name in _SQLITE_RACES or (integrity_races and name in _SQLITE_INTEGRITY_RACES):
        return str(name)
    return None


# The fast paths below skip SQLAlchemy's per-value type processing on hot loops (bulk
# event inserts, signal reads); they must agree exactly with what `UTCDateTime` does.


def sqlite_utc_text(value: datetime) -> str:
    """An aware datetime as `UTCDateTime` stores it on SQLite: naive UTC text."""
    if value.tzinfo is UTC:
        # The common case, on every ingested row: its isoformat minus the "+00:00".
        return value.isoformat(" ", "microseconds")[:-6]
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: Tipoff stores aware UTC datetimes only")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def utc_from_db(value: Any) -> datetime:
    """An occurred_at read without type processing, as the aware UTC datetime that
    `UTCDateTime` would give: SQLite hands back its naive text, UTC by construction
    ("2026-05-01 10:00:00.000000"; parsing it with an offset is 8× faster than
    `.replace(tzinfo=UTC)` afterwards), PostgreSQL an aware datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def db_time(value: datetime, dialect_name: str) -> Any:
    """An aware datetime as a raw-SQL parameter compared with stored times."""
    return sqlite_utc_text(value) if dialect_name == "sqlite" else value.astimezone(UTC)


async def fetch_rows(
    conn: AsyncConnection, sql: str, params: dict[str, Any]
) -> Sequence[Sequence[Any]]:
    """All rows of a raw SELECT with `:name` parameters, values as the driver gives them.

    On SQLite the driver runs it directly: SQLAlchemy's aiosqlite adapter and Row objects
    cost about 5 µs a row, three times SQLite's own fetch, and rescoring reads many."""
    if conn.dialect.name == "sqlite":
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        cursor = await driver.execute(sql, params)
        try:
            return cast(Sequence[Sequence[Any]], await cursor.fetchall())
        finally:
            await cursor.close()
    return (await conn.execute(text(sql), params)).all()


# Values per IN (…) list: far below either backend's bound-parameter limit.
IN_LIST = 1000
# Ids per IN (…) list of the raw reads that bind other values beside them (`in_list`).
_CHUNK = 500


def chunks(values: Sequence[T], size: int = _CHUNK) -> Iterable[Sequence[T]]:
    """`values` in slices of at most `size`, an IN (…) list each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def in_list(prefix: str, values: Iterable[Any], params: dict[str, Any]) -> str:
    """Placeholders `:prefix0, :prefix1, …` for `values`, which are added to `params`.
    Only these generated names are formatted into SQL text; every value is a parameter."""
    names = []
    for n, value in enumerate(values):
        params[f"{prefix}{n}"] = value
        names.append(f":{prefix}{n}")
    return ", ".join(names)


# A connection execution option: True where no other thread computes beside the reads
# (a rescoring worker process), and `fetch_rows_at_once` reads row by row, 20 % faster.
ROW_BY_ROW = "tipoff_row_by_row"


async def fetch_rows_at_once(
    conn: AsyncConnection,
    sql: str,
    params: dict[str, Any],
    *,
    width: int,
    reals: Sequence[int] = (),
) -> Sequence[Sequence[Any]]:
    """`fetch_rows` for a SELECT of `width` columns, read while another thread computes:
    what rescoring reads for its next batch as it scores the current one.

    The SQLite driver releases the GIL for every row it steps to and must take it back
    for the next; while another thread computes, each take waits out the switch interval
    (5 ms). Re-reading a medium rescore's sums row by row took 1.6 s alone and 640 s
    next to one busy thread. So on SQLite the rows come back as one JSON array that
    SQLite builds in a single step. Columns at `reals` go as 17-digit text, which reads
    back exactly (JSON numbers keep 15 digits) for any magnitude below 1e200: SQLite's
    printf rounds a few larger ones in the last digit. Sums of signals stay far below.
    A connection with the `ROW_BY_ROW` execution option reads as `fetch_rows` does."""
    sync = conn.sync_connection
    options = sync.get_execution_options() if sync is not None else {}
    if conn.dialect.name != "sqlite" or options.get(ROW_BY_ROW):
        return await fetch_rows(conn, sql, params)
    names = [f"c{n}" for n in range(width)]
    cells = [
        f"CASE WHEN {name} IS NULL THEN NULL ELSE printf('%!.17g', {name}) END"
        if n in reals
        else name
        for n, name in enumerate(names)
    ]
    wrapped = (
        f"WITH r({', '.join(names)}) AS ({sql})"  # noqa: S608 (generated names only)
        f" SELECT json_group_array(json_array({', '.join(cells)})) FROM r"
    )
    [[array]] = await fetch_rows(conn, wrapped, params)
    rows: list[list[Any]] = json.loads(array)
    for row in rows:
        for n in reals:
            if row[n] is not None:
                row[n] = float(row[n])
    return rows


def json_key(name: str, dialect_name: str) -> str:
    """The parameter naming a top-level key for `text_property_sql`: a JSON path on
    SQLite (quoted, so any key works), the key itself on PostgreSQL."""
    if dialect_name == "sqlite":
        return "$." + json.dumps(name)
    return name


def text_property_sql(dialect_name: str, key_param: str) -> str:
    """SQL for the string value of `properties` at key `:key_param`, else NULL: the same
    as core.tally.detail_value (empty strings, numbers and objects are not text, and
    properties whose JSON holds a NUL escape give no details: PostgreSQL refuses to turn
    one into text, and a `CASE` is the only order of evaluation it guarantees)."""
    if dialect_name == "sqlite":
        return (
            "CASE WHEN instr(properties, '\\u0000') > 0 THEN NULL"
            f" WHEN json_type(properties, :{key_param}) = 'text'"
            f" THEN NULLIF(json_extract(properties, :{key_param}), '') END"
        )
    return (
        "CASE WHEN position('\\u0000' in CAST(properties AS text)) > 0 THEN NULL"
        f" WHEN json_typeof(properties -> CAST(:{key_param} AS text)) = 'string'"
        f" THEN NULLIF(properties ->> CAST(:{key_param} AS text), '') END"
    )


def decay_clock(now: datetime, dialect_name: str) -> Any:
    """`now` as `decay_weight_sql` reads it: a Julian day number on SQLite (so each row
    costs one julianday()), an aware datetime on PostgreSQL."""
    if dialect_name == "sqlite":
        return now.timestamp() / 86400 + 2440587.5
    return now.astimezone(UTC)


def decay_weight_sql(dialect_name: str) -> str:
    """SQL for core.tally.decay_factor(now - occurred_at) with parameters :now_number
    (`decay_clock`), :grace and :half (the model's decay, in days)."""
    if dialect_name == "sqlite":
        return "pow(0.5, max(0.0, :now_number - julianday(occurred_at) - :grace) / :half)"
    return (
        "power(CAST(0.5 AS float8), GREATEST(CAST(0 AS float8),"
        " CAST(EXTRACT(EPOCH FROM (CAST(:now_number AS timestamptz) - occurred_at)) AS float8)"
        " / 86400.0 - CAST(:grace AS float8)) / CAST(:half AS float8))"
    )


def json_and_time_as_stored(dialect_name: str) -> Callable[[Any], Any]:
    """How `upsert_rows` wants a JSON or `UTCDateTime` value: on SQLite as SQLAlchemy's
    JSON and `UTCDateTime` types store it (JSON text by `json_text`, None too: "null";
    naive UTC text), so the write skips SQLAlchemy's per-value processing and a rescoring
    worker process sends its rows back smaller than the objects; elsewhere as it is."""
    return _sqlite_stored if dialect_name == "sqlite" else _unchanged


def _sqlite_stored(value: Any) -> Any:
    return sqlite_utc_text(value) if isinstance(value, datetime) else json_text(value)


def _unchanged(value: Any) -> Any:
    return value


async def upsert_rows(
    conn: AsyncConnection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: str,
) -> None:
    """`INSERT … ON CONFLICT (key) DO UPDATE` of `rows` (values in `columns` order, their
    JSON and time values `json_and_time_as_stored`). On SQLite straight to the driver."""
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql(_sqlite_upsert_sql(table.name, tuple(columns), key), rows)
        return
    await conn.execute(
        upsert(table, conn.dialect.name, key=[key], update=[c for c in columns if c != key]),
        [dict(zip(columns, row, strict=True)) for row in rows],
    )


@functools.cache
def _sqlite_upsert_sql(table: str, columns: tuple[str, ...], key: str) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608 (names only)
        f" VALUES ({', '.join('?' * len(columns))}) ON CONFLICT ({key}) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in columns if name != key)
    )


async def update_many(
    conn: AsyncConnection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: str,
) -> None:
    """`UPDATE table SET columns = … WHERE key = …` once per row of `rows` (the values of
    `columns`, then the key's), as one executemany; no JSON or time columns. On SQLite
    straight to the driver: SQLAlchemy's per-row parameters cost more than SQLite's own
    updates (a full rescore records 20,000 scored versions)."""
    if any(_encoded_for_sqlite(table.c[name].type) for name in columns):
        raise ValueError("update_many writes no JSON or time columns")
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql(_sqlite_update_sql(table.name, tuple(columns), key), rows)
        return
    await conn.execute(
        update(table)
        .where(table.c[key] == bindparam("b_key"))
        .values({name: bindparam(f"b_{name}") for name in columns}),
        [
            {"b_key": row[-1], **{f"b_{name}": row[n] for n, name in enumerate(columns)}}
            for row in rows
        ],
    )


@functools.cache
def _sqlite_update_sql(table: str, columns: tuple[str, ...], key: str) -> str:
    return (
        f"UPDATE {table} SET {', '.join(f'{name} = ?' for name in columns)}"  # noqa: S608 (names)
        f" WHERE {key} = ?"
    )


async def read_row_by_row(conn: AsyncConnection) -> None:
    """Sets `ROW_BY_ROW` on this unit of work: nothing computes beside its reads."""
    await conn.execution_options(**{ROW_BY_ROW: True})


def json_text(value: Any) -> str:
    """`value` as the JSON text Tipoff's raw SQLite writes store: compact UTF-8, by
    pydantic-core's encoder, which took a third of `json.dumps`'s time for a scores row's
    evidence (a full rescore writes one for every account) and a signal's properties.
    Readers (`json.loads`, SQLite's JSON functions) read it as they read `json.dumps`'s:
    only spaces, escapes of non-ASCII text and a float's exponent ("1e-6", not "1e-06")
    are spelled differently; a NUL is "\\u0000" in both. What that encoder refuses (text
    that is not valid Unicode) goes to `json.dumps`, as before."""
    if type(value) is dict and not value:
        return "{}"  # most signals' properties and new rows' traits: no encoder for them
    try:
        return pydantic_core.to_json(value).decode()
    except PydanticSerializationError:
        return json.dumps(value)


def insert_many_values(
    dialect_name: str,
) -> tuple[Callable[[datetime], Any], Callable[[dict[str, Any]], Any]]:
    """How `insert_many` takes a `UTCDateTime` value and a JSON one on this dialect: on
    SQLite already as those types store them (naive UTC text "YYYY-MM-DD
    HH:MM:SS.ffffff" and `json_text`), elsewhere unchanged (the types convert)."""
    if dialect_name == "sqlite":
        return sqlite_utc_text, json_text
    return _unchanged, _unchanged


async def insert_many(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """One executemany of `rows` (values in the order of `columns`, converted by
    `insert_many_values`) into `table`.

    On SQLite, SQLAlchemy's per-value processing of time and JSON columns costs more than
    SQLite's own insert (benchmarks/, figure 1), so the rows go to the driver as they are."""
    if conn.dialect.name == "sqlite":
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)})"  # noqa: S608 (names only)
            f" VALUES ({', '.join('?' * len(columns))})"
        )
        await conn.exec_driver_sql(sql, rows)
    else:
        await conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
