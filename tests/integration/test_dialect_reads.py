"""Rescoring's reads come back from SQLite in one step (`fetch_rows_at_once`), as JSON
that SQLite writes. They must be exactly the rows the driver gives row by row."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tipoff.store.db import Database
from tipoff.store.dialect import fetch_rows, fetch_rows_at_once

rows = st.lists(
    st.tuples(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(min_value=-1e200, max_value=1e200) | st.integers(-(2**53), 2**53) | st.none(),
        st.text() | st.none(),  # any text: quotes, NUL, line separators, emoji
    ),
    max_size=20,
)


async def _both_ways(path: Path, drawn: list[tuple[Any, ...]]) -> tuple[list[Any], list[Any]]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.transaction() as conn:
            await conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (i INTEGER, r REAL, s TEXT)")
            await conn.exec_driver_sql("DELETE FROM t")
            if drawn:
                await conn.exec_driver_sql("INSERT INTO t VALUES (?, ?, ?)", drawn)
            sql = "SELECT i, r, s FROM t ORDER BY rowid"
            by_row = await fetch_rows(conn, sql, {})
            at_once = await fetch_rows_at_once(conn, sql, {}, width=3, reals=[1])
    finally:
        await db.dispose()
    return [tuple(r) for r in by_row], [tuple(r) for r in at_once]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=rows)
def test_rows_read_at_once_are_the_rows_read_one_by_one(
    tmp_path: Path, drawn: list[tuple[Any, ...]]
) -> None:
    by_row, at_once = asyncio.run(_both_ways(tmp_path / "reads.db", drawn))
    assert at_once == by_row
    # A REAL column comes back as float, to the last bit (JSON's numbers keep 15 digits).
    assert [type(r[1]) for r in at_once] == [type(r[1]) for r in by_row]
