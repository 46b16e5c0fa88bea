"""`tipoff outcomes import`: CRM outcomes from CSV, through the ingest service, all or
nothing, on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
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
        "gmail.com,won,2026-10-02,,\n"
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
        "line 3: domain gmail.com is a mailbox provider, not a company",
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
    assert (
        "line 1: the header lacks columns: domain, outcome or stage, date or created_date"
        in " ".join(missing.stderr.split())
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
    assert json.loads(outcome_events(path)[0][3])["opportunity_id"] == "OPP-1"

    again = tipoff(tmp_path, "outcomes", "import", str(csv), env=env)
    assert again.returncode == 0, again.stderr
    assert "Imported 0 outcomes from 3 rows; 3 already imported." in again.stdout
    assert len(outcome_events(path)) == 3
    with closing(sqlite3.connect(path)) as conn, conn:
        # The outcomes did not create accounts: they went to the two that exist.
        assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 2


def accounts_by_domain(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute("SELECT domain, name FROM accounts ORDER BY id").fetchall()


def test_a_hubspot_deal_export_imports_as_is_and_new_domains_become_accounts(
    tmp_path: Path,
) -> None:
    path = seeded(tmp_path)  # acme.io and globex.com
    csv = tmp_path / "hubspot-deals.csv"
    # HubSpot's deal export: its column labels, stage labels and internal stage ids,
    # times without an offset; initech.com and hooli.xyz have sent no signals yet.
    csv.write_text(
        "Record ID,Deal Name,Deal Stage,Close Date,Create Date,Amount,Company Domain Name\n"
        "1001,Acme expansion,Closed Won,2026-11-02 09:30,2026-10-01 08:00,12000,acme.io\n"
        "1002,Globex pilot,closedlost,2026-10-20,2026-09-15,,globex.com\n"
        "1003,Initech,Appointment Scheduled,2099-12-31,2026-10-05,5000,initech.com\n"
        "1004,Hooli,Contract Sent,2026-10-07,,,www.hooli.xyz\n"
    )
    env = {"DATABASE_URL": f"sqlite:///{path}"}
    result = tipoff(tmp_path, "outcomes", "import", str(csv), env=env)
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert "Imported 6 outcomes from 4 rows." in said
    assert "2 accounts new to Tipoff were created by domain." in said
    assert [row[:3] for row in outcome_events(path)] == [
        # A closed deal: opened at its create date, won or lost at its close date.
        ("acme.io", "Opportunity Created", "2026-10-01 08:00:00.000000"),
        ("acme.io", "Deal Won", "2026-11-02 09:30:00.000000"),
        ("globex.com", "Opportunity Created", "2026-09-15 00:00:00.000000"),
        ("globex.com", "Deal Lost", "2026-10-20 00:00:00.000000"),
        # An open one: opened at its create date (its close date is a forecast), else
        # at the date the row gives.
        ("initech.com", "Opportunity Created", "2026-10-05 00:00:00.000000"),
        ("hooli.xyz", "Opportunity Created", "2026-10-07 00:00:00.000000"),
    ]
    assert json.loads(outcome_events(path)[0][3])["opportunity_id"] == "1001"
    assert sorted(str(domain) for domain, _ in accounts_by_domain(path)) == [
        "acme.io", "globex.com", "hooli.xyz", "initech.com"
    ]  # fmt: skip

    again = tipoff(tmp_path, "outcomes", "import", str(csv), env=env)
    assert again.returncode == 0, again.stderr
    assert "Imported 0 outcomes from 4 rows; 6 already imported." in again.stdout
    assert "new to Tipoff" not in again.stdout
    assert len(accounts_by_domain(path)) == 4


def test_a_salesforce_opportunity_export_imports_as_is(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    csv = tmp_path / "salesforce-opportunities.csv"
    # A Salesforce opportunity report: Stage from the standard picklist, Website a URL.
    csv.write_text(
        "Opportunity ID,Opportunity Name,Account Name,Stage,Close Date,Amount,Website\n"
        "006A1,Acme,Acme,Closed Won,2026-10-30,25000,https://www.acme.io/\n"
        "006A2,Globex,Globex,Negotiation/Review,2026-10-12,,http://globex.com\n"
    )
    result = tipoff(
        tmp_path, "outcomes", "import", str(csv), env={"DATABASE_URL": f"sqlite:///{path}"}
    )
    assert result.returncode == 0, result.stderr
    assert "Imported 2 outcomes from 2 rows." in result.stdout
    assert "new to Tipoff" not in result.stdout
    assert [row[:3] for row in outcome_events(path)] == [
        ("acme.io", "Deal Won", "2026-10-30 00:00:00.000000"),
        ("globex.com", "Opportunity Created", "2026-10-12 00:00:00.000000"),
    ]


def test_stages_and_dates_a_deal_cannot_be_read_from_are_bad_rows(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    csv = tmp_path / "deals.csv"
    csv.write_text(
        "Deal Stage,Close Date,Company Domain Name\n"
        "Closed - Churned,2026-10-01,acme.io\n"
        ",2026-10-01,acme.io\n"
        "Closed Won,,acme.io\n"
        "Qualified To Buy,2099-01-01,acme.io\n"
    )
    result = tipoff(
        tmp_path, "outcomes", "import", str(csv), env={"DATABASE_URL": f"sqlite:///{path}"}
    )
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    for line in (
        "4 bad rows; nothing was imported.",
        "line 2: stage 'Closed - Churned' is closed but neither Closed Won nor Closed Lost",
        "line 3: stage is empty",
        "line 4: date is empty: a closed deal needs its close date",
        "line 5: date 2099-01-01 is in the future: an open deal's close date is a forecast;"
        " add a created_date column (Create Date)",
    ):
        assert line in message, line


def test_in_an_empty_folder_a_bad_file_leaves_no_database_and_a_good_one_starts_it(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("domain,outcome,date\nacme.io,won,yesterday\n")
    result = tipoff(tmp_path, "outcomes", "import", str(bad))
    assert result.returncode == 1
    assert "line 2: date 'yesterday' is not a date" in " ".join(result.stderr.split())
    assert list(tmp_path.iterdir()) == [bad]  # no tipoff.db, empty or not

    good = tmp_path / "good.csv"
    good.write_text("domain,outcome,date\nacme.io,won,2026-10-01\n")
    unnamed = tipoff(tmp_path, "outcomes", "import", str(good), "--source", " ")
    assert unnamed.returncode == 1 and "a source needs a name" in unnamed.stderr
    assert not (tmp_path / "tipoff.db").exists()

    result = tipoff(tmp_path, "outcomes", "import", str(good))
    assert result.returncode == 0, result.stderr
    assert "1 account new to Tipoff was created by domain." in result.stdout
    assert outcome_events(tmp_path / "tipoff.db")[0][:2] == ("acme.io", "Deal Won")
