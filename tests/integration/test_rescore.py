"""Rescoring against a real SQLite file: scores, history and the alert outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests import seed
from tests.conftest import NOW
from tests.fakes.slack_bot import Clock
from tipoff.runtime import Runtime
from tipoff.scores.lookup import lookup
from tipoff.scores.rescoring import rescore
from tipoff.slack_app.listeners.commands import answer
from tipoff.store.tables import alerts, score_history, scores


async def make_hot_account(rt: Runtime) -> int:
    async with rt.db.transaction() as conn:
        return await seed.hot_acme(conn, NOW)


async def count(rt: Runtime, table: object) -> int:
    async with rt.db.transaction() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_entering_an_alerting_track_queues_exactly_one_alert(runtime: Runtime) -> None:
    acme = await make_hot_account(runtime)
    # core 30 + sessions 20 + second user 20 + title 15 + rising 5 = 90, no integration.
    first = await rescore(runtime)
    assert (first.scored, first.alerts_queued, dict(first.tracks)) == (1, 1, {"hot": 1})

    async with runtime.db.transaction() as conn:
        stored = (await conn.execute(select(scores).where(scores.c.account_id == acme))).one()
        alert = (await conn.execute(select(alerts))).one()
    assert (stored.score, stored.track, stored.product, stored.fit) == (90, "hot", 70, 15)
    assert stored.contact["label"] == "Dana Lee (VP Engineering)"
    assert (alert.status, alert.track, alert.score, alert.reason) == (
        "pending",
        "hot",
        90,
        "entered hot",
    )
    assert alert.target == "#sales-alerts"
    assert "Acme is hot — 90" in alert.text

    # Nothing changed: nothing is due, and a full pass does not alert again.
    assert (await rescore(runtime)).scored == 0
    again = await rescore(runtime, everything=True)
    assert (again.scored, again.alerts_queued) == (1, 0)
    assert await count(runtime, alerts) == 1
    assert await count(runtime, score_history) == 1  # score unchanged: no new history row


async def test_decay_moves_scores_on_a_full_pass_and_history_records_it(runtime: Runtime) -> None:
    acme = await make_hot_account(runtime)
    await rescore(runtime)
    runtime.clock = Clock(NOW + timedelta(days=45))
    summary = await rescore(runtime, everything=True)
    assert summary.alerts_queued == 0
    found = await lookup(runtime, "acme.io")
    assert found.result is not None and found.result.track.value == "low-touch"
    assert [(s, t) for _, s, t in found.history] == [(found.result.score, "low-touch"), (90, "hot")]
    assert found.account is not None and found.account.id == acme


async def test_a_new_signal_makes_the_account_due_again(runtime: Runtime) -> None:
    async with runtime.db.transaction() as conn:
        beta = await seed.account(conn, NOW, "beta.dev", "Beta", employees=40)
        lee = await seed.person(conn, NOW, beta, "Lee Park", "lee@beta.dev", "Software Engineer")
        await seed.signal(conn, NOW - timedelta(days=1), beta, lee, "Demo Requested")
    assert (await rescore(runtime)).tracks == {"nurture": 1}
    assert (await rescore(runtime)).scored == 0
    async with runtime.db.transaction() as conn:
        for days, event in [(1, "Core Action Completed"), (1, "Session Started"), (2, "Session Started"),
                            (3, "Session Started"), (2, "Integration Connected")]:  # fmt: skip
            await seed.signal(conn, NOW - timedelta(days=days), beta, lee, event)
    summary = await rescore(runtime)
    # demo 35 + core 30 + sessions 20 + integration 15 + rising 5 = 105 → 100; no title,
    # but marketing intent on top of product makes it hot.
    assert (summary.scored, summary.alerts_queued, dict(summary.tracks)) == (1, 1, {"hot": 1})


async def test_a_lookup_answers_from_the_stored_score_while_it_is_current(
    runtime: Runtime,
) -> None:
    """Summing a busy account's signals again takes far longer than a rep should wait, so
    a lookup shows the score the scheduler stored, unless a signal arrived since or it is
    older than a full-rescore interval."""
    acme = await make_hot_account(runtime)
    fresh = (await lookup(runtime, "acme.io")).result  # never scored: scored now
    await rescore(runtime)
    stored = (await lookup(runtime, "acme.io")).result
    assert stored == fresh  # every field survives the round trip through the scores row

    # Its evidence ages ("yesterday") are as of the rescore, so the answer says when that was.
    runtime.clock = Clock(NOW + timedelta(minutes=20))
    later = await lookup(runtime, "acme.io")
    assert (later.result, later.scored_at) == (fresh, NOW)
    trend = (await answer(runtime, "acme.io")).blocks[-2]["elements"][0]["text"]
    assert trend == "*Trend:* 90, unchanged since 20 minutes ago · *Scored* 20 minutes ago"
    runtime.clock = Clock(NOW)
    async with runtime.db.transaction() as conn:  # mark the stored row to tell it apart
        await conn.execute(scores.update().values(score=42))
    assert (await lookup(runtime, "acme.io")).result.score == 42  # type: ignore[union-attr]

    # A full-rescore interval later, decay may have moved it: scored now.
    interval = timedelta(seconds=runtime.settings.full_rescore_interval_seconds)
    runtime.clock = Clock(NOW + interval + timedelta(seconds=1))
    assert (await lookup(runtime, "acme.io")).result.score == 90  # type: ignore[union-attr]

    # A new signal: scored now, with it, before the scheduler gets to it.
    runtime.clock = Clock(NOW)
    async with runtime.db.transaction() as conn:
        await seed.signal(
            conn, NOW, acme, stored.contact.person_id, "Integration Connected", integration="Slack"
        )  # type: ignore[union-attr]
    found = (await lookup(runtime, "acme.io")).result
    assert found is not None and found.score == 105  # 90 + 15: scores have no top
    assert "Dana Lee (VP Engineering) connected Slack just now" in [e.text for e in found.evidence]


async def test_lookup_by_name_and_partial_and_unknown(runtime: Runtime) -> None:
    await make_hot_account(runtime)
    async with runtime.db.transaction() as conn:
        await seed.account(conn, NOW, "acme-labs.com", "Acme Labs")
    assert [m.domain for m in (await lookup(runtime, "Acme")).matches] == ["acme.io"]
    assert [m.domain for m in (await lookup(runtime, "https://www.ACME.io/pricing")).matches] == [
        "acme.io"
    ]
    assert [m.domain for m in (await lookup(runtime, "acm")).matches] == [
        "acme.io",
        "acme-labs.com",
    ]
    nothing = await lookup(runtime, "globex")
    assert nothing.matches == [] and nothing.result is None


async def test_migrations_match_the_schema(runtime: Runtime) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tipoff.store.tables import metadata

    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with runtime.db.transaction() as conn:
        assert await conn.run_sync(diff) == []


async def test_top_ranks_by_track_before_score(runtime: Runtime) -> None:
    await make_hot_account(runtime)  # hot, 90
    async with runtime.db.transaction() as conn:
        tiny = await seed.account(conn, NOW, "tiny.dev", "Tiny", employees=3)
        solo = await seed.person(conn, NOW, tiny, "Ola Berg", "ola@tiny.dev", "CTO")
        other = await seed.person(conn, NOW, tiny, "Kai Moe", "kai@tiny.dev", "Engineer")
        for days, who, event in [(1, solo, "Core Action Completed"), (1, solo, "Session Started"),
                                 (2, other, "Session Started"), (3, solo, "Session Started"),
                                 (1, other, "Integration Connected"), (1, solo, "Usage Limit Hit")]:  # fmt: skip
            await seed.signal(conn, NOW - timedelta(days=days), tiny, who, event)
        mid = await seed.account(conn, NOW, "mid.io", "Mid", employees=80)
        eng = await seed.person(conn, NOW, mid, "Ida Lund", "ida@mid.io", "Engineer")
        for days, event in [(1, "Core Action Completed"), (1, "Session Started"), (2, "Session Started"),
                            (3, "Session Started")]:  # fmt: skip
            await seed.signal(conn, NOW - timedelta(days=days), mid, eng, event)
    await rescore(runtime)
    from tipoff.scores.lookup import top

    rows = await top(runtime)
    # Tiny scores 90 (product 95, fit −10, timing +5) but is too small (monitor); Mid's 55 is nurture; both below hot Acme,
    # and the nurture account ranks above the monitor one despite its lower score.
    assert [(r.account.domain, r.track, r.score) for r in rows] == [
        ("acme.io", "hot", 90),
        ("mid.io", "nurture", 55),
        ("tiny.dev", "monitor", 90),
    ]
