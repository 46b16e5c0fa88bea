"""No acknowledged change is lost to a concurrent writer (issue 23), on the test's
backend: PostgreSQL when the suite runs against it, a SQLite file otherwise.

- Two `tipoff serve` replicas (several processes on one SQLite file) are sent, in each
  round and at the same instant, two `identify` calls for one person and two `group`
  calls for one account, one of each pair through each replica, each naming a different
  trait key. Every call is answered 200, so every key must be stored. Before each
  request merged its keys into the row as stored when it writes, 35 (SQLite) and 50
  (PostgreSQL) of the 120 keys were lost, in every run.
- Per key, the newest call's value wins, in whatever order calls are written.
- Two reps pressing Claim at once through two app instances: one owner, the other told.
- A revocation, an erasure or another request landing between a request's read and its
  write does not get undone by that write.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import block_action, interactivity, slash_command
from tests.fakes.slack_bot import slack_bot
from tests.integration.test_ingest import account_by, fetch, iso, ok, person_of
from tests.integration.test_rep_workflow import configured, date
from tests.processes import Server, add_source, tipoff_env
from tipoff import privacy
from tipoff.errors import Unauthorized
from tipoff.ingest.resolution import IdentityResolver
from tipoff.ingest.segment import parse_call
from tipoff.ingest.service import store_calls
from tipoff.runtime import Runtime
from tipoff.scores import rescoring
from tipoff.scores.rescoring import RescoreSummary, rescore
from tipoff.settings import Settings
from tipoff.sources import create_source, revoke_source
from tipoff.store.db import Database
from tipoff.store.tables import (
    account_owners,
    accounts,
    alerts,
    events,
    feedback,
    identities,
    people,
    scores,
)

ROUNDS = 30


def round_calls(n: int) -> list[tuple[int, dict[str, Any]]]:
    """Round `n`: (replica, call) for the two identify and two group calls sent at once."""
    user, group = f"user-{n}", f"group-{n}"
    return [
        (0, {"type": "identify", "userId": user, "traits": {"left": n, "email": f"u{n}@c{n}.io"}}),
        (1, {"type": "identify", "userId": user, "traits": {"right": n, "email": f"u{n}@c{n}.io"}}),
        (0, {"type": "group", "userId": user, "groupId": group, "traits": {"plan": f"p{n}"}}),
        (1, {"type": "group", "userId": user, "groupId": group, "traits": {"employees": n + 10}}),
    ]


async def send_rounds(urls: list[str], write_key: str) -> list[tuple[int, dict[str, Any]]]:
    """Every round's calls, each round's four at once; returns the calls answered 200."""
    acknowledged: list[tuple[int, dict[str, Any]]] = []
    async with httpx.AsyncClient(auth=(write_key, ""), timeout=60) as client:
        for n in range(ROUNDS):
            calls = round_calls(n)
            # The people and accounts exist before their round: each call then updates a
            # stored row, the case a read-merge-write loses.
            first = await client.post(
                f"{urls[0]}/v1/batch",
                json={
                    "batch": [
                        {"type": "identify", "userId": f"user-{n}", "traits": {"seen": True}},
                        {
                            "type": "group",
                            "userId": f"user-{n}",
                            "groupId": f"group-{n}",
                            "traits": {"name": f"Company {n}"},
                        },
                    ]
                },
            )
            assert first.status_code == 200, first.text
            answers = await asyncio.gather(
                *(
                    client.post(f"{urls[replica]}/v1/{call['type']}", json=call)
                    for replica, call in calls
                )
            )
            for (replica, call), answer in zip(calls, answers, strict=True):
                assert answer.status_code == 200, answer.text
                acknowledged.append((replica, call))
    return acknowledged


async def stored_traits(db_url: str) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Person traits by userId and account traits by groupId."""
    db = Database(db_url)
    try:
        async with db.transaction() as conn:
            person_rows = await conn.execute(
                select(identities.c.external_id, people.c.traits).join(
                    people, people.c.id == identities.c.person_id
                )
            )
            by_user = {r.external_id: dict(r.traits) for r in person_rows}
            account_rows = await conn.execute(select(accounts.c.group_id, accounts.c.traits))
            by_group = {r.group_id: dict(r.traits) for r in account_rows if r.group_id}
    finally:
        await db.dispose()
    return by_user, by_group


