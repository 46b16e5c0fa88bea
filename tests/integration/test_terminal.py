"""What `tipoff` prints is text: data is never read as Rich markup, and control characters
in it never reach the terminal. Run as a user runs it, on a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests import seed
from tests.integration.test_cli import tipoff
from tipoff.store.db import Database

MARKUP_NAME = "Markup [/bold] Ltd"
# A colour, a window-title OSC ending in BEL, a clipboard-setting OSC ending in ST, an
# 8-bit CSI, a bidirectional override and a bell.
HOSTILE_PERSON = "\x1b[31mDana\x1b[0m\x1b]0;pwned\x07 Lee\x1b]52;c;Y2F0\x1b\\\x9b2J\u202e\x07"
HOSTILE_TITLE = "VP \x1b]8;;https://evil.example\x1b\\Engineering\x1b]8;;\x1b\\"
CONTROL_BYTES = ("\x1b", "\x07", "\x9b", "\u202e", "pwned", "Y2F0", "evil.example")


async def hostile(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'tipoff.db'}")
    await db.migrate()
    async with db.transaction() as conn:
        account = await seed.account(conn, now, "markup.io", MARKUP_NAME, employees=250)
        person = await seed.person(
            conn, now, account, HOSTILE_PERSON, "dana@markup.io", HOSTILE_TITLE
        )
        for days, event in [(1, "Core Action Completed"), (1, "Session Started"), (2, "Session Started"),
                            (3, "Session Started"), (2, "Integration Connected")]:  # fmt: skip
            await seed.signal(conn, now - timedelta(days=days), account, person, event)
    await db.dispose()


def assert_clean(*outputs: str) -> None:
    for output in outputs:
        for control in CONTROL_BYTES:
            assert control not in output, (control, output)


async def test_names_are_printed_as_text_without_their_escape_sequences(tmp_path: Path) -> None:
    await hostile(tmp_path)
    rescored = tipoff(tmp_path, "rescore")
    assert rescored.returncode == 0, rescored.stderr

    top = tipoff(tmp_path, "top")
    assert top.returncode == 0, top.stderr
    assert MARKUP_NAME in top.stdout

    for asked in ("markup.io", MARKUP_NAME):
        score = tipoff(tmp_path, "score", asked)
        assert score.returncode == 0, score.stderr
        assert f"{MARKUP_NAME} (markup.io) — " in score.stdout
        assert "Contact first: Dana Lee (VP Engineering) <dana@markup.io>" in score.stdout
        assert_clean(score.stdout, score.stderr)
    assert_clean(top.stdout, top.stderr)

    listed = tipoff(tmp_path, "alerts")
    assert listed.returncode == 0, listed.stderr
    assert_clean(listed.stdout, listed.stderr)


async def test_a_query_that_looks_like_markup_is_echoed_as_typed(tmp_path: Path) -> None:
    await hostile(tmp_path)
    asked = tipoff(tmp_path, "score", "[red]nothing[/red]")
    assert asked.returncode == 1
    assert "No account matches '[red]nothing[/red]'" in asked.stderr
    # Part of a name, markup-like as it is, finds the account.
    partial = tipoff(tmp_path, "score", "[/bold]")
    assert partial.returncode == 0 and f"{MARKUP_NAME} (markup.io)" in partial.stdout


def test_an_event_name_that_looks_like_markup_is_named_after_the_import(tmp_path: Path) -> None:
    csv = tmp_path / "webinars.csv"
    csv.write_text(
        "email,event,timestamp\n"
        "kim@acme.io,Webinar [/promo],2026-10-01\n"
        "kim@acme.io,\x1b]0;owned\x07Webinar [bold]x,2026-10-02\n"
    )
    result = tipoff(tmp_path, "signals", "import", str(csv))
    assert result.returncode == 0, result.stderr
    assert "Imported 2 signals from 2 rows." in result.stdout
    said = " ".join(result.stderr.split())
    assert "2 event names are not in the model, so they score nothing:" in said
    assert "'Webinar [/promo]' (1 row)" in said
    # Named as Python writes a string: the escape sequence shown, not obeyed.
    assert "'\\x1b]0;owned\\x07Webinar [bold]x' (1 row)" in said
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_the_calibrate_hint_names_the_extra_to_install(tmp_path: Path) -> None:
    # As without the calibrate extra: importing scipy fails.
    without_scipy = "import sys; sys.modules['scipy'] = None; from tipoff.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", without_scipy, "calibrate", "--out", "fitted.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'tipoff[calibrate]'" in result.stderr


def test_sources_list_breaks_no_word_in_80_columns(tmp_path: Path) -> None:
    key = {"TIPOFF_SECRET_KEY": "k" * 43}
    for args in (
        ["hubspot-marketing-automation", "--category", "marketing"],
        ["segment", "--kind", "segment-webhook"],
        ["posthog", "--kind", "posthog-webhook"],
    ):
        assert tipoff(tmp_path, "sources", "add", *args, env=key).returncode == 0
    assert tipoff(tmp_path, "sources", "revoke", "posthog").returncode == 0
    for columns in ("80", "200"):
        listed = tipoff(tmp_path, "sources", "list", env={"COLUMNS": columns})
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert max(len(line) for line in lines) <= int(columns)
        words = {word.strip(",;") for line in lines for word in line.replace("│", " ").split()}
        for whole in ("hubspot-marketing-automation", "segment-webhook", "/v1/webhooks/2",
                      "X-Tipoff-Secret", "X-Signature", "marketing", "revoked", "active"):  # fmt: skip
            assert whole in words, (whole, listed.stdout)


async def test_hints_name_the_command_as_it_was_run(tmp_path: Path) -> None:
    # As the README's setup runs it: .venv/bin/tipoff, not on PATH.
    script = Path(sys.executable).parent / "tipoff"
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "tipoff").symlink_to(script)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [".venv/bin/tipoff", *args],
            cwd=tmp_path,
            env={
                **{
                    k: v
                    for k, v in os.environ.items()
                    if not k.startswith(("SLACK_", "TIPOFF_", "DATABASE_URL"))
                },
                "PATH": "/usr/bin:/bin",  # tipoff is not on PATH
                "COLUMNS": "200",
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    missing = run("top")
    assert missing.returncode == 1
    said = " ".join(missing.stderr.split())
    assert "(`.venv/bin/tipoff demo` writes a sample one" in said
    assert "`tipoff " not in said

    await hostile(tmp_path)
    unknown = run("score", "nothing-like-it")
    assert "`.venv/bin/tipoff top` lists scored accounts" in " ".join(unknown.stderr.split())
    assert "`.venv/bin/tipoff rescore`" in run("top").stdout  # nothing scored yet
