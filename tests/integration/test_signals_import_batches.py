"""`tipoff signals import` of files larger than one transaction: each transaction sends
thousands of rows through the ingest service as one call, so the rows of one person or
account fall on both sides of a boundary, and a file is imported in several commits."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import NOW
from tests.integration.test_cli import tipoff
from tests.integration.test_signals_import import database, query, stored
from tipoff.core.event_names import EventNameMap
from tipoff.ingest import csvfile, signals_csv
from tipoff.ingest.csvfile import BadCsvFile
from tipoff.store.db import Database

ROWS = signals_csv.ROWS_A_TRANSACTION + 100


def export(rows: int) -> str:
    """A HubSpot-like export of `rows` signals from 50 people at 5 accounts."""
    lines = ["Email,Event,Timestamp,Name,Job Title,Form Name"]
    for n in range(rows):
        person = n % 50
        at = NOW - timedelta(days=30, minutes=n)
        lines.append(
            f"p{person}@acct{person % 5}.com,Form Submitted,{at.isoformat()},"
            f"Person {person},Engineer,form {n % 7}"
        )
    return "\n".join(lines) + "\n"


def test_a_bad_row_past_the_first_transaction_imports_nothing(tmp_path: Path) -> None:
    env = database(tmp_path)
    lines = export(ROWS).splitlines()
    bad_line = signals_csv.ROWS_A_TRANSACTION + 50
    lines[bad_line - 1] = "p1@acct1.com,Form Submitted,yesterday,Person 1,Engineer,form 1"
    csv = tmp_path / "export.csv"
    csv.write_text("\n".join(lines) + "\n")

    result = tipoff(tmp_path, "signals", "import", str(csv), env=env)

    assert result.returncode == 1
    assert f"{csv}: 1 bad row; nothing was imported." in result.stderr
    assert f"line {bad_line}: timestamp 'yesterday' is not a date" in result.stderr
    assert not (tmp_path / "tipoff.db").exists()


def test_a_file_of_several_transactions_imported_twice_is_stored_once(tmp_path: Path) -> None:
    env = database(tmp_path)
    lines = export(ROWS).splitlines()
    # The first row again, in the second transaction: the same signal, stored once.
    lines.insert(signals_csv.ROWS_A_TRANSACTION + 20, lines[1])
    csv = tmp_path / "export.csv"
    csv.write_text("\n".join(lines) + "\n")

    first = tipoff(tmp_path, "signals", "import", str(csv), env=env)

    assert first.returncode == 0, first.stderr
    assert f"Imported {ROWS:,} signals from {ROWS + 1:,} rows; 1 already imported." in first.stdout
    assert stored(tmp_path)[1:] == (50, 5, ROWS + 50)  # a signal a row, an identify a person
    assert query(tmp_path, "SELECT count(*) FROM events WHERE kind = 'track'") == [(ROWS,)]
    assert query(
        tmp_path,
        "SELECT a.domain, count(*) FROM events e JOIN accounts a ON a.id = e.account_id"
        " WHERE e.kind = 'track' GROUP BY a.domain ORDER BY a.domain",
    ) == [(f"acct{n}.com", ROWS // 5) for n in range(5)]
    before = stored(tmp_path)

    again = tipoff(tmp_path, "signals", "import", str(csv), env=env)

    assert again.returncode == 0, again.stderr
    assert f"Imported 0 signals from {ROWS + 1:,} rows; {ROWS + 1:,} already imported." in (
        again.stdout
    )
    assert stored(tmp_path) == before

    # A later export, the same rows and one more of a person already imported: the calls
    # naming their people are all stored already, and only the new signal is counted.
    lines.append(f"p7@acct2.com,Form Submitted,{NOW.isoformat()},Person 7,Engineer,form 0")
    csv.write_text("\n".join(lines) + "\n")
    later = tipoff(tmp_path, "signals", "import", str(csv), env=env)

    assert later.returncode == 0, later.stderr
    assert f"Imported 1 signal from {ROWS + 2:,} rows; {ROWS + 1:,} already imported." in (
        later.stdout
    )
    assert stored(tmp_path)[1:] == (50, 5, ROWS + 51)


SIGNALS = """SELECT p.email, p.name, p.title, a.domain, e.event, e.properties
    FROM events e JOIN people p ON p.id = e.person_id LEFT JOIN accounts a ON a.id = e.account_id
    WHERE e.kind = 'track' AND e.source_id = (SELECT id FROM sources WHERE name = :source)
    ORDER BY e.occurred_at"""


async def imported(database: Database, csv: Path, source: str, rows_a_transaction: int) -> None:
    checked = await signals_csv.check_signals(csv, event_names=EventNameMap.build(), now=NOW)
    done = await signals_csv.import_signals(
        database,
        checked,
        source_name=source,
        event_names=EventNameMap.build(),
        rows_a_transaction=rows_a_transaction,
    )
    assert (done.rows, done.imported, done.duplicates) == (7, 6, 1)


async def signals_of(database: Database, source: str) -> list[tuple[object, ...]]:
    async with database.transaction() as conn:
        rows = await conn.execute(text(SIGNALS), {"source": source})
        return [
            (*row[:-1], json.loads(row[-1]) if isinstance(row[-1], str) else row[-1])
            for row in rows
        ]


# One account's people on both sides of every boundary when written two rows a
# transaction: a title that changes, a person placed by a domain column, a row repeated.
ONE_ACCOUNT = (
    "email,event,timestamp,name,title,domain,plan\n"
    "maya@acme.io,Signed Up,2026-10-01T09:00:00Z,Maya Lund,Engineer,,pro\n"
    "sam@acme.io,Session Started,2026-10-01T10:00:00Z,Sam Ortiz,,,\n"
    "maya@acme.io,Demo Requested,2026-10-02T09:00:00Z,Maya Lund,VP Engineering,,pro\n"
    "lee@agency.com,Pricing Page Viewed,2026-10-02T10:00:00Z,Lee Park,,acme.io,\n"
    "maya@acme.io,Session Started,2026-10-03T09:00:00Z,,,,pro\n"
    "sam@acme.io,Session Started,2026-10-01T10:00:00Z,Sam Ortiz,,,\n"
    "lee@agency.com,Demo Requested,2026-10-04T10:00:00Z,,,,\n"
)


@pytest.mark.parametrize("rows_a_transaction", [2, 3, signals_csv.ROWS_A_TRANSACTION])
async def test_an_accounts_rows_on_both_sides_of_a_transaction_boundary(
    database: Database, tmp_path: Path, rows_a_transaction: int
) -> None:
    csv = tmp_path / "acme.csv"
    csv.write_text(ONE_ACCOUNT)

    await imported(database, csv, "export", rows_a_transaction)

    maya = ("maya@acme.io", "Maya Lund", "VP Engineering", "acme.io")
    sam = ("sam@acme.io", "Sam Ortiz", None, "acme.io")
    lee = ("lee@agency.com", "Lee Park", None, "acme.io")
    assert await signals_of(database, "export") == [
        (*maya, "Signed Up", {"plan": "pro"}),
        (*sam, "Session Started", {}),
        (*maya, "Demo Requested", {"plan": "pro"}),
        (*lee, "Pricing Page Viewed", {}),
        (*maya, "Session Started", {"plan": "pro"}),
        (*lee, "Demo Requested", {}),
    ]
    async with database.transaction() as conn:
        accounts = (await conn.execute(text("SELECT domain FROM accounts"))).all()
        people = (await conn.execute(text("SELECT count(*) FROM people"))).scalar_one()
    assert [tuple(row) for row in accounts] == [("acme.io",)]
    assert people == 3


async def test_a_person_too_large_on_several_rows_is_named_on_each(tmp_path: Path) -> None:
    # The identify call a person's rows share is checked once when it is valid, and on
    # every row when it is not, however far apart the rows are.
    big = "x" * 40_000
    maya = "maya@acme.io,Session Started,2026-10-02,Engineer\n"
    csv = tmp_path / "big.csv"
    csv.write_text(
        "email,event,timestamp,title\n"
        "maya@acme.io,Signed Up,2026-10-01,Engineer\n"
        f"sam@acme.io,Signed Up,2026-10-01,{big}\n"
        + maya * csvfile.BATCH_ROWS
        + f"sam@acme.io,Session Started,2026-10-02,{big}\n"
        + maya
    )
    with pytest.raises(BadCsvFile) as refused:
        await signals_csv.check_signals(csv, event_names=EventNameMap.build(), now=NOW)
    assert refused.value.count == 2
    assert [(bad.line, bad.problem.split(" is ")[0]) for bad in refused.value.bad] == [
        (3, "the identify call"),
        (4 + csvfile.BATCH_ROWS, "the identify call"),
    ]