def test_concurrent_trait_writes_through_two_replicas_keep_every_key(
    tmp_path: Path, db_url: str
) -> None:
    env = tipoff_env(DATABASE_URL=db_url, TIPOFF_RESCORE_PROCESSES="0")
    key = add_source(tmp_path, env)
    replicas = [Server(tmp_path, env), Server(tmp_path, env)]
    try:
        acknowledged = asyncio.run(send_rounds([r.url for r in replicas], key))
    finally:
        for replica in replicas:
            replica.stop()
    by_user, by_group = asyncio.run(stored_traits(db_url))
    lost = []
    for _, call in acknowledged:
        stored = (
            by_user[call["userId"]] if call["type"] == "identify" else by_group[call["groupId"]]
        )
        lost.extend(
            f"{call['type']} {call.get('groupId') or call['userId']}: {k}"
            for k, v in call["traits"].items()
            if stored.get(k) != v
        )
    assert not lost, f"{len(lost)} acknowledged trait keys lost: {lost}"


# ------------------------------------------------------------------ per key, the newest call


def identify(title: str, at: datetime, **traits: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "userId": "u-1",
        "timestamp": iso(at),
        "traits": {"email": "maya@acme.io", "title": title, **traits},
    }


def group(employees: int, at: datetime, **traits: Any) -> dict[str, Any]:
    return {
        "type": "group",
        "userId": "u-1",
        "groupId": "g-acme",
        "timestamp": iso(at),
        "traits": {"name": "Acme", "employees": employees, **traits},
    }


