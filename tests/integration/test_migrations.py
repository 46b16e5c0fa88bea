"""Migrations carry an existing database forward: data written under the first schema
survives an upgrade to the newest one, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from tests import seed
from tests.conftest import NOW
from tipoff.store.db import Database, alembic_config, schema_head
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


async def test_scores_capped_at_100_become_points_where_they_are_compared(db_url: str) -> None:
    """0008: a saturated account's score, newest history row and newest alert take its
    points, so the first rescore under the new scale neither re-alerts it ("score up 45")
    nor lists it as a mover; everything else is kept."""
    db = Database(db_url)
    at = NOW.replace(tzinfo=None)
    try:
        await db.migrate("0007")
        async with db.transaction() as conn:
            ids = {
                domain: await seed.account(conn, NOW, domain, domain)
                for domain in ("saturated.io", "edge.io", "below.io")
            }
            for domain, score, raw in (
                ("saturated.io", 100, 144.9),
                ("edge.io", 100, 100.5),  # rounds to 100, as score_of does: unchanged
                ("below.io", 90, 90.2),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO scores (account_id, score, raw_points, track, fit, product,"
                        " marketing, timing, evidence, model_name, scored_at)"
                        " VALUES (:a, :s, :r, 'hot', 15, 70, 0, 5, '[]', 'default', :t)"
                    ),
                    {"a": ids[domain], "s": score, "r": raw, "t": at},
                )
            for account, score in ((ids["saturated.io"], 100), (ids["saturated.io"], 100),
                                   (ids["below.io"], 90)):  # fmt: skip
                await conn.execute(
                    text(
                        "INSERT INTO score_history (account_id, score, track, scored_at)"
                        " VALUES (:a, :s, 'hot', :t)"
                    ),
                    {"a": account, "s": score, "t": at},
                )
                await conn.execute(
                    text(
                        "INSERT INTO alerts (account_id, track, score, reason, text, blocks,"
                        " target, status, attempts, next_attempt_at, created_at)"
                        " VALUES (:a, 'hot', :s, 'entered hot', 'x — 100', '[]', '#sales',"
                        " 'sent', 1, :t, :t)"
                    ),
                    {"a": account, "s": score, "t": at},
                )

        async def stored() -> dict[str, list[tuple[int, int]]]:
            async with db.transaction() as conn:
                return {
                    table: [
                        (r.account_id, r.score)
                        for r in await conn.execute(
                            text(f"SELECT account_id, score FROM {table} ORDER BY {order}")  # noqa: S608
                        )
                    ]
                    for table, order in (
                        ("scores", "account_id"),
                        ("score_history", "id"),
                        ("alerts", "id"),
                    )
                }

        saturated, edge, below = ids["saturated.io"], ids["edge.io"], ids["below.io"]
        await db.migrate()
        assert await stored() == {
            "scores": [(saturated, 145), (edge, 100), (below, 90)],
            "score_history": [(saturated, 100), (saturated, 145), (below, 90)],
            "alerts": [(saturated, 100), (saturated, 145), (below, 90)],
        }

        async def downgrade() -> None:
            def run(sync_connection: Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                command.downgrade(config, "0007")

            async with db.engine.begin() as conn:
                await conn.run_sync(run)

        await downgrade()  # back to the old scale: capped at 100 again
        assert await stored() == {
            "scores": [(saturated, 100), (edge, 100), (below, 90)],
            "score_history": [(saturated, 100), (saturated, 100), (below, 90)],
            "alerts": [(saturated, 100), (saturated, 100), (below, 90)],
        }
    finally:
        await db.dispose()


def test_the_schema_head_read_without_alembic_is_alembics() -> None:
    assert schema_head() == ScriptDirectory.from_config(alembic_config()).get_current_head()
