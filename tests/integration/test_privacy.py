"""Erasure and retention on a real database: what is gone is gone everywhere."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import seed
from tests.conftest import NOW
from tests.fakes.slack_bot import Clock
from tipoff import privacy
from tipoff.errors import InvalidInput, NotFound
from tipoff.rescoring import lookup, rescore
from tipoff.runtime import Runtime
from tipoff.settings import Settings
from tipoff.store.tables import alerts, erasures, events, identities, people, scores


async def count(rt: Runtime, query: object) -> int:
    async with rt.db.transaction() as conn:
        return int((await conn.execute(query)).scalar_one())  # type: ignore[call-overload]


async def test_forget_removes_the_person_everywhere_and_records_a_hash(runtime: Runtime) -> None:
    async with runtime.db.transaction() as conn:
        acme = await seed.hot_acme(conn, NOW)  # Dana Lee (VP) and Sam Ortiz
    await rescore(runtime)
    async with runtime.db.transaction() as conn:
        alert_blocks = (await conn.execute(select(alerts.c.blocks))).scalar_one()
        dana = (
            await conn.execute(select(people.c.id).where(people.c.email == "dana@acme.io"))
        ).scalar_one()
        await conn.execute(
            identities.insert().values(kind="user_id", external_id="u-dana", person_id=dana)
        )
    assert "Dana Lee" in json.dumps(alert_blocks)

    async with runtime.db.transaction() as conn:
        done = await privacy.forget_person(
            conn, email=" Dana@Acme.io ", requested_by="dpo", now=NOW
        )
    assert (done.events_deleted, done.alerts_scrubbed, done.account_id) == (3, 1, acme)

    assert (
        await count(
            runtime, select(func.count()).select_from(events).where(events.c.person_id == dana)
        )
        == 0
    )
    assert await count(runtime, select(func.count()).select_from(identities)) == 0
    assert await count(runtime, select(func.count()).select_from(people)) == 1  # Sam stays
    async with runtime.db.transaction() as conn:
        record = (await conn.execute(select(erasures))).one()
        stored_alert = json.dumps(
            [*(await conn.execute(select(alerts.c.text, alerts.c.blocks))).one()]
        )
        stored_score = json.dumps(
            (await conn.execute(select(scores.c.evidence, scores.c.contact))).one()._asdict()
        )
        assert await privacy.was_erased(conn, "dana@acme.io")
    assert record.email_hash == privacy.email_hash("dana@acme.io") and record.requested_by == "dpo"
    assert "dana" not in json.dumps(record._asdict(), default=str).lower()
    for stored in (stored_alert, stored_score):
        assert "Dana" not in stored and "dana@acme.io" not in stored
    assert "[removed]" in stored_alert

    # The account is due again, and its new score no longer counts her.
    assert (await rescore(runtime)).scored == 1
    found = await lookup(runtime, "acme.io")
    assert found.result is not None
    assert all("Dana" not in e.text for e in found.result.evidence)
    assert found.result.score == 0  # Sam's one session is not enough for any rule


async def test_forget_refuses_what_it_cannot_do(runtime: Runtime) -> None:
    async with runtime.db.transaction() as conn:
        with pytest.raises(InvalidInput, match="is not an email address"):
            await privacy.forget_person(conn, email="dana", requested_by="dpo", now=NOW)
        with pytest.raises(NotFound, match=r"no person with the email nobody@acme\.io"):
            await privacy.forget_person(conn, email="nobody@acme.io", requested_by="dpo", now=NOW)
    assert await count(runtime, select(func.count()).select_from(erasures)) == 0


async def test_prune_deletes_old_signals_and_rescores_their_accounts(runtime: Runtime) -> None:
    async with runtime.db.transaction() as conn:
        await seed.hot_acme(conn, NOW)  # signals 1–3 days old
    await rescore(runtime)
    async with runtime.db.transaction() as conn:
        assert await privacy.prune_signals(conn, older_than=NOW - timedelta(days=2, hours=1)) == 1
    assert await count(runtime, select(func.count()).select_from(events)) == 3
    assert (await rescore(runtime)).scored == 1


async def test_the_retention_job_applies_the_setting(settings: Settings) -> None:
    from tipoff.jobs import apply_retention

    rt = await Runtime.open(settings.model_copy(update={"retention_days": 2}))
    rt.clock = Clock(NOW)
    try:
        async with rt.db.transaction() as conn:
            await seed.hot_acme(conn, NOW)  # signals 1, 1, 2 and 3 days old
        # Only the 3-day-old signal: the 2-day-old one is exactly at the limit and stays.
        assert await apply_retention(rt) == 1
        assert await count(rt, select(func.count()).select_from(events)) == 3
    finally:
        await rt.close()
    unset = await Runtime.open(settings)
    try:
        assert await apply_retention(unset) == 0
    finally:
        await unset.close()
