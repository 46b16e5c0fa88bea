"""`tipoff outcomes import`: CRM outcomes from CSV, through the ingest service, all or
nothing, on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from tests import seed
from tests.conftest import NOW
from tests.integration.test_cli import tipoff
from tipoff.store.db import Database


def seeded(tmp_path: Path) -> Path:
    path = tmp_path / "tipoff.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.migrate()
        try:
            async with db.transaction() as conn:
                await seed.hot_acme(conn, NOW)
                await seed.account(conn, NOW, "globex.com", "Globex", employees=900)
        finally:
            await db.dispose()

    asyncio.run(build())
    return path


def outcome_events(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(
            """SELECT a.domain, e.event, e.occurred_at, e.properties FROM events e
               JOIN accounts a ON a.id = e.account_id
               WHERE e.kind = 'track' AND e.event IN ('Opportunity Created', 'Deal Won', 'Deal Lost')
               ORDER BY e.id"""
        ).fetchall()


def count_events(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn, conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def test_bad_rows_are_reported_with_their_lines_and_nothing_is_imported(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    before = count_events(path)
    csv = tmp_path / "outcomes.csv"
    csv.write_text(
        "domain,outcome,date,opportunity_id,amount\n"
        "acme.io,opportunity,2026-10-01,OPP-1,12000\n"  # good, but the file has bad rows
        "nowhere.com,won,2026-10-02,,\n"
        "globex.com,maybe,2026-10-03,,\n"
        "globex.com,lost,yesterday,,\n"
        "globex.com,won,2026-10-04,,lots\n"
        "globex.com,won,2099-01-01,,\n"
    )
    result = tipoff(
        tmp_path, "outcomes", "import", str(csv), env={"DATABASE_URL": f"sqlite:///{path}"}
    )
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "5 bad rows; nothing was imported." in message
    for line in (
        "line 3: no account with domain nowhere.com",
        "line 4: outcome 'maybe' is not one of: opportunity, won, lost",
        "line 5: date 'yesterday' is not a date such as 2026-10-01",
        "line 6: amount 'lots' is not a number",
        "line 7: date 2099-01-01 is in the future",
    ):
        assert line in message
    assert count_events(path) == before

    header = tmp_path / "header.csv"
    header.write_text("account,result,when\nacme.io,won,2026-10-01\n")
    missing = tipoff(
        tmp_path, "outcomes", "import", str(header), env={"DATABASE_URL": f"sqlite:///{path}"}
    )
    assert missing.returncode == 1
    assert "line 1: the header lacks columns: domain, outcome, date" in " ".join(
        missing.stderr.split()
    )


def test_outcomes_attach_to_accounts_with_their_dates_once(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    csv = tmp_path / "outcomes.csv"
    csv.write_text(
        "domain,outcome,date,opportunity_id,amount,owner\n"
        "acme.io,opportunity,2026-10-01,OPP-1,12000,maya\n"
        "ACME.io,Deal Won,2026-11-02T09:30:00+01:00,OPP-1,12000,maya\n"
        "globex.com,lost,2026-10-15,,,leo\n"
    )
    env = {"DATABASE_URL": f"sqlite:///{path}"}
    first = tipoff(tmp_path, "outcomes", "import", str(csv), env=env)
    assert first.returncode == 0, first.stderr
    assert "Imported 3 outcomes from 3 rows." in first.stdout
    assert [row[:3] for row in outcome_events(path)] == [
        ("acme.io", "Opportunity Created", "2026-10-01 00:00:00.000000"),
        ("acme.io", "Deal Won", "2026-11-02 08:30:00.000000"),
        ("globex.com", "Deal Lost", "2026-10-15 00:00:00.000000"),
    ]
    assert '"opportunity_id": "OPP-1"' in str(outcome_events(path)[0][3])

    again = tipoff(tmp_path, "outcomes", "import", str(csv), env=env)
    assert again.returncode == 0, again.stderr
    assert "Imported 0 outcomes from 3 rows; 3 already imported." in again.stdout
    assert len(outcome_events(path)) == 3
    with closing(sqlite3.connect(path)) as conn, conn:
        # The outcomes did not create accounts: they went to the two that exist.
        assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 2
