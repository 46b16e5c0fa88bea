"""Migrations carry an existing database forward: data written under the first schema
survives an upgrade to the newest one, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from tests import seed
from tests.conftest import NOW
from tipoff.store.db import Database, alembic_config
from tipoff.store.tables import metadata


async def upgrade(db: Database, revision: str) -> None:
    def run(sync_connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        command.upgrade(config, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def test_a_first_version_database_upgrades_with_its_data(db_url: str) -> None:
    db = Database(db_url)
    try:
        await upgrade(db, "0001")
        async with db.transaction() as conn:
            acme = await seed.hot_acme(conn, NOW)
            await conn.execute(
                text(
                    "INSERT INTO scores (account_id, score, raw_points, track, fit, product, marketing, timing,"
                    " evidence, model_name, scored_at) VALUES (:a, 90, 90, 'hot', 15, 70, 0, 5, '[]', 'default', :t)"
                ),
                {"a": acme, "t": NOW.replace(tzinfo=None)},
            )
        await db.migrate()  # what every start-up does: to the newest revision

        async with db.transaction() as conn:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert (
                await conn.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one() == head
            assert (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one() == 4
            assert (await conn.execute(text("SELECT name, domain FROM accounts"))).one() == (
                "Acme",
                "acme.io",
            )
            assert (await conn.execute(text("SELECT score, track FROM scores"))).one() == (
                90,
                "hot",
            )
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {t.name for t in metadata.sorted_tables} <= tables
        await db.migrate()  # idempotent
    finally:
        await db.dispose()
