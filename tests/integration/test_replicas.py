"""Two `tipoff serve` replicas on one database share ingest, rescoring and delivery: no
alert is posted twice, no account is scored by both at once, and requests about the same
people and accounts sent to both at once all succeed. On PostgreSQL when the suite runs
against it (TIPOFF_TEST_POSTGRES_URL), on a shared SQLite file otherwise."""

from __future__ import annotations

import asyncio
import random
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
from tipoff.store.tables import alerts, events, score_history

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


# Enough concurrent requests about few enough accounts that, before ingest locked its rows
# in one order and ran lost races again, PostgreSQL aborted some as deadlocks (500s).
SHARED_ACCOUNTS = 4
PEOPLE_PER_ACCOUNT = 3
BATCHES = 160
IN_FLIGHT = 8


def shared_batch(rnd: random.Random, batch: int) -> list[dict[str, object]]:
    """3–10 Segment calls (identify, group, track, page; alias of an anonymous visitor)
    about people of the SHARED_ACCOUNTS companies, in a random mix: every batch touches
    rows that other batches, on the other replica too, are writing at the same time."""
    calls: list[dict[str, object]] = []
    for n in range(rnd.randint(3, 10)):
        company, member = rnd.randrange(SHARED_ACCOUNTS), rnd.randrange(PEOPLE_PER_ACCOUNT)
        user, message_id = f"user-{company}-{member}", f"batch-{batch}-call-{n}"
        kind = rnd.random()
        if kind < 0.25:
            calls.append(
                {
                    "type": "identify",
                    "messageId": message_id,
                    "userId": user,
                    "traits": {
                        "email": f"person{member}@company{company}.io",
                        "name": f"Person {member}",
                        "title": rnd.choice(["VP Engineering", "Engineer", "CTO"]),
                    },
                }
            )
        elif kind < 0.45:
            calls.append(
                {
                    "type": "group",
                    "messageId": message_id,
                    "userId": user,
                    "groupId": f"company-{company}",
                    "traits": {
                        "name": f"Company {company}",
                        "domain": f"company{company}.io",
                        "employees": rnd.randint(10, 900),
                    },
                }
            )
        elif kind < 0.55:
            visitor = f"visitor-{company}-{member}"
            calls.append(
                {
                    "type": "page",
                    "messageId": message_id,
                    "anonymousId": visitor,
                    "name": "Pricing",
                }
            )
            calls.append(
                {
                    "type": "alias",
                    "messageId": f"{message_id}-alias",
                    "userId": user,
                    "previousId": visitor,
                }
            )
        else:
            call: dict[str, object] = {
                "type": "track",
                "messageId": message_id,
                "userId": user,
                "event": rnd.choice(["Session Started", "Core Action Completed"]),
            }
            if rnd.random() < 0.5:
                call["context"] = {"groupId": f"company-{company}"}
            calls.append(call)
    return calls


def test_two_replicas_ingesting_the_same_accounts_at_once_answer_only_200(
    tmp_path: Path, db_url: str
) -> None:
    env = tipoff_env(DATABASE_URL=db_url, TIPOFF_RESCORE_PROCESSES="0")
    key = add_source(tmp_path, env)
    replicas = [Server(tmp_path, env), Server(tmp_path, env)]
    try:
        answers, acknowledged = asyncio.run(
            ingest_at_once([replica.url for replica in replicas], key)
        )
    finally:
        for replica in replicas:
            replica.stop()
    assert answers == Counter({"200": BATCHES}), answers
    stored = asyncio.run(stored_message_ids(db_url))
    assert Counter(stored) == Counter(acknowledged)  # every acknowledged call, once


async def ingest_at_once(urls: list[str], write_key: str) -> tuple[Counter[str], list[str]]:
    """BATCHES shared batches, IN_FLIGHT at a time, each to the next replica in turn:
    the answers (status codes, or the transport error) and the messageIds acknowledged.
    Plain HTTP rather than a Segment library, which would retry a 5xx out of sight."""
    rnd = random.Random(14)
    batches = [shared_batch(rnd, n) for n in range(BATCHES)]
    answers: Counter[str] = Counter()
    acknowledged: list[str] = []
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def send(client: httpx.AsyncClient, n: int) -> None:
        async with slots:
            try:
                response = await client.post(
                    f"{urls[n % len(urls)]}/v1/batch", json={"batch": batches[n]}
                )
            except httpx.TransportError as error:
                answers[type(error).__name__] += 1
                return
        answers[str(response.status_code)] += 1
        if response.status_code == 200:
            acknowledged.extend(str(call["messageId"]) for call in batches[n])

    async with httpx.AsyncClient(auth=(write_key, ""), timeout=60) as client:
        await asyncio.gather(*(send(client, n) for n in range(BATCHES)))
    return answers, acknowledged


async def stored_message_ids(db_url: str) -> list[str]:
    db = Database(db_url)
    try:
        async with db.transaction() as conn:
            return list((await conn.execute(select(events.c.message_id))).scalars())
    finally:
        await db.dispose()
