"""Nothing acknowledged is lost: `tipoff serve` killed with SIGKILL mid-ingest.

Real processes and a real SQLite file: clients send batches as fast as the server takes
them, the server is killed without warning, and every batch that was answered 200 must be
in the database after restart; an alert queued before the kill is delivered after it."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.fakes.signing import SIGNING_SECRET
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.processes import Server, add_source, tipoff_env


def test_sigkill_during_heavy_ingest_loses_nothing_acknowledged(
    tmp_path: Path, fake_slack: FakeSlackApi
) -> None:
    env = tipoff_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'tipoff.db'}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        TIPOFF_RESCORE_INTERVAL="0.2",
        TIPOFF_DELIVERY_INTERVAL="3600",  # alerts are queued, not delivered, before the kill
    )
    key = add_source(tmp_path, env)
    server = Server(tmp_path, env)
    now = datetime.now(UTC)
    hot = [
        {"type": "identify", "userId": "vp", "traits": {"email": "vp@acme.io", "title": "VP Engineering"}},
        {"type": "group", "userId": "vp", "groupId": "acme", "traits": {"name": "Acme", "domain": "acme.io"}},
        *[
            {"type": "track", "userId": "vp", "event": event, "timestamp": (now - timedelta(days=d)).isoformat()}
            for d, event in [(1, "Core Action Completed"), (1, "Session Started"), (2, "Session Started"),
                             (3, "Session Started"), (2, "Integration Connected")]
        ],
    ]  # fmt: skip
    assert (
        httpx.post(f"{server.url}/v1/batch", json={"batch": hot}, auth=(key, "")).status_code == 200
    )
    deadline = time.monotonic() + 20
    db = tmp_path / "tipoff.db"
    while not sqlite3.connect(db).execute("SELECT count(*) FROM alerts").fetchone()[0]:
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.1)

    acknowledged: list[str] = []
    cut_off: list[int] = []  # workers whose batch was sent and never answered
    lock = threading.Lock()
    stop = threading.Event()

    def send(worker: int) -> None:
        with httpx.Client(base_url=server.url, auth=(key, ""), timeout=10) as http:
            while not stop.is_set():
                ids = [str(uuid.uuid4()) for _ in range(200)]
                batch = [
                    {"type": "track", "messageId": mid, "userId": f"user-{worker}-{i % 20}",
                     "event": "Session Started", "context": {"groupId": f"company-{i % 50}"}}
                    for i, mid in enumerate(ids)
                ]  # fmt: skip
                try:
                    response = http.post("/v1/batch", json={"batch": batch})
                except httpx.TransportError:
                    with lock:
                        cut_off.append(worker)
                    return  # the server is gone: this batch was never acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged.extend(ids)

    workers = [threading.Thread(target=send, args=(n,)) for n in range(3)]
    for worker in workers:
        worker.start()
    # Killed once a thousand events are acknowledged, with three clients still sending: a
    # kill mid-ingest, however fast this machine ingests (speed is benchmarks/' business).
    deadline = time.monotonic() + 120
    while True:
        with lock:
            enough = len(acknowledged) >= 1000
        if enough:
            break
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.01)
    server.kill()
    stop.set()
    for worker in workers:
        worker.join(timeout=15)

    assert cut_off, "no batch was in flight when the server was killed"
    stored = {row[0] for row in sqlite3.connect(db).execute("SELECT message_id FROM events")}
    missing = [mid for mid in acknowledged if mid not in stored]
    assert missing == [], f"{len(missing)} acknowledged events lost"

    # After a restart the alert queued before the kill is delivered, once.
    assert fake_slack.calls_to("chat.postMessage") == []
    restarted = Server(tmp_path, {**env, "TIPOFF_DELIVERY_INTERVAL": "0.2"})
    try:
        deadline = time.monotonic() + 20
        while not fake_slack.calls_to("chat.postMessage"):
            assert time.monotonic() < deadline, restarted.log.read_text()
            time.sleep(0.1)
        time.sleep(1.0)
        (posted,) = fake_slack.calls_to("chat.postMessage")
        assert "Acme" in posted.params["text"]
    finally:
        restarted.stop()


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    env = tipoff_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'tipoff.db'}",
    )
    key = add_source(tmp_path, env)
    server = Server(tmp_path, env)
    body = json.dumps(
        {
            "batch": [
                {"type": "track", "userId": f"u{i}", "event": "Signed Up", "messageId": f"m{i}"}
                for i in range(500)
            ]
        }
    ).encode()
    half = len(body) // 2
    started = threading.Event()

    def slowly() -> Iterator[bytes]:
        yield body[:half]
        started.set()
        time.sleep(1.0)  # SIGTERM arrives while the rest of the body is on its way
        yield body[half:]

    outcome: dict[str, object] = {}

    def send() -> None:
        try:
            response = httpx.post(
                f"{server.url}/v1/batch", content=slowly(), auth=(key, ""),
                headers={"Content-Type": "application/json"}, timeout=30,
            )  # fmt: skip
            outcome["status"] = response.status_code
        except httpx.HTTPError as error:
            outcome["error"] = repr(error)

    client = threading.Thread(target=send)
    client.start()
    assert started.wait(10)
    time.sleep(0.2)
    server.process.send_signal(signal.SIGTERM)
    client.join(timeout=30)
    exit_code = server.process.wait(timeout=30)
    assert outcome == {"status": 200}, server.log.read_text()
    assert exit_code in (0, -signal.SIGTERM)
    stored = (
        sqlite3.connect(tmp_path / "tipoff.db").execute("SELECT count(*) FROM events").fetchone()[0]
    )
    assert stored == 500
