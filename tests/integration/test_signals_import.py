"""`tipoff signals import`: backfilling signals from CSV through the ingest service, run as
a user runs it (a subprocess) on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from tests.integration.test_cli import tipoff
from tests.integration.test_quality_outcomes import seeded


def database(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'tipoff.db'}"}


def query(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(tmp_path / "tipoff.db")) as conn, conn:
        return conn.execute(sql).fetchall()


def stored(tmp_path: Path) -> tuple[object, ...]:
    """How many sources, people, accounts and events there are."""
    return query(
        tmp_path,
        "SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM people),"
        " (SELECT count(*) FROM accounts), (SELECT count(*) FROM events)",
    )[0]


SIGNALS = """SELECT p.name, p.email, a.domain, e.event, e.occurred_at, e.properties
    FROM events e LEFT JOIN people p ON p.id = e.person_id
    LEFT JOIN accounts a ON a.id = e.account_id
    WHERE e.kind = 'track' ORDER BY e.id"""


def test_an_export_becomes_signals_of_people_at_their_accounts(tmp_path: Path) -> None:
    csv = tmp_path / "hubspot.csv"
    # HubSpot's headers, Excel's byte-order mark, a quoted comma, non-ASCII names, an
    # offset time, a naive time (UTC) and a date (midnight UTC).
    csv.write_bytes(
        "\ufeffEmail,Event,Timestamp,First Name,Last Name,Job Title,Company Domain,Form Name\n"
        "zoë@acme.io,Demo Requested,2026-10-01T09:30:00+02:00,Zoë,Núñez,VP Engineering,,"
        '"Demo, EMEA"\n'
        "ZOË@acme.io,Pricing Page Viewed,2026-10-02 08:00,,,,,\n"
        "kenji.ito@gmail.com,Webinar Attended,2026-10-03,健二,伊藤,,initech.com,\n"
        "\n".encode()
    )
    result = tipoff(tmp_path, "signals", "import", str(csv), env=database(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Imported 3 signals from 3 rows." in result.stdout
    assert query(tmp_path, SIGNALS) == [
        (
            "Zoë Núñez",
            "zoë@acme.io",
            "acme.io",
            "Demo Requested",
            "2026-10-01 07:30:00.000000",
            '{"form_name":"Demo, EMEA"}',
        ),
        ("Zoë Núñez", "zoë@acme.io", "acme.io", "Pricing Page Viewed",
         "2026-10-02 08:00:00.000000", "{}"),
        # A personal mailbox forms no account; the domain column places its person.
        ("健二 伊藤", "kenji.ito@gmail.com", "initech.com", "Webinar Attended",
         "2026-10-03 00:00:00.000000", "{}"),
    ]  # fmt: skip
    assert query(tmp_path, "SELECT title FROM people WHERE name = 'Zoë Núñez'") == [
        ("VP Engineering",)
    ]
    assert query(tmp_path, "SELECT name, category, key_hint FROM sources") == [
        ("csv-import", None, "(import)")
    ]


def test_bad_rows_are_listed_with_their_lines_and_nothing_is_stored(tmp_path: Path) -> None:
    env = database(tmp_path)
    good = "maya@acme.io,Signed Up,2026-10-01,acme.io,\n"
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "email,event,timestamp,account_domain,note\n"
        + good
        + "not-an-email,Signed Up,2026-10-01,,\n"
        + ",Signed Up,2026-10-01,,\n"
        + "maya@acme.io,,2026-10-01,,\n"
        + "maya@acme.io,Signed Up,last tuesday,,\n"
        + "maya@acme.io,Signed Up,2099-01-01,,\n"
        + "maya@acme.io,Signed Up,2026-10-01,gmail.com,\n"
        + "maya@acme.io,Signed Up,2026-10-01\n"
        + f"maya@acme.io,{'x' * 300},2026-10-01,,\n"
        + f"maya@acme.io,Signed Up,2026-10-01,,{'y' * 40_000}\n"
        + "maya@acme.io,Signed Up,2026-10-01,acme.io,,extra\n" * 30
        + '"maya@acme.io,Signed Up,2026-10-01,,\n'
        + good,
        encoding="utf-8",
    )
    result = tipoff(tmp_path, "signals", "import", str(csv), env=env)
    assert result.returncode == 1
    message = result.stderr
    assert f"{csv}: 40 bad rows; nothing was imported." in message
    for line in (
        "line 3: email 'not-an-email' is not an email address",
        "line 4: needs an email or a user_id",
        "line 5: event is empty",
        "line 6: timestamp 'last tuesday' is not a date such as 2026-10-01 or a time such as "
        "2026-10-01T09:30:00+02:00",
        "line 7: timestamp 2099-01-01 is in the future",
        "line 8: domain gmail.com is a mailbox provider, not a company",
        "line 9: has 3 fields; the header has 5",
        "line 10: event is longer than 255 characters",
        # Segment's limit, as /v1/batch applies it.
        "line 11: the track call is 40,",
        "bytes: one event is limited to 32 KB (32,768 bytes)",
        "line 12: has 6 fields; the header has 5",
        "line 22: has 6 fields",
        "… and 20 more",
    ):
        assert line in message, line
    assert "line 23:" not in message  # the listing stops at 20
    # Checked before any database is opened: none is left behind, not even an empty one.
    assert not (tmp_path / "tipoff.db").exists()

    quoted = tmp_path / "quoted.csv"
    quoted.write_text("email,event,timestamp\n" + good.rsplit(",", 1)[0] + '\n"maya@acme.io,x\n')
    result = tipoff(tmp_path, "signals", "import", str(quoted), env=env)
    assert result.returncode == 1
    assert "line 3: a quoted field starts here and is never closed" in result.stderr

    latin = tmp_path / "latin1.csv"
    latin.write_bytes(b"email,event,timestamp\n" + "josé@acme.io,x,2026-10-01\n".encode("latin-1"))
    result = tipoff(tmp_path, "signals", "import", str(latin), env=env)
    assert result.returncode == 1
    assert f"{latin} is not UTF-8 text: line 2 has the byte 0xe9" in " ".join(result.stderr.split())

    header = tmp_path / "header.csv"
    header.write_text("mail,what,when\nmaya@acme.io,Signed Up,2026-10-01\n")
    result = tipoff(tmp_path, "signals", "import", str(header), env=env)
    assert result.returncode == 1
    assert "line 1: the header lacks columns: email or user_id, event, timestamp" in " ".join(
        result.stderr.split()
    )
    assert not (tmp_path / "tipoff.db").exists()

    # Into an existing database, a bad file changes nothing either.
    good_file = tmp_path / "good.csv"
    good_file.write_text("email,event,timestamp,account_domain,note\n" + good)
    assert tipoff(tmp_path, "signals", "import", str(good_file), env=env).returncode == 0
    before = stored(tmp_path)
    result = tipoff(tmp_path, "signals", "import", str(csv), "--source", "other", env=env)
    assert result.returncode == 1
    assert stored(tmp_path) == before


def test_importing_again_or_an_overlapping_export_adds_nothing_twice(tmp_path: Path) -> None:
    env = database(tmp_path)
    first = tmp_path / "october.csv"
    first.write_text(
        "user_id,email,event,timestamp,plan\n"
        "u-1,maya@acme.io,Session Started,2026-10-01T10:00:00Z,pro\n"
        "u-1,maya@acme.io,Session Started,2026-10-02T10:00:00Z,pro\n"
        "u-2,sam@acme.io,Core Action Completed,2026-10-02T11:00:00Z,\n"
    )
    assert tipoff(tmp_path, "signals", "import", str(first), env=env).returncode == 0
    again = tipoff(tmp_path, "signals", "import", str(first), env=env)
    assert again.returncode == 0, again.stderr
    assert "Imported 0 signals from 3 rows; 3 already imported." in again.stdout

    # A later export: other column order and header case, one row already imported, one
    # new; the user id alone finds the person the first file made.
    overlapping = tmp_path / "october-november.csv"
    overlapping.write_text(
        "Timestamp,Event,Plan,User ID\n"
        "2026-10-02T10:00:00+00:00,Session Started,pro,u-1\n"
        "2026-11-05T10:00:00+00:00,Integration Connected,pro,u-1\n"
    )
    later = tipoff(tmp_path, "signals", "import", str(overlapping), env=env)
    assert later.returncode == 0, later.stderr
    assert "Imported 1 signal from 2 rows; 1 already imported." in later.stdout
    assert [row[:4] for row in query(tmp_path, SIGNALS)] == [
        (None, "maya@acme.io", "acme.io", "Session Started"),
        (None, "maya@acme.io", "acme.io", "Session Started"),
        (None, "sam@acme.io", "acme.io", "Core Action Completed"),
        (None, "maya@acme.io", "acme.io", "Integration Connected"),
    ]
    assert query(tmp_path, "SELECT count(*) FROM people") == [(2,)]
    assert query(tmp_path, "SELECT count(*) FROM accounts") == [(1,)]


def test_a_domain_reaches_the_account_that_holds_it_under_its_group_id(tmp_path: Path) -> None:
    seeded(tmp_path)  # acme.io and globex.com
    with closing(sqlite3.connect(tmp_path / "tipoff.db")) as conn, conn:
        conn.execute("UPDATE accounts SET group_id = 'crm-123' WHERE domain = 'acme.io'")
    csv = tmp_path / "contractors.csv"
    csv.write_text(
        "email,event,timestamp,domain\nlee@agency.com,Demo Requested,2026-10-01,acme.io\n"
    )
    result = tipoff(tmp_path, "signals", "import", str(csv), env=database(tmp_path))
    assert result.returncode == 0, result.stderr
    # The row's domain acts as a group: it outranks the email's domain.
    assert [row[1:4] for row in query(tmp_path, SIGNALS)][-1:] == [
        ("lee@agency.com", "acme.io", "Demo Requested")
    ]
    assert query(tmp_path, "SELECT domain, group_id FROM accounts ORDER BY id") == [
        ("acme.io", "crm-123"),
        ("globex.com", None),
    ]


def test_imported_history_scores_and_unknown_events_are_named(tmp_path: Path) -> None:
    env = database(tmp_path)
    now = datetime.now(UTC)

    def ago(days: int) -> str:
        return (now - timedelta(days=days)).isoformat(timespec="seconds")

    csv = tmp_path / "history.csv"
    csv.write_text(
        "email,event,timestamp,name,title\n"
        f"dana@acme.io,Signed Up,{ago(20)},Dana Lee,VP Engineering\n"
        f"dana@acme.io,Demo Requested,{ago(3)},,\n"
        f"dana@acme.io,Core Action Completed,{ago(2)},,\n"
        + "".join(f"dana@acme.io,Session Started,{ago(d)},,\n" for d in (1, 2, 4))
        + f"sam@acme.io,Session Started,{ago(1)},Sam Ortiz,\n"
        f"sam@acme.io,Form Submitted,{ago(5)},,\n"
        f"sam@acme.io,Form Submitted,{ago(6)},,\n"
    )
    result = tipoff(tmp_path, "signals", "import", str(csv), env=env)
    assert result.returncode == 0, result.stderr
    assert "Imported 9 signals from 9 rows." in result.stdout
    warning = " ".join(result.stderr.split())
    assert (
        "1 event name is not in the model, so it scores nothing: 'Form Submitted' (2 rows)"
        in warning
    )

    assert tipoff(tmp_path, "rescore", env=env).returncode == 0
    scored = tipoff(tmp_path, "score", "acme.io", "--json", env=env)
    assert scored.returncode == 0, scored.stderr
    found = json.loads(scored.stdout)
    assert found["track"] == "hot"
    assert found["score"] >= 80
    evidence = " ".join(e["text"] for e in found["evidence"])
    assert "Dana Lee (VP Engineering) requested a demo 3 days ago" in evidence
    assert query(tmp_path, "SELECT count(*) FROM alerts") == [(1,)]


def test_the_model_maps_the_event_names_of_the_source_imported_under(tmp_path: Path) -> None:
    default = resources.files("tipoff.model").joinpath("default.yml").read_text("utf-8")
    model = tmp_path / "model.yml"
    model.write_text(
        default + "source_event_names:\n  hubspot:\n    demo_request_submitted: Demo Requested\n"
        '    "page_seen /pricing": Pricing Page Viewed\n',
        encoding="utf-8",
    )
    env = {**database(tmp_path), "TIPOFF_MODEL": str(model)}
    csv = tmp_path / "hubspot.csv"
    csv.write_text(
        "email,event,timestamp,path\n"
        "maya@acme.io,demo_request_submitted,2026-10-01,\n"
        "maya@acme.io,page_seen,2026-10-02,/pricing/teams\n"
        "maya@acme.io,page_seen,2026-10-03,/docs\n"
    )
    result = tipoff(tmp_path, "signals", "import", str(csv), "--source", "hubspot", env=env)
    assert result.returncode == 0, result.stderr
    assert [row[3] for row in query(tmp_path, SIGNALS)] == [
        "Demo Requested",
        "Pricing Page Viewed",
        "page_seen",
    ]
    # Only the name left as it was is one the model does not score.
    warning = " ".join(result.stderr.split())
    assert "1 event name is not in the model" in warning
    assert "'page_seen' (1 row)" in warning
    assert "demo_request_submitted" not in warning

    # Under another source the hubspot names are stored as sent.
    other = tipoff(tmp_path, "signals", "import", str(csv), "--source", "warehouse", env=env)
    assert other.returncode == 0, other.stderr
    assert [row[3] for row in query(tmp_path, SIGNALS)][3:] == [
        "demo_request_submitted",
        "page_seen",
        "page_seen",
    ]
