"""`tipoff` stops on a mistake with one line that says what to do, not a traceback, and
changes nothing. Run as a user runs it, on real files."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.integration.test_cli import seeded, tipoff

# Nothing listens on port 1 of the loopback interface.
UNREACHABLE = {"DATABASE_URL": "postgresql://tipoff:hunter2@127.0.0.1:1/tipoff"}


def one_line(text: str) -> str:
    assert "Traceback" not in text, text
    return " ".join(text.split())


@pytest.mark.parametrize(
    "command", [["top"], ["score", "acme.io"], ["sources", "add", "crm"], ["serve", "--port", "0"]]
)
def test_an_unreachable_database_is_one_line(tmp_path: Path, command: list[str]) -> None:
    result = tipoff(tmp_path, *command, env=UNREACHABLE)
    assert result.returncode == 1, result.stdout + result.stderr
    said = one_line(result.stderr)
    assert (
        "Cannot connect to the database at postgresql+asyncpg://tipoff:***@127.0.0.1:1/tipoff:"
        " connection refused" in said
    )
    assert "Check DATABASE_URL" in said and "hunter2" not in said


def test_a_model_file_that_is_not_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    model = tmp_path / "latin1.yml"
    model.write_bytes("name: latin\nevents:\n  product: [Café]\n".encode("latin-1"))
    checked = tipoff(tmp_path, "model", "check", str(model))
    assert checked.returncode == 1
    assert "line 3: not UTF-8 text (byte 0xe9): save the file as UTF-8" in one_line(checked.stderr)
    served = tipoff(tmp_path, "serve", "--port", "0", env={"TIPOFF_MODEL": str(model)})
    assert served.returncode == 2 and "not UTF-8 text" in one_line(served.stderr)


async def test_prune_refuses_a_retention_beyond_any_date(tmp_path: Path) -> None:
    await seeded(tmp_path)
    result = tipoff(tmp_path, "prune", "--older-than-days", "99999999999")
    assert result.returncode == 2
    assert "99999999999 is not in the range 1<=x<=36500" in one_line(result.stderr)


def test_a_configuration_error_says_what_to_set(tmp_path: Path) -> None:
    result = tipoff(
        tmp_path, "top", env={"TIPOFF_SECRET_KEY": "too-short", "TIPOFF_RESCORE_INTERVAL": "0"}
    )
    assert result.returncode == 2
    said = one_line(result.stderr)
    assert "TIPOFF_SECRET_KEY must be at least 32 characters long; make one with" in said
    assert "TIPOFF_RESCORE_INTERVAL must be a number greater than 0." in said
    assert "items after validation" not in said and "too-short" not in said


async def test_demo_replaces_only_a_demo_database(tmp_path: Path) -> None:
    await seeded(tmp_path)  # a real database, tipoff.db, holding Acme
    real = tmp_path / "tipoff.db"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    for target in (real, notes):
        refused = tipoff(tmp_path, "demo", "--database", str(target))
        assert refused.returncode == 1
        assert "is not a sample database a Tipoff demo wrote, so it is left alone" in one_line(
            refused.stderr
        )
    assert notes.read_text() == "not a database"
    with closing(sqlite3.connect(real)) as conn:
        assert conn.execute("SELECT domain FROM accounts").fetchall() == [("acme.io",)]

    forced = tipoff(tmp_path, "demo", "--database", str(real), "--force")
    assert forced.returncode == 0, forced.stderr
    assert real.stat().st_mode & 0o777 == 0o600  # names and emails: the owner's only
    with closing(sqlite3.connect(real)) as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (33,)
    again = tipoff(tmp_path, "quality-demo", "--database", str(real))  # a demo's: replaced
    assert again.returncode == 0, again.stderr


def test_revoking_twice_says_it_was_already_revoked(tmp_path: Path) -> None:
    assert tipoff(tmp_path, "sources", "add", "crm").returncode == 0
    first = tipoff(tmp_path, "sources", "revoke", "crm")
    assert "Revoked source 'crm': its write key is no longer accepted." in first.stdout
    second = tipoff(tmp_path, "sources", "revoke", "crm")
    assert second.returncode == 0
    assert "Source 'crm' was already revoked on " in second.stdout
    assert "nothing changed" in second.stdout and "Revoked source" not in second.stdout
