"""`tipoff serve` as a real process: ingest → scheduler → Slack, one whole pass.

The process gets Slack credentials pointing at the loopback fake, short scheduler
intervals, and a fresh SQLite file; the test talks to it only over HTTP, as Segment and
Slack would, and reads the database file it leaves behind."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.fakes.signing import SIGNING_SECRET, slash_command
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.processes import Server, add_source, tipoff_env


def test_serve_ingests_rescores_alerts_and_answers_slack(
    tmp_path: Path, fake_slack: FakeSlackApi
) -> None:
    env = tipoff_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'tipoff.db'}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        TIPOFF_RESCORE_INTERVAL="0.3",
        TIPOFF_DELIVERY_INTERVAL="0.3",
    )
    write_key = add_source(tmp_path, env, "segment")
    server = Server(tmp_path, env)
    log_path = server.log
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            now = datetime.now(UTC)

            def at(days: float) -> str:
                return (now - timedelta(days=days)).isoformat()

            calls = [
                {"type": "identify", "userId": "u1", "traits": {"email": "dana@acme.io", "name": "Dana Lee", "title": "VP Engineering"}},
                {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme", "domain": "acme.io", "employees": 250}},
                {"type": "track", "userId": "u1", "event": "Core Action Completed", "timestamp": at(1)},
                {"type": "track", "userId": "u1", "event": "Session Started", "timestamp": at(1)},
                {"type": "track", "userId": "u1", "event": "Session Started", "timestamp": at(2)},
                {"type": "track", "userId": "u1", "event": "Session Started", "timestamp": at(3)},
                {"type": "track", "userId": "u1", "event": "Integration Connected", "timestamp": at(2),
                 "properties": {"integration": "PagerDuty"}},
            ]  # fmt: skip
            response = http.post("/v1/batch", json={"batch": calls}, auth=(write_key, ""))
            assert response.status_code == 200, response.text

            # The scheduler rescores the changed account and the delivery job posts it.
            deadline = time.monotonic() + 20
            while not fake_slack.calls_to("chat.postMessage"):
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            (posted,) = fake_slack.calls_to("chat.postMessage")
            assert posted.params["channel"] == "#sales-alerts"
            assert "Acme is hot — 85" in posted.params["text"]
            rendered = json.dumps(posted.params["blocks"])
            assert "Dana Lee (VP Engineering) completed a core action yesterday" in rendered
            assert "PagerDuty" in rendered

            deadline = time.monotonic() + 10
            while True:
                row = (
                    sqlite3.connect(tmp_path / "tipoff.db")
                    .execute("SELECT status, channel, ts FROM alerts")
                    .fetchone()
                )
                if row[0] == "sent" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert row[0] == "sent" and row[1] == "C0SALESALRT" and row[2]

            # A rep looks the account up with a request signed as Slack signs it.
            lookup = slash_command("acme.io")
            answer = http.post("/slack/events", content=lookup.body, headers=lookup.headers)
            assert answer.status_code == 200
            assert "Acme" in answer.text and "85" in answer.text

            # The scheduler's rescore runs are timed for Prometheus.
            scraped = http.get("/metrics").text
            runs = [
                line for line in scraped.splitlines()
                if line.startswith('tipoff_rescore_duration_seconds_count{scope="changed"}')
            ]  # fmt: skip
            assert runs and float(runs[0].split()[-1]) >= 1

            forged = slash_command("acme.io", secret="not-the-secret")
            assert (
                http.post("/slack/events", content=forged.body, headers=forged.headers).status_code
                == 401
            )
    finally:
        exit_code = server.stop()
    logs = log_path.read_text()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells the
    # supervisor how the process ended.
    assert exit_code in (0, -signal.SIGTERM), logs
    assert "Application shutdown complete" in logs
    # No line per scheduled run. (A run skipped because the one before is still going is
    # worth its warning, and happens on a loaded machine: it is not what this checks.)
    assert "Running job" not in logs and "executed successfully" not in logs
    for secret in (BOT_TOKEN, SIGNING_SECRET, write_key):
        assert secret not in logs
