"""Live model changes: checked before use, logged with who and when, every account
rescored under the new model."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.integration.test_cli import tipoff
from tipoff.quality.changes import content_hash, model_text
from tipoff.settings import Settings
from tipoff.startup import build_runtime
from tipoff.store.tables import accounts, model_changes

DEFAULT = model_text(None)


def lighter_model(tmp_path: Path) -> Path:
    path = tmp_path / "lighter.yml"
    path.write_text(
        DEFAULT.replace("name: default", "name: lighter", 1).replace("points: 30", "points: 25", 1)
    )
    return path


async def test_start_up_logs_a_changed_model_and_marks_every_account_due(
    settings: Settings, tmp_path: Path
) -> None:
    runtime = await build_runtime(settings)
    async with runtime.db.transaction() as conn:
        await seed.hot_acme(conn, NOW)
    from tipoff.scores.rescoring import rescore

    await rescore(runtime)  # nothing is due afterwards
    await runtime.close()

    again = await build_runtime(settings)  # same model: no change logged
    await again.close()

    changed = settings.model_copy(update={"model_path": lighter_model(tmp_path)})
    runtime = await build_runtime(changed, changed_by="rita")
    try:
        async with runtime.db.transaction() as conn:
            rows = (await conn.execute(select(model_changes).order_by(model_changes.c.id))).all()
            due = (
                await conn.execute(
                    select(accounts.c.id).where(
                        accounts.c.signal_version > accounts.c.scored_version
                    )
                )
            ).all()
    finally:
        await runtime.close()
    assert [(r.model_name, r.changed_by) for r in rows[1:]] == [("lighter", "rita")]
    assert rows[0].model_name == "default" and rows[0].content_hash == content_hash(DEFAULT)
    assert rows[1].model_text == lighter_model(tmp_path).read_text()
    assert rows[1].changed_at.tzinfo is not None
    assert len(due) == 1  # Acme is rescored under the new model on the next pass


def test_model_apply_checks_logs_and_rescores(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'tipoff.db'}"}
    started = tipoff(tmp_path, "sources", "add", "crm", "--category", "outcome", env=env)
    assert started.returncode == 0, started.stderr  # creates the database
    with closing(sqlite3.connect(tmp_path / "tipoff.db")) as conn, conn:
        conn.execute(
            "INSERT INTO accounts (domain, name, employees, traits, created_at, updated_at, "
            "signal_version, scored_version) VALUES ('acme.io', 'Acme', 250, '{}', "
            "'2026-11-20 15:00:00.000000', '2026-11-20 15:00:00.000000', 0, 0)"
        )

    broken = tmp_path / "broken.yml"
    broken.write_text(DEFAULT.replace("points: 30", "pionts: 30", 1))
    refused = tipoff(tmp_path, "model", "apply", str(broken), env=env)
    assert refused.returncode == 1
    assert "pionts: unknown key" in refused.stderr

    applied = tipoff(
        tmp_path, "model", "apply", str(lighter_model(tmp_path)), "--by", "rita", env=env
    )
    assert applied.returncode == 0, applied.stderr
    assert "Model 'lighter'" in applied.stdout and "by rita" in applied.stdout
    assert "Rescored 1 account;" in applied.stdout
    assert "TIPOFF_MODEL does not point at" in " ".join(applied.stderr.split())
    with closing(sqlite3.connect(tmp_path / "tipoff.db")) as conn, conn:
        log = conn.execute(
            "SELECT model_name, changed_by FROM model_changes ORDER BY id"
        ).fetchall()
        scored = conn.execute("SELECT model_name FROM scores").fetchall()
    assert log[-1] == ("lighter", "rita")
    assert "pionts" not in str(log)
    assert scored == [("lighter",)]

    history = tipoff(tmp_path, "model", "history", env=env)
    assert history.returncode == 0, history.stderr
    assert "lighter" in history.stdout and "rita" in history.stdout
    # Reading the history did not log its own (default) model as a change.
    with closing(sqlite3.connect(tmp_path / "tipoff.db")) as conn, conn:
        assert conn.execute(
            "SELECT model_name FROM model_changes ORDER BY id DESC LIMIT 1"
        ).fetchone() == ("lighter",)


def test_reading_commands_with_another_model_change_nothing(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'tipoff.db'}"}
    default = tmp_path / "default.yml"
    default.write_text(DEFAULT)
    applied = tipoff(tmp_path, "model", "apply", str(default), "--by", "rita", env=env)
    assert applied.returncode == 0, applied.stderr
    with closing(sqlite3.connect(tmp_path / "tipoff.db")) as conn, conn:
        conn.execute(
            "INSERT INTO accounts (domain, name, employees, traits, created_at, updated_at, "
            "signal_version, scored_version) VALUES ('acme.io', 'Acme', 250, '{}', "
            "'2026-11-20 15:00:00.000000', '2026-11-20 15:00:00.000000', 0, 0)"
        )

    def state() -> tuple[list[tuple[object, ...]], ...]:
        with closing(sqlite3.connect(tmp_path / "tipoff.db")) as conn:
            return (
                conn.execute("SELECT model_name, content_hash FROM model_changes").fetchall(),
                conn.execute("SELECT signal_version, scored_version FROM accounts").fetchall(),
                conn.execute("SELECT account_id, score, model_name FROM scores").fetchall(),
            )

    before = state()
    other = {**env, "TIPOFF_MODEL": str(lighter_model(tmp_path))}
    for command in (["score", "acme.io"], ["top"]):
        result = tipoff(tmp_path, *command, env=other)
        assert result.returncode == 0, result.stderr
        said = " ".join(result.stderr.split())
        assert "TIPOFF_MODEL ('lighter') is not the live model ('default')" in said
        assert state() == before  # no model change logged, no account marked due

    refused = tipoff(tmp_path, "rescore", "--all", env=other)
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    assert "TIPOFF_MODEL ('lighter') is not the live model ('default'" in said
    assert "tipoff model apply" in said and "Traceback" not in said
    assert state() == before  # nothing scored under a model no change records


async def test_commands_refuse_a_database_whose_schema_is_behind(tmp_path: Path) -> None:
    from tipoff.store.db import Database

    path = tmp_path / "tipoff.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.migrate("0004")  # as an older Tipoff left it
    await db.dispose()

    for args in (["top"], ["score", "acme.io"], ["sources", "add", "crm"], ["rescore"]):
        result = tipoff(tmp_path, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        said = " ".join(result.stderr.split())
        assert "is at schema revision 0004; this Tipoff needs" in said, said
        assert "tipoff serve`" in said and "Traceback" not in said
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0004",)]
