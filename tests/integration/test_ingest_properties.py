"""Property-based: whatever arrives at the ingest API, the answer is a clear 2xx or 4xx,
never a 500, and a rejected request leaves the database exactly as it was."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.integration.conftest import IngestServer
from tests.strategies import json_values
from tipoff.sources import NewSource
from tipoff.store.db import Database
from tipoff.store.tables import accounts, metadata

ENDPOINTS = ["track", "identify", "group", "alias", "page", "screen", "batch"]

timestamps = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["", "yesterday", "2026-13-45T25:61:00Z", "1e308", "0"]),
)
# Each field Tipoff reads, either plausible or any JSON at all.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(
        ["track", "identify", "group", "alias", "page", "screen", "batch", "TRACK", ""]
    ),
    "userId": st.text(max_size=300),
    "anonymousId": st.text(max_size=40),
    "event": st.sampled_from(["Demo Requested", "Session Started", "", " ", "x" * 300]),
    "name": st.text(max_size=20),
    "messageId": st.text(max_size=300),
    "timestamp": timestamps,
    "sentAt": timestamps,
    "groupId": st.text(max_size=40),
    "previousId": st.text(max_size=40),
    "writeKey": st.text(max_size=50),
    "traits": st.fixed_dictionaries(
        {},
        optional={
            "email": st.one_of(st.emails().map(str), st.text(max_size=20)),
            "employees": st.one_of(
                st.integers(min_value=-(2**40), max_value=2**40), st.text(max_size=8)
            ),
            "domain": st.text(max_size=30),
            "website": st.text(max_size=30),
            "title": st.text(max_size=300),
            "name": st.text(max_size=300),
        },
    ),
    "context": st.fixed_dictionaries({}, optional={"groupId": json_values, "traits": json_values}),
    "properties": st.dictionaries(st.text(max_size=10), json_values, max_size=4),
}
messages = st.fixed_dictionaries(
    {}, optional={field: st.one_of(strategy, json_values) for field, strategy in PLAUSIBLE.items()}
)
bodies = st.one_of(
    messages,
    st.fixed_dictionaries(
        {"batch": st.one_of(st.lists(st.one_of(messages, json_values), max_size=5), json_values)},
        optional={"context": json_values, "sentAt": timestamps},
    ),
    json_values,
)


def snapshot(url: str) -> dict[str, Any]:
    """Row counts of every table and the sum of account versions."""
    if url.startswith("sqlite"):  # sqlite3 directly: an engine per example costs seconds
        with closing(sqlite3.connect(url.split("///", 1)[1])) as conn:
            counts = {
                t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]  # noqa: S608 (our table names)
                for t in metadata.sorted_tables
            }
            versions = conn.execute(
                "SELECT coalesce(sum(signal_version), 0) FROM accounts"
            ).fetchone()[0]
        return {**counts, "signal_versions": versions}
    return asyncio.run(_snapshot(url))


async def _snapshot(url: str) -> dict[str, Any]:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            counts = {
                t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in metadata.sorted_tables
            }
            versions = (
                await conn.execute(select(func.coalesce(func.sum(accounts.c.signal_version), 0)))
            ).scalar_one()
        return {**counts, "signal_versions": versions}
    finally:
        await db.dispose()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(endpoint=st.sampled_from(ENDPOINTS), body=bodies, raw=st.booleans())
@example(
    endpoint="batch", body={"batch": [{"type": {}}]}, raw=False
)  # found by schemathesis: a 500
def test_any_payload_gets_a_clear_answer_and_rejections_change_nothing(
    ingest_server: IngestServer,
    ingest_source: NewSource,
    db_url: str,
    endpoint: str,
    body: Any,
    raw: bool,
) -> None:
    content = json.dumps(body).encode()
    if raw:  # a byte-level mutation: truncated JSON
        content = content[: max(1, len(content) // 2)]
    before = snapshot(db_url)
    response = httpx.post(
        f"{ingest_server.url}/v1/{endpoint}",
        content=content,
        headers={"Content-Type": "application/json"},
        auth=(ingest_source.write_key, ""),
        timeout=30,
    )
    assert response.status_code < 500, response.text
    answer = response.json()
    if response.status_code == 200:
        assert answer == {"success": True}
        return
    assert set(answer) == {"code", "message"} and answer["message"], answer
    assert snapshot(db_url) == before, f"{response.status_code} {answer} changed the database"
