"""`Database.run_retrying` against real races on the test's database: a transaction that
inserts a row another committed after it looked is run again from the start when that
counts as a race, and fails at once when it does not."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import NOW
from tipoff.store.db import Database
from tipoff.store.tables import sources


def source_row(name: str, key_hash: str) -> dict[str, Any]:
    return {
        "name": name,
        "category": "product",
        "write_key_hash": key_hash,
        "key_hint": "abcd",
        "created_at": NOW,
    }


class AddUnlessThere:
    """A unit of work that adds the source "web" unless it finds it; on its first run
    another transaction commits "web" between the look and the insert."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.runs = 0

    async def __call__(self, conn: AsyncConnection) -> str:
        self.runs += 1
        found = await conn.scalar(select(func.count()).where(sources.c.name == "web"))
        if found:
            return "found"
        if self.runs == 1:
            async with self.database.transaction() as other:
                await other.execute(insert(sources).values(source_row("web", "1" * 64)))
        await conn.execute(insert(sources).values(source_row("web", "2" * 64)))
        return "added"


async def test_a_row_inserted_meanwhile_is_a_race_run_again_from_the_start(
    database: Database,
) -> None:
    work, retried = AddUnlessThere(database), []
    result = await database.run_retrying(
        work, what="adding a source", integrity_races=True, on_retry=retried.append
    )
    assert (result, work.runs) == ("found", 2)
    unique_violation = "23505" if database.dialect == "postgresql" else "SQLITE_CONSTRAINT_UNIQUE"
    assert retried == [unique_violation]
    async with database.transaction() as conn:
        assert await conn.scalar(select(func.count()).select_from(sources)) == 1


async def test_without_integrity_races_a_unique_violation_fails_at_once(
    database: Database,
) -> None:
    work, retried = AddUnlessThere(database), []
    with pytest.raises(IntegrityError):
        await database.run_retrying(work, what="adding a source", on_retry=retried.append)
    assert (work.runs, retried) == (1, [])