async def test_a_call_arriving_after_a_newer_one_does_not_undo_it(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    newer, older = NOW - timedelta(hours=1), NOW - timedelta(days=2)
    for call in (
        identify("CTO", newer, plan="pro"),
        group(500, newer, industry="Software"),
        # A backfill, a delayed retry or the other replica's slower request: older calls
        # written after the newer ones.
        identify("Engineer", older, plan="free", phone="555-0100"),
        group(20, older, industry="Retail", region="EMEA"),
    ):
        await ok(await ingest_client.post(f"/v1/{call['type']}", json=call))

    maya = await person_of(database, "u-1")
    assert maya.title == "CTO"  # the column fit scoring reads follows the newest call too
    assert maya.traits == {
        "email": "maya@acme.io",
        "title": "CTO",
        "plan": "pro",
        "phone": "555-0100",  # a key only the older call gave is kept
    }
    acme = await account_by(database, group_id="g-acme")
    assert (acme.employees, acme.industry) == (500, "Software")
    assert acme.traits == {
        "name": "Acme",
        "employees": 500,
        "industry": "Software",
        "region": "EMEA",
    }


async def test_a_call_sent_again_changes_nothing(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    first, second = (
        identify("Engineer", NOW - timedelta(days=2)),
        identify("CTO", NOW - timedelta(hours=1)),
    )
    for call in (first, second):
        await ok(await ingest_client.post("/v1/identify", json=call))
    before = await fetch(database, select(people))
    # Sent again without a messageId: not recognised as a duplicate, yet older than what
    # is stored, so nothing changes.
    await ok(await ingest_client.post("/v1/identify", json=first))
    assert await fetch(database, select(people)) == before
    assert (await person_of(database, "u-1")).title == "CTO"


async def test_the_same_time_twice_the_later_call_wins_as_before(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    at = NOW - timedelta(hours=1)
    for title in ("Engineer", "CTO"):
        await ok(await ingest_client.post("/v1/identify", json=identify(title, at)))
    assert (await person_of(database, "u-1")).title == "CTO"


# ------------------------------------------------------------------ two reps, one Claim

CLAIM_ROUNDS = 12
MAYA, JON = "U0MAYAREP01", "U0JONREP002"
CHANNEL = "C0SALESALRT"


async def test_two_reps_claiming_at_once_through_two_replicas_leave_one_owner(
    settings: Settings,
) -> None:
    """Each round, Maya presses Claim on an account through one app instance while Jon
    presses it through another on the same database: one of them owns it, and the other
    is told, only to them, who does."""
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(slack_bot(settings, now=NOW))
        second = await stack.enter_async_context(slack_bot(settings, now=NOW, fake=first.fake))
        async with first.runtime.db.transaction() as conn:
            ids = [
                await seed.account(conn, NOW, f"c{n}.io", f"Company {n}")
                for n in range(CLAIM_ROUNDS)
            ]
        for n, account in enumerate(ids):
            ts = f"1763650800.{n:06d}"
            clicks = [
                block_action("workflow_claim", account_id=account, channel=CHANNEL, ts=ts),
                block_action(
                    "workflow_claim",
                    account_id=account,
                    channel=CHANNEL,
                    ts=ts,
                    user_id=JON,
                    user_name="jon.rep",
                ),
            ]
            # Alternate which replica each rep goes through.
            bots = (first, second) if n % 2 else (second, first)
            answers = await asyncio.gather(
                *(bot.send(interactivity(c)) for bot, c in zip(bots, clicks, strict=True))
            )
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        told = await first.fake.wait_for("chat.postEphemeral", count=2 * CLAIM_ROUNDS)

        async with first.runtime.db.transaction() as conn:
            owners = (await conn.execute(select(account_owners))).all()
            claims = (
                await conn.execute(
                    select(feedback.c.account_id).where(feedback.c.verdict == "claim")
                )
            ).all()
    assert sorted(o.account_id for o in owners) == ids  # exactly one owner each
    assert sorted(c.account_id for c in claims) == ids  # and one claim recorded each
    owner_of = {o.account_id: o.slack_user_id for o in owners}
    for n, account in enumerate(ids):
        winner = owner_of[account]
        loser = JON if winner == MAYA else MAYA
        label = f"Company {n}"
        said = {
            (c.params["user"], c.params["text"]) for c in told if label + "*" in c.params["text"]
        }
        assert said == {
            (winner, f"*{label}* is yours now: its alerts will come to your DM."),
            (loser, f"<@{winner}> already has *{label}* (since {date(NOW)}): ask them first."),
        }


ADMIN = "U0ADMIN0001"


async def test_an_assignment_and_a_claim_at_once_leave_the_assigned_owner(
    settings: Settings,
) -> None:
    """An admin's `/tipoff assign` through one app instance while a rep claims the same
    account through another: both are answered, and the assignment, which replaces any
    owner, is what stays."""
    admins = configured(admins=ADMIN)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(slack_bot(settings, now=NOW, configure=admins))
        second = await stack.enter_async_context(
            slack_bot(settings, now=NOW, configure=admins, fake=first.fake)
        )
        async with first.runtime.db.transaction() as conn:
            ids = [
                await seed.account(conn, NOW, f"c{n}.io", f"Company {n}")
                for n in range(CLAIM_ROUNDS)
            ]
        for n, account in enumerate(ids):
            claim = block_action(
                "workflow_claim", account_id=account, channel=CHANNEL, ts=f"1763650800.{n:06d}"
            )
            assign = slash_command(f"assign c{n}.io <@{JON}|jon.rep>", user_id=ADMIN)
            bots = (first, second) if n % 2 else (second, first)
            clicked, assigned = await asyncio.gather(
                bots[0].send(interactivity(claim)), bots[1].send(assign)
            )
            assert clicked.status_code == 200, clicked.text
            assert assigned.status_code == 200, assigned.text
            assert assigned.json()["text"] == f"Company {n} is now owned by <@{JON}>"
        await first.fake.wait_for("chat.postEphemeral", count=CLAIM_ROUNDS)
        async with first.runtime.db.transaction() as conn:
            owners = (await conn.execute(select(account_owners))).all()
    assert sorted((o.account_id, o.slack_user_id, o.via) for o in owners) == [
        (account, JON, "assign") for account in ids
    ]


# ------------------------------------------------------------------ revocation against ingest


async def test_a_request_whose_source_is_revoked_before_it_is_stored_stores_nothing(
    runtime: Runtime,
) -> None:
    """A request authenticated a moment before `tipoff sources revoke` committed, and
    stored after: refused like any request with a revoked key, and nothing is kept."""
    async with runtime.db.transaction() as conn:
        added = await create_source(conn=conn, name="web", now=NOW)
        await revoke_source(conn=conn, name="web", now=NOW)
    call = parse_call("identify", {"userId": "u-1", "traits": {"title": "CTO"}})
    with pytest.raises(Unauthorized, match="the write key of source 'web' has been revoked"):
        await store_calls(runtime, source=added.source, messages=[call], received_at=NOW)
    assert await fetch(runtime.db, select(people)) == []
    assert await fetch(runtime.db, select(events)) == []


# ------------------------------------------------------------------ stored scores against forget


async def test_a_score_read_before_an_erasure_is_not_stored_after_it(runtime: Runtime) -> None:
    """On SQLite a rescore reads and scores an account without the write lock, and
    stores it after: when `tipoff forget` erased one of its people in between, that
    score (evidence "Dana Lee (VP Engineering) …") and its alert would bring her back.
    The account is left out instead, and the next pass scores it without her."""
    async with runtime.db.transaction() as conn:
        await seed.hot_acme(conn, NOW)  # Dana Lee (VP Engineering) and Sam Ortiz
    pass_ = rescoring._Pass(runtime, False, rescoring.BATCH_SIZE, NOW, RescoreSummary())
    async with runtime.db.transaction() as conn:
        due = await pass_.due_after(conn, 0)
        batch = await rescoring._read_batch(conn, runtime.model, due, NOW)
    decided = await rescoring._scored(batch, pass_)
    assert "Dana Lee" in json.dumps(decided.score_rows, default=str)
    assert [a.account_id for a in decided.alerts] == [r[0] for r in decided.score_rows]

    async with runtime.db.transaction() as conn:
        await privacy.forget_person(conn, email="dana@acme.io", requested_by="dpo", now=NOW)
    await rescoring._store_unless_rescored(pass_, decided)

    async with runtime.db.transaction() as conn:
        stored = json.dumps(
            [
                [tuple(r) for r in await conn.execute(select(scores))],
                [tuple(r) for r in await conn.execute(select(alerts))],
            ],
            default=str,
        )
    assert "Dana" not in stored and "dana@acme.io" not in stored
    assert (await rescore(runtime)).scored == 1  # still due: scored now, without her


async def test_a_score_read_before_a_signal_arrived_is_stored_and_the_account_stays_due(
    runtime: Runtime,
) -> None:
    """Ingest does not wait for a rescore: a signal may be stored while the rescore scores
    its account. The score read is stored all the same (it is the newest there is), and
    the account stays due, so the next pass scores the new signal too. Left out instead,
    an account whose signals keep arriving would never get a new score."""
    async with runtime.db.transaction() as conn:
        acme = await seed.hot_acme(conn, NOW)
    pass_ = rescoring._Pass(runtime, False, rescoring.BATCH_SIZE, NOW, RescoreSummary())
    async with runtime.db.transaction() as conn:
        due = await pass_.due_after(conn, 0)
        batch = await rescoring._read_batch(conn, runtime.model, due, NOW)
    decided = await rescoring._scored(batch, pass_)

    async with runtime.db.transaction() as conn:
        dana = (
            await conn.execute(select(people.c.id).where(people.c.email == "dana@acme.io"))
        ).scalar_one()
        await seed.signal(conn, NOW, acme, dana, "Demo Requested")
    await rescoring._store_unless_rescored(pass_, decided)

    stored = await fetch(runtime.db, select(scores.c.account_id, scores.c.score, scores.c.track))
    assert [tuple(row) for row in stored] == [(acme, 90, "hot")]
    assert (await rescore(runtime)).scored == 1  # still due: scored now, with the demo
    stored = await fetch(runtime.db, select(scores.c.score, scores.c.evidence))
    assert stored[0].score > 90
    assert "Dana Lee (VP Engineering) requested a demo" in json.dumps(stored[0].evidence)


async def test_forget_does_not_write_over_a_trait_stored_while_it_ran(runtime: Runtime) -> None:
    """Sam's traits name Dana, so erasing Dana rewrites them. A trait ingest gives Sam
    at the same moment (its transaction still open when the erasure reads Sam's row)
    is kept: the erasure rewrites Sam's row as stored once that write is in."""
    async with runtime.db.transaction() as conn:
        await seed.hot_acme(conn, NOW)
        await conn.execute(
            update(people)
            .where(people.c.email == "sam@acme.io")
            .values(traits={"manager": "Dana Lee"})
        )
    async with runtime.db.engine.connect() as ingest:
        meanwhile = await ingest.begin()
        await ingest.execute(
            update(people)
            .where(people.c.email == "sam@acme.io")
            .values(traits={"manager": "Dana Lee", "plan": "pro"})
        )
        erasing = asyncio.create_task(
            privacy.forget(runtime, email="dana@acme.io", requested_by="dpo")
        )
        await asyncio.sleep(0.5)  # the erasure reaches Sam's row, and waits for it
        await meanwhile.commit()
        await erasing
    (sam,) = await fetch(runtime.db, select(people.c.traits))
    assert sam.traits == {"manager": "[removed]", "plan": "pro"}


# ------------------------------------------------------------------ an account's domain


async def test_a_domain_given_meanwhile_by_another_request_stays(runtime: Runtime) -> None:
    """Two `group` calls for one account without a domain, naming different domains: the
    one stored first keeps its domain, the other does not replace it. Which is first is
    the backends' business: on SQLite the second request has only read when the first
    commits; on PostgreSQL it has locked the account by then, and the first waits."""
    async with runtime.db.transaction() as conn:
        added = await create_source(conn=conn, name="web", now=NOW)
    source = added.source

    def group_call(domain: str) -> Any:
        traits = {"domain": domain}
        return parse_call("group", {"userId": "u-1", "groupId": "g-1", "traits": traits})

    await store_calls(runtime, source=source, messages=[group_call("")], received_at=NOW)
    async with runtime.db.engine.connect() as conn:
        transaction = await conn.begin()
        first = group_call("first.io")
        resolver = IdentityResolver(conn, now=NOW)
        await resolver.preload([first])  # the account, without a domain
        second = asyncio.create_task(
            store_calls(runtime, source=source, messages=[group_call("second.io")], received_at=NOW)
        )
        await asyncio.sleep(0.5)  # SQLite: stored; PostgreSQL: waiting for the account
        await resolver.group(first)
        await resolver.flush()
        await transaction.commit()
        await second
    (account,) = await fetch(runtime.db, select(accounts.c.domain))
    assert account.domain == ("second.io" if runtime.db.dialect == "sqlite" else "first.io")


async def test_a_group_placement_made_meanwhile_outranks_an_email_domain(
    runtime: Runtime,
) -> None:
    """A person's email would place them in their domain's account; a `group` call for
    them, stored while that request had only read, placed them in the group's. The group
    placement stays, as it would have had the calls come one after the other."""
    async with runtime.db.transaction() as conn:
        added = await create_source(conn=conn, name="web", now=NOW)
    source = added.source
    seen = parse_call("identify", {"userId": "u-1", "traits": {"plan": "pro"}})
    await store_calls(runtime, source=source, messages=[seen], received_at=NOW)
    async with runtime.db.engine.connect() as conn:
        transaction = await conn.begin()
        email = parse_call("identify", {"userId": "u-1", "traits": {"email": "li@hooli.com"}})
        resolver = IdentityResolver(conn, now=NOW)
        await resolver.preload([email])
        grouped = asyncio.create_task(
            store_calls(
                runtime,
                source=source,
                messages=[parse_call("group", {"userId": "u-1", "groupId": "g-pied-piper"})],
                received_at=NOW,
            )
        )
        await asyncio.sleep(0.5)  # SQLite: stored; PostgreSQL: waiting for the person
        await resolver.identify(email)
        await resolver.flush()
        await transaction.commit()
        await grouped
    li = await person_of(runtime.db, "u-1")
    (pied_piper,) = await fetch(
        runtime.db, select(accounts.c.id).where(accounts.c.group_id == "g-pied-piper")
    )
    assert (li.account_id, li.account_via, li.email) == (pied_piper.id, "group", "li@hooli.com")
