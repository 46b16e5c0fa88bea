"""Two `tipoff serve` replicas on one database share ingest, rescoring and delivery: no
alert is posted twice and no account is scored by both at once. On PostgreSQL when the
suite runs against it (TIPOFF_TEST_POSTGRES_URL), on a shared SQLite file otherwise."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from tests.fakes.signing import SIGNING_SECRET
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.processes import Server, add_source, tipoff_env
from tipoff.store.db import Database
from tipoff.store.tables import alerts, score_history

ACCOUNTS = 12  # below the bundling threshold: one alert message per account


def hot_account(n: int, now: datetime) -> list[dict[str, object]]:
    user, group = f"vp-{n}", f"company-{n}"
    at = [(now - timedelta(days=d)).isoformat() for d in (1, 1, 2, 3, 2)]
    events = [
        "Core Action Completed",
        "Session Started",
        "Session Started",
        "Session Started",
        "Integration Connected",
    ]
    return [
        {
            "type": "identify",
            "userId": user,
            "traits": {"email": f"vp@company{n}.io", "title": "VP Engineering"},
        },
        {
            "type": "group",
            "userId": user,
            "groupId": group,
            "traits": {"name": f"Company {n}", "domain": f"company{n}.io"},
        },
        *[
            {"type": "track", "userId": user, "event": e, "timestamp": t}
            for e, t in zip(events, at, strict=True)
        ],
    ]


def test_two_replicas_post_each_alert_once(
    tmp_path: Path, db_url: str, fake_slack: FakeSlackApi
) -> None:
    env = tipoff_env(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        TIPOFF_RESCORE_INTERVAL="0.1",
        TIPOFF_DELIVERY_INTERVAL="0.1",
    )
    key = add_source(tmp_path, env)
    replicas = [Server(tmp_path, env), Server(tmp_path, env)]
    try:
        now = datetime.now(UTC)
        for n in range(ACCOUNTS):
            # Each replica ingests every other account; both rescore and deliver them all.
            response = httpx.post(
                f"{replicas[n % 2].url}/v1/batch",
                json={"batch": hot_account(n, now)},
                auth=(key, ""),
            )
            assert response.status_code == 200, response.text
        deadline = time.monotonic() + 30
        while len(fake_slack.calls_to("chat.postMessage")) < ACCOUNTS:
            assert time.monotonic() < deadline, (
                f"{len(fake_slack.calls_to('chat.postMessage'))} alerts posted"
            )
            time.sleep(0.1)
        time.sleep(1.5)  # both replicas keep running: nothing more may be posted
    finally:
        for replica in replicas:
            replica.stop()
    posted = Counter(call.params["text"] for call in fake_slack.calls_to("chat.postMessage"))
    assert len(posted) == ACCOUNTS and set(posted.values()) == {1}, posted
    rows, histories = asyncio.run(stored(db_url))
    assert len(rows) == ACCOUNTS and {status for _, status in rows} == {"sent"}
    # Scored once each: a second, concurrent scoring would have written a second history row.
    assert {count for _, count in histories} == {1}


async def stored(db_url: str) -> tuple[list[tuple[int, str]], list[tuple[int, int]]]:
    """(account, status) of every alert and (account, rows) of score history."""
    db = Database(db_url)
    try:
        async with db.transaction() as conn:
            rows = (await conn.execute(select(alerts.c.account_id, alerts.c.status))).all()
            per_account = select(score_history.c.account_id, func.count()).group_by(
                score_history.c.account_id
            )
            histories = (await conn.execute(per_account)).all()
    finally:
        await db.dispose()
    return [(a, s) for a, s in rows], [(a, n) for a, n in histories]
