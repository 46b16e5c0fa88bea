"""The `tipoff` command line, run as a user runs it: a subprocess on a real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import seed
from tests.fakes.signing import SIGNING_SECRET
from tests.fakes.slack_api import BOT_TOKEN, running_fake_slack
from tipoff.quality.changes import model_text
from tipoff.store.db import Database
from tipoff.store.tables import alerts


def tipoff(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "TIPOFF_", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "tipoff", *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sources_add_list_revoke(tmp_path: Path) -> None:
    added = tipoff(tmp_path, "sources", "add", "hubspot", "--category", "marketing")
    assert added.returncode == 0, added.stderr
    key = added.stdout.splitlines()[1].strip()
    assert len(key) >= 40

    listed = tipoff(tmp_path, "sources", "list")
    assert "hubspot" in listed.stdout and "marketing" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout  # only a hint of the key is ever shown again
    stored = (
        sqlite3.connect(tmp_path / "tipoff.db")
        .execute("SELECT write_key_hash FROM sources")
        .fetchall()
    )
    assert key not in str(stored)

    again = tipoff(tmp_path, "sources", "add", "hubspot")
    assert again.returncode == 1 and "already exists" in again.stderr

    assert tipoff(tmp_path, "sources", "revoke", "hubspot").returncode == 0
    assert "revoked" in tipoff(tmp_path, "sources", "list").stdout
    missing = tipoff(tmp_path, "sources", "revoke", "nope")
    assert missing.returncode == 1 and "no source named 'nope'" in missing.stderr


def test_webhook_sources_print_their_url_and_secret_once(tmp_path: Path) -> None:
    refused = tipoff(tmp_path, "sources", "add", "segment", "--kind", "segment-webhook")
    assert refused.returncode == 1 and "TIPOFF_SECRET_KEY" in refused.stderr

    server_key = {"TIPOFF_SECRET_KEY": "k" * 43}
    segment = tipoff(
        tmp_path, "sources", "add", "segment", "--kind", "segment-webhook", env=server_key
    )
    posthog = tipoff(tmp_path, "sources", "add", "posthog", "--kind", "posthog-webhook")
    assert segment.returncode == 0 and posthog.returncode == 0, segment.stderr + posthog.stderr
    assert segment.stdout.splitlines()[2:] == [
        "Webhook URL: https://YOUR-HOST/v1/webhooks/1",
        "Enter the secret as the destination's Shared Secret (it signs X-Signature).",
    ]
    assert posthog.stdout.splitlines()[2:] == [
        "Webhook URL: https://YOUR-HOST/v1/webhooks/2",
        "Add the header X-Tipoff-Secret with the secret as its value.",
    ]
    listed = tipoff(tmp_path, "sources", "list").stdout
    assert "segment-webhook" in listed and "/v1/webhooks/2" in listed
    for created in (segment, posthog):
        assert created.stdout.splitlines()[1].strip() not in listed


def test_bad_category_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    result = tipoff(tmp_path, "sources", "add", "x", "--category", "sales")
    assert result.returncode == 2 and "'sales' is not one of" in result.stderr
    assert not (tmp_path / "tipoff.db").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["rescore"],
        ["score", "acme.io"],
        ["top"],
        ["sources", "list"],
        ["sources", "revoke", "hubspot"],
        ["forget", "dana@acme.io"],
        ["prune", "--older-than-days", "30"],
        ["report"],
        ["backtest", "--model", "candidate.yml"],
        ["calibrate", "--out", "fitted.yml"],
        ["model", "history"],
    ],
    ids=" ".join,
)
def test_commands_on_stored_data_refuse_a_missing_database(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "candidate.yml").write_text(model_text(None))
    result = tipoff(tmp_path, *command)
    assert result.returncode == 1, result.stdout + result.stderr
    said = " ".join(result.stderr.split())
    assert f"No Tipoff database at {tmp_path / 'tipoff.db'}" in said
    assert "DATABASE_URL" in said and "Traceback" not in said
    assert not (tmp_path / "tipoff.db").exists()  # no empty database left behind
    assert not (tmp_path / "fitted.yml").exists()


async def seeded(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'tipoff.db'}")
    await db.migrate()
    async with db.transaction() as conn:
        acme = await seed.account(conn, now, "acme.io", "Acme", employees=250)
        dana = await seed.person(conn, now, acme, "Dana Lee", "dana@acme.io", "VP Engineering")
        for days, event in [(1, "Core Action Completed"), (1, "Session Started"), (2, "Session Started"),
                            (3, "Session Started"), (2, "Integration Connected")]:  # fmt: skip
            await seed.signal(conn, now - timedelta(days=days), acme, dana, event)
    await db.dispose()


async def test_rescore_score_and_top(tmp_path: Path) -> None:
    await seeded(tmp_path)
    rescored = tipoff(tmp_path, "rescore")
    assert rescored.returncode == 0, rescored.stderr
    assert "Rescored 1 account (hot 1); queued 1 alert." in rescored.stdout

    as_json = tipoff(tmp_path, "score", "acme.io", "--json")
    assert as_json.returncode == 0, as_json.stderr
    payload = json.loads(as_json.stdout)
    # core 30 + sessions 20 + integration 15 + title 15 + rising 5 = 85
    assert payload["account"] == {"domain": "acme.io", "name": "Acme"}
    assert (payload["score"], payload["track"]) == (85, "hot")
    assert payload["dimensions"] == {"fit": 15, "product": 65, "marketing": 0, "timing": 5}
    assert payload["evidence"][0] == {
        "text": "Dana Lee (VP Engineering) completed a core action yesterday",
        "points": 30,
    }
    assert sum(e["points"] for e in payload["evidence"]) == 85

    human = tipoff(tmp_path, "score", "Acme")
    assert "Acme (acme.io) — 85, hot" in human.stdout
    assert "Contact first: Dana Lee (VP Engineering) <dana@acme.io>" in human.stdout
    assert "As of the last rescore, " in human.stdout  # the stored score, just made

    top = tipoff(tmp_path, "top")
    assert "acme.io" in top.stdout and "85" in top.stdout

    unknown = tipoff(tmp_path, "score", "globex")
    assert unknown.returncode == 1 and "No account matches 'globex'" in unknown.stderr
    typo = tipoff(tmp_path, "score", "acme.con")
    assert typo.returncode == 1 and "Did you mean: Acme (acme.io)?" in typo.stderr


async def test_an_account_without_name_or_domain_is_found_by_the_label_top_shows(
    tmp_path: Path,
) -> None:
    await seeded(tmp_path)  # Acme, account 1
    now = datetime.now(UTC)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'tipoff.db'}")
    async with db.transaction() as conn:
        # A group that never said its name or domain (PostHog's `$group_0: "org_42"`).
        unnamed = await seed.unnamed_account(conn, now, "org_42")
        await seed.signal(conn, now - timedelta(days=1), unnamed, None, "Demo Requested")
    await db.dispose()
    assert tipoff(tmp_path, "rescore").returncode == 0

    top = tipoff(tmp_path, "top")
    assert f"Account {unnamed}" in top.stdout
    for typed in (f"Account {unnamed}", f"account {unnamed}", f" ACCOUNT  {unnamed} "):
        found = tipoff(tmp_path, "score", typed)
        assert found.returncode == 0, found.stderr
        assert f"Account {unnamed} (no domain) — " in found.stdout
    # Only the account so labelled: Acme is not "Account 1", and no account is 99.
    for other in ("Account 1", "Account 99"):
        assert tipoff(tmp_path, "score", other).returncode == 1


@pytest.mark.parametrize("slack", [False, True], ids=["without Slack", "with Slack"])
async def test_forget_updates_or_lists_the_alerts_posted_in_slack(
    tmp_path: Path, slack: bool
) -> None:
    await seeded(tmp_path)
    assert tipoff(tmp_path, "rescore").returncode == 0
    db = sqlite3.connect(tmp_path / "tipoff.db")
    with db:  # posted earlier, when Slack was set up
        db.execute(
            "UPDATE alerts SET status = 'sent', channel = 'C0SALESALRT', ts = '1763650000.000001'"
        )

    with running_fake_slack() as fake:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.url,
        }
        result = tipoff(
            tmp_path, "forget", "dana@acme.io", "--by", "dpo", env=env if slack else None
        )
        updates = fake.calls_to("chat.update")

    said = " ".join(result.stdout.split())
    assert (
        "Erased dana@acme.io: 5 signals deleted; their name and email removed from stored rows (scores 1, alerts 1)"
        in said
    )
    stored = json.dumps(db.execute("SELECT text, blocks FROM alerts").fetchall())
    assert "Dana" not in stored and "[removed]" in stored
    if slack:
        assert result.returncode == 0, result.stderr
        assert "Updated 1 alert posted in Slack." in said
        assert [u.params["ts"] for u in updates] == ["1763650000.000001"]
        assert "Dana" not in json.dumps(updates[0].params)
    else:
        assert result.returncode == 1 and updates == []
        assert "1 alert posted in Slack still names them: Slack is not configured" in " ".join(
            result.stderr.split()
        )
        assert "C0SALESALRT 1763650000.000001" in result.stderr


def test_broken_model_file_stops_with_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "model.yml"
    bad.write_text(
        "name: x\nevents: {product: [A]}\nsignals:\n  - id: a\n    events: [B]\n    points: 1\n    says: did\n"
    )
    result = tipoff(tmp_path, "rescore", env={"TIPOFF_MODEL": str(bad)})
    assert result.returncode == 2
    assert "line 4: signals[0]" in result.stderr or "rule 'a' uses 'B'" in result.stderr


def test_demo_runs_the_whole_pass(tmp_path: Path) -> None:
    result = tipoff(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Sent 459 Segment calls" in out
    assert "Scored 33 accounts" in out
    # The alerts were printed (no Slack configured) and stay queued.
    assert "Helix Freight" in out and "is hot" in out
    db = sqlite3.connect(tmp_path / "tipoff-demo.db")
    pending = db.execute("SELECT count(*) FROM alerts WHERE status = 'pending'").fetchone()[0]
    assert pending == 13  # 5 hot + 8 sales-ready
    tracks = dict(db.execute("SELECT track, count(*) FROM scores GROUP BY track").fetchall())
    assert tracks == {"hot": 5, "sales-ready": 8, "monitor": 4, "nurture": 7, "low-touch": 9}
    # A second run starts afresh rather than piling onto the first.
    again = tipoff(tmp_path, "demo")
    assert again.returncode == 0 and "Scored 33 accounts" in again.stdout


@pytest.mark.parametrize(
    "command", [[], ["serve", "--help"], ["sources", "--help"], ["model", "--help"]]
)
def test_help_is_available(tmp_path: Path, command: list[str]) -> None:
    result = tipoff(tmp_path, *command, "--help") if command else tipoff(tmp_path, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


async def test_alerts_says_queued_alerts_wait_for_slack_to_be_configured(tmp_path: Path) -> None:
    await seeded(tmp_path)
    assert tipoff(tmp_path, "rescore").returncode == 0  # queues Acme's alert
    listed = tipoff(tmp_path, "alerts")
    assert listed.returncode == 0, listed.stderr
    said = " ".join(listed.stdout.split())
    assert "Slack is not configured (SLACK_BOT_TOKEN is not set): 1 alert waits" in said


async def test_alerts_lists_failed_and_stuck_alerts_and_retry_queues_them_again(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'tipoff.db'}")
    await db.migrate()
    async with db.transaction() as conn:
        acme = await seed.account(conn, now, "acme.io", "Acme")
        for status, reason, error, attempts, age in [
            ("failed", "channel_not_found", "channel_not_found: fix it", 1, timedelta(hours=3)),
            ("pending", None, "internal_error (HTTP 200)", 4, timedelta(minutes=40)),
            ("sent", None, None, 1, timedelta(hours=5)),
            ("pending", None, None, 0, timedelta(minutes=30)),  # never tried: stuck
            ("pending", None, None, 0, timedelta(minutes=1)),  # just queued
        ]:
            await conn.execute(
                alerts.insert().values(
                    account_id=acme, track="hot", score=90, reason="entered hot", text="Acme",
                    blocks=[], target="#gone", status=status, attempts=attempts,
                    next_attempt_at=now + timedelta(hours=1), last_error=error,
                    failure_reason=reason, created_at=now - age,
                )
            )  # fmt: skip
    await db.dispose()

    listed = tipoff(tmp_path, "alerts")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("│")[1:-1] for line in listed.stdout.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["1", "failed", "channel_not_found", "Acme", "#gone", "1", "3h 0m"],
        ["2", "stuck", "internal_error", "Acme", "#gone", "4", "40m"],
        ["4", "stuck", "not tried yet", "Acme", "#gone", "0", "30m"],
    ]
    assert "channel_not_found: fix it" in listed.stdout

    bad = tipoff(tmp_path, "alerts", "--retry", "3")
    assert bad.returncode == 1 and "alert 3 is not failed or stuck (sent)" in bad.stderr
    # One ID and --all agree on what may be retried: what the listing shows.
    fresh = tipoff(tmp_path, "alerts", "--retry", "5")
    assert fresh.returncode == 1, fresh.stdout
    assert "alert 5 is not failed or stuck (queued, not stuck)" in fresh.stderr
    assert tipoff(tmp_path, "alerts", "--retry").returncode == 2

    retried = tipoff(tmp_path, "alerts", "--retry", "--all")
    assert retried.returncode == 0, retried.stderr
    assert "Queued 3 alerts again: 1, 2, 4." in retried.stdout
    stored = (
        sqlite3.connect(tmp_path / "tipoff.db")
        .execute("SELECT status, failure_reason, next_attempt_at <= ? FROM alerts ORDER BY id",
                 (datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),))
        .fetchall()
    )  # fmt: skip
    assert stored == [
        ("pending", None, 1), ("pending", None, 1), ("sent", None, 0), ("pending", None, 1),
        ("pending", None, 0),
    ]  # fmt: skip


async def test_score_finds_the_account_of_an_email_address(tmp_path: Path) -> None:
    # As `/tipoff dana@acme.io` does (Slack sends it as a mailto link): the address
    # names its company by its domain.
    await seeded(tmp_path)
    for asked in ("dana@acme.io", " Someone.Else@ACME.io "):
        found = tipoff(tmp_path, "score", asked)
        assert found.returncode == 0, found.stderr
        assert "Acme (acme.io) — 85, hot" in found.stdout
