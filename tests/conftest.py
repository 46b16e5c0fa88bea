"""Fixtures shared by the whole suite: a real, migrated SQLite file per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tipoff.settings import Settings
from tipoff.store.db import Database

# A fixed "now" for tests that need one; far enough from any DST edge to keep days whole.
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


# When set (e.g. postgresql+asyncpg://tipoff:tipoff@127.0.0.1/postgres), every test that asks
# for a database gets a fresh PostgreSQL database on that server instead of a SQLite file;
# `.ci/run` runs the suite both ways.
POSTGRES_URL = os.environ.get("TIPOFF_TEST_POSTGRES_URL")


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'tipoff.db'}"
        return
    import asyncpg  # the postgres extra

    server = make_url(POSTGRES_URL)
    name = f"tipoff_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def settings(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a run without Slack; nothing is read from the developer's .env."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "TIPOFF_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    await db.migrate()
    yield db
    await db.dispose()
