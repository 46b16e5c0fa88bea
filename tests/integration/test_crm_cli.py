"""`tipoff crm sync` and `tipoff crm status` as real processes against the HubSpot
stand-in, and `tipoff serve` syncing on its schedule: what they print, what a dry run
leaves alone, and that the token appears nowhere (output, logs, the database file)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests import seed
from tests.fakes.hubspot_api import TOKEN, FakeHubSpotApi, running_fake_hubspot
from tests.processes import Server, tipoff_env
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.startup import build_runtime


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpotApi]:
    with running_fake_hubspot() as fake:
        yield fake


def crm(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tipoff", "crm", *args],
        cwd=cwd, env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def stored_bytes(db: Path) -> bytes:
    """The database file with its write-ahead log, as they lie on disk."""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def scored_database(path: Path) -> None:
    """acme.io (hot) and nowhere.io scored in a SQLite file at `path`."""

    async def make() -> None:
        settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}")  # type: ignore[call-arg]
        rt = await build_runtime(settings)
        now = datetime.now(UTC)
        try:
            async with rt.db.transaction() as conn:
                await seed.hot_acme(conn, now)
                await seed.hot_acme(conn, now, "nowhere.io", "Nowhere")
            await rescore(rt)
        finally:
            await rt.close()

    asyncio.run(make())


def test_crm_sync_and_status_from_the_command_line(tmp_path: Path, hubspot: FakeHubSpotApi) -> None:
    db = tmp_path / "tipoff.db"
    scored_database(db)
    acme = hubspot.add_company(domain="acme.io", owner_id="77")
    hubspot.owners["77"] = "maya@example.com"
    dup = [hubspot.add_company(domain="dup.example"), hubspot.add_company(domain="dup.example")]
    hubspot.add_deal(companies=[acme], created=datetime.now(UTC) - timedelta(days=1))
    env = tipoff_env(
        DATABASE_URL=f"sqlite:///{db}",
        TIPOFF_HUBSPOT_TOKEN=TOKEN,
        TIPOFF_HUBSPOT_API_URL=hubspot.url,
    )
    before = db.read_bytes()

    dry = crm(tmp_path, env, "sync", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing was written" in dry.stdout
    assert "Would write 1 account: acme.io." in dry.stdout
    assert "no hubspot record has their domain: 1 account: nowhere.io" in dry.stdout
    assert "Owners to set: acme.io: maya@example.com" in dry.stdout
    assert hubspot.updates() == [] and hubspot.groups == {} and hubspot.properties == {}
    assert db.read_bytes() == before

    done = crm(tmp_path, env, "sync")

    assert done.returncode == 0, done.stderr
    assert "Created in hubspot: property group tipoff, property tipoff_score" in done.stdout
    assert "Wrote 1 account: acme.io." in done.stdout
    assert "Outcomes stored: 1." in done.stdout
    assert hubspot.companies[acme]["tipoff_track"] == "hot"
    assert all("tipoff_score" not in hubspot.companies[d] for d in dup)

    status = crm(tmp_path, env, "status")
    assert status.returncode == 0, status.stderr
    assert "Last sync with hubspot" in status.stdout
    assert "Written 1, unchanged 0, refused 0, unmatched 1" in status.stdout
    assert "Unmatched (no hubspot record has their domain): nowhere.io" in status.stdout

    # The token: never printed, never stored.
    for said in (dry, done, status):
        assert TOKEN not in said.stdout + said.stderr
    assert TOKEN.encode() not in stored_bytes(db)


def test_a_refused_token_and_the_daily_limit_exit_1_without_echoing_the_token(
    tmp_path: Path, hubspot: FakeHubSpotApi
) -> None:
    db = tmp_path / "tipoff.db"
    scored_database(db)
    hubspot.add_company(domain="acme.io")
    wrong = "pat-na1-00000000-wrong-token-0000-000000000000"
    env = tipoff_env(
        DATABASE_URL=f"sqlite:///{db}",
        TIPOFF_HUBSPOT_TOKEN=wrong,
        TIPOFF_HUBSPOT_API_URL=hubspot.url,
    )

    refused = crm(tmp_path, env, "sync")

    assert refused.returncode == 1
    assert "HubSpot refused TIPOFF_HUBSPOT_TOKEN (401)" in refused.stderr
    assert wrong not in refused.stdout + refused.stderr

    hubspot.fail_next("/batch/update", status=429, policy="DAILY")
    env["TIPOFF_HUBSPOT_TOKEN"] = TOKEN
    limited = crm(tmp_path, env, "sync")
    assert limited.returncode == 1
    assert "daily API limit" in limited.stderr
    assert wrong.encode() not in stored_bytes(db) and TOKEN.encode() not in stored_bytes(db)


def test_no_crm_configured_says_what_to_set(tmp_path: Path) -> None:
    said = crm(tmp_path, tipoff_env(), "sync")
    assert said.returncode == 1 and "set TIPOFF_HUBSPOT_TOKEN" in said.stderr
    assert not (tmp_path / "tipoff.db").exists()


def test_serve_syncs_on_its_schedule_and_healthz_names_the_unmatched(
    tmp_path: Path, hubspot: FakeHubSpotApi
) -> None:
    db = tmp_path / "tipoff.db"
    scored_database(db)
    acme = hubspot.add_company(domain="acme.io")
    env = tipoff_env(
        DATABASE_URL=f"sqlite:///{db}",
        TIPOFF_HUBSPOT_TOKEN=TOKEN,
        TIPOFF_HUBSPOT_API_URL=hubspot.url,
        TIPOFF_RESCORE_PROCESSES="0",
    )
    server = Server(tmp_path, env)
    try:
        deadline = time.monotonic() + 30
        while "tipoff_track" not in hubspot.companies[acme]:
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.1)
        while "crm" not in (health := httpx.get(f"{server.url}/healthz", timeout=5).json()):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        while health.get("crm") != "ok":
            assert time.monotonic() < deadline, health
            time.sleep(0.1)
            health = httpx.get(f"{server.url}/healthz", timeout=5).json()
    finally:
        assert server.stop() in (0, -15)
    assert health["status"] == "degraded"
    assert any("1 scored account(s) match no hubspot record" in r for r in health["reasons"])
    assert TOKEN not in server.log.read_text()
    assert TOKEN.encode() not in stored_bytes(db)


def test_a_hubspot_url_that_is_no_url_stops_the_command(tmp_path: Path) -> None:
    said = crm(
        tmp_path,
        tipoff_env(TIPOFF_HUBSPOT_TOKEN=TOKEN, TIPOFF_HUBSPOT_API_URL="api.hubapi.com"),
        "sync",
    )
    assert said.returncode == 2
    assert "TIPOFF_HUBSPOT_API_URL: must be an http(s) URL" in said.stderr
    assert TOKEN not in said.stdout + said.stderr
